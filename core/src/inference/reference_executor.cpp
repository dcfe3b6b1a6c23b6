#include "fovea/core/reference_executor.h"

#include <cstring>
#include <string>

#include "fovea/core/reference_kernels.h"

namespace fovea {
namespace {

reference::Nhwc nhwc(const Shape& s) {
  return {s[0], s[1], s[2], s[3]};
}

struct Values {
  std::vector<float> f32;
  std::vector<std::int32_t> i32;
  bool ready = false;
};

Status load_constant(const ModelGraph& graph, const ConstantDecoder& constants, int t, Values& v) {
  const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
  const std::int64_t bytes = tensor.info.byte_size();
  std::vector<std::uint8_t> raw(static_cast<size_t>(bytes));
  FOVEA_RETURN_IF_ERROR(constants(tensor.constant, raw));
  if (tensor.info.type == DataType::kFloat32) {
    v.f32.resize(static_cast<size_t>(bytes / 4));
    std::memcpy(v.f32.data(), raw.data(), raw.size());
  } else if (tensor.info.type == DataType::kInt32) {
    v.i32.resize(static_cast<size_t>(bytes / 4));
    std::memcpy(v.i32.data(), raw.data(), raw.size());
  } else {
    return Status(ErrorCode::kInvalidArgument,
                  "the reference executor runs float graphs; constant '" + tensor.info.name +
                      "' is " + data_type_name(tensor.info.type));
  }
  v.ready = true;
  return Status::ok();
}

}  // namespace

Result<std::vector<FloatTensor>> run_reference(const ModelGraph& graph,
                                               const ConstantDecoder& constants,
                                               std::span<const FloatTensor> inputs,
                                               const TensorObserver& observer) {
  FOVEA_RETURN_IF_ERROR(graph.validate());
  if (inputs.size() != graph.inputs.size())
    return Status(ErrorCode::kInvalidArgument, "the graph takes " +
                                                   std::to_string(graph.inputs.size()) +
                                                   " inputs, got " + std::to_string(inputs.size()));
  std::vector<Values> values(graph.tensors.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int t = graph.inputs[i];
    const TensorInfo& info = graph.tensors[static_cast<size_t>(t)].info;
    if (!(inputs[i].shape == info.shape) ||
        static_cast<std::int64_t>(inputs[i].values.size()) != info.shape.elements())
      return Status(ErrorCode::kInvalidArgument, "input '" + info.name + "' must be " +
                                                     info.shape.to_string() + ", got " +
                                                     inputs[i].shape.to_string());
    values[static_cast<size_t>(t)].f32 = inputs[i].values;
    values[static_cast<size_t>(t)].ready = true;
    if (observer) observer(t, values[static_cast<size_t>(t)].f32);
  }
  for (size_t t = 0; t < graph.tensors.size(); ++t)
    if (graph.tensors[t].constant >= 0)
      FOVEA_RETURN_IF_ERROR(load_constant(graph, constants, static_cast<int>(t), values[t]));

  auto order = graph.topological_order();
  if (!order) return order.status();
  for (int n : *order) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
    const OpAttributes& a = node.attributes;
    auto in = [&](size_t i) -> const std::vector<float>& {
      return values[static_cast<size_t>(node.inputs[i])].f32;
    };
    auto info = [&](size_t i) -> const TensorInfo& {
      return graph.tensors[static_cast<size_t>(node.inputs[i])].info;
    };
    auto has = [&](size_t i) { return i < node.inputs.size() && node.inputs[i] >= 0; };
    const TensorInfo& out_info = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
    if (out_info.type != DataType::kFloat32)
      return Status(ErrorCode::kInvalidArgument,
                    "the reference executor runs float graphs; node '" + node.name + "' makes " +
                        data_type_name(out_info.type));
    std::vector<float>& y = values[static_cast<size_t>(node.outputs[0])].f32;
    y.assign(static_cast<size_t>(out_info.shape.elements()), 0.0f);
    switch (node.op) {
      case OpType::kConv2d:
        reference::conv2d_f32(in(0).data(), nhwc(info(0).shape), in(1).data(),
                              has(2) ? in(2).data() : nullptr, a, y.data(), nhwc(out_info.shape));
        break;
      case OpType::kFullyConnected:
        reference::fully_connected_f32(in(0).data(), info(0).shape[0], info(0).shape[1],
                                       in(1).data(), has(2) ? in(2).data() : nullptr,
                                       info(1).shape[0], a.clamp_min, a.clamp_max, y.data());
        break;
      case OpType::kAdd:
      case OpType::kMultiply:
        reference::binary_f32(
            node.op == OpType::kAdd ? reference::Binary::kAdd : reference::Binary::kMultiply,
            in(0).data(), info(0).shape, in(1).data(), info(1).shape, a.clamp_min, a.clamp_max,
            y.data(), out_info.shape);
        break;
      case OpType::kConcat: {
        std::vector<const float*> pointers;
        std::vector<Shape> shapes;
        for (size_t i = 0; i < node.inputs.size(); ++i) {
          pointers.push_back(in(i).data());
          shapes.push_back(info(i).shape);
        }
        const int axis = a.axis < 0 ? a.axis + out_info.shape.rank : a.axis;
        reference::concat_f32(pointers, shapes, axis, y.data());
        break;
      }
      case OpType::kGlobalAveragePool:
        reference::global_average_pool_f32(in(0).data(), nhwc(info(0).shape), y.data());
        break;
      case OpType::kGlobalMaxPool:
        reference::global_max_pool_f32(in(0).data(), nhwc(info(0).shape), y.data());
        break;
      case OpType::kMaxPool2d:
        reference::max_pool2d_f32(in(0).data(), nhwc(info(0).shape), a, y.data(),
                                  nhwc(out_info.shape));
        break;
      case OpType::kAveragePool2d:
        reference::average_pool2d_f32(in(0).data(), nhwc(info(0).shape), a, y.data(),
                                      nhwc(out_info.shape));
        break;
      case OpType::kResizeBilinear:
        reference::resize_bilinear_f32(in(0).data(), nhwc(info(0).shape), a.align_corners, y.data(),
                                       nhwc(out_info.shape));
        break;
      case OpType::kSigmoid:
      case OpType::kTanh:
      case OpType::kHardSwish:
      case OpType::kClamp: {
        const auto op = node.op == OpType::kSigmoid ? reference::Unary::kSigmoid
                        : node.op == OpType::kTanh  ? reference::Unary::kTanh
                        : node.op == OpType::kClamp ? reference::Unary::kClamp
                                                    : reference::Unary::kHardSwish;
        reference::unary_f32(op, in(0).data(), static_cast<std::int64_t>(y.size()), a.clamp_min,
                             a.clamp_max, y.data());
        break;
      }
      case OpType::kLeakyRelu:
        reference::leaky_relu_f32(in(0).data(), static_cast<std::int64_t>(y.size()), a.alpha,
                                  y.data());
        break;
      case OpType::kSoftmax: {
        const std::int64_t row = out_info.shape[out_info.shape.rank - 1];
        reference::softmax_f32(in(0).data(), static_cast<std::int64_t>(y.size()) / row, row,
                               y.data());
        break;
      }
      case OpType::kReshape:
        y = in(0);
        break;
      case OpType::kCorrelation:
        reference::correlation_f32(in(0).data(), in(1).data(), nhwc(info(0).shape),
                                   a.max_displacement, y.data());
        break;
      case OpType::kWarp:
        reference::warp_f32(in(0).data(), nhwc(info(0).shape), in(1).data(), y.data());
        break;
      case OpType::kScatterToGrid:
        reference::scatter_to_grid_f32(
            in(0).data(), values[static_cast<size_t>(node.inputs[1])].i32.data(), info(0).shape[0],
            info(0).shape[1], a.output_h, a.output_w, y.data());
        break;
      case OpType::kQuantize:
      case OpType::kDequantize:
        return Status(ErrorCode::kInvalidArgument,
                      "the reference executor runs float graphs; node '" + node.name + "' is " +
                          op_type_name(node.op));
    }
    values[static_cast<size_t>(node.outputs[0])].ready = true;
    if (observer) observer(node.outputs[0], y);
  }
  std::vector<FloatTensor> outputs;
  for (int t : graph.outputs)
    outputs.push_back(
        {graph.tensors[static_cast<size_t>(t)].info.shape, values[static_cast<size_t>(t)].f32});
  return outputs;
}

}  // namespace fovea
