#pragma once
// The activation tiles the VNNI GEMM (vnni_gemm.h) reads: `rows` output pixels, each a row of
// K unsigned bytes (the int8 inputs XOR 0x80, which vpdpbusd needs) padded to lda bytes. Where
// the inputs come from is the loader's business: a 1x1 convolution's pixels are rows of its
// input; a dense convolution's are patches gathered from its windows (im2col, one tile at a
// time, so no buffer the size of the image is ever made).

#include <cstdint>

#include "vnni_requantize.h"

namespace fovea::inference::vnni {

// Writes the tile rows of output pixels [p, p + rows) from `source`. lda is a multiple of 64
// and at least K rounded up to 64; a loader may write all of it.
using TileLoader = void (*)(const void* source, std::int64_t p, std::int64_t rows, std::int64_t lda,
                            std::uint8_t* tile);

// A 1x1 convolution or fully connected layer: pixel p is row p of x [P, K].
struct PixelRows {
  const std::int8_t* x = nullptr;
  std::int64_t k = 0;
};
void load_pixel_rows(const void* pixel_rows, std::int64_t p, std::int64_t rows, std::int64_t lda,
                     std::uint8_t* tile);

// A dense convolution (one group, dilation 1) over an NHWC input: pixel p = (n, oy, ox) reads
// the window's KH x KW x C inputs in the weights' [KH, KW, C] order; taps in the padding read
// the input zero point, which adds (x_zp - x_zp) * w = 0 as in the reference.
inline constexpr int kMaxKernel = 7;  // kernel_h and kernel_w of a DenseConvShape
struct DenseConvShape {
  std::int64_t n = 1, h = 1, w = 1, c = 1;
  std::int64_t oh = 1, ow = 1;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
};
struct Patches {
  const DenseConvShape* shape = nullptr;
  const std::int8_t* x = nullptr;
  std::int32_t zero_point = 0;
};
void load_patches(const void* patches, std::int64_t p, std::int64_t rows, std::int64_t lda,
                  std::uint8_t* tile);

}  // namespace fovea::inference::vnni
