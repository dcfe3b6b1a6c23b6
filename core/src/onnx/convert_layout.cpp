// Ops that move or relabel data: Identity, Dropout, Constant, Cast, Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Concat; and the shape arithmetic PyTorch exports leave behind (Shape,
// Gather, Slice over constants), evaluated here since every shape is static.

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "importer.h"

namespace fovea::onnx_import {
namespace {

Result<int> normalize_axis(const NodeView& node, std::int64_t axis, size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r)
    return node.malformed("axis " + std::to_string(axis) + " is out of range for rank " +
                          std::to_string(rank));
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

// Axes from the attribute (before opset 13) or the optional second input (13 on).
Result<std::vector<std::int64_t>> axes_of(Importer& im, const NodeView& node, int since_opset) {
  if (im.opset() < since_opset) return node.attr_ints("axes", {});
  if (!node.has_input(1)) return std::vector<std::int64_t>{};
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr axes, im.constant_input(node, 1, "axes"));
  return axes->ints();
}

Status identity(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  im.set_output(node, 0, std::move(x));
  return Status::ok();
}

Status dropout(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"seed", "ratio", "is_test"}));
  if (node.has_input(2)) {
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr training, im.constant_input(node, 2, "training_mode"));
    if (training->elements() != 1 || training->at(0) != 0.0)
      return node.unsupported("training_mode true (export the model in eval mode)");
  }
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  im.set_output(node, 0, std::move(x));
  return Status::ok();
}

Status constant(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(
      node.allow_attributes({"value", "value_float", "value_floats", "value_int", "value_ints"}));
  ConstantTensor tensor;
  if (const auto* a = node.attribute("value")) {
    if (a->type() != onnx::AttributeProto_AttributeType_TENSOR)
      return node.malformed("attribute 'value' is not a tensor");
    auto decoded = decode_tensor(a->t(), node.output_name(0));
    if (!decoded) return decoded.status().with_context("ONNX node '" + node.name() + "'");
    tensor = **decoded;
  } else if (const auto* f = node.attribute("value_float")) {
    tensor.f = {f->f()};
  } else if (const auto* fs = node.attribute("value_floats")) {
    tensor.f.assign(fs->floats().begin(), fs->floats().end());
    tensor.dims = {static_cast<std::int64_t>(tensor.f.size())};
  } else if (const auto* i = node.attribute("value_int")) {
    tensor.is_float = false;
    tensor.i = {i->i()};
  } else if (const auto* is = node.attribute("value_ints")) {
    tensor.is_float = false;
    tensor.i.assign(is->ints().begin(), is->ints().end());
    tensor.dims = {static_cast<std::int64_t>(tensor.i.size())};
  } else {
    return node.malformed("has no value");
  }
  im.set_constant(node, std::move(tensor));
  return Status::ok();
}

Status cast(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"to", "saturate"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t to, node.attr_int("to", 0));
  const bool to_float = to == onnx::TensorProto_DataType_FLOAT ||
                        to == onnx::TensorProto_DataType_DOUBLE ||
                        to == onnx::TensorProto_DataType_FLOAT16;
  if (!x.is_constant()) {
    if (!to_float) return node.unsupported("casting an activation to type " + std::to_string(to));
    im.set_output(node, 0, std::move(x));  // activations are float already
    return Status::ok();
  }
  ConstantTensor out;
  out.dims = x.constant->dims;
  out.is_float = to_float;
  if (to_float) {
    out.f = x.constant->floats();
  } else if (to == onnx::TensorProto_DataType_BOOL) {
    for (size_t k = 0; k < static_cast<size_t>(x.constant->elements()); ++k)
      out.i.push_back(x.constant->at(k) != 0.0);
  } else {
    out.i = x.constant->ints();
  }
  im.set_constant(node, std::move(out));
  return Status::ok();
}

Status shape(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"start", "end"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  const auto rank = static_cast<std::int64_t>(x.shape.size());
  FOVEA_ASSIGN_OR_RETURN(std::int64_t start, node.attr_int("start", 0));
  FOVEA_ASSIGN_OR_RETURN(std::int64_t end, node.attr_int("end", rank));
  start = std::clamp(start < 0 ? start + rank : start, std::int64_t{0}, rank);
  end = std::clamp(end < 0 ? end + rank : end, std::int64_t{0}, rank);
  ConstantTensor out;
  out.is_float = false;
  for (std::int64_t d = start; d < end; ++d) out.i.push_back(x.shape[static_cast<size_t>(d)]);
  out.dims = {static_cast<std::int64_t>(out.i.size())};
  im.set_constant(node, std::move(out));
  return Status::ok();
}

