#include "int8_lut_nodes.h"

#include "fovea/core/reference_kernels.h"
#include "int8_lut.h"

namespace fovea::inference {
namespace {

Int8Affine affine_of(const TensorInfo& info) {
  Int8Affine q;
  if (!info.quantization.scales.empty()) q.scale = info.quantization.scales[0];
  q.zero_point = info.quantization.zero_point;
  return q;
}

class Int8LutKernel final : public NodeKernel {
 public:
  Int8LutKernel(const GraphNode& node, const TensorInfo& x, const TensorInfo& y)
      : op_(node.op),
        alpha_(node.attributes.alpha),
        x_info_(affine_of(x)),
        y_info_(affine_of(y)),
        count_(y.shape.elements()) {}

  Status prepare(const ConstantBytes&) override {
    // The reference kernels' own float functions, so the table is what the reference computes.
    if (op_ == OpType::kLeakyRelu) {
      const float alpha = alpha_;
      lut_ = make_int8_lut(
          [alpha](float v) {
            float out = 0.0f;
            reference::leaky_relu_f32(&v, 1, alpha, &out);
            return out;
          },
          x_info_, y_info_);
    } else {
      lut_ = make_int8_lut(
          [](float v) {
            float out = 0.0f;
            reference::unary_f32(reference::Unary::kHardSwish, &v, 1, 0.0f, 0.0f, &out);
            return out;
          },
          x_info_, y_info_);
    }
    return Status::ok();
  }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    if (b.inputs.empty() || b.inputs[0] == nullptr || b.outputs.empty() || b.outputs[0] == nullptr)
      return Status(ErrorCode::kInvalidArgument, "INT8 table kernel bound without its tensors");
    x_ = static_cast<const std::int8_t*>(b.inputs[0]);
    y_ = static_cast<std::int8_t*>(b.outputs[0]);
    return Status::ok();
  }
  Status run(pthreadpool_t pool) override {
    if (y_ == nullptr) return Status(ErrorCode::kInternal, "INT8 table kernel run before bind()");
    apply_int8_lut(lut_, x_, y_, count_, pool);
    return Status::ok();
  }
  void release() noexcept override { x_ = nullptr, y_ = nullptr; }

 private:
  OpType op_;
  float alpha_;
  Int8Affine x_info_, y_info_;
  std::int64_t count_;
  Int8Lut lut_;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
};

}  // namespace

std::unique_ptr<NodeKernel> make_int8_lut_node_kernel(const ModelGraph& graph,
                                                      const GraphNode& node) {
  if (node.op != OpType::kLeakyRelu && node.op != OpType::kHardSwish) return nullptr;
  if (node.inputs.empty() || node.inputs[0] < 0 || node.outputs.empty()) return nullptr;
  const TensorInfo& x = graph.tensors[static_cast<size_t>(node.inputs[0])].info;
  const TensorInfo& y = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  if (x.type != DataType::kInt8 || y.type != DataType::kInt8 || !x.quantization.is_quantized() ||
      !y.quantization.is_quantized() || x.quantization.is_per_channel() ||
      y.quantization.is_per_channel() || x.shape.elements() != y.shape.elements())
    return nullptr;
  return std::make_unique<Int8LutKernel>(node, x, y);
}

}  // namespace fovea::inference
