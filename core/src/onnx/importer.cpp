#include "importer.h"

#include <algorithm>

namespace fovea::onnx_import {

bool layout_free(const std::vector<std::int64_t>& shape) {
  return shape.size() != 4 || shape[1] == 1 || (shape[2] == 1 && shape[3] == 1);
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (size_t d = 0; d < shape.size(); ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
  return text + "]";
}

// ---- NodeView ----

Status NodeView::unsupported(const std::string& what) const {
  return Status(ErrorCode::kInvalidArgument,
                "ONNX node '" + name_ + "' (" + op() + "): unsupported: " + what);
}

Status NodeView::malformed(const std::string& what) const {
  return Status(ErrorCode::kCorruptData, "ONNX node '" + name_ + "' (" + op() + "): " + what);
}

Status NodeView::allow_attributes(std::initializer_list<std::string_view> allowed) const {
  for (const onnx::AttributeProto& a : proto_.attribute())
    if (std::find(allowed.begin(), allowed.end(), a.name()) == allowed.end())
      return unsupported("attribute '" + a.name() + "'");
  return Status::ok();
}

const onnx::AttributeProto* NodeView::attribute(std::string_view name) const {
  for (const onnx::AttributeProto& a : proto_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

Result<std::int64_t> NodeView::attr_int(std::string_view name, std::int64_t fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto_AttributeType_INT)
    return malformed("attribute '" + std::string(name) + "' is not an integer");
  return static_cast<std::int64_t>(a->i());
}

Result<float> NodeView::attr_float(std::string_view name, float fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto_AttributeType_FLOAT)
    return malformed("attribute '" + std::string(name) + "' is not a float");
  return a->f();
}

Result<std::string> NodeView::attr_string(std::string_view name,
                                          const std::string& fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto_AttributeType_STRING)
    return malformed("attribute '" + std::string(name) + "' is not a string");
  return a->s();
}

Result<std::vector<std::int64_t>> NodeView::attr_ints(std::string_view name,
                                                      std::vector<std::int64_t> fallback) const {
  const onnx::AttributeProto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto_AttributeType_INTS)
    return malformed("attribute '" + std::string(name) + "' is not a list of integers");
  return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
}

// ---- Importer ----

const Value* Importer::find(const std::string& name) const {
  auto found = values_.find(name);
  return found == values_.end() ? nullptr : &found->second;
}

Result<Value> Importer::input(const NodeView& node, int i) const {
  if (!node.has_input(i)) return node.malformed("input " + std::to_string(i) + " is missing");
  const Value* value = find(node.input_name(i));
  if (value == nullptr)
    return node.malformed("input '" + node.input_name(i) +
                          "' is neither a graph input, an initializer nor the output of an earlier "
                          "node (ONNX nodes must be in topological order)");
  return *value;
}

Result<ConstantPtr> Importer::constant_input(const NodeView& node, int i,
                                             const std::string& what) const {
  FOVEA_ASSIGN_OR_RETURN(Value value, input(node, i));
  if (!value.is_constant())
    return node.unsupported(what + " '" + node.input_name(i) +
                            "' is computed at run time; it must be a constant");
  return value.constant;
}

void Importer::set_constant(const NodeView& node, ConstantTensor tensor) {
  Value value;
  value.shape = tensor.dims;
  value.constant = std::make_shared<ConstantTensor>(std::move(tensor));
  set_output(node, 0, std::move(value));
}

std::vector<std::int64_t> Importer::onnx_shape(const Shape& fovea, Layout layout) {
  if (layout == Layout::kNchw && fovea.rank == 4) return {fovea[0], fovea[3], fovea[1], fovea[2]};
  return std::vector<std::int64_t>(fovea.dims.begin(), fovea.dims.begin() + fovea.rank);
}

Result<int> Importer::nhwc_tensor(const NodeView& node, const Value& value) {
  if (value.is_constant()) return node.unsupported("a constant where an activation is expected");
  if (value.shape.size() != 4)
    return node.unsupported("input of shape " + shape_string(value.shape) +
                            " where an NCHW feature map (rank 4) is expected");
  if (value.layout == Layout::kNchw) return value.tensor;
  if (value.layout == Layout::kPlain && layout_free(value.shape)) {
    // The same elements in the same order: NHWC is only a different shape.
    const std::vector<std::int64_t>& s = value.shape;
    OpAttributes a;
    a.new_shape = Shape{s[0], s[2], s[3], s[1]};
    if (a.new_shape == draft_.info(value.tensor).shape) return value.tensor;
    FOVEA_ASSIGN_OR_RETURN(
        Value nhwc, add(node, "/to_nhwc", OpType::kReshape, {value.tensor}, a, Layout::kNchw));
    return nhwc.tensor;
  }
  return node.unsupported("input of shape " + shape_string(value.shape) +
                          " holds its elements in ONNX's order after a reshape or transpose, not "
                          "as a feature map; fovea has no general transpose");
}

