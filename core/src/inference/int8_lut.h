#pragma once
// INT8 element-wise ops by table: a unary function of one INT8 tensor into another has only 256
// possible inputs, so it is a 256-entry table of outputs, made once from the float function and
// both tensors' quantization. That serves the ops XNNPACK has no qs8 kernel for (LeakyReLU,
// HardSwish), exactly: each entry is the reference's dequantize -> f -> quantize of its input.

#include <pthreadpool.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "flow_isa.h"
#include "fovea/core/reference_kernels.h"

namespace fovea::inference {

struct Int8Lut {
  // entry[u] is the output for the input byte u, i.e. for the int8 value int8_t(u).
  std::array<std::int8_t, 256> entry{};
};

struct Int8Affine {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

// The table of y = f(x) from x's quantization to y's, with y saturated to [lo, hi].
template <class F>
Int8Lut make_int8_lut(const F& f, Int8Affine x, Int8Affine y, int lo = -128, int hi = 127);

// y[i] = lut.entry[uint8(x[i])] for i in [0, count), in blocks over the pool. AVX-512 VBMI
// (two 128-entry byte permutes per 64 inputs) where the CPU has it and `isa` allows; plain C++
// otherwise. x and y may be the same buffer.
void apply_int8_lut(const Int8Lut& lut, const std::int8_t* x, std::int8_t* y, std::int64_t count,
                    pthreadpool_t pool, flow::Isa isa = flow::Isa::kBest);

// Whether apply_int8_lut takes the VBMI path for `isa` on this CPU.
bool int8_lut_uses_vbmi(flow::Isa isa);

template <class F>
Int8Lut make_int8_lut(const F& f, Int8Affine x, Int8Affine y, int lo, int hi) {
  // The reference kernels' own conversions, so an entry is what the reference computes.
  Int8Lut lut;
  for (int v = -128; v <= 127; ++v) {
    const auto in = static_cast<std::int8_t>(v);
    float real = 0.0f;
    reference::dequantize_s8_to_f32(&in, 1, x.scale, x.zero_point, &real);
    const float result = f(real);
    std::int8_t out = 0;
    reference::quantize_f32_to_s8(&result, 1, y.scale, y.zero_point, &out);
    lut.entry[static_cast<std::uint8_t>(v)] =
        static_cast<std::int8_t>(std::clamp<int>(out, lo, hi));
  }
  return lut;
}

}  // namespace fovea::inference
