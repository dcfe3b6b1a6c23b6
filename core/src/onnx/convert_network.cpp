// Ops with weights or windows: Conv, BatchNormalization, Gemm, MatMul, MaxPool, AveragePool,
// GlobalAveragePool, GlobalMaxPool, ReduceMean/ReduceMax over H and W, Resize and Upsample.

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>

#include "importer.h"

namespace fovea::onnx_import {
namespace {

// Reads kernel, strides, dilations, pads and auto_pad into `a`. `in` is the NCHW input shape.
// With ceil_mode, the bottom/right padding grows so that floor division gives the ceil output
// size; `grew` says whether it did.
Status read_window(const NodeView& node, const std::vector<std::int64_t>& in,
                   std::vector<std::int64_t> kernel, bool ceil_mode, OpAttributes& a,
                   bool* grew = nullptr) {
  FOVEA_ASSIGN_OR_RETURN(kernel, node.attr_ints("kernel_shape", kernel));
  FOVEA_ASSIGN_OR_RETURN(const auto strides, node.attr_ints("strides", {1, 1}));
  FOVEA_ASSIGN_OR_RETURN(const auto dilations, node.attr_ints("dilations", {1, 1}));
  FOVEA_ASSIGN_OR_RETURN(auto pads, node.attr_ints("pads", {0, 0, 0, 0}));
  FOVEA_ASSIGN_OR_RETURN(const std::string auto_pad, node.attr_string("auto_pad", "NOTSET"));
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    return node.unsupported("a window that is not 2-D (kernel_shape " + shape_string(kernel) + ")");
  for (size_t d = 0; d < 2; ++d)
    if (kernel[d] < 1 || strides[d] < 1 || dilations[d] < 1 || kernel[d] > 1024 ||
        strides[d] > 1024 || dilations[d] > 1024)
      return node.malformed("kernel, strides or dilations out of range");
  for (std::int64_t p : pads)
    if (p < 0 || p > 1024) return node.unsupported("padding " + std::to_string(p));
  for (size_t d = 0; d < 2; ++d) {
    const std::int64_t size = in[2 + d];
    const std::int64_t extent = (kernel[d] - 1) * dilations[d] + 1;
    if (auto_pad == "VALID") {
      pads[d] = pads[d + 2] = 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::int64_t out = (size + strides[d] - 1) / strides[d];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * strides[d] + extent - size);
      const std::int64_t small = total / 2;
      pads[d] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[d + 2] = total - pads[d];
    } else if (auto_pad != "NOTSET" && !auto_pad.empty()) {
      return node.unsupported("auto_pad '" + auto_pad + "'");
    }
    if (ceil_mode) {
      const std::int64_t span = size + pads[d] + pads[d + 2] - extent;
      if (span < 0) return node.malformed("the window does not fit the input");
      std::int64_t out = (span + strides[d] - 1) / strides[d] + 1;
      // PyTorch's (and ONNX Runtime's) rule: the last window starts inside the input or its
      // leading padding.
      if ((out - 1) * strides[d] >= size + pads[d]) --out;
      const std::int64_t needed = (out - 1) * strides[d] + extent - size - pads[d];
      if (needed > pads[d + 2]) {
        pads[d + 2] = needed;
        if (grew) *grew = true;
      }
    }
  }
  a.kernel_h = static_cast<int>(kernel[0]);
  a.kernel_w = static_cast<int>(kernel[1]);
  a.stride_h = static_cast<int>(strides[0]);
  a.stride_w = static_cast<int>(strides[1]);
  a.dilation_h = static_cast<int>(dilations[0]);
  a.dilation_w = static_cast<int>(dilations[1]);
  a.pad_top = static_cast<int>(pads[0]);
  a.pad_left = static_cast<int>(pads[1]);
  a.pad_bottom = static_cast<int>(pads[2]);
  a.pad_right = static_cast<int>(pads[3]);
  return Status::ok();
}

Shape fovea_shape(const std::vector<std::int64_t>& dims) {
  Shape s;
  s.rank = static_cast<int>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) s[static_cast<int>(d)] = dims[d];
  return s;
}

