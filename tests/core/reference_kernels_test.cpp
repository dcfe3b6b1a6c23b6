#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "fovea/core/reference_kernels.h"
#include "support/op_fixture.h"

namespace fovea::reference {
namespace {

using testing::FixtureArray;
using testing::FixtureCase;

Nhwc nhwc(const Shape& s) {
  return {s[0], s[1], s[2], s[3]};
}

void check_close(const std::vector<float>& actual, const FixtureArray& expected,
                 float tolerance = 1e-5f) {
  REQUIRE(actual.size() == expected.f32.size());
  float worst = 0.0f;
  for (size_t i = 0; i < actual.size(); ++i)
    worst =
        std::max(worst, std::abs(actual[i] - expected.f32[i]) / (1.0f + std::abs(expected.f32[i])));
  CHECK_MESSAGE(worst <= tolerance, "largest relative difference " << worst);
}

const std::map<std::string, FixtureCase>& fixture() {
  static const auto cases = testing::load_fixture("reference_ops");
  return cases;
}

TEST_CASE("reference convolutions match PyTorch (strides, dilation, groups, asymmetric pads)") {
  int checked = 0;
  for (const auto& [name, c] : fixture()) {
    if (name.rfind("conv_", 0) != 0) continue;
    CAPTURE(name);
    const std::vector<int> v = c.attrs();
    OpAttributes a;
    a.kernel_h = v[0], a.kernel_w = v[1], a.stride_h = v[2], a.stride_w = v[3];
    a.dilation_h = v[4], a.dilation_w = v[5];
    a.pad_top = v[6], a.pad_left = v[7], a.pad_bottom = v[8], a.pad_right = v[9];
    a.groups = v[10];
    if (v[11]) a.clamp_min = 0.0f, a.clamp_max = 6.0f;
    const Nhwc xs = nhwc(c.at("x").shape), ys = nhwc(c.at("y").shape);
    CHECK(conv_output_size(xs.h, a.kernel_h, a.stride_h, a.dilation_h, a.pad_top, a.pad_bottom) ==
          ys.h);
    CHECK(conv_output_size(xs.w, a.kernel_w, a.stride_w, a.dilation_w, a.pad_left, a.pad_right) ==
          ys.w);
    std::vector<float> y(static_cast<size_t>(ys.elements()));
    conv2d_f32(c.at("x").f32.data(), xs, c.at("w").f32.data(), c.at("b").f32.data(), a, y.data(),
               ys);
    check_close(y, c.at("y"));
    ++checked;
  }
  CHECK(checked == 4);
}

TEST_CASE("reference dense, elementwise, pooling and resize ops match PyTorch") {
  const auto& f = fixture();
  {
    const FixtureCase& c = f.at("fully_connected");
    std::vector<float> y(12);
    fully_connected_f32(c.at("x").f32.data(), 3, 10, c.at("w").f32.data(), c.at("b").f32.data(), 4,
                        -INFINITY, INFINITY, y.data());
    check_close(y, c.at("y"));
  }
  for (auto [name, op] : {std::pair{"add_broadcast", Binary::kAdd},
                          std::pair{"multiply_broadcast", Binary::kMultiply}}) {
    CAPTURE(name);
    const FixtureCase& c = f.at(name);
    std::vector<float> y(c.at("y").f32.size());
    binary_f32(op, c.at("a").f32.data(), c.at("a").shape, c.at("b").f32.data(), c.at("b").shape,
               -INFINITY, INFINITY, y.data(), c.at("y").shape);
    check_close(y, c.at("y"));
  }
  {
    const FixtureCase& c = f.at("concat_channels");
    const float* inputs[] = {c.at("a").f32.data(), c.at("b").f32.data()};
    const Shape shapes[] = {c.at("a").shape, c.at("b").shape};
    std::vector<float> y(c.at("y").f32.size());
    concat_f32(inputs, shapes, c.attrs()[0], y.data());
    check_close(y, c.at("y"));
  }
  {
    const FixtureCase& c = f.at("global_average_pool");
    std::vector<float> y(c.at("y").f32.size());
    global_average_pool_f32(c.at("x").f32.data(), nhwc(c.at("x").shape), y.data());
    check_close(y, c.at("y"));
    global_max_pool_f32(c.at("x").f32.data(), nhwc(c.at("x").shape), y.data());
    check_close(y, f.at("global_max_pool").at("y"));
  }
  for (const char* name : {"max_pool_3x3_s2_p1", "average_pool_3x3_s2_p1"}) {
    CAPTURE(name);
    const FixtureCase& c = f.at(name);
    OpAttributes a;
    a.kernel_h = a.kernel_w = c.attrs()[0];
    a.stride_h = a.stride_w = c.attrs()[1];
    a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = c.attrs()[2];
    std::vector<float> y(c.at("y").f32.size());
    const bool is_max = std::string(name).rfind("max", 0) == 0;
    (is_max ? max_pool2d_f32 : average_pool2d_f32)(c.at("x").f32.data(), nhwc(c.at("x").shape), a,
                                                   y.data(), nhwc(c.at("y").shape));
    check_close(y, c.at("y"));
  }
  for (const char* name :
       {"resize_up_half_pixel", "resize_down_half_pixel", "resize_up_align_corners"}) {
    CAPTURE(name);
    const FixtureCase& c = f.at(name);
    std::vector<float> y(c.at("y").f32.size());
    resize_bilinear_f32(c.at("x").f32.data(), nhwc(c.at("x").shape), c.attrs()[2] != 0, y.data(),
                        nhwc(c.at("y").shape));
    check_close(y, c.at("y"));
  }
}

TEST_CASE("reference activations, softmax and quantization round-trips") {
  const auto& f = fixture();
  const FixtureArray& x = f.at("sigmoid").at("x");
  const auto count = static_cast<std::int64_t>(x.f32.size());
  std::vector<float> y(x.f32.size());
  for (auto [name, op] :
       {std::pair{"sigmoid", Unary::kSigmoid}, std::pair{"tanh", Unary::kTanh},
        std::pair{"hardswish", Unary::kHardSwish}, std::pair{"clamp_relu6", Unary::kClamp}}) {
    CAPTURE(name);
    unary_f32(op, x.f32.data(), count, 0.0f, 6.0f, y.data());
    check_close(y, f.at(name).at("y"));
  }
  softmax_f32(x.f32.data(), x.shape[0], x.shape[1], y.data());
  check_close(y, f.at("softmax").at("y"));

  // Quantize then dequantize: within half a step, saturating outside the range.
  const float scale = 0.05f;
  std::vector<std::int8_t> q(x.f32.size());
  quantize_f32_to_s8(x.f32.data(), count, scale, 3, q.data());
  dequantize_s8_to_f32(q.data(), count, scale, 3, y.data());
  for (size_t i = 0; i < y.size(); ++i) {
    const float representable = std::clamp(x.f32[i], scale * (-128 - 3), scale * (127 - 3));
    CHECK(std::abs(y[i] - representable) <= scale * 0.5f + 1e-6f);
  }
}

TEST_CASE("reference LeakyRelu matches a hand computation") {
  const std::vector<float> x = {-2.0f, -0.5f, -0.0f, 0.0f, 0.25f, 3.0f, -1e30f, 1e30f};
  // alpha * x where x < 0, x itself elsewhere (both zeros pass through).
  const std::vector<float> by_hand = {-0.2f, -0.05f, -0.0f, 0.0f, 0.25f, 3.0f, -1e29f, 1e30f};
  std::vector<float> y(x.size());
  leaky_relu_f32(x.data(), static_cast<std::int64_t>(x.size()), 0.1f, y.data());
  for (size_t i = 0; i < x.size(); ++i) {
    CAPTURE(i);
    CHECK(y[i] == doctest::Approx(by_hand[i]).epsilon(1e-6));
  }
  // The default slope, and a slope above one.
  const OpAttributes defaults;
  CHECK(defaults.alpha == 0.01f);
  leaky_relu_f32(x.data(), 2, defaults.alpha, y.data());
  CHECK(y[0] == doctest::Approx(-0.02f));
  CHECK(y[1] == doctest::Approx(-0.005f));
  leaky_relu_f32(x.data(), 1, 3.0f, y.data());
  CHECK(y[0] == -6.0f);
}

TEST_CASE("reference correlation, warp and scatter match their independent definitions") {
  const auto& f = fixture();
  {
    const FixtureCase& c = f.at("correlation_r2");
    std::vector<float> y(c.at("y").f32.size());
    correlation_f32(c.at("a").f32.data(), c.at("b").f32.data(), nhwc(c.at("a").shape), c.attrs()[0],
                    y.data());
    check_close(y, c.at("y"));
  }
  {
    const FixtureCase& c = f.at("warp");
    std::vector<float> y(c.at("y").f32.size());
    warp_f32(c.at("x").f32.data(), nhwc(c.at("x").shape), c.at("flow").f32.data(), y.data());
    check_close(y, c.at("y"), 1e-4f);  // grid_sample goes through normalised coordinates
  }
  {
    const FixtureCase& c = f.at("scatter_to_grid");
    std::vector<float> y(c.at("y").f32.size(), -1.0f);
    scatter_to_grid_f32(c.at("features").f32.data(), c.at("coordinates").i32.data(), 6, 3,
                        c.attrs()[0], c.attrs()[1], y.data());
    check_close(y, c.at("y"));
  }
}

TEST_CASE("reference INT8 convolution tracks the float convolution within quantization error") {
  // 1x6x6x4 input, 3x3 conv to 5 channels; quantize, run both, compare.
  const Nhwc xs{1, 6, 6, 4}, ys{1, 6, 6, 5};
  OpAttributes a;
  a.kernel_h = a.kernel_w = 3;
  a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = 1;
  std::vector<float> x(static_cast<size_t>(xs.elements())), w(5 * 3 * 3 * 4), b(5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i)) * 2.0f + 0.5f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.91f * float(i)) * 0.2f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * float(i) - 0.2f;
  std::vector<float> expected(static_cast<size_t>(ys.elements()));
  conv2d_f32(x.data(), xs, w.data(), b.data(), a, expected.data(), ys);

