// fovea's oneDNN INT8 kernels (core/src/inference/onednn_nodes.cpp) against the plain reference
// (reference::conv2d_qs8, XNNPACK-exact): bit-exact over random shapes, threads and
// quantization; and their memory through the budget.

#include <doctest/doctest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/src/inference/onednn_nodes.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_kernels.h"
#include "support/int8_conv_cases.h"

namespace fovea {
namespace {

using inference::NodeKernel;

using testing::build;
using testing::Built;
using testing::bytes_of;
using testing::Constants;
using testing::conv_attributes;
using testing::ConvCase;
using testing::int8_clamp;
using testing::Pool;
// Runs the case through a oneDNN kernel; empty when oneDNN did not take the node.
std::vector<std::int8_t> run_onednn(const Built& built, int threads, MemoryBudget& budget,
                                    bool* taken) {
  const GraphNode& node = built.model->graph.nodes[0];
  const BudgetOwner owner = budget.register_owner("test");
  auto kernel =
      inference::make_onednn_node_kernel(built.model->graph, node, {&budget, owner, threads});
  REQUIRE_MESSAGE(kernel.is_ok(), kernel.status().to_string());
  *taken = *kernel != nullptr;
  if (!*taken) return {};
  Constants constants{*built.model, node, {}};
  const Status prepared = (*kernel)->prepare(constants.callback());
  REQUIRE_MESSAGE(prepared.is_ok(), prepared.to_string());
  std::vector<std::int8_t> y(static_cast<size_t>(built.y_elements), 99);
  Pool pool(threads);
  inference::NodeBinding binding;
  binding.inputs = {built.x.data(), nullptr, nullptr};
  binding.outputs = {y.data()};
  REQUIRE((*kernel)->bind(binding, pool.pool).is_ok());
  const Status ran = (*kernel)->run(pool.pool);
  REQUIRE_MESSAGE(ran.is_ok(), ran.to_string());
  (*kernel)->release();
  CHECK(budget.current_bytes(owner) == 0);
  return y;
}

// Whether this machine's oneDNN takes a plain INT8 1x1 convolution (it needs VNNI).
bool onednn_available() {
  std::mt19937 random(1);
  ConvCase k;
  k.name = "probe";
  const Built built = build(k, random);
  MemoryBudget budget(64 << 20);
  auto kernel = inference::make_onednn_node_kernel(built.model->graph, built.model->graph.nodes[0],
                                                   {&budget, budget.register_owner("probe"), 1});
  REQUIRE(kernel.is_ok());
  return *kernel != nullptr;
}

TEST_CASE("oneDNN INT8 convolutions equal the reference exactly") {
  if (!onednn_available()) {
    MESSAGE("oneDNN has no VNNI kernels on this CPU: the INT8 nodes stay on XNNPACK; skipped");
    return;
  }
  std::vector<ConvCase> cases;
  auto add = [&](std::string name, int n, int h, int w, int c, int o, OpAttributes a) {
    ConvCase k;
    k.name = std::move(name);
    k.n = n, k.h = h, k.w = w, k.c = c, k.o = o;
    k.a = a;
    cases.push_back(k);
    return &cases.back();
  };
  add("3x3 s1 pad 1", 1, 13, 11, 16, 24, conv_attributes(3, 1, 1, 1, 1, 1, 1));
  add("3x3 s2 pad 1", 1, 17, 14, 8, 32, conv_attributes(3, 2, 1, 1, 1, 1, 1));
  add("3x3 s2 pads 0,1 (TF same)", 1, 16, 16, 8, 16, conv_attributes(3, 2, 1, 0, 0, 1, 1));
  add("asymmetric pads", 1, 9, 10, 4, 16, conv_attributes(3, 1, 1, 2, 0, 1, 2));
  add("5x5 dilation 2", 1, 15, 15, 8, 16, conv_attributes(5, 1, 1, 4, 4, 4, 4, 2));
  add("stem 3 channels", 1, 32, 32, 3, 32, conv_attributes(3, 2, 1, 1, 1, 1, 1));
  add("1x1 expand", 1, 14, 14, 24, 144, conv_attributes(1, 1, 1, 0, 0, 0, 0));
  add("1x1 project", 1, 7, 7, 160, 40, conv_attributes(1, 1, 1, 0, 0, 0, 0));
  add("1x1 odd channels", 1, 5, 6, 13, 29, conv_attributes(1, 1, 1, 0, 0, 0, 0));
  add("1x1 stride 2", 1, 10, 9, 16, 32, conv_attributes(1, 2, 1, 0, 0, 0, 0));
  add("depthwise 3x3 s1", 1, 12, 12, 32, 32, conv_attributes(3, 1, 32, 1, 1, 1, 1));
  add("depthwise 3x3 s2", 1, 15, 13, 48, 48, conv_attributes(3, 2, 48, 1, 1, 1, 1));
  add("depthwise odd channels", 1, 9, 9, 21, 21, conv_attributes(3, 1, 21, 1, 1, 1, 1));
  add("depthwise multiplier 2", 1, 8, 8, 16, 32, conv_attributes(3, 1, 16, 1, 1, 1, 1));
  add("groups 4", 1, 9, 9, 32, 64, conv_attributes(3, 1, 4, 1, 1, 1, 1));
  add("groups 2 1x1", 1, 6, 6, 32, 32, conv_attributes(1, 1, 2, 0, 0, 0, 0));
  add("batch 3", 3, 7, 7, 16, 16, conv_attributes(3, 1, 1, 1, 1, 1, 1));
  add("window in the padding", 1, 4, 4, 8, 8, conv_attributes(3, 1, 1, 3, 1, 3, 1));
  {
    ConvCase* k = add("fused ReLU6", 1, 11, 11, 16, 32, conv_attributes(3, 1, 1, 1, 1, 1, 1));
    k->a.clamp_min = 0.0f;
    k->a.clamp_max = 6.0f;
    k->y_zero = -128;
  }
  {
    ConvCase* k = add("ReLU6 depthwise", 1, 11, 11, 32, 32, conv_attributes(3, 2, 32, 1, 1, 1, 1));
    k->a.clamp_min = 0.0f;
    k->a.clamp_max = 6.0f;
  }
  {
    ConvCase* k =
        add("per-tensor weight scale", 1, 8, 8, 16, 16, conv_attributes(3, 1, 1, 1, 1, 1, 1));
    k->per_channel = false;
  }
  {
    ConvCase* k =
        add("no bias, zero points 0", 1, 8, 8, 16, 16, conv_attributes(3, 1, 1, 1, 1, 1, 1));
    k->bias = false;
    k->x_zero = 0;
    k->y_zero = 0;
  }
  {
    ConvCase* k =
        add("negative input zero point", 1, 8, 8, 16, 16, conv_attributes(3, 2, 1, 1, 1, 1, 1));
    k->x_zero = -77;
    k->y_zero = 100;
  }
  for (int zero : {-3, 4}) {  // exact ties with an odd and an even output zero point
    ConvCase* k = add("ties, output zero point " + std::to_string(zero), 1, 9, 9, 8, 16,
                      conv_attributes(3, 1, 1, 1, 1, 1, 1));
    k->ties = true;
    k->x_scale = 0.5f;
    k->y_scale = 64.0f;
    k->y_zero = zero;
  }
  for (int n : {1, 4}) {
    ConvCase* k = add("fully connected batch " + std::to_string(n), n, 1, 1, 200, 130, {});
    k->fc = true;
  }
  {
    ConvCase* k = add("fully connected ReLU6, 1000 outputs", 1, 1, 1, 320, 1000, {});
    k->fc = true;
    k->a.clamp_min = 0.0f;
    k->a.clamp_max = 6.0f;
  }

  std::mt19937 random(2024);
  int taken_count = 0;
  for (const ConvCase& k : cases) {
    const Built built = build(k, random);
    int distinct = 0;
    for (int v = -128; v < 128; ++v)
      distinct += std::count(built.expected.begin(), built.expected.end(), std::int8_t(v)) > 0;
    for (int threads : {1, 2, 3}) {
      CAPTURE(k.name);
      CAPTURE(threads);
      MemoryBudget budget(64 << 20);
      bool taken = false;
      const std::vector<std::int8_t> y = run_onednn(built, threads, budget, &taken);
      if (!taken) {
        // Grouped convolutions with few channels per group may have no VNNI kernel; the node
        // then stays on XNNPACK. Everything MobileNet-like must be taken.
        CHECK_MESSAGE(k.a.groups > 1, "oneDNN declined " << k.name);
        continue;
      }
      ++taken_count;
      int mismatches = 0;
      for (size_t i = 0; i < y.size(); ++i) mismatches += y[i] != built.expected[i];
      CHECK(mismatches == 0);
    }
    CHECK_MESSAGE(distinct > 10, k.name << ": the output should spread over many values");
  }
  CHECK(taken_count >= 3 * 20);
}

TEST_CASE("oneDNN INT8 kernels: random shapes equal the reference exactly") {
  if (!onednn_available()) return;
  std::mt19937 random(99);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random); };
  int taken = 0;
  for (int trial = 0; trial < 40; ++trial) {
    ConvCase k;
    k.name = "random " + std::to_string(trial);
    const int kind = pick(0, 3);  // dense, depthwise, 1x1, fully connected
    k.n = pick(1, 2);
    k.h = pick(1, 12);
    k.w = pick(1, 12);
    k.c = pick(1, 40);
    k.o = pick(1, 48);
    k.x_zero = pick(-128, 127);
    k.y_zero = pick(-128, 127);
    const int kernel = kind == 2 ? 1 : pick(1, 4);
    k.a = conv_attributes(kernel, pick(1, 2), 1, pick(0, kernel - 1), pick(0, kernel - 1),
                          pick(0, kernel - 1), pick(0, kernel - 1));
    if (kind == 1) {
      k.o = k.c;
      k.a.groups = k.c;
    }
    if (kind == 3) {
      k.fc = true;
      k.a = {};
    }
    if (pick(0, 1) == 1) {
      k.a.clamp_min = 0.0f;
      k.a.clamp_max = 6.0f;
    }
    k.bias = pick(0, 4) != 0;
    const std::int64_t oh =
        reference::conv_output_size(k.h, kernel, k.a.stride_h, 1, k.a.pad_top, k.a.pad_bottom);
    const std::int64_t ow =
        reference::conv_output_size(k.w, kernel, k.a.stride_w, 1, k.a.pad_left, k.a.pad_right);
    if (!k.fc && (oh < 1 || ow < 1)) continue;
    const Built built = build(k, random);
    const int threads = pick(1, 3);
    CAPTURE(k.name);
    CAPTURE(threads);
    MemoryBudget budget(64 << 20);
    bool was_taken = false;
    const std::vector<std::int8_t> y = run_onednn(built, threads, budget, &was_taken);
    if (!was_taken) continue;
    ++taken;
    int mismatches = 0;
    for (size_t i = 0; i < y.size(); ++i) mismatches += y[i] != built.expected[i];
    CHECK(mismatches == 0);
  }
  CHECK(taken >= 30);
}

