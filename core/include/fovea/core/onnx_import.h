#pragma once
// ONNX import: a float model exported from PyTorch (opsets 10 to 17) becomes a float fovea Model,
// ready for save_fvm or quantize_model.
//
// Layout. ONNX models from PyTorch are NCHW; fovea is NHWC throughout. Every rank-4 tensor of
// the ONNX graph becomes the NHWC tensor with the same values, and that includes the model's
// inputs and outputs: an ONNX input `image` [1, 3, 224, 224] is the fovea input `image`
// [1, 224, 224, 3], and a [1, 21, 56, 56] output comes back as [1, 56, 56, 21]. Tensors of other
// ranks keep their ONNX shape. The Model's metadata (description and provenance) spells out each
// input's and output's ONNX and fovea shapes. An ONNX output that is already NHWC (a Transpose
// with perm [0, 2, 3, 1] at the end of the graph) stays as it is.
//
// What it takes: Conv (2-D, groups, dilations, pads, auto_pad), BatchNormalization (folded into
// the conv or Gemm before it, else a per-channel Mul and Add), Relu and Clip (folded into the
// clamp of the Conv, Gemm or Add before them where they are its only reader), HardSigmoid (a Mul
// and an Add with a clamp, folded the same way), LeakyRelu, HardSwish, Sigmoid, Tanh, Add, Sub,
// Mul, Div (by a constant), Concat, Resize and Upsample (bilinear with half_pixel,
// pytorch_half_pixel or align_corners; nearest for whole upscaling factors), GlobalAveragePool,
// GlobalMaxPool, MaxPool, AveragePool (ceil_mode included), ReduceMean and ReduceMax over H and W
// (ReduceMean over C too), Gemm, MatMul by a constant, Softmax, Flatten, Reshape, Squeeze,
// Unsqueeze and Transpose where the NHWC data needs no reordering (a flatten of a feature map into
// Gemm or MatMul reorders the weights instead), Identity, Dropout, Constant, and the shape
// arithmetic PyTorch leaves in graphs (Shape, Gather, Slice, Concat, Cast, Floor, ... over
// constants), evaluated at import time since every shape is static. Shared constants exported as
// Identity nodes are simply the same constant.
//
// Anything else is an error naming the node, its op type and what is unsupported. A symbolic
// batch dimension is taken as 1; other symbolic dimensions are an error.

#include <cstdint>
#include <span>
#include <string>

#include "fovea/core/model.h"

namespace fovea {

// Reads and converts `path`. The Model's name is the file's stem.
Result<Model> import_onnx(const std::string& path);

// The same from the bytes of an ONNX file; `source` names it in errors and metadata.
Result<Model> import_onnx_bytes(std::span<const std::uint8_t> bytes,
                                const std::string& source = "<memory>");

}  // namespace fovea
