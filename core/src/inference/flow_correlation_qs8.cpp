// INT8 Correlation on AVX-512 BW, laid out as the FP32 kernel (flow_correlation.cpp): 8
// displacements of one pixel in 8 accumulators, a's channels loaded once per group. Channels go
// 32 at a time, sign-extended to 16 bits with the zero point subtracted (|q - z| <= 255), and
// vpmaddwd multiplies and adds pairs into int32 lanes, so the sums are exact integers. Their
// sizes stay below 2^24 (at most 258 channels), so converting the 8 accumulators to float and
// reducing them with the FP32 kernel's tree is exact too, and the requantization that follows is
// the reference's float arithmetic lane by lane.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "avx512_intrinsics.h"
#include "flow_correlation.h"
#include "row_parallel.h"

namespace fovea::inference::flow {
namespace {

struct Task {
  const std::int8_t* a;
  const std::int8_t* b;
  reference::Nhwc s;
  int r;
  std::int32_t za, zb, zy;
  float m;  // reference::correlation_qs8_multiplier
  std::int8_t* y;
  bool avx512;
};

// The reference's requantization of one exact sum.
std::int8_t requantize(std::int32_t sum, float m, std::int32_t zy) {
  const float scaled = std::clamp(static_cast<float>(sum) * m, -0x1p30f, 0x1p30f);
  return static_cast<std::int8_t>(
      std::clamp(static_cast<std::int32_t>(std::nearbyint(scaled)) + zy, -128, 127));
}

// Portable: one image row of the output (`row` counts rows over the batch).
void row_portable(const Task& t, std::int64_t row) {
  const reference::Nhwc& s = t.s;
  const int r = t.r;
  const int side = 2 * r + 1;
  const std::int64_t depth = std::int64_t{side} * side;
  const std::int64_t n = row / s.h, h = row % s.h;
  const std::int8_t outside = requantize(0, t.m, t.zy);
  for (std::int64_t w = 0; w < s.w; ++w) {
    const std::int8_t* qa = t.a + (row * s.w + w) * s.c;
    std::int8_t* out = t.y + (row * s.w + w) * depth;
    // The displacements whose pixel lies inside the row: dx in [lo, hi].
    const int lo = static_cast<int>(std::max<std::int64_t>(-r, -w));
    const int hi = static_cast<int>(std::min<std::int64_t>(r, s.w - 1 - w));
    for (int dy = -r; dy <= r; ++dy) {
      std::int8_t* o = out + (dy + r) * side;
      const std::int64_t hh = h + dy;
      if (hh < 0 || hh >= s.h || lo > hi) {
        std::fill(o, o + side, outside);
        continue;
      }
      std::fill(o, o + (lo + r), outside);
      std::fill(o + (hi + r + 1), o + side, outside);
      for (int dx = lo; dx <= hi; ++dx) {
        const std::int8_t* qb = t.b + ((n * s.h + hh) * s.w + (w + dx)) * s.c;
        std::int32_t sum = 0;
        for (std::int64_t k = 0; k < s.c; ++k) sum += (qa[k] - t.za) * (qb[k] - t.zb);
        o[dx + r] = requantize(sum, t.m, t.zy);
      }
    }
  }
}

using avx512::half_sum;
using avx512::reduce8;

// 32 bytes (or the `mask`ed ones) at p, widened to 16 bits, minus the zero point.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i centred(const std::int8_t* p,
                                                                      __mmask32 mask, __m512i z) {
  return _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, p)), z);
}

// a's lanes past the channels are zeroed, so b's there (-zb) add nothing.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i centred_a(const std::int8_t* p,
                                                                        __mmask32 mask, __m512i z) {
  return _mm512_maskz_sub_epi16(mask, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, p)), z);
}

FOVEA_AVX512_BW inline __mmask32 tail_mask(std::int64_t c) {
  return static_cast<__mmask32>((std::uint64_t{1} << (c % 32)) - 1u);
}

