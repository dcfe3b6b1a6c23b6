// ONNX import against PyTorch: the models and outputs come from
// tests/reference/make_onnx_models.py.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "fovea/core/compiled_model.h"
#include "fovea/core/onnx_import.h"
#include "fovea/core/quantizer.h"
#include "fovea/core/reference_executor.h"
#include "support/op_fixture.h"

namespace fovea {
namespace {

std::string fixture_path(const std::string& name) {
  return std::string(FOVEA_FIXTURE_DIR) + "/" + name;
}

// make_onnx_models.py's procedural_image(), bit for bit, in NHWC: integer arithmetic, then
// float32 scaling and ImageNet normalisation.
std::vector<float> procedural_image(int channels, int h, int w, int variant) {
  static const float kMean[3] = {0.485f, 0.456f, 0.406f}, kStd[3] = {0.229f, 0.224f, 0.225f};
  std::vector<float> out(static_cast<size_t>(channels) * h * w);
  const std::int64_t cy = std::int64_t{h} * (3 + variant % 3) / 8;
  const std::int64_t cx = std::int64_t{w} * (5 - variant % 4) / 8;
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const std::int64_t ring = ((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (h + 7 * variant + 1);
      const std::int64_t tiles = (y / (h / 7 + 1) + x / (w / 5 + 1) + variant) % 3;
      for (int k = 0; k < channels; ++k) {
        std::int64_t v = (x * 255 / std::max(w - 1, 1) * (k + 1) +
                          y * 255 / std::max(h - 1, 1) * (channels - k) + 60 * variant) /
                         (channels + 1);
        v = (v + 40 * (ring % (4 + k)) + 70 * tiles * (k == variant % channels ? 1 : 0)) % 256;
        out[static_cast<size_t>((y * w + x) * channels + k)] =
            (static_cast<float>(v) / 255.0f - kMean[k % 3]) / kStd[k % 3];
      }
    }
  return out;
}

std::vector<FloatTensor> image_input(const Model& model, int variant) {
  const Shape& s = model.graph.tensors[static_cast<size_t>(model.graph.inputs[0])].info.shape;
  REQUIRE(s.rank == 4);
  return {FloatTensor{s, procedural_image(static_cast<int>(s[3]), static_cast<int>(s[1]),
                                          static_cast<int>(s[2]), variant)}};
}

std::vector<FloatTensor> run_float_reference(const Model& model,
                                             const std::vector<FloatTensor>& inputs) {
  auto decoder = [&model](int index, std::span<std::uint8_t> out) {
    return model.decode_constant(index, out);
  };
  auto outputs = run_reference(model.graph, decoder, inputs);
  REQUIRE_MESSAGE(outputs.is_ok(), outputs.status().to_string());
  return *outputs;
}

// Runs the model through the XNNPACK executor; every output comes back as float.
std::vector<std::vector<float>> run_compiled(std::shared_ptr<const Model> model,
                                             const std::vector<FloatTensor>& inputs) {
  auto context = InferenceContext::create(std::int64_t{512} << 20, 2);
  REQUIRE(context.is_ok());
  auto compiled = CompiledModel::create(**context, model);
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  std::vector<std::span<const std::uint8_t>> in;
  for (const FloatTensor& t : inputs)
    in.emplace_back(reinterpret_cast<const std::uint8_t*>(t.values.data()), t.values.size() * 4);
  std::vector<std::vector<float>> outputs;
  for (int t : model->graph.outputs)
    outputs.emplace_back(
        static_cast<size_t>(model->graph.tensors[static_cast<size_t>(t)].info.shape.elements()));
  std::vector<std::span<std::uint8_t>> out;
  for (auto& o : outputs) out.emplace_back(reinterpret_cast<std::uint8_t*>(o.data()), o.size() * 4);
  const Status status = (*compiled)->run(in, out);
  REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  return outputs;
}

// max |a - b| / max |reference|
double relative_difference(std::span<const float> a, std::span<const float> reference) {
  REQUIRE(a.size() == reference.size());
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - reference[i]));
    scale = std::max(scale, std::abs(double(reference[i])));
  }
  return diff / std::max(scale, 1e-30);
}

