#include <algorithm>
#include <cmath>
#include <limits>

#include "fovea/core/reference_kernels.h"

namespace fovea::reference {

void global_average_pool_f32(const float* x, Nhwc s, float* y) {
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t c = 0; c < s.c; ++c) {
      double sum = 0.0;
      for (std::int64_t p = 0; p < s.h * s.w; ++p) sum += x[(n * s.h * s.w + p) * s.c + c];
      y[n * s.c + c] = static_cast<float>(sum / double(s.h * s.w));
    }
}

void global_max_pool_f32(const float* x, Nhwc s, float* y) {
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t c = 0; c < s.c; ++c) {
      float best = -std::numeric_limits<float>::infinity();
      for (std::int64_t p = 0; p < s.h * s.w; ++p)
        best = std::max(best, x[(n * s.h * s.w + p) * s.c + c]);
      y[n * s.c + c] = best;
    }
}

namespace {

template <typename Reduce>
void pool2d(const float* x, Nhwc xs, const OpAttributes& a, float* y, Nhwc ys, Reduce&& reduce) {
  for (std::int64_t n = 0; n < ys.n; ++n)
    for (std::int64_t oy = 0; oy < ys.h; ++oy)
      for (std::int64_t ox = 0; ox < ys.w; ++ox)
        for (std::int64_t c = 0; c < ys.c; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          double sum = 0.0;
          int count = 0;
          for (int ky = 0; ky < a.kernel_h; ++ky) {
            const std::int64_t iy = oy * a.stride_h - a.pad_top + std::int64_t{ky} * a.dilation_h;
            if (iy < 0 || iy >= xs.h) continue;
            for (int kx = 0; kx < a.kernel_w; ++kx) {
              const std::int64_t ix =
                  ox * a.stride_w - a.pad_left + std::int64_t{kx} * a.dilation_w;
              if (ix < 0 || ix >= xs.w) continue;
              const float v = x[((n * xs.h + iy) * xs.w + ix) * xs.c + c];
              best = std::max(best, v);
              sum += v;
              ++count;
            }
          }
          const float value = reduce(best, sum, count);
          y[((n * ys.h + oy) * ys.w + ox) * ys.c + c] = std::clamp(value, a.clamp_min, a.clamp_max);
        }
}

}  // namespace

void max_pool2d_f32(const float* x, Nhwc xs, const OpAttributes& a, float* y, Nhwc ys) {
  pool2d(x, xs, a, y, ys, [](float best, double, int) { return best; });
}

void average_pool2d_f32(const float* x, Nhwc xs, const OpAttributes& a, float* y, Nhwc ys) {
  pool2d(x, xs, a, y, ys, [](float, double sum, int count) {
    return count > 0 ? static_cast<float>(sum / count) : 0.0f;
  });
}

void resize_bilinear_f32(const float* x, Nhwc xs, bool align_corners, float* y, Nhwc ys) {
  auto source = [&](std::int64_t out, std::int64_t in_size, std::int64_t out_size) {
    if (align_corners)
      return out_size > 1 ? double(out) * double(in_size - 1) / double(out_size - 1) : 0.0;
    const double s = (double(out) + 0.5) * double(in_size) / double(out_size) - 0.5;
    return std::max(s, 0.0);
  };
  for (std::int64_t n = 0; n < ys.n; ++n)
    for (std::int64_t oy = 0; oy < ys.h; ++oy) {
      const double sy = source(oy, xs.h, ys.h);
      const auto y0 = std::min<std::int64_t>(static_cast<std::int64_t>(sy), xs.h - 1);
      const std::int64_t y1 = std::min(y0 + 1, xs.h - 1);
      const double fy = sy - double(y0);
      for (std::int64_t ox = 0; ox < ys.w; ++ox) {
        const double sx = source(ox, xs.w, ys.w);
        const auto x0 = std::min<std::int64_t>(static_cast<std::int64_t>(sx), xs.w - 1);
        const std::int64_t x1 = std::min(x0 + 1, xs.w - 1);
        const double fx = sx - double(x0);
        for (std::int64_t c = 0; c < ys.c; ++c) {
          auto at = [&](std::int64_t yy, std::int64_t xx) {
            return double(x[((n * xs.h + yy) * xs.w + xx) * xs.c + c]);
          };
          const double top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
          const double bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
          y[((n * ys.h + oy) * ys.w + ox) * ys.c + c] =
              static_cast<float>(top * (1 - fy) + bottom * fy);
        }
      }
    }
}

}  // namespace fovea::reference
