#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fovea/core/crc32c.h"

namespace fovea {
namespace {

// One checksum for .fvm models and .fvlf light-field assets alike.
TEST_CASE("crc32c gives the standard check value and chains") {
  const std::string text = "123456789";
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()),
                                            text.size());
  CHECK(crc32c(bytes) == 0xE3069283u);
  CHECK(crc32c(bytes.subspan(4), crc32c(bytes.first(4))) == 0xE3069283u);
  CHECK(crc32c({}) == 0u);
  // Long inputs take the 8-byte path; compare it with byte-at-a-time chaining.
  std::vector<std::uint8_t> long_input(1000);
  for (size_t i = 0; i < long_input.size(); ++i) long_input[i] = static_cast<std::uint8_t>(i * 7);
  std::uint32_t chained = 0;
  for (std::uint8_t byte : long_input) chained = crc32c(std::span(&byte, 1), chained);
  CHECK(crc32c(long_input) == chained);
}

}  // namespace
}  // namespace fovea
