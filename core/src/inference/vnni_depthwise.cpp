// Depthwise 3x3 INT8 convolution on AVX-512 VNNI (see vnni_depthwise.h).
//
// Loop order per output row: 16-channel blocks outside, output columns inside, so a block's
// nine weight vectors, bias and scales stay in registers across the row. A pixel whose nine taps
// all lie inside the input (the interior) computes its tap addresses from the row pointers; the
// border pixels and the rows touching the padding point their outside taps at the packed
// zero-point row instead.

#include "vnni_depthwise.h"

#include <algorithm>
#include <cstring>

namespace fovea::inference::vnni {
namespace {

constexpr int kTaps = DepthwiseLayout::kTaps;

std::size_t round_up(std::size_t bytes, std::size_t to) {
  return (bytes + to - 1) / to * to;
}

std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Packed layout per 16-channel block b of B: weights int32 [B][9][16] holding each int8 weight
// in the low 16 bits and zero in the high 16 (so vpdpwssd against a sign-extended int8 input,
// whose high 16 bits are only its sign, adds exactly x * w), then bias int32 [B * 16], scales
// float [B * 16] and the zero-point row int8 [B * 16].
struct Offsets {
  std::size_t bias, scales, zero_row, total;
  explicit Offsets(std::int64_t blocks) {
    const auto lanes = static_cast<std::size_t>(blocks) * 16;
    bias = lanes * kTaps * sizeof(std::int32_t);
    scales = bias + lanes * sizeof(std::int32_t);
    zero_row = scales + lanes * sizeof(float);
    total = round_up(zero_row + lanes, 64);
  }
};

// 16 channels of one tap, sign-extended to int32. Tail blocks load only the channels that exist.
template <bool kTail>
FOVEA_VNNI_TARGET inline __m512i tap_input(const std::int8_t* p, __mmask16 mask) {
  if constexpr (kTail)
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p));
  else
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <bool kTail>
FOVEA_VNNI_TARGET inline void store_pixel(std::int8_t* p, __mmask16 mask, __m128i value) {
  if constexpr (kTail)
    _mm_mask_storeu_epi8(p, mask, value);
  else
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), value);
}

// One output pixel of one 16-channel block, from the nine tap addresses (already offset to the
// block).
template <bool kTail>
FOVEA_VNNI_TARGET inline __m128i pixel(const std::int8_t* const* taps, const __m512i* w,
                                       __m512i bias, __m512 scale, __mmask16 mask,
                                       const OutputVectors& out) {
  // Two partial sums halve the dependency chain through vpdpwssd's latency.
  __m512i even = bias, odd = _mm512_setzero_si512();
  for (int t = 0; t < kTaps; t += 2)
    even = _mm512_dpwssd_epi32(even, tap_input<kTail>(taps[t], mask), w[t]);
  for (int t = 1; t < kTaps; t += 2)
    odd = _mm512_dpwssd_epi32(odd, tap_input<kTail>(taps[t], mask), w[t]);
  return requantize(_mm512_add_epi32(even, odd), scale, out);
}

// One output row of one 16-channel block; `rows` are the three input rows (nullptr: in the
// padding), offset to the block.
template <bool kTail>
FOVEA_VNNI_TARGET void row_block(const DepthwiseShape& s, const std::int8_t* const rows[3],
                                 const std::int8_t* zero_row, const std::int32_t* packed_w,
                                 __m512i bias, __m512 scale, __mmask16 mask, std::int64_t ox_lo,
                                 std::int64_t ox_hi, std::int8_t* y, const OutputVectors& out) {
  __m512i w[kTaps];
  for (int t = 0; t < kTaps; ++t) w[t] = _mm512_load_si512(packed_w + t * 16);
  if (rows[0] == nullptr || rows[1] == nullptr || rows[2] == nullptr) ox_lo = ox_hi = s.ow;
  ox_hi = std::max(ox_lo, ox_hi);
  const std::int8_t* taps[kTaps];
  for (std::int64_t ox = 0; ox < s.ow; ++ox) {
    const std::int64_t ix0 = ox * s.stride_w - s.pad_left;
    if (ox >= ox_lo && ox < ox_hi) {
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) taps[ky * 3 + kx] = rows[ky] + (ix0 + kx) * s.c;
    } else {
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const std::int64_t ix = ix0 + kx;
          taps[ky * 3 + kx] =
              rows[ky] != nullptr && ix >= 0 && ix < s.w ? rows[ky] + ix * s.c : zero_row;
        }
    }
    store_pixel<kTail>(y + ox * s.c, mask, pixel<kTail>(taps, w, bias, scale, mask, out));
  }
}

}  // namespace

