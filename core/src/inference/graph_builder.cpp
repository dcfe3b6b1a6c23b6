#include "fovea/core/graph_builder.h"

#include "fovea/core/shape_inference.h"

namespace fovea {

int GraphBuilder::input(const std::string& name, DataType type, const Shape& shape,
                        Quantization q) {
  model_.graph.tensors.push_back({{name, type, shape, std::move(q)}, -1});
  const int index = static_cast<int>(model_.graph.tensors.size()) - 1;
  model_.graph.inputs.push_back(index);
  return index;
}

int GraphBuilder::constant(const std::string& name, DataType type, const Shape& shape,
                           std::span<const std::uint8_t> bytes, Quantization q, bool entropy_code) {
  const int blob = model_.add_constant(bytes, entropy_code);
  model_.graph.tensors.push_back({{name, type, shape, std::move(q)}, blob});
  return static_cast<int>(model_.graph.tensors.size()) - 1;
}

int GraphBuilder::constant_f32(const std::string& name, const Shape& shape,
                               std::span<const float> values) {
  return constant(name, DataType::kFloat32, shape,
                  {reinterpret_cast<const std::uint8_t*>(values.data()), values.size_bytes()});
}

Result<int> GraphBuilder::node(const std::string& name, OpType op, std::vector<int> inputs,
                               const OpAttributes& attributes, Quantization output_quantization) {
  GraphNode node{name, op, attributes, std::move(inputs), {}};
  for (int t : node.inputs)
    if (t < -1 || t >= static_cast<int>(model_.graph.tensors.size()))
      return Status(ErrorCode::kInvalidArgument, "node '" + name + "' reads an unknown tensor");
  auto out = infer_output(model_.graph, node);
  if (!out) return out.status();
  out->name = name;
  if (out->type == DataType::kInt8) out->quantization = std::move(output_quantization);
  model_.graph.tensors.push_back({*out, -1});
  node.outputs = {static_cast<int>(model_.graph.tensors.size()) - 1};
  model_.graph.nodes.push_back(std::move(node));
  return model_.graph.nodes.back().outputs[0];
}

}  // namespace fovea
