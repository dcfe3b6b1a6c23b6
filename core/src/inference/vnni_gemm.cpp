// The VNNI GEMM behind 1x1 and dense convolutions and fully connected layers (see vnni_gemm.h).
//
// Work is done in tiles of up to kTileRows pixels: a loader (vnni_tile.h) writes the tile's
// activations once into this thread's scratch (XOR 0x80, K padded, so the micro-kernel never
// reads past the input), then every output-channel chunk of the slice runs over it with a
// register-blocked micro-kernel of M pixels x NB blocks of 16 channels. M depends on NB so that
// about 24 zmm registers hold accumulators and the rest hold a chunk's weights and the broadcast
// pixel.

#include "vnni_gemm.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace fovea::inference::vnni {
namespace {

constexpr int kMaxBlocks = 4;  // 16-channel blocks per chunk
// Pixels per micro-kernel call by blocks per chunk (NB - 1): M x NB <= 24 accumulators. Not 12
// for NB = 2: GCC 12 then runs out of address registers for the rows and spills accumulators.
constexpr int kRows[kMaxBlocks] = {12, 8, 8, 6};
constexpr std::int64_t kTileRows = 24;  // a multiple of every kRows entry

std::size_t round_up(std::size_t bytes, std::size_t to) {
  return (bytes + to - 1) / to * to;
}

std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

using MicroKernel = void (*)(const std::uint8_t* a, std::int64_t lda, std::int64_t k4,
                             const std::int8_t* w, const std::int32_t* bias, const float* scales,
                             std::int8_t* y, std::int64_t ldy, __mmask16 last_mask,
                             const OutputVectors& out);

// Requantizes and stores one pixel's NB blocks of 16 output channels; the last block stores
// only the lanes of `last_mask`.
template <int NB>
FOVEA_VNNI_TARGET inline void store_pixel(std::int8_t* y, __m512i c0, __m512i c1, __m512i c2,
                                          __m512i c3, const float* scales, __mmask16 last_mask,
                                          const OutputVectors& out) {
  const __m512i acc[kMaxBlocks] = {c0, c1, c2, c3};
  for (int j = 0; j < NB; ++j) {
    const __m128i r = requantize(acc[j], _mm512_load_ps(scales + j * 16), out);
    if (j + 1 < NB || last_mask == 0xFFFF)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j * 16), r);
    else
      _mm_mask_storeu_epi8(y + j * 16, last_mask, r);
  }
}

// The accumulators are named variables, one per (pixel, block), rather than an array: GCC 12
// keeps an array of 24 zmm accumulators in memory, storing every one of them on each step of
// the K loop. Rows m >= M and blocks j >= NB are discarded at compile time.
#define FOVEA_VNNI_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define FOVEA_VNNI_DECLARE(m) \
  [[maybe_unused]] __m512i c##m##_0 = b0, c##m##_1 = b1, c##m##_2 = b2, c##m##_3 = b3;
#define FOVEA_VNNI_STEP(m)                                                                  \
  if constexpr (m < M) {                                                                    \
    const __m512i av = _mm512_set1_epi32(static_cast<int>(load_u32(a + m * lda + kk * 4))); \
    c##m##_0 = _mm512_dpbusd_epi32(c##m##_0, av, w0);                                       \
    if constexpr (NB > 1) c##m##_1 = _mm512_dpbusd_epi32(c##m##_1, av, w1);                 \
    if constexpr (NB > 2) c##m##_2 = _mm512_dpbusd_epi32(c##m##_2, av, w2);                 \
    if constexpr (NB > 3) c##m##_3 = _mm512_dpbusd_epi32(c##m##_3, av, w3);                 \
  }
