#pragma once
// The fovea graph while an ONNX model is converted into it: a ModelGraph whose constants are
// plain float vectors the importer can still rewrite. Folding BatchNormalization, per-channel
// scales and activations into the convolution before them happens here, on fovea ops, so it
// works the same whatever ONNX pattern produced them. finish() drops what no output needs
// and returns the Model.

#include <set>
#include <string>
#include <vector>

#include "fovea/core/model.h"

namespace fovea::onnx_import {

class DraftGraph {
 public:
  const TensorInfo& info(int tensor) const {
    return graph_.tensors[static_cast<size_t>(tensor)].info;
  }
  const std::vector<int>& inputs() const { return graph_.inputs; }
  bool is_constant(int tensor) const {
    return graph_.tensors[static_cast<size_t>(tensor)].constant >= 0;
  }

  int add_input(const std::string& name, const Shape& shape);
  int add_constant(const std::string& name, const Shape& shape, std::vector<float> values);
  // Declares the output by shape inference; an error names the node and what does not fit.
  Result<int> add_node(const std::string& node_name, OpType op, std::vector<int> inputs,
                       const OpAttributes& attributes, const std::string& output_name);
  // Marks `tensor` as a graph output called `name`.
  void add_output(int tensor, const std::string& name);

  // Folds Multiply and Add by per-channel constants into the Conv2d or FullyConnected before
  // them (BatchNormalization, HardSigmoid's affine part, a MatMul's bias), then Clamp into the
  // Conv2d, FullyConnected or Add before it, wherever the folded tensor has no other reader.
  void fold();

  Result<Model> finish(ModelMetadata metadata) const;

 private:
  int clone_constant(int tensor);
  ModelGraph graph_;
  std::vector<std::vector<float>> constants_;  // by GraphTensor::constant
  std::set<std::string> node_names_;
};

}  // namespace fovea::onnx_import
