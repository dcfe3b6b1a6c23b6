#pragma once
// CRC-32C (Castagnoli), the checksum of .fvm files. Chainable: crc32c(b, crc32c(a)) equals the
// checksum of a followed by b.

#include <cstdint>
#include <span>

namespace fovea {

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

}  // namespace fovea