double cosine(std::span<const float> a, std::span<const float> b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

std::shared_ptr<Model> import_fixture(const std::string& name) {
  auto model = import_onnx(fixture_path(name + ".onnx"));
  REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
  return std::make_shared<Model>(std::move(*model));
}

// Imports `name`.onnx and checks every output against PyTorch's, through the reference kernels
// and through XNNPACK. Returns the model.
std::shared_ptr<Model> check_against_pytorch(const std::string& name) {
  CAPTURE(name);
  const auto cases = testing::load_fixture("onnx_models");
  const auto found = cases.find(name);
  REQUIRE(found != cases.end());
  const testing::FixtureCase& expected = found->second;
  auto model = import_fixture("onnx_" + name);
  const std::vector<FloatTensor> input = image_input(*model, 0);
  double sum = 0.0;
  for (float v : input[0].values) sum += v;
  CHECK(sum == doctest::Approx(expected.at("x_sum").f32[0]).epsilon(1e-5));

  const std::vector<FloatTensor> reference = run_float_reference(*model, input);
  const std::vector<std::vector<float>> xnnpack = run_compiled(model, input);
  REQUIRE(reference.size() == model->graph.outputs.size());
  for (size_t o = 0; o < reference.size(); ++o) {
    CAPTURE(o);
    // Not "y" + to_string(o): that trips a false -Wrestrict in GCC 12.
    const testing::FixtureArray& y = expected.at(std::string(1, 'y').append(std::to_string(o)));
    CHECK(reference[o].shape == y.shape);
    const double ref_diff = relative_difference(reference[o].values, y.f32);
    const double xnn_diff = relative_difference(xnnpack[o], y.f32);
    MESSAGE(name << " output " << o << " " << y.shape.to_string()
                 << ": max difference / max value vs PyTorch: reference " << ref_diff
                 << ", XNNPACK " << xnn_diff);
    CHECK(ref_diff < 1e-4);
    CHECK(xnn_diff < 1e-4);
  }
  return model;
}

// Quantizes on variants 1..4 and compares INT8 with FP32 (both through XNNPACK) on variant 0.
void check_int8(const std::shared_ptr<Model>& model, const std::string& name) {
  std::vector<std::vector<FloatTensor>> calibration;
  for (int v = 1; v <= 4; ++v) calibration.push_back(image_input(*model, v));
  QuantizeOptions options;
  QuantizeReport report;
  auto quantized = quantize_model(*model, calibration, options, &report);
  REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
  auto int8 = std::make_shared<Model>(std::move(*quantized));
  const std::vector<FloatTensor> input = image_input(*model, 0);
  const auto float_out = run_compiled(model, input);
  const auto int8_out = run_compiled(int8, input);
  for (size_t o = 0; o < float_out.size(); ++o) {
    const double c = cosine(int8_out[o], float_out[o]);
    MESSAGE(name << " output " << o << ": INT8 vs FP32 cosine " << c << " (calibration cosine "
                 << report.output_cosine << "); weights at rest " << model->stored_bytes() << " -> "
                 << int8->stored_bytes() << " bytes");
    CHECK(c >= 0.99);
  }
}

const GraphNode* find_node(const Model& model, const std::string& name) {
  for (const GraphNode& node : model.graph.nodes)
    if (node.name == name) return &node;
  return nullptr;
}

TEST_CASE("ONNX import: small CNN matches PyTorch; BatchNorm and ReLU fold into convolutions") {
  auto model = check_against_pytorch("small_cnn");
  const TensorInfo& input = model->graph.tensors[static_cast<size_t>(model->graph.inputs[0])].info;
  CHECK(input.name == "image");
  CHECK(input.shape == Shape{1, 48, 64, 3});  // NCHW [1, 3, 48, 64] in ONNX
  CHECK(model->metadata.description.find("NHWC") != std::string::npos);
  CHECK(model->metadata.provenance.find("onnx_opset: 13") != std::string::npos);
  CHECK(model->metadata.name == "onnx_small_cnn");

  const GraphNode* stem = find_node(*model, "/stem/stem.0/Conv");
  REQUIRE(stem != nullptr);
  CHECK(stem->attributes.clamp_min == 0.0f);  // BatchNormalization and Relu folded in
  CHECK(std::isinf(stem->attributes.clamp_max));
  CHECK(model->graph.tensors[static_cast<size_t>(stem->outputs[0])].info.name ==
        "/stem/stem.2/Relu_output_0");
  const GraphNode* dw = find_node(*model, "/dw/dw.0/Conv");
  REQUIRE(dw != nullptr);
  CHECK(dw->attributes.groups == 16);
  CHECK(dw->attributes.clamp_max == 6.0f);  // Clip with min/max as inputs
  // The residual Add takes the ReLU after it; the BatchNorm with no conv before it stays.
  const GraphNode* add = find_node(*model, "/Add");
  REQUIRE(add != nullptr);
  CHECK(add->attributes.clamp_min == 0.0f);
  CHECK(find_node(*model, "/post_add_bn/BatchNormalization/scale") != nullptr);
  for (const GraphNode& node : model->graph.nodes) CHECK(node.op != OpType::kClamp);

  check_int8(model, "small_cnn");
}

TEST_CASE("ONNX import: MobileNetV2-shaped network at 224x224 matches PyTorch and quantizes") {
  auto model = check_against_pytorch("mobilenetv2_035");
  int convs = 0;
  for (const GraphNode& node : model->graph.nodes) convs += node.op == OpType::kConv2d;
  CHECK(convs == 52);
  check_int8(model, "mobilenetv2_035");
}

TEST_CASE("ONNX import: the remaining ops at opset 11 and 17 match PyTorch") {
  for (const char* name : {"ops_opset11", "ops_opset17"}) {
    auto model = check_against_pytorch(name);
    REQUIRE(model->graph.outputs.size() == 3);
    // The Transpose to NHWC at the end is NHWC in ONNX already: it keeps its shape.
    CHECK(model->graph.tensors[static_cast<size_t>(model->graph.outputs[2])].info.shape ==
          Shape{1, 22, 26, 8});
    check_int8(model, name);
  }
}

TEST_CASE("ONNX import: layout round trips, Sub, dilated pooling, channel softmax, MatMul") {
  auto model = check_against_pytorch("more_ops");
  // BatchNorm1d after the Gemm folds into it: the fully connected node writes BN's output.
  const GraphNode* fc = find_node(*model, "/fc/Gemm");
  REQUIRE(fc != nullptr);
  CHECK(model->graph.tensors[static_cast<size_t>(fc->outputs[0])].info.name == "28");
  // NCHW -> NHWC -> NCHW transposes are relabellings: no node moves data for them.
  CHECK(find_node(*model, "/Transpose") == nullptr);
  CHECK(find_node(*model, "/Transpose_1") == nullptr);
  check_int8(model, "more_ops");
}

TEST_CASE("ONNX import: the imported model survives an .fvm round trip") {
  auto model = import_fixture("onnx_small_cnn");
  auto bytes = serialize_fvm(*model);
  REQUIRE_MESSAGE(bytes.is_ok(), bytes.status().to_string());
  auto loaded = parse_fvm(*bytes);
  REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
  const auto input = image_input(*model, 2);
  CHECK(run_float_reference(*loaded, input)[0].values ==
        run_float_reference(*model, input)[0].values);
}

TEST_CASE("ONNX import: garbage, truncated and missing files are clean errors") {
  std::ifstream file(fixture_path("onnx_small_cnn.onnx"), std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(file), {}};
  REQUIRE(bytes.size() > 1000);
  for (size_t keep : {size_t{0}, size_t{1}, size_t{17}, bytes.size() / 3, bytes.size() / 2,
                      bytes.size() - 300, bytes.size() - 40, bytes.size() - 1}) {
    CAPTURE(keep);
    auto model = import_onnx_bytes(std::span(bytes).first(keep), "truncated.onnx");
    REQUIRE_FALSE(model.is_ok());
    CHECK(model.status().message().find("truncated.onnx") != std::string::npos);
  }
  std::vector<std::uint8_t> garbage(4096);
  std::uint32_t state = 12345;
  for (auto& b : garbage)
    b = static_cast<std::uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
  auto model = import_onnx_bytes(garbage, "garbage.onnx");
  REQUIRE_FALSE(model.is_ok());
  CHECK(model.status().code() == ErrorCode::kCorruptData);
  // Flipped bytes inside the file: an error or a model, never a crash.
  for (size_t at = 100; at < bytes.size(); at += bytes.size() / 64) {
    std::vector<std::uint8_t> flipped = bytes;
    flipped[at] ^= 0x5a;
    (void)import_onnx_bytes(flipped, "flipped.onnx");
  }
  auto missing = import_onnx(fixture_path("no_such_model.onnx"));
  CHECK(missing.status().code() == ErrorCode::kNotFound);
}

TEST_CASE("ONNX import: an unsupported op or attribute is named in the error") {
  auto op = import_onnx(fixture_path("onnx_unsupported_op.onnx"));
  REQUIRE_FALSE(op.is_ok());
  MESSAGE(op.status().to_string());
  CHECK(op.status().code() == ErrorCode::kInvalidArgument);
  CHECK(op.status().message().find("'erf_gate'") != std::string::npos);
  CHECK(op.status().message().find("Erf") != std::string::npos);

  auto attribute = import_onnx(fixture_path("onnx_unsupported_attribute.onnx"));
  REQUIRE_FALSE(attribute.is_ok());
  MESSAGE(attribute.status().to_string());
  CHECK(attribute.status().message().find("'cubic_upsample'") != std::string::npos);
  CHECK(attribute.status().message().find("cubic") != std::string::npos);
}

// A minimal protobuf encoder, enough to write a one-node ONNX model in the test itself.
struct Proto {
  std::vector<std::uint8_t> bytes;
  void varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) bytes.push_back(static_cast<std::uint8_t>(v | 0x80));
    bytes.push_back(static_cast<std::uint8_t>(v));
  }
  Proto& integer(int field, std::uint64_t v) {
    varint(static_cast<std::uint64_t>(field) << 3);
    varint(v);
    return *this;
  }
  Proto& f32(int field, float v) {
    varint(static_cast<std::uint64_t>(field) << 3 | 5);
    std::uint8_t b[4];
    std::memcpy(b, &v, 4);
    bytes.insert(bytes.end(), b, b + 4);
    return *this;
  }
  Proto& bytes_field(int field, std::span<const std::uint8_t> v) {
    varint(static_cast<std::uint64_t>(field) << 3 | 2);
    varint(v.size());
    bytes.insert(bytes.end(), v.begin(), v.end());
    return *this;
  }
  Proto& string(int field, const std::string& v) {
    return bytes_field(field, {reinterpret_cast<const std::uint8_t*>(v.data()), v.size()});
  }
  Proto& message(int field, const Proto& v) { return bytes_field(field, v.bytes); }
};

