// fovea's AVX-512 VNNI INT8 kernels (core/src/inference/vnni_nodes.cpp) against the plain
// reference (reference::conv2d_qs8, XNNPACK-exact): bit-exact over named edge cases, random
// shapes and 1-3 threads; what they decline; and their memory: everything through the budget,
// allocated in prepare() and nothing after.

#include <doctest/doctest.h>
#include <malloc.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/src/inference/vnni_nodes.h"
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
// Runs the case through a VNNI kernel (twice: a second run must give the same bytes and make no
// budget allocation); empty when the kernel did not take the node.
std::vector<std::int8_t> run_vnni(const Built& built, int threads, MemoryBudget& budget,
                                  bool* taken) {
  const GraphNode& node = built.model->graph.nodes[0];
  const BudgetOwner owner = budget.register_owner("test");
  auto kernel =
      inference::make_vnni_node_kernel(built.model->graph, node, {&budget, owner, threads});
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
  const std::int64_t allocations = budget.allocation_count();
  REQUIRE((*kernel)->bind(binding, pool.pool).is_ok());
  const Status ran = (*kernel)->run(pool.pool);
  REQUIRE_MESSAGE(ran.is_ok(), ran.to_string());
  const std::vector<std::int8_t> first = y;
  std::fill(y.begin(), y.end(), std::int8_t{99});
  REQUIRE((*kernel)->run(pool.pool).is_ok());
  CHECK(y == first);
  CHECK(budget.allocation_count() == allocations);
  (*kernel)->release();
  CHECK(budget.current_bytes(owner) == 0);
  return y;
}

using testing::depthwise;
using testing::mismatches;
using testing::pointwise;

