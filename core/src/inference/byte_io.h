#pragma once
// Little-endian, fixed-width reading and writing for fovea's binary formats (.fvm, weight
// streams). Values are assembled byte by byte so the formats do not depend on the host's
// endianness or alignment. The reader never reads past its span: a short read marks it failed
// with a message naming the file offset, and later reads return zeros.

#include <bit>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace fovea::detail {

inline std::uint16_t load_u16le(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32le(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t load_u64le(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(load_u32le(p)) |
         (static_cast<std::uint64_t>(load_u32le(p + 4)) << 32);
}
inline void store_u32le(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void store_u64le(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

inline std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

class ByteReader {
 public:
  // `file_offset` is where `bytes` starts in the file, so messages give file offsets.
  ByteReader(std::span<const std::uint8_t> bytes, std::uint64_t file_offset)
      : bytes_(bytes), file_offset_(file_offset) {}

  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::uint64_t offset() const { return file_offset_ + pos_; }

  std::uint8_t u8() {
    const std::uint8_t* p = take(1);
    return p ? p[0] : 0;
  }
  std::uint16_t u16() {
    const std::uint8_t* p = take(2);
    return p ? load_u16le(p) : 0;
  }
  std::uint32_t u32() {
    const std::uint8_t* p = take(4);
    return p ? load_u32le(p) : 0;
  }
  std::uint64_t u64() {
    const std::uint8_t* p = take(8);
    return p ? load_u64le(p) : 0;
  }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  float f32() { return std::bit_cast<float>(u32()); }

  // A u32 byte length, then that many bytes. The length is checked against what remains
  // before anything is allocated.
  std::string string() {
    const std::uint32_t length = u32();
    const std::uint8_t* p = take(length);
    return p ? std::string(reinterpret_cast<const char*>(p), length) : std::string();
  }

  // Consumes `count` bytes, or fails and returns nullptr.
  const std::uint8_t* take(std::uint64_t count) {
    if (failed_) return nullptr;
    if (count > remaining()) {
      failed_ = true;
      failure_ = "needs " + std::to_string(count) + " bytes at offset " + hex(offset()) +
                 " but only " + std::to_string(remaining()) + " remain";
      return nullptr;
    }
    const std::uint8_t* p = bytes_.data() + pos_;
    pos_ += static_cast<std::size_t>(count);
    return p;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::uint64_t file_offset_ = 0;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string failure_;
};

class ByteWriter {
 public:
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v));
    u8(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    const std::size_t at = grow(4);
    store_u32le(bytes_.data() + at, v);
  }
  void u64(std::uint64_t v) {
    const std::size_t at = grow(8);
    store_u64le(bytes_.data() + at, v);
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
  void string(const std::string& text) {
    u32(static_cast<std::uint32_t>(text.size()));
    append(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  void append(std::span<const std::uint8_t> data) {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void zeros(std::size_t count) { bytes_.resize(bytes_.size() + count, 0); }
  void pad_to(std::size_t alignment) { zeros((alignment - bytes_.size() % alignment) % alignment); }
  void patch_u32(std::size_t at, std::uint32_t v) { store_u32le(bytes_.data() + at, v); }
  void patch_u64(std::size_t at, std::uint64_t v) { store_u64le(bytes_.data() + at, v); }

 private:
  std::size_t grow(std::size_t count) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + count);
    return at;
  }
  std::vector<std::uint8_t> bytes_;
};

}  // namespace fovea::detail
