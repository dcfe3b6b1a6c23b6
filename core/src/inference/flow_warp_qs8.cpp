// INT8 Warp, reference::warp_qs8's arithmetic exactly: float weights, the taps multiplied and
// added in the same order, never fused (this file and the reference build with
// -ffp-contract=off), and vcvtps2dq rounds half to even as nearbyint does, so outputs equal the
// reference's byte for byte. A pixel's taps are worked out once; on AVX-512 BW its channels go
// 16 at a time (the last block masked). It replaces a dequantize, the FP32 warp and a quantize:
// a quarter of the bytes read and written.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "avx512_intrinsics.h"
#include "flow_warp.h"
#include "row_parallel.h"

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

void row(const Task& t, std::int64_t row_index) {
  const reference::Nhwc& s = t.s;
  const std::int64_t n = row_index / s.h, h = row_index % s.h;
  const float z = static_cast<float>(t.z);
  for (std::int64_t w = 0; w < s.w; ++w) {
    const float* f = t.flow + (row_index * s.w + w) * 2;
    const float fx = std::floor(f[0]), fy = std::floor(f[1]);
    const float ax = f[0] - fx, ay = f[1] - fy;
    const float weight[4] = {(1.0f - ay) * (1.0f - ax), (1.0f - ay) * ax, ay * (1.0f - ax),
                             ay * ax};
    const std::int8_t* tap[4];
    bool all_inside = true;
    for (int i = 0; i < 4; ++i) {
      // In double: a far-off or non-finite flow must land outside, not wrap in an integer.
      const double yy = double(h) + double(fy) + i / 2, xx = double(w) + double(fx) + i % 2;
      const bool inside = yy >= 0 && yy < double(s.h) && xx >= 0 && xx < double(s.w);
      tap[i] =
          inside ? t.x + ((n * s.h + std::int64_t(yy)) * s.w + std::int64_t(xx)) * s.c : nullptr;
      all_inside = all_inside && inside;
    }
    std::int8_t* out = t.y + (row_index * s.w + w) * s.c;
    if (all_inside && t.avx512) {
      four_taps_avx512(tap, weight, t.z, s.c, out);
      continue;
    }
    if (all_inside) {
      const std::int8_t *p0 = tap[0], *p1 = tap[1], *p2 = tap[2], *p3 = tap[3];
      for (std::int64_t c = 0; c < s.c; ++c) {
        float v = weight[0] * (float(p0[c]) - z);
        v = v + weight[1] * (float(p1[c]) - z);
        v = v + weight[2] * (float(p2[c]) - z);
        v = v + weight[3] * (float(p3[c]) - z);
        out[c] = to_int8(v, z);
      }
      continue;
    }
    for (std::int64_t c = 0; c < s.c; ++c) {
      float v = 0.0f;
      for (int i = 0; i < 4; ++i) {
        const float d = tap[i] != nullptr ? float(tap[i][c]) - z : 0.0f;
        v = i == 0 ? weight[0] * d : v + weight[i] * d;
      }
      out[c] = to_int8(v, z);
    }
  }
}

}  // namespace

void warp_qs8(const std::int8_t* x, reference::Nhwc shape, const float* flow,
              std::int32_t zero_point, std::int8_t* y, pthreadpool_t pool, Isa isa) {
  const Task task{x, shape, flow, zero_point, y, use_avx512bw(isa)};
  for_each_row(pool, shape.n * shape.h, [&](std::int64_t r) { row(task, r); });
}

}  // namespace fovea::inference::flow
