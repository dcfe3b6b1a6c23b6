#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/reference_kernels.h"

namespace fovea::reference {
namespace {

// Index into a broadcast operand: dimensions of size 1 repeat, missing leading ones too.
std::int64_t broadcast_index(const Shape& operand, const Shape& out,
                             const std::array<std::int64_t, kMaxRank>& position) {
  std::int64_t index = 0;
  const int offset = out.rank - operand.rank;
  for (int d = 0; d < operand.rank; ++d) {
    const std::int64_t size = operand[d];
    const std::int64_t coordinate = size == 1 ? 0 : position[static_cast<size_t>(d + offset)];
    index = index * size + coordinate;
  }
  return index;
}

}  // namespace

void binary_f32(Binary op, const float* a, const Shape& a_shape, const float* b,
                const Shape& b_shape, float clamp_min, float clamp_max, float* y,
                const Shape& y_shape) {
  std::array<std::int64_t, kMaxRank> position{};
  const std::int64_t count = y_shape.elements();
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t rest = i;
    for (int d = y_shape.rank - 1; d >= 0; --d) {
      position[static_cast<size_t>(d)] = rest % y_shape[d];
      rest /= y_shape[d];
    }
    const float lhs = a[broadcast_index(a_shape, y_shape, position)];
    const float rhs = b[broadcast_index(b_shape, y_shape, position)];
    const float value = op == Binary::kAdd ? lhs + rhs : lhs * rhs;
    y[i] = std::clamp(value, clamp_min, clamp_max);
  }
}

void concat_f32(std::span<const float* const> inputs, std::span<const Shape> shapes, int axis,
                float* y) {
  // Treat every input as [outer, axis_size * inner] and interleave the rows.
  const Shape& first = shapes[0];
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= first[d];
  for (int d = axis + 1; d < first.rank; ++d) inner *= first[d];
  std::int64_t out_row = 0;
  for (const Shape& s : shapes) out_row += s[axis] * inner;
  std::int64_t column = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::int64_t row = shapes[i][axis] * inner;
    for (std::int64_t o = 0; o < outer; ++o)
      std::copy_n(inputs[i] + o * row, row, y + o * out_row + column);
    column += row;
  }
}

void unary_f32(Unary op, const float* x, std::int64_t count, float clamp_min, float clamp_max,
               float* y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const float v = x[i];
    switch (op) {
      case Unary::kSigmoid:
        y[i] = 1.0f / (1.0f + std::exp(-v));
        break;
      case Unary::kTanh:
        y[i] = std::tanh(v);
        break;
      case Unary::kHardSwish:
        y[i] = v * std::clamp(v + 3.0f, 0.0f, 6.0f) / 6.0f;
        break;
      case Unary::kClamp:
        y[i] = std::clamp(v, clamp_min, clamp_max);
        break;
    }
  }
}

void leaky_relu_f32(const float* x, std::int64_t count, float alpha, float* y) {
  for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] >= 0.0f ? x[i] : alpha * x[i];
}

void softmax_f32(const float* x, std::int64_t rows, std::int64_t row_length, float* y) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * row_length;
    float* out = y + r * row_length;
    const float largest = *std::max_element(in, in + row_length);
    double sum = 0.0;
    for (std::int64_t i = 0; i < row_length; ++i) sum += std::exp(double(in[i]) - largest);
    for (std::int64_t i = 0; i < row_length; ++i)
      out[i] = static_cast<float>(std::exp(double(in[i]) - largest) / sum);
  }
}

void quantize_f32_to_s8(const float* x, std::int64_t count, float scale, std::int32_t zero_point,
                        std::int8_t* y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const float q = std::nearbyint(x[i] / scale) + static_cast<float>(zero_point);
    y[i] = static_cast<std::int8_t>(std::clamp(q, -128.0f, 127.0f));
  }
}

void dequantize_s8_to_f32(const std::int8_t* x, std::int64_t count, float scale,
                          std::int32_t zero_point, float* y) {
  for (std::int64_t i = 0; i < count; ++i)
    y[i] = scale * static_cast<float>(std::int32_t{x[i]} - zero_point);
}

}  // namespace fovea::reference
