#include "fovea/core/model_graph.h"

#include <string>

#include "fovea/core/shape_inference.h"

namespace fovea {
namespace {

Status graph_error(const std::string& message) {
  return Status(ErrorCode::kCorruptData, "model graph: " + message);
}

}  // namespace

const char* op_type_name(OpType op) noexcept {
  switch (op) {
    case OpType::kConv2d:
      return "Conv2d";
    case OpType::kFullyConnected:
      return "FullyConnected";
    case OpType::kAdd:
      return "Add";
    case OpType::kMultiply:
      return "Multiply";
    case OpType::kConcat:
      return "Concat";
    case OpType::kGlobalAveragePool:
      return "GlobalAveragePool";
    case OpType::kGlobalMaxPool:
      return "GlobalMaxPool";
    case OpType::kMaxPool2d:
      return "MaxPool2d";
    case OpType::kAveragePool2d:
      return "AveragePool2d";
    case OpType::kResizeBilinear:
      return "ResizeBilinear";
    case OpType::kSigmoid:
      return "Sigmoid";
    case OpType::kTanh:
      return "Tanh";
    case OpType::kClamp:
      return "Clamp";
    case OpType::kHardSwish:
      return "HardSwish";
    case OpType::kSoftmax:
      return "Softmax";
    case OpType::kReshape:
      return "Reshape";
    case OpType::kQuantize:
      return "Quantize";
    case OpType::kDequantize:
      return "Dequantize";
    case OpType::kCorrelation:
      return "Correlation";
    case OpType::kWarp:
      return "Warp";
    case OpType::kScatterToGrid:
      return "ScatterToGrid";
    case OpType::kLeakyRelu:
      return "LeakyRelu";
  }
  return "invalid";
}

Result<std::vector<int>> ModelGraph::topological_order() const {
  const int tensor_count = static_cast<int>(tensors.size());
  std::vector<int> producer(tensors.size(), -1);
  for (int n = 0; n < static_cast<int>(nodes.size()); ++n)
    for (int t : nodes[static_cast<size_t>(n)].outputs)
      if (t >= 0 && t < tensor_count) producer[static_cast<size_t>(t)] = n;

  // Kahn's algorithm over node -> node edges through tensors.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> consumers(nodes.size());
  for (int n = 0; n < static_cast<int>(nodes.size()); ++n) {
    for (int t : nodes[static_cast<size_t>(n)].inputs) {
      if (t < 0 || t >= tensor_count) continue;
      const int from = producer[static_cast<size_t>(t)];
      if (from < 0) continue;
      consumers[static_cast<size_t>(from)].push_back(n);
      ++pending[static_cast<size_t>(n)];
    }
  }
  std::vector<int> order;
  order.reserve(nodes.size());
  for (int n = 0; n < static_cast<int>(nodes.size()); ++n)
    if (pending[static_cast<size_t>(n)] == 0) order.push_back(n);
  for (size_t next = 0; next < order.size(); ++next)
    for (int consumer : consumers[static_cast<size_t>(order[next])])
      if (--pending[static_cast<size_t>(consumer)] == 0) order.push_back(consumer);
  if (order.size() != nodes.size()) {
    for (size_t n = 0; n < nodes.size(); ++n)
      if (pending[n] > 0)
        return graph_error("node '" + nodes[n].name + "' (" + op_type_name(nodes[n].op) +
                           ") is on a cycle");
  }
  return order;
}

Status ModelGraph::validate() const {
  const int tensor_count = static_cast<int>(tensors.size());
  for (int t = 0; t < tensor_count; ++t) {
    const TensorInfo& info = tensors[static_cast<size_t>(t)].info;
    if (info.shape.rank < 0 || info.shape.rank > kMaxRank || info.byte_size() < 0)
      return graph_error("tensor '" + info.name + "' has an invalid shape " +
                         info.shape.to_string());
    const Quantization& q = info.quantization;
    if (q.is_per_channel()) {
      if (q.channel_axis < 0 || q.channel_axis >= info.shape.rank ||
          static_cast<std::int64_t>(q.scales.size()) != info.shape[q.channel_axis])
        return graph_error("tensor '" + info.name + "' has " + std::to_string(q.scales.size()) +
                           " scales that do not match its channel axis");
    }
    for (float scale : q.scales)
      if (!(scale > 0.0f) || scale > 1e30f)
        return graph_error("tensor '" + info.name + "' has a non-positive or absurd scale");
  }
  std::vector<int> producers(tensors.size(), 0);
  for (const GraphNode& node : nodes) {
    if (static_cast<std::uint16_t>(node.op) < 1 ||
        static_cast<std::uint16_t>(node.op) > kLastOpType)
      return graph_error("node '" + node.name + "' has an unknown op type " +
                         std::to_string(static_cast<int>(node.op)));
    if (node.outputs.empty()) return graph_error("node '" + node.name + "' has no outputs");
    for (int t : node.inputs)
      if (t < -1 || t >= tensor_count)
        return graph_error("node '" + node.name + "' reads tensor " + std::to_string(t) +
                           ", past the " + std::to_string(tensor_count) + " tensors");
    for (int t : node.outputs) {
      if (t < 0 || t >= tensor_count)
        return graph_error("node '" + node.name + "' writes tensor " + std::to_string(t) +
                           ", past the " + std::to_string(tensor_count) + " tensors");
      if (tensors[static_cast<size_t>(t)].constant >= 0)
        return graph_error("node '" + node.name + "' writes constant tensor '" +
                           tensors[static_cast<size_t>(t)].info.name + "'");
      ++producers[static_cast<size_t>(t)];
    }
  }
  for (int t : inputs) {
    if (t < 0 || t >= tensor_count) return graph_error("a graph input index is out of range");
    ++producers[static_cast<size_t>(t)];
  }
  for (int t = 0; t < tensor_count; ++t) {
    const GraphTensor& tensor = tensors[static_cast<size_t>(t)];
    const int count = producers[static_cast<size_t>(t)];
    if (tensor.constant < 0 && count != 1)
      return graph_error("activation '" + tensor.info.name + "' has " + std::to_string(count) +
                         " producers; it needs exactly one (a node or a graph input)");
  }
  for (int t : outputs)
    if (t < 0 || t >= tensor_count) return graph_error("a graph output index is out of range");
  if (inputs.empty() || outputs.empty())
    return graph_error("a graph needs at least one input and one output");
  auto order = topological_order();
  if (!order) return order.status();
  // Kernels trust shapes: every output must be exactly what its op makes of its inputs.
  for (int n : *order) {
    const GraphNode& node = nodes[static_cast<size_t>(n)];
    auto expected = infer_output(*this, node);
    if (!expected) return expected.status().with_context("model graph");
    const TensorInfo& actual = tensors[static_cast<size_t>(node.outputs[0])].info;
    if (!(actual.shape == expected->shape) || actual.type != expected->type)
      return graph_error("node '" + node.name + "' (" + op_type_name(node.op) + ") makes " +
                         data_type_name(expected->type) + " " + expected->shape.to_string() +
                         " but its output '" + actual.name + "' is declared " +
                         data_type_name(actual.type) + " " + actual.shape.to_string());
    const bool quantized_output = actual.type == DataType::kInt8;
    if (quantized_output && actual.quantization.scales.size() != 1)
      return graph_error("int8 activation '" + actual.name + "' needs one scale");
  }
  return Status::ok();
}

}  // namespace fovea
