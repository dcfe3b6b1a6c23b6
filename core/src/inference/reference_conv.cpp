#include <algorithm>
#include <cmath>

#include "fovea/core/reference_kernels.h"

namespace fovea::reference {

std::int64_t conv_output_size(std::int64_t input, int kernel, int stride, int dilation,
                              int pad_before, int pad_after) {
  const std::int64_t effective_kernel = std::int64_t{dilation} * (kernel - 1) + 1;
  const std::int64_t padded = input + pad_before + pad_after;
  if (stride <= 0 || padded < effective_kernel) return 0;
  return (padded - effective_kernel) / stride + 1;
}

namespace {

// Visits every (output pixel, output channel) with the list of in-bounds taps, so float and
// integer kernels share one indexing scheme.
template <typename Visit>
void for_each_output(Nhwc x, const OpAttributes& a, Nhwc y, Visit&& visit) {
  const std::int64_t group_in = x.c / a.groups;
  const std::int64_t group_out = y.c / a.groups;
  for (std::int64_t n = 0; n < y.n; ++n)
    for (std::int64_t oy = 0; oy < y.h; ++oy)
      for (std::int64_t ox = 0; ox < y.w; ++ox)
        for (std::int64_t o = 0; o < y.c; ++o) {
          const std::int64_t g = o / group_out;
          visit(n, oy, ox, o, [&](auto&& tap) {
            for (int ky = 0; ky < a.kernel_h; ++ky) {
              const std::int64_t iy = oy * a.stride_h - a.pad_top + std::int64_t{ky} * a.dilation_h;
              if (iy < 0 || iy >= x.h) continue;
              for (int kx = 0; kx < a.kernel_w; ++kx) {
                const std::int64_t ix =
                    ox * a.stride_w - a.pad_left + std::int64_t{kx} * a.dilation_w;
                if (ix < 0 || ix >= x.w) continue;
                for (std::int64_t ci = 0; ci < group_in; ++ci) {
                  const std::int64_t x_index =
                      ((n * x.h + iy) * x.w + ix) * x.c + g * group_in + ci;
                  const std::int64_t w_index =
                      ((o * a.kernel_h + ky) * a.kernel_w + kx) * group_in + ci;
                  tap(x_index, w_index);
                }
              }
            }
          });
        }
}

}  // namespace

void conv2d_f32(const float* x, Nhwc x_shape, const float* weights, const float* bias,
                const OpAttributes& a, float* y, Nhwc y_shape) {
  for_each_output(x_shape, a, y_shape, [&](auto n, auto oy, auto ox, auto o, auto&& taps) {
    double sum = bias ? bias[o] : 0.0;
    taps([&](std::int64_t xi, std::int64_t wi) { sum += double(x[xi]) * double(weights[wi]); });
    const float value = std::clamp(static_cast<float>(sum), a.clamp_min, a.clamp_max);
    y[((n * y_shape.h + oy) * y_shape.w + ox) * y_shape.c + o] = value;
  });
}

void conv2d_qs8(const std::int8_t* x, Nhwc x_shape, const std::int8_t* weights,
                const std::int32_t* bias, const OpAttributes& a, const QuantizedConv& q,
                std::int8_t* y, Nhwc y_shape) {
  for_each_output(x_shape, a, y_shape, [&](auto n, auto oy, auto ox, auto o, auto&& taps) {
    std::int32_t acc = bias ? bias[o] : 0;
    taps([&](std::int64_t xi, std::int64_t wi) {
      acc += (std::int32_t{x[xi]} - q.x_zero_point) * std::int32_t{weights[wi]};
    });
    const float w_scale = q.w_scales.size() == 1 ? q.w_scales[0] : q.w_scales[o];
    // XNNPACK's fp32 requantization: one float scale, clamp in the float domain, round half
    // to even, add the zero point.
    const float scale = q.x_scale * w_scale / q.y_scale;
    float scaled = static_cast<float>(acc) * scale;
    scaled = std::clamp(scaled, float(q.y_min - q.y_zero_point), float(q.y_max - q.y_zero_point));
    const auto value = static_cast<std::int32_t>(std::nearbyint(scaled)) + q.y_zero_point;
    y[((n * y_shape.h + oy) * y_shape.w + ox) * y_shape.c + o] = static_cast<std::int8_t>(value);
  });
}

void fully_connected_f32(const float* x, std::int64_t batch, std::int64_t in_channels,
                         const float* weights, const float* bias, std::int64_t out_channels,
                         float clamp_min, float clamp_max, float* y) {
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t o = 0; o < out_channels; ++o) {
      double sum = bias ? bias[o] : 0.0;
      for (std::int64_t c = 0; c < in_channels; ++c)
        sum += double(x[n * in_channels + c]) * double(weights[o * in_channels + c]);
      y[n * out_channels + o] = std::clamp(static_cast<float>(sum), clamp_min, clamp_max);
    }
}

}  // namespace fovea::reference
