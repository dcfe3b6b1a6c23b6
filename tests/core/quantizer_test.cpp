#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/quantizer.h"
#include "support/test_models.h"

namespace fovea {
namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i)
    dot += double(a[i]) * b[i], na += double(a[i]) * a[i], nb += double(b[i]) * b[i];
  return dot / std::sqrt(na * nb);
}

std::vector<float> run(const std::shared_ptr<Model>& model, const std::vector<float>& image,
                       size_t outputs) {
  auto ctx = InferenceContext::create(64 << 20, 1);
  REQUIRE(ctx.is_ok());
  auto compiled = CompiledModel::create(**ctx, model);
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  std::vector<float> y(outputs);
  std::span<const std::uint8_t> in[] = {
      {reinterpret_cast<const std::uint8_t*>(image.data()), image.size() * 4}};
  std::span<std::uint8_t> out[] = {{reinterpret_cast<std::uint8_t*>(y.data()), y.size() * 4}};
  const Status status = (*compiled)->run(in, out);
  REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  return y;
}

TEST_CASE("activation ranges: min-max covers, percentile and MSE clip outliers") {
  std::mt19937 random(3);
  std::normal_distribution<float> normal(0.5f, 1.0f);
  std::vector<float> values(20000);
  for (float& v : values) v = normal(random);
  values[7] = 40.0f;  // one outlier
  const auto [lo, hi] = choose_range(values, RangeMethod::kMinMax, 0);
  CHECK(hi == 40.0f);
  const auto [plo, phi] = choose_range(values, RangeMethod::kPercentile, 99.9);
  CHECK(phi < 5.5f);
  CHECK(plo < -2.0f);
  const auto [mlo, mhi] = choose_range(values, RangeMethod::kMseOptimal, 0);
  CHECK(mhi < 40.0f);  // clipping the outlier lowers the total error
  CHECK(mlo < 0.0f);

  const Quantization q = activation_quantization(-1.0f, 3.0f);
  REQUIRE(q.scales.size() == 1);
  CHECK(q.scales[0] == doctest::Approx(4.0f / 255.0f));
  // Zero is exactly representable and both ends are inside -128..127.
  CHECK(std::nearbyint(0.0f / q.scales[0]) + float(q.zero_point) == float(q.zero_point));
  CHECK(std::nearbyint(-1.0f / q.scales[0]) + float(q.zero_point) >= -128.0f);
  CHECK(std::nearbyint(3.0f / q.scales[0]) + float(q.zero_point) <= 127.0f);
  const Quantization relu = activation_quantization(0.0f, 6.0f);
  CHECK(relu.zero_point == -128);  // all of -128..127 for non-negative values
}

TEST_CASE("post-training quantization keeps a residual network's output (cosine >= 0.99)") {
  const auto float_model = testing::residual_model("residual", 32, 0.5f);
  std::vector<std::vector<FloatTensor>> calibration;
  for (int v = 0; v < 6; ++v)
    calibration.push_back({FloatTensor{Shape{1, 16, 16, 3}, testing::image_input(v)}});
  for (RangeMethod method :
       {RangeMethod::kMinMax, RangeMethod::kPercentile, RangeMethod::kMseOptimal}) {
    CAPTURE(range_method_name(method));
    QuantizeOptions options;
    options.method = method;
    QuantizeReport report;
    auto quantized = quantize_model(*float_model, calibration, options, &report);
    REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
    MESSAGE(report.to_table());
    CHECK(report.output_cosine > 0.99);
    CHECK(report.layers.size() == float_model->graph.nodes.size());
    int int8_layers = 0;
    for (const LayerReport& layer : report.layers) {
      int8_layers += layer.int8;
      CHECK(layer.output_sqnr_db > 15.0);
      CHECK(layer.sensitivity_cosine > 0.99);
      CHECK(layer.sensitivity_cosine <= 1.0 + 1e-9);
    }
    CHECK(int8_layers == 6);
    // The real INT8 model through XNNPACK, on inputs it was not calibrated on.
    auto int8_model = std::make_shared<Model>(std::move(*quantized));
    CHECK(int8_model->stored_bytes() < float_model->stored_bytes() / 3);
    for (int v = 10; v < 13; ++v) {
      const std::vector<float> image = testing::image_input(v);
      const double c = cosine(run(int8_model, image, 10), run(float_model, image, 10));
      CAPTURE(v);
      CHECK(c > 0.99);
    }
  }
}

TEST_CASE("layers kept in FP32 and ops with no INT8 kernel run between dequantize and quantize") {
  const auto float_model = testing::residual_model("mixed", 16, 0.0f);
  std::vector<std::vector<FloatTensor>> calibration = {
      {FloatTensor{Shape{1, 16, 16, 3}, testing::image_input(0)}}};
  QuantizeOptions options;
  options.keep_float = {"conv2"};
  QuantizeReport report;
  auto quantized = quantize_model(*float_model, calibration, options, &report);
  REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
  int dequantize = 0, quantize = 0;
  for (const GraphNode& node : quantized->graph.nodes) {
    dequantize += node.op == OpType::kDequantize;
    quantize += node.op == OpType::kQuantize;
    if (node.name == "conv2")
      CHECK(quantized->graph.tensors[static_cast<size_t>(node.outputs[0])].info.type ==
            DataType::kFloat32);
    if (node.name == "conv1")
      CHECK(quantized->graph.tensors[static_cast<size_t>(node.outputs[0])].info.type ==
            DataType::kInt8);
  }
  CHECK(quantize >= 2);    // the input, and conv2's output back into INT8
  CHECK(dequantize >= 2);  // conv1's output for conv2, and the network's output
  auto int8_model = std::make_shared<Model>(std::move(*quantized));
  const std::vector<float> image = testing::image_input(4);
  CHECK(cosine(run(int8_model, image, 10), run(float_model, image, 10)) > 0.99);

  CHECK(quantize_model(*float_model, {}, options).status().code() == ErrorCode::kInvalidArgument);
}

