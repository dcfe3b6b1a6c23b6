#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>

#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_executor.h"
#include "fovea/core/reference_kernels.h"
#include "support/op_fixture.h"
#include "support/test_models.h"

namespace fovea {
namespace {

using testing::FixtureCase;

std::span<const std::uint8_t> bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 4};
}
std::span<std::uint8_t> bytes_of(std::vector<float>& v) {
  return {reinterpret_cast<std::uint8_t*>(v.data()), v.size() * 4};
}

std::unique_ptr<InferenceContext> context(std::int64_t budget = 64 << 20, int threads = 1) {
  auto made = InferenceContext::create(budget, threads);
  REQUIRE_MESSAGE(made.is_ok(), made.status().to_string());
  return std::move(*made);
}

// One node fed by graph inputs and fixture constants; runs through XNNPACK (or the fallback).
std::vector<float> run_single_node(const FixtureCase& c, OpType op, const OpAttributes& a,
                                   const std::vector<std::string>& inputs,
                                   const std::vector<std::string>& constants) {
  auto model = std::make_shared<Model>();
  model->metadata.name = "single";
  GraphBuilder b(*model);
  std::vector<int> wired;
  for (const auto& name : inputs)
    wired.push_back(b.input(name, DataType::kFloat32, c.at(name).shape));
  for (const auto& name : constants)
    wired.push_back(b.constant_f32(name, c.at(name).shape, c.at(name).f32));
  auto out = b.node("op", op, wired, a);
  REQUIRE_MESSAGE(out.is_ok(), out.status().to_string());
  b.output(*out);
  auto ctx = context();
  auto compiled = CompiledModel::create(*ctx, model);
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  std::vector<std::span<const std::uint8_t>> in;
  for (const auto& name : inputs) in.push_back(bytes_of(c.at(name).f32));
  std::vector<float> y(c.at("y").f32.size());
  std::span<std::uint8_t> out_bytes[] = {bytes_of(y)};
  const Status status = (*compiled)->run(in, out_bytes);
  REQUIRE_MESSAGE(status.is_ok(), status.to_string());
  return y;
}

void check_close(const std::vector<float>& actual, const std::vector<float>& expected,
                 float tolerance) {
  REQUIRE(actual.size() == expected.size());
  float worst = 0.0f;
  for (size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(actual[i] - expected[i]) / (1.0f + std::abs(expected[i])));
  CHECK_MESSAGE(worst <= tolerance, "largest relative difference " << worst);
}

