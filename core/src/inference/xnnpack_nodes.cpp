// Node kernels over XNNPACK operators (NHWC, f32 and INT8), and plain C++ ones for what
// XNNPACK lacks. INT8 here means XNNPACK's qs8: asymmetric int8 activations, symmetric int8
// weights with a scale per output channel (qc8 convolution), int32 biases.

#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "flow_nodes.h"
#include "fovea/core/reference_kernels.h"
#include "int8_correlation_node.h"
#include "int8_lut_nodes.h"
#include "node_kernel.h"

namespace fovea::inference {
namespace {

const char* xnn_status_name(xnn_status status) {
  switch (status) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "XNNPACK is not initialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown status";
}

Status xnn_check(xnn_status status, const GraphNode& node, const char* what) {
  if (status == xnn_status_success) return Status::ok();
  return Status(status == xnn_status_out_of_memory ? ErrorCode::kOutOfMemory : ErrorCode::kInternal,
                "node '" + node.name + "' (" + op_type_name(node.op) + "): XNNPACK " + what +
                    " failed: " + xnn_status_name(status));
}

// Owns one xnn_operator_t.
class XnnOp {
 public:
  XnnOp() = default;
  XnnOp(const XnnOp&) = delete;
  XnnOp& operator=(const XnnOp&) = delete;
  ~XnnOp() { reset(); }
  xnn_operator_t* out() {
    reset();
    return &op_;
  }
  xnn_operator_t get() const { return op_; }
  explicit operator bool() const { return op_ != nullptr; }
  void reset() noexcept {
    if (op_ != nullptr) xnn_delete_operator(op_);
    op_ = nullptr;
  }

 private:
  xnn_operator_t op_ = nullptr;
};

struct Quant {
  float scale = 1.0f;
  std::int8_t zero_point = 0;
};

Quant quant_of(const TensorInfo& info) {
  Quant q;
  if (!info.quantization.scales.empty()) q.scale = info.quantization.scales[0];
  q.zero_point = static_cast<std::int8_t>(std::clamp(info.quantization.zero_point, -128, 127));
  return q;
}

std::pair<std::int8_t, std::int8_t> int8_clamp(const OpAttributes& a, Quant out) {
  const auto [lo, hi] = inference::int8_clamp(a, out.scale, out.zero_point);
  return {static_cast<std::int8_t>(lo), static_cast<std::int8_t>(hi)};
}

std::int64_t inner_elements(const Shape& shape) {
  return shape.rank > 0 ? shape[shape.rank - 1] : 1;
}
std::int64_t outer_elements(const Shape& shape) {
  const std::int64_t inner = inner_elements(shape);
  return inner > 0 ? shape.elements() / inner : 0;
}

// Shared bookkeeping: the node, its tensors' descriptions and one or more XNNPACK operators.
class XnnKernel : public NodeKernel {
 public:
  XnnKernel(const ModelGraph& graph, const GraphNode& node) : node_(node) {
    for (int t : node.inputs)
      inputs_.push_back(t >= 0 ? graph.tensors[static_cast<size_t>(t)].info : TensorInfo{});
    present_.reserve(node.inputs.size());
    for (int t : node.inputs) present_.push_back(t >= 0);
    constant_.reserve(node.inputs.size());
    for (int t : node.inputs)
      constant_.push_back(t >= 0 && graph.tensors[static_cast<size_t>(t)].constant >= 0);
    output_ = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  }
  Status run(pthreadpool_t pool) override {
    return xnn_check(xnn_run_operator(op_.get(), pool), node_, "run");
  }
  void release() noexcept override { op_.reset(); }

 protected:
  bool quantized() const { return output_.type == DataType::kInt8; }
  GraphNode node_;
  std::vector<TensorInfo> inputs_;
  std::vector<bool> present_;
  std::vector<bool> constant_;
  TensorInfo output_;
  XnnOp op_;
};

// Convolution, and fully connected as a 1x1 convolution over a 1x1 image: XNNPACK's INT8 fully
// connected op has one weight scale, convolution one per output channel.
class ConvKernel final : public XnnKernel {
 public:
  using XnnKernel::XnnKernel;
  bool has_weights() const override { return true; }

