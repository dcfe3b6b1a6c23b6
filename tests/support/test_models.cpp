#include "support/test_models.h"

#include <doctest/doctest.h>

#include <cmath>

#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"

namespace fovea::testing {

namespace {

// A small float model under construction: deterministic weights of one amplitude and phase,
// and nodes that must build.
struct ModelBuilder {
  ModelBuilder(const std::string& name, float amplitude_, float seed_)
      : model(std::make_shared<Model>()), b(*model), amplitude(amplitude_), seed(seed_) {
    model->metadata.name = name;
  }
  std::vector<float> values(std::int64_t count, float s) const {
    std::vector<float> v(static_cast<size_t>(count));
    for (size_t i = 0; i < v.size(); ++i) v[i] = amplitude * std::sin(s + seed + 0.37f * float(i));
    return v;
  }
  int node(const std::string& n, OpType op, std::vector<int> inputs, OpAttributes a = {}) {
    auto out = b.node(n, op, std::move(inputs), a);
    REQUIRE_MESSAGE(out.is_ok(), out.status().to_string());
    return *out;
  }
  // Global average pool, reshape, fully connected to 10: the output.
  void classifier(int x, int channels) {
    const int pooled = node("pool", OpType::kGlobalAveragePool, {x});
    OpAttributes flat;
    flat.new_shape = Shape{1, channels};
    const int flattened = node("flatten", OpType::kReshape, {pooled}, flat);
    b.output(node("fc", OpType::kFullyConnected,
                  {flattened, b.constant_f32("fc.w", Shape{10, channels}, values(10 * channels, 4)),
                   b.constant_f32("fc.b", Shape{10}, values(10, 5))}));
  }

  std::shared_ptr<Model> model;
  GraphBuilder b;
  float amplitude, seed;
};

// 3x3, padding 1, fused ReLU.
OpAttributes conv3x3_relu() {
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 1;
  conv.clamp_min = 0.0f;
  return conv;
}

}  // namespace

std::shared_ptr<Model> residual_model(const std::string& name, int channels, float seed,
                                      float branch_gain) {
  ModelBuilder m(name, 0.05f, seed);
  GraphBuilder& b = m.b;
  const int c = channels;
  const int x = b.input("image", DataType::kFloat32, Shape{1, 16, 16, 3});
  OpAttributes conv = conv3x3_relu();
  const int c1 = m.node("conv1", OpType::kConv2d,
                        {x, b.constant_f32("conv1.w", Shape{c, 3, 3, 3}, m.values(c * 27, 1)),
                         b.constant_f32("conv1.b", Shape{c}, m.values(c, 2))},
                        conv);
  conv.clamp_min = -INFINITY;
  std::vector<float> w2 = m.values(9 * c * c, 3);
  for (float& w : w2) w *= branch_gain;
  const int c2 = m.node("conv2", OpType::kConv2d,
                        {c1, b.constant_f32("conv2.w", Shape{c, 3, 3, c}, w2), -1}, conv);
  m.classifier(m.node("residual", OpType::kAdd, {c1, c2}), c);
  return m.model;
}

std::shared_ptr<Model> deep_model(const std::string& name, int channels, int depth, float seed) {
  ModelBuilder m(name, 0.04f, seed);
  GraphBuilder& b = m.b;
  const int c = channels;
  const OpAttributes conv = conv3x3_relu();
  int x = b.input("image", DataType::kFloat32, Shape{1, 16, 16, 3});
  x = m.node("stem", OpType::kConv2d,
             {x, b.constant_f32("stem.w", Shape{c, 3, 3, 3}, m.values(c * 27, 1)),
              b.constant_f32("stem.b", Shape{c}, m.values(c, 2))},
             conv);
  for (int i = 0; i < depth; ++i) {
    const std::string n = "block" + std::to_string(i);
    const int y =
        m.node(n + ".conv", OpType::kConv2d,
               {x, b.constant_f32(n + ".w", Shape{c, 3, 3, c}, m.values(9 * c * c, 3.0f + i)),
                b.constant_f32(n + ".b", Shape{c}, m.values(c, 7.0f + i))},
               conv);
    x = m.node(n + ".add", OpType::kAdd, {x, y});
  }
  m.classifier(x, c);
  return m.model;
}

std::vector<float> image_input(int variant) {
  std::vector<float> image(16 * 16 * 3);
  for (size_t i = 0; i < image.size(); ++i)
    image[i] = std::cos(0.11f * float(i) + 0.7f * float(variant)) +
               0.3f * std::sin(0.031f * float(i * (variant + 1)));
  return image;
}

std::vector<float> run_float_io(const std::shared_ptr<Model>& model,
                                const std::vector<std::vector<float>>& inputs, size_t outputs,
                                int threads) {
  auto context = InferenceContext::create(std::int64_t{64} << 20, threads);
  REQUIRE(context.is_ok());
  auto compiled = CompiledModel::create(**context, model);
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  std::vector<std::span<const std::uint8_t>> ins;
  for (const auto& v : inputs)
    ins.push_back({reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 4});
  std::vector<float> y(outputs);
  const std::span<std::uint8_t> outs[] = {
      {reinterpret_cast<std::uint8_t*>(y.data()), y.size() * 4}};
  const Status ran = (*compiled)->run(ins, outs);
  REQUIRE_MESSAGE(ran.is_ok(), ran.to_string());
  return y;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k)
    dot += double(a[k]) * b[k], na += double(a[k]) * a[k], nb += double(b[k]) * b[k];
  return dot / std::sqrt(na * nb);
}

}  // namespace fovea::testing
