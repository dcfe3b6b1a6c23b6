#pragma once
// Plain C++ kernels for every op of the graph IR: the ground truth the optimized (XNNPACK)
// kernels are tested against, the FP32 path used for calibration, and the fallback for ops
// XNNPACK lacks. Layout is NHWC; convolution weights are [O, KH, KW, C / groups].
// Written for clarity and exactness, not speed.

#include <cstdint>
#include <span>

#include "fovea/core/model_graph.h"

namespace fovea::reference {

struct Nhwc {
  std::int64_t n = 1, h = 1, w = 1, c = 1;
  std::int64_t elements() const { return n * h * w * c; }
};

// Output height/width of a convolution or pooling window; 0 or less means the window does not
// fit the padded input.
std::int64_t conv_output_size(std::int64_t input, int kernel, int stride, int dilation,
                              int pad_before, int pad_after);

void conv2d_f32(const float* x, Nhwc x_shape, const float* weights, const float* bias,
                const OpAttributes& a, float* y, Nhwc y_shape);

// INT8 convolution as XNNPACK's qc8 computes it: activations asymmetric (scale, zero point),
// weights symmetric per output channel, int32 bias in units of x_scale * w_scale[o], and fp32
// requantization rounding half to even.
struct QuantizedConv {
  float x_scale = 1.0f;
  std::int32_t x_zero_point = 0;
  std::span<const float> w_scales;  // one per output channel (or one for all)
  float y_scale = 1.0f;
  std::int32_t y_zero_point = 0;
  std::int8_t y_min = -128, y_max = 127;
};
void conv2d_qs8(const std::int8_t* x, Nhwc x_shape, const std::int8_t* weights,
                const std::int32_t* bias, const OpAttributes& a, const QuantizedConv& q,
                std::int8_t* y, Nhwc y_shape);

// y[n, o] = bias[o] + sum_c x[n, c] * w[o, c], then the fused clamp.
void fully_connected_f32(const float* x, std::int64_t batch, std::int64_t in_channels,
                         const float* weights, const float* bias, std::int64_t out_channels,
                         float clamp_min, float clamp_max, float* y);

// Elementwise with NumPy broadcasting over up to kMaxRank dimensions.
enum class Binary { kAdd, kMultiply };
void binary_f32(Binary op, const float* a, const Shape& a_shape, const float* b,
                const Shape& b_shape, float clamp_min, float clamp_max, float* y,
                const Shape& y_shape);

void concat_f32(std::span<const float* const> inputs, std::span<const Shape> shapes, int axis,
                float* y);

void global_average_pool_f32(const float* x, Nhwc x_shape, float* y);
void global_max_pool_f32(const float* x, Nhwc x_shape, float* y);
// Padding cells are ignored (max) or excluded from the count (average), as ONNX's defaults.
void max_pool2d_f32(const float* x, Nhwc x_shape, const OpAttributes& a, float* y, Nhwc y_shape);
void average_pool2d_f32(const float* x, Nhwc x_shape, const OpAttributes& a, float* y,
                        Nhwc y_shape);

// Half-pixel centres (PyTorch align_corners=False) unless a.align_corners.
void resize_bilinear_f32(const float* x, Nhwc x_shape, bool align_corners, float* y, Nhwc y_shape);

enum class Unary { kSigmoid, kTanh, kHardSwish, kClamp };
void unary_f32(Unary op, const float* x, std::int64_t count, float clamp_min, float clamp_max,
               float* y);
// y = x where x >= 0, alpha * x elsewhere.
void leaky_relu_f32(const float* x, std::int64_t count, float alpha, float* y);
void softmax_f32(const float* x, std::int64_t rows, std::int64_t row_length, float* y);

void quantize_f32_to_s8(const float* x, std::int64_t count, float scale, std::int32_t zero_point,
                        std::int8_t* y);
void dequantize_s8_to_f32(const std::int8_t* x, std::int64_t count, float scale,
                          std::int32_t zero_point, float* y);

// Local cost volume: y[n, h, w, d] = mean_c a[n, h, w, c] * b[n, h + dy, w + dx, c] for the
// (2 r + 1)^2 displacements d = (dy + r) * (2 r + 1) + (dx + r), zero outside b.
void correlation_f32(const float* a, const float* b, Nhwc shape, int max_displacement, float* y);

// INT8 Correlation, a and b each with one scale and zero point. With S the exact integer sum
// over c of (qa - za) * (qb - zb), S = 0 where the displaced pixel leaves b, and
//   m = float(double(a_scale) * b_scale / (double(C) * y_scale)),
//   y = clamp(int(nearbyintf(clamp(float(S) * m, -2^30, 2^30))) + zy, -128, 127),
// rounding half to even. float(S) is exact while |S| <= C * 255^2 < 2^24, that is for
// C <= kMaxQuantizedCorrelationChannels; the node kernel rejects wider inputs. The product is
// the float one of the formula (no fused multiply-add), so vectorised kernels can equal it.
struct QuantizedCorrelation {
  float a_scale = 1.0f;
  std::int32_t a_zero_point = 0;
  float b_scale = 1.0f;
  std::int32_t b_zero_point = 0;
  float y_scale = 1.0f;
  std::int32_t y_zero_point = 0;
};
inline constexpr std::int64_t kMaxQuantizedCorrelationChannels = 258;
// The m of the formula above.
float correlation_qs8_multiplier(const QuantizedCorrelation& q, std::int64_t channels);
// The y of the formula above for one exact sum S (|S| < 2^24).
std::int8_t correlation_qs8_requantize(std::int32_t sum, float multiplier,
                                       std::int32_t y_zero_point);
void correlation_qs8(const std::int8_t* a, const std::int8_t* b, Nhwc shape, int max_displacement,
                     const QuantizedCorrelation& q, std::int8_t* y);

// y[n, h, w] = x sampled bilinearly at (w + flow_x, h + flow_y); zero outside x.
void warp_f32(const float* x, Nhwc x_shape, const float* flow, float* y);
// INT8 Warp: the same sampling of an INT8 map (zero point z, the output keeps x's scale and
// zero point), in float: with ax, ay the flow's fractions (flow - floor(flow)) and the taps'
// weights w = ((1-ax)(1-ay), ax(1-ay), (1-ax)ay, ax*ay), v = (((0 + w0 d0) + w1 d1) + w2 d2) +
// w3 d3 over the taps inside x (outside is real zero: skipped; a non-finite flow has none),
// d = q - z, y = clamp(nearbyint(v) + z). The weights sum to 1, so v stays within x's range:
// no requantization.
void warp_qs8(const std::int8_t* x, Nhwc x_shape, const float* flow, std::int32_t zero_point,
              std::int8_t* y);

// Dense [1, H, W, C] grid from P sparse feature rows and their integer (row, column) cells;
// cells hit twice keep the later row, cells never hit stay zero. Coordinates outside the grid
// are skipped.
void scatter_to_grid_f32(const float* features, const std::int32_t* coordinates,
                         std::int64_t points, std::int64_t channels, std::int64_t height,
                         std::int64_t width, float* y);

}  // namespace fovea::reference