TEST_CASE("VNNI INT8 kernels equal the reference exactly") {
  if (!inference::vnni_kernels_supported()) {
    MESSAGE("this CPU has no AVX-512 VNNI: the INT8 nodes stay on XNNPACK; skipped");
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
  add("1x1 expand", 1, 14, 14, 24, 144, pointwise());
  add("1x1 project", 1, 7, 7, 160, 40, pointwise());
  add("1x1 wide (4-block chunks)", 1, 9, 7, 64, 384, pointwise());
  add("1x1 odd channels (K % 4 = 1, O % 16 = 13)", 1, 5, 6, 13, 29, pointwise());
  add("1x1 K = 1, O = 1", 1, 6, 5, 1, 1, pointwise());
  add("1x1 K = 3, O = 17", 1, 4, 4, 3, 17, pointwise());
  add("1x1 many pixels (tile tails)", 1, 31, 29, 32, 16, pointwise());
  add("1x1 output-channel slices", 1, 3, 3, 48, 200, pointwise());
  add("1x1 one-pixel image", 1, 1, 1, 96, 24, pointwise());
  add("1x1 batch 3", 3, 5, 7, 20, 36, pointwise());
  add("depthwise 3x3 s1", 1, 12, 12, 32, 32, depthwise(32, 1, 1, 1, 1, 1));
  add("depthwise 3x3 s2", 1, 15, 13, 48, 48, depthwise(48, 2, 1, 1, 1, 1));
  add("depthwise s2 pads 0,1 (TF same)", 1, 16, 16, 32, 32, depthwise(32, 2, 0, 0, 1, 1));
  add("depthwise s1 asymmetric pads", 1, 9, 10, 16, 16, depthwise(16, 1, 2, 0, 1, 2));
  add("depthwise s2 asymmetric pads", 1, 9, 10, 16, 16, depthwise(16, 2, 1, 2, 2, 0));
  add("depthwise no padding", 1, 7, 9, 16, 16, depthwise(16, 1, 0, 0, 0, 0));
  add("depthwise odd channels", 1, 9, 9, 21, 21, depthwise(21, 1, 1, 1, 1, 1));
  add("depthwise 80 channels (tail block)", 1, 6, 5, 80, 80, depthwise(80, 1, 1, 1, 1, 1));
  add("depthwise 1 channel", 1, 5, 5, 1, 1, depthwise(1, 1, 1, 1, 1, 1));
  add("depthwise one-pixel image", 1, 1, 1, 24, 24, depthwise(24, 1, 1, 1, 1, 1));
  add("depthwise 2-pixel-wide image", 1, 5, 2, 16, 16, depthwise(16, 2, 1, 1, 1, 1));
  add("depthwise batch 3", 3, 7, 6, 40, 40, depthwise(40, 2, 1, 1, 1, 1));
  add("stem 3x3 s2, 3 channels", 1, 32, 32, 3, 32, conv_attributes(3, 2, 1, 1, 1, 1, 1));
  add("stem 3x3 s2 pads 0,1 (TF same)", 1, 16, 16, 3, 32, conv_attributes(3, 2, 1, 0, 0, 1, 1));
  add("dense 3x3 s1, 16 channels, batch 2", 2, 9, 8, 16, 24, conv_attributes(3, 1, 1, 1, 1, 1, 1));
  add("dense 5x5 asymmetric pads", 1, 9, 10, 4, 16, conv_attributes(5, 1, 1, 2, 0, 1, 4));
  add("dense window wholly in the padding", 1, 4, 4, 8, 8, conv_attributes(3, 1, 1, 3, 1, 3, 1));
  add("dense 2x2 s2 no padding", 1, 8, 6, 5, 7, conv_attributes(2, 2, 1, 0, 0, 0, 0));
  add("1x1 stride 2", 1, 10, 9, 16, 32, conv_attributes(1, 2, 1, 0, 0, 0, 0));
  add("1x1 padded", 1, 5, 5, 8, 16, conv_attributes(1, 1, 1, 1, 1, 1, 1));
  for (OpAttributes a : {pointwise(), depthwise(32, 1, 1, 1, 1, 1)}) {
    const std::string kind = a.groups == 1 ? "1x1" : "depthwise";
    {
      ConvCase* k = add(kind + " fused ReLU6", 1, 11, 11, 32, 32, a);
      k->a.clamp_min = 0.0f;
      k->a.clamp_max = 6.0f;
      k->y_zero = -128;
    }
    {
      ConvCase* k = add(kind + " per-tensor weight scale", 1, 8, 8, 32, 32, a);
      k->per_channel = false;
    }
    {
      ConvCase* k = add(kind + " no bias, zero points 0", 1, 8, 8, 32, 32, a);
      k->bias = false;
      k->x_zero = 0;
      k->y_zero = 0;
    }
    {
      ConvCase* k = add(kind + " negative input zero point", 1, 8, 8, 32, 32, a);
      k->x_zero = -77;
      k->y_zero = 100;
    }
    {
      ConvCase* k = add(kind + " extreme zero points", 1, 8, 8, 32, 32, a);
      k->x_zero = -128;
      k->y_zero = 127;
    }
    for (int zero : {-3, 4}) {  // exact ties with an odd and an even output zero point
      ConvCase* k =
          add(kind + " ties, output zero point " + std::to_string(zero), 1, 9, 9, 32, 32, a);
      k->ties = true;
      k->x_scale = 0.5f;
      k->y_scale = 64.0f;
      k->y_zero = zero;
    }
  }
  for (int n : {1, 4}) {
    ConvCase* k = add("fully connected batch " + std::to_string(n), n, 1, 1, 200, 130, {});
    k->fc = true;
  }
  {
    ConvCase* k = add("fully connected ReLU6, 1000 outputs", 1, 1, 1, 1280, 1000, {});
    k->fc = true;
    k->a.clamp_min = 0.0f;
    k->a.clamp_max = 6.0f;
  }
  {
    ConvCase* k = add("fully connected K = 7, batch 30", 30, 1, 1, 7, 20, {});
    k->fc = true;
  }

  std::mt19937 random(2024);
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
      const std::vector<std::int8_t> y = run_vnni(built, threads, budget, &taken);
      REQUIRE_MESSAGE(taken, "declined " << k.name);
      CHECK(mismatches(y, built.expected) == 0);
    }
    if (built.y_elements >= 64)
      CHECK_MESSAGE(distinct > 10, k.name << ": the output should spread over many values");
  }
}

