#pragma once
// Tensors whose values the importer knows: initializers, Constant nodes, and what shape
// arithmetic over them computes. They stay in ONNX's layout until an op turns them into fovea
// constants (conv weights reordered to OHWI, elementwise operands to NHWC).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fovea/core/status.h"
#include "onnx_proto.h"

namespace fovea::onnx_import {

struct ConstantTensor {
  std::vector<std::int64_t> dims;
  bool is_float = true;
  std::vector<float> f;         // is_float
  std::vector<std::int64_t> i;  // integer and boolean tensors

  std::int64_t elements() const;
  double at(std::size_t k) const { return is_float ? f[k] : static_cast<double>(i[k]); }
  std::vector<float> floats() const;
  std::vector<std::int64_t> ints() const;
};
using ConstantPtr = std::shared_ptr<const ConstantTensor>;

// Element count of `dims`, or -1 when a dimension is negative or the product passes 2^40.
std::int64_t checked_elements(const std::vector<std::int64_t>& dims);

// Decodes an initializer or attribute tensor; sizes are checked against the dims, so a
// truncated or hostile file is an error, never a read past the buffer. `what` names it.
Result<ConstantPtr> decode_tensor(const onnx::TensorProto& proto, const std::string& what);

}  // namespace fovea::onnx_import

namespace fovea::onnx_import {

// The tensor with its axes permuted: out.dims[j] = in.dims[perm[j]]. `perm` must be valid.
ConstantTensor transpose(const ConstantTensor& tensor, const std::vector<int>& perm);

}  // namespace fovea::onnx_import
