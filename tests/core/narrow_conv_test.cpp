// The FP32 kernel for convolutions to 1, 2, 4 or 8 channels (core/src/inference/narrow_conv.cpp)
// against reference::conv2d_f32 over random shapes, strides, padding, bias and clamps on 1-3
// threads; then a flow-decoder-like graph through the executor (narrow convolution, Warp,
// Correlation) against the reference executor, with no allocation per run and the per-layer
// timing hook (CompiledModel::set_layer_seconds) filled.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "../../core/src/inference/narrow_conv.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_executor.h"
#include "fovea/core/reference_kernels.h"
#include "support/float_cases.h"
#include "support/int8_conv_cases.h"

namespace fovea {
namespace {

using testing::Pool;
using testing::relative_error;
using testing::uniform;

TEST_CASE("Narrow FP32 convolution matches the reference over random shapes") {
  if (!inference::narrow_conv_supported({{1, 1, 1, 1}, {1, 1, 1, 2}})) return;  // no AVX-512
  std::mt19937 random(9);
  Pool pools[3] = {Pool(1), Pool(2), Pool(3)};
  std::uniform_int_distribution<int> size(1, 19), channels(1, 40), kernel(1, 5), stride(1, 3);
  const int outs[] = {1, 2, 4, 8};
  for (int i = 0; i < 160; ++i) {
    OpAttributes a;
    a.kernel_h = kernel(random);
    a.kernel_w = kernel(random);
    a.stride_h = stride(random);
    a.stride_w = stride(random);
    a.pad_top = std::min(i % 3, a.kernel_h - 1);
    a.pad_bottom = std::min((i / 3) % 3, a.kernel_h - 1);
    a.pad_left = std::min((i / 2) % 3, a.kernel_w - 1);
    a.pad_right = std::min(i % 2, a.kernel_w - 1);
    if (i % 4 == 1) a.clamp_min = 0.0f;
    if (i % 8 == 3) a.clamp_max = 0.5f;
    const reference::Nhwc x{1 + i % 2, std::max(size(random), a.kernel_h),
                            std::max(size(random), a.kernel_w), channels(random)};
    const std::int64_t oh =
        reference::conv_output_size(x.h, a.kernel_h, a.stride_h, 1, a.pad_top, a.pad_bottom);
    const std::int64_t ow =
        reference::conv_output_size(x.w, a.kernel_w, a.stride_w, 1, a.pad_left, a.pad_right);
    const reference::Nhwc y{x.n, oh, ow, outs[i % 4]};
    const auto xs = uniform(random, x.elements(), -1.0f, 1.0f);
    const auto w = uniform(random, y.c * a.kernel_h * a.kernel_w * x.c, -1.0f, 1.0f);
    const auto bias = uniform(random, y.c, -1.0f, 1.0f);
    const bool with_bias = i % 5 != 0;
    std::vector<float> want(static_cast<size_t>(y.elements())), got(want.size(), NAN);
    reference::conv2d_f32(xs.data(), x, w.data(), with_bias ? bias.data() : nullptr, a, want.data(),
                          y);
    inference::NarrowConvShape shape{x,          y,         a.kernel_h, a.kernel_w,  a.stride_h,
                                     a.stride_w, a.pad_top, a.pad_left, a.clamp_min, a.clamp_max};
    REQUIRE(inference::narrow_conv_supported(shape));
    inference::narrow_conv_f32(shape, xs.data(), w.data(), with_bias ? bias.data() : nullptr,
                               got.data(), pools[i % 3].pool);
    CAPTURE(i);
    CAPTURE(x.h);
    CAPTURE(x.w);
    CAPTURE(x.c);
    CAPTURE(y.c);
    CAPTURE(a.kernel_h);
    CAPTURE(a.kernel_w);
    CAPTURE(a.stride_h);
    CAPTURE(a.stride_w);
    CHECK(relative_error(got, want) <= 1e-5);
  }
}

TEST_CASE("A flow-decoder-like graph runs on the new kernels as the reference executor does") {
  // f1, f2 [1,14,22,24]; flow = conv3x3(f1) -> 2 channels (narrow kernel); warped = Warp(f2,
  // 3 * flow); cost = Correlation(f1, warped, r 2); out = conv3x3(cost) -> 2 channels.
  auto model = std::make_shared<Model>();
  model->metadata.name = "flow_like";
  GraphBuilder g(*model);
  const Shape features{1, 14, 22, 24};
  const int f1 = g.input("f1", DataType::kFloat32, features);
  const int f2 = g.input("f2", DataType::kFloat32, features);
  std::mt19937 random(10);
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 1;
  const auto w0 = uniform(random, 2 * 9 * 24, -0.3f, 0.3f);
  const auto w1 = uniform(random, 2 * 9 * 25, -0.3f, 0.3f);
  const auto b = uniform(random, 2, -0.5f, 0.5f);
  const auto three = std::vector<float>{3.0f};
  auto flow = g.node(
      "flow", OpType::kConv2d,
      {f1, g.constant_f32("w0", Shape{2, 3, 3, 24}, w0), g.constant_f32("b0", Shape{2}, b)}, conv);
  REQUIRE(flow.is_ok());
  auto scaled =
      g.node("scaled", OpType::kMultiply, {*flow, g.constant_f32("three", Shape{1}, three)});
  REQUIRE(scaled.is_ok());
  auto warped = g.node("warp", OpType::kWarp, {f2, *scaled});
  REQUIRE(warped.is_ok());
  OpAttributes corr;
  corr.max_displacement = 2;
  auto cost = g.node("corr", OpType::kCorrelation, {f1, *warped}, corr);
  REQUIRE(cost.is_ok());
  auto out = g.node(
      "out", OpType::kConv2d,
      {*cost, g.constant_f32("w1", Shape{2, 3, 3, 25}, w1), g.constant_f32("b1", Shape{2}, b)},
      conv);
  REQUIRE(out.is_ok());
  g.output(*out);

  const auto x1 = uniform(random, features.elements(), -1.0f, 1.0f);
  const auto x2 = uniform(random, features.elements(), -1.0f, 1.0f);
  const FloatTensor feed[] = {{features, x1}, {features, x2}};
  auto expected = run_reference(
      model->graph,
      [&](int i, std::span<std::uint8_t> bytes) { return model->decode_constant(i, bytes); }, feed);
  REQUIRE(expected.is_ok());
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    auto context = InferenceContext::create(64 << 20, threads);
    REQUIRE(context.is_ok());
    auto compiled = CompiledModel::create(**context, model);
    REQUIRE(compiled.is_ok());
    std::vector<float> y(static_cast<size_t>(14 * 22 * 2));
    const std::span<const std::uint8_t> in[] = {
        {reinterpret_cast<const std::uint8_t*>(x1.data()), x1.size() * 4},
        {reinterpret_cast<const std::uint8_t*>(x2.data()), x2.size() * 4}};
    const std::span<std::uint8_t> out_bytes[] = {
        {reinterpret_cast<std::uint8_t*>(y.data()), y.size() * 4}};
    REQUIRE((*compiled)->run(in, out_bytes).is_ok());
    CHECK(relative_error(y, (*expected)[0].values) <= 1e-4);
    // Steady state: nothing from the budget; with the timing hook on, every layer is timed.
    MemoryBudget& budget = (*context)->budget();
    const std::int64_t allocations = budget.allocation_count();
    std::vector<double> seconds((*compiled)->execution_order().size(), -1.0);
    CHECK_FALSE((*compiled)->set_layer_seconds(std::span(seconds).first(1)).is_ok());
    REQUIRE((*compiled)->set_layer_seconds(seconds).is_ok());
    for (int run = 0; run < 5; ++run) REQUIRE((*compiled)->run(in, out_bytes).is_ok());
    CHECK(budget.allocation_count() == allocations);
    for (double s : seconds) CHECK(s >= 0.0);
    REQUIRE((*compiled)->set_layer_seconds({}).is_ok());
    std::fill(seconds.begin(), seconds.end(), -1.0);
    REQUIRE((*compiled)->run(in, out_bytes).is_ok());
    for (double s : seconds) CHECK(s == -1.0);  // off: nothing written
    CHECK(relative_error(y, (*expected)[0].values) <= 1e-4);
  }
}

}  // namespace
}  // namespace fovea
