#pragma once
// What the op converters share: the values the ONNX graph has computed so far (activations in
// the draft graph, or constants), one node's attributes, and the layout rules.
//
// Layout. An ONNX rank-4 activation is NCHW; its fovea tensor is the NHWC tensor of the same
// values (Layout::kNchw). Other activations keep ONNX's element order (Layout::kPlain). A
// flatten of an NCHW map larger than 1x1 is kept in NHWC order (Layout::kFlattened) and may
// only feed Gemm or MatMul, whose weights are reordered to match.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "constant_tensor.h"
#include "draft_graph.h"

namespace fovea::onnx_import {

enum class Layout : std::uint8_t { kPlain, kNchw, kFlattened };

struct Value {
  ConstantPtr constant;  // set for a constant
  int tensor = -1;       // the draft tensor of an activation
  Layout layout = Layout::kPlain;
  std::vector<std::int64_t> shape;           // ONNX's shape
  std::array<std::int64_t, 3> chw{1, 1, 1};  // kFlattened: the map's C, H, W
  bool is_constant() const { return constant != nullptr; }
};

// Whether an NCHW tensor of this ONNX shape has the same element order in NHWC: at most one of
// C and H*W is above 1.
bool layout_free(const std::vector<std::int64_t>& shape);
std::string shape_string(const std::vector<std::int64_t>& shape);

class NodeView {
 public:
  NodeView(const onnx::NodeProto& proto, std::string name)
      : proto_(proto), name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  const std::string& op() const { return proto_.op_type(); }
  int input_count() const { return proto_.input_size(); }
  bool has_input(int i) const { return i < proto_.input_size() && !proto_.input(i).empty(); }
  const std::string& input_name(int i) const { return proto_.input(i); }
  int output_count() const { return proto_.output_size(); }
  const std::string& output_name(int i) const { return proto_.output(i); }

  // "ONNX node 'NAME' (OP): what" as kInvalidArgument (unsupported) or kCorruptData (malformed).
  Status unsupported(const std::string& what) const;
  Status malformed(const std::string& what) const;

  // Attributes other than `allowed` are an error naming them: an attribute the converter does
  // not know may change the op's meaning.
  Status allow_attributes(std::initializer_list<std::string_view> allowed) const;
  const onnx::AttributeProto* attribute(std::string_view name) const;
  Result<std::int64_t> attr_int(std::string_view name, std::int64_t fallback) const;
  Result<float> attr_float(std::string_view name, float fallback) const;
  Result<std::string> attr_string(std::string_view name, const std::string& fallback) const;
  Result<std::vector<std::int64_t>> attr_ints(std::string_view name,
                                              std::vector<std::int64_t> fallback) const;

 private:
  const onnx::NodeProto& proto_;
  std::string name_;
};

class Importer {
 public:
  Importer(int opset, DraftGraph& draft) : opset_(opset), draft_(draft) {}
  int opset() const { return opset_; }
  DraftGraph& draft() { return draft_; }

  void define(const std::string& name, Value value) { values_[name] = std::move(value); }
  const Value* find(const std::string& name) const;

  // Input `i` of the node; an error if absent or never produced.
  Result<Value> input(const NodeView& node, int i) const;
  // Input `i`, which must be a constant (`what` says what it is, for the error).
  Result<ConstantPtr> constant_input(const NodeView& node, int i, const std::string& what) const;
  // Output `i` of the node becomes `value`.
  void set_output(const NodeView& node, int i, Value value) {
    define(node.output_name(i), std::move(value));
  }
  void set_constant(const NodeView& node, ConstantTensor tensor);

  // The fovea tensor of a rank-4 activation, NHWC. A plain rank-4 tensor whose element order
  // is the same in both layouts is reshaped; other ones are an error.
  Result<int> nhwc_tensor(const NodeView& node, const Value& value);
  // Adds a fovea node whose output is the ONNX value `output` (suffix "" for the node's own
  // first output, anything else for a helper step) and returns that value in `layout`.
  Result<Value> add(const NodeView& node, const std::string& suffix, OpType op,
                    std::vector<int> inputs, const OpAttributes& attributes, Layout layout);
  // The value with ONNX shape `shape` and the same elements in the same ONNX order; an error
  // where NHWC would need the elements reordered.
  Result<Value> reshape(const NodeView& node, const Value& value, std::vector<std::int64_t> shape,
                        const std::string& suffix);
  // A constant as an operand of an elementwise op with `activation` (NumPy broadcasting in
  // ONNX's layout): reordered to NHWC for an NCHW activation.
  Result<int> broadcast_operand(const NodeView& node, const ConstantTensor& constant,
                                const Value& activation, const std::string& suffix);
  int scalar(const NodeView& node, const std::string& suffix, float value);

  static std::vector<std::int64_t> onnx_shape(const Shape& fovea, Layout layout);

 private:
  int opset_;
  DraftGraph& draft_;
  std::map<std::string, Value, std::less<>> values_;
};

using Converter = Status (*)(Importer&, const NodeView&);
using ConverterTable = std::map<std::string, Converter, std::less<>>;
void add_layout_converters(ConverterTable& table);       // convert_layout.cpp
void add_elementwise_converters(ConverterTable& table);  // convert_elementwise.cpp
void add_network_converters(ConverterTable& table);      // convert_network.cpp

}  // namespace fovea::onnx_import

// Declares `var` from a Result-returning expression, returning its error from the function.
#define FOVEA_ONNX_CONCAT_(a, b) a##b
#define FOVEA_ONNX_CONCAT(a, b) FOVEA_ONNX_CONCAT_(a, b)
#define FOVEA_ASSIGN_OR_RETURN(var, expr)                                                          \
  auto FOVEA_ONNX_CONCAT(result_, __LINE__) = (expr);                                              \
  if (!FOVEA_ONNX_CONCAT(result_, __LINE__)) return FOVEA_ONNX_CONCAT(result_, __LINE__).status(); \
  var = std::move(*FOVEA_ONNX_CONCAT(result_, __LINE__))
