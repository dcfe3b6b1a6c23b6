#include "narrow_conv.h"

#include "avx512_intrinsics.h"
#include "row_parallel.h"

#include <algorithm>
#include <cstdint>

namespace fovea::inference {
namespace {

struct Task {
  const NarrowConvShape* s;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
};

using avx512::reduce8;

// a_j += x[j / O] * w[j % O]: pixel j / O against output channel j % O.
template <int O>
FOVEA_AVX512_FMA inline __attribute__((always_inline)) void accumulate8(
    const __m512* x, const __m512* w, __m512& a0, __m512& a1, __m512& a2, __m512& a3, __m512& a4,
    __m512& a5, __m512& a6, __m512& a7) {
  a0 = _mm512_fmadd_ps(x[0 / O], w[0 % O], a0);
  a1 = _mm512_fmadd_ps(x[1 / O], w[1 % O], a1);
  a2 = _mm512_fmadd_ps(x[2 / O], w[2 % O], a2);
  a3 = _mm512_fmadd_ps(x[3 / O], w[3 % O], a3);
  a4 = _mm512_fmadd_ps(x[4 / O], w[4 % O], a4);
  a5 = _mm512_fmadd_ps(x[5 / O], w[5 % O], a5);
  a6 = _mm512_fmadd_ps(x[6 / O], w[6 % O], a6);
  a7 = _mm512_fmadd_ps(x[7 / O], w[7 % O], a7);
}

// One output row, 8 / O pixels at a time; accumulator j is pixel j / O, channel j % O, which is
// also where its sum goes in the NHWC output. The accumulators are named variables: GCC 12
// keeps an array of them in memory.
template <int O>
FOVEA_AVX512_FMA void run_row(const Task& t, std::int64_t row) {
  constexpr int P = 8 / O;
  const NarrowConvShape& s = *t.s;
  const std::int64_t c = s.x.c;
  const std::int64_t n = row / s.y.h, oy = row % s.y.h;
  const __mmask16 tail = __mmask16((1u << static_cast<unsigned>(c % 16)) - 1u);
  alignas(32) float bias8[8];
  for (int j = 0; j < 8; ++j) bias8[j] = t.bias != nullptr ? t.bias[j % O] : 0.0f;
  const __m256 bias = _mm256_load_ps(bias8);
  const __m256 lo = _mm256_set1_ps(s.clamp_min), hi = _mm256_set1_ps(s.clamp_max);
  for (std::int64_t ox0 = 0; ox0 < s.y.w; ox0 += P) {
    const int count = static_cast<int>(std::min<std::int64_t>(P, s.y.w - ox0));
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    // Where the P windows lie inside the row, each window row is KW * C contiguous floats
    // in x as in the weights: one loop over them, no per-tap bookkeeping.
    const std::int64_t ix_first = ox0 * s.stride_w - s.pad_left;
    const bool inside_row =
        count == P && ix_first >= 0 && ix_first + (P - 1) * s.stride_w + s.kernel_w <= s.x.w;
    for (int kh = 0; kh < s.kernel_h; ++kh) {
      const std::int64_t iy = oy * s.stride_h - s.pad_top + kh;
      if (iy < 0 || iy >= s.x.h) continue;
      const float* x_row = t.x + (n * s.x.h + iy) * s.x.w * c;
      if (inside_row) {
        const std::int64_t span = s.kernel_w * c;
        const __mmask16 span_tail = __mmask16((1u << static_cast<unsigned>(span % 16)) - 1u);
        const float* xp[P];
        for (int p = 0; p < P; ++p) xp[p] = x_row + (ix_first + p * s.stride_w) * c;
        const float* wp[O];
        for (int o = 0; o < O; ++o) wp[o] = t.w + (o * s.kernel_h + kh) * span;
        for (std::int64_t k = 0; k < span; k += 16) {
          const __mmask16 m = span - k >= 16 ? __mmask16(0xffff) : span_tail;
          __m512 xv[P], wv[O];
          for (int p = 0; p < P; ++p) xv[p] = _mm512_maskz_loadu_ps(m, xp[p] + k);
          for (int o = 0; o < O; ++o) wv[o] = _mm512_maskz_loadu_ps(m, wp[o] + k);
          accumulate8<O>(xv, wv, a0, a1, a2, a3, a4, a5, a6, a7);
        }
        continue;
      }
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        // A pixel past the row's end or a tap in the padding loads through a zero mask.
        const float* xp[P];
        unsigned inside = 0;
        for (int p = 0; p < P; ++p) {
          const std::int64_t ix = (ox0 + p) * s.stride_w - s.pad_left + kw;
          const bool ok = p < count && ix >= 0 && ix < s.x.w;
          xp[p] = ok ? x_row + ix * c : t.w;
          inside |= unsigned(ok) << p;
        }
        const float* wp[O];
        for (int o = 0; o < O; ++o) wp[o] = t.w + ((o * s.kernel_h + kh) * s.kernel_w + kw) * c;
        for (std::int64_t k = 0; k < c; k += 16) {
          const __mmask16 m = c - k >= 16 ? __mmask16(0xffff) : tail;
          __m512 xv[P], wv[O];
          for (int p = 0; p < P; ++p)
            xv[p] = _mm512_maskz_loadu_ps((inside >> p) & 1u ? m : __mmask16(0), xp[p] + k);
          for (int o = 0; o < O; ++o) wv[o] = _mm512_maskz_loadu_ps(m, wp[o] + k);
          accumulate8<O>(xv, wv, a0, a1, a2, a3, a4, a5, a6, a7);
        }
      }
    }
    __m256 v = _mm256_add_ps(reduce8(a0, a1, a2, a3, a4, a5, a6, a7), bias);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    _mm256_mask_storeu_ps(t.y + (row * s.y.w + ox0) * O, __mmask8((1u << (count * O)) - 1u), v);
  }
}

}  // namespace

bool narrow_conv_supported(const NarrowConvShape& shape, flow::Isa isa) {
  const std::int64_t o = shape.y.c;
  return flow::use_avx512(isa) && (o == 1 || o == 2 || o == 4 || o == 8) && shape.x.c >= 1;
}

void narrow_conv_f32(const NarrowConvShape& shape, const float* x, const float* weights,
                     const float* bias, float* y, pthreadpool_t pool) {
  const Task task{&shape, x, weights, bias, y};
  void (*row_fn)(const Task&, std::int64_t) = shape.y.c == 1   ? &run_row<1>
                                              : shape.y.c == 2 ? &run_row<2>
                                              : shape.y.c == 4 ? &run_row<4>
                                                               : &run_row<8>;
  for_each_row(pool, shape.y.n * shape.y.h, [&](std::int64_t row) { row_fn(task, row); });
}

}  // namespace fovea::inference