#define FOVEA_VNNI_STORE(m) \
  if constexpr (m < M)      \
    store_pixel<NB>(y + m * ldy, c##m##_0, c##m##_1, c##m##_2, c##m##_3, scales, last_mask, out);

// M pixels (rows of `a`, unsigned, lda bytes apart) x NB blocks of 16 output channels.
template <int M, int NB>
FOVEA_VNNI_TARGET void micro_kernel(const std::uint8_t* a, std::int64_t lda, std::int64_t k4,
                                    const std::int8_t* w, const std::int32_t* bias,
                                    const float* scales, std::int8_t* y, std::int64_t ldy,
                                    __mmask16 last_mask, const OutputVectors& out) {
  static_assert(M >= 1 && M <= 12 && NB >= 1 && NB <= kMaxBlocks);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i b0 = _mm512_load_si512(bias);
  const __m512i b1 = NB > 1 ? _mm512_load_si512(bias + 16) : zero;
  const __m512i b2 = NB > 2 ? _mm512_load_si512(bias + 32) : zero;
  const __m512i b3 = NB > 3 ? _mm512_load_si512(bias + 48) : zero;
  FOVEA_VNNI_ROWS(FOVEA_VNNI_DECLARE)
  for (std::int64_t kk = 0; kk < k4; ++kk) {
    const std::int8_t* wk = w + kk * NB * 64;
    const __m512i w0 = _mm512_load_si512(wk);
    const __m512i w1 = NB > 1 ? _mm512_load_si512(wk + 64) : zero;
    const __m512i w2 = NB > 2 ? _mm512_load_si512(wk + 128) : zero;
    const __m512i w3 = NB > 3 ? _mm512_load_si512(wk + 192) : zero;
    FOVEA_VNNI_ROWS(FOVEA_VNNI_STEP)
  }
  FOVEA_VNNI_ROWS(FOVEA_VNNI_STORE)
}

#undef FOVEA_VNNI_STORE
#undef FOVEA_VNNI_STEP
#undef FOVEA_VNNI_DECLARE
#undef FOVEA_VNNI_ROWS

template <int NB, int... Ms>
constexpr std::array<MicroKernel, sizeof...(Ms)> kernels_for(std::integer_sequence<int, Ms...>) {
  return {&micro_kernel<Ms + 1, NB>...};
}

// kernels[NB - 1][M - 1].
constexpr std::array<MicroKernel, 12> kKernels1 =
    kernels_for<1>(std::make_integer_sequence<int, 12>());
constexpr std::array<MicroKernel, 8> kKernels2 =
    kernels_for<2>(std::make_integer_sequence<int, 8>());
constexpr std::array<MicroKernel, 8> kKernels3 =
    kernels_for<3>(std::make_integer_sequence<int, 8>());
constexpr std::array<MicroKernel, 6> kKernels4 =
    kernels_for<4>(std::make_integer_sequence<int, 6>());
MicroKernel micro_kernel_for(int blocks, std::int64_t rows) {
  const auto m = static_cast<size_t>(rows - 1);
  switch (blocks) {
    case 1:
      return kKernels1[m];
    case 2:
      return kKernels2[m];
    case 3:
      return kKernels3[m];
    default:
      return kKernels4[m];
  }
}

}  // namespace

GemmLayout::GemmLayout(std::int64_t in_channels, std::int64_t out_channels)
    : k_(in_channels),
      o_(out_channels),
      k4_((in_channels + 3) / 4),
      blocks_((out_channels + 15) / 16) {
  // Chunks of at most 4 blocks, as even as possible: 9 blocks run as 3 + 3 + 3, not 4 + 4 + 1,
  // so no chunk falls back to a narrow, load-bound micro-kernel.
  const std::int64_t count = (blocks_ + kMaxBlocks - 1) / kMaxBlocks;
  std::size_t offset = 0;
  for (std::int64_t i = 0, block = 0; i < count; ++i) {
    const int nb = static_cast<int>(blocks_ / count + (i < blocks_ % count ? 1 : 0));
    chunks_.push_back({block, nb, offset});
    block += nb;
    offset += static_cast<std::size_t>(k4_) * static_cast<std::size_t>(nb) * 64;
  }
  bias_offset_ = round_up(offset, 64);
  scales_offset_ = bias_offset_ + padded_out() * sizeof(std::int32_t);
}

std::size_t GemmLayout::tile_bytes() const {
  return static_cast<std::size_t>(kTileRows * tile_stride());
}

