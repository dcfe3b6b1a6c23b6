// INT8 Correlation: fovea's kernel (core/src/inference/flow_correlation_qs8.cpp) equals
// reference::correlation_qs8 bit for bit on both instruction-set paths and 1-3 threads; the
// reference stays within one step of the float cost volume between dequantize and quantize; and
// the node kernel runs it from the graph and the quantizer, with wide inputs refused.

#include <doctest/doctest.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/src/inference/flow_correlation.h"
#include "../../core/src/inference/node_kernel.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/quantizer.h"
#include "fovea/core/reference_kernels.h"
#include "support/float_cases.h"
#include "support/int8_conv_cases.h"
#include "support/test_models.h"

namespace fovea {
namespace {

using inference::flow::Isa;
using reference::QuantizedCorrelation;
using testing::bytes_of;
using testing::Pool;

std::vector<std::int8_t> random_bytes(std::mt19937& random, std::int64_t count, int lo = -128,
                                      int hi = 127) {
  std::uniform_int_distribution<int> byte(lo, hi);
  std::vector<std::int8_t> v(static_cast<size_t>(count));
  for (std::int8_t& x : v) x = static_cast<std::int8_t>(byte(random));
  return v;
}

std::int64_t output_size(reference::Nhwc s, int r) {
  return s.n * s.h * s.w * (2 * r + 1) * (2 * r + 1);
}

TEST_CASE("INT8 Correlation: the kernel equals the reference bit for bit") {
  std::mt19937 random(21);
  std::uniform_int_distribution<int> size(1, 11), zero(-128, 127);
  std::uniform_real_distribution<float> scale(0.002f, 0.2f),
      log_ratio(std::log(10.0f), std::log(30000.0f));
  Pool pools[3] = {Pool(1), Pool(2), Pool(3)};
  const std::int32_t edge_zeros[] = {-128, 127, 0};
  int run = 0;
  for (std::int64_t c : {1, 7, 24, 32, 33, 64, 81})
    for (int r = 0; r <= 4; ++r)
      for (int repeat = 0; repeat < 2; ++repeat, ++run) {
        reference::Nhwc s{2, size(random), size(random), c};
        if (run % 5 == 0) s.h = 1;
        if (run % 7 == 0) s.w = 1;
        QuantizedCorrelation q;
        q.a_scale = scale(random);
        q.b_scale = scale(random);
        q.y_scale = q.a_scale * q.b_scale * std::exp(log_ratio(random));
        q.a_zero_point = run % 4 == 0 ? edge_zeros[run % 3] : zero(random);
        q.b_zero_point = run % 4 == 1 ? edge_zeros[(run + 1) % 3] : zero(random);
        q.y_zero_point = run % 4 == 2 ? edge_zeros[(run + 2) % 3] : zero(random);
        const auto a = random_bytes(random, s.elements());
        const auto b = random_bytes(random, s.elements());
        std::vector<std::int8_t> want(static_cast<size_t>(output_size(s, r)));
        reference::correlation_qs8(a.data(), b.data(), s, r, q, want.data());
        for (Isa isa : {Isa::kBest, Isa::kPortable})
          for (int threads = 0; threads < 3; ++threads) {
            std::vector<std::int8_t> got(want.size(), 99);
            inference::flow::correlation_qs8(a.data(), b.data(), s, r, q, got.data(),
                                             pools[threads].pool, isa);
            CAPTURE(s.h);
            CAPTURE(s.w);
            CAPTURE(c);
            CAPTURE(r);
            CAPTURE(threads + 1);
            CAPTURE(isa == Isa::kPortable);
            CHECK(testing::mismatches(got, want) == 0);
          }
      }
  MESSAGE("AVX-512 BW path on this CPU: "
          << std::string(inference::flow::use_avx512bw(Isa::kBest) ? "yes" : "no"));
}

TEST_CASE("INT8 Correlation: halves round to even, sums saturate, the largest C is exact") {
  // m = 1 / (32 * 2^-4) = 1/2 exactly: odd sums land on halves.
  const reference::Nhwc s{1, 5, 6, 32};
  const QuantizedCorrelation q{1.0f, 3, 1.0f, -5, 0x1p-4f, -7};
  std::mt19937 random(22);
  // Near the zero points (small sums, many halves) and anywhere (sums far past the range).
  for (const auto& [lo, hi] : {std::pair{-2, 8}, std::pair{-128, 127}}) {
    const auto a = random_bytes(random, s.elements(), lo, hi);
    const auto b = random_bytes(random, s.elements(), lo, hi);
    std::vector<std::int8_t> want(static_cast<size_t>(output_size(s, 2)));
    reference::correlation_qs8(a.data(), b.data(), s, 2, q, want.data());
    for (Isa isa : {Isa::kBest, Isa::kPortable}) {
      std::vector<std::int8_t> got(want.size(), 99);
      inference::flow::correlation_qs8(a.data(), b.data(), s, 2, q, got.data(), nullptr, isa);
      CHECK(testing::mismatches(got, want) == 0);
    }
  }
  // Sums worked out by hand: one pixel, displacement (0, 0), centred values 1 (or 0).
  {
    const reference::Nhwc one{1, 1, 1, 32};
    std::vector<std::int8_t> a(32, 4), b(32, -4), y(1);  // (4 - 3) * (-4 + 5) * 32 = 32
    const QuantizedCorrelation half{1.0f, 3, 1.0f, -5, 0x1p-4f, 0};
    reference::correlation_qs8(a.data(), b.data(), one, 0, half, y.data());
    CHECK(y[0] == 16);
    a.assign(32, 3);
    a[0] = 4;  // S = 1, 1/2 rounds to 0
    reference::correlation_qs8(a.data(), b.data(), one, 0, half, y.data());
    CHECK(y[0] == 0);
    a[1] = 4, a[2] = 4;  // S = 3, 3/2 rounds to 2
    reference::correlation_qs8(a.data(), b.data(), one, 0, half, y.data());
    CHECK(y[0] == 2);
  }
  // 258 channels of the extreme products: |S| = 258 * 255^2 < 2^24, still exact.
  const reference::Nhwc wide{1, 3, 4, reference::kMaxQuantizedCorrelationChannels};
  const QuantizedCorrelation extreme{0.01f, -128, 0.01f, 127, 0.5f, 5};
  const std::vector<std::int8_t> a(static_cast<size_t>(wide.elements()), 127);
  const std::vector<std::int8_t> b(static_cast<size_t>(wide.elements()), -128);
  std::vector<std::int8_t> want(static_cast<size_t>(output_size(wide, 1)));
  reference::correlation_qs8(a.data(), b.data(), wide, 1, extreme, want.data());
  for (Isa isa : {Isa::kBest, Isa::kPortable}) {
    std::vector<std::int8_t> got(want.size(), 99);
    inference::flow::correlation_qs8(a.data(), b.data(), wide, 1, extreme, got.data(), nullptr,
                                     isa);
    CHECK(testing::mismatches(got, want) == 0);
  }
  // 255 * -255 * 1e-4 / 0.5 = -13.0 per channel mean; plus 5.
  CHECK(want[4] == -8);
}

TEST_CASE("INT8 Correlation: the reference is the float one between dequantize and quantize") {
  std::mt19937 random(23);
  std::uniform_int_distribution<int> zero(-128, 127);
  std::int64_t total = 0, differ = 0;
  for (int i = 0; i < 30; ++i) {
    const reference::Nhwc s{2, 7 + i % 5, 9, std::int64_t{1} + (i * 13) % 96};
    const int r = i % 5;
    const QuantizedCorrelation q{
        0.02f + 0.001f * float(i),          zero(random), 0.03f, zero(random),
        0.0004f * float(1 + i % 7) * 20.0f, zero(random)};
    const auto a = random_bytes(random, s.elements());
    const auto b = random_bytes(random, s.elements());
    std::vector<float> fa(a.size()), fb(b.size()), fy(static_cast<size_t>(output_size(s, r)));
    reference::dequantize_s8_to_f32(a.data(), s.elements(), q.a_scale, q.a_zero_point, fa.data());
    reference::dequantize_s8_to_f32(b.data(), s.elements(), q.b_scale, q.b_zero_point, fb.data());
    reference::correlation_f32(fa.data(), fb.data(), s, r, fy.data());
    std::vector<std::int8_t> via_float(fy.size()), direct(fy.size());
    reference::quantize_f32_to_s8(fy.data(), static_cast<std::int64_t>(fy.size()), q.y_scale,
                                  q.y_zero_point, via_float.data());
    reference::correlation_qs8(a.data(), b.data(), s, r, q, direct.data());
    for (size_t k = 0; k < fy.size(); ++k) {
      CAPTURE(i);
      CAPTURE(k);
      REQUIRE(std::abs(int(direct[k]) - int(via_float[k])) <= 1);
      differ += direct[k] != via_float[k];
    }
    total += static_cast<std::int64_t>(fy.size());
  }
  MESSAGE("INT8 vs float-between-(de)quantize: " << differ << " of " << total << " differ by 1");
  CHECK(differ * 100 < total);  // values within float rounding of a half only
}

// An INT8 graph of one Correlation node, run through CompiledModel at 1-3 threads.
std::shared_ptr<Model> int8_correlation_model(const Shape& shape, int r,
                                              const QuantizedCorrelation& q) {
  auto model = std::make_shared<Model>();
  model->metadata.name = "int8_correlation";
  GraphBuilder g(*model);
  const int a = g.input("a", DataType::kInt8, shape, Quantization{{q.a_scale}, q.a_zero_point, -1});
  const int b = g.input("b", DataType::kInt8, shape, Quantization{{q.b_scale}, q.b_zero_point, -1});
  OpAttributes attributes;
  attributes.max_displacement = r;
  auto y = g.node("corr", OpType::kCorrelation, {a, b}, attributes,
                  Quantization{{q.y_scale}, q.y_zero_point, -1});
  REQUIRE_MESSAGE(y.is_ok(), y.status().to_string());
  g.output(*y);
  return model;
}

TEST_CASE("INT8 Correlation: the executor runs the node, equal to the reference, allocation-free") {
  const reference::Nhwc s{1, 13, 21, 81};
  const Shape shape{1, s.h, s.w, s.c};
  const int r = 4;
  const QuantizedCorrelation q{0.05f, -128, 0.04f, 17, 0.02f, -100};
  const auto model = int8_correlation_model(shape, r, q);
  CHECK(model->graph.tensors[static_cast<size_t>(model->graph.outputs[0])].info.type ==
        DataType::kInt8);
  std::mt19937 random(24);
  const auto a = random_bytes(random, s.elements());
  const auto b = random_bytes(random, s.elements());
  std::vector<std::int8_t> want(static_cast<size_t>(output_size(s, r)));
  reference::correlation_qs8(a.data(), b.data(), s, r, q, want.data());
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    auto context = InferenceContext::create(std::int64_t{64} << 20, threads);
    REQUIRE(context.is_ok());
    auto compiled = CompiledModel::create(**context, model);
    REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
    std::vector<std::int8_t> got(want.size(), 0);
    const std::span<const std::uint8_t> ins[] = {bytes_of(a), bytes_of(b)};
    const std::span<std::uint8_t> outs[] = {
        {reinterpret_cast<std::uint8_t*>(got.data()), got.size()}};
    const Status ran = (*compiled)->run(ins, outs);
    REQUIRE_MESSAGE(ran.is_ok(), ran.to_string());
    CHECK(testing::mismatches(got, want) == 0);
  }