TEST_CASE("oneDNN kernels: packed weights and scratchpads are charged to the budget and returned") {
  if (!onednn_available()) return;
  std::mt19937 random(5);
  ConvCase k;
  k.name = "expand";
  k.h = k.w = 14;
  k.c = 64;
  k.o = 384;
  k.a = conv_attributes(3, 1, 1, 1, 1, 1, 1);
  const Built built = build(k, random);
  const GraphNode& node = built.model->graph.nodes[0];
  MemoryBudget budget(64 << 20);
  const BudgetOwner owner = budget.register_owner("model");
  auto kernel = inference::make_onednn_node_kernel(built.model->graph, node, {&budget, owner, 2});
  REQUIRE(kernel.is_ok());
  REQUIRE(*kernel != nullptr);
  CHECK((*kernel)->has_weights());
  CHECK(budget.current_bytes() == 0);  // making the primitives charges nothing
  Constants constants{*built.model, node, {}};
  for (int round = 0; round < 2; ++round) {  // prepared again after a release (an eviction)
    REQUIRE((*kernel)->prepare(constants.callback()).is_ok());
    const std::int64_t packed = budget.current_bytes(MemoryCategory::kPackedWeights);
    CHECK(packed >= static_cast<std::int64_t>(built.w.size() + built.b.size() * 4));
    CHECK(packed < static_cast<std::int64_t>(built.w.size() * 2 + 64 * 1024));
    CHECK(budget.current_bytes(owner) == budget.current_bytes());
    CHECK(budget.current_bytes(MemoryCategory::kScratch) >= 0);
    (*kernel)->release();
    CHECK(budget.current_bytes() == 0);
  }
  CHECK(budget.peak_bytes() > static_cast<std::int64_t>(built.w.size()));
}