// Lane j: the exact sum over c channels of (a - za) * (p_j - zb), as a float. The accumulators
// are named variables, as in the FP32 kernel (GCC keeps arrays of them in memory).
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m256 dot8(
    const std::int8_t* a, const std::int8_t* p0, const std::int8_t* p1, const std::int8_t* p2,
    const std::int8_t* p3, const std::int8_t* p4, const std::int8_t* p5, const std::int8_t* p6,
    const std::int8_t* p7, std::int64_t c, __m512i za, __m512i zb) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0,
          s7 = s0;
  const __mmask32 tail = tail_mask(c);
  for (std::int64_t k = 0; k < c; k += 32) {
    const __mmask32 m = c - k >= 32 ? __mmask32(0xffffffffu) : tail;
    const __m512i va = centred_a(a + k, m, za);
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(va, centred(p0 + k, m, zb)));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(va, centred(p1 + k, m, zb)));
    s2 = _mm512_add_epi32(s2, _mm512_madd_epi16(va, centred(p2 + k, m, zb)));
    s3 = _mm512_add_epi32(s3, _mm512_madd_epi16(va, centred(p3 + k, m, zb)));
    s4 = _mm512_add_epi32(s4, _mm512_madd_epi16(va, centred(p4 + k, m, zb)));
    s5 = _mm512_add_epi32(s5, _mm512_madd_epi16(va, centred(p5 + k, m, zb)));
    s6 = _mm512_add_epi32(s6, _mm512_madd_epi16(va, centred(p6 + k, m, zb)));
    s7 = _mm512_add_epi32(s7, _mm512_madd_epi16(va, centred(p7 + k, m, zb)));
  }
  return reduce8(_mm512_cvtepi32_ps(s0), _mm512_cvtepi32_ps(s1), _mm512_cvtepi32_ps(s2),
                 _mm512_cvtepi32_ps(s3), _mm512_cvtepi32_ps(s4), _mm512_cvtepi32_ps(s5),
                 _mm512_cvtepi32_ps(s6), _mm512_cvtepi32_ps(s7));
}

// Four of them, for the last displacement of a pixel ((2r + 1)^2 = 8k + 1).
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m128 dot4(
    const std::int8_t* a, const std::int8_t* p0, const std::int8_t* p1, const std::int8_t* p2,
    const std::int8_t* p3, std::int64_t c, __m512i za, __m512i zb) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  const __mmask32 tail = tail_mask(c);
  for (std::int64_t k = 0; k < c; k += 32) {
    const __mmask32 m = c - k >= 32 ? __mmask32(0xffffffffu) : tail;
    const __m512i va = centred_a(a + k, m, za);
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(va, centred(p0 + k, m, zb)));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(va, centred(p1 + k, m, zb)));
    s2 = _mm512_add_epi32(s2, _mm512_madd_epi16(va, centred(p2 + k, m, zb)));
    s3 = _mm512_add_epi32(s3, _mm512_madd_epi16(va, centred(p3 + k, m, zb)));
  }
  const __m256 h = _mm256_hadd_ps(
      _mm256_hadd_ps(half_sum(_mm512_cvtepi32_ps(s0)), half_sum(_mm512_cvtepi32_ps(s1))),
      _mm256_hadd_ps(half_sum(_mm512_cvtepi32_ps(s2)), half_sum(_mm512_cvtepi32_ps(s3))));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// The requantization of 8 (or 4) sums, stored to the first n bytes of out: vcvtps2dq rounds
// half to even as nearbyintf does, and vpmovsdb saturates to [-128, 127].
struct Requantize {
  float m;
  std::int32_t zy;

  FOVEA_AVX512_BW void store8(__m256 sum, int n, std::int8_t* out) const {
    const __m256 v = _mm256_min_ps(
        _mm256_max_ps(_mm256_mul_ps(sum, _mm256_set1_ps(m)), _mm256_set1_ps(-0x1p30f)),
        _mm256_set1_ps(0x1p30f));
    const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(zy));
    _mm_mask_storeu_epi8(out, static_cast<__mmask16>((1u << n) - 1u), _mm256_cvtsepi32_epi8(q));
  }
  FOVEA_AVX512_BW void store4(__m128 sum, int n, std::int8_t* out) const {
    const __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(sum, _mm_set1_ps(m)), _mm_set1_ps(-0x1p30f)),
                                _mm_set1_ps(0x1p30f));
    const __m128i q = _mm_add_epi32(_mm_cvtps_epi32(v), _mm_set1_epi32(zy));
    _mm_mask_storeu_epi8(out, static_cast<__mmask16>((1u << n) - 1u), _mm_cvtsepi32_epi8(q));
  }
};

// One output pixel near the border: its displacements in output order, 8 (or 4) at a time. A
// displacement outside the image points at `a` itself and its lane is zeroed (S = 0).
FOVEA_AVX512_BW void pixel_avx512(const std::int8_t* a, const std::int8_t* const* rows,
                                  const bool* row_ok, std::int64_t w, std::int64_t width,
                                  std::int64_t c, int r, __m512i za, __m512i zb,
                                  const Requantize& rq, std::int8_t* out) {
  const int side = 2 * r + 1;
  const int depth = side * side;
  const std::int8_t* p[8];
  int dy = 0, dx = 0;  // of the next displacement, from (0, 0) = (-r, -r)
  for (int d = 0; d < depth;) {
    const int n = std::min(8, depth - d);
    const int lanes = n > 4 ? 8 : 4;
    unsigned valid = 0;
    for (int j = 0; j < lanes; ++j) {
      p[j] = a;
      if (j < n) {
        const std::int64_t xx = w + dx - r;
        if (row_ok[dy] && xx >= 0 && xx < width) {
          p[j] = rows[dy] + xx * c;
          valid |= 1u << j;
        }
        if (++dx == side) dx = 0, ++dy;
      }
    }
    if (lanes == 8)
      rq.store8(_mm256_maskz_mov_ps(__mmask8(valid), dot8(a, p[0], p[1], p[2], p[3], p[4], p[5],
                                                          p[6], p[7], c, za, zb)),
                n, out + d);
    else
      rq.store4(_mm_maskz_mov_ps(__mmask8(valid), dot4(a, p[0], p[1], p[2], p[3], c, za, zb)), n,
                out + d);
    d += n;
  }
}