Status conv(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(
      node.allow_attributes({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  if (!x.is_constant() && x.shape.size() != 4)
    return node.unsupported("a " + std::to_string(x.shape.size() - 2) +
                            "-D convolution (fovea's are 2-D)");
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr w, im.constant_input(node, 1, "weights"));
  FOVEA_ASSIGN_OR_RETURN(const int xt, im.nhwc_tensor(node, x));
  if (w->dims.size() != 4) return node.malformed("weights are not 4-D");
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t groups, node.attr_int("group", 1));
  if (groups < 1 || groups > INT_MAX) return node.malformed("group out of range");
  OpAttributes a;
  FOVEA_RETURN_IF_ERROR(read_window(node, x.shape, {w->dims[2], w->dims[3]}, false, a));
  a.groups = static_cast<int>(groups);
  // ONNX weights are [O, C/groups, KH, KW]; fovea's are [O, KH, KW, C/groups].
  ConstantTensor ohwi = transpose(ConstantTensor{w->dims, true, w->floats(), {}}, {0, 2, 3, 1});
  std::vector<int> inputs = {
      xt,
      im.draft().add_constant(node.name() + "/weights", fovea_shape(ohwi.dims), std::move(ohwi.f))};
  if (node.has_input(2)) {
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr b, im.constant_input(node, 2, "bias"));
    inputs.push_back(
        im.draft().add_constant(node.name() + "/bias", fovea_shape(b->dims), b->floats()));
  }
  FOVEA_ASSIGN_OR_RETURN(Value y, im.add(node, "", OpType::kConv2d, inputs, a, Layout::kNchw));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

// x * s + t per channel, which DraftGraph::fold() moves into the convolution before it.
Status batch_norm(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"epsilon", "momentum", "training_mode"}));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t training, node.attr_int("training_mode", 0));
  if (training != 0) return node.unsupported("training_mode 1 (export the model in eval mode)");
  FOVEA_ASSIGN_OR_RETURN(const float epsilon, node.attr_float("epsilon", 1e-5f));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  if (x.is_constant()) return node.unsupported("a constant input (fold it before export)");
  if (x.shape.size() < 2) return node.malformed("input has no channel axis");
  const std::int64_t channels = x.shape[1];
  ConstantPtr p[4];
  const char* names[4] = {"scale", "bias", "mean", "var"};
  for (int i = 0; i < 4; ++i) {
    FOVEA_ASSIGN_OR_RETURN(p[i], im.constant_input(node, i + 1, names[i]));
    if (p[i]->elements() != channels)
      return node.malformed(std::string(names[i]) + " does not have one value per channel");
  }
  ConstantTensor scale, shift;
  scale.dims.assign(x.shape.size() - 1, 1);
  scale.dims[0] = channels;
  shift.dims = scale.dims;
  for (std::int64_t c = 0; c < channels; ++c) {
    const auto k = static_cast<size_t>(c);
    const double s = p[0]->at(k) / std::sqrt(p[3]->at(k) + static_cast<double>(epsilon));
    scale.f.push_back(static_cast<float>(s));
    shift.f.push_back(static_cast<float>(p[1]->at(k) - p[2]->at(k) * s));
  }
  FOVEA_ASSIGN_OR_RETURN(const int s, im.broadcast_operand(node, scale, x, "/scale_values"));
  FOVEA_ASSIGN_OR_RETURN(const int t, im.broadcast_operand(node, shift, x, "/shift_values"));
  FOVEA_ASSIGN_OR_RETURN(Value scaled,
                         im.add(node, "/scale", OpType::kMultiply, {x.tensor, s}, {}, x.layout));
  FOVEA_ASSIGN_OR_RETURN(Value y, im.add(node, "", OpType::kAdd, {scaled.tensor, t}, {}, x.layout));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

// A fully connected layer on a rank-2 activation with weights [N, K] (fovea's [O, C] layout).
// A flattened feature map holds its K elements in H, W, C order: the columns follow it.
Result<Value> fully_connected(Importer& im, const NodeView& node, const Value& a,
                              ConstantTensor weights, std::vector<float> bias,
                              const std::string& suffix) {
  const std::int64_t outputs = weights.dims[0], k = weights.dims[1];
  if (a.shape.size() != 2 || a.shape[1] != k)
    return node.malformed("weights " + shape_string(weights.dims) + " do not fit input " +
                          shape_string(a.shape));
  if (a.layout == Layout::kFlattened) {
    const auto& [c, h, w] = a.chw;
    weights.dims = {outputs, c, h, w};
    weights = transpose(weights, {0, 2, 3, 1});
    weights.dims = {outputs, k};
  }
  std::vector<int> inputs = {
      a.tensor, im.draft().add_constant(node.name() + suffix + "/weights", Shape{outputs, k},
                                        std::move(weights.f))};
  if (!bias.empty())
    inputs.push_back(
        im.draft().add_constant(node.name() + suffix + "/bias", Shape{outputs}, std::move(bias)));
  return im.add(node, suffix, OpType::kFullyConnected, inputs, {}, Layout::kPlain);
}