// ValueInfoProto of a float tensor with a static shape.
Proto float_value(const std::string& name, const std::vector<std::int64_t>& dims) {
  Proto shape;
  for (std::int64_t d : dims) shape.message(1, Proto().integer(1, static_cast<std::uint64_t>(d)));
  Proto tensor;
  tensor.integer(1, 1).message(2, shape);  // elem_type FLOAT, shape
  Proto value;
  value.string(1, name).message(2, Proto().message(1, tensor));
  return value;
}

// x -> LeakyRelu(alpha) -> y at opset 13; no alpha attribute means ONNX's default, 0.01.
std::vector<std::uint8_t> leaky_relu_onnx(const std::vector<std::int64_t>& dims,
                                          const float* alpha) {
  Proto node;
  node.string(1, "x").string(2, "y").string(3, "leaky").string(4, "LeakyRelu");
  if (alpha != nullptr) node.message(5, Proto().string(1, "alpha").f32(2, *alpha).integer(20, 1));
  Proto graph;
  graph.message(1, node).string(2, "leaky_graph");
  graph.message(11, float_value("x", dims)).message(12, float_value("y", dims));
  Proto model;
  model.integer(1, 8).message(8, Proto().string(1, "").integer(2, 13)).message(7, graph);
  return model.bytes;
}

