#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fovea/core/reference_executor.h"
#include "fovea/core/reference_kernels.h"
#include "fovea/core/shape_inference.h"

namespace fovea {
namespace {

// A graph plus its float constants, built the way an importer builds one: each node's output
// declared with the shape inference says it has.
struct TestModel {
  ModelGraph graph;
  std::vector<std::vector<float>> constants;

  int input(const std::string& name, Shape shape) {
    graph.tensors.push_back({{name, DataType::kFloat32, shape, {}}, -1});
    graph.inputs.push_back(static_cast<int>(graph.tensors.size()) - 1);
    return graph.inputs.back();
  }
  int constant(const std::string& name, Shape shape, float seed) {
    std::vector<float> values(static_cast<size_t>(shape.elements()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = 0.3f * std::sin(seed + 0.7f * float(i));
    constants.push_back(values);
    graph.tensors.push_back(
        {{name, DataType::kFloat32, shape, {}}, static_cast<int>(constants.size()) - 1});
    return static_cast<int>(graph.tensors.size()) - 1;
  }
  int node(const std::string& name, OpType op, std::vector<int> inputs, OpAttributes a = {}) {
    GraphNode n{name, op, a, std::move(inputs), {}};
    auto out = infer_output(graph, n);
    REQUIRE_MESSAGE(out.is_ok(), out.status().to_string());
    out->name = name + ".out";
    graph.tensors.push_back({*out, -1});
    n.outputs = {static_cast<int>(graph.tensors.size()) - 1};
    graph.nodes.push_back(n);
    return n.outputs[0];
  }
  ConstantDecoder decoder() const {
    return [this](int index, std::span<std::uint8_t> out) {
      const auto& c = constants.at(static_cast<size_t>(index));
      if (out.size() != c.size() * 4) return Status(ErrorCode::kInvalidArgument, "size");
      std::memcpy(out.data(), c.data(), out.size());
      return Status::ok();
    };
  }
};

OpAttributes conv3x3_relu() {
  OpAttributes a;
  a.kernel_h = a.kernel_w = 3;
  a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = 1;
  a.clamp_min = 0.0f;
  return a;
}

// x -> conv3x3+relu -> conv1x1 -> add(residual) -> global average pool -> reshape -> fc -> softmax
TestModel residual_classifier() {
  TestModel m;
  const int x = m.input("image", Shape{1, 8, 8, 3});
  const int c1 = m.node(
      "conv1", OpType::kConv2d,
      {x, m.constant("conv1.w", Shape{4, 3, 3, 3}, 1.0f), m.constant("conv1.b", Shape{4}, 2.0f)},
      conv3x3_relu());
  const int c2 =
      m.node("conv2", OpType::kConv2d, {c1, m.constant("conv2.w", Shape{4, 1, 1, 4}, 3.0f), -1});
  const int sum = m.node("residual", OpType::kAdd, {c1, c2});
  const int pooled = m.node("pool", OpType::kGlobalAveragePool, {sum});
  OpAttributes flat;
  flat.new_shape = Shape{1, 4};
  const int flattened = m.node("flatten", OpType::kReshape, {pooled}, flat);
  const int logits = m.node(
      "fc", OpType::kFullyConnected,
      {flattened, m.constant("fc.w", Shape{2, 4}, 4.0f), m.constant("fc.b", Shape{2}, 5.0f)});
  m.graph.outputs = {m.node("softmax", OpType::kSoftmax, {logits})};
  return m;
}

TEST_CASE("the reference executor runs a residual classifier op by op, observing every tensor") {
  const TestModel m = residual_classifier();
  REQUIRE_MESSAGE(m.graph.validate().is_ok(), m.graph.validate().to_string());
  FloatTensor image{Shape{1, 8, 8, 3}, std::vector<float>(192)};
  for (size_t i = 0; i < image.values.size(); ++i) image.values[i] = std::cos(0.13f * float(i));

  int observed = 0;
  auto result = run_reference(m.graph, m.decoder(), std::span(&image, 1),
                              [&](int, std::span<float>) { ++observed; });
  REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
  CHECK(observed == 8);  // the input and seven node outputs

  // The same computation by hand with the kernels.
  using namespace reference;
  std::vector<float> c1(256), c2(256), sum(256), pooled(4), logits(2), expected(2);
  conv2d_f32(image.values.data(), {1, 8, 8, 3}, m.constants[0].data(), m.constants[1].data(),
             conv3x3_relu(), c1.data(), {1, 8, 8, 4});
  conv2d_f32(c1.data(), {1, 8, 8, 4}, m.constants[2].data(), nullptr, OpAttributes{}, c2.data(),
             {1, 8, 8, 4});
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = c1[i] + c2[i];
  global_average_pool_f32(sum.data(), {1, 8, 8, 4}, pooled.data());
  fully_connected_f32(pooled.data(), 1, 4, m.constants[3].data(), m.constants[4].data(), 2,
                      -INFINITY, INFINITY, logits.data());
  softmax_f32(logits.data(), 1, 2, expected.data());
  const FloatTensor& out = (*result)[0];
  CHECK(out.shape == Shape{1, 2});
  CHECK(out.values[0] == doctest::Approx(expected[0]).epsilon(1e-6));
  CHECK(out.values[1] == doctest::Approx(expected[1]).epsilon(1e-6));
  CHECK(out.values[0] + out.values[1] == doctest::Approx(1.0f));

  FloatTensor wrong{Shape{1, 8, 8, 4}, std::vector<float>(256)};
  CHECK(run_reference(m.graph, m.decoder(), std::span(&wrong, 1)).status().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("graph validation rejects cycles, wrong shapes and bad wiring with named errors") {
  auto expect_error = [](const ModelGraph& graph, const std::string& fragment) {
    const Status status = graph.validate();
    CHECK_FALSE(status.is_ok());
    CHECK_MESSAGE(status.message().find(fragment) != std::string::npos, status.message());
  };
  {
    TestModel m = residual_classifier();
    m.graph.tensors[static_cast<size_t>(m.graph.nodes[0].outputs[0])].info.shape[2] = 9;
    expect_error(m.graph, "conv1");  // declared 1x8x9x4, the op makes 1x8x8x4
  }
  {
    TestModel m = residual_classifier();
    // conv2 now reads the residual sum, which depends on conv2: a cycle.
    m.graph.nodes[1].inputs[0] = m.graph.nodes[2].outputs[0];
    expect_error(m.graph, "cycle");
  }
  {
    TestModel m = residual_classifier();
    m.graph.tensors[1].info.shape = Shape{5, 3, 3, 3};  // conv1.w now has 5 outputs, bias 4
    expect_error(m.graph, "bias");
  }
  {
    TestModel m = residual_classifier();
    m.graph.nodes[3].outputs = m.graph.nodes[2].outputs;  // two producers of one tensor
    expect_error(m.graph, "producers");
  }
  {
    TestModel m = residual_classifier();
    m.graph.nodes[4].attributes.new_shape = Shape{1, 5};
    expect_error(m.graph, "reshape");
  }
  {
    TestModel m = residual_classifier();
    m.graph.nodes[0].inputs[0] = 999;
    expect_error(m.graph, "past the");
  }
  {
    TestModel m = residual_classifier();
    m.graph.nodes[0].op = static_cast<OpType>(77);
    expect_error(m.graph, "unknown op type");
  }
  {
    TestModel m = residual_classifier();
    m.graph.nodes[0].attributes.stride_h = 0;
    expect_error(m.graph, "stride");
  }
  {
    TestModel m = residual_classifier();
    Quantization& q = m.graph.tensors[2].info.quantization;
    q.scales = {0.1f, 0.2f};
    q.channel_axis = 0;
    expect_error(m.graph, "scales");
  }
  {
    TestModel m = residual_classifier();
    m.graph.tensors[0].info.shape = Shape{1, std::int64_t{1} << 40, 8, 3};
    expect_error(m.graph, "invalid shape");
  }
}

}  // namespace
}  // namespace fovea