TEST_CASE("XNNPACK float kernels match PyTorch op by op") {
  const auto cases = testing::load_fixture("reference_ops");
  for (const char* name :
       {"conv_3x3_s2", "conv_depthwise_d2", "conv_grouped_asym_pad_relu6", "conv_1x1"}) {
    const std::string case_name = name;
    CAPTURE(case_name);
    const FixtureCase& c = cases.at(name);
    const auto v = c.attrs();
    OpAttributes a;
    a.kernel_h = v[0], a.kernel_w = v[1], a.stride_h = v[2], a.stride_w = v[3];
    a.dilation_h = v[4], a.dilation_w = v[5];
    a.pad_top = v[6], a.pad_left = v[7], a.pad_bottom = v[8], a.pad_right = v[9];
    a.groups = v[10];
    if (v[11]) a.clamp_min = 0.0f, a.clamp_max = 6.0f;
    check_close(run_single_node(c, OpType::kConv2d, a, {"x"}, {"w", "b"}), c.at("y").f32, 1e-4f);
  }
  check_close(
      run_single_node(cases.at("fully_connected"), OpType::kFullyConnected, {}, {"x"}, {"w", "b"}),
      cases.at("fully_connected").at("y").f32, 1e-4f);
  check_close(run_single_node(cases.at("add_broadcast"), OpType::kAdd, {}, {"a", "b"}, {}),
              cases.at("add_broadcast").at("y").f32, 1e-6f);
  check_close(run_single_node(cases.at("multiply_broadcast"), OpType::kMultiply, {}, {"a"}, {"b"}),
              cases.at("multiply_broadcast").at("y").f32, 1e-6f);
  OpAttributes concat;
  concat.axis = 3;
  check_close(run_single_node(cases.at("concat_channels"), OpType::kConcat, concat, {"a", "b"}, {}),
              cases.at("concat_channels").at("y").f32, 0.0f);
  check_close(
      run_single_node(cases.at("global_average_pool"), OpType::kGlobalAveragePool, {}, {"x"}, {}),
      cases.at("global_average_pool").at("y").f32, 1e-5f);
  check_close(run_single_node(cases.at("global_max_pool"), OpType::kGlobalMaxPool, {}, {"x"}, {}),
              cases.at("global_max_pool").at("y").f32, 0.0f);
  for (auto [name, op] : {std::pair{"max_pool_3x3_s2_p1", OpType::kMaxPool2d},
                          std::pair{"average_pool_3x3_s2_p1", OpType::kAveragePool2d}}) {
    const std::string case_name = name;
    CAPTURE(case_name);
    OpAttributes a;
    a.kernel_h = a.kernel_w = 3;
    a.stride_h = a.stride_w = 2;
    a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = 1;
    check_close(run_single_node(cases.at(name), op, a, {"x"}, {}), cases.at(name).at("y").f32,
                1e-5f);
  }
  for (const std::string name :
       {"resize_up_half_pixel", "resize_down_half_pixel", "resize_up_align_corners"}) {
    const std::string case_name = name;
    CAPTURE(case_name);
    const FixtureCase& c = cases.at(name);
    OpAttributes a;
    a.output_h = c.attrs()[0], a.output_w = c.attrs()[1], a.align_corners = c.attrs()[2] != 0;
    check_close(run_single_node(c, OpType::kResizeBilinear, a, {"x"}, {}), c.at("y").f32, 1e-4f);
  }
  for (auto [name, op] :
       {std::pair{"sigmoid", OpType::kSigmoid}, std::pair{"tanh", OpType::kTanh},
        std::pair{"hardswish", OpType::kHardSwish}, std::pair{"softmax", OpType::kSoftmax}}) {
    const std::string case_name = name;
    CAPTURE(case_name);
    check_close(run_single_node(cases.at(name), op, {}, {"x"}, {}), cases.at(name).at("y").f32,
                1e-5f);
  }
  OpAttributes relu6;
  relu6.clamp_min = 0.0f, relu6.clamp_max = 6.0f;
  check_close(run_single_node(cases.at("clamp_relu6"), OpType::kClamp, relu6, {"x"}, {}),
              cases.at("clamp_relu6").at("y").f32, 0.0f);
  OpAttributes corr;
  corr.max_displacement = 2;
  check_close(
      run_single_node(cases.at("correlation_r2"), OpType::kCorrelation, corr, {"a", "b"}, {}),
      cases.at("correlation_r2").at("y").f32, 1e-5f);
  check_close(run_single_node(cases.at("warp"), OpType::kWarp, {}, {"x", "flow"}, {}),
              cases.at("warp").at("y").f32, 1e-4f);
}

TEST_CASE("XNNPACK LeakyRelu matches the reference kernel over random shapes") {
  std::mt19937 random(22);
  std::uniform_int_distribution<int> extent(1, 13);
  std::uniform_real_distribution<float> value(-5.0f, 5.0f);
  const float alphas[] = {0.1f, 0.01f, 0.0f, 0.5f, 2.0f};
  for (int trial = 0; trial < 12; ++trial) {
    const Shape shape = trial % 3 == 0   ? Shape{extent(random), 3 * extent(random)}
                        : trial % 3 == 1 ? Shape{1, extent(random), extent(random), extent(random)}
                                         : Shape{2, extent(random), extent(random), 17};
    OpAttributes a;
    a.alpha = alphas[trial % 5];
    CAPTURE(trial);
    CAPTURE(a.alpha);
    auto model = std::make_shared<Model>();
    model->metadata.name = "leaky";
    GraphBuilder b(*model);
    const int x = b.input("x", DataType::kFloat32, shape);
    auto y = b.node("leaky", OpType::kLeakyRelu, {x}, a);
    REQUIRE_MESSAGE(y.is_ok(), y.status().to_string());
    b.output(*y);
    REQUIRE(model->graph.tensors[static_cast<size_t>(*y)].info.shape == shape);

    std::vector<float> input(static_cast<size_t>(shape.elements()));
    for (float& v : input) v = value(random);
    input[0] = 0.0f;
    std::vector<float> expected(input.size());
    reference::leaky_relu_f32(input.data(), shape.elements(), a.alpha, expected.data());
    // The reference executor dispatches to the same kernel.
    const FloatTensor feed{shape, input};
    auto reference_run = run_reference(model->graph, {}, std::span(&feed, 1));
    REQUIRE_MESSAGE(reference_run.is_ok(), reference_run.status().to_string());
    CHECK((*reference_run)[0].values == expected);

    auto ctx = context();
    auto compiled = CompiledModel::create(*ctx, model);
    REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
    std::vector<float> actual(input.size());
    std::span<const std::uint8_t> in[] = {bytes_of(input)};
    std::span<std::uint8_t> out[] = {bytes_of(actual)};
    const Status status = (*compiled)->run(in, out);
    REQUIRE_MESSAGE(status.is_ok(), status.to_string());
    check_close(actual, expected, 1e-6f);
  }
}