void GemmLayout::pack(const std::int8_t* weights, const std::uint8_t* bias,
                      std::span<const float> scales, std::int32_t x_zero_point,
                      void* packed) const {
  auto* base = static_cast<std::uint8_t*>(packed);
  std::memset(base, 0, packed_bytes());
  for (const Chunk& chunk : chunks_) {
    auto* w = reinterpret_cast<std::int8_t*>(base + chunk.offset);
    for (int j = 0; j < chunk.blocks; ++j)
      for (int lane = 0; lane < 16; ++lane) {
        const std::int64_t o = (chunk.block0 + j) * 16 + lane;
        if (o >= o_) continue;
        // Four input channels at a time: one 4-byte group per k-step (the last may be short;
        // the memset left its padding zero).
        const std::int8_t* src = weights + o * k_;
        std::int8_t* dst = w + (j * 16 + lane) * 4;
        const std::int64_t step = std::int64_t{chunk.blocks} * 64;
        for (std::int64_t k = 0; k < k_; k += 4, dst += step)
          std::memcpy(dst, src + k, static_cast<size_t>(std::min<std::int64_t>(4, k_ - k)));
      }
  }
  auto* packed_bias = reinterpret_cast<std::int32_t*>(base + bias_offset_);
  auto* packed_scales = reinterpret_cast<float*>(base + scales_offset_);
  // The activations arrive as x + 128: subtract (128 + x_zp) * sum(w) once, here. In int32
  // wrap-around arithmetic, like the accumulator, so the sum is exact whatever its order.
  const std::uint32_t shift = static_cast<std::uint32_t>(128 + x_zero_point);
  for (std::int64_t o = 0; o < o_; ++o) {
    std::uint32_t sum = 0;
    for (std::int64_t k = 0; k < k_; ++k)
      sum += static_cast<std::uint32_t>(std::int32_t{weights[o * k_ + k]});
    const std::uint32_t b = bias != nullptr ? load_u32(bias + o * 4) : 0u;
    packed_bias[o] = static_cast<std::int32_t>(b - shift * sum);
    packed_scales[o] = scales[static_cast<size_t>(o)];
  }
}

FOVEA_VNNI_TARGET void GemmLayout::run(const void* packed, TileLoader load, const void* source,
                                       std::int8_t* y, std::int64_t p0, std::int64_t p1,
                                       std::size_t chunk0, std::size_t chunk1,
                                       const OutputParams& output, std::uint8_t* tile) const {
  const auto* base = static_cast<const std::uint8_t*>(packed);
  const auto* bias = reinterpret_cast<const std::int32_t*>(base + bias_offset_);
  const auto* scales = reinterpret_cast<const float*>(base + scales_offset_);
  const std::int64_t lda = tile_stride();
  const OutputVectors out = output_vectors(output);
  const __mmask16 tail = first_lanes(o_ - (blocks_ - 1) * 16);
  // Tiles of near-equal size (49 pixels: 17 + 16 + 16, not 24 + 24 + 1), so no tile ends in a
  // lone pixel that runs a one-row micro-kernel over every chunk.
  const std::int64_t tiles = (p1 - p0 + kTileRows - 1) / kTileRows;
  for (std::int64_t t = 0; t < tiles; ++t) {
    const std::int64_t p = p0 + (p1 - p0) * t / tiles;
    const std::int64_t rows = p0 + (p1 - p0) * (t + 1) / tiles - p;
    load(source, p, rows, lda, tile);
    for (std::size_t c = chunk0; c < chunk1; ++c) {
      const Chunk& chunk = chunks_[c];
      const std::int64_t m_max = kRows[chunk.blocks - 1];
      const bool last = chunk.block0 + chunk.blocks == blocks_;
      const auto* w = reinterpret_cast<const std::int8_t*>(base + chunk.offset);
      for (std::int64_t m0 = 0; m0 < rows; m0 += m_max) {
        const std::int64_t m = std::min(m_max, rows - m0);
        micro_kernel_for(chunk.blocks, m)(
            tile + m0 * lda, lda, k4_, w, bias + chunk.block0 * 16, scales + chunk.block0 * 16,
            y + (p + m0) * o_ + chunk.block0 * 16, o_, last ? tail : __mmask16{0xFFFF}, out);
      }
    }
  }
}

}  // namespace fovea::inference::vnni