// A pixel whose whole window lies inside the image: displacement d reads b + off[d] bytes from
// the pixel's own position in b. `off` holds `depth` offsets then 7 zeros, so the last group
// reads real memory.
FOVEA_AVX512_BW void interior_pixel_avx512(const std::int8_t* a, const std::int8_t* b,
                                           const std::int64_t* off, int depth, std::int64_t c,
                                           __m512i za, __m512i zb, const Requantize& rq,
                                           std::int8_t* out) {
  int d = 0;
  for (; d + 8 <= depth; d += 8) {
    const std::int64_t* o = off + d;
    rq.store8(dot8(a, b + o[0], b + o[1], b + o[2], b + o[3], b + o[4], b + o[5], b + o[6],
                   b + o[7], c, za, zb),
              8, out + d);
  }
  if (d == depth) return;
  const int n = depth - d;
  const std::int64_t* o = off + d;
  if (n <= 4)
    rq.store4(dot4(a, b + o[0], b + o[1], b + o[2], b + o[3], c, za, zb), n, out + d);
  else
    rq.store8(dot8(a, b + o[0], b + o[1], b + o[2], b + o[3], b + o[4], b + o[5], b + o[6],
                   b + o[7], c, za, zb),
              n, out + d);
}

// The rows of b an output row reads, at most 2r + 1 of them on the stack: larger windows take
// the portable path.
constexpr int kMaxSide = 33;

FOVEA_AVX512_BW void row_avx512(const Task& t, std::int64_t row) {
  const reference::Nhwc& s = t.s;
  const int r = t.r;
  const int side = 2 * r + 1;
  const int depth = side * side;
  const std::int64_t n = row / s.h, h = row % s.h;
  const __m512i za = _mm512_set1_epi16(static_cast<std::int16_t>(t.za));
  const __m512i zb = _mm512_set1_epi16(static_cast<std::int16_t>(t.zb));
  const Requantize rq{t.m, t.zy};
  const std::int8_t* rows[kMaxSide];
  bool row_ok[kMaxSide];
  for (int dy = -r; dy <= r; ++dy) {
    const std::int64_t hh = h + dy;
    row_ok[dy + r] = hh >= 0 && hh < s.h;
    rows[dy + r] = row_ok[dy + r] ? t.b + (n * s.h + hh) * s.w * s.c : t.b;
  }
  // Window offsets of interior pixels (their own pixel in b is offset 0).
  std::int64_t off[kMaxSide * kMaxSide + 8];
  for (int d = 0; d < depth + 8; ++d)
    off[d] = d < depth ? (std::int64_t{d / side - r} * s.w + (d % side - r)) * s.c : 0;
  const bool rows_inside = h >= r && h + r < s.h;
  for (std::int64_t w = 0; w < s.w; ++w) {
    const std::int8_t* qa = t.a + (row * s.w + w) * s.c;
    std::int8_t* out = t.y + (row * s.w + w) * depth;
    if (rows_inside && w >= r && w + r < s.w)
      interior_pixel_avx512(qa, t.b + (row * s.w + w) * s.c, off, depth, s.c, za, zb, rq, out);
    else
      pixel_avx512(qa, rows, row_ok, w, s.w, s.c, r, za, zb, rq, out);
  }
}

}  // namespace

void correlation_qs8(const std::int8_t* a, const std::int8_t* b, reference::Nhwc shape,
                     int max_displacement, const reference::QuantizedCorrelation& q, std::int8_t* y,
                     pthreadpool_t pool, Isa isa) {
  const Task task{a,
                  b,
                  shape,
                  max_displacement,
                  q.a_zero_point,
                  q.b_zero_point,
                  q.y_zero_point,
                  reference::correlation_qs8_multiplier(q, shape.c),
                  y,
                  use_avx512bw(isa) && 2 * max_displacement + 1 <= kMaxSide};
  for_each_row(pool, shape.n * shape.h, [&](std::int64_t row) {
    if (task.avx512)
      row_avx512(task, row);
    else
      row_portable(task, row);
  });
}

}  // namespace fovea::inference::flow
