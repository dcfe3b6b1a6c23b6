#pragma once
// Counts every heap allocation of the process (malloc, calloc, realloc, aligned forms, and so
// operator new), by interposing the C allocator in this executable: "zero allocations per
// inference" is then a count, not an assumption. Off in sanitizer builds, which own malloc.

#include <cstdint>

namespace fovea::bench {

bool allocation_counting_available();
void start_counting_allocations();
std::int64_t stop_counting_allocations();  // allocations since start

}  // namespace fovea::bench
