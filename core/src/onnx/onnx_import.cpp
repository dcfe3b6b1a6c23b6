// Entry points: parses the protobuf, checks the opset, turns graph inputs and initializers into
// values, runs each node's converter in order, then folds and emits the fovea Model.

#include "fovea/core/onnx_import.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "importer.h"

namespace fovea {
namespace onnx_import {
namespace {

// Opset 10 too: OpenCV 4.6 reads ReLU6 only as opset 10's Clip with attributes, so networks
// compared with it are exported at 10.
constexpr int kOldestOpset = 10;
constexpr int kNewestOpset = 17;

const ConverterTable& converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    add_layout_converters(t);
    add_elementwise_converters(t);
    add_network_converters(t);
    return t;
  }();
  return table;
}

Status corrupt(const std::string& source, const std::string& message) {
  return Status(ErrorCode::kCorruptData, "ONNX file '" + source + "': " + message);
}

Result<int> default_opset(const onnx::ModelProto& model, const std::string& source) {
  int opset = -1;
  for (const onnx::OperatorSetIdProto& id : model.opset_import())
    if (id.domain().empty() || id.domain() == "ai.onnx") opset = static_cast<int>(id.version());
  if (opset < 0)
    return corrupt(source, "declares no opset for the default ONNX domain (a truncated file?)");
  if (opset < kOldestOpset || opset > kNewestOpset)
    return Status(ErrorCode::kInvalidArgument,
                  "ONNX file '" + source + "' uses opset " + std::to_string(opset) +
                      "; the importer takes opsets " + std::to_string(kOldestOpset) + " to " +
                      std::to_string(kNewestOpset) +
                      " (re-export with torch.onnx.export(..., opset_version=13))");
  return opset;
}

// An ONNX graph input as a fovea input: NCHW becomes NHWC; a symbolic batch becomes 1.
Result<Value> graph_input(const onnx::ValueInfoProto& info, DraftGraph& draft,
                          const std::string& source, std::string& description) {
  const std::string where = "ONNX file '" + source + "': input '" + info.name() + "'";
  if (!info.type().has_tensor_type() ||
      info.type().tensor_type().elem_type() != onnx::TensorProto_DataType_FLOAT)
    return Status(ErrorCode::kInvalidArgument, where + " is not a float tensor");
  if (!info.type().tensor_type().has_shape())
    return Status(ErrorCode::kInvalidArgument, where + " has no static shape");
  std::vector<std::int64_t> dims;
  for (const auto& d : info.type().tensor_type().shape().dim()) {
    if (d.has_dim_value() && d.dim_value() > 0 && d.dim_value() <= kMaxDimension) {
      dims.push_back(d.dim_value());
    } else if (dims.empty() && !d.has_dim_value()) {
      dims.push_back(1);  // a symbolic batch
    } else {
      return Status(ErrorCode::kInvalidArgument, where + " has a symbolic or invalid dimension " +
                                                     std::to_string(dims.size()) +
                                                     "; export with fixed input sizes");
    }
  }
  if (dims.empty() || dims.size() > static_cast<size_t>(kMaxRank))
    return Status(ErrorCode::kInvalidArgument, where + " has rank " + std::to_string(dims.size()) +
                                                   " (fovea takes ranks 1 to 6)");
  Value value;
  value.shape = dims;
  Shape shape;
  if (dims.size() == 4) {
    value.layout = Layout::kNchw;
    shape = Shape{dims[0], dims[2], dims[3], dims[1]};
  } else {
    shape.rank = static_cast<int>(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) shape[static_cast<int>(d)] = dims[d];
  }
  value.tensor = draft.add_input(info.name(), shape);
  description += "input '" + info.name() + "': ONNX " + shape_string(dims) + " -> fovea " +
                 shape.to_string() + (dims.size() == 4 ? " (NCHW -> NHWC)" : "") + "\n";
  return value;
}

Result<Model> convert(const onnx::ModelProto& model, const std::string& source,
                      const std::string& model_name) {
  if (!model.has_graph()) return corrupt(source, "has no graph");
  FOVEA_ASSIGN_OR_RETURN(const int opset, default_opset(model, source));
  const onnx::GraphProto& graph = model.graph();
  DraftGraph draft;
  Importer importer(opset, draft);
  std::string layout_notes;

  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) {
    auto constant = decode_tensor(t, t.name());
    if (!constant) return constant.status().with_context("ONNX file '" + source + "'");
    Value value;
    value.constant = *constant;
    value.shape = (*constant)->dims;
    importer.define(t.name(), std::move(value));
    initializers.insert(t.name());
  }
  for (const onnx::ValueInfoProto& info : graph.input()) {
    if (initializers.count(info.name())) continue;  // old exports list weights as inputs
    FOVEA_ASSIGN_OR_RETURN(Value value, graph_input(info, draft, source, layout_notes));
    importer.define(info.name(), std::move(value));
  }
  if (draft.inputs().empty()) return corrupt(source, "has no graph input");

