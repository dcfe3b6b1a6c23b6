#pragma once
// <immintrin.h> for fovea's AVX-512 kernels, and the target attribute their functions carry
// (the library is built for baseline x86-64; each kernel checks the CPU before it runs).

// GCC 12's AVX-512 headers trip its own -Wuninitialized on their _mm512_undefined_*() idiom
// (GCC bug 105593, fixed in 13); the location of those warnings is the header itself.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#define FOVEA_AVX512_FMA __attribute__((target("avx512f,avx512vl,avx2,fma")))
// For kernels on bytes and 16-bit lanes; functions with either attribute inline into these.
#define FOVEA_AVX512_BW __attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma")))

namespace fovea::inference::avx512 {

// Lanes 0-7 plus lanes 8-15 of x.
FOVEA_AVX512_FMA inline __m256 half_sum(__m512 x) {
  return _mm256_add_ps(_mm512_castps512_ps256(x),
                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

// Lane j of the result: the sum of x_j's 16 lanes. One transpose-and-add tree for eight
// accumulators, cheaper than eight horizontal sums.
FOVEA_AVX512_FMA inline __m256 reduce8(__m512 x0, __m512 x1, __m512 x2, __m512 x3, __m512 x4,
                                       __m512 x5, __m512 x6, __m512 x7) {
  const __m256 h01 = _mm256_hadd_ps(half_sum(x0), half_sum(x1));
  const __m256 h23 = _mm256_hadd_ps(half_sum(x2), half_sum(x3));
  const __m256 h45 = _mm256_hadd_ps(half_sum(x4), half_sum(x5));
  const __m256 h67 = _mm256_hadd_ps(half_sum(x6), half_sum(x7));
  const __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
  return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

}  // namespace fovea::inference::avx512