TEST_CASE("VNNI INT8 kernels: random shapes equal the reference exactly") {
  if (!inference::vnni_kernels_supported()) return;
  std::mt19937 random(99);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random); };
  int tried = 0;
  for (int trial = 0; trial < 60 && tried < 45; ++trial) {
    ConvCase k;
    k.name = "random " + std::to_string(trial);
    const int kind = pick(0, 3);  // 1x1, depthwise, fully connected, dense
    k.n = pick(1, 2);
    k.h = pick(1, 30);
    k.w = pick(1, 30);
    k.c = pick(1, 100);
    k.o = pick(1, 150);
    k.x_zero = pick(-128, 127);
    k.y_zero = pick(-128, 127);
    if (kind == 0) k.a = pointwise();
    if (kind == 1) {
      k.o = k.c;
      k.a = depthwise(k.c, pick(1, 2), pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2));
    }
    const int kernel = kind == 1 ? 3 : kind == 3 ? pick(1, 4) : 1;
    if (kind == 3) {
      k.c = pick(1, 40);
      k.a = conv_attributes(kernel, pick(1, 2), 1, pick(0, kernel - 1), pick(0, kernel - 1),
                            pick(0, kernel - 1), pick(0, kernel - 1));
    }
    if (kind == 2) {
      k.fc = true;
      k.n = pick(1, 40);
      k.c = pick(1, 1500);
      k.o = pick(1, 1100);
    }
    if (pick(0, 1) == 1) {
      k.a.clamp_min = 0.0f;
      k.a.clamp_max = 6.0f;
    }
    k.bias = pick(0, 4) != 0;
    k.per_channel = pick(0, 5) != 0;
    const std::int64_t oh =
        reference::conv_output_size(k.h, kernel, k.a.stride_h, 1, k.a.pad_top, k.a.pad_bottom);
    const std::int64_t ow =
        reference::conv_output_size(k.w, kernel, k.a.stride_w, 1, k.a.pad_left, k.a.pad_right);
    if (!k.fc && (oh < 1 || ow < 1)) continue;
    ++tried;
    const Built built = build(k, random);
    const int threads = pick(1, 3);
    CAPTURE(k.name);
    CAPTURE(kind);
    CAPTURE(threads);
    MemoryBudget budget(64 << 20);
    bool taken = false;
    const std::vector<std::int8_t> y = run_vnni(built, threads, budget, &taken);
    REQUIRE(taken);
    CHECK(mismatches(y, built.expected) == 0);
  }
  CHECK(tried >= 40);
}