// Its INT8 kernel is tested in int8_lut_test.cpp.
TEST_CASE("LeakyRelu takes no fused clamp and needs a finite alpha") {
  OpAttributes a;
  a.alpha = 0.1f;
  Model clamped;
  GraphBuilder c(clamped);
  const int cx = c.input("x", DataType::kFloat32, Shape{1, 8});
  a.clamp_max = 6.0f;
  CHECK_FALSE(c.node("leaky", OpType::kLeakyRelu, {cx}, a).is_ok());
  a.clamp_max = std::numeric_limits<float>::infinity();
  a.alpha = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(c.node("leaky", OpType::kLeakyRelu, {cx}, a).is_ok());
}

// A small INT8 network: conv3x3 (per-channel weights) + ReLU, depthwise conv, add, global
// average pool. Every XNNPACK output must equal the plain C++ INT8 computation exactly.
TEST_CASE("INT8 convolutions through XNNPACK equal the reference INT8 kernels exactly") {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(-127, 127);
  auto model = std::make_shared<Model>();
  model->metadata.name = "int8";
  GraphBuilder b(*model);
  const Quantization xq{{0.05f}, -3, -1};
  const int x = b.input("x", DataType::kInt8, Shape{1, 9, 7, 8}, xq);
  std::vector<std::int8_t> w1(16 * 3 * 3 * 8);
  for (auto& v : w1) v = static_cast<std::int8_t>(byte(random));
  std::vector<float> w1_scales(16);
  for (size_t o = 0; o < 16; ++o) w1_scales[o] = 0.002f + 0.0005f * float(o);
  std::vector<std::int32_t> b1(16);
  for (auto& v : b1) v = byte(random) * 40;
  const int w1t = b.constant("w1", DataType::kInt8, Shape{16, 3, 3, 8},
                             {reinterpret_cast<const std::uint8_t*>(w1.data()), w1.size()},
                             Quantization{w1_scales, 0, 0}, /*entropy_code=*/true);
  const int b1t = b.constant("b1", DataType::kInt32, Shape{16},
                             {reinterpret_cast<const std::uint8_t*>(b1.data()), b1.size() * 4});
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 1;
  conv.stride_h = 2;
  conv.clamp_min = 0.0f;
  const Quantization yq{{0.04f}, -128, -1};
  auto y = b.node("conv", OpType::kConv2d, {x, w1t, b1t}, conv, yq);
  REQUIRE_MESSAGE(y.is_ok(), y.status().to_string());
  b.output(*y);

  auto ctx = context();
  auto compiled = CompiledModel::create(*ctx, model);
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  std::vector<std::int8_t> input(9 * 7 * 8);
  for (auto& v : input) v = static_cast<std::int8_t>(byte(random));
  std::vector<std::int8_t> output(
      static_cast<size_t>(model->graph.tensors[static_cast<size_t>(*y)].info.shape.elements()));
  std::span<const std::uint8_t> in[] = {
      {reinterpret_cast<const std::uint8_t*>(input.data()), input.size()}};
  std::span<std::uint8_t> out[] = {{reinterpret_cast<std::uint8_t*>(output.data()), output.size()}};
  REQUIRE((*compiled)->run(in, out).is_ok());

  std::vector<std::int8_t> expected(output.size());
  const reference::QuantizedConv q{.x_scale = 0.05f,
                                   .x_zero_point = -3,
                                   .w_scales = w1_scales,
                                   .y_scale = 0.04f,
                                   .y_zero_point = -128,
                                   .y_min = -128,
                                   .y_max = 127};
  reference::conv2d_qs8(input.data(), {1, 9, 7, 8}, w1.data(), b1.data(), conv, q, expected.data(),
                        {1, 5, 7, 16});
  int mismatches = 0;
  for (size_t i = 0; i < output.size(); ++i) mismatches += output[i] != expected[i];
  CHECK(mismatches == 0);
  int distinct = 0;
  for (int v = -128; v < 128; ++v)
    distinct += std::count(output.begin(), output.end(), static_cast<std::int8_t>(v)) > 0;
  CHECK(distinct > 20);  // a real spread of values, not a saturated or constant output
}

