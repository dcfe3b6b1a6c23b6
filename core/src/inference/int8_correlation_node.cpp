#include "int8_correlation_node.h"

#include <cmath>
#include <string>

#include "flow_correlation.h"

namespace fovea::inference {
namespace {

class Int8CorrelationKernel final : public NodeKernel {
 public:
  Int8CorrelationKernel(int max_displacement, reference::Nhwc shape,
                        const reference::QuantizedCorrelation& q)
      : max_displacement_(max_displacement), shape_(shape), q_(q) {}
  Status prepare(const ConstantBytes&) override { return Status::ok(); }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    if (b.inputs.size() < 2 || b.inputs[0] == nullptr || b.inputs[1] == nullptr ||
        b.outputs.empty() || b.outputs[0] == nullptr)
      return Status(ErrorCode::kInvalidArgument, "INT8 correlation bound without its tensors");
    a_ = static_cast<const std::int8_t*>(b.inputs[0]);
    b_ = static_cast<const std::int8_t*>(b.inputs[1]);
    y_ = static_cast<std::int8_t*>(b.outputs[0]);
    return Status::ok();
  }
  Status run(pthreadpool_t pool) override {
    if (y_ == nullptr) return Status(ErrorCode::kInternal, "INT8 correlation run before bind()");
    flow::correlation_qs8(a_, b_, shape_, max_displacement_, q_, y_, pool);
    return Status::ok();
  }
  void release() noexcept override { a_ = b_ = nullptr, y_ = nullptr; }

 private:
  int max_displacement_;
  reference::Nhwc shape_;
  reference::QuantizedCorrelation q_;
  const std::int8_t* a_ = nullptr;
  const std::int8_t* b_ = nullptr;
  std::int8_t* y_ = nullptr;
};

// A usable per-tensor INT8 quantization: the kernel's 16-bit and 32-bit lanes rely on zero
// points within the int8 range.
bool per_tensor_int8(const TensorInfo& t) {
  return t.type == DataType::kInt8 && t.quantization.scales.size() == 1 &&
         std::isfinite(t.quantization.scales[0]) && t.quantization.scales[0] > 0.0f &&
         t.quantization.zero_point >= -128 && t.quantization.zero_point <= 127;
}

}  // namespace

Result<std::unique_ptr<NodeKernel>> make_int8_correlation_node_kernel(const ModelGraph& graph,
                                                                      const GraphNode& node) {
  auto error = [&](const std::string& why) -> Result<std::unique_ptr<NodeKernel>> {
    return Status(ErrorCode::kInvalidArgument,
                  "node '" + node.name + "' (" + op_type_name(node.op) + "): " + why);
  };
  if (node.op != OpType::kCorrelation || node.inputs.size() < 2 || node.inputs[0] < 0 ||
      node.inputs[1] < 0 || node.outputs.empty())
    return error("is not a two-input Correlation");
  const TensorInfo& a = graph.tensors[static_cast<size_t>(node.inputs[0])].info;
  const TensorInfo& b = graph.tensors[static_cast<size_t>(node.inputs[1])].info;
  const TensorInfo& y = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  if (!per_tensor_int8(a) || !per_tensor_int8(b) || !per_tensor_int8(y))
    return error("INT8 needs one positive scale and an int8 zero point per tensor");
  if (a.shape.rank != 4 || !(a.shape == b.shape)) return error("needs two equal NHWC inputs");
  const std::int64_t channels = a.shape[3];
  if (channels > reference::kMaxQuantizedCorrelationChannels)
    return error("INT8 sums exactly only up to " +
                 std::to_string(reference::kMaxQuantizedCorrelationChannels) + " channels, has " +
                 std::to_string(channels) + "; keep it in FP32");
  const reference::QuantizedCorrelation q{a.quantization.scales[0], a.quantization.zero_point,
                                          b.quantization.scales[0], b.quantization.zero_point,
                                          y.quantization.scales[0], y.quantization.zero_point};
  if (!std::isfinite(reference::correlation_qs8_multiplier(q, channels)))
    return error("the scales' multiplier a_scale * b_scale / (C * y_scale) is not finite");
  return std::unique_ptr<NodeKernel>(std::make_unique<Int8CorrelationKernel>(
      node.attributes.max_displacement,
      reference::Nhwc{a.shape[0], a.shape[1], a.shape[2], channels}, q));
}

}  // namespace fovea::inference
