// fovea's INT8 table kernel (core/src/inference/int8_lut.cpp) and the LeakyRelu / HardSwish nodes
// built on it: exact against the reference's dequantize -> float op -> quantize, on every byte,
// on both instruction-set paths, at any thread count.

#include <doctest/doctest.h>

#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/src/inference/int8_lut.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_kernels.h"

namespace fovea {
namespace {

using inference::Int8Affine;
using inference::flow::Isa;

// What the reference computes for one INT8 value through `op` (kLeakyRelu or kHardSwish).
std::int8_t reference_int8(OpType op, float alpha, std::int8_t v, const Quantization& in,
                           const Quantization& out) {
  float real = 0.0f, result = 0.0f;
  reference::dequantize_s8_to_f32(&v, 1, in.scales[0], in.zero_point, &real);
  if (op == OpType::kLeakyRelu)
    reference::leaky_relu_f32(&real, 1, alpha, &result);
  else
    reference::unary_f32(reference::Unary::kHardSwish, &real, 1, 0.0f, 0.0f, &result);
  std::int8_t q = 0;
  reference::quantize_f32_to_s8(&result, 1, out.scales[0], out.zero_point, &q);
  return q;
}

TEST_CASE("the INT8 table gives every byte its entry on both paths, in place, with tails") {
  std::mt19937 random(11);
  std::uniform_int_distribution<int> byte(-128, 127);
  inference::Int8Lut lut;
  for (int u = 0; u < 256; ++u) lut.entry[static_cast<size_t>(u)] = std::int8_t(byte(random));
  pthreadpool_t pool = pthreadpool_create(3);
  for (std::int64_t count : {0, 1, 63, 64, 65, 256, 1000, 16384, 16385, 70001}) {
    CAPTURE(count);
    std::vector<std::int8_t> x(static_cast<size_t>(count));
    for (std::int8_t& v : x) v = std::int8_t(byte(random));
    std::vector<std::int8_t> expected(x.size());
    for (size_t i = 0; i < x.size(); ++i) expected[i] = lut.entry[static_cast<std::uint8_t>(x[i])];
    for (Isa isa : {Isa::kBest, Isa::kPortable})
      for (pthreadpool_t p : {pthreadpool_t{nullptr}, pool}) {
        std::vector<std::int8_t> y(x.size(), 0);
        inference::apply_int8_lut(lut, x.data(), y.data(), count, p, isa);
        CHECK(y == expected);
        std::vector<std::int8_t> same = x;  // in place
        inference::apply_int8_lut(lut, same.data(), same.data(), count, p, isa);
        CHECK(same == expected);
      }
  }
  pthreadpool_destroy(pool);
  MESSAGE("VBMI path on this CPU: "
          << std::string(inference::int8_lut_uses_vbmi(Isa::kBest) ? "yes" : "no"));
}

TEST_CASE("a table is the reference's dequantize, float function, quantize and saturation") {
  const Int8Affine x{0.05f, -7}, y{0.02f, 3};
  const auto lut = inference::make_int8_lut([](float v) { return 3.0f * v; }, x, y, -100, 90);
  for (int v = -128; v <= 127; ++v) {
    const float real = 3.0f * (0.05f * float(v + 7));  // the table's order of operations
    const int expected = std::clamp(int(std::nearbyint(real / 0.02f)) + 3, -100, 90);
    CHECK(lut.entry[static_cast<std::uint8_t>(v)] == expected);
  }
}

TEST_CASE("INT8 LeakyRelu and HardSwish nodes equal the reference exactly, at any thread count") {
  for (OpType op : {OpType::kLeakyRelu, OpType::kHardSwish}) {
    // 1 x 33 x 65 x 3: every byte value many times over, and a tail after the 64-byte blocks.
    const Shape shape{1, 33, 65, 3};
    const Quantization in{{0.043f}, 11, -1}, out{{0.031f}, -20, -1};
    auto model = std::make_shared<Model>();
    model->metadata.name = "int8_table";
    GraphBuilder b(*model);
    const int x = b.input("x", DataType::kInt8, shape, in);
    OpAttributes a;
    if (op == OpType::kLeakyRelu) a.alpha = 0.1f;
    auto node = b.node("act", op, {x}, a, out);
    REQUIRE_MESSAGE(node.is_ok(), node.status().to_string());
    b.output(*node);

    std::vector<std::int8_t> input(static_cast<size_t>(shape.elements()));
    for (size_t i = 0; i < input.size(); ++i) input[i] = std::int8_t(int(i * 37 % 256) - 128);
    std::vector<std::int8_t> expected(input.size());
    for (size_t i = 0; i < input.size(); ++i)
      expected[i] = reference_int8(op, a.alpha, input[i], in, out);

    for (int threads : {1, 2, 3}) {
      CAPTURE(op_type_name(op));
      CAPTURE(threads);
      auto context = InferenceContext::create(std::int64_t{64} << 20, threads);
      REQUIRE(context.is_ok());
      auto compiled = CompiledModel::create(**context, model);
      REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
      std::vector<std::int8_t> actual(input.size(), 0);
      const std::span<const std::uint8_t> ins[] = {
          {reinterpret_cast<const std::uint8_t*>(input.data()), input.size()}};
      const std::span<std::uint8_t> outs[] = {
          {reinterpret_cast<std::uint8_t*>(actual.data()), actual.size()}};
      const Status ran = (*compiled)->run(ins, outs);
      REQUIRE_MESSAGE(ran.is_ok(), ran.to_string());
      CHECK(actual == expected);
    }
  }
}

}  // namespace
}  // namespace fovea