TEST_CASE("oneDNN kernels: a budget too small fails cleanly at every allocation") {
  if (!onednn_available()) return;
  std::mt19937 random(6);
  ConvCase k;
  k.name = "too big";
  k.c = 64;
  k.o = 256;
  k.a = conv_attributes(3, 1, 1, 1, 1, 1, 1);
  const Built built = build(k, random);
  const GraphNode& node = built.model->graph.nodes[0];
  {
    MemoryBudget budget(64 * 1024);  // the weights alone are 144 KiB
    auto kernel = inference::make_onednn_node_kernel(built.model->graph, node,
                                                     {&budget, budget.register_owner("m"), 2});
    REQUIRE(kernel.is_ok());
    REQUIRE(*kernel != nullptr);
    Constants constants{*built.model, node, {}};
    const Status status = (*kernel)->prepare(constants.callback());
    CHECK(status.code() == ErrorCode::kOutOfMemory);
    CHECK(status.message().find("too big") != std::string::npos);  // names the node
    CHECK(budget.current_bytes() == 0);
  }
  // Allocation number i fails, for every i: an error, nothing held; then it works.
  MemoryBudget budget(64 << 20);
  const BudgetOwner owner = budget.register_owner("m");
  auto kernel = inference::make_onednn_node_kernel(built.model->graph, node, {&budget, owner, 2});
  REQUIRE(kernel.is_ok());
  Constants constants{*built.model, node, {}};
  int failures = 0;
  for (int i = 0; i < 16; ++i) {
    budget.fail_allocation_number(i);
    const Status status = (*kernel)->prepare(constants.callback());
    budget.fail_allocation_number(-1);
    if (status.is_ok()) {
      (*kernel)->release();
      break;
    }
    ++failures;
    CHECK(status.code() == ErrorCode::kOutOfMemory);
    CHECK(budget.current_bytes() == 0);
  }
  CHECK(failures >= 2);  // packed weights, bias (and scratchpad) are separate allocations
  std::vector<std::int8_t> y(static_cast<size_t>(built.y_elements));
  REQUIRE((*kernel)->prepare(constants.callback()).is_ok());
  inference::NodeBinding binding{{built.x.data(), nullptr, nullptr}, {y.data()}};
  REQUIRE((*kernel)->bind(binding, nullptr).is_ok());
  REQUIRE((*kernel)->run(nullptr).is_ok());
  CHECK(y == built.expected);
  (*kernel)->release();
}