using testing::image_input;
using testing::residual_model;

TEST_CASE("a float model through the executor matches the reference executor") {
  const auto model = residual_model("residual", 16, 0.0f);
  const std::vector<float> image = image_input();
  FloatTensor input{Shape{1, 16, 16, 3}, image};
  auto expected = run_reference(
      model->graph,
      [&](int i, std::span<std::uint8_t> out) { return model->decode_constant(i, out); },
      std::span(&input, 1));
  REQUIRE(expected.is_ok());
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    auto ctx = context(64 << 20, threads);
    auto compiled = CompiledModel::create(*ctx, model);
    REQUIRE(compiled.is_ok());
    std::vector<float> y(10);
    std::span<const std::uint8_t> in[] = {bytes_of(image)};
    std::span<std::uint8_t> out[] = {bytes_of(y)};
    REQUIRE((*compiled)->run(in, out).is_ok());
    check_close(y, (*expected)[0].values, 1e-5f);
  }
}

TEST_CASE(
    "three models under one budget: evicted and re-packed, identical outputs, no steady-state "
    "allocation") {
  const std::vector<float> image = image_input();
  std::span<const std::uint8_t> in[] = {bytes_of(image)};
  std::vector<std::shared_ptr<Model>> models = {
      residual_model("a", 64, 0.0f), residual_model("b", 96, 1.0f), residual_model("c", 128, 2.0f)};
  // Uncapped: each model's outputs, and what each part of the footprint needs.
  std::vector<std::vector<float>> uncapped(3, std::vector<float>(10));
  std::int64_t footprint = 0, smallest_feasible = 0;
  {
    auto ctx = context(1 << 30);
    std::vector<std::unique_ptr<CompiledModel>> compiled;
    for (auto& m : models) compiled.push_back(*CompiledModel::create(*ctx, m));
    for (int round = 0; round < 2; ++round)
      for (size_t i = 0; i < 3; ++i) {
        std::span<std::uint8_t> out[] = {bytes_of(uncapped[i])};
        REQUIRE(compiled[i]->run(in, out).is_ok());
      }
    MemoryBudget& budget = ctx->budget();
    footprint = budget.peak_bytes();
    // The smallest budget that can work: the arena, every model's weights at rest, and the
    // largest one model's packed weights, scratch and XNNPACK buffers.
    std::int64_t largest_running = 0;
    smallest_feasible = budget.peak_bytes(MemoryCategory::kActivations);
    for (auto& c : compiled) {
      smallest_feasible += c->model().stored_bytes();
      largest_running =
          std::max(largest_running, budget.peak_bytes(c->owner()) - c->model().stored_bytes());
    }
    smallest_feasible += largest_running;
    // Steady state: more rounds allocate nothing.
    const std::int64_t allocations = budget.allocation_count();
    std::vector<float> y(10);
    std::span<std::uint8_t> out[] = {bytes_of(y)};
    for (int round = 0; round < 5; ++round)
      for (auto& c : compiled) REQUIRE(c->run(in, out).is_ok());
    CHECK(budget.allocation_count() == allocations);
  }
  MESSAGE("three models: uncapped footprint " << footprint << " bytes, smallest feasible budget "
                                              << smallest_feasible);
  REQUIRE(smallest_feasible < footprint);

  for (double fraction : {1.0, 0.5, 0.0}) {
    // From the uncapped footprint down to just above the smallest feasible budget.
    const auto cap = static_cast<std::int64_t>(double(smallest_feasible) * 1.02 +
                                               double(footprint - smallest_feasible) * fraction);
    CAPTURE(cap);
    auto ctx = context(cap);
    std::vector<std::unique_ptr<CompiledModel>> compiled;
    for (auto& m : models) {
      auto c = CompiledModel::create(*ctx, m);
      REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
      compiled.push_back(*std::move(c));
    }
    for (int round = 0; round < 4; ++round)
      for (size_t i = 0; i < 3; ++i) {
        std::vector<float> y(10);
        std::span<std::uint8_t> out[] = {bytes_of(y)};
        const Status status = compiled[i]->run(in, out);
        REQUIRE_MESSAGE(status.is_ok(), status.to_string());
        CHECK(std::memcmp(y.data(), uncapped[i].data(), 40) == 0);  // bit-identical
      }
    CHECK(ctx->budget().peak_bytes() <= ctx->budget().cap_bytes());
    if (fraction < 1.0) CHECK(ctx->budget().eviction_count() > 0);
  }

  // Below the smallest feasible budget, running fails with a message naming the budget.
  auto ctx = context(smallest_feasible * 9 / 10);
  std::vector<std::unique_ptr<CompiledModel>> compiled;
  Status failure;
  for (auto& m : models) {
    auto c = CompiledModel::create(*ctx, m);
    if (!c) {
      failure = c.status();
      break;
    }
    compiled.push_back(*std::move(c));
  }
  for (size_t i = 0; failure.is_ok() && i < compiled.size(); ++i) {
    std::vector<float> y(10);
    std::span<std::uint8_t> out[] = {bytes_of(y)};
    failure = compiled[i]->run(in, out);
  }
  CHECK(failure.code() == ErrorCode::kOutOfMemory);
  CHECK(failure.message().find("memory budget") != std::string::npos);
  CHECK(ctx->budget().peak_bytes() <= ctx->budget().cap_bytes());
}

