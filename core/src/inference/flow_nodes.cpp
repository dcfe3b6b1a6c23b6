#include "flow_nodes.h"

#include "flow_correlation.h"
#include "flow_warp.h"

namespace fovea::inference {
namespace {

class FlowKernel final : public NodeKernel {
 public:
  FlowKernel(const GraphNode& node, reference::Nhwc shape)
      : op_(node.op), max_displacement_(node.attributes.max_displacement), shape_(shape) {}
  Status prepare(const ConstantBytes&) override { return Status::ok(); }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    if (b.inputs.size() < 2 || b.inputs[0] == nullptr || b.inputs[1] == nullptr ||
        b.outputs.empty() || b.outputs[0] == nullptr)
      return Status(ErrorCode::kInvalidArgument, "flow kernel bound without its tensors");
    x0_ = static_cast<const float*>(b.inputs[0]);
    x1_ = static_cast<const float*>(b.inputs[1]);
    y_ = static_cast<float*>(b.outputs[0]);
    return Status::ok();
  }
  Status run(pthreadpool_t pool) override {
    if (y_ == nullptr) return Status(ErrorCode::kInternal, "flow kernel run before bind()");
    if (op_ == OpType::kCorrelation)
      flow::correlation_f32(x0_, x1_, shape_, max_displacement_, y_, pool);
    else
      flow::warp_f32(x0_, shape_, x1_, y_, pool);
    return Status::ok();
  }
  void release() noexcept override { x0_ = x1_ = nullptr, y_ = nullptr; }

 private:
  OpType op_;
  int max_displacement_;
  reference::Nhwc shape_;
  const float* x0_ = nullptr;
  const float* x1_ = nullptr;
  float* y_ = nullptr;
};

// INT8 map, FP32 flow: the output keeps the map's quantization (flow::warp_qs8).
class Int8WarpKernel final : public NodeKernel {
 public:
  Int8WarpKernel(reference::Nhwc shape, std::int32_t zero_point)
      : shape_(shape), zero_point_(zero_point) {}
  Status prepare(const ConstantBytes&) override { return Status::ok(); }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    if (b.inputs.size() < 2 || b.inputs[0] == nullptr || b.inputs[1] == nullptr ||
        b.outputs.empty() || b.outputs[0] == nullptr)
      return Status(ErrorCode::kInvalidArgument, "INT8 warp bound without its tensors");
    x_ = static_cast<const std::int8_t*>(b.inputs[0]);
    flow_ = static_cast<const float*>(b.inputs[1]);
    y_ = static_cast<std::int8_t*>(b.outputs[0]);
    return Status::ok();
  }
  Status run(pthreadpool_t pool) override {
    if (y_ == nullptr) return Status(ErrorCode::kInternal, "INT8 warp run before bind()");
    flow::warp_qs8(x_, shape_, flow_, zero_point_, y_, pool);
    return Status::ok();
  }
  void release() noexcept override { x_ = nullptr, flow_ = nullptr, y_ = nullptr; }

 private:
  reference::Nhwc shape_;
  std::int32_t zero_point_;
  const std::int8_t* x_ = nullptr;
  const float* flow_ = nullptr;
  std::int8_t* y_ = nullptr;
};

bool same_per_tensor_quantization(const TensorInfo& a, const TensorInfo& b) {
  return a.quantization.scales.size() == 1 && a.quantization.scales == b.quantization.scales &&
         a.quantization.zero_point == b.quantization.zero_point;
}

}  // namespace

std::unique_ptr<NodeKernel> make_flow_node_kernel(const ModelGraph& graph, const GraphNode& node) {
  if (node.op != OpType::kCorrelation && node.op != OpType::kWarp) return nullptr;
  if (node.inputs.size() < 2 || node.inputs[0] < 0 || node.inputs[1] < 0) return nullptr;
  const TensorInfo& x = graph.tensors[static_cast<size_t>(node.inputs[0])].info;
  const TensorInfo& y = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  if (node.op == OpType::kWarp && x.type == DataType::kInt8 && y.type == DataType::kInt8 &&
      x.shape.rank == 4 && same_per_tensor_quantization(x, y) &&
      graph.tensors[static_cast<size_t>(node.inputs[1])].info.type == DataType::kFloat32)
    return std::make_unique<Int8WarpKernel>(
        reference::Nhwc{x.shape[0], x.shape[1], x.shape[2], x.shape[3]}, x.quantization.zero_point);
  if (x.type != DataType::kFloat32 || y.type != DataType::kFloat32 || x.shape.rank != 4)
    return nullptr;
  return std::make_unique<FlowKernel>(
      node, reference::Nhwc{x.shape[0], x.shape[1], x.shape[2], x.shape[3]});
}

}  // namespace fovea::inference