Result<Value> fc_input(Importer& im, const NodeView& node) {
  FOVEA_ASSIGN_OR_RETURN(Value a, im.input(node, 0));
  if (a.is_constant()) return node.unsupported("a constant first operand (fold it before export)");
  return a;
}

Status gemm(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"alpha", "beta", "transA", "transB"}));
  FOVEA_ASSIGN_OR_RETURN(Value a, fc_input(im, node));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr b, im.constant_input(node, 1, "B"));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t trans_a, node.attr_int("transA", 0));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t trans_b, node.attr_int("transB", 0));
  FOVEA_ASSIGN_OR_RETURN(const float alpha, node.attr_float("alpha", 1.0f));
  FOVEA_ASSIGN_OR_RETURN(const float beta, node.attr_float("beta", 1.0f));
  if (trans_a != 0) return node.unsupported("transA=1");
  if (b->dims.size() != 2) return node.malformed("B is not 2-D");
  ConstantTensor w{b->dims, true, b->floats(), {}};
  if (trans_b == 0) w = transpose(w, {1, 0});
  for (float& v : w.f) v *= alpha;
  const std::int64_t outputs = w.dims[0];
  std::vector<float> bias;
  if (node.has_input(2)) {
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr c, im.constant_input(node, 2, "C"));
    const std::int64_t n = c->elements();
    const bool row = n == outputs && (c->dims.size() < 2 || c->dims[0] == 1);
    if (n != 1 && !row) return node.unsupported("a bias C of shape " + shape_string(c->dims));
    for (std::int64_t o = 0; o < outputs; ++o)
      bias.push_back(beta * static_cast<float>(c->at(n == 1 ? 0 : static_cast<size_t>(o))));
  }
  FOVEA_ASSIGN_OR_RETURN(Value y, fully_connected(im, node, a, std::move(w), std::move(bias), ""));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

