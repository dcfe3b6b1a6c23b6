#pragma once
// What the operating system says this process holds, for benchmarks that check a memory
// budget against reality rather than against fovea's own accounting.

#include <cstdint>

namespace fovea {

struct ProcessMemory {
  std::int64_t resident_bytes = 0;       // VmRSS
  std::int64_t peak_resident_bytes = 0;  // VmHWM (since start or the last reset)
  std::int64_t anonymous_bytes = 0;      // RssAnon: heap and anonymous mappings
  std::int64_t file_bytes = 0;           // RssFile: mapped files (code, mapped models)
};

// Reads /proc/self/status; zeros where the platform has no such file.
ProcessMemory read_process_memory();

// Restarts VmHWM from the current RSS (Linux: writes 5 to /proc/self/clear_refs); false when
// the kernel refuses, in which case peaks include everything before.
bool reset_peak_resident();

}  // namespace fovea
