#pragma once
// Warp's tap geometry for 16 pixels of a row at once, shared by the FP32 and INT8 kernels
// (flow_warp.cpp, flow_warp_qs8.cpp): each pixel's top-left tap (x0, y0), the four taps'
// bilinear weights ((1-ax)(1-ay), ax(1-ay), (1-ax)ay, ax*ay) and which taps lie inside the map.
// Only subtractions and products, so the weights are the same bits whether or not the compiler
// may contract multiply-adds.

#include <algorithm>
#include <cstdint>

#include "avx512_intrinsics.h"
#include "fovea/core/reference_kernels.h"

namespace fovea::inference::flow {

struct WarpTaps16 {
  alignas(64) std::int32_t xs[16];
  alignas(64) std::int32_t ys[16];
  alignas(64) float weights[4][16];
  __mmask16 inside[4];  // taps (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)
  unsigned all = 0;     // the live pixels whose four taps all lie inside
  int count = 0;        // live pixels: min(16, width - w0)
};

// Pixels w0 .. w0 + 15 of image row h; `flow` points at pixel w0's (u, v).
FOVEA_AVX512_FMA inline void warp_taps16(const float* flow, std::int64_t w0, std::int64_t h,
                                         const reference::Nhwc& s, WarpTaps16& taps) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Offsets beyond +-(size + 1) leave every tap outside; clamping first keeps the int32
  // conversion defined (NaN lands on the low bound: max returns its second operand then).
  const __m512 x_lo = _mm512_set1_ps(-static_cast<float>(s.w + 2));
  const __m512 x_hi = _mm512_set1_ps(static_cast<float>(s.w + 2));
  const __m512 y_lo = _mm512_set1_ps(-static_cast<float>(s.h + 2));
  const __m512 y_hi = _mm512_set1_ps(static_cast<float>(s.h + 2));
  const __m512i width = _mm512_set1_epi32(static_cast<int>(s.w));
  const __m512i height = _mm512_set1_epi32(static_cast<int>(s.h));
  const __m512i one = _mm512_set1_epi32(1);
  const __m512 ones = _mm512_set1_ps(1.0f);
  const int count = static_cast<int>(std::min<std::int64_t>(16, s.w - w0));
  const __mmask16 live = __mmask16((1u << count) - 1u);
  const __m512 lo =
      _mm512_maskz_loadu_ps(__mmask16(count >= 8 ? 0xffff : (1u << (2 * count)) - 1u), flow);
  const __m512 hi =
      _mm512_maskz_loadu_ps(count > 8 ? __mmask16((1u << (2 * (count - 8))) - 1u) : 0, flow + 16);
  const __m512 u = _mm512_permutex2var_ps(lo, even, hi);
  const __m512 v = _mm512_permutex2var_ps(lo, odd, hi);
  const __m512 fu = _mm512_roundscale_ps(u, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512 fv = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512 ax = _mm512_sub_ps(u, fu), ay = _mm512_sub_ps(v, fv);
  const __m512i x0 =
      _mm512_add_epi32(_mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(w0)), lanes),
                       _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(fu, x_lo), x_hi)));
  const __m512i y0 =
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(h)),
                       _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(fv, y_lo), y_hi)));
  const __m512i x1 = _mm512_add_epi32(x0, one), y1 = _mm512_add_epi32(y0, one);
  // Unsigned compares: a negative coordinate is a huge unsigned one, so one test per side.
  const __mmask16 in_x0 = _mm512_cmplt_epu32_mask(x0, width);
  const __mmask16 in_x1 = _mm512_cmplt_epu32_mask(x1, width);
  const __mmask16 in_y0 = _mm512_cmplt_epu32_mask(y0, height);
  const __mmask16 in_y1 = _mm512_cmplt_epu32_mask(y1, height);
  taps.inside[0] = __mmask16(in_y0 & in_x0);
  taps.inside[1] = __mmask16(in_y0 & in_x1);
  taps.inside[2] = __mmask16(in_y1 & in_x0);
  taps.inside[3] = __mmask16(in_y1 & in_x1);
  const __m512 wx0 = _mm512_sub_ps(ones, ax), wy0 = _mm512_sub_ps(ones, ay);
  _mm512_store_ps(taps.weights[0], _mm512_mul_ps(wx0, wy0));
  _mm512_store_ps(taps.weights[1], _mm512_mul_ps(ax, wy0));
  _mm512_store_ps(taps.weights[2], _mm512_mul_ps(wx0, ay));
  _mm512_store_ps(taps.weights[3], _mm512_mul_ps(ax, ay));
  _mm512_store_si512(taps.xs, x0);
  _mm512_store_si512(taps.ys, y0);
  taps.all = taps.inside[0] & taps.inside[1] & taps.inside[2] & taps.inside[3] & live;
  taps.count = count;
}

}  // namespace fovea::inference::flow