// Outer and inner element counts around `axis`.
std::pair<std::int64_t, std::int64_t> split_at(const std::vector<std::int64_t>& dims, int axis) {
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  return {outer, inner};
}

Status gather(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axis"}));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr data, im.constant_input(node, 0, "data"));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr indices, im.constant_input(node, 1, "indices"));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t raw_axis, node.attr_int("axis", 0));
  if (data->dims.empty()) return node.malformed("gathers from a scalar");
  FOVEA_ASSIGN_OR_RETURN(const int axis, normalize_axis(node, raw_axis, data->dims.size()));
  const auto [outer, inner] = split_at(data->dims, axis);
  const std::int64_t extent = data->dims[static_cast<size_t>(axis)];
  ConstantTensor out;
  out.is_float = data->is_float;
  out.dims.assign(data->dims.begin(), data->dims.begin() + axis);
  out.dims.insert(out.dims.end(), indices->dims.begin(), indices->dims.end());
  out.dims.insert(out.dims.end(), data->dims.begin() + axis + 1, data->dims.end());
  const std::int64_t total = checked_elements(out.dims);
  if (total < 0 || total > (std::int64_t{1} << 26))
    return node.unsupported("gathering " + shape_string(out.dims) + " elements at import time");
  const std::vector<std::int64_t> picks = indices->ints();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t pick : picks) {
      if (pick < -extent || pick >= extent) return node.malformed("index out of range");
      const std::int64_t row = pick < 0 ? pick + extent : pick;
      for (std::int64_t k = 0; k < inner; ++k) {
        const auto source = static_cast<size_t>((o * extent + row) * inner + k);
        if (out.is_float)
          out.f.push_back(data->f[source]);
        else
          out.i.push_back(data->i[source]);
      }
    }
  im.set_constant(node, std::move(out));
  return Status::ok();
}

Status slice(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  if (!x.is_constant()) return node.unsupported("slicing an activation (fovea has no slice op)");
  const ConstantTensor& data = *x.constant;
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr starts_c, im.constant_input(node, 1, "starts"));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr ends_c, im.constant_input(node, 2, "ends"));
  const std::vector<std::int64_t> starts = starts_c->ints(), ends = ends_c->ints();
  std::vector<std::int64_t> axes(starts.size()), steps(starts.size(), 1);
  std::iota(axes.begin(), axes.end(), 0);
  if (node.has_input(3)) {
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr a, im.constant_input(node, 3, "axes"));
    axes = a->ints();
  }
  if (node.has_input(4)) {
    FOVEA_ASSIGN_OR_RETURN(ConstantPtr s, im.constant_input(node, 4, "steps"));
    steps = s->ints();
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return node.malformed("starts, ends, axes and steps differ in length");
  const size_t rank = data.dims.size();
  std::vector<std::int64_t> begin(rank, 0), step(rank, 1), count = data.dims;
  for (size_t k = 0; k < axes.size(); ++k) {
    FOVEA_ASSIGN_OR_RETURN(const int axis, normalize_axis(node, axes[k], rank));
    const std::int64_t dim = data.dims[static_cast<size_t>(axis)];
    if (steps[k] == 0 || std::abs(steps[k]) > dim + 1) {
      if (steps[k] == 0) return node.malformed("step 0");
      steps[k] = steps[k] > 0 ? dim + 1 : -(dim + 1);  // one element either way; no overflow
    }
    auto clampi = [&](std::int64_t v, bool forward) {
      if (v < 0) v += dim;
      return forward ? std::clamp(v, std::int64_t{0}, dim)
                     : std::clamp(v, std::int64_t{-1}, dim - 1);
    };
    const bool forward = steps[k] > 0;
    const std::int64_t b = clampi(starts[k], forward), e = clampi(ends[k], forward);
    const std::int64_t n =
        forward ? (e - b + steps[k] - 1) / steps[k] : (b - e - steps[k] - 1) / -steps[k];
    begin[static_cast<size_t>(axis)] = b;
    step[static_cast<size_t>(axis)] = steps[k];
    count[static_cast<size_t>(axis)] = std::max<std::int64_t>(n, 0);
  }
  ConstantTensor out;
  out.is_float = data.is_float;
  out.dims = count;
  const std::int64_t total = checked_elements(count);
  std::vector<std::int64_t> stride(rank, 1), index(rank, 0);
  for (size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * data.dims[d];
  for (std::int64_t k = 0; k < total; ++k) {
    std::int64_t source = 0;
    for (size_t d = 0; d < rank; ++d) source += (begin[d] + index[d] * step[d]) * stride[d];
    if (out.is_float)
      out.f.push_back(data.f[static_cast<size_t>(source)]);
    else
      out.i.push_back(data.i[static_cast<size_t>(source)]);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < count[d]) break;
      index[d] = 0;
    }
  }
  im.set_constant(node, std::move(out));
  return Status::ok();
}

