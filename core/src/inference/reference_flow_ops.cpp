// Ops that optical flow and LiDAR models need and XNNPACK does not have.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fovea/core/reference_kernels.h"

namespace fovea::reference {

void correlation_f32(const float* a, const float* b, Nhwc s, int max_displacement, float* y) {
  const int r = max_displacement;
  const std::int64_t side = 2 * r + 1;
  const std::int64_t depth = side * side;
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t h = 0; h < s.h; ++h)
      for (std::int64_t w = 0; w < s.w; ++w) {
        const float* fa = a + ((n * s.h + h) * s.w + w) * s.c;
        float* out = y + ((n * s.h + h) * s.w + w) * depth;
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx) {
            const std::int64_t hh = h + dy, ww = w + dx;
            double sum = 0.0;
            if (hh >= 0 && hh < s.h && ww >= 0 && ww < s.w) {
              const float* fb = b + ((n * s.h + hh) * s.w + ww) * s.c;
              for (std::int64_t c = 0; c < s.c; ++c) sum += double(fa[c]) * double(fb[c]);
            }
            out[(dy + r) * side + (dx + r)] = static_cast<float>(sum / double(s.c));
          }
      }
}

float correlation_qs8_multiplier(const QuantizedCorrelation& q, std::int64_t channels) {
  return static_cast<float>(double(q.a_scale) * q.b_scale / (double(channels) * q.y_scale));
}

std::int8_t correlation_qs8_requantize(std::int32_t sum, float multiplier,
                                       std::int32_t y_zero_point) {
  const float scaled = std::clamp(static_cast<float>(sum) * multiplier, -0x1p30f, 0x1p30f);
  return static_cast<std::int8_t>(
      std::clamp(std::int64_t{static_cast<std::int32_t>(std::nearbyint(scaled))} + y_zero_point,
                 std::int64_t{-128}, std::int64_t{127}));
}

void correlation_qs8(const std::int8_t* a, const std::int8_t* b, Nhwc s, int max_displacement,
                     const QuantizedCorrelation& q, std::int8_t* y) {
  const int r = max_displacement;
  const std::int64_t side = 2 * r + 1;
  const std::int64_t depth = side * side;
  const float m = correlation_qs8_multiplier(q, s.c);
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t h = 0; h < s.h; ++h)
      for (std::int64_t w = 0; w < s.w; ++w) {
        const std::int8_t* qa = a + ((n * s.h + h) * s.w + w) * s.c;
        std::int8_t* out = y + ((n * s.h + h) * s.w + w) * depth;
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx) {
            const std::int64_t hh = h + dy, ww = w + dx;
            std::int64_t sum = 0;
            if (hh >= 0 && hh < s.h && ww >= 0 && ww < s.w) {
              const std::int8_t* qb = b + ((n * s.h + hh) * s.w + ww) * s.c;
              for (std::int64_t c = 0; c < s.c; ++c)
                sum += std::int64_t{qa[c] - q.a_zero_point} * (qb[c] - q.b_zero_point);
            }
            out[(dy + r) * side + (dx + r)] =
                correlation_qs8_requantize(static_cast<std::int32_t>(sum), m, q.y_zero_point);
          }
      }
}

void warp_f32(const float* x, Nhwc s, const float* flow, float* y) {
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t h = 0; h < s.h; ++h)
      for (std::int64_t w = 0; w < s.w; ++w) {
        const float* f = flow + ((n * s.h + h) * s.w + w) * 2;
        const double sx = double(w) + f[0], sy = double(h) + f[1];
        const double fx0 = std::floor(sx), fy0 = std::floor(sy);
        const auto x0 = static_cast<std::int64_t>(fx0), y0 = static_cast<std::int64_t>(fy0);
        const double ax = sx - fx0, ay = sy - fy0;
        float* out = y + ((n * s.h + h) * s.w + w) * s.c;
        for (std::int64_t c = 0; c < s.c; ++c) {
          auto at = [&](std::int64_t yy, std::int64_t xx) -> double {
            if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) return 0.0;
            return x[((n * s.h + yy) * s.w + xx) * s.c + c];
          };
          const double value = at(y0, x0) * (1 - ax) * (1 - ay) + at(y0, x0 + 1) * ax * (1 - ay) +
                               at(y0 + 1, x0) * (1 - ax) * ay + at(y0 + 1, x0 + 1) * ax * ay;
          out[c] = static_cast<float>(value);
        }
      }
}

void warp_qs8(const std::int8_t* x, Nhwc s, const float* flow, std::int32_t zero_point,
              std::int8_t* y) {
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t h = 0; h < s.h; ++h)
      for (std::int64_t w = 0; w < s.w; ++w) {
        const float* f = flow + ((n * s.h + h) * s.w + w) * 2;
        const float fx = std::floor(f[0]), fy = std::floor(f[1]);
        const float ax = f[0] - fx, ay = f[1] - fy;
        const float weight[4] = {(1.0f - ax) * (1.0f - ay), ax * (1.0f - ay), (1.0f - ax) * ay,
                                 ax * ay};
        std::int8_t* out = y + ((n * s.h + h) * s.w + w) * s.c;
        for (std::int64_t c = 0; c < s.c; ++c) {
          float v = 0.0f;
          for (int i = 0; i < 4; ++i) {
            // Far-off or non-finite flow: every tap is outside, and outside taps add nothing.
            const double yy = double(h) + double(fy) + i / 2, xx = double(w) + double(fx) + i % 2;
            if (yy >= 0 && yy < double(s.h) && xx >= 0 && xx < double(s.w))
              v = v +
                  weight[i] *
                      (float(x[((n * s.h + std::int64_t(yy)) * s.w + std::int64_t(xx)) * s.c + c]) -
                       float(zero_point));
          }
          out[c] = static_cast<std::int8_t>(
              std::clamp(std::nearbyint(v) + float(zero_point), -128.0f, 127.0f));
        }
      }
}

void scatter_to_grid_f32(const float* features, const std::int32_t* coordinates,
                         std::int64_t points, std::int64_t channels, std::int64_t height,
                         std::int64_t width, float* y) {
  std::memset(y, 0, static_cast<size_t>(height * width * channels) * sizeof(float));
  for (std::int64_t p = 0; p < points; ++p) {
    const std::int64_t row = coordinates[p * 2], column = coordinates[p * 2 + 1];
    if (row < 0 || row >= height || column < 0 || column >= width) continue;
    std::memcpy(y + (row * width + column) * channels, features + p * channels,
                static_cast<size_t>(channels) * sizeof(float));
  }
}

}  // namespace fovea::reference