  Status prepare(const ConstantBytes& constants) override {
    const bool fc = node_.op == OpType::kFullyConnected;
    const Shape& w = inputs_[1].shape;
    const OpAttributes& a = node_.attributes;
    const std::int64_t out_channels = w[0];
    const std::int64_t group_in = fc ? w[1] : w[3];
    const int groups = fc ? 1 : a.groups;
    const std::int64_t group_out = out_channels / groups;
    const int kh = fc ? 1 : a.kernel_h, kw = fc ? 1 : a.kernel_w;
    // No XNN_FLAG_DEPTHWISE_CONVOLUTION: that flag means weights laid out [KH, KW, O]. Ours are
    // [O, KH, KW, C/groups], and XNNPACK picks its depthwise kernels by itself when each group
    // has one input and one output channel.
    const std::uint32_t flags = 0;
    auto weights = constants(1);
    if (!weights) return weights.status();
    std::span<const std::uint8_t> bias;
    if (present_.size() > 2 && present_[2]) {
      auto b = constants(2);
      if (!b) return b.status();
      bias = *b;
    }
    const std::int64_t in_stride = group_in * groups;
    const std::uint32_t pt = fc ? 0 : a.pad_top, pr = fc ? 0 : a.pad_right;
    const std::uint32_t pb = fc ? 0 : a.pad_bottom, pl = fc ? 0 : a.pad_left;
    const std::uint32_t sh = fc ? 1 : a.stride_h, sw = fc ? 1 : a.stride_w;
    const std::uint32_t dh = fc ? 1 : a.dilation_h, dw = fc ? 1 : a.dilation_w;
    if (!quantized()) {
      return xnn_check(xnn_create_convolution2d_nhwc_f32(
                           pt, pr, pb, pl, kh, kw, sh, sw, dh, dw, groups, group_in, group_out,
                           in_stride, out_channels, reinterpret_cast<const float*>(weights->data()),
                           bias.empty() ? nullptr : reinterpret_cast<const float*>(bias.data()),
                           a.clamp_min, a.clamp_max, flags, op_.out()),
                       node_, "create convolution (f32)");
    }
    const Quant x = quant_of(inputs_[0]), y = quant_of(output_);
    // qc8 wants one scale per output channel; a per-tensor weight scale is repeated.
    std::vector<float> w_scales(
        static_cast<size_t>(out_channels),
        inputs_[1].quantization.scales.empty() ? 1.0f : inputs_[1].quantization.scales[0]);
    if (inputs_[1].quantization.is_per_channel())
      std::copy(inputs_[1].quantization.scales.begin(), inputs_[1].quantization.scales.end(),
                w_scales.begin());
    const auto [y_min, y_max] = int8_clamp(a, y);
    return xnn_check(
        xnn_create_convolution2d_nhwc_qc8(
            pt, pr, pb, pl, kh, kw, sh, sw, dh, dw, groups, group_in, group_out, in_stride,
            out_channels, x.zero_point, x.scale, w_scales.data(),
            reinterpret_cast<const std::int8_t*>(weights->data()),
            bias.empty() ? nullptr : reinterpret_cast<const std::int32_t*>(bias.data()),
            y.zero_point, y.scale, y_min, y_max, flags, op_.out()),
        node_, "create convolution (qc8)");
  }

