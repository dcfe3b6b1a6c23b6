// INT8 Warp: fovea's kernel (core/src/inference/flow_warp_qs8.cpp), AVX-512 and portable,
// equals reference::warp_qs8 byte for byte; the reference is the FP32 warp between dequantize and
// quantize on the map's grid to within one step; the executor runs the node from a graph; the
// quantizer keeps Warp in INT8 with its flow in FP32 and follows the float model.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "../../core/src/inference/flow_warp.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/quantizer.h"
#include "fovea/core/reference_kernels.h"
#include "support/float_cases.h"
#include "support/int8_conv_cases.h"
#include "support/test_models.h"

namespace fovea {
namespace {

using testing::Pool;
using testing::uniform;

std::vector<std::int8_t> random_bytes(std::mt19937& random, std::int64_t count) {
  std::uniform_int_distribution<int> byte(-128, 127);
  std::vector<std::int8_t> v(static_cast<size_t>(count));
  for (std::int8_t& x : v) x = static_cast<std::int8_t>(byte(random));
  return v;
}

// Small flows, flows that leave the map by up to twice its size, whole pixels, and a few
// non-finite values: every tap outside.
std::vector<float> random_flow(std::mt19937& random, reference::Nhwc s, int i) {
  const float reach = i % 4 == 0 ? 1.5f : 2.0f * static_cast<float>(std::max(s.h, s.w)) + 3.0f;
  auto flow = uniform(random, s.n * s.h * s.w * 2, -reach, reach);
  if (i % 5 == 0)
    for (float& f : flow) f = std::round(f);
  if (i % 9 == 0 && !flow.empty()) flow[0] = NAN, flow.back() = INFINITY;
  return flow;
}

TEST_CASE("INT8 Warp: the kernel equals the reference byte for byte") {
  std::mt19937 random(31);
  std::uniform_int_distribution<int> size(1, 23), channels(1, 100), zero(-128, 127);
  Pool pools[3] = {Pool(1), Pool(2), Pool(3)};
  for (int i = 0; i < 120; ++i) {
    reference::Nhwc s{1 + i % 2, size(random), size(random), channels(random)};
    if (i % 7 == 0) s.h = s.w = 1;
    const std::int32_t z = i % 3 == 0 ? -128 : zero(random);
    const auto x = random_bytes(random, s.elements());
    const auto flow = random_flow(random, s, i);
    std::vector<std::int8_t> want(static_cast<size_t>(s.elements())),
        got(static_cast<size_t>(s.elements()), 99);
    reference::warp_qs8(x.data(), s, flow.data(), z, want.data());
    for (auto isa : {inference::flow::Isa::kBest, inference::flow::Isa::kPortable}) {
      std::fill(got.begin(), got.end(), 99);
      inference::flow::warp_qs8(x.data(), s, flow.data(), z, got.data(), pools[i % 3].pool, isa);
      CAPTURE(i);
      CAPTURE(s.h);
      CAPTURE(s.w);
      CAPTURE(s.c);
      CAPTURE(isa == inference::flow::Isa::kBest);
      CHECK(testing::mismatches(got, want) == 0);
    }
  }
}

TEST_CASE("INT8 Warp: a non-finite or far-off flow samples nothing: the zero point") {
  const reference::Nhwc s{1, 3, 20, 17};
  std::mt19937 random(35);
  const auto x = random_bytes(random, s.elements());
  std::vector<float> flow(static_cast<size_t>(s.h * s.w * 2));
  for (size_t k = 0; k < flow.size(); ++k)
    flow[k] = k % 3 == 0 ? NAN : k % 3 == 1 ? -INFINITY : 1e9f;
  for (auto isa : {inference::flow::Isa::kBest, inference::flow::Isa::kPortable}) {
    std::vector<std::int8_t> got(x.size(), 99);
    inference::flow::warp_qs8(x.data(), s, flow.data(), -7, got.data(), nullptr, isa);
    CHECK(std::all_of(got.begin(), got.end(), [](std::int8_t v) { return v == -7; }));
  }
}

TEST_CASE("INT8 Warp: the reference is the float warp between dequantize and quantize") {
  std::mt19937 random(32);
  const reference::Nhwc s{1, 9, 13, 24};
  const float scale = 0.05f;
  for (std::int32_t z : {-128, -3, 40}) {
    const auto x = random_bytes(random, s.elements());
    const auto flow = random_flow(random, s, 1);
    std::vector<float> real(x.size()), warped(x.size());
    for (size_t k = 0; k < x.size(); ++k) real[k] = scale * float(x[k] - z);
    reference::warp_f32(real.data(), s, flow.data(), warped.data());
    std::vector<std::int8_t> got(x.size());
    reference::warp_qs8(x.data(), s, flow.data(), z, got.data());
    int worst = 0;
    for (size_t k = 0; k < x.size(); ++k) {
      const float q = std::clamp(std::nearbyint(warped[k] / scale) + float(z), -128.0f, 127.0f);
      worst = std::max(worst, std::abs(int(got[k]) - int(q)));
    }
    CAPTURE(z);
    CHECK(worst <= 1);  // float weights against double: a half-way value may round either way
  }
}

// x [1,8,10,3] -> 1x1 conv with ReLU to `channels` -> Warp by a flow input -> output.
std::shared_ptr<Model> float_warp_model(std::int64_t channels) {
  std::mt19937 random(33);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  auto model = std::make_shared<Model>();
  model->metadata.name = "float_warp";
  GraphBuilder g(*model);
  const int x = g.input("x", DataType::kFloat32, Shape{1, 8, 10, 3});
  const int flow = g.input("flow", DataType::kFloat32, Shape{1, 8, 10, 2});
  std::vector<float> w(static_cast<size_t>(channels * 3)), bias(static_cast<size_t>(channels));
  for (float& v : w) v = normal(random);
  for (float& v : bias) v = normal(random);
  OpAttributes conv;
  conv.clamp_min = 0.0f;
  auto feat = g.node("feat", OpType::kConv2d,
                     {x, g.constant_f32("w", Shape{channels, 1, 1, 3}, w),
                      g.constant_f32("bias", Shape{channels}, bias)},
                     conv);
  REQUIRE(feat.is_ok());
  auto y = g.node("warp", OpType::kWarp, {*feat, flow});
  REQUIRE(y.is_ok());
  g.output(*y);
  return model;
}

using testing::run_float_io;

TEST_CASE("INT8 Warp: the quantizer keeps Warp in INT8, its flow FP32, and follows the float") {
  const std::int64_t channels = 24;
  const auto float_model = float_warp_model(channels);
  std::mt19937 random(34);
  auto flow_values = [&] { return uniform(random, 8 * 10 * 2, -3.0f, 3.0f); };
  std::vector<std::vector<FloatTensor>> calibration;
  for (int i = 0; i < 4; ++i)
    calibration.push_back({FloatTensor{Shape{1, 8, 10, 3}, uniform(random, 240, 0, 1)},
                           FloatTensor{Shape{1, 8, 10, 2}, flow_values()}});
  QuantizeOptions options;
  options.method = RangeMethod::kMinMax;
  QuantizeReport report;
  auto quantized = quantize_model(*float_model, calibration, options, &report);
  REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
  bool found = false;
  for (const GraphNode& node : quantized->graph.nodes) {
    if (node.name != "warp") continue;
    found = true;
    const auto info = [&](int t) -> const TensorInfo& {
      return quantized->graph.tensors[static_cast<size_t>(t)].info;
    };
    CHECK(info(node.inputs[0]).type == DataType::kInt8);
    CHECK(info(node.inputs[1]).type == DataType::kFloat32);
    CHECK(info(node.outputs[0]).type == DataType::kInt8);
    CHECK(info(node.outputs[0]).quantization.scales == info(node.inputs[0]).quantization.scales);
  }
  CHECK(found);
  CHECK(report.output_cosine > 0.999);
  const auto int8_model = std::make_shared<Model>(std::move(*quantized));
  const std::vector<std::vector<float>> inputs = {uniform(random, 240, 0, 1), flow_values()};
  const size_t outputs = 8 * 10 * channels;
  const auto want = run_float_io(float_model, inputs, outputs, 1);
  for (int threads : {1, 3}) {
    const auto got = run_float_io(int8_model, inputs, outputs, threads);
    CHECK(testing::cosine(got, want) > 0.999);
  }
}

TEST_CASE("INT8 Warp: a flow that is not FP32 is refused by the graph") {
  Model model;
  GraphBuilder g(model);
  const int x = g.input("x", DataType::kInt8, Shape{1, 4, 4, 8}, Quantization{{0.1f}, -128, -1});
  const int flow = g.input("flow", DataType::kInt8, Shape{1, 4, 4, 2}, Quantization{{0.1f}, 0, -1});
  auto y = g.node("warp", OpType::kWarp, {x, flow}, {}, Quantization{{0.1f}, -128, -1});
  CHECK_FALSE(y.is_ok());
}

}  // namespace
}  // namespace fovea