TEST_CASE("oneDNN kernels decline what they do not compute, and need a budget") {
  std::mt19937 random(8);
  ConvCase k;
  k.name = "int8";
  const Built built = build(k, random);
  MemoryBudget budget(1 << 20);
  const BudgetOwner owner = budget.register_owner("m");
  const GraphNode& node = built.model->graph.nodes[0];
  auto no_budget =
      inference::make_onednn_node_kernel(built.model->graph, node, {nullptr, owner, 1});
  CHECK(no_budget.status().code() == ErrorCode::kInvalidArgument);

  // A float convolution, an add: not taken.
  Model f32;
  GraphBuilder g(f32);
  const int x = g.input("x", DataType::kFloat32, Shape{1, 4, 4, 2});
  const std::vector<float> w(4 * 2, 0.5f);
  const int wt = g.constant_f32("w", Shape{4, 1, 1, 2}, w);
  REQUIRE(g.node("conv", OpType::kConv2d, {x, wt}).is_ok());
  REQUIRE(g.node("add", OpType::kAdd, {x, x}).is_ok());
  for (const GraphNode& n : f32.graph.nodes) {
    auto kernel = inference::make_onednn_node_kernel(f32.graph, n, {&budget, owner, 1});
    REQUIRE(kernel.is_ok());
    CHECK(*kernel == nullptr);
  }
  // Asymmetric (zero point) weights are not qc8: not taken.
  Model asym = *built.model;
  for (GraphTensor& t : asym.graph.tensors)
    if (t.info.name == "w") t.info.quantization.zero_point = 3;
  auto kernel =
      inference::make_onednn_node_kernel(asym.graph, asym.graph.nodes[0], {&budget, owner, 1});
  REQUIRE(kernel.is_ok());
  CHECK(*kernel == nullptr);
}

}  // namespace
}  // namespace fovea