  Status bind(const NodeBinding& b, pthreadpool_t pool) override {
    const Shape& x = inputs_[0].shape;
    const bool fc = node_.op == OpType::kFullyConnected;
    const size_t batch = static_cast<size_t>(x[0]);
    const size_t h = fc ? 1 : static_cast<size_t>(x[1]), w = fc ? 1 : static_cast<size_t>(x[2]);
    if (!quantized())
      return xnn_check(xnn_setup_convolution2d_nhwc_f32(op_.get(), batch, h, w,
                                                        static_cast<const float*>(b.inputs[0]),
                                                        static_cast<float*>(b.outputs[0]), pool),
                       node_, "setup convolution (f32)");
    return xnn_check(xnn_setup_convolution2d_nhwc_qc8(
                         op_.get(), batch, h, w, static_cast<const std::int8_t*>(b.inputs[0]),
                         static_cast<std::int8_t*>(b.outputs[0]), pool),
                     node_, "setup convolution (qc8)");
  }
};

class BinaryKernel final : public XnnKernel {
 public:
  using XnnKernel::XnnKernel;
  Status prepare(const ConstantBytes&) override {
    const OpAttributes& a = node_.attributes;
    const bool add = node_.op == OpType::kAdd;
    if (!quantized())
      return xnn_check(add ? xnn_create_add_nd_f32(a.clamp_min, a.clamp_max, 0, op_.out())
                           : xnn_create_multiply_nd_f32(a.clamp_min, a.clamp_max, 0, op_.out()),
                       node_, "create binary (f32)");
    const Quant l = quant_of(inputs_[0]), r = quant_of(inputs_[1]), y = quant_of(output_);
    const auto [y_min, y_max] = int8_clamp(a, y);
    return xnn_check(
        add ? xnn_create_add_nd_qs8(l.zero_point, l.scale, r.zero_point, r.scale, y.zero_point,
                                    y.scale, y_min, y_max, 0, op_.out())
            : xnn_create_multiply_nd_qs8(l.zero_point, l.scale, r.zero_point, r.scale, y.zero_point,
                                         y.scale, y_min, y_max, 0, op_.out()),
        node_, "create binary (qs8)");
  }
  Status bind(const NodeBinding& b, pthreadpool_t pool) override {
    size_t ls[kMaxRank], rs[kMaxRank];
    const Shape& l = inputs_[0].shape;
    const Shape& r = inputs_[1].shape;
    for (int d = 0; d < l.rank; ++d) ls[d] = static_cast<size_t>(l[d]);
    for (int d = 0; d < r.rank; ++d) rs[d] = static_cast<size_t>(r[d]);
    const bool add = node_.op == OpType::kAdd;
    xnn_status status;
    if (!quantized()) {
      auto* lp = static_cast<const float*>(b.inputs[0]);
      auto* rp = static_cast<const float*>(b.inputs[1]);
      auto* yp = static_cast<float*>(b.outputs[0]);
      status = add ? xnn_setup_add_nd_f32(op_.get(), l.rank, ls, r.rank, rs, lp, rp, yp, pool)
                   : xnn_setup_multiply_nd_f32(op_.get(), l.rank, ls, r.rank, rs, lp, rp, yp, pool);
    } else {
      auto* lp = static_cast<const std::int8_t*>(b.inputs[0]);
      auto* rp = static_cast<const std::int8_t*>(b.inputs[1]);
      auto* yp = static_cast<std::int8_t*>(b.outputs[0]);
      status = add ? xnn_setup_add_nd_qs8(op_.get(), l.rank, ls, r.rank, rs, lp, rp, yp, pool)
                   : xnn_setup_multiply_nd_qs8(op_.get(), l.rank, ls, r.rank, rs, lp, rp, yp, pool);
    }
    return xnn_check(status, node_, "setup binary");
  }
};

// Ops over [rows, channels] that keep the shape: activations, clamp, type conversion.
class RowwiseKernel final : public XnnKernel {
 public:
  using XnnKernel::XnnKernel;
  Status prepare(const ConstantBytes&) override {
    const size_t c = static_cast<size_t>(inner_elements(output_.shape));
    const OpAttributes& a = node_.attributes;
    const Quant x = quant_of(inputs_[0]), y = quant_of(output_);
    switch (node_.op) {
      case OpType::kSigmoid:
        return xnn_check(
            quantized() ? xnn_create_sigmoid_nc_qs8(c, c, c, x.zero_point, x.scale, y.zero_point,
                                                    y.scale, -128, 127, 0, op_.out())
                        : xnn_create_sigmoid_nc_f32(c, c, c, 0, op_.out()),
            node_, "create sigmoid");
      case OpType::kTanh:  // only called for INT8: f32 tanh is a reference kernel
        return xnn_check(xnn_create_tanh_nc_qs8(c, c, c, x.zero_point, x.scale, y.zero_point,
                                                y.scale, -128, 127, 0, op_.out()),
                         node_, "create tanh");
      case OpType::kHardSwish:
        return xnn_check(xnn_create_hardswish_nc_f32(c, c, c, 0, op_.out()), node_,
                         "create hardswish");
      case OpType::kLeakyRelu:
        return xnn_check(xnn_create_leaky_relu_nc_f32(c, c, c, a.alpha, 0, op_.out()), node_,
                         "create leaky relu");
      case OpType::kSoftmax:
        return xnn_check(xnn_create_softmax_nc_f32(c, c, c, 0, op_.out()), node_, "create softmax");
      case OpType::kClamp: {
        if (!quantized())
          return xnn_check(xnn_create_clamp_nc_f32(c, c, c, a.clamp_min, a.clamp_max, 0, op_.out()),
                           node_, "create clamp");
        const auto [lo, hi] = int8_clamp(a, y);
        return xnn_check(xnn_create_clamp_nc_s8(c, c, c, lo, hi, 0, op_.out()), node_,
                         "create clamp");
      }
      case OpType::kQuantize:
        return xnn_check(
            xnn_create_convert_nc_f32_qs8(c, c, c, y.scale, y.zero_point, -128, 127, 0, op_.out()),
            node_, "create quantize");
      case OpType::kDequantize:
        return xnn_check(
            xnn_create_convert_nc_qs8_f32(c, c, c, x.scale, x.zero_point, 0, op_.out()), node_,
            "create dequantize");
      default:
        break;
    }
    return Status(ErrorCode::kInternal, "no row-wise kernel for node '" + node_.name + "'");
  }
  Status bind(const NodeBinding& b, pthreadpool_t pool) override {
    const size_t rows = static_cast<size_t>(outer_elements(output_.shape));
    const void* x = b.inputs[0];
    void* y = b.outputs[0];
    using F = const float*;
    using I = const std::int8_t*;
    xnn_status status = xnn_status_invalid_state;
    switch (node_.op) {
      case OpType::kSigmoid:
        status = quantized()
                     ? xnn_setup_sigmoid_nc_qs8(op_.get(), rows, I(x), (std::int8_t*)y, pool)
                     : xnn_setup_sigmoid_nc_f32(op_.get(), rows, F(x), (float*)y, pool);
        break;
      case OpType::kTanh:
        status = xnn_setup_tanh_nc_qs8(op_.get(), rows, I(x), (std::int8_t*)y, pool);
        break;
      case OpType::kHardSwish:
        status = xnn_setup_hardswish_nc_f32(op_.get(), rows, F(x), (float*)y, pool);
        break;
      case OpType::kLeakyRelu:
        status = xnn_setup_leaky_relu_nc_f32(op_.get(), rows, F(x), (float*)y, pool);
        break;
      case OpType::kSoftmax:
        status = xnn_setup_softmax_nc_f32(op_.get(), rows, F(x), (float*)y, pool);
        break;
      case OpType::kClamp:
        status = quantized() ? xnn_setup_clamp_nc_s8(op_.get(), rows, I(x), (std::int8_t*)y, pool)
                             : xnn_setup_clamp_nc_f32(op_.get(), rows, F(x), (float*)y, pool);
        break;
      case OpType::kQuantize:
        status = xnn_setup_convert_nc_f32_qs8(op_.get(), rows, F(x), (std::int8_t*)y, pool);
        break;
      case OpType::kDequantize:
        status = xnn_setup_convert_nc_qs8_f32(op_.get(), rows, I(x), (float*)y, pool);
        break;
      default:
        break;
    }
    return xnn_check(status, node_, "setup");
  }
};

class PoolKernel final : public XnnKernel {
 public:
  using XnnKernel::XnnKernel;
  Status prepare(const ConstantBytes&) override {
    const OpAttributes& a = node_.attributes;
    const size_t c = static_cast<size_t>(output_.shape[3]);
    const Quant x = quant_of(inputs_[0]), y = quant_of(output_);
    switch (node_.op) {
      case OpType::kGlobalAveragePool:
        return xnn_check(quantized() ? xnn_create_global_average_pooling_nwc_qs8(
                                           c, c, c, x.zero_point, x.scale, y.zero_point, y.scale,
                                           -128, 127, 0, op_.out())
                                     : xnn_create_global_average_pooling_nwc_f32(
                                           c, c, c, -INFINITY, INFINITY, 0, op_.out()),
                         node_, "create global average pooling");
      case OpType::kMaxPool2d: {
        if (!quantized())
          return xnn_check(xnn_create_max_pooling2d_nhwc_f32(
                               a.pad_top, a.pad_right, a.pad_bottom, a.pad_left, a.kernel_h,
                               a.kernel_w, a.stride_h, a.stride_w, a.dilation_h, a.dilation_w, c, c,
                               c, a.clamp_min, a.clamp_max, 0, op_.out()),
                           node_, "create max pooling");
        const auto [lo, hi] = int8_clamp(a, y);
        return xnn_check(
            xnn_create_max_pooling2d_nhwc_s8(
                a.pad_top, a.pad_right, a.pad_bottom, a.pad_left, a.kernel_h, a.kernel_w,
                a.stride_h, a.stride_w, a.dilation_h, a.dilation_w, c, c, c, lo, hi, 0, op_.out()),
            node_, "create max pooling");
      }
      case OpType::kAveragePool2d:
        return xnn_check(
            xnn_create_average_pooling2d_nhwc_f32(a.pad_top, a.pad_right, a.pad_bottom, a.pad_left,
                                                  a.kernel_h, a.kernel_w, a.stride_h, a.stride_w, c,
                                                  c, c, a.clamp_min, a.clamp_max, 0, op_.out()),
            node_, "create average pooling");
      case OpType::kResizeBilinear: {
        const std::uint32_t flags = a.align_corners ? XNN_FLAG_ALIGN_CORNERS : 0;
        return xnn_check(quantized()
                             ? xnn_create_resize_bilinear2d_nhwc_s8(c, c, c, flags, op_.out())
                             : xnn_create_resize_bilinear2d_nhwc_f32(c, c, c, flags, op_.out()),
                         node_, "create resize");
      }
      default:
        break;
    }
    return Status(ErrorCode::kInternal, "no pooling kernel for node '" + node_.name + "'");
  }
  Status bind(const NodeBinding& b, pthreadpool_t pool) override {
    const Shape& s = inputs_[0].shape;
    const size_t n = static_cast<size_t>(s[0]), h = static_cast<size_t>(s[1]),
                 w = static_cast<size_t>(s[2]);
    const void* x = b.inputs[0];
    void* y = b.outputs[0];
    using F = const float*;
    using I = const std::int8_t*;
    xnn_status status = xnn_status_invalid_state;
    switch (node_.op) {
      case OpType::kGlobalAveragePool:
        status = quantized() ? xnn_setup_global_average_pooling_nwc_qs8(op_.get(), n, h * w, I(x),
                                                                        (std::int8_t*)y, pool)
                             : xnn_setup_global_average_pooling_nwc_f32(op_.get(), n, h * w, F(x),
                                                                        (float*)y, pool);
        break;
      case OpType::kMaxPool2d:
        status =
            quantized()
                ? xnn_setup_max_pooling2d_nhwc_s8(op_.get(), n, h, w, I(x), (std::int8_t*)y, pool)
                : xnn_setup_max_pooling2d_nhwc_f32(op_.get(), n, h, w, F(x), (float*)y, pool);
        break;
      case OpType::kAveragePool2d:
        status = xnn_setup_average_pooling2d_nhwc_f32(op_.get(), n, h, w, F(x), (float*)y, pool);
        break;
      case OpType::kResizeBilinear: {
        const size_t oh = static_cast<size_t>(output_.shape[1]);
        const size_t ow = static_cast<size_t>(output_.shape[2]);
        status = quantized() ? xnn_setup_resize_bilinear2d_nhwc_s8(op_.get(), n, h, w, oh, ow, I(x),
                                                                   (std::int8_t*)y, pool)
                             : xnn_setup_resize_bilinear2d_nhwc_f32(op_.get(), n, h, w, oh, ow,
                                                                    F(x), (float*)y, pool);
        break;
      }
      default:
        break;
    }
    return xnn_check(status, node_, "setup");
  }
};

// Concat and reshape move bytes; they need no operator.
class CopyKernel final : public NodeKernel {
 public:
  CopyKernel(const ModelGraph& graph, const GraphNode& node) : node_(node) {
    for (int t : node.inputs) shapes_.push_back(graph.tensors[static_cast<size_t>(t)].info.shape);
    const TensorInfo& out = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
    element_ = data_type_size(out.type);
    out_shape_ = out.shape;
  }
  Status prepare(const ConstantBytes&) override { return Status::ok(); }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    binding_ = b;
    return Status::ok();
  }
  Status run(pthreadpool_t) override {
    auto* y = static_cast<std::uint8_t*>(binding_.outputs[0]);
    if (node_.op == OpType::kReshape) {
      std::memmove(y, binding_.inputs[0], static_cast<size_t>(out_shape_.elements()) * element_);
      return Status::ok();
    }
    const int axis =
        node_.attributes.axis < 0 ? node_.attributes.axis + out_shape_.rank : node_.attributes.axis;
    std::int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= out_shape_[d];
    for (int d = axis + 1; d < out_shape_.rank; ++d) inner *= out_shape_[d];
    const std::int64_t out_row = out_shape_[axis] * inner * static_cast<std::int64_t>(element_);
    std::int64_t column = 0;
    for (size_t i = 0; i < shapes_.size(); ++i) {
      const std::int64_t row = shapes_[i][axis] * inner * static_cast<std::int64_t>(element_);
      const auto* x = static_cast<const std::uint8_t*>(binding_.inputs[i]);
      for (std::int64_t o = 0; o < outer; ++o)
        std::memcpy(y + o * out_row + column, x + o * row, static_cast<size_t>(row));
      column += row;
    }
    return Status::ok();
  }
  void release() noexcept override {}

