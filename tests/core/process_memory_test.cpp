#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cstring>

#include "fovea/core/process_memory.h"

namespace fovea {
namespace {

TEST_CASE("process memory follows a large mapping that is touched, then unmapped") {
  const ProcessMemory before = read_process_memory();
  REQUIRE(before.resident_bytes > 0);
  CHECK(before.peak_resident_bytes >= before.resident_bytes);
  // mmap rather than new: a sanitizer's or malloc's free lists would keep freed pages resident.
  constexpr size_t kBytes = 64 << 20;
  void* block = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(block != MAP_FAILED);
  std::memset(block, 1, kBytes);  // untouched pages would not be resident
  const ProcessMemory during = read_process_memory();
  const std::int64_t grown = during.resident_bytes - before.resident_bytes;
  CHECK(grown > static_cast<std::int64_t>(kBytes) * 9 / 10);
  munmap(block, kBytes);
  const ProcessMemory after = read_process_memory();
  // The kernel updates its RSS counters in batches, so allow a little slack.
  constexpr std::int64_t kSlack = 4 << 20;
  const std::int64_t shrunk = during.resident_bytes - after.resident_bytes;
  CHECK(shrunk > static_cast<std::int64_t>(kBytes) / 2);
  const std::int64_t peak_floor = during.resident_bytes - kSlack;
  CHECK(after.peak_resident_bytes >= peak_floor);
  if (reset_peak_resident()) CHECK(read_process_memory().peak_resident_bytes < peak_floor);
}

}  // namespace
}  // namespace fovea
