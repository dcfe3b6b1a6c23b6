#include "draft_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fovea/core/shape_inference.h"

namespace fovea::onnx_import {
namespace {

bool unclamped(const OpAttributes& a) {
  return std::isinf(a.clamp_min) && a.clamp_min < 0 && std::isinf(a.clamp_max) && a.clamp_max > 0;
}

// Whether a constant of `shape` holds one value per channel (the last axis, `channels`) or one
// value for all.
bool per_channel(const Shape& shape, std::int64_t channels) {
  const std::int64_t n = shape.elements();
  if (n == 1) return true;
  if (shape.rank == 0 || shape[shape.rank - 1] != channels || n != channels) return false;
  return true;
}

}  // namespace

int DraftGraph::add_input(const std::string& name, const Shape& shape) {
  graph_.tensors.push_back({{name, DataType::kFloat32, shape, {}}, -1});
  const int index = static_cast<int>(graph_.tensors.size()) - 1;
  graph_.inputs.push_back(index);
  return index;
}

int DraftGraph::add_constant(const std::string& name, const Shape& shape,
                             std::vector<float> values) {
  constants_.push_back(std::move(values));
  graph_.tensors.push_back(
      {{name, DataType::kFloat32, shape, {}}, static_cast<int>(constants_.size()) - 1});
  return static_cast<int>(graph_.tensors.size()) - 1;
}

Result<int> DraftGraph::add_node(const std::string& node_name, OpType op, std::vector<int> inputs,
                                 const OpAttributes& attributes, const std::string& output_name) {
  // Node names stay unique, so --keep-float and the quantization report can name any node.
  std::string name = node_name;
  for (int n = 2; !node_names_.insert(name).second; ++n) name = node_name + "_" + std::to_string(n);
  GraphNode node{name, op, attributes, std::move(inputs), {}};
  auto out = infer_output(graph_, node);
  if (!out)
    return Status(
        ErrorCode::kInvalidArgument,
        "converting to fovea's " + std::string(op_type_name(op)) + ": " + out.status().message());
  out->name = output_name;
  graph_.tensors.push_back({*out, -1});
  node.outputs = {static_cast<int>(graph_.tensors.size()) - 1};
  graph_.nodes.push_back(std::move(node));
  return graph_.nodes.back().outputs[0];
}

void DraftGraph::add_output(int tensor, const std::string& name) {
  if (std::find(graph_.outputs.begin(), graph_.outputs.end(), tensor) == graph_.outputs.end())
    graph_.tensors[static_cast<size_t>(tensor)].info.name = name;
  graph_.outputs.push_back(tensor);
}

int DraftGraph::clone_constant(int tensor) {
  const GraphTensor copy = graph_.tensors[static_cast<size_t>(tensor)];
  return add_constant(copy.info.name, copy.info.shape,
                      constants_[static_cast<size_t>(copy.constant)]);
}

void DraftGraph::fold() {
  const size_t tensors = graph_.tensors.size();
  std::vector<int> uses(tensors, 0), producer(tensors, -1);
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    for (int t : graph_.nodes[n].inputs)
      if (t >= 0) ++uses[static_cast<size_t>(t)];
    producer[static_cast<size_t>(graph_.nodes[n].outputs[0])] = static_cast<int>(n);
  }
  for (int t : graph_.outputs) ++uses[static_cast<size_t>(t)];
  std::vector<bool> removed(graph_.nodes.size(), false);
  auto values = [&](int t) -> std::vector<float>& {
    return constants_[static_cast<size_t>(graph_.tensors[static_cast<size_t>(t)].constant)];
  };
  // A constant that only this node reads may be rewritten in place; a shared one is copied.
  auto own = [&](GraphNode& node, size_t input) {
    const int t = node.inputs[input];
    if (uses[static_cast<size_t>(t)] > 1) {
      --uses[static_cast<size_t>(t)];
      node.inputs[input] = clone_constant(t);
      uses.push_back(1);
      producer.push_back(-1);
    }
  };
  // Makes `node` write `to`'s output instead of its own, and drops `to`.
  auto absorb = [&](size_t p, size_t n) {
    const int middle = graph_.nodes[p].outputs[0];
    uses[static_cast<size_t>(middle)] = 0;
    graph_.nodes[p].outputs[0] = graph_.nodes[n].outputs[0];
    producer[static_cast<size_t>(graph_.nodes[n].outputs[0])] = static_cast<int>(p);
    removed[n] = true;
  };

  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const GraphNode& node = graph_.nodes[n];
    if (node.op != OpType::kMultiply && node.op != OpType::kAdd) continue;
    if (node.op == OpType::kMultiply && !unclamped(node.attributes)) continue;
    const bool c0 = is_constant(node.inputs[0]), c1 = is_constant(node.inputs[1]);
    if (c0 == c1) continue;
    const int x = c0 ? node.inputs[1] : node.inputs[0];
    const int c = c0 ? node.inputs[0] : node.inputs[1];
    const int p = producer[static_cast<size_t>(x)];
    if (p < 0 || uses[static_cast<size_t>(x)] != 1) continue;
    GraphNode& prod = graph_.nodes[static_cast<size_t>(p)];
    if ((prod.op != OpType::kConv2d && prod.op != OpType::kFullyConnected) ||
        !unclamped(prod.attributes))
      continue;
    const Shape& x_shape = info(x).shape;
    const std::int64_t channels = x_shape[x_shape.rank - 1];
    if (!(info(node.outputs[0]).shape == x_shape) || !per_channel(info(c).shape, channels))
      continue;
    const std::vector<float> k = values(c);
    auto channel_value = [&](std::int64_t o) {
      return k.size() == 1 ? k[0] : k[static_cast<size_t>(o)];
    };
    const bool has_bias = prod.inputs.size() > 2 && prod.inputs[2] >= 0;
    if (node.op == OpType::kMultiply) {
      own(prod, 1);
      std::vector<float>& w = values(prod.inputs[1]);
      const size_t per = w.size() / static_cast<size_t>(channels);
      for (std::int64_t o = 0; o < channels; ++o)
        for (size_t i = 0; i < per; ++i) w[static_cast<size_t>(o) * per + i] *= channel_value(o);
      if (has_bias) {
        own(prod, 2);
        std::vector<float>& b = values(prod.inputs[2]);
        for (std::int64_t o = 0; o < channels; ++o) b[static_cast<size_t>(o)] *= channel_value(o);
      }
    } else {
      if (!has_bias) {
        const int bias = add_constant(prod.name + "/bias", Shape{channels},
                                      std::vector<float>(static_cast<size_t>(channels), 0.0f));
        uses.push_back(1);
        producer.push_back(-1);
        prod.inputs.resize(3);
        prod.inputs[2] = bias;
      } else {
        own(prod, 2);
      }
      std::vector<float>& b = values(prod.inputs[2]);
      for (std::int64_t o = 0; o < channels; ++o) b[static_cast<size_t>(o)] += channel_value(o);
      prod.attributes.clamp_min = node.attributes.clamp_min;
      prod.attributes.clamp_max = node.attributes.clamp_max;
    }
    --uses[static_cast<size_t>(c)];
    absorb(static_cast<size_t>(p), n);
  }

  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (removed[n] || graph_.nodes[n].op != OpType::kClamp) continue;
    const GraphNode& node = graph_.nodes[n];
    const int x = node.inputs[0];
    const int p = producer[static_cast<size_t>(x)];
    if (p < 0 || uses[static_cast<size_t>(x)] != 1) continue;
    GraphNode& prod = graph_.nodes[static_cast<size_t>(p)];
    if (prod.op != OpType::kConv2d && prod.op != OpType::kFullyConnected &&
        prod.op != OpType::kAdd && prod.op != OpType::kClamp)
      continue;
    const float lo = std::max(prod.attributes.clamp_min, node.attributes.clamp_min);
    const float hi = std::min(prod.attributes.clamp_max, node.attributes.clamp_max);
    if (!(lo < hi)) continue;  // XNNPACK wants a non-empty range; keep such odd clamps apart
    prod.attributes.clamp_min = lo;
    prod.attributes.clamp_max = hi;
    absorb(static_cast<size_t>(p), n);
  }

  // Reshapes only relabel: a chain of them is one, and one that keeps the shape is none
  // (unless it makes a graph output). Unsqueeze after Squeeze after pooling leaves such chains.
  std::vector<int> alias(uses.size(), -1);
  std::vector<bool> is_output(uses.size(), false);
  for (int t : graph_.outputs) is_output[static_cast<size_t>(t)] = true;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (removed[n]) continue;
    GraphNode& node = graph_.nodes[n];
    for (int& t : node.inputs)
      while (t >= 0 && alias[static_cast<size_t>(t)] >= 0) t = alias[static_cast<size_t>(t)];
    if (node.op != OpType::kReshape) continue;
    const int x = node.inputs[0];
    const int p = producer[static_cast<size_t>(x)];
    if (p >= 0 && !removed[static_cast<size_t>(p)] &&
        graph_.nodes[static_cast<size_t>(p)].op == OpType::kReshape &&
        uses[static_cast<size_t>(x)] == 1) {
      node.inputs[0] = graph_.nodes[static_cast<size_t>(p)].inputs[0];
      uses[static_cast<size_t>(x)] = 0;
      removed[static_cast<size_t>(p)] = true;
    }
    const int y = node.outputs[0];
    if (info(node.inputs[0]).shape == info(y).shape && !is_output[static_cast<size_t>(y)]) {
      alias[static_cast<size_t>(y)] = node.inputs[0];
      uses[static_cast<size_t>(node.inputs[0])] += uses[static_cast<size_t>(y)] - 1;
      removed[n] = true;
    }
  }

  std::vector<GraphNode> kept;
  for (size_t n = 0; n < graph_.nodes.size(); ++n)
    if (!removed[n]) kept.push_back(std::move(graph_.nodes[n]));
  graph_.nodes = std::move(kept);
}