  // Only first outputs are converted; a later output something reads is an error.
  std::set<std::string> consumed;
  for (const onnx::NodeProto& node : graph.node())
    for (const std::string& name : node.input()) consumed.insert(name);
  for (const onnx::ValueInfoProto& info : graph.output()) consumed.insert(info.name());

  for (int n = 0; n < graph.node_size(); ++n) {
    const onnx::NodeProto& proto = graph.node(n);
    const NodeView node(
        proto, proto.name().empty() ? proto.op_type() + "_" + std::to_string(n) : proto.name());
    if (!proto.domain().empty() && proto.domain() != "ai.onnx")
      return node.unsupported("op domain '" + proto.domain() + "'");
    if (proto.output_size() < 1) return node.malformed("has no output");
    const auto found = converters().find(proto.op_type());
    if (found == converters().end())
      return node.unsupported("op type '" + proto.op_type() +
                              "' is not supported by fovea's ONNX importer");
    FOVEA_RETURN_IF_ERROR(found->second(importer, node));
    for (int o = 0; o < proto.output_size(); ++o)
      if (!proto.output(o).empty() && consumed.count(proto.output(o)) &&
          importer.find(proto.output(o)) == nullptr)
        return node.unsupported("output " + std::to_string(o) + " ('" + proto.output(o) +
                                "') is used, and only the op's main output is supported");
  }

  for (const onnx::ValueInfoProto& info : graph.output()) {
    const Value* value = importer.find(info.name());
    const std::string where = "ONNX file '" + source + "': output '" + info.name() + "'";
    if (value == nullptr) return corrupt(source, "output '" + info.name() + "' is never computed");
    if (value->is_constant())
      return Status(ErrorCode::kInvalidArgument,
                    where + " is a constant; fovea outputs are computed");
    if (value->layout == Layout::kFlattened)
      return Status(ErrorCode::kInvalidArgument,
                    where + " is a flattened feature map, whose element order differs in NHWC");
    for (int input : draft.inputs())
      if (input == value->tensor)
        return Status(ErrorCode::kInvalidArgument, where + " is a graph input passed through");
    draft.add_output(value->tensor, info.name());
    const Shape& shape = draft.info(value->tensor).shape;
    layout_notes += "output '" + info.name() + "': ONNX " + shape_string(value->shape) +
                    " -> fovea " + shape.to_string() +
                    (value->layout == Layout::kNchw ? " (NCHW -> NHWC)" : "") + "\n";
  }
  if (graph.output_size() == 0) return corrupt(source, "has no graph output");

  draft.fold();
  ModelMetadata metadata;
  metadata.name = model_name;
  metadata.description =
      "Imported from ONNX. Rank-4 tensors are NHWC in fovea where ONNX has NCHW:\n" + layout_notes;
  metadata.provenance =
      "source: " + source + "\nimporter: fovea import_onnx\nonnx_opset: " + std::to_string(opset) +
      "\nproducer: " + model.producer_name() + " " + model.producer_version() + "\nlayout: NHWC\n";
  return draft.finish(std::move(metadata));
}

}  // namespace
}  // namespace onnx_import

Result<Model> import_onnx_bytes(std::span<const std::uint8_t> bytes, const std::string& source) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return Status(ErrorCode::kInvalidArgument,
                  "ONNX file '" + source + "' is over 2 GB, which protobuf cannot parse");
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status(ErrorCode::kCorruptData,
                  "ONNX file '" + source +
                      "' is not a valid ONNX model: protobuf parsing failed (truncated, corrupt or "
                      "not ONNX)");
  return onnx_import::convert(model, source,
                              model.graph().name().empty() ? source : model.graph().name());
}

Result<Model> import_onnx(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return Status(ErrorCode::kNotFound, "cannot open ONNX file '" + path + "'");
  const std::streamsize size = file.tellg();
  if (size < 0) return Status(ErrorCode::kNotFound, "cannot read ONNX file '" + path + "'");
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), size))
    return Status(ErrorCode::kNotFound, "cannot read ONNX file '" + path + "'");
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return import_onnx_bytes(bytes, path);  // for its error message
  return onnx_import::convert(model, path, std::filesystem::path(path).stem().string());
}

}  // namespace fovea
