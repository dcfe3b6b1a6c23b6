#include "support/test_models.h"

#include <doctest/doctest.h>

#include <cmath>

#include "fovea/core/graph_builder.h"

namespace fovea::testing {

std::shared_ptr<Model> residual_model(const std::string& name, int channels, float seed) {
  auto model = std::make_shared<Model>();
  model->metadata.name = name;
  GraphBuilder b(*model);
  auto values = [&](std::int64_t count, float s) {
    std::vector<float> v(static_cast<size_t>(count));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.05f * std::sin(s + seed + 0.37f * float(i));
    return v;
  };
  auto node = [&](const std::string& n, OpType op, std::vector<int> inputs, OpAttributes a = {}) {
    auto out = b.node(n, op, std::move(inputs), a);
    REQUIRE_MESSAGE(out.is_ok(), out.status().to_string());
    return *out;
  };
  const int c = channels;
  const int x = b.input("image", DataType::kFloat32, Shape{1, 16, 16, 3});
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 1;
  conv.clamp_min = 0.0f;
  const int c1 = node("conv1", OpType::kConv2d,
                      {x, b.constant_f32("conv1.w", Shape{c, 3, 3, 3}, values(c * 27, 1)),
                       b.constant_f32("conv1.b", Shape{c}, values(c, 2))},
                      conv);
  conv.clamp_min = -INFINITY;
  const int c2 =
      node("conv2", OpType::kConv2d,
           {c1, b.constant_f32("conv2.w", Shape{c, 3, 3, c}, values(9 * c * c, 3)), -1}, conv);
  const int sum = node("residual", OpType::kAdd, {c1, c2});
  const int pooled = node("pool", OpType::kGlobalAveragePool, {sum});
  OpAttributes flat;
  flat.new_shape = Shape{1, c};
  const int flattened = node("flatten", OpType::kReshape, {pooled}, flat);
  b.output(node("fc", OpType::kFullyConnected,
                {flattened, b.constant_f32("fc.w", Shape{10, c}, values(10 * c, 4)),
                 b.constant_f32("fc.b", Shape{10}, values(10, 5))}));
  return model;
}

std::shared_ptr<Model> deep_model(const std::string& name, int channels, int depth, float seed) {
  auto model = std::make_shared<Model>();
  model->metadata.name = name;
  GraphBuilder b(*model);
  auto values = [&](std::int64_t count, float s) {
    std::vector<float> v(static_cast<size_t>(count));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.04f * std::sin(s + seed + 0.37f * float(i));
    return v;
  };
  auto node = [&](const std::string& n, OpType op, std::vector<int> inputs, OpAttributes a = {}) {
    auto out = b.node(n, op, std::move(inputs), a);
    REQUIRE_MESSAGE(out.is_ok(), out.status().to_string());
    return *out;
  };
  const int c = channels;
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 1;
  conv.clamp_min = 0.0f;
  int x = b.input("image", DataType::kFloat32, Shape{1, 16, 16, 3});
  x = node("stem", OpType::kConv2d,
           {x, b.constant_f32("stem.w", Shape{c, 3, 3, 3}, values(c * 27, 1)),
            b.constant_f32("stem.b", Shape{c}, values(c, 2))},
           conv);
  for (int i = 0; i < depth; ++i) {
    const std::string n = "block" + std::to_string(i);
    const int y = node(n + ".conv", OpType::kConv2d,
                       {x, b.constant_f32(n + ".w", Shape{c, 3, 3, c}, values(9 * c * c, 3.0f + i)),
                        b.constant_f32(n + ".b", Shape{c}, values(c, 7.0f + i))},
                       conv);
    x = node(n + ".add", OpType::kAdd, {x, y});
  }
  const int pooled = node("pool", OpType::kGlobalAveragePool, {x});
  OpAttributes flat;
  flat.new_shape = Shape{1, c};
  const int flattened = node("flatten", OpType::kReshape, {pooled}, flat);
  b.output(node("fc", OpType::kFullyConnected,
                {flattened, b.constant_f32("fc.w", Shape{10, c}, values(10 * c, 4)),
                 b.constant_f32("fc.b", Shape{10}, values(10, 5))}));
  return model;
}

std::vector<float> image_input(int variant) {
  std::vector<float> image(16 * 16 * 3);
  for (size_t i = 0; i < image.size(); ++i)
    image[i] = std::cos(0.11f * float(i) + 0.7f * float(variant)) +
               0.3f * std::sin(0.031f * float(i * (variant + 1)));
  return image;
}

}  // namespace fovea::testing
