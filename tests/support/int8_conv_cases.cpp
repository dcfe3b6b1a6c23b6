#include "support/int8_conv_cases.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_kernels.h"

namespace fovea::testing {

std::pair<std::int8_t, std::int8_t> int8_clamp(const OpAttributes& a, float scale, int zero_point) {
  auto to_q = [&](float v, int fallback) {
    if (!std::isfinite(v)) return fallback;
    return static_cast<int>(
        std::clamp(std::nearbyint(v / scale) + static_cast<float>(zero_point), -128.0f, 127.0f));
  };
  return {static_cast<std::int8_t>(to_q(a.clamp_min, -128)),
          static_cast<std::int8_t>(to_q(a.clamp_max, 127))};
}

Built build(const ConvCase& k, std::mt19937& random) {
  Built built;
  built.model = std::make_shared<Model>();
  GraphBuilder g(*built.model);
  std::uniform_int_distribution<int> byte(-128, 127), weight(-127, 127);
  const std::int64_t group_in = k.fc ? k.c : k.c / k.a.groups;
  const std::int64_t per_out = k.fc ? k.c : std::int64_t{k.a.kernel_h} * k.a.kernel_w * group_in;
  built.x.resize(static_cast<size_t>(k.fc ? k.n * k.c : k.n * k.h * k.w * k.c));
  for (auto& v : built.x) v = static_cast<std::int8_t>(byte(random));
  built.w.resize(static_cast<size_t>(k.o * per_out));
  for (auto& v : built.w) v = static_cast<std::int8_t>(weight(random));
  std::uniform_real_distribution<float> scale(0.002f, 0.02f);
  built.w_scales.resize(k.per_channel ? static_cast<size_t>(k.o) : 1);
  for (auto& v : built.w_scales) v = k.ties ? 0.5f : scale(random);
  built.b.resize(static_cast<size_t>(k.o));
  const int spread = static_cast<int>(std::sqrt(float(per_out)) * 2000);
  std::uniform_int_distribution<int> bias(-spread, spread);
  for (auto& v : built.b) v = bias(random);
  // The output scale puts typical accumulators around +-40 LSB.
  const float w_mean = k.ties ? 0.5f : 0.011f;
  float y_scale =
      k.ties ? k.y_scale : k.x_scale * w_mean * std::sqrt(float(per_out)) * 74 * 73 / 40;
  // With a fused clamp, leave about 100 steps between its bounds.
  if (!k.ties && std::isfinite(k.a.clamp_max)) y_scale = std::min(y_scale, k.a.clamp_max / 100);

  const Shape x_shape = k.fc ? Shape{k.n, k.c} : Shape{k.n, k.h, k.w, k.c};
  const Shape w_shape = k.fc ? Shape{k.o, k.c} : Shape{k.o, k.a.kernel_h, k.a.kernel_w, group_in};
  const int x = g.input("x", DataType::kInt8, x_shape, {{k.x_scale}, k.x_zero, -1});
  const int w = g.constant("w", DataType::kInt8, w_shape, bytes_of(built.w),
                           {built.w_scales, 0, k.per_channel ? 0 : -1});
  std::vector<int> inputs = {x, w};
  if (k.bias) inputs.push_back(g.constant("b", DataType::kInt32, Shape{k.o}, bytes_of(built.b)));
  auto y = g.node(k.name, k.fc ? OpType::kFullyConnected : OpType::kConv2d, inputs, k.a,
                  {{y_scale}, k.y_zero, -1});
  REQUIRE_MESSAGE(y.is_ok(), y.status().to_string());
  g.output(*y);
  const Shape& y_shape = built.model->graph.tensors[static_cast<size_t>(*y)].info.shape;
  built.y_elements = y_shape.elements();

  const auto [y_min, y_max] = int8_clamp(k.a, y_scale, k.y_zero);
  const reference::QuantizedConv q{.x_scale = k.x_scale,
                                   .x_zero_point = k.x_zero,
                                   .w_scales = built.w_scales,
                                   .y_scale = y_scale,
                                   .y_zero_point = k.y_zero,
                                   .y_min = y_min,
                                   .y_max = y_max};
  built.expected.resize(static_cast<size_t>(built.y_elements));
  OpAttributes a = k.a;
  if (k.fc) a = OpAttributes{.clamp_min = k.a.clamp_min, .clamp_max = k.a.clamp_max};
  const reference::Nhwc xs =
      k.fc ? reference::Nhwc{k.n, 1, 1, k.c} : reference::Nhwc{k.n, k.h, k.w, k.c};
  const reference::Nhwc ys = k.fc ? reference::Nhwc{k.n, 1, 1, k.o}
                                  : reference::Nhwc{y_shape[0], y_shape[1], y_shape[2], y_shape[3]};
  reference::conv2d_qs8(built.x.data(), xs, built.w.data(), k.bias ? built.b.data() : nullptr, a, q,
                        built.expected.data(), ys);
  return built;
}

inference::ConstantBytes Constants::callback() {
  decoded.assign(node.inputs.size(), {});
  return [this](size_t i) -> Result<std::span<const std::uint8_t>> {
    const GraphTensor& t = model.graph.tensors[static_cast<size_t>(node.inputs[i])];
    decoded[i].resize(static_cast<size_t>(model.constant_decoded_bytes(t.constant)));
    FOVEA_RETURN_IF_ERROR(model.decode_constant(t.constant, decoded[i]));
    return std::span<const std::uint8_t>(decoded[i]);
  };
}
Pool::Pool(int threads) {
  if (threads > 1) pool = pthreadpool_create(static_cast<size_t>(threads));
}

Pool::~Pool() {
  if (pool != nullptr) pthreadpool_destroy(pool);
}

OpAttributes conv_attributes(int k, int stride, int groups, int pt, int pl, int pb, int pr,
                             int dilation) {
  OpAttributes a;
  a.kernel_h = a.kernel_w = k;
  a.stride_h = a.stride_w = stride;
  a.groups = groups;
  a.pad_top = pt;
  a.pad_left = pl;
  a.pad_bottom = pb;
  a.pad_right = pr;
  a.dilation_h = a.dilation_w = dilation;
  return a;
}

OpAttributes pointwise() {
  return conv_attributes(1, 1, 1, 0, 0, 0, 0);
}
OpAttributes depthwise(int channels, int stride, int pt, int pl, int pb, int pr) {
  return conv_attributes(3, stride, channels, pt, pl, pb, pr);
}

int mismatches(const std::vector<std::int8_t>& y, const std::vector<std::int8_t>& expected) {
  int count = 0;
  for (size_t i = 0; i < y.size(); ++i) count += y[i] != expected[i];
  return count;
}
}  // namespace fovea::testing