Result<Value> Importer::add(const NodeView& node, const std::string& suffix, OpType op,
                            std::vector<int> inputs, const OpAttributes& attributes,
                            Layout layout) {
  auto tensor = draft_.add_node(node.name() + suffix, op, std::move(inputs), attributes,
                                node.output_name(0) + suffix);
  if (!tensor)
    return Status(tensor.status().code(), "ONNX node '" + node.name() + "' (" + node.op() +
                                              "): " + tensor.status().message());
  Value value;
  value.tensor = *tensor;
  value.layout = layout;
  value.shape = onnx_shape(draft_.info(*tensor).shape, layout);
  return value;
}

Result<Value> Importer::reshape(const NodeView& node, const Value& value,
                                std::vector<std::int64_t> shape, const std::string& suffix) {
  const std::int64_t elements = checked_elements(shape);
  if (elements < 0 || elements != checked_elements(value.shape))
    return node.malformed("cannot reshape " + shape_string(value.shape) + " to " +
                          shape_string(shape));
  if (shape == value.shape) return value;
  if (value.is_constant()) {
    ConstantTensor tensor = *value.constant;
    tensor.dims = shape;
    Value out;
    out.shape = shape;
    out.constant = std::make_shared<ConstantTensor>(std::move(tensor));
    return out;
  }
  if (shape.empty() || shape.size() > static_cast<size_t>(kMaxRank))
    return node.unsupported("an activation of rank " + std::to_string(shape.size()) +
                            " (fovea takes ranks 1 to 6)");
  if (value.layout == Layout::kFlattened) {
    if (shape == value.shape) return value;
    const auto& [c, h, w] = value.chw;
    if (shape == std::vector<std::int64_t>{value.shape[0], c, h, w}) {
      OpAttributes a;
      a.new_shape = Shape{shape[0], h, w, c};
      return add(node, suffix, OpType::kReshape, {value.tensor}, a, Layout::kNchw);
    }
    return node.unsupported("reshaping a flattened feature map to " + shape_string(shape) +
                            "; it may only feed Gemm or MatMul");
  }
  OpAttributes a;
  Layout layout = Layout::kPlain;
  if (value.layout == Layout::kNchw && !layout_free(value.shape)) {
    // NHWC holds the map in H, W, C order: flattening it works for Gemm and MatMul, whose
    // weights can be reordered to match; anything else would need a transpose.
    if (shape.size() != 2 || shape[0] != value.shape[0])
      return node.unsupported("reshaping an NCHW feature map " + shape_string(value.shape) +
                              " to " + shape_string(shape) +
                              ", which reorders its elements in NHWC (only flattening it into "
                              "Gemm or MatMul, or maps with one channel or 1x1 pixels, can be "
                              "reshaped)");
    a.new_shape = Shape{shape[0], shape[1]};
    FOVEA_ASSIGN_OR_RETURN(
        Value flat, add(node, suffix, OpType::kReshape, {value.tensor}, a, Layout::kFlattened));
    flat.chw = {value.shape[1], value.shape[2], value.shape[3]};
    return flat;
  }
  // From here the elements are in ONNX order in memory.
  a.new_shape.rank = static_cast<int>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) a.new_shape[static_cast<int>(d)] = shape[d];
  if (shape.size() == 4 && layout_free(shape)) {
    layout = Layout::kNchw;
    a.new_shape = Shape{shape[0], shape[2], shape[3], shape[1]};
  }
  if (a.new_shape == draft_.info(value.tensor).shape) {
    Value alias = value;
    alias.layout = layout;
    alias.shape = shape;
    return alias;
  }
  return add(node, suffix, OpType::kReshape, {value.tensor}, a, layout);
}

Result<int> Importer::broadcast_operand(const NodeView& node, const ConstantTensor& constant,
                                        const Value& activation, const std::string& suffix) {
  const size_t rank = activation.shape.size();
  if (constant.dims.size() > rank)
    return node.unsupported("a constant operand of shape " + shape_string(constant.dims) +
                            " with higher rank than the activation " +
                            shape_string(activation.shape));
  ConstantTensor c;
  c.dims = constant.dims;
  c.f = constant.floats();
  if (activation.layout == Layout::kNchw) {
    c.dims.insert(c.dims.begin(), rank - c.dims.size(), 1);
    c = transpose(c, {0, 2, 3, 1});
    while (c.dims.size() > 1 && c.dims.front() == 1) c.dims.erase(c.dims.begin());
  } else if (activation.layout == Layout::kFlattened && c.f.size() > 1) {
    const auto& [ch, h, w] = activation.chw;
    const bool per_column =
        c.dims.back() == ch * h * w && checked_elements(c.dims) == c.dims.back();
    if (!per_column)
      return node.unsupported("a constant operand of shape " + shape_string(constant.dims) +
                              " with a flattened feature map");
    ConstantTensor map;
    map.dims = {ch, h, w};
    map.f = c.f;
    c.f = transpose(map, {1, 2, 0}).f;
  }
  if (c.dims.empty()) c.dims = {1};
  Shape shape;
  shape.rank = static_cast<int>(c.dims.size());
  for (size_t d = 0; d < c.dims.size(); ++d) shape[static_cast<int>(d)] = c.dims[d];
  return draft_.add_constant(node.name() + suffix, shape, std::move(c.f));
}

int Importer::scalar(const NodeView& node, const std::string& suffix, float value) {
  return draft_.add_constant(node.name() + suffix, Shape{1}, {value});
}

}  // namespace fovea::onnx_import
