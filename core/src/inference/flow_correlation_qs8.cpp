// INT8 Correlation on AVX-512 BW. Each output value is an exact integer dot product: channels go
// 32 at a time, sign-extended to 16 bits with a's zero point subtracted (|q - z| <= 255), and
// vpmaddwd multiplies and adds pairs into int32 lanes. A pixel's displacements go 16 at a time
// (16 accumulators, a loaded once per group) and one transpose-and-add tree reduces all 16 in
// int32; b's zero point comes off afterwards, once per group, not per byte. With 24-32 channels
// a group is one multiply-add deep, so the reduction is most of the work: the 16-wide tree made
// the kernel 10-15% faster than a first form with the FP32 kernel's 8-wide float reduction,
// which was only about as fast as FP32 Correlation. The last displacement or so uses 4 lanes.
// Sums stay below 2^24 (at most 258 channels), so the float conversion is exact and the
// requantization is the reference's float arithmetic lane by lane.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "avx512_intrinsics.h"
#include "correlation_window.h"
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

// Portable: one image row of the output (`row` counts rows over the batch).
void row_portable(const Task& t, std::int64_t row) {
  const reference::Nhwc& s = t.s;
  const int r = t.r;
  const int side = 2 * r + 1;
  const std::int64_t depth = std::int64_t{side} * side;
  const std::int64_t n = row / s.h, h = row % s.h;
  const std::int8_t outside = reference::correlation_qs8_requantize(0, t.m, t.zy);
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
        o[dx + r] = reference::correlation_qs8_requantize(sum, t.m, t.zy);
      }
    }
  }
}

using avx512::half_sum;

// 32 bytes (or the `mask`ed ones) at p, widened to 16 bits, minus the zero point.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i centred(const std::int8_t* p,
                                                                      __mmask32 mask, __m512i z) {
  return _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, p)), z);
}

// The same without the zero point.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i wide(const std::int8_t* p,
                                                                   __mmask32 mask) {
  return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, p));
}

// a's lanes past the channels are zeroed, so b's there (-zb) add nothing.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i centred_a(const std::int8_t* p,
                                                                        __mmask32 mask, __m512i z) {
  return _mm512_maskz_sub_epi16(mask, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, p)), z);
}

FOVEA_AVX512_BW inline __mmask32 tail_mask(std::int64_t c) {
  return static_cast<__mmask32>((std::uint64_t{1} << (c % 32)) - 1u);
}

// Lanes 0-3: the exact sums over c channels of (a - za) * (p_j - zb), as floats, for the last
// displacements of a pixel. A window of (2r + 1)^2 = 16k + 1 or 16k + 9 displacements leaves at
// most one after the groups of 16 below; groups of 4 cover any rest.
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

// Lane i: the sum of x_i's 16 int32 lanes, in one transpose-and-add tree (30 shuffles for 16
// sums where two avx512::reduce8 take 44, and one int-to-float conversion instead of 16). Halves of
// 256 bits, then quarters, then pairs and single lanes; the argument order undoes the tree's
// interleaving of the lanes.
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i reduce16(
    __m512i x0, __m512i x1, __m512i x2, __m512i x3, __m512i x4, __m512i x5, __m512i x6, __m512i x7,
    __m512i x8, __m512i x9, __m512i x10, __m512i x11, __m512i x12, __m512i x13, __m512i x14,
    __m512i x15) {
  // Tree slots s_k pair with s_{k+8}, then s_{k+4}, s_{k+2}, s_{k+1}; lane 4L + e of the result
  // holds slot {0, 2, 1, 3}[e] + {0, 8, 4, 12}[L], so slots are filled in that order.
  const __m512i s[16] = {x0, x2, x1, x3, x8, x10, x9, x11, x4, x6, x5, x7, x12, x14, x13, x15};
  __m512i h[8], q[4];
  for (int k = 0; k < 8; ++k)
    h[k] = _mm512_add_epi32(_mm512_shuffle_i32x4(s[k], s[k + 8], 0x44),
                            _mm512_shuffle_i32x4(s[k], s[k + 8], 0xee));
  for (int k = 0; k < 4; ++k)
    q[k] = _mm512_add_epi32(_mm512_shuffle_i32x4(h[k], h[k + 4], 0x88),
                            _mm512_shuffle_i32x4(h[k], h[k + 4], 0xdd));
  const __m512i p0 =
      _mm512_add_epi32(_mm512_unpacklo_epi32(q[0], q[2]), _mm512_unpackhi_epi32(q[0], q[2]));
  const __m512i p1 =
      _mm512_add_epi32(_mm512_unpacklo_epi32(q[1], q[3]), _mm512_unpackhi_epi32(q[1], q[3]));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(p0, p1), _mm512_unpackhi_epi64(p0, p1));
}