Result<Model> DraftGraph::finish(ModelMetadata metadata) const {
  // Nodes are in topological order (ONNX requires it, and conversion keeps it), so one
  // backward sweep finds everything the outputs depend on.
  std::vector<bool> needed(graph_.tensors.size(), false);
  for (int t : graph_.outputs) needed[static_cast<size_t>(t)] = true;
  std::vector<bool> live(graph_.nodes.size(), false);
  for (size_t n = graph_.nodes.size(); n-- > 0;) {
    const GraphNode& node = graph_.nodes[n];
    if (!needed[static_cast<size_t>(node.outputs[0])]) continue;
    live[n] = true;
    for (int t : node.inputs)
      if (t >= 0) needed[static_cast<size_t>(t)] = true;
  }
  for (int t : graph_.inputs) needed[static_cast<size_t>(t)] = true;

  Model model;
  model.metadata = std::move(metadata);
  std::vector<int> remap(graph_.tensors.size(), -1);
  for (size_t t = 0; t < graph_.tensors.size(); ++t) {
    if (!needed[t]) continue;
    GraphTensor tensor = graph_.tensors[t];
    if (tensor.constant >= 0) {
      const std::vector<float>& v = constants_[static_cast<size_t>(tensor.constant)];
      tensor.constant = model.add_constant(
          {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(float)}, false);
    }
    remap[t] = static_cast<int>(model.graph.tensors.size());
    model.graph.tensors.push_back(std::move(tensor));
  }
  auto map_all = [&](std::vector<int> list) {
    for (int& t : list)
      if (t >= 0) t = remap[static_cast<size_t>(t)];
    return list;
  };
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    if (!live[n]) continue;
    GraphNode node = graph_.nodes[n];
    node.inputs = map_all(node.inputs);
    node.outputs = map_all(node.outputs);
    model.graph.nodes.push_back(std::move(node));
  }
  model.graph.inputs = map_all(graph_.inputs);
  model.graph.outputs = map_all(graph_.outputs);
  const Status status = model.validate();
  if (!status) return status.with_context("the converted model fails validation");
  return model;
}

}  // namespace fovea::onnx_import
