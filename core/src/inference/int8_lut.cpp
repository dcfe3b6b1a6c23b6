#include "int8_lut.h"

#include <algorithm>

#include "avx512_intrinsics.h"
#include "row_parallel.h"

namespace fovea::inference {
namespace {

// Inputs per pool task: large enough that scheduling costs nothing next to the lookups.
constexpr std::int64_t kBlock = 16384;

void lut_portable(const Int8Lut& lut, const std::int8_t* x, std::int8_t* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = lut.entry[static_cast<std::uint8_t>(x[i])];
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lut_vbmi(const Int8Lut& lut,
                                                                     const std::int8_t* x,
                                                                     std::int8_t* y,
                                                                     std::int64_t n) {
  // vpermi2b looks up 7 index bits in two 64-byte registers: entries 0-127 and 128-255 are two
  // lookups, and the index's top bit picks between them.
  const __m512i t0 = _mm512_loadu_si512(lut.entry.data());
  const __m512i t1 = _mm512_loadu_si512(lut.entry.data() + 64);
  const __m512i t2 = _mm512_loadu_si512(lut.entry.data() + 128);
  const __m512i t3 = _mm512_loadu_si512(lut.entry.data() + 192);
  std::int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i index = _mm512_loadu_si512(x + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, index, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, index, t3);
    const __mmask64 top = _mm512_movepi8_mask(index);
    _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(top, low, high));
  }
  lut_portable(lut, x + i, y + i, n - i);
}

}  // namespace

bool int8_lut_uses_vbmi(flow::Isa isa) {
  static const bool supported = __builtin_cpu_supports("avx512f") &&
                                __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vbmi");
  return isa == flow::Isa::kBest && supported;
}

void apply_int8_lut(const Int8Lut& lut, const std::int8_t* x, std::int8_t* y, std::int64_t count,
                    pthreadpool_t pool, flow::Isa isa) {
  const bool vbmi = int8_lut_uses_vbmi(isa);
  const std::int64_t blocks = (count + kBlock - 1) / kBlock;
  for_each_row(pool, blocks, [&](std::int64_t block) {
    const std::int64_t begin = block * kBlock;
    const std::int64_t n = std::min(kBlock, count - begin);
    if (vbmi)
      lut_vbmi(lut, x + begin, y + begin, n);
    else
      lut_portable(lut, x + begin, y + begin, n);
  });
}

}  // namespace fovea::inference