// MatMul by constant weights [K, N]; inputs above rank 2 run as rows of one fully connected op.
Status matmul(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(Value a, fc_input(im, node));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr b, im.constant_input(node, 1, "B"));
  if (b->dims.size() != 2) return node.unsupported("a second operand of rank other than 2");
  ConstantTensor w = transpose(ConstantTensor{b->dims, true, b->floats(), {}}, {1, 0});
  if (a.shape.size() == 2) {
    FOVEA_ASSIGN_OR_RETURN(Value y, fully_connected(im, node, a, std::move(w), {}, ""));
    im.set_output(node, 0, std::move(y));
    return Status::ok();
  }
  if (a.shape.size() < 2) return node.unsupported("a rank-1 first operand");
  const std::int64_t k = a.shape.back();
  FOVEA_ASSIGN_OR_RETURN(Value rows,
                         im.reshape(node, a, {checked_elements(a.shape) / k, k}, "/rows"));
  FOVEA_ASSIGN_OR_RETURN(Value fc, fully_connected(im, node, rows, std::move(w), {}, "/fc"));
  std::vector<std::int64_t> shape = a.shape;
  shape.back() = b->dims[1];
  FOVEA_ASSIGN_OR_RETURN(Value y, im.reshape(node, fc, shape, ""));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status pool(Importer& im, const NodeView& node, bool max) {
  if (max) {
    FOVEA_RETURN_IF_ERROR(
        node.allow_attributes({"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                               "storage_order", "strides"}));
  } else {
    FOVEA_RETURN_IF_ERROR(node.allow_attributes(
        {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"}));
  }
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const int xt, im.nhwc_tensor(node, x));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t ceil_mode, node.attr_int("ceil_mode", 0));
  if (!node.attribute("kernel_shape")) return node.malformed("has no kernel_shape");
  OpAttributes a;
  bool grew = false;
  FOVEA_RETURN_IF_ERROR(read_window(node, x.shape, {}, ceil_mode != 0, a, &grew));
  if (!max) {
    FOVEA_ASSIGN_OR_RETURN(const std::int64_t include_pad, node.attr_int("count_include_pad", 0));
    const bool padded = a.pad_top || a.pad_left || a.pad_bottom || a.pad_right;
    if (include_pad && padded)
      return node.unsupported(
          "count_include_pad=1 with padding (fovea averages over the input pixels only; use "
          "AvgPool2d(count_include_pad=False) or no padding)");
  }
  FOVEA_ASSIGN_OR_RETURN(
      Value y,
      im.add(node, "", max ? OpType::kMaxPool2d : OpType::kAveragePool2d, {xt}, a, Layout::kNchw));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}
Status max_pool(Importer& im, const NodeView& node) {
  return pool(im, node, true);
}
Status average_pool(Importer& im, const NodeView& node) {
  return pool(im, node, false);
}

Status global_pool(Importer& im, const NodeView& node, OpType op) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const int xt, im.nhwc_tensor(node, x));
  FOVEA_ASSIGN_OR_RETURN(Value y, im.add(node, "", op, {xt}, {}, Layout::kNchw));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}
Status global_average_pool(Importer& im, const NodeView& node) {
  return global_pool(im, node, OpType::kGlobalAveragePool);
}
Status global_max_pool(Importer& im, const NodeView& node) {
  return global_pool(im, node, OpType::kGlobalMaxPool);
}

// Means and maxima over H and W are global pooling; a mean over C is a 1x1 convolution.
Status reduce(Importer& im, const NodeView& node, bool mean) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axes", "keepdims"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(std::vector<std::int64_t> axes, node.attr_ints("axes", {}));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t keep, node.attr_int("keepdims", 1));
  if (x.is_constant() || x.shape.size() != 4)
    return node.unsupported("a reduction other than over a feature map's H and W or C");
  for (std::int64_t& a : axes) {
    if (a < -4 || a > 3) return node.malformed("axis out of range");
    if (a < 0) a += 4;
  }
  std::sort(axes.begin(), axes.end());
  std::vector<std::int64_t> shape = x.shape;
  Value y;
  if (axes == std::vector<std::int64_t>{2, 3}) {
    FOVEA_ASSIGN_OR_RETURN(const int xt, im.nhwc_tensor(node, x));
    const std::string suffix = keep ? "" : "/pool";
    FOVEA_ASSIGN_OR_RETURN(
        y, im.add(node, suffix, mean ? OpType::kGlobalAveragePool : OpType::kGlobalMaxPool, {xt},
                  {}, Layout::kNchw));
    shape = {x.shape[0], x.shape[1]};
  } else if (axes == std::vector<std::int64_t>{1} && mean) {
    FOVEA_ASSIGN_OR_RETURN(const int xt, im.nhwc_tensor(node, x));
    const std::int64_t c = x.shape[1];
    const int w = im.draft().add_constant(
        node.name() + "/weights", Shape{1, 1, 1, c},
        std::vector<float>(static_cast<size_t>(c), 1.0f / static_cast<float>(c)));
    FOVEA_ASSIGN_OR_RETURN(
        y, im.add(node, keep ? "" : "/mean", OpType::kConv2d, {xt, w}, {}, Layout::kNchw));
    shape = {x.shape[0], x.shape[2], x.shape[3]};
  } else {
    return node.unsupported(std::string(mean ? "ReduceMean" : "ReduceMax") + " over axes " +
                            shape_string(axes) + " (only H and W" + (mean ? ", or C" : "") + ")");
  }
  if (!keep) {
    FOVEA_ASSIGN_OR_RETURN(y, im.reshape(node, y, shape, ""));
  }
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}
Status reduce_mean(Importer& im, const NodeView& node) {
  return reduce(im, node, true);
}
Status reduce_max(Importer& im, const NodeView& node) {
  return reduce(im, node, false);
}

// Nearest-neighbour upscaling by integer factors, as copies: concatenating a map with itself
// along C and reading the result as twice the width repeats each pixel; the same over rows.
Result<Value> nearest_upscale(Importer& im, const NodeView& node, const Value& x, int xt,
                              std::int64_t kh, std::int64_t kw) {
  const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  int t = xt;
  if (kw > 1) {
    OpAttributes a;
    a.axis = 3;
    FOVEA_ASSIGN_OR_RETURN(Value wide,
                           im.add(node, "/repeat_columns", OpType::kConcat,
                                  std::vector<int>(static_cast<size_t>(kw), t), a, Layout::kPlain));
    t = wide.tensor;
  }
  if (kh > 1) {
    OpAttributes rows;
    rows.new_shape = Shape{n, h, 1, w * kw * c};
    FOVEA_ASSIGN_OR_RETURN(Value flat,
                           im.add(node, "/as_rows", OpType::kReshape, {t}, rows, Layout::kPlain));
    OpAttributes a;
    a.axis = 2;
    FOVEA_ASSIGN_OR_RETURN(
        Value tall,
        im.add(node, "/repeat_rows", OpType::kConcat,
               std::vector<int>(static_cast<size_t>(kh), flat.tensor), a, Layout::kPlain));
    t = tall.tensor;
  }
  OpAttributes out;
  out.new_shape = Shape{n, h * kh, w * kw, c};
  return im.add(node, "", OpType::kReshape, {t}, out, Layout::kNchw);
}

Status resize_to(Importer& im, const NodeView& node, const Value& x,
                 const std::vector<std::int64_t>& out, const std::vector<float>& scales,
                 const std::string& mode, const std::string& transform,
                 const std::string& nearest_mode) {
  FOVEA_ASSIGN_OR_RETURN(const int xt, im.nhwc_tensor(node, x));
  if (out.size() != 4 || out[0] != x.shape[0] || out[1] != x.shape[1])
    return node.unsupported("resizing other axes than H and W (to " + shape_string(out) + ")");
  if (out[2] < 1 || out[3] < 1 || out[2] > kMaxDimension || out[3] > kMaxDimension)
    return node.malformed("output size " + shape_string(out) + " out of range");
  // With scales given, ONNX maps coordinates with the scale itself, fovea with out / in: the
  // same only where in * scale is a whole number.
  for (size_t d = 2; d < 4 && !scales.empty(); ++d)
    if (std::abs(static_cast<double>(x.shape[d]) * scales[d] - static_cast<double>(out[d])) >
        1e-6 * static_cast<double>(out[d]))
      return node.unsupported("a scale of " + std::to_string(scales[d]) +
                              " that gives a fractional size from " + std::to_string(x.shape[d]) +
                              " (use a size)");
  if (mode == "nearest") {
    const bool whole = out[2] % x.shape[2] == 0 && out[3] % x.shape[3] == 0;
    const bool identity = out[2] == x.shape[2] && out[3] == x.shape[3];
    const bool floor_like =
        (transform == "asymmetric" && nearest_mode == "floor") ||
        ((transform == "half_pixel" || transform == "pytorch_half_pixel") &&
         (nearest_mode == "round_prefer_floor" || nearest_mode == "round_prefer_ceil"));
    const bool small = out[2] / x.shape[2] <= 64 && out[3] / x.shape[3] <= 64;
    if (!whole || !small || !(identity || floor_like))
      return node.unsupported("nearest resize from " + shape_string(x.shape) + " to " +
                              shape_string(out) + " with '" + transform + "' / '" + nearest_mode +
                              "' (only whole upscaling factors, as PyTorch exports them)");
    FOVEA_ASSIGN_OR_RETURN(
        Value y, nearest_upscale(im, node, x, xt, out[2] / x.shape[2], out[3] / x.shape[3]));
    im.set_output(node, 0, std::move(y));
    return Status::ok();
  }
  if (mode != "linear" && mode != "bilinear") return node.unsupported("mode '" + mode + "'");
  OpAttributes a;
  a.output_h = static_cast<int>(out[2]);
  a.output_w = static_cast<int>(out[3]);
  if (transform == "align_corners") {
    a.align_corners = true;
  } else if (transform == "pytorch_half_pixel") {
    if (out[2] == 1 || out[3] == 1)
      return node.unsupported("pytorch_half_pixel to an output of size 1");
  } else if (transform != "half_pixel") {
    return node.unsupported("coordinate_transformation_mode '" + transform +
                            "' for linear resize (half_pixel, pytorch_half_pixel and "
                            "align_corners are supported)");
  }
  FOVEA_ASSIGN_OR_RETURN(Value y,
                         im.add(node, "", OpType::kResizeBilinear, {xt}, a, Layout::kNchw));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Result<std::vector<float>> resize_scales(Importer& im, const NodeView& node, int input,
                                         const Value& x) {
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr s, im.constant_input(node, input, "scales"));
  std::vector<float> scales = s->floats();
  if (scales.size() != x.shape.size()) return node.malformed("scales do not match the input rank");
  for (float v : scales)
    if (!(v > 0.0f) || !(v <= static_cast<float>(kMaxDimension)))
      return node.malformed("a scale is not positive or is absurd");
  return scales;
}

std::vector<std::int64_t> scaled_size(const Value& x, const std::vector<float>& scales) {
  std::vector<std::int64_t> out;
  for (size_t d = 0; d < x.shape.size(); ++d)
    out.push_back(
        static_cast<std::int64_t>(std::floor(static_cast<double>(x.shape[d]) * scales[d])));
  return out;
}

Status upsample(Importer& im, const NodeView& node);

Status resize(Importer& im, const NodeView& node) {
  // Opset 10's Resize is Upsample by another name: (X, scales) with asymmetric coordinates.
  if (im.opset() < 11) return upsample(im, node);
  FOVEA_RETURN_IF_ERROR(
      node.allow_attributes({"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                             "extrapolation_value", "mode", "nearest_mode"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const std::string mode, node.attr_string("mode", "nearest"));
  FOVEA_ASSIGN_OR_RETURN(const std::string transform,
                         node.attr_string("coordinate_transformation_mode", "half_pixel"));
  FOVEA_ASSIGN_OR_RETURN(const std::string nearest_mode,
                         node.attr_string("nearest_mode", "round_prefer_floor"));
  if (mode == "cubic") return node.unsupported("mode 'cubic' (linear and nearest are supported)");
  if (x.shape.size() != 4) return node.unsupported("resizing a tensor of rank other than 4");
  // Opset 11 on: X, roi, scales, sizes; an empty tensor stands for an absent one.
  auto present = [&](int i) {
    if (!node.has_input(i)) return false;
    const Value* v = im.find(node.input_name(i));
    return v == nullptr || !v->is_constant() || v->constant->elements() > 0;
  };
  if (present(3)) {
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr sizes, im.constant_input(node, 3, "sizes"));
    return resize_to(im, node, x, sizes->ints(), {}, mode, transform, nearest_mode);
  }
  if (!present(2)) return node.malformed("has neither scales nor sizes");
  FOVEA_ASSIGN_OR_RETURN(const std::vector<float> scales, resize_scales(im, node, 2, x));
  return resize_to(im, node, x, scaled_size(x, scales), scales, mode, transform, nearest_mode);
}

// The deprecated Upsample maps coordinates asymmetrically: nearest with floor.
Status upsample(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"mode"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const std::string mode, node.attr_string("mode", "nearest"));
  if (x.shape.size() != 4) return node.unsupported("upsampling a tensor of rank other than 4");
  FOVEA_ASSIGN_OR_RETURN(const std::vector<float> scales, resize_scales(im, node, 1, x));
  const std::vector<std::int64_t> out = scaled_size(x, scales);
  if (mode != "nearest" && !(out[2] == x.shape[2] && out[3] == x.shape[3]))
    return node.unsupported("mode '" + mode +
                            "' (Upsample's asymmetric linear mode differs from "
                            "fovea's; export with opset 11 or later for Resize)");
  return resize_to(im, node, x, out, scales, "nearest", "asymmetric", "floor");
}

}  // namespace

void add_network_converters(ConverterTable& table) {
  table["Conv"] = conv;
  table["BatchNormalization"] = batch_norm;
  table["Gemm"] = gemm;
  table["MatMul"] = matmul;
  table["MaxPool"] = max_pool;
  table["AveragePool"] = average_pool;
  table["GlobalAveragePool"] = global_average_pool;
  table["GlobalMaxPool"] = global_max_pool;
  table["ReduceMean"] = reduce_mean;
  table["ReduceMax"] = reduce_max;
  table["Resize"] = resize;
  table["Upsample"] = upsample;
}

}  // namespace fovea::onnx_import