TEST_CASE("VNNI kernels: memory through the budget, allocated in prepare() and never after") {
  if (!inference::vnni_kernels_supported()) return;
  std::mt19937 random(5);
  for (bool dw : {false, true}) {
    ConvCase k;
    k.name = dw ? "depthwise" : "expand";
    k.h = k.w = 14;
    k.c = 64;
    k.o = dw ? 64 : 384;
    k.a = dw ? depthwise(64, 1, 1, 1, 1, 1) : pointwise();
    CAPTURE(k.name);
    const Built built = build(k, random);
    const GraphNode& node = built.model->graph.nodes[0];
    MemoryBudget budget(64 << 20);
    const BudgetOwner owner = budget.register_owner("model");
    auto kernel = inference::make_vnni_node_kernel(built.model->graph, node, {&budget, owner, 2});
    REQUIRE(kernel.is_ok());
    REQUIRE(*kernel != nullptr);
    CHECK((*kernel)->has_weights());
    CHECK(budget.current_bytes() == 0);  // making the kernel charges nothing
    Constants constants{*built.model, node, {}};
    Pool pool(2);
    std::vector<std::int8_t> y(static_cast<size_t>(built.y_elements));
    for (int round = 0; round < 2; ++round) {  // prepared again after a release (an eviction)
      REQUIRE((*kernel)->prepare(constants.callback()).is_ok());
      const std::int64_t packed = budget.current_bytes(MemoryCategory::kPackedWeights);
      CHECK(packed >= static_cast<std::int64_t>(built.w.size() + built.b.size() * 4));
      CHECK(packed < static_cast<std::int64_t>(built.w.size() * 5 + 64 * 1024));
      CHECK(budget.current_bytes(owner) == budget.current_bytes());
      // Bind and run many times: no budget allocation, no heap growth. One untimed round
      // first, so first-use set-up anywhere in the process is behind us.
      {
        inference::NodeBinding binding{{built.x.data(), nullptr, nullptr}, {y.data()}};
        REQUIRE((*kernel)->bind(binding, pool.pool).is_ok());
        REQUIRE((*kernel)->run(pool.pool).is_ok());
        REQUIRE((*kernel)->run(nullptr).is_ok());
      }
      const std::int64_t allocations = budget.allocation_count();
      const std::int64_t held = budget.current_bytes();
      const struct mallinfo2 before = mallinfo2();
      for (int run = 0; run < 20; ++run) {
        inference::NodeBinding binding{{built.x.data(), nullptr, nullptr}, {y.data()}};
        REQUIRE((*kernel)->bind(binding, pool.pool).is_ok());
        REQUIRE((*kernel)->run(pool.pool).is_ok());
        REQUIRE((*kernel)->run(nullptr).is_ok());
      }
      // Other libraries in this process (OpenCV's video and DNN modules, for the flow tests)
      // may touch the heap from their own threads meanwhile, a few dozen bytes once; a kernel
      // that kept anything per call would grow it by 60 times that. Whether a run calls
      // malloc at all is counted by fovea-bench core's interposer (allocations per inference).
      const struct mallinfo2 after = mallinfo2();
      CHECK(after.uordblks < before.uordblks + 256);
      CHECK(budget.allocation_count() == allocations);
      CHECK(budget.current_bytes() == held);
      CHECK(y == built.expected);
      (*kernel)->release();
      CHECK(budget.current_bytes() == 0);
      // After a release, run() is an error, not a crash.
      CHECK_FALSE((*kernel)->run(nullptr).is_ok());
    }
  }
}

