// Warp on AVX-512: the four taps' positions, weights and insideness are worked out for 16
// pixels at once, then each pixel's channels run 16 at a time (the last block masked). Pixels
// whose four taps all lie inside the image, nearly all of them, take one branch-free loop; the
// rest add only their inside taps, as the reference reads zero outside.

#include "flow_warp.h"

#include "avx512_intrinsics.h"
#include "row_parallel.h"
#include "warp_taps_avx512.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace fovea::inference::flow {
namespace {

struct Task {
  const float* x;
  reference::Nhwc s;
  const float* flow;
  float* y;
  bool avx512;
};

// A pixel's taps: (y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1); null when outside.
struct Taps {
  const float* p[4];
  float w[4];
  bool all_inside;
};

// Splits a sampling offset into its floor, clamped to where it still matters, and fraction.
// Splitting the flow, not the position: x + u in float would lose u's low bits at large x.
inline void split(float f, std::int64_t size, std::int64_t& whole, float& fraction) {
  const float down = std::floor(f);
  fraction = f - down;
  // Beyond +-(size + 1) every tap is outside anyway; NaN lands there too.
  const float limit = static_cast<float>(size + 1);
  whole = down >= -limit && down <= limit ? static_cast<std::int64_t>(down)
                                          : static_cast<std::int64_t>(-limit - 1);
}

Taps taps_of(const Task& t, std::int64_t n, std::int64_t h, std::int64_t w, const float* f) {
  const reference::Nhwc& s = t.s;
  std::int64_t ox, oy;
  float ax, ay;
  split(f[0], s.w, ox, ax);
  split(f[1], s.h, oy, ay);
  const std::int64_t x0 = w + ox, y0 = h + oy;
  const float wx[2] = {1.0f - ax, ax}, wy[2] = {1.0f - ay, ay};
  Taps taps{};
  taps.all_inside = true;
  for (int i = 0; i < 4; ++i) {
    const std::int64_t yy = y0 + i / 2, xx = x0 + i % 2;
    if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) {
      taps.p[i] = nullptr;
      taps.w[i] = 0.0f;
      taps.all_inside = false;
      continue;
    }
    taps.p[i] = t.x + ((n * s.h + yy) * s.w + xx) * s.c;
    taps.w[i] = wx[i % 2] * wy[i / 2];
  }
  return taps;
}

void pixel_portable(const Taps& taps, std::int64_t c, float* out) {
  for (std::int64_t k = 0; k < c; ++k) out[k] = 0.0f;
  for (int i = 0; i < 4; ++i) {
    if (taps.p[i] == nullptr) continue;
    const float* p = taps.p[i];
    const float w = taps.w[i];
    for (std::int64_t k = 0; k < c; ++k) out[k] += w * p[k];
  }
}

FOVEA_AVX512_FMA void pixel_avx512(const float* const* p, const float* w, bool all_inside,
                                   std::int64_t c, float* out) {
  const __mmask16 tail = __mmask16((1u << static_cast<unsigned>(c % 16)) - 1u);
  if (all_inside) {
    const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]);
    const __m512 w2 = _mm512_set1_ps(w[2]), w3 = _mm512_set1_ps(w[3]);
    const float *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];
    for (std::int64_t k = 0; k < c; k += 16) {
      const __mmask16 m = c - k >= 16 ? __mmask16(0xffff) : tail;
      __m512 v = _mm512_mul_ps(w0, _mm512_maskz_loadu_ps(m, p0 + k));
      v = _mm512_fmadd_ps(w1, _mm512_maskz_loadu_ps(m, p1 + k), v);
      v = _mm512_fmadd_ps(w2, _mm512_maskz_loadu_ps(m, p2 + k), v);
      v = _mm512_fmadd_ps(w3, _mm512_maskz_loadu_ps(m, p3 + k), v);
      _mm512_mask_storeu_ps(out + k, m, v);
    }
    return;
  }
  for (std::int64_t k = 0; k < c; k += 16) {
    const __mmask16 m = c - k >= 16 ? __mmask16(0xffff) : tail;
    __m512 v = _mm512_setzero_ps();
    for (int i = 0; i < 4; ++i)
      if (p[i] != nullptr)
        v = _mm512_fmadd_ps(_mm512_set1_ps(w[i]), _mm512_maskz_loadu_ps(m, p[i] + k), v);
    _mm512_mask_storeu_ps(out + k, m, v);
  }
}

// 16 pixels of a row at a time: their taps' rows, columns, weights and whether they lie inside
// are worked out in zmm registers (warp_taps_avx512.h), then each pixel's channels are blended.
FOVEA_AVX512_FMA void row_avx512(const Task& t, std::int64_t row) {
  const reference::Nhwc& s = t.s;
  const std::int64_t n = row / s.h, h = row % s.h;
  const float* image = t.x + n * s.h * s.w * s.c;
  WarpTaps16 taps;
  for (std::int64_t w0 = 0; w0 < s.w; w0 += 16) {
    warp_taps16(t.flow + (row * s.w + w0) * 2, w0, h, s, taps);
    for (int i = 0; i < taps.count; ++i) {
      const float* p[4];
      const float w[4] = {taps.weights[0][i], taps.weights[1][i], taps.weights[2][i],
                          taps.weights[3][i]};
      const std::int64_t x = taps.xs[i], y = taps.ys[i];
      const bool all_inside = (taps.all >> i) & 1u;
      for (int k = 0; k < 4; ++k)
        p[k] = (taps.inside[k] >> i) & 1u ? image + ((y + k / 2) * s.w + x + k % 2) * s.c : nullptr;
      pixel_avx512(p, w, all_inside, s.c, t.y + (row * s.w + w0 + i) * s.c);
    }
  }
}

void run_row(const Task& t, std::int64_t row) {
  const reference::Nhwc& s = t.s;
  if (t.avx512) {
    row_avx512(t, row);
    return;
  }
  const std::int64_t n = row / s.h, h = row % s.h;
  for (std::int64_t w = 0; w < s.w; ++w) {
    const std::int64_t pixel = row * s.w + w;
    const Taps taps = taps_of(t, n, h, w, t.flow + pixel * 2);
    pixel_portable(taps, s.c, t.y + pixel * s.c);
  }
}

}  // namespace

void warp_f32(const float* x, reference::Nhwc shape, const float* flow, float* y,
              pthreadpool_t pool, Isa isa) {
  // The AVX-512 path works out tap positions in int32.
  const bool small = shape.n * shape.h * shape.w * shape.c < (std::int64_t{1} << 31) &&
                     shape.w < (1 << 30) && shape.h < (1 << 30);
  const Task task{x, shape, flow, y, use_avx512(isa) && small};
  for_each_row(pool, shape.n * shape.h, [&](std::int64_t row) { run_row(task, row); });
}

}  // namespace fovea::inference::flow
