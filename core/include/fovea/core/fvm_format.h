#pragma once
// The .fvm layout constants of docs/fvm.md, for the reader and writer, and for tools and tests
// that inspect or craft files. Everything is little-endian.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fovea/core/model.h"
#include "fovea/core/status.h"

namespace fovea::fvm {

// PNG-style: a high byte catches 7-bit transfers, CR LF / ^Z / LF catch text-mode mangling.
inline constexpr std::array<std::uint8_t, 8> kMagic = {0x89, 'F', 'V', 'M', '\r', '\n', 0x1a, '\n'};
// A reader refuses a newer major version; minor versions only add sections older readers skip.
inline constexpr std::uint16_t kVersionMajor = 1;
inline constexpr std::uint16_t kVersionMinor = 0;

// Header fields (64 bytes).
inline constexpr std::size_t kHeaderBytes = 64;
inline constexpr std::size_t kVersionMajorOffset = 8;   // u16
inline constexpr std::size_t kVersionMinorOffset = 10;  // u16
inline constexpr std::size_t kHeaderBytesOffset = 12;   // u32
inline constexpr std::size_t kFileBytesOffset = 16;     // u64
inline constexpr std::size_t kChecksumOffset = 24;      // u32, CRC-32C
inline constexpr std::size_t kSectionCountOffset = 28;  // u32
inline constexpr std::size_t kSectionTableOffset = 32;  // u64

inline constexpr std::size_t kSectionEntryBytes = 24;   // u32 kind, u32 flags, u64 offset, size
inline constexpr std::size_t kConstantEntryBytes = 32;  // u64 offset, stored, decoded; u8 enc
inline constexpr std::size_t kConstantAlignment = 64;
inline constexpr std::size_t kAttributeBytes = 120;  // a node's fixed attribute record
inline constexpr std::uint32_t kMaxSections = 64;

enum class SectionKind : std::uint32_t {
  kMetadata = 1,
  kGraph = 2,
  kConstantTable = 3,
  kConstantData = 4,
};

// CRC-32C of the whole file with the four checksum bytes read as zero.
std::uint32_t checksum(std::span<const std::uint8_t> file);
// Recomputes and stores the checksum: for tools and tests that patch a file on purpose.
void reseal(std::span<std::uint8_t> file);

// serialize_fvm without Model::validate(): writes whatever the model holds, so tests and fuzz
// seeds can craft files that only the loader's validation catches. Not for normal writers.
std::vector<std::uint8_t> serialize_unchecked(const Model& model);

}  // namespace fovea::fvm