// Sixteen dot products sharing `a` (16 displacements of a pixel): lane j is the exact sum for
// p[j]. One a load per 16 displacements, and the cheaper reduction above. b is only
// sign-extended: the sum of (qa - za) * qb less zb times the sum of (qa - za) is S, and the
// second sum is one per pixel (|(qa - za) * qb| <= 255 * 128, so pairs still fit vpmaddwd).
FOVEA_AVX512_BW inline __attribute__((always_inline)) __m512i dot16(const std::int8_t* a,
                                                                    const std::int8_t* const* p,
                                                                    std::int64_t c, __m512i za,
                                                                    std::int32_t zb) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0,
          s7 = s0, s8 = s0, s9 = s0, s10 = s0, s11 = s0, s12 = s0, s13 = s0, s14 = s0, s15 = s0;
  __m512i a_sum = s0;  // 16-bit lanes: at most 9 chunks of 255
  const std::int8_t *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3], *p4 = p[4], *p5 = p[5],
                    *p6 = p[6], *p7 = p[7], *p8 = p[8], *p9 = p[9], *p10 = p[10], *p11 = p[11],
                    *p12 = p[12], *p13 = p[13], *p14 = p[14], *p15 = p[15];
  const __mmask32 tail = tail_mask(c);
  for (std::int64_t k = 0; k < c; k += 32) {
    const __mmask32 m = c - k >= 32 ? __mmask32(0xffffffffu) : tail;
    const __m512i va = centred_a(a + k, m, za);
    a_sum = _mm512_add_epi16(a_sum, va);
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(va, wide(p0 + k, m)));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(va, wide(p1 + k, m)));
    s2 = _mm512_add_epi32(s2, _mm512_madd_epi16(va, wide(p2 + k, m)));
    s3 = _mm512_add_epi32(s3, _mm512_madd_epi16(va, wide(p3 + k, m)));
    s4 = _mm512_add_epi32(s4, _mm512_madd_epi16(va, wide(p4 + k, m)));
    s5 = _mm512_add_epi32(s5, _mm512_madd_epi16(va, wide(p5 + k, m)));
    s6 = _mm512_add_epi32(s6, _mm512_madd_epi16(va, wide(p6 + k, m)));
    s7 = _mm512_add_epi32(s7, _mm512_madd_epi16(va, wide(p7 + k, m)));
    s8 = _mm512_add_epi32(s8, _mm512_madd_epi16(va, wide(p8 + k, m)));
    s9 = _mm512_add_epi32(s9, _mm512_madd_epi16(va, wide(p9 + k, m)));
    s10 = _mm512_add_epi32(s10, _mm512_madd_epi16(va, wide(p10 + k, m)));
    s11 = _mm512_add_epi32(s11, _mm512_madd_epi16(va, wide(p11 + k, m)));
    s12 = _mm512_add_epi32(s12, _mm512_madd_epi16(va, wide(p12 + k, m)));
    s13 = _mm512_add_epi32(s13, _mm512_madd_epi16(va, wide(p13 + k, m)));
    s14 = _mm512_add_epi32(s14, _mm512_madd_epi16(va, wide(p14 + k, m)));
    s15 = _mm512_add_epi32(s15, _mm512_madd_epi16(va, wide(p15 + k, m)));
  }
  const std::int32_t centred_sum =
      _mm512_reduce_add_epi32(_mm512_madd_epi16(a_sum, _mm512_set1_epi16(1)));
  return _mm512_sub_epi32(
      reduce16(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15),
      _mm512_set1_epi32(zb * centred_sum));
}

// The requantization of 16 (or 4) sums, stored to the first n bytes of out: vcvtps2dq rounds
// half to even as nearbyintf does, and vpmovsdb saturates to [-128, 127].
struct Requantize {
  float m;
  std::int32_t zy;