// XNNPACK's INT8 Add refuses inputs whose scale is under 2^-10 of the output's. A branch of
// values a million times smaller than the sum's (as a freshly added layer's output is) must not
// make a model that fails to compile: that Add stays FP32.
TEST_CASE("an Add whose branch is far below its sum stays FP32, and the INT8 model runs") {
  for (float gain : {1.0f, 1e-6f}) {
    CAPTURE(gain);
    const auto float_model = testing::residual_model("faint", 16, 0.3f, gain);
    std::vector<std::vector<FloatTensor>> calibration;
    for (int v = 0; v < 3; ++v)
      calibration.push_back({FloatTensor{Shape{1, 16, 16, 3}, testing::image_input(v)}});
    QuantizeReport report;
    auto quantized = quantize_model(*float_model, calibration, QuantizeOptions{}, &report);
    REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
    bool add_int8 = true;
    for (const LayerReport& layer : report.layers)
      if (layer.node == "residual") add_int8 = layer.int8;
    CHECK(add_int8 == (gain == 1.0f));
    auto int8_model = std::make_shared<Model>(std::move(*quantized));
    const std::vector<float> image = testing::image_input(7);
    CHECK(cosine(run(int8_model, image, 10), run(float_model, image, 10)) > 0.99);
  }
}

// LeakyRelu has no qs8 kernel in XNNPACK (only qu8); fovea's table kernel (int8_lut_nodes.h)
// runs it in INT8, so the quantizer makes it INT8 with ranges of its own, and the INT8 model
// still follows the float one.
TEST_CASE("quantization makes LeakyRelu INT8 (the table kernel) and follows the float model") {
  std::mt19937 random(5);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  auto float_model = std::make_shared<Model>();
  float_model->metadata.name = "leaky";
  GraphBuilder b(*float_model);
  const int x = b.input("x", DataType::kFloat32, Shape{1, 16, 16, 3});
  std::vector<float> w1(8 * 3 * 3 * 3), b1(8), w2(10 * 8), b2(10);
  for (auto* v : {&w1, &b1, &w2, &b2})
    for (float& f : *v) f = normal(random);
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 1;
  auto c1 =
      b.node("conv1", OpType::kConv2d,
             {x, b.constant_f32("w1", Shape{8, 3, 3, 3}, w1), b.constant_f32("b1", {8}, b1)}, conv);
  REQUIRE(c1.is_ok());
  OpAttributes leaky;
  leaky.alpha = 0.1f;
  auto l = b.node("leaky", OpType::kLeakyRelu, {*c1}, leaky);
  REQUIRE(l.is_ok());
  auto pool = b.node("pool", OpType::kGlobalAveragePool, {*l});
  REQUIRE(pool.is_ok());
  auto flat_shape = OpAttributes{};
  flat_shape.new_shape = Shape{1, 8};
  auto flat = b.node("flat", OpType::kReshape, {*pool}, flat_shape);
  REQUIRE(flat.is_ok());
  auto fc = b.node("fc", OpType::kFullyConnected,
                   {*flat, b.constant_f32("w2", Shape{10, 8}, w2), b.constant_f32("b2", {10}, b2)});
  REQUIRE(fc.is_ok());
  b.output(*fc);

  std::vector<std::vector<FloatTensor>> calibration;
  for (int v = 0; v < 4; ++v)
    calibration.push_back({FloatTensor{Shape{1, 16, 16, 3}, testing::image_input(v)}});
  QuantizeReport report;
  auto quantized = quantize_model(*float_model, calibration, {}, &report);
  REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
  bool found = false;
  for (const GraphNode& node : quantized->graph.nodes) {
    const DataType out = quantized->graph.tensors[static_cast<size_t>(node.outputs[0])].info.type;
    if (node.name == "leaky") {
      found = true;
      CHECK(node.op == OpType::kLeakyRelu);
      CHECK(node.attributes.alpha == 0.1f);
      CHECK(out == DataType::kInt8);
      const int in = node.inputs[0];
      CHECK(quantized->graph.tensors[static_cast<size_t>(in)].info.type == DataType::kInt8);
      // Negative inputs survive (scaled by alpha): the output range reaches below zero.
      const Quantization& q =
          quantized->graph.tensors[static_cast<size_t>(node.outputs[0])].info.quantization;
      REQUIRE(q.is_quantized());
      CHECK(q.zero_point > -128);
    }
    if (node.name == "conv1") CHECK(out == DataType::kInt8);
  }
  CHECK(found);
  for (const LayerReport& layer : report.layers)
    if (layer.node == "leaky") CHECK(layer.int8);
  auto int8_model = std::make_shared<Model>(std::move(*quantized));
  const std::vector<float> image = testing::image_input(7);
  CHECK(cosine(run(int8_model, image, 10), run(float_model, image, 10)) > 0.99);
}

}  // namespace
}  // namespace fovea
