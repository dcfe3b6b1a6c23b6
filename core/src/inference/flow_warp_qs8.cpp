// INT8 Warp, reference::warp_qs8's arithmetic exactly: float weights, the taps multiplied and
// added in the same order, never fused (this file and the reference build with
// -ffp-contract=off), and vcvtps2dq rounds half to even as nearbyint does, so outputs equal the
// reference's byte for byte. On AVX-512 BW, 16 pixels' taps are worked out at once
// (warp_taps_avx512.h) and each pixel's channels go 16 at a time (the last block masked). It
// replaces a dequantize, the FP32 warp and a quantize: a quarter of the bytes read and written.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "avx512_intrinsics.h"
#include "flow_warp.h"
#include "row_parallel.h"
#include "warp_taps_avx512.h"

namespace fovea::inference::flow {
namespace {

struct Task {
  const std::int8_t* x;
  reference::Nhwc s;
  const float* flow;
  std::int32_t z;
  std::int8_t* y;
  bool avx512;
};

// 16 bytes of a tap (the first lanes of `m`), less the zero point, as floats.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512 centred(const std::int8_t* p,
                                                                     __mmask16 m, __m512 z) {
  return _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p))), z);
}

// A pixel's channels from its four inside taps, 16 at a time: ((w0 d0 + w1 d1) + w2 d2) + w3 d3
// with d = q - z, rounded, z added back, saturated to bytes.
FOVEA_AVX512_BW void four_taps_avx512(const std::int8_t* const* tap, const float* weight,
                                      std::int32_t z, std::int64_t channels, std::int8_t* out) {
  const __m512 zf = _mm512_set1_ps(static_cast<float>(z));
  const __m512i zi = _mm512_set1_epi32(z);
  const __m512 w0 = _mm512_set1_ps(weight[0]), w1 = _mm512_set1_ps(weight[1]),
               w2 = _mm512_set1_ps(weight[2]), w3 = _mm512_set1_ps(weight[3]);
  for (std::int64_t c = 0; c < channels; c += 16) {
    const std::int64_t n = std::min<std::int64_t>(16, channels - c);
    const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
    __m512 v = _mm512_mul_ps(w0, centred(tap[0] + c, m, zf));
    v = _mm512_add_ps(v, _mm512_mul_ps(w1, centred(tap[1] + c, m, zf)));
    v = _mm512_add_ps(v, _mm512_mul_ps(w2, centred(tap[2] + c, m, zf)));
    v = _mm512_add_ps(v, _mm512_mul_ps(w3, centred(tap[3] + c, m, zf)));
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zi);
    _mm_mask_storeu_epi8(out + c, m, _mm512_cvtsepi32_epi8(q));
  }
}

inline std::int8_t to_int8(float v, float z) {
  return static_cast<std::int8_t>(std::clamp(std::nearbyint(v) + z, -128.0f, 127.0f));
}

// One pixel from its taps (null: outside, skipped) and weights, as the reference sums them.
void pixel_portable(const std::int8_t* const* tap, const float* weight, std::int32_t z,
                    std::int64_t channels, std::int8_t* out) {
  const float zf = static_cast<float>(z);
  for (std::int64_t c = 0; c < channels; ++c) {
    float v = 0.0f;
    for (int i = 0; i < 4; ++i)
      if (tap[i] != nullptr) v = v + weight[i] * (float(tap[i][c]) - zf);
    out[c] = to_int8(v, zf);
  }
}

void row_portable(const Task& t, std::int64_t row_index) {
  const reference::Nhwc& s = t.s;
  const std::int64_t n = row_index / s.h, h = row_index % s.h;
  for (std::int64_t w = 0; w < s.w; ++w) {
    const float* f = t.flow + (row_index * s.w + w) * 2;
    const float fx = std::floor(f[0]), fy = std::floor(f[1]);
    const float ax = f[0] - fx, ay = f[1] - fy;
    const float weight[4] = {(1.0f - ax) * (1.0f - ay), ax * (1.0f - ay), (1.0f - ax) * ay,
                             ax * ay};
    const std::int8_t* tap[4];
    for (int i = 0; i < 4; ++i) {
      // In double: a far-off or non-finite flow must land outside, not wrap in an integer.
      const double yy = double(h) + double(fy) + i / 2, xx = double(w) + double(fx) + i % 2;
      const bool inside = yy >= 0 && yy < double(s.h) && xx >= 0 && xx < double(s.w);
      tap[i] =
          inside ? t.x + ((n * s.h + std::int64_t(yy)) * s.w + std::int64_t(xx)) * s.c : nullptr;
    }
    pixel_portable(tap, weight, t.z, s.c, t.y + (row_index * s.w + w) * s.c);
  }
}

// 16 pixels' taps at once (warp_taps_avx512.h), then each pixel's channels.
FOVEA_AVX512_BW void row_avx512(const Task& t, std::int64_t row_index) {
  const reference::Nhwc& s = t.s;
  const std::int64_t n = row_index / s.h, h = row_index % s.h;
  const std::int8_t* image = t.x + n * s.h * s.w * s.c;
  WarpTaps16 taps;
  for (std::int64_t w0 = 0; w0 < s.w; w0 += 16) {
    warp_taps16(t.flow + (row_index * s.w + w0) * 2, w0, h, s, taps);
    for (int i = 0; i < taps.count; ++i) {
      const std::int8_t* tap[4];
      const float weight[4] = {taps.weights[0][i], taps.weights[1][i], taps.weights[2][i],
                               taps.weights[3][i]};
      const std::int64_t x = taps.xs[i], y = taps.ys[i];
      for (int k = 0; k < 4; ++k)
        tap[k] =
            (taps.inside[k] >> i) & 1u ? image + ((y + k / 2) * s.w + x + k % 2) * s.c : nullptr;
      std::int8_t* out = t.y + (row_index * s.w + w0 + i) * s.c;
      if ((taps.all >> i) & 1u)
        four_taps_avx512(tap, weight, t.z, s.c, out);
      else
        pixel_portable(tap, weight, t.z, s.c, out);
    }
  }
}

void row(const Task& t, std::int64_t row_index) {
  if (t.avx512)
    row_avx512(t, row_index);
  else
    row_portable(t, row_index);
}

}  // namespace

void warp_qs8(const std::int8_t* x, reference::Nhwc shape, const float* flow,
              std::int32_t zero_point, std::int8_t* y, pthreadpool_t pool, Isa isa) {
  // The AVX-512 path works out tap positions in int32.
  const bool small = shape.n * shape.h * shape.w * shape.c < (std::int64_t{1} << 31) &&
                     shape.w < (1 << 30) && shape.h < (1 << 30);
  const Task task{x, shape, flow, zero_point, y, use_avx512bw(isa) && small};
  for_each_row(pool, shape.n * shape.h, [&](std::int64_t r) { row(task, r); });
}

}  // namespace fovea::inference::flow