  FOVEA_AVX512_BW void store16(__m512i sum, int n, std::int8_t* out) const {
    const __m512 v =
        _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(m)),
                                    _mm512_set1_ps(-0x1p30f)),
                      _mm512_set1_ps(0x1p30f));
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(zy));
    _mm_mask_storeu_epi8(out, static_cast<__mmask16>((1u << n) - 1u), _mm512_cvtsepi32_epi8(q));
  }

  FOVEA_AVX512_BW void store4(__m128 sum, int n, std::int8_t* out) const {
    const __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(sum, _mm_set1_ps(m)), _mm_set1_ps(-0x1p30f)),
                                _mm_set1_ps(0x1p30f));
    const __m128i q = _mm_add_epi32(_mm_cvtps_epi32(v), _mm_set1_epi32(zy));
    _mm_mask_storeu_epi8(out, static_cast<__mmask16>((1u << n) - 1u), _mm_cvtsepi32_epi8(q));
  }
};

// One output pixel near the border: its displacements in output order, 16 at a time while more
// than 8 remain, then 4 at a time. A displacement outside the image points at `a` itself and its
// lane is zeroed (S = 0).
FOVEA_AVX512_BW void pixel_avx512(const std::int8_t* a, const CorrelationRow<std::int8_t>& window,
                                  std::int64_t w, std::int64_t width, std::int64_t c, __m512i za,
                                  __m512i zb, std::int32_t zb_scalar, const Requantize& rq,
                                  std::int8_t* out) {
  const int depth = window.depth;
  int d = 0;
  for (; d + 8 < depth; d += 16) {
    const std::int8_t* p16[16];
    const unsigned valid = window.border_pixels(a, w, width, c, d, 16, p16);
    rq.store16(_mm512_maskz_mov_epi32(__mmask16(valid), dot16(a, p16, c, za, zb_scalar)),
               std::min(16, depth - d), out + d);
  }
  const std::int8_t* p[4];
  for (; d < depth; d += 4) {
    const unsigned valid = window.border_pixels(a, w, width, c, d, 4, p);
    rq.store4(_mm_maskz_mov_ps(__mmask8(valid), dot4(a, p[0], p[1], p[2], p[3], c, za, zb)),
              std::min(4, depth - d), out + d);
  }
}

// A pixel whose whole window lies inside the image: displacement d reads b + off[d] bytes from
// the pixel's own position in b. `off` holds `depth` offsets then zeros (CorrelationRow), so the
// last group reads real memory. Groups of 16 while more than 8 remain, then of 4.
FOVEA_AVX512_BW void interior_pixel_avx512(const std::int8_t* a, const std::int8_t* b,
                                           const std::int64_t* off, int depth, std::int64_t c,
                                           __m512i za, __m512i zb, std::int32_t zb_scalar,
                                           const Requantize& rq, std::int8_t* out) {
  int d = 0;
  for (; d + 8 < depth; d += 16) {
    const std::int8_t* p[16];
    for (int j = 0; j < 16; ++j) p[j] = b + off[d + j];
    rq.store16(dot16(a, p, c, za, zb_scalar), std::min(16, depth - d), out + d);
  }
  for (; d < depth; d += 4) {
    const std::int64_t* o = off + d;
    rq.store4(dot4(a, b + o[0], b + o[1], b + o[2], b + o[3], c, za, zb), std::min(4, depth - d),
              out + d);
  }
}

FOVEA_AVX512_BW void row_avx512(const Task& t, std::int64_t row) {
  const reference::Nhwc& s = t.s;
  const int r = t.r;
  const __m512i za = _mm512_set1_epi16(static_cast<std::int16_t>(t.za));
  const __m512i zb = _mm512_set1_epi16(static_cast<std::int16_t>(t.zb));
  const Requantize rq{t.m, t.zy};
  const CorrelationRow<std::int8_t> window(t.b, s, r, row);
  const int depth = window.depth;
  for (std::int64_t w = 0; w < s.w; ++w) {
    const std::int8_t* qa = t.a + (row * s.w + w) * s.c;
    std::int8_t* out = t.y + (row * s.w + w) * depth;
    if (window.rows_inside && w >= r && w + r < s.w)
      interior_pixel_avx512(qa, t.b + (row * s.w + w) * s.c, window.off, depth, s.c, za, zb, t.zb,
                            rq, out);
    else
      pixel_avx512(qa, window, w, s.w, s.c, za, zb, t.zb, rq, out);
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
                  use_avx512bw(isa) && 2 * max_displacement + 1 <= kMaxCorrelationSide};
  for_each_row(pool, shape.n * shape.h, [&](std::int64_t row) {
    if (task.avx512)
      row_avx512(task, row);
    else
      row_portable(task, row);
  });
}

}  // namespace fovea::inference::flow