std::size_t DepthwiseLayout::packed_bytes() const {
  return Offsets(blocks()).total;
}

void DepthwiseLayout::pack(const std::int8_t* weights, const std::uint8_t* bias,
                           std::span<const float> scales, std::int32_t x_zero_point,
                           void* packed) const {
  const Offsets at(blocks());
  auto* base = static_cast<std::uint8_t*>(packed);
  std::memset(base, 0, at.total);
  auto* w = reinterpret_cast<std::int32_t*>(base);
  auto* packed_bias = reinterpret_cast<std::int32_t*>(base + at.bias);
  auto* packed_scales = reinterpret_cast<float*>(base + at.scales);
  auto* zero_row = reinterpret_cast<std::int8_t*>(base + at.zero_row);
  for (std::int64_t c = 0; c < shape_.c; ++c) {
    std::uint32_t sum = 0;  // int32 wrap-around arithmetic, as the accumulator
    for (int t = 0; t < kTaps; ++t) {
      const std::int8_t v = weights[c * kTaps + t];
      w[(c / 16 * kTaps + t) * 16 + c % 16] = static_cast<std::uint16_t>(std::int16_t{v});
      sum += static_cast<std::uint32_t>(std::int32_t{v});
    }
    const std::uint32_t b = bias != nullptr ? load_u32(bias + c * 4) : 0u;
    packed_bias[c] = static_cast<std::int32_t>(b - static_cast<std::uint32_t>(x_zero_point) * sum);
    packed_scales[c] = scales[static_cast<size_t>(c)];
    zero_row[c] = static_cast<std::int8_t>(x_zero_point);
  }
}

FOVEA_VNNI_TARGET void DepthwiseLayout::run(const void* packed, const std::int8_t* x,
                                            std::int8_t* y, std::int64_t row0, std::int64_t row1,
                                            const OutputParams& output) const {
  const DepthwiseShape& s = shape_;
  const Offsets at(blocks());
  const auto* base = static_cast<const std::uint8_t*>(packed);
  const auto* w = reinterpret_cast<const std::int32_t*>(base);
  const auto* bias = reinterpret_cast<const std::int32_t*>(base + at.bias);
  const auto* scales = reinterpret_cast<const float*>(base + at.scales);
  const auto* zero_row = reinterpret_cast<const std::int8_t*>(base + at.zero_row);
  const OutputVectors out = output_vectors(output);
  // Interior columns: the first whose leftmost tap is inside, up to the last whose rightmost is.
  const std::int64_t ox_lo =
      std::min<std::int64_t>(s.ow, (s.pad_left + s.stride_w - 1) / s.stride_w);
  const std::int64_t ox_hi =
      s.w - 3 + s.pad_left < 0 ? 0 : std::min(s.ow, (s.w - 3 + s.pad_left) / s.stride_w + 1);
  const std::int64_t full_blocks = s.c / 16;
  const __mmask16 tail = first_lanes(s.c - full_blocks * 16);
  for (std::int64_t row = row0; row < row1; ++row) {
    const std::int64_t image = row / s.oh, oy = row % s.oh;
    const std::int8_t* rows[3];
    for (int ky = 0; ky < 3; ++ky) {
      const std::int64_t iy = oy * s.stride_h - s.pad_top + ky;
      rows[ky] = iy >= 0 && iy < s.h ? x + ((image * s.h + iy) * s.w) * s.c : nullptr;
    }
    std::int8_t* y_row = y + row * s.ow * s.c;
    for (std::int64_t b = 0; b < blocks(); ++b) {
      const std::int64_t c0 = b * 16;
      const std::int8_t* shifted[3];
      for (int ky = 0; ky < 3; ++ky) shifted[ky] = rows[ky] != nullptr ? rows[ky] + c0 : nullptr;
      const __m512i b_vec = _mm512_load_si512(bias + c0);
      const __m512 s_vec = _mm512_load_ps(scales + c0);
      const std::int32_t* w_block = w + b * kTaps * 16;
      if (b < full_blocks)
        row_block<false>(s, shifted, zero_row + c0, w_block, b_vec, s_vec, 0xFFFF, ox_lo, ox_hi,
                         y_row + c0, out);
      else
        row_block<true>(s, shifted, zero_row + c0, w_block, b_vec, s_vec, tail, ox_lo, ox_hi,
                        y_row + c0, out);
    }
  }
}

}  // namespace fovea::inference::vnni