 private:
  GraphNode node_;
  std::vector<Shape> shapes_;
  Shape out_shape_;
  size_t element_ = 4;
  NodeBinding binding_;
};

// Everything else runs as the FP32 reference kernel, directly on tensor memory.
class ReferenceNodeKernel final : public NodeKernel {
 public:
  ReferenceNodeKernel(const ModelGraph& graph, const GraphNode& node) : node_(node) {
    for (int t : node.inputs) inputs_.push_back(graph.tensors[static_cast<size_t>(t)].info.shape);
    output_ = graph.tensors[static_cast<size_t>(node.outputs[0])].info.shape;
  }
  Status prepare(const ConstantBytes&) override { return Status::ok(); }
  Status bind(const NodeBinding& b, pthreadpool_t) override {
    binding_ = b;
    return Status::ok();
  }
  Status run(pthreadpool_t) override {
    auto x = [&](size_t i) { return static_cast<const float*>(binding_.inputs[i]); };
    auto* y = static_cast<float*>(binding_.outputs[0]);
    const reference::Nhwc s = inputs_[0].rank == 4 ? reference::Nhwc{inputs_[0][0], inputs_[0][1],
                                                                     inputs_[0][2], inputs_[0][3]}
                                                   : reference::Nhwc{};
    switch (node_.op) {
      case OpType::kTanh:
        reference::unary_f32(reference::Unary::kTanh, x(0), output_.elements(), 0, 0, y);
        break;
      case OpType::kGlobalMaxPool:
        reference::global_max_pool_f32(x(0), s, y);
        break;
      case OpType::kCorrelation:
        reference::correlation_f32(x(0), x(1), s, node_.attributes.max_displacement, y);
        break;
      case OpType::kWarp:
        reference::warp_f32(x(0), s, x(1), y);
        break;
      case OpType::kScatterToGrid:
        reference::scatter_to_grid_f32(x(0), static_cast<const std::int32_t*>(binding_.inputs[1]),
                                       inputs_[0][0], inputs_[0][1], node_.attributes.output_h,
                                       node_.attributes.output_w, y);
        break;
      default:
        return Status(ErrorCode::kInternal,
                      std::string("no reference kernel wired for ") + op_type_name(node_.op));
    }
    return Status::ok();
  }
  void release() noexcept override {}

