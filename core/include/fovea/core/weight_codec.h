#pragma once
// Lossless entropy coding of weights at rest: static order-0 rANS over 64 KiB blocks, each with
// its own frequency table, so a block decodes on its own (chunked, or on a worker thread) and a
// plane whose statistics drift along its length still codes well. A block that would not shrink
// is stored as is. Works on any bytes; INT8 weight planes (Laplacian-like histograms) shrink by
// about 1.2x. Layout in docs/fvm.md ("Weight streams").
//
// Decoding validates everything: a corrupt or hostile stream is an error value, never a read or
// write outside the spans given.

#include <cstdint>
#include <span>
#include <vector>

#include "fovea/core/status.h"

namespace fovea {

inline constexpr std::size_t kWeightBlockBytes = 64 * 1024;

// Encodes `data` as a self-describing weight stream.
std::vector<std::uint8_t> encode_weight_stream(std::span<const std::uint8_t> data);

// A validated view of a weight stream. open() checks the header, the block directory and every
// block's frequency table; decode_block() checks the payload (a stream that ends early, leaves
// bytes over or ends in the wrong coder state is corrupt). The view does not own the bytes.
class WeightStreamReader {
 public:
  static Result<WeightStreamReader> open(std::span<const std::uint8_t> stream);

  std::int64_t decoded_bytes() const { return decoded_bytes_; }
  int block_count() const {
    return block_offsets_.empty() ? 0 : static_cast<int>(block_offsets_.size()) - 1;
  }
  std::int64_t block_decoded_bytes(int block) const;

  // `out.size()` must equal block_decoded_bytes(block).
  Status decode_block(int block, std::span<std::uint8_t> out) const;
  // `out.size()` must equal decoded_bytes().
  Status decode(std::span<std::uint8_t> out) const;

 private:
  std::span<const std::uint8_t> stream_;
  std::int64_t decoded_bytes_ = 0;
  std::vector<std::uint64_t> block_offsets_;  // into stream_, one past the end appended
};

}  // namespace fovea