TEST_CASE("a model streams its layers through a budget smaller than its packed weights") {
  const std::vector<float> image = image_input();
  std::span<const std::uint8_t> in[] = {bytes_of(image)};
  const auto model = testing::deep_model("streamed", 64, 8, 0.5f);
  std::vector<float> expected(10);
  std::int64_t packed = 0, fixed = 0;
  {
    auto ctx = context(1 << 30, 2);
    auto compiled = *CompiledModel::create(*ctx, model);
    std::span<std::uint8_t> out[] = {bytes_of(expected)};
    REQUIRE(compiled->run(in, out).is_ok());
    packed = compiled->packed_bytes();
    fixed = ctx->budget().peak_bytes() - packed;  // arena, weights at rest, transient scratch
    CHECK(compiled->resident());
    CHECK(compiled->layers_repacked() == 0);
  }
  REQUIRE(packed > 0);
  // Room for the fixed part and half the packed weights: a whole-model residency cannot fit.
  const std::int64_t cap = fixed + packed / 2;
  auto ctx = context(cap, 2);
  auto compiled = CompiledModel::create(*ctx, model);
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  for (int round = 0; round < 3; ++round) {
    std::vector<float> y(10);
    std::span<std::uint8_t> out[] = {bytes_of(y)};
    const Status status = (*compiled)->run(in, out);
    REQUIRE_MESSAGE(status.is_ok(), status.to_string());
    CHECK(std::memcmp(y.data(), expected.data(), sizeof(float) * 10) == 0);
  }
  CHECK(ctx->budget().peak_bytes() <= cap);
  CHECK((*compiled)->layers_repacked() > 0);
  CHECK_FALSE((*compiled)->resident());
  MESSAGE("packed " << packed << " bytes, fixed " << fixed << ", cap " << cap << ", re-made "
                    << (*compiled)->layers_repacked() << " layers in 3 runs");
  // prefetch() packs what fits; evict() gives it all back while the model is idle.
  // Every byte the model holds beyond its weights at rest is some layer's, so eviction can
  // find it.
  const std::int64_t at_rest = (*compiled)->model().resident_stored_bytes();
  CHECK((*compiled)->packed_bytes() == ctx->budget().current_bytes((*compiled)->owner()) - at_rest);
  (*compiled)->evict();
  CHECK((*compiled)->packed_bytes() == 0);
  CHECK(ctx->budget().current_bytes((*compiled)->owner()) == at_rest);
}

