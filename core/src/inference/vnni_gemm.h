#pragma once
// INT8 GEMM for 1x1 and dense convolutions and fully connected layers on AVX-512 VNNI:
// y[p, o] = requantize(bias[o] + sum_k (x[p, k] - x_zp) * w[o, k]) over output pixels p, where
// x[p, :] is a pixel (1x1) or a window's patch (dense).
//
// vpdpbusd multiplies unsigned by signed bytes, so activations are made unsigned by XOR 0x80
// (x + 128) as they are copied into a per-thread tile, and the bias is packed with
// -(128 + x_zp) * sum_k w[o, k] folded in. Every pixel reads all K inputs (padding taps read
// x_zp, vnni_tile.h), so the fold is exact. Weights are packed per chunk of up to 4 blocks of 16
// output channels as [k / 4][block][16 channels][4 bytes]: one 64-byte load feeds one vpdpbusd that
// consumes 4 input channels of a broadcast pixel. K is padded to a multiple of 4 with zero weights,
// output channels to a multiple of 16 with zero weights and scales.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vnni_requantize.h"
#include "vnni_tile.h"

namespace fovea::inference::vnni {

class GemmLayout {
 public:
  struct Chunk {
    std::int64_t block0 = 0;  // first block of 16 output channels
    int blocks = 0;           // 1..4
    std::size_t offset = 0;   // of its weights in the packed buffer
  };

  GemmLayout() = default;
  GemmLayout(std::int64_t in_channels, std::int64_t out_channels);

  std::int64_t in_channels() const { return k_; }
  std::int64_t out_channels() const { return o_; }
  std::int64_t k_groups() const { return k4_; }  // K / 4, rounded up
  const std::vector<Chunk>& chunks() const { return chunks_; }
  std::size_t packed_bytes() const { return scales_offset_ + padded_out() * sizeof(float); }
  // Bytes of one thread's activation tile (pixels XOR 0x80, K padded).
  std::size_t tile_bytes() const;
  // Bytes between two pixels of a tile: whole 64-byte lines (see vnni_tile.h).
  std::int64_t tile_stride() const { return (k4_ * 4 + 63) / 64 * 64; }

  // Fills `packed` (packed_bytes(), 64-byte aligned): weights [O, K], an optional bias
  // [O] (int32 bytes, any alignment), one
  // scale per output channel (x_scale * w_scale[o] / y_scale).
  void pack(const std::int8_t* weights, const std::uint8_t* bias, std::span<const float> scales,
            std::int32_t x_zero_point, void* packed) const;

  // Output pixels [p0, p1) for output-channel chunks [chunk0, chunk1), their activations from
  // `load(source, ...)`; y is [P, O]. `tile` is tile_bytes() of this thread's scratch.
  void run(const void* packed, TileLoader load, const void* source, std::int8_t* y, std::int64_t p0,
           std::int64_t p1, std::size_t chunk0, std::size_t chunk1, const OutputParams& output,
           std::uint8_t* tile) const;

 private:
  std::size_t padded_out() const { return static_cast<std::size_t>(blocks_) * 16; }

  std::int64_t k_ = 0, o_ = 0, k4_ = 0, blocks_ = 0;
  std::vector<Chunk> chunks_;
  std::size_t bias_offset_ = 0, scales_offset_ = 0;
};

}  // namespace fovea::inference::vnni
