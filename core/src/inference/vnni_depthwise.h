#pragma once
// INT8 depthwise 3x3 convolution (channel multiplier 1, any stride and padding, dilation 1) on
// AVX-512: 16 channels per zmm in int32, one vpdpwssd per tap. It reads the input tensor
// directly, with no indirection buffer: taps that fall in the padding read a packed row of the
// input zero point instead, which contributes (x_zp - x_zp) * w = 0 exactly as the reference
// skips them. The bias is packed with -x_zp * sum(w) folded in, so taps multiply raw inputs.

#include <cstddef>
#include <cstdint>
#include <span>

#include "vnni_requantize.h"

namespace fovea::inference::vnni {

struct DepthwiseShape {
  std::int64_t n = 1, h = 1, w = 1, c = 1;  // input (and output channels)
  std::int64_t oh = 1, ow = 1;
  int stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
};

class DepthwiseLayout {
 public:
  static constexpr int kTaps = 9;

  DepthwiseLayout() = default;
  explicit DepthwiseLayout(const DepthwiseShape& shape) : shape_(shape) {}

  const DepthwiseShape& shape() const { return shape_; }
  std::size_t packed_bytes() const;

  // Fills `packed` (packed_bytes(), 64-byte aligned) from weights [C, 3, 3, 1], an optional
  // bias [C] (int32 bytes, any alignment) and one scale per channel (x_scale * w_scale[c] /
  // y_scale).
  void pack(const std::int8_t* weights, const std::uint8_t* bias, std::span<const float> scales,
            std::int32_t x_zero_point, void* packed) const;

  // Output rows [row0, row1) counted over all images (row = image * oh + oy).
  void run(const void* packed, const std::int8_t* x, std::int8_t* y, std::int64_t row0,
           std::int64_t row1, const OutputParams& output) const;

 private:
  std::int64_t blocks() const { return (shape_.c + 15) / 16; }

  DepthwiseShape shape_;
};

}  // namespace fovea::inference::vnni
