// The executor's node kernel over narrow_conv_f32: weights and bias copied into the budget.

#include <cstring>
#include <string>

#include "narrow_conv.h"

namespace fovea::inference {
namespace {

class NarrowConvKernel final : public NodeKernel {
 public:
  NarrowConvKernel(const GraphNode& node, const NarrowConvShape& shape, bool has_bias,
                   const NarrowConvMemory& memory)
      : name_(node.name), shape_(shape), has_bias_(has_bias), memory_(memory) {}
  bool has_weights() const override { return true; }

  Status prepare(const ConstantBytes& constants) override {
    const std::size_t weight_bytes = static_cast<std::size_t>(
        shape_.y.c * shape_.kernel_h * shape_.kernel_w * shape_.x.c * std::int64_t{4});
    const std::size_t bias_bytes = has_bias_ ? static_cast<std::size_t>(shape_.y.c * 4) : 0;
    auto weights = constants(1);
    if (!weights) return weights.status();
    if (weights->size() != weight_bytes)
      return Status(ErrorCode::kInvalidArgument, "node '" + name_ + "': weights hold " +
                                                     std::to_string(weights->size()) + " bytes");
    std::span<const std::uint8_t> bias;
    if (has_bias_) {
      auto b = constants(2);
      if (!b) return b.status();
      if (b->size() != bias_bytes)
        return Status(ErrorCode::kInvalidArgument,
                      "node '" + name_ + "': bias holds " + std::to_string(b->size()) + " bytes");
      bias = *b;
    }
    auto packed = BudgetBuffer::allocate(*memory_.budget, memory_.owner,
                                         MemoryCategory::kPackedWeights, weight_bytes + bias_bytes);
    if (!packed) return packed.status().with_context("node '" + name_ + "' weights");
    auto* bytes = static_cast<std::uint8_t*>(packed->data());
    std::memcpy(bytes, weights->data(), weight_bytes);
    if (has_bias_) std::memcpy(bytes + weight_bytes, bias.data(), bias_bytes);
    packed_ = std::move(*packed);
    weights_ = reinterpret_cast<const float*>(bytes);
    bias_ = has_bias_ ? reinterpret_cast<const float*>(bytes + weight_bytes) : nullptr;
    return Status::ok();
  }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    if (packed_.empty())
      return Status(ErrorCode::kInternal, "node '" + name_ + "' bound before prepare()");
    if (b.inputs.empty() || b.inputs[0] == nullptr || b.outputs.empty() || b.outputs[0] == nullptr)
      return Status(ErrorCode::kInvalidArgument, "node '" + name_ + "' bound without tensors");
    x_ = static_cast<const float*>(b.inputs[0]);
    y_ = static_cast<float*>(b.outputs[0]);
    return Status::ok();
  }
  Status run(pthreadpool_t pool) override {
    if (packed_.empty() || x_ == nullptr)
      return Status(ErrorCode::kInternal, "node '" + name_ + "' run before prepare()/bind()");
    narrow_conv_f32(shape_, x_, weights_, bias_, y_, pool);
    return Status::ok();
  }
  void release() noexcept override {
    packed_.reset();
    weights_ = bias_ = nullptr;
    x_ = nullptr;
    y_ = nullptr;
  }

 private:
  std::string name_;
  NarrowConvShape shape_;
  bool has_bias_;
  NarrowConvMemory memory_;
  BudgetBuffer packed_;
  const float* weights_ = nullptr;
  const float* bias_ = nullptr;
  const float* x_ = nullptr;
  float* y_ = nullptr;
};

}  // namespace

std::unique_ptr<NodeKernel> make_narrow_conv_node_kernel(const ModelGraph& graph,
                                                         const GraphNode& node,
                                                         const NarrowConvMemory& memory) {
  if (node.op != OpType::kConv2d || memory.budget == nullptr || node.inputs.size() < 2 ||
      node.inputs[0] < 0 || node.inputs[1] < 0)
    return nullptr;
  const OpAttributes& a = node.attributes;
  const TensorInfo& x = graph.tensors[static_cast<size_t>(node.inputs[0])].info;
  const TensorInfo& w = graph.tensors[static_cast<size_t>(node.inputs[1])].info;
  const TensorInfo& y = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  const bool has_bias = node.inputs.size() > 2 && node.inputs[2] >= 0;
  if (x.type != DataType::kFloat32 || w.type != DataType::kFloat32 ||
      y.type != DataType::kFloat32 || x.shape.rank != 4 || y.shape.rank != 4 || w.shape.rank != 4 ||
      a.groups != 1 || a.dilation_h != 1 || a.dilation_w != 1 || w.shape[3] != x.shape[3] ||
      w.shape[0] != y.shape[3])
    return nullptr;
  if (has_bias &&
      graph.tensors[static_cast<size_t>(node.inputs[2])].info.type != DataType::kFloat32)
    return nullptr;
  NarrowConvShape shape;
  shape.x = {x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
  shape.y = {y.shape[0], y.shape[1], y.shape[2], y.shape[3]};
  shape.kernel_h = a.kernel_h;
  shape.kernel_w = a.kernel_w;
  shape.stride_h = a.stride_h;
  shape.stride_w = a.stride_w;
  shape.pad_top = a.pad_top;
  shape.pad_left = a.pad_left;
  shape.clamp_min = a.clamp_min;
  shape.clamp_max = a.clamp_max;
  if (!narrow_conv_supported(shape)) return nullptr;
  return std::make_unique<NarrowConvKernel>(node, shape, has_bias, memory);
}

}  // namespace fovea::inference
