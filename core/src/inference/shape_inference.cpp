#include "fovea/core/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fovea/core/reference_kernels.h"

namespace fovea {
namespace {

Status node_error(const GraphNode& node, const std::string& message) {
  return Status(ErrorCode::kCorruptData, std::string("node '") + node.name + "' (" +
                                             op_type_name(node.op) + "): " + message);
}

class NodeShapes {
 public:
  NodeShapes(const ModelGraph& graph, const GraphNode& node) : graph_(graph), node_(node) {}

  Status arity(size_t required, size_t optional = 0) const {
    if (node_.inputs.size() < required || node_.inputs.size() > required + optional) {
      std::string expected = std::to_string(required);
      if (optional > 0) expected += " to " + std::to_string(required + optional);
      return node_error(
          node_, "expects " + expected + " inputs, has " + std::to_string(node_.inputs.size()));
    }
    for (size_t i = 0; i < required; ++i)
      if (node_.inputs[i] < 0)
        return node_error(node_, "input " + std::to_string(i) + " is absent");
    return Status::ok();
  }
  bool present(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  const TensorInfo& input(size_t i) const {
    return graph_.tensors[static_cast<size_t>(node_.inputs[i])].info;
  }
  Status rank(size_t i, int expected) const {
    if (input(i).shape.rank != expected)
      return node_error(node_, "input '" + input(i).name + "' has rank " +
                                   std::to_string(input(i).shape.rank) + ", expected " +
                                   std::to_string(expected));
    return Status::ok();
  }
  Status type(size_t i, DataType expected) const {
    if (input(i).type != expected)
      return node_error(node_, "input '" + input(i).name + "' is " + data_type_name(input(i).type) +
                                   ", expected " + data_type_name(expected));
    return Status::ok();
  }

 private:
  const ModelGraph& graph_;
  const GraphNode& node_;
};

Status check_window(const GraphNode& node, const OpAttributes& a) {
  const bool sane = a.kernel_h >= 1 && a.kernel_w >= 1 && a.kernel_h <= 64 && a.kernel_w <= 64 &&
                    a.stride_h >= 1 && a.stride_w >= 1 && a.stride_h <= 64 && a.stride_w <= 64 &&
                    a.dilation_h >= 1 && a.dilation_w >= 1 && a.dilation_h <= 64 &&
                    a.dilation_w <= 64 && a.pad_top >= 0 && a.pad_left >= 0 && a.pad_bottom >= 0 &&
                    a.pad_right >= 0 && a.pad_top <= 1024 && a.pad_left <= 1024 &&
                    a.pad_bottom <= 1024 && a.pad_right <= 1024;
  return sane ? Status::ok() : node_error(node, "kernel, stride, dilation or padding out of range");
}

Result<Shape> window_output(const GraphNode& node, const Shape& x, const OpAttributes& a,
                            std::int64_t channels) {
  const std::int64_t h = reference::conv_output_size(x[1], a.kernel_h, a.stride_h, a.dilation_h,
                                                     a.pad_top, a.pad_bottom);
  const std::int64_t w = reference::conv_output_size(x[2], a.kernel_w, a.stride_w, a.dilation_w,
                                                     a.pad_left, a.pad_right);
  if (h <= 0 || w <= 0)
    return node_error(node, "the window does not fit the padded input " + x.to_string());
  return Shape{x[0], h, w, channels};
}

Result<Shape> broadcast(const GraphNode& node, const Shape& a, const Shape& b) {
  Shape out;
  out.rank = std::max(a.rank, b.rank);
  for (int d = 0; d < out.rank; ++d) {
    const int da = d - (out.rank - a.rank), db = d - (out.rank - b.rank);
    const std::int64_t x = da >= 0 ? a[da] : 1, y = db >= 0 ? b[db] : 1;
    if (x != y && x != 1 && y != 1)
      return node_error(node,
                        "shapes " + a.to_string() + " and " + b.to_string() + " do not broadcast");
    out[d] = std::max(x, y);
  }
  return out;
}

}  // namespace

Result<TensorInfo> infer_output(const ModelGraph& graph, const GraphNode& node) {
  NodeShapes in(graph, node);
  const OpAttributes& a = node.attributes;
  TensorInfo out;
  auto same_as_input = [&](DataType type) -> Result<TensorInfo> {
    out.shape = in.input(0).shape;
    out.type = type;
    return out;
  };
  switch (node.op) {
    case OpType::kConv2d: {
      FOVEA_RETURN_IF_ERROR(in.arity(2, 1));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 4));
      FOVEA_RETURN_IF_ERROR(in.rank(1, 4));
      FOVEA_RETURN_IF_ERROR(check_window(node, a));
      const Shape& x = in.input(0).shape;
      const Shape& w = in.input(1).shape;
      if (a.groups < 1 || x[3] % a.groups != 0 || w[0] % a.groups != 0 || w[3] * a.groups != x[3])
        return node_error(node, "weights " + w.to_string() + " and " + std::to_string(a.groups) +
                                    " groups do not fit input channels " + std::to_string(x[3]));
      if (w[1] != a.kernel_h || w[2] != a.kernel_w)
        return node_error(node, "weights " + w.to_string() + " disagree with the kernel size");
      const bool quantized = in.input(0).type == DataType::kInt8;
      if (!quantized) {
        FOVEA_RETURN_IF_ERROR(in.type(0, DataType::kFloat32));
        FOVEA_RETURN_IF_ERROR(in.type(1, DataType::kFloat32));
      } else {
        FOVEA_RETURN_IF_ERROR(in.type(1, DataType::kInt8));
      }
      if (in.present(2)) {
        FOVEA_RETURN_IF_ERROR(in.rank(2, 1));
        FOVEA_RETURN_IF_ERROR(in.type(2, quantized ? DataType::kInt32 : DataType::kFloat32));
        if (in.input(2).shape[0] != w[0])
          return node_error(node, "bias has " + std::to_string(in.input(2).shape[0]) +
                                      " entries for " + std::to_string(w[0]) + " output channels");
      }
      auto shape = window_output(node, x, a, w[0]);
      if (!shape) return shape.status();
      out.shape = *shape;
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kFullyConnected: {
      FOVEA_RETURN_IF_ERROR(in.arity(2, 1));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 2));
      FOVEA_RETURN_IF_ERROR(in.rank(1, 2));
      const Shape& x = in.input(0).shape;
      const Shape& w = in.input(1).shape;
      if (w[1] != x[1])
        return node_error(node, "weights " + w.to_string() + " do not fit input " + x.to_string());
      const bool quantized = in.input(0).type == DataType::kInt8;
      FOVEA_RETURN_IF_ERROR(in.type(1, quantized ? DataType::kInt8 : DataType::kFloat32));
      if (in.present(2)) {
        FOVEA_RETURN_IF_ERROR(in.rank(2, 1));
        FOVEA_RETURN_IF_ERROR(in.type(2, quantized ? DataType::kInt32 : DataType::kFloat32));
        if (in.input(2).shape[0] != w[0]) return node_error(node, "bias size differs from outputs");
      }
      out.shape = Shape{x[0], w[0]};
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kAdd:
    case OpType::kMultiply: {
      FOVEA_RETURN_IF_ERROR(in.arity(2));
      FOVEA_RETURN_IF_ERROR(in.type(1, in.input(0).type));
      auto shape = broadcast(node, in.input(0).shape, in.input(1).shape);
      if (!shape) return shape.status();
      out.shape = *shape;
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kConcat: {
      if (node.inputs.empty()) return node_error(node, "needs inputs");
      FOVEA_RETURN_IF_ERROR(in.arity(node.inputs.size()));
      const Shape& first = in.input(0).shape;
      const int axis = a.axis < 0 ? a.axis + first.rank : a.axis;
      if (axis < 0 || axis >= first.rank) return node_error(node, "axis out of range");
      out.shape = first;
      out.shape[axis] = 0;
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        const Shape& s = in.input(i).shape;
        FOVEA_RETURN_IF_ERROR(in.type(i, in.input(0).type));
        if (s.rank != first.rank) return node_error(node, "inputs differ in rank");
        for (int d = 0; d < s.rank; ++d)
          if (d != axis && s[d] != first[d])
            return node_error(node, "input shapes " + first.to_string() + " and " + s.to_string() +
                                        " differ off the concat axis");
        out.shape[axis] += s[axis];
      }
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kGlobalAveragePool:
    case OpType::kGlobalMaxPool: {
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 4));
      const Shape& x = in.input(0).shape;
      out.shape = Shape{x[0], 1, 1, x[3]};
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kMaxPool2d:
    case OpType::kAveragePool2d: {
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 4));
      FOVEA_RETURN_IF_ERROR(check_window(node, a));
      auto shape = window_output(node, in.input(0).shape, a, in.input(0).shape[3]);
      if (!shape) return shape.status();
      out.shape = *shape;
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kResizeBilinear: {
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 4));
      if (a.output_h < 1 || a.output_w < 1 || a.output_h > kMaxDimension ||
          a.output_w > kMaxDimension)
        return node_error(node, "output size out of range");
      const Shape& x = in.input(0).shape;
      out.shape = Shape{x[0], a.output_h, a.output_w, x[3]};
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kSigmoid:
    case OpType::kTanh:
    case OpType::kClamp:
    case OpType::kHardSwish:
    case OpType::kSoftmax:
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      return same_as_input(in.input(0).type);
    case OpType::kLeakyRelu:
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      if (!std::isfinite(a.alpha)) return node_error(node, "alpha must be finite");
      // Its alpha takes the clamp-min slot of an .fvm attribute record.
      if (a.clamp_min != -std::numeric_limits<float>::infinity() ||
          a.clamp_max != std::numeric_limits<float>::infinity())
        return node_error(node, "takes no fused clamp");
      return same_as_input(in.input(0).type);
    case OpType::kQuantize:
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      FOVEA_RETURN_IF_ERROR(in.type(0, DataType::kFloat32));
      return same_as_input(DataType::kInt8);
    case OpType::kDequantize:
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      FOVEA_RETURN_IF_ERROR(in.type(0, DataType::kInt8));
      return same_as_input(DataType::kFloat32);
    case OpType::kReshape: {
      FOVEA_RETURN_IF_ERROR(in.arity(1));
      if (a.new_shape.elements() != in.input(0).shape.elements() || a.new_shape.elements() < 0)
        return node_error(node, "cannot reshape " + in.input(0).shape.to_string() + " to " +
                                    a.new_shape.to_string());
      out.shape = a.new_shape;
      out.type = in.input(0).type;
      return out;
    }
    case OpType::kCorrelation: {
      FOVEA_RETURN_IF_ERROR(in.arity(2));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 4));
      // FP32, or INT8 (the quantized cost volume of flow::correlation_qs8) on both inputs.
      const DataType type = in.input(0).type;
      if (type != DataType::kInt8) FOVEA_RETURN_IF_ERROR(in.type(0, DataType::kFloat32));
      FOVEA_RETURN_IF_ERROR(in.type(1, type));
      if (!(in.input(0).shape == in.input(1).shape))
        return node_error(node, "correlates differently shaped maps");
      if (a.max_displacement < 0 || a.max_displacement > 16)
        return node_error(node, "max displacement must be 0..16");
      const Shape& x = in.input(0).shape;
      const std::int64_t side = 2 * a.max_displacement + 1;
      out.shape = Shape{x[0], x[1], x[2], side * side};
      out.type = type;
      return out;
    }
    case OpType::kWarp: {
      FOVEA_RETURN_IF_ERROR(in.arity(2));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 4));
      FOVEA_RETURN_IF_ERROR(in.rank(1, 4));
      // The map FP32, or INT8 (flow::warp_qs8, the output on the map's grid); the flow FP32.
      const DataType type = in.input(0).type;
      if (type != DataType::kInt8) FOVEA_RETURN_IF_ERROR(in.type(0, DataType::kFloat32));
      FOVEA_RETURN_IF_ERROR(in.type(1, DataType::kFloat32));
      const Shape& x = in.input(0).shape;
      const Shape& flow = in.input(1).shape;
      if (flow[0] != x[0] || flow[1] != x[1] || flow[2] != x[2] || flow[3] != 2)
        return node_error(node, "flow " + flow.to_string() + " does not fit " + x.to_string());
      return same_as_input(type);
    }
    case OpType::kScatterToGrid: {
      FOVEA_RETURN_IF_ERROR(in.arity(2));
      FOVEA_RETURN_IF_ERROR(in.rank(0, 2));
      FOVEA_RETURN_IF_ERROR(in.rank(1, 2));
      FOVEA_RETURN_IF_ERROR(in.type(0, DataType::kFloat32));
      FOVEA_RETURN_IF_ERROR(in.type(1, DataType::kInt32));
      if (in.input(1).shape[0] != in.input(0).shape[0] || in.input(1).shape[1] != 2)
        return node_error(node, "coordinates must be [points, 2]");
      if (a.output_h < 1 || a.output_w < 1 || a.output_h > 65536 || a.output_w > 65536)
        return node_error(node, "grid size out of range");
      out.shape = Shape{1, a.output_h, a.output_w, in.input(0).shape[1]};
      return out;
    }
  }
  return node_error(node, "unknown op");
}

}  // namespace fovea
