#include "fovea/core/process_memory.h"

#include <fstream>
#include <string>

namespace fovea {

ProcessMemory read_process_memory() {
  ProcessMemory memory;
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    std::int64_t kilobytes = 0;
    if (key == "VmRSS:" && status >> kilobytes) memory.resident_bytes = kilobytes * 1024;
    if (key == "VmHWM:" && status >> kilobytes) memory.peak_resident_bytes = kilobytes * 1024;
    if (key == "RssAnon:" && status >> kilobytes) memory.anonymous_bytes = kilobytes * 1024;
    if (key == "RssFile:" && status >> kilobytes) memory.file_bytes = kilobytes * 1024;
    status.ignore(1 << 12, '\n');
  }
  return memory;
}

bool reset_peak_resident() {
  std::ofstream clear("/proc/self/clear_refs");
  if (!clear) return false;
  clear << "5";
  return static_cast<bool>(clear.flush());
}

}  // namespace fovea
