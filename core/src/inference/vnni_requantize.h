#pragma once
// The INT8 output stage shared by fovea's AVX-512 VNNI kernels, bit-exact with
// reference::conv2d_qs8 (and XNNPACK's qc8 fp32 requantization): the int32 accumulator, bias
// included, converted to float, multiplied by the channel's float scale, clamped in the float
// domain to [y_min - y_zp, y_max - y_zp], rounded to nearest (the current rounding mode, half to
// even by default, like std::nearbyint), then the output zero point added. The int8 narrowing
// cannot saturate: the clamp already bounds the value.

#include "avx512_intrinsics.h"

#include <cstdint>

#define FOVEA_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace fovea::inference::vnni {

// The requantization constants of one node's output.
struct OutputParams {
  std::int32_t zero_point = 0;
  std::int32_t min = -128, max = 127;  // the fused clamp, in the output's int8 domain
};

struct OutputVectors {
  __m512 lo, hi;  // the clamp bounds less the zero point, as the reference clamps
  __m512i zero_point;
};

FOVEA_VNNI_TARGET inline OutputVectors output_vectors(const OutputParams& p) {
  return {_mm512_set1_ps(static_cast<float>(p.min - p.zero_point)),
          _mm512_set1_ps(static_cast<float>(p.max - p.zero_point)),
          _mm512_set1_epi32(p.zero_point)};
}

// 16 accumulators (bias already added) to 16 int8 outputs.
FOVEA_VNNI_TARGET inline __m128i requantize(__m512i acc, __m512 scale, const OutputVectors& out) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
  v = _mm512_min_ps(_mm512_max_ps(v, out.lo), out.hi);
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), out.zero_point));
}

// The mask of the first `n` (0..16) lanes.
inline __mmask16 first_lanes(std::int64_t n) {
  return n >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << n) - 1u);
}

}  // namespace fovea::inference::vnni