  const float x_scale = 3.0f / 127.0f;
  const std::int32_t x_zero = -20;
  std::vector<std::int8_t> xq(x.size()), wq(w.size());
  quantize_f32_to_s8(x.data(), static_cast<std::int64_t>(x.size()), x_scale, x_zero, xq.data());
  std::vector<float> w_scales(5);
  std::vector<std::int32_t> bq(5);
  for (int o = 0; o < 5; ++o) {
    float largest = 0.0f;
    for (int i = 0; i < 36; ++i) largest = std::max(largest, std::abs(w[o * 36 + i]));
    w_scales[static_cast<size_t>(o)] = largest / 127.0f;
    quantize_f32_to_s8(w.data() + o * 36, 36, w_scales[static_cast<size_t>(o)], 0,
                       wq.data() + o * 36);
    bq[static_cast<size_t>(o)] = static_cast<std::int32_t>(
        std::lround(b[static_cast<size_t>(o)] / (x_scale * w_scales[static_cast<size_t>(o)])));
  }
  const float largest_y = *std::max_element(
      expected.begin(), expected.end(), [](float l, float r) { return std::abs(l) < std::abs(r); });
  QuantizedConv q{.x_scale = x_scale,
                  .x_zero_point = x_zero,
                  .w_scales = w_scales,
                  .y_scale = std::abs(largest_y) / 120.0f,
                  .y_zero_point = 5};
  std::vector<std::int8_t> yq(expected.size());
  conv2d_qs8(xq.data(), xs, wq.data(), bq.data(), a, q, yq.data(), ys);
  std::vector<float> y(expected.size());
  dequantize_s8_to_f32(yq.data(), static_cast<std::int64_t>(y.size()), q.y_scale, q.y_zero_point,
                       y.data());
  double error = 0.0, energy = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    error += double(y[i] - expected[i]) * (y[i] - expected[i]);
    energy += double(expected[i]) * expected[i];
  }
  CHECK(std::sqrt(error / energy) < 0.02);  // INT8 keeps the signal to within 2 % RMS
}

}  // namespace
}  // namespace fovea::reference