Status reshape(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"allowzero"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(ConstantPtr target, im.constant_input(node, 1, "shape"));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t allow_zero, node.attr_int("allowzero", 0));
  std::vector<std::int64_t> shape = target->ints();
  int inferred = -1;
  std::int64_t known = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0 && !allow_zero) {
      if (d >= x.shape.size()) return node.malformed("copies a dimension the input lacks");
      shape[d] = x.shape[d];
    }
    if (shape[d] == -1) {
      if (inferred >= 0) return node.malformed("has two -1 dimensions");
      inferred = static_cast<int>(d);
    } else if (shape[d] < 0 || (shape[d] > 0 && known > (std::int64_t{1} << 40) / shape[d])) {
      return node.malformed("has a negative or absurd dimension");
    } else {
      known *= shape[d];
    }
  }
  if (inferred >= 0) {
    const std::int64_t total = checked_elements(x.shape);
    if (known == 0 || total % known != 0)
      return node.malformed("cannot infer the -1 dimension of " + shape_string(shape));
    shape[static_cast<size_t>(inferred)] = total / known;
  }
  FOVEA_ASSIGN_OR_RETURN(Value y, im.reshape(node, x, shape, ""));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status flatten(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axis"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t raw_axis, node.attr_int("axis", 1));
  const auto rank = static_cast<std::int64_t>(x.shape.size());
  if (raw_axis < -rank || raw_axis > rank) return node.malformed("axis out of range");
  const std::int64_t axis = raw_axis < 0 ? raw_axis + rank : raw_axis;
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= x.shape[static_cast<size_t>(d)];
  FOVEA_ASSIGN_OR_RETURN(Value y, im.reshape(node, x, {outer, inner}, ""));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status squeeze(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axes"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const std::vector<std::int64_t> axes, axes_of(im, node, 13));
  std::vector<bool> drop(x.shape.size(), axes.empty());
  if (axes.empty())
    for (size_t d = 0; d < x.shape.size(); ++d) drop[d] = x.shape[d] == 1;
  for (std::int64_t a : axes) {
    FOVEA_ASSIGN_OR_RETURN(const int axis, normalize_axis(node, a, x.shape.size()));
    if (x.shape[static_cast<size_t>(axis)] != 1)
      return node.malformed("squeezes a dimension above 1");
    drop[static_cast<size_t>(axis)] = true;
  }
  std::vector<std::int64_t> shape;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (!drop[d]) shape.push_back(x.shape[d]);
  FOVEA_ASSIGN_OR_RETURN(Value y, im.reshape(node, x, shape, ""));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

Status unsqueeze(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axes"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  FOVEA_ASSIGN_OR_RETURN(const std::vector<std::int64_t> axes, axes_of(im, node, 13));
  if (axes.empty()) return node.malformed("has no axes");
  const size_t rank = x.shape.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (std::int64_t a : axes) {
    FOVEA_ASSIGN_OR_RETURN(const int axis, normalize_axis(node, a, rank));
    if (inserted[static_cast<size_t>(axis)]) return node.malformed("repeats an axis");
    inserted[static_cast<size_t>(axis)] = true;
  }
  std::vector<std::int64_t> shape;
  size_t next = 0;
  for (size_t d = 0; d < rank; ++d) shape.push_back(inserted[d] ? 1 : x.shape[next++]);
  FOVEA_ASSIGN_OR_RETURN(Value y, im.reshape(node, x, shape, ""));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

// The ONNX axes of `value` in the order its elements lie in memory, leaving out axes of size 1
// (they do not affect the order).
std::vector<int> memory_order(const std::vector<std::int64_t>& shape,
                              const std::vector<int>& order) {
  std::vector<int> out;
  for (int axis : order)
    if (shape[static_cast<size_t>(axis)] != 1) out.push_back(axis);
  return out;
}

Status transpose_op(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"perm"}));
  FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, 0));
  const size_t rank = x.shape.size();
  std::vector<std::int64_t> reversed(rank);
  for (size_t d = 0; d < rank; ++d) reversed[d] = static_cast<std::int64_t>(rank - 1 - d);
  FOVEA_ASSIGN_OR_RETURN(const std::vector<std::int64_t> perm64, node.attr_ints("perm", reversed));
  std::vector<int> perm;
  std::vector<bool> seen(rank, false);
  for (std::int64_t p : perm64) {
    if (p < 0 || p >= static_cast<std::int64_t>(rank) || seen[static_cast<size_t>(p)])
      return node.malformed("perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
    perm.push_back(static_cast<int>(p));
  }
  if (perm.size() != rank) return node.malformed("perm is not a permutation");
  if (x.is_constant()) {
    im.set_constant(node, transpose(*x.constant, perm));
    return Status::ok();
  }
  if (x.layout == Layout::kFlattened)
    return node.unsupported("transposing a flattened feature map");
  std::vector<std::int64_t> shape(rank);
  for (size_t j = 0; j < rank; ++j) shape[j] = x.shape[static_cast<size_t>(perm[j])];
  std::vector<int> plain(rank);
  std::iota(plain.begin(), plain.end(), 0);
  const std::vector<int> nchw = {0, 2, 3, 1};
  const std::vector<int> in_order = memory_order(x.shape, x.layout == Layout::kNchw ? nchw : plain);
  // The output's memory order in input axes, for each layout it could take.
  auto output_order = [&](const std::vector<int>& layout_order) {
    std::vector<int> in_axes;
    for (int j : layout_order) in_axes.push_back(perm[static_cast<size_t>(j)]);
    return memory_order(x.shape, in_axes);
  };
  // Where the output, in one of the layouts it could take, has the input's element order, the
  // transpose is a relabelling (at most a reshape) in fovea. NCHW is preferred for rank 4, so
  // feature maps stay usable by convolutions.
  std::vector<Layout> candidates = {Layout::kPlain};
  if (rank == 4) candidates.insert(candidates.begin(), Layout::kNchw);
  for (Layout layout : candidates) {
    if (output_order(layout == Layout::kNchw ? nchw : plain) != in_order) continue;
    Shape fovea;
    if (layout == Layout::kNchw) {
      fovea = Shape{shape[0], shape[2], shape[3], shape[1]};
    } else {
      fovea.rank = static_cast<int>(rank);
      for (size_t d = 0; d < rank; ++d) fovea[static_cast<int>(d)] = shape[d];
    }
    Value y = x;
    y.layout = layout;
    y.shape = shape;
    if (!(fovea == im.draft().info(x.tensor).shape)) {
      OpAttributes a;
      a.new_shape = fovea;
      FOVEA_ASSIGN_OR_RETURN(y, im.add(node, "", OpType::kReshape, {x.tensor}, a, layout));
    }
    im.set_output(node, 0, std::move(y));
    return Status::ok();
  }
  return node.unsupported("transpose with perm " + shape_string(perm64) + " of " +
                          shape_string(x.shape) +
                          " reorders elements in NHWC (fovea has no general transpose; only "
                          "transposes between NCHW and NHWC, or that move axes of size 1, work)");
}