  auto kernel = inference::make_node_kernel(model->graph, model->graph.nodes[0]);
  REQUIRE_MESSAGE(kernel.is_ok(), kernel.status().to_string());
  REQUIRE((*kernel)
              ->prepare([](size_t) -> Result<std::span<const std::uint8_t>> {
                return Status(ErrorCode::kInternal, "no constants");
              })
              .is_ok());
  std::vector<std::int8_t> got(want.size(), 0);
  Pool pool(2);
  const inference::NodeBinding binding{{a.data(), b.data()}, {got.data()}};
  REQUIRE((*kernel)->bind(binding, pool.pool).is_ok());
  REQUIRE((*kernel)->run(pool.pool).is_ok());
  const struct mallinfo2 before = mallinfo2();
  for (int run = 0; run < 30; ++run) {
    REQUIRE((*kernel)->run(pool.pool).is_ok());
    REQUIRE((*kernel)->run(nullptr).is_ok());
  }
  const struct mallinfo2 after = mallinfo2();
  CHECK(after.uordblks < before.uordblks + 256);  // as in the FP32 flow kernels' test
  CHECK(testing::mismatches(got, want) == 0);
  (*kernel)->release();
}

TEST_CASE("INT8 Correlation: more channels than the exact sum allows is an error, not a crash") {
  const std::int64_t c = reference::kMaxQuantizedCorrelationChannels + 1;
  const auto model = int8_correlation_model(Shape{1, 4, 5, c}, 1, QuantizedCorrelation{});
  auto kernel = inference::make_node_kernel(model->graph, model->graph.nodes[0]);
  REQUIRE_FALSE(kernel.is_ok());
  CHECK(kernel.status().code() == ErrorCode::kInvalidArgument);
  CHECK(kernel.status().to_string().find("258 channels") != std::string::npos);
  auto context = InferenceContext::create(std::int64_t{64} << 20, 1);
  REQUIRE(context.is_ok());
  CHECK_FALSE(CompiledModel::create(**context, model).is_ok());
}

// A float graph: two feature maps through ReLU convolutions (non-negative, as a flow model's),
// their cost volume, and the volume as the output.
std::shared_ptr<Model> float_correlation_model(std::int64_t channels) {
  std::mt19937 random(25);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  auto model = std::make_shared<Model>();
  model->metadata.name = "float_correlation";
  GraphBuilder g(*model);
  const Shape in{1, 10, 12, 3};
  const int x0 = g.input("x0", DataType::kFloat32, in);
  const int x1 = g.input("x1", DataType::kFloat32, in);
  std::vector<float> w(static_cast<size_t>(channels * 3)), bias(static_cast<size_t>(channels));
  for (float& v : w) v = normal(random);
  for (float& v : bias) v = normal(random);
  const int wt = g.constant_f32("w", Shape{channels, 1, 1, 3}, w);
  const int bt = g.constant_f32("bias", Shape{channels}, bias);
  OpAttributes conv;
  conv.clamp_min = 0.0f;
  auto f0 = g.node("feat0", OpType::kConv2d, {x0, wt, bt}, conv);
  auto f1 = g.node("feat1", OpType::kConv2d, {x1, wt, bt}, conv);
  REQUIRE(f0.is_ok());
  REQUIRE(f1.is_ok());
  OpAttributes corr;
  corr.max_displacement = 2;
  auto y = g.node("corr", OpType::kCorrelation, {*f0, *f1}, corr);
  REQUIRE(y.is_ok());
  g.output(*y);
  return model;
}

using testing::run_float_io;

TEST_CASE("INT8 Correlation: the quantizer keeps Correlation in INT8 and it follows the float") {
  for (std::int64_t channels :
       {std::int64_t{24}, reference::kMaxQuantizedCorrelationChannels + 1}) {
    CAPTURE(channels);
    const auto float_model = float_correlation_model(channels);
    std::mt19937 random(26);
    std::vector<std::vector<FloatTensor>> calibration;
    for (int i = 0; i < 4; ++i)
      calibration.push_back(
          {FloatTensor{Shape{1, 10, 12, 3}, testing::uniform(random, 360, 0, 1)},
           FloatTensor{Shape{1, 10, 12, 3}, testing::uniform(random, 360, 0, 1)}});
    QuantizeOptions options;
    options.method = RangeMethod::kMinMax;
    auto quantized = quantize_model(*float_model, calibration, options);
    REQUIRE_MESSAGE(quantized.is_ok(), quantized.status().to_string());
    const bool int8 = channels <= reference::kMaxQuantizedCorrelationChannels;
    bool found = false;
    for (const GraphNode& node : quantized->graph.nodes) {
      if (node.name != "corr") continue;
      found = true;
      const auto type = [&](int t) {
        return quantized->graph.tensors[static_cast<size_t>(t)].info.type;
      };
      CHECK(type(node.outputs[0]) == (int8 ? DataType::kInt8 : DataType::kFloat32));
      CHECK(type(node.inputs[0]) == type(node.outputs[0]));
      CHECK(type(node.inputs[1]) == type(node.outputs[0]));
    }
    CHECK(found);
    const auto int8_model = std::make_shared<Model>(std::move(*quantized));
    const std::vector<std::vector<float>> inputs = {testing::uniform(random, 360, 0, 1),
                                                    testing::uniform(random, 360, 0, 1)};
    const size_t outputs = 10 * 12 * 25;
    const auto want = run_float_io(float_model, inputs, outputs, 1);
    for (int threads : {1, 3}) {
      const auto got = run_float_io(int8_model, inputs, outputs, threads);
      CHECK(testing::cosine(got, want) > 0.999);
    }
  }
}

}  // namespace
}  // namespace fovea