TEST_CASE("ONNX import: LeakyRelu with and without alpha") {
  const float alpha = 0.1f;
  for (const float* a : {&alpha, static_cast<const float*>(nullptr)}) {
    for (const std::vector<std::int64_t>& dims :
         {std::vector<std::int64_t>{1, 3, 4, 5}, std::vector<std::int64_t>{2, 7}}) {
      const float expected_alpha = a != nullptr ? *a : 0.01f;
      CAPTURE(expected_alpha);
      CAPTURE(dims.size());
      const std::vector<std::uint8_t> bytes = leaky_relu_onnx(dims, a);
      auto model = import_onnx_bytes(bytes, "leaky.onnx");
      REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
      int leaky = 0;
      for (const GraphNode& node : model->graph.nodes) {
        if (node.op != OpType::kLeakyRelu) continue;
        ++leaky;
        CHECK(node.attributes.alpha == expected_alpha);
      }
      CHECK(leaky == 1);
      REQUIRE(model->graph.inputs.size() == 1);
      REQUIRE(model->graph.outputs.size() == 1);
      const TensorInfo& in = model->graph.tensors[static_cast<size_t>(model->graph.inputs[0])].info;
      const TensorInfo& out =
          model->graph.tensors[static_cast<size_t>(model->graph.outputs[0])].info;
      REQUIRE(in.shape == out.shape);  // elementwise: same layout in and out

      FloatTensor x{in.shape, std::vector<float>(static_cast<size_t>(in.shape.elements()))};
      for (size_t i = 0; i < x.values.size(); ++i)
        x.values[i] = static_cast<float>(static_cast<int>(i % 11) - 5) * 0.75f;
      auto shared = std::make_shared<const Model>(std::move(*model));
      const std::vector<std::vector<float>> y = run_compiled(shared, {x});
      REQUIRE(y[0].size() == x.values.size());
      for (size_t i = 0; i < x.values.size(); ++i) {
        const float v = x.values[i];
        CHECK(y[0][i] == doctest::Approx(v >= 0.0f ? v : expected_alpha * v));
      }
    }
  }

  // An unknown attribute is named.
  Proto node;
  node.string(1, "x").string(2, "y").string(3, "leaky").string(4, "LeakyRelu");
  node.message(5, Proto().string(1, "beta").f32(2, 1.0f).integer(20, 1));
  Proto graph;
  graph.message(1, node).string(2, "g");
  graph.message(11, float_value("x", {2, 7})).message(12, float_value("y", {2, 7}));
  Proto proto;
  proto.integer(1, 8).message(8, Proto().string(1, "").integer(2, 13)).message(7, graph);
  auto refused = import_onnx_bytes(proto.bytes, "leaky_beta.onnx");
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().message().find("beta") != std::string::npos);
}

}  // namespace
}  // namespace fovea