 private:
  GraphNode node_;
  std::vector<Shape> inputs_;
  Shape output_;
  NodeBinding binding_;
};

}  // namespace

std::pair<int, int> int8_clamp(const OpAttributes& a, float scale, int zero_point) {
  auto to_q = [&](float v, int fallback) {
    if (!std::isfinite(v)) return fallback;
    return static_cast<int>(
        std::clamp(std::nearbyint(v / scale) + static_cast<float>(zero_point), -128.0f, 127.0f));
  };
  return {to_q(a.clamp_min, -128), to_q(a.clamp_max, 127)};
}

Result<std::unique_ptr<NodeKernel>> make_node_kernel(const ModelGraph& graph,
                                                     const GraphNode& node) {
  const TensorInfo& out = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  const bool int8 = out.type == DataType::kInt8;
  auto unsupported = [&](const char* why) -> Result<std::unique_ptr<NodeKernel>> {
    return Status(ErrorCode::kInvalidArgument,
                  "node '" + node.name + "' (" + op_type_name(node.op) + "): " + why);
  };
  switch (node.op) {
    case OpType::kConv2d:
    case OpType::kFullyConnected:
      return std::unique_ptr<NodeKernel>(std::make_unique<ConvKernel>(graph, node));
    case OpType::kAdd:
    case OpType::kMultiply:
      return std::unique_ptr<NodeKernel>(std::make_unique<BinaryKernel>(graph, node));
    case OpType::kSigmoid:
    case OpType::kClamp:
    case OpType::kQuantize:
    case OpType::kDequantize:
      return std::unique_ptr<NodeKernel>(std::make_unique<RowwiseKernel>(graph, node));
    case OpType::kTanh:
      if (int8) return std::unique_ptr<NodeKernel>(std::make_unique<RowwiseKernel>(graph, node));
      return std::unique_ptr<NodeKernel>(std::make_unique<ReferenceNodeKernel>(graph, node));
    case OpType::kHardSwish:
    case OpType::kLeakyRelu:  // XNNPACK has qu8 but no qs8 leaky relu (nor qs8 hardswish)
      if (int8) {
        if (auto table = make_int8_lut_node_kernel(graph, node)) return table;
        return unsupported("INT8 needs per-tensor quantization of its input and output");
      }
      return std::unique_ptr<NodeKernel>(std::make_unique<RowwiseKernel>(graph, node));
    case OpType::kSoftmax:
      if (int8)
        return unsupported("has no INT8 kernel; keep it in FP32 between (de)quantize nodes");
      return std::unique_ptr<NodeKernel>(std::make_unique<RowwiseKernel>(graph, node));
    case OpType::kGlobalAveragePool:
    case OpType::kMaxPool2d:
    case OpType::kResizeBilinear:
      return std::unique_ptr<NodeKernel>(std::make_unique<PoolKernel>(graph, node));
    case OpType::kAveragePool2d:
      if (int8)
        return unsupported("has no INT8 kernel; keep it in FP32 between (de)quantize nodes");
      return std::unique_ptr<NodeKernel>(std::make_unique<PoolKernel>(graph, node));
    case OpType::kConcat:
    case OpType::kReshape:
      return std::unique_ptr<NodeKernel>(std::make_unique<CopyKernel>(graph, node));
    case OpType::kGlobalMaxPool:
    case OpType::kCorrelation:
    case OpType::kWarp:
    case OpType::kScatterToGrid:
      if (auto flow = make_flow_node_kernel(graph, node)) return flow;
      if (int8 && node.op == OpType::kCorrelation)
        return make_int8_correlation_node_kernel(graph, node);
      if (int8)
        return unsupported("has no INT8 kernel; keep it in FP32 between (de)quantize nodes");
      return std::unique_ptr<NodeKernel>(std::make_unique<ReferenceNodeKernel>(graph, node));
  }
  return unsupported("unknown op");
}

}  // namespace fovea::inference
