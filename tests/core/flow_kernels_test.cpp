// fovea's vectorised optical-flow kernels (core/src/inference/flow_correlation.cpp,
// flow_warp.cpp) against the plain reference (reference::correlation_f32, warp_f32) over random
// shapes, displacements and flows, on 1-3 threads, on AVX-512 and on the portable path; and as
// the executor's node kernels: chosen for FP32 nodes, no allocation per run.

#include <doctest/doctest.h>
#include <malloc.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/src/inference/flow_correlation.h"
#include "../../core/src/inference/flow_warp.h"
#include "../../core/src/inference/node_kernel.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_kernels.h"
#include "support/float_cases.h"
#include "support/int8_conv_cases.h"

namespace fovea {
namespace {

using inference::flow::Isa;
using testing::Pool;
using testing::relative_error;
using testing::uniform;

reference::Nhwc random_shape(std::mt19937& random, int i) {
  std::uniform_int_distribution<int> size(1, 23), channels(1, 100), batch(1, 2);
  reference::Nhwc s{batch(random), size(random), size(random), channels(random)};
  if (i % 7 == 0) s.h = s.w = 1;  // a single pixel: every displacement but (0, 0) is outside
  if (i % 11 == 0) s.c = 1;
  return s;
}

TEST_CASE("Flow kernels: Correlation matches the reference over random shapes") {
  std::mt19937 random(5);
  Pool pools[3] = {Pool(1), Pool(2), Pool(3)};
  for (int i = 0; i < 120; ++i) {
    const reference::Nhwc s = random_shape(random, i);
    const int r = 1 + i % 4;
    const auto a = uniform(random, s.elements(), -2.0f, 2.0f);
    const auto b = uniform(random, s.elements(), -2.0f, 2.0f);
    const std::int64_t out = s.n * s.h * s.w * (2 * r + 1) * (2 * r + 1);
    std::vector<float> want(static_cast<size_t>(out)), got(static_cast<size_t>(out), NAN);
    reference::correlation_f32(a.data(), b.data(), s, r, want.data());
    const Isa isa = i % 3 == 2 ? Isa::kPortable : Isa::kBest;
    inference::flow::correlation_f32(a.data(), b.data(), s, r, got.data(), pools[i % 3].pool, isa);
    CAPTURE(i);
    CAPTURE(s.n);
    CAPTURE(s.h);
    CAPTURE(s.w);
    CAPTURE(s.c);
    CAPTURE(r);
    CHECK(relative_error(got, want) <= 1e-5);
  }
}

TEST_CASE("Flow kernels: Warp matches the reference, flows in and out of the image") {
  std::mt19937 random(6);
  Pool pools[3] = {Pool(1), Pool(2), Pool(3)};
  for (int i = 0; i < 120; ++i) {
    const reference::Nhwc s = random_shape(random, i);
    const auto x = uniform(random, s.elements(), -2.0f, 2.0f);
    // Small flows, ones that leave the image by up to twice its size, and whole pixels.
    const float reach = i % 4 == 0 ? 1.5f : 2.0f * static_cast<float>(std::max(s.h, s.w)) + 3.0f;
    auto flow = uniform(random, s.n * s.h * s.w * 2, -reach, reach);
    if (i % 5 == 0)
      for (float& f : flow) f = std::round(f);
    std::vector<float> want(static_cast<size_t>(s.elements())),
        got(static_cast<size_t>(s.elements()), NAN);
    reference::warp_f32(x.data(), s, flow.data(), want.data());
    const Isa isa = i % 3 == 2 ? Isa::kPortable : Isa::kBest;
    inference::flow::warp_f32(x.data(), s, flow.data(), got.data(), pools[i % 3].pool, isa);
    CAPTURE(i);
    CAPTURE(s.n);
    CAPTURE(s.h);
    CAPTURE(s.w);
    CAPTURE(s.c);
    CHECK(relative_error(got, want) <= 1e-5);
  }
}

TEST_CASE("Flow kernels: Warp at the edges (fractions near 0 and 1, exactly on the border)") {
  const reference::Nhwc s{1, 5, 7, 19};
  std::mt19937 random(7);
  const auto x = uniform(random, s.elements(), -1.0f, 1.0f);
  const float offsets[] = {0.0f,  -1.0f, 1.0f,  -1e-7f, 1e-7f, 0.9999999f, -0.9999999f,
                           -7.0f, 7.0f,  -6.5f, 6.5f,   -8.0f, 1e30f,      -1e30f};
  for (float u : offsets)
    for (float v : offsets) {
      std::vector<float> flow(static_cast<size_t>(s.h * s.w * 2));
      for (size_t p = 0; p < flow.size(); p += 2) flow[p] = u, flow[p + 1] = v;
      std::vector<float> want(static_cast<size_t>(s.elements())), got(want.size(), NAN),
          portable(want.size(), NAN);
      if (std::abs(u) < 1e20f && std::abs(v) < 1e20f)  // the reference's int64 cast needs range
        reference::warp_f32(x.data(), s, flow.data(), want.data());
      inference::flow::warp_f32(x.data(), s, flow.data(), got.data(), nullptr);
      inference::flow::warp_f32(x.data(), s, flow.data(), portable.data(), nullptr, Isa::kPortable);
      CAPTURE(u);
      CAPTURE(v);
      CHECK(relative_error(got, want) <= 1e-5);
      CHECK(relative_error(portable, want) <= 1e-5);
    }
}

// An FP32 graph of one Correlation and one Warp node, run through make_node_kernel.
TEST_CASE("Flow kernels: the executor runs FP32 Correlation and Warp on them, allocation-free") {
  const reference::Nhwc s{1, 13, 21, 24};
  const Shape shape{1, s.h, s.w, s.c};
  const Shape flow_shape{1, s.h, s.w, 2};
  for (OpType op : {OpType::kCorrelation, OpType::kWarp}) {
    Model model;
    GraphBuilder g(model);
    const int x0 = g.input("x0", DataType::kFloat32, shape);
    const int x1 = g.input("x1", DataType::kFloat32, op == OpType::kWarp ? flow_shape : shape);
    OpAttributes attributes;
    attributes.max_displacement = 3;
    auto y = g.node("flow_op", op, {x0, x1}, attributes);
    REQUIRE(y.is_ok());
    g.output(*y);
    const GraphNode& node = model.graph.nodes[0];
    auto kernel = inference::make_node_kernel(model.graph, node);
    REQUIRE(kernel.is_ok());
    REQUIRE(*kernel != nullptr);
    std::mt19937 random(8);
    const auto a = uniform(random, s.elements(), -1.0f, 1.0f);
    const auto b = uniform(
        random, model.graph.tensors[static_cast<size_t>(x1)].info.shape.elements(), -3.0f, 3.0f);
    const std::int64_t out = model.graph.tensors[static_cast<size_t>(*y)].info.shape.elements();
    std::vector<float> want(static_cast<size_t>(out)), got(static_cast<size_t>(out), NAN);
    if (op == OpType::kCorrelation)
      reference::correlation_f32(a.data(), b.data(), s, 3, want.data());
    else
      reference::warp_f32(a.data(), s, b.data(), want.data());
    Pool pool(2);
    REQUIRE((*kernel)
                ->prepare([](size_t) -> Result<std::span<const std::uint8_t>> {
                  return Status(ErrorCode::kInternal, "no constants");
                })
                .is_ok());
    const inference::NodeBinding binding{{a.data(), b.data()}, {got.data()}};
    REQUIRE((*kernel)->bind(binding, pool.pool).is_ok());
    REQUIRE((*kernel)->run(pool.pool).is_ok());  // first use anywhere in the process
    const struct mallinfo2 before = mallinfo2();
    for (int run = 0; run < 30; ++run) {
      REQUIRE((*kernel)->run(pool.pool).is_ok());
      REQUIRE((*kernel)->run(nullptr).is_ok());
    }
    // As in the VNNI tests: other libraries' threads may touch the heap a few dozen bytes
    // once; a kernel that kept anything per call would grow it by 60 times that.
    const struct mallinfo2 after = mallinfo2();
    CHECK(after.uordblks < before.uordblks + 256);
    CHECK(relative_error(got, want) <= 1e-5);
    (*kernel)->release();
  }
}

}  // namespace
}  // namespace fovea
