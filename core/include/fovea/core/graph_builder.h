#pragma once
// Builds a Model node by node, declaring each output with the shape and type its op makes
// (shape_inference.h): how importers, the quantizer and tests write graphs.

#include <span>
#include <string>
#include <vector>

#include "fovea/core/model.h"

namespace fovea {

class GraphBuilder {
 public:
  explicit GraphBuilder(Model& model) : model_(model) {}

  int input(const std::string& name, DataType type, const Shape& shape, Quantization q = {});
  int constant(const std::string& name, DataType type, const Shape& shape,
               std::span<const std::uint8_t> bytes, Quantization q = {}, bool entropy_code = false);
  int constant_f32(const std::string& name, const Shape& shape, std::span<const float> values);
  // Adds the node and its output; an int8 output takes `output_quantization`.
  Result<int> node(const std::string& name, OpType op, std::vector<int> inputs,
                   const OpAttributes& attributes = {}, Quantization output_quantization = {});
  void output(int tensor) { model_.graph.outputs.push_back(tensor); }

 private:
  Model& model_;
};

}  // namespace fovea
