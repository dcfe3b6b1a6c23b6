#include <doctest/doctest.h>

#include <cstring>
#include <memory>

#include "fovea/core/process_memory.h"

namespace fovea {
namespace {

TEST_CASE("process memory follows a large allocation that is touched") {
  const ProcessMemory before = read_process_memory();
  REQUIRE(before.resident_bytes > 0);
  CHECK(before.peak_resident_bytes >= before.resident_bytes);
  constexpr size_t kBytes = 64 << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);  // untouched pages would not be resident
  const ProcessMemory during = read_process_memory();
  CHECK(during.resident_bytes - before.resident_bytes > static_cast<std::int64_t>(kBytes) * 9 / 10);
  CHECK(block[kBytes - 1] == 1);
  block.reset();
  const ProcessMemory after = read_process_memory();
  // The kernel updates its RSS counters in batches, so allow a little slack.
  constexpr std::int64_t kSlack = 2 << 20;
  CHECK(after.peak_resident_bytes >= during.resident_bytes - kSlack);
  if (reset_peak_resident())
    CHECK(read_process_memory().peak_resident_bytes < during.resident_bytes - kSlack);
}

}  // namespace
}  // namespace fovea
