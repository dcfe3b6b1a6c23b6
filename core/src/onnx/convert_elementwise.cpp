// Activations and elementwise arithmetic: Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid,
// HardSwish, Add, Sub, Mul, Div, Softmax, and Floor/Ceil/Neg over constants (shape arithmetic).

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "importer.h"

namespace fovea::onnx_import {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Shape arithmetic folds tiny tensors; anything this large is a hostile file, not a model.
constexpr std::int64_t kMaxFoldedElements = std::int64_t{1} << 26;

// An activation op keeps its input's layout.
Result<Value> same_layout(Importer& im, const NodeView& node, const std::string& suffix, OpType op,
                          const Value& x, const OpAttributes& a, int operand = -1) {
  std::vector<int> inputs = {x.tensor};
  if (operand >= 0) inputs.push_back(operand);
  FOVEA_ASSIGN_OR_RETURN(Value y, im.add(node, suffix, op, inputs, a, x.layout));
  y.chw = x.chw;
  return y;
}

Result<Value> activation_input(Importer& im, const NodeView& node) {
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  if (x.is_constant()) return node.unsupported("a constant input (fold it before export)");
  return x;
}

Status clamp(Importer& im, const NodeView& node, float lo, float hi) {
  FOVEA_ASSIGN_OR_RETURN(Value x, activation_input(im, node));
  if (!(lo < hi)) return node.unsupported("an empty clip range");
  OpAttributes a;
  a.clamp_min = lo;
  a.clamp_max = hi;
  FOVEA_ASSIGN_OR_RETURN(Value y, same_layout(im, node, "", OpType::kClamp, x, a));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status relu(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  return clamp(im, node, 0.0f, kInf);
}

Status clip(Importer& im, const NodeView& node) {
  if (im.opset() < 11) {
    FOVEA_RETURN_IF_ERROR(node.allow_attributes({"min", "max"}));
    FOVEA_ASSIGN_OR_RETURN(const float lo, node.attr_float("min", -kInf));
    FOVEA_ASSIGN_OR_RETURN(const float hi, node.attr_float("max", kInf));
    return clamp(im, node, lo, hi);
  }
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  float bounds[2] = {-kInf, kInf};
  for (int i = 1; i <= 2; ++i) {
    if (!node.has_input(i)) continue;
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr bound, im.constant_input(node, i, i == 1 ? "min" : "max"));
    if (bound->elements() != 1) return node.malformed("clip bound is not a scalar");
    bounds[i - 1] = static_cast<float>(bound->at(0));
  }
  return clamp(im, node, bounds[0], bounds[1]);
}

Status unary(Importer& im, const NodeView& node, OpType op) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(Value x, activation_input(im, node));
  FOVEA_ASSIGN_OR_RETURN(Value y, same_layout(im, node, "", op, x, {}));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status sigmoid(Importer& im, const NodeView& node) {
  return unary(im, node, OpType::kSigmoid);
}
Status tanh_op(Importer& im, const NodeView& node) {
  return unary(im, node, OpType::kTanh);
}
Status hard_swish(Importer& im, const NodeView& node) {
  return unary(im, node, OpType::kHardSwish);
}

Status leaky_relu(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"alpha"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, activation_input(im, node));
  OpAttributes a;
  FOVEA_ASSIGN_OR_RETURN(a.alpha, node.attr_float("alpha", 0.01f));
  if (!std::isfinite(a.alpha)) return node.unsupported("a non-finite alpha");
  FOVEA_ASSIGN_OR_RETURN(Value y, same_layout(im, node, "", OpType::kLeakyRelu, x, a));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

// max(0, min(1, alpha x + beta)) as Mul and Add with the clamp fused: both have INT8 kernels,
// and after a convolution both fold into it.
Status hard_sigmoid(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"alpha", "beta"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, activation_input(im, node));
  FOVEA_ASSIGN_OR_RETURN(const float alpha, node.attr_float("alpha", 0.2f));
  FOVEA_ASSIGN_OR_RETURN(const float beta, node.attr_float("beta", 0.5f));
  FOVEA_ASSIGN_OR_RETURN(Value scaled, same_layout(im, node, "/scale", OpType::kMultiply, x, {},
                                                   im.scalar(node, "/alpha", alpha)));
  OpAttributes a;
  a.clamp_min = 0.0f;
  a.clamp_max = 1.0f;
  FOVEA_ASSIGN_OR_RETURN(
      Value y, same_layout(im, node, "", OpType::kAdd, scaled, a, im.scalar(node, "/beta", beta)));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

// Elementwise over two constants with NumPy broadcasting.
Result<ConstantTensor> fold_binary(const NodeView& node, const ConstantTensor& a,
                                   const ConstantTensor& b,
                                   const std::function<double(double, double)>& f) {
  const size_t rank = std::max(a.dims.size(), b.dims.size());
  auto padded = [&](const std::vector<std::int64_t>& dims) {
    std::vector<std::int64_t> out(rank - dims.size(), 1);
    out.insert(out.end(), dims.begin(), dims.end());
    return out;
  };
  const std::vector<std::int64_t> da = padded(a.dims), db = padded(b.dims);
  ConstantTensor out;
  out.is_float = a.is_float || b.is_float;
  out.dims.resize(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (da[d] != db[d] && da[d] != 1 && db[d] != 1)
      return node.malformed("shapes " + shape_string(a.dims) + " and " + shape_string(b.dims) +
                            " do not broadcast");
    out.dims[d] = da[d] == 1 ? db[d] : da[d];
  }
  const std::int64_t n = checked_elements(out.dims);
  if (n < 0 || n > kMaxFoldedElements)
    return node.unsupported("folding constants into " + shape_string(out.dims) + " elements");
  std::vector<std::int64_t> index(rank, 0);
  for (std::int64_t k = 0; k < n; ++k) {
    std::int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia = ia * da[d] + (da[d] == 1 ? 0 : index[d]);
      ib = ib * db[d] + (db[d] == 1 ? 0 : index[d]);
    }
    const double v = f(a.at(static_cast<size_t>(ia)), b.at(static_cast<size_t>(ib)));
    if (out.is_float)
      out.f.push_back(static_cast<float>(v));
    else
      out.i.push_back(static_cast<std::int64_t>(v));
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < out.dims[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

ConstantTensor map_floats(const ConstantTensor& c, const std::function<float(float)>& f) {
  ConstantTensor out{c.dims, true, c.floats(), {}};
  for (float& v : out.f) v = f(v);
  return out;
}

enum class Arith { kAdd, kSub, kMul, kDiv };

// Two activations of an elementwise op as fovea tensors in one layout.
Result<std::pair<int, int>> matched_pair(Importer& im, const NodeView& node, const Value& a,
                                         const Value& b, Layout& layout) {
  const bool nchw = (a.layout == Layout::kNchw && a.shape.size() == 4) ||
                    (b.layout == Layout::kNchw && b.shape.size() == 4);
  if (nchw) {
    if (a.shape.size() != 4 || b.shape.size() != 4)
      return node.unsupported("broadcasting a feature map with a rank-" +
                              std::to_string(std::min(a.shape.size(), b.shape.size())) +
                              " activation");
    FOVEA_ASSIGN_OR_RETURN(const int ta, im.nhwc_tensor(node, a));
    FOVEA_ASSIGN_OR_RETURN(const int tb, im.nhwc_tensor(node, b));
    layout = Layout::kNchw;
    return std::make_pair(ta, tb);
  }
  if (a.layout != b.layout || (a.layout == Layout::kFlattened && a.chw != b.chw))
    return node.unsupported("combining activations of different layouts");
  layout = a.layout;
  return std::make_pair(a.tensor, b.tensor);
}

Status arithmetic(Importer& im, const NodeView& node, Arith op) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(Value a, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(Value b, im.input(node, 1));
  if (a.is_constant() && b.is_constant()) {
    const bool ints = !a.constant->is_float && !b.constant->is_float;
    auto f = [op, ints](double x, double y) {
      switch (op) {
        case Arith::kAdd:
          return x + y;
        case Arith::kSub:
          return x - y;
        case Arith::kMul:
          return x * y;
        case Arith::kDiv:
          return ints ? std::trunc(x / y) : x / y;
      }
      return 0.0;
    };
    FOVEA_ASSIGN_OR_RETURN(ConstantTensor out, fold_binary(node, *a.constant, *b.constant, f));
    im.set_constant(node, std::move(out));
    return Status::ok();
  }
  const OpType fovea_op = op == Arith::kAdd || op == Arith::kSub ? OpType::kAdd : OpType::kMultiply;
  if (a.is_constant() || b.is_constant()) {
    const bool constant_first = a.is_constant();
    const Value& x = constant_first ? b : a;
    ConstantTensor c = *(constant_first ? a : b).constant;
    Value lhs = x;
    if (op == Arith::kDiv) {
      if (constant_first) return node.unsupported("dividing by an activation");
      c = map_floats(c, [](float v) { return 1.0f / v; });
    } else if (op == Arith::kSub) {
      if (constant_first) {  // c - x = (-x) + c
        FOVEA_ASSIGN_OR_RETURN(lhs, same_layout(im, node, "/negate", OpType::kMultiply, x, {},
                                                im.scalar(node, "/minus_one", -1.0f)));
      } else {
        c = map_floats(c, [](float v) { return -v; });
      }
    }
    FOVEA_ASSIGN_OR_RETURN(const int operand, im.broadcast_operand(node, c, x, "/operand"));
    FOVEA_ASSIGN_OR_RETURN(Value y, same_layout(im, node, "", fovea_op, lhs, {}, operand));
    im.set_output(node, 0, std::move(y));
    return Status::ok();
  }
  if (op == Arith::kDiv) return node.unsupported("dividing by an activation");
  Layout layout = Layout::kPlain;
  FOVEA_ASSIGN_OR_RETURN(auto tensors, matched_pair(im, node, a, b, layout));
  auto [ta, tb] = tensors;
  if (op == Arith::kSub) {  // a - b = a + (-1) b
    FOVEA_ASSIGN_OR_RETURN(Value negated,
                           im.add(node, "/negate", OpType::kMultiply,
                                  {tb, im.scalar(node, "/minus_one", -1.0f)}, {}, layout));
    tb = negated.tensor;
  }
  FOVEA_ASSIGN_OR_RETURN(Value y, im.add(node, "", fovea_op, {ta, tb}, {}, layout));
  y.chw = a.chw;
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status add(Importer& im, const NodeView& node) {
  return arithmetic(im, node, Arith::kAdd);
}
Status sub(Importer& im, const NodeView& node) {
  return arithmetic(im, node, Arith::kSub);
}
Status mul(Importer& im, const NodeView& node) {
  return arithmetic(im, node, Arith::kMul);
}
Status div(Importer& im, const NodeView& node) {
  return arithmetic(im, node, Arith::kDiv);
}

Status constant_unary(Importer& im, const NodeView& node, float (*f)(float)) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr x, im.constant_input(node, 0, "input"));
  ConstantTensor out = map_floats(*x, f);
  if (!x->is_float) {
    out.is_float = false;
    for (float v : out.f) out.i.push_back(static_cast<std::int64_t>(v));
    out.f.clear();
  }
  im.set_constant(node, std::move(out));
  return Status::ok();
}
Status floor_op(Importer& im, const NodeView& node) {
  return constant_unary(im, node, [](float v) { return std::floor(v); });
}
Status ceil_op(Importer& im, const NodeView& node) {
  return constant_unary(im, node, [](float v) { return std::ceil(v); });
}
Status neg_op(Importer& im, const NodeView& node) {
  return constant_unary(im, node, [](float v) { return -v; });
}

// Softmax normalises over one axis (opset 13 on) or over all axes from `axis` (before 13).
// fovea's runs over the last axis: the normalised elements must be the trailing block of the
// NHWC memory, reshaped to rows when they span several axes.
Status softmax(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axis"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, activation_input(im, node));
  const bool single_axis = im.opset() >= 13;
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t raw_axis, node.attr_int("axis", single_axis ? -1 : 1));
  const auto rank = static_cast<std::int64_t>(x.shape.size());
  if (raw_axis < -rank || raw_axis >= rank) return node.malformed("axis out of range");
  const std::int64_t axis = raw_axis < 0 ? raw_axis + rank : raw_axis;
  const Shape& fovea = im.draft().info(x.tensor).shape;
  std::vector<bool> normalised(static_cast<size_t>(rank), false);
  static constexpr int kNhwcAxis[4] = {0, 3, 1, 2};
  for (std::int64_t d = axis; d < (single_axis ? axis + 1 : rank); ++d)
    normalised[static_cast<size_t>(x.layout == Layout::kNchw ? kNhwcAxis[d] : d)] = true;
  std::int64_t d = rank - 1, inner = 1;
  for (; d >= 0 && (normalised[static_cast<size_t>(d)] || fovea[static_cast<int>(d)] == 1); --d)
    if (normalised[static_cast<size_t>(d)]) inner *= fovea[static_cast<int>(d)];
  for (std::int64_t e = 0; e <= d; ++e)
    if (normalised[static_cast<size_t>(e)])
      return node.unsupported("softmax over axis " + std::to_string(axis) + " of " +
                              shape_string(x.shape) +
                              ", which is not the innermost axis in NHWC (fovea's softmax runs "
                              "over the last axis)");
  if (inner == fovea[fovea.rank - 1]) {
    FOVEA_ASSIGN_OR_RETURN(Value y, same_layout(im, node, "", OpType::kSoftmax, x, {}));
    im.set_output(node, 0, std::move(y));
    return Status::ok();
  }
  OpAttributes rows;
  rows.new_shape = Shape{fovea.elements() / inner, inner};
  FOVEA_ASSIGN_OR_RETURN(Value flat,
                         im.add(node, "/rows", OpType::kReshape, {x.tensor}, rows, Layout::kPlain));
  FOVEA_ASSIGN_OR_RETURN(
      Value soft, im.add(node, "/softmax", OpType::kSoftmax, {flat.tensor}, {}, Layout::kPlain));
  OpAttributes back;
  back.new_shape = fovea;
  FOVEA_ASSIGN_OR_RETURN(Value y,
                         im.add(node, "", OpType::kReshape, {soft.tensor}, back, x.layout));
  y.chw = x.chw;
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

}  // namespace

void add_elementwise_converters(ConverterTable& table) {
  table["Relu"] = relu;
  table["LeakyRelu"] = leaky_relu;
  table["Clip"] = clip;
  table["Sigmoid"] = sigmoid;
  table["Tanh"] = tanh_op;
  table["HardSwish"] = hard_swish;
  table["HardSigmoid"] = hard_sigmoid;
  table["Add"] = add;
  table["Sub"] = sub;
  table["Mul"] = mul;
  table["Div"] = div;
  table["Floor"] = floor_op;
  table["Ceil"] = ceil_op;
  table["Neg"] = neg_op;
  table["Softmax"] = softmax;
}

}  // namespace fovea::onnx_import