Status concat(Importer& im, const NodeView& node) {
  FOVEA_RETURN_IF_ERROR(node.allow_attributes({"axis"}));
  if (node.input_count() < 1) return node.malformed("has no inputs");
  std::vector<Value> xs;
  bool all_constant = true;
  const Value* activation = nullptr;
  for (int i = 0; i < node.input_count(); ++i) {
    FOVEA_ASSIGN_OR_RETURN(Value x, im.input(node, i));
    xs.push_back(std::move(x));
  }
  for (const Value& x : xs) {
    all_constant = all_constant && x.is_constant();
    if (!x.is_constant() && activation == nullptr) activation = &x;
  }
  FOVEA_ASSIGN_OR_RETURN(const std::int64_t raw_axis, node.attr_int("axis", 0));
  const size_t rank = xs[0].shape.size();
  if (rank == 0) return node.malformed("concatenates scalars");
  FOVEA_ASSIGN_OR_RETURN(const int axis, normalize_axis(node, raw_axis, rank));
  for (const Value& x : xs)
    if (x.shape.size() != rank) return node.malformed("inputs differ in rank");

  if (all_constant) {
    ConstantTensor out;
    out.is_float =
        std::all_of(xs.begin(), xs.end(), [](const Value& x) { return x.constant->is_float; });
    out.dims = xs[0].shape;
    out.dims[static_cast<size_t>(axis)] = 0;
    for (const Value& x : xs)
      out.dims[static_cast<size_t>(axis)] += x.shape[static_cast<size_t>(axis)];
    const auto [outer, ignored] = split_at(out.dims, axis);
    for (std::int64_t o = 0; o < outer; ++o)
      for (const Value& x : xs) {
        const auto [x_outer, x_inner] = split_at(x.shape, axis);
        const std::int64_t row = x.shape[static_cast<size_t>(axis)] * x_inner;
        for (std::int64_t k = 0; k < row; ++k) {
          const auto source = static_cast<size_t>(o * row + k);
          if (out.is_float)
            out.f.push_back(static_cast<float>(x.constant->at(source)));
          else
            out.i.push_back(x.constant->i[source]);
        }
      }
    im.set_constant(node, std::move(out));
    return Status::ok();
  }

  const bool nchw = rank == 4 && std::any_of(xs.begin(), xs.end(), [](const Value& x) {
                      return !x.is_constant() && x.layout == Layout::kNchw;
                    });
  std::vector<int> inputs;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Value& x = xs[i];
    const std::string suffix = "/input" + std::to_string(i);
    if (x.is_constant()) {
      if (nchw) {
        ConstantTensor c = transpose(
            ConstantTensor{x.constant->dims, true, x.constant->floats(), {}}, {0, 2, 3, 1});
        inputs.push_back(im.draft().add_constant(node.name() + suffix,
                                                 Shape{c.dims[0], c.dims[1], c.dims[2], c.dims[3]},
                                                 std::move(c.f)));
      } else {
        Shape s;
        s.rank = static_cast<int>(rank);
        for (size_t d = 0; d < rank; ++d) s[static_cast<int>(d)] = x.shape[d];
        inputs.push_back(im.draft().add_constant(node.name() + suffix, s, x.constant->floats()));
      }
    } else if (nchw) {
      FOVEA_ASSIGN_OR_RETURN(const int t, im.nhwc_tensor(node, x));
      inputs.push_back(t);
    } else if (x.layout == Layout::kPlain) {
      inputs.push_back(x.tensor);
    } else {
      return node.unsupported("concatenating a flattened feature map");
    }
  }
  OpAttributes a;
  static constexpr int kNhwcAxis[4] = {0, 3, 1, 2};
  a.axis = nchw ? kNhwcAxis[axis] : axis;
  FOVEA_ASSIGN_OR_RETURN(
      Value y, im.add(node, "", OpType::kConcat, inputs, a, nchw ? Layout::kNchw : Layout::kPlain));
  im.set_output(node, 0, std::move(y));
  return Status::ok();
}

}  // namespace

void add_layout_converters(ConverterTable& table) {
  table["Identity"] = identity;
  table["Dropout"] = dropout;
  table["Constant"] = constant;
  table["Cast"] = cast;
  table["Shape"] = shape;
  table["Gather"] = gather;
  table["Slice"] = slice;
  table["Reshape"] = reshape;
  table["Flatten"] = flatten;
  table["Squeeze"] = squeeze;
  table["Unsqueeze"] = unsqueeze;
  table["Transpose"] = transpose_op;
  table["Concat"] = concat;
}

}  // namespace fovea::onnx_import