TEST_CASE("a worker prefetches the next model while the current one runs, within the cap") {
  const std::vector<float> image = image_input();
  std::span<const std::uint8_t> in[] = {bytes_of(image)};
  std::vector<std::shared_ptr<Model>> models = {testing::deep_model("a", 48, 6, 0.1f),
                                                testing::deep_model("b", 64, 4, 0.7f),
                                                testing::deep_model("c", 32, 8, 1.3f)};
  std::vector<std::vector<float>> expected(3, std::vector<float>(10));
  // These models hold their weights at rest in memory, which the budget counts for their whole
  // life; the squeeze is on the rest of the footprint.
  std::int64_t footprint = 0, at_rest = 0;
  {
    auto ctx = context(1 << 30, 2);
    std::vector<std::unique_ptr<CompiledModel>> compiled;
    for (size_t i = 0; i < 3; ++i) {
      compiled.push_back(*CompiledModel::create(*ctx, models[i]));
      std::span<std::uint8_t> out[] = {bytes_of(expected[i])};
      REQUIRE(compiled.back()->run(in, out).is_ok());
      at_rest += models[i]->resident_stored_bytes();
    }
    footprint = ctx->budget().peak_bytes();
  }
  for (double fraction : {0.8, 0.6}) {
    CAPTURE(fraction);
    const auto cap = at_rest + static_cast<std::int64_t>(double(footprint - at_rest) * fraction);
    auto ctx = context(cap, 2);
    std::vector<std::unique_ptr<CompiledModel>> compiled;
    for (auto& m : models) {
      auto c = CompiledModel::create(*ctx, m);
      REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
      compiled.push_back(*std::move(c));
    }
    std::vector<BudgetOwner> order;
    for (int ahead = 0; ahead < 2; ++ahead)
      for (auto& c : compiled) order.push_back(c->owner());
    for (int frame = 0; frame < 6; ++frame) {
      ctx->budget().set_next_uses(order);
      for (size_t i = 0; i < 3; ++i) {
        // The next model packs on a worker while this one runs.
        Status prefetched;
        std::thread worker([&] { prefetched = compiled[(i + 1) % 3]->prefetch(); });
        std::vector<float> y(10);
        std::span<std::uint8_t> out[] = {bytes_of(y)};
        const Status status = compiled[i]->run(in, out);
        worker.join();
        REQUIRE_MESSAGE(status.is_ok(), status.to_string());
        // A prefetch may find no room while the run holds its layers; that is not an error
        // the run sees, and the next run re-makes what it needs.
        CHECK((prefetched.is_ok() || prefetched.code() == ErrorCode::kOutOfMemory));
        CHECK(std::memcmp(y.data(), expected[i].data(), sizeof(float) * 10) == 0);
      }
    }
    CHECK(ctx->budget().peak_bytes() <= cap);

    // The context's own worker does the same from the schedule, with nothing to call.
    REQUIRE(ctx->set_prefetch_worker(true).is_ok());
    for (int frame = 0; frame < 6; ++frame) {
      ctx->budget().set_next_uses(order);
      for (size_t i = 0; i < 3; ++i) {
        std::vector<float> y(10);
        std::span<std::uint8_t> out[] = {bytes_of(y)};
        const Status status = compiled[i]->run(in, out);
        REQUIRE_MESSAGE(status.is_ok(), status.to_string());
        CHECK(std::memcmp(y.data(), expected[i].data(), sizeof(float) * 10) == 0);
      }
    }
    CHECK(ctx->budget().peak_bytes() <= cap);
    MESSAGE(fraction << " of the footprint: the worker packed " << ctx->layers_prefetched()
                     << " layers ahead of need");
    // Models may go away while the worker runs; the context stops it last.
    compiled.pop_back();
  }
}

TEST_CASE("bad inputs to a compiled model are errors with sizes named") {
  auto ctx = context();
  auto compiled = CompiledModel::create(*ctx, residual_model("m", 8, 0.0f));
  REQUIRE(compiled.is_ok());
  std::vector<float> small(10), y(10);
  std::span<const std::uint8_t> in[] = {bytes_of(small)};
  std::span<std::uint8_t> out[] = {bytes_of(y)};
  const Status status = (*compiled)->run(in, out);
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  CHECK(status.message().find("image") != std::string::npos);
  CHECK((*compiled)->run({}, out).code() == ErrorCode::kInvalidArgument);
  CHECK(CompiledModel::create(*ctx, nullptr).status().code() == ErrorCode::kInvalidArgument);
  CHECK(InferenceContext::create(0, 1).status().code() == ErrorCode::kInvalidArgument);
  CHECK(InferenceContext::create(1 << 20, 0).status().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fovea