TEST_CASE("VNNI kernels: a budget too small fails cleanly at every allocation") {
  if (!inference::vnni_kernels_supported()) return;
  std::mt19937 random(6);
  ConvCase k;
  k.name = "too big";
  k.c = 256;
  k.o = 512;
  k.a = pointwise();
  const Built built = build(k, random);
  const GraphNode& node = built.model->graph.nodes[0];
  {
    MemoryBudget budget(64 * 1024);  // the weights alone are 128 KiB
    auto kernel = inference::make_vnni_node_kernel(built.model->graph, node,
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
  auto kernel = inference::make_vnni_node_kernel(built.model->graph, node, {&budget, owner, 2});
  REQUIRE(kernel.is_ok());
  Constants constants{*built.model, node, {}};
  int failures = 0;
  for (int i = 0; i < 8; ++i) {
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
  CHECK(failures == 2);  // packed weights, then the activation tiles
  std::vector<std::int8_t> y(static_cast<size_t>(built.y_elements));
  REQUIRE((*kernel)->prepare(constants.callback()).is_ok());
  inference::NodeBinding binding{{built.x.data(), nullptr, nullptr}, {y.data()}};
  REQUIRE((*kernel)->bind(binding, nullptr).is_ok());
  REQUIRE((*kernel)->run(nullptr).is_ok());
  CHECK(y == built.expected);
  // A binding without tensors is an error, not a crash.
  CHECK_FALSE((*kernel)->bind(inference::NodeBinding{{nullptr}, {y.data()}}, nullptr).is_ok());
  CHECK_FALSE((*kernel)->bind(inference::NodeBinding{}, nullptr).is_ok());
  (*kernel)->release();
}

TEST_CASE("VNNI kernels decline what they do not compute, and need a budget") {
  std::mt19937 random(8);
  ConvCase base;
  base.name = "int8";
  base.a = pointwise();
  const Built built = build(base, random);
  MemoryBudget budget(1 << 20);
  const BudgetOwner owner = budget.register_owner("m");
  const GraphNode& node = built.model->graph.nodes[0];
  auto no_budget = inference::make_vnni_node_kernel(built.model->graph, node, {nullptr, owner, 1});
  CHECK(no_budget.status().code() == ErrorCode::kInvalidArgument);
  if (!inference::vnni_kernels_supported()) {
    auto kernel = inference::make_vnni_node_kernel(built.model->graph, node, {&budget, owner, 1});
    REQUIRE(kernel.is_ok());
    CHECK(*kernel == nullptr);  // no VNNI: XNNPACK takes the node
    return;
  }

  std::vector<ConvCase> declined;
  auto add = [&](std::string name, int c, int o, OpAttributes a) {
    ConvCase k;
    k.name = std::move(name);
    k.c = c;
    k.o = o;
    k.a = a;
    declined.push_back(k);
  };
  add("1x1 groups 2", 8, 16, conv_attributes(1, 1, 2, 0, 0, 0, 0));
  add("dense dilation 2", 8, 16, conv_attributes(3, 1, 1, 2, 2, 2, 2, 2));
  add("dense 3x3 with K = 1296 > 1280", 144, 16, conv_attributes(3, 1, 1, 1, 1, 1, 1));
  add("depthwise dilation 2", 16, 16, conv_attributes(3, 1, 16, 2, 2, 2, 2, 2));
  add("depthwise 5x5", 16, 16, conv_attributes(5, 1, 16, 2, 2, 2, 2));
  add("depthwise multiplier 2", 16, 32, conv_attributes(3, 1, 16, 1, 1, 1, 1));
  add("depthwise stride 3", 16, 16, conv_attributes(3, 3, 16, 1, 1, 1, 1));
  add("grouped 3x3", 16, 16, conv_attributes(3, 1, 4, 1, 1, 1, 1));
  for (const ConvCase& k : declined) {
    CAPTURE(k.name);
    const Built b = build(k, random);
    auto kernel = inference::make_vnni_node_kernel(b.model->graph, b.model->graph.nodes[0],
                                                   {&budget, owner, 1});
    REQUIRE(kernel.is_ok());
    CHECK(*kernel == nullptr);
  }

  // A float convolution, an add: not taken.
  Model f32;
  GraphBuilder g(f32);
  const int x = g.input("x", DataType::kFloat32, Shape{1, 4, 4, 2});
  const std::vector<float> w(4 * 2, 0.5f);
  const int wt = g.constant_f32("w", Shape{4, 1, 1, 2}, w);
  REQUIRE(g.node("conv", OpType::kConv2d, {x, wt}).is_ok());
  REQUIRE(g.node("add", OpType::kAdd, {x, x}).is_ok());
  for (const GraphNode& n : f32.graph.nodes) {
    auto kernel = inference::make_vnni_node_kernel(f32.graph, n, {&budget, owner, 1});
    REQUIRE(kernel.is_ok());
    CHECK(*kernel == nullptr);
  }
  // Asymmetric (zero point) weights are not qc8: not taken.
  Model asym = *built.model;
  for (GraphTensor& t : asym.graph.tensors)
    if (t.info.name == "w") t.info.quantization.zero_point = 3;
  auto kernel =
      inference::make_vnni_node_kernel(asym.graph, asym.graph.nodes[0], {&budget, owner, 1});
  REQUIRE(kernel.is_ok());
  CHECK(*kernel == nullptr);
}

}  // namespace
}  // namespace fovea
