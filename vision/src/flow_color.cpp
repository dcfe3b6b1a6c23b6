#include "fovea/vision/flow_color.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace fovea::vision {
namespace {

using Wheel = std::array<std::array<std::uint8_t, 3>, kFlowWheelColors>;

// Built exactly as colorcode.cpp's makecolorwheel(), integer division included, so images match
// the ones published with Middlebury and Sintel results.
Wheel make_wheel() {
  constexpr int kRY = 15, kYG = 6, kGC = 4, kCB = 11, kBM = 13, kMR = 6;
  Wheel wheel{};
  int k = 0;
  auto set = [&](int r, int g, int b) {
    wheel[k++] = {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g),
                  static_cast<std::uint8_t>(b)};
  };
  for (int i = 0; i < kRY; ++i) set(255, 255 * i / kRY, 0);
  for (int i = 0; i < kYG; ++i) set(255 - 255 * i / kYG, 255, 0);
  for (int i = 0; i < kGC; ++i) set(0, 255, 255 * i / kGC);
  for (int i = 0; i < kCB; ++i) set(0, 255 - 255 * i / kCB, 255);
  for (int i = 0; i < kBM; ++i) set(255 * i / kBM, 0, 255);
  for (int i = 0; i < kMR; ++i) set(255, 0, 255 - 255 * i / kMR);
  return wheel;
}

Status check_field(const cv::Mat& flow, const FlowColorOptions& options) {
  if (flow.empty() || flow.type() != CV_32FC2 || flow.dims != 2)
    return Status(ErrorCode::kInvalidArgument, "flow colouring takes a non-empty CV_32FC2 field");
  if (!options.valid.empty() &&
      (options.valid.type() != CV_8UC1 || options.valid.size() != flow.size()))
    return Status(ErrorCode::kInvalidArgument,
                  "the validity mask must be CV_8UC1 of the flow's size");
  if (!(options.max_radius >= 0.0f) || !std::isfinite(options.max_radius))
    return Status(ErrorCode::kInvalidArgument, "max_radius must be finite and >= 0");
  return Status::ok();
}

// Calls write(x, y, rgb) for every pixel; shared by the BGR and RGBA outputs.
template <typename Write>
void colour_pixels(const cv::Mat& flow, const FlowColorOptions& options, Write write) {
  float radius =
      options.max_radius > 0.0f ? options.max_radius : max_flow_radius(flow, options.valid);
  // A still field has no scale; any positive radius draws it white.
  if (radius <= 0.0f) radius = 1.0f;
  const float inverse = 1.0f / radius;
  for (int y = 0; y < flow.rows; ++y) {
    const auto* row = flow.ptr<cv::Vec2f>(y);
    const std::uint8_t* valid = options.valid.empty() ? nullptr : options.valid.ptr(y);
    for (int x = 0; x < flow.cols; ++x) {
      const float dx = row[x][0], dy = row[x][1];
      const bool known =
          (valid == nullptr || valid[x] != 0) && std::isfinite(dx) && std::isfinite(dy);
      write(x, y,
            known ? flow_color_rgb(dx * inverse, dy * inverse) : std::array<std::uint8_t, 3>{});
    }
  }
}

}  // namespace

const Wheel& flow_color_wheel() {
  static const Wheel wheel = make_wheel();
  return wheel;
}

std::array<std::uint8_t, 3> flow_color_rgb(float dx, float dy) {
  const Wheel& wheel = flow_color_wheel();
  const float radius = std::sqrt(dx * dx + dy * dy);
  // As computeColor(): the angle of (-dx, -dy) maps [-pi, pi] onto the wheel's 0..54.
  const float angle = std::atan2(-dy, -dx) / std::numbers::pi_v<float>;
  const float position = (angle + 1.0f) / 2.0f * (kFlowWheelColors - 1);
  if (!std::isfinite(radius) || !std::isfinite(position)) return {0, 0, 0};  // as unknown flow
  const int k0 = std::clamp(static_cast<int>(position), 0, kFlowWheelColors - 1);
  const int k1 = (k0 + 1) % kFlowWheelColors;
  const float f = position - static_cast<float>(k0);
  std::array<std::uint8_t, 3> rgb{};
  for (int c = 0; c < 3; ++c) {
    const float col0 = wheel[k0][c] / 255.0f;
    const float col1 = wheel[k1][c] / 255.0f;
    float col = (1.0f - f) * col0 + f * col1;
    if (radius <= 1.0f)
      col = 1.0f - radius * (1.0f - col);  // saturation grows with the magnitude
    else
      col *= 0.75f;  // beyond the radius: darker, so clipped motion is visible
    rgb[c] = static_cast<std::uint8_t>(255.0f * col);
  }
  return rgb;
}

float max_flow_radius(const cv::Mat& flow, const cv::Mat& valid) {
  if (flow.empty() || flow.type() != CV_32FC2) return 0.0f;
  const bool masked = !valid.empty() && valid.type() == CV_8UC1 && valid.size() == flow.size();
  float largest = 0.0f;
  for (int y = 0; y < flow.rows; ++y) {
    const auto* row = flow.ptr<cv::Vec2f>(y);
    const std::uint8_t* known = masked ? valid.ptr(y) : nullptr;
    for (int x = 0; x < flow.cols; ++x) {
      if (known != nullptr && known[x] == 0) continue;
      const float r = std::sqrt(row[x][0] * row[x][0] + row[x][1] * row[x][1]);
      if (std::isfinite(r)) largest = std::max(largest, r);
    }
  }
  return largest;
}

Result<cv::Mat> flow_to_bgr(const cv::Mat& flow, const FlowColorOptions& options) {
  FOVEA_RETURN_IF_ERROR(check_field(flow, options));
  cv::Mat image(flow.size(), CV_8UC3);
  colour_pixels(flow, options, [&](int x, int y, const std::array<std::uint8_t, 3>& rgb) {
    image.at<cv::Vec3b>(y, x) = cv::Vec3b(rgb[2], rgb[1], rgb[0]);
  });
  return image;
}

Result<FlowRgba8> flow_to_rgba8(const cv::Mat& flow, const FlowColorOptions& options,
                                bool bottom_up) {
  FOVEA_RETURN_IF_ERROR(check_field(flow, options));
  FlowRgba8 image;
  image.width = flow.cols;
  image.height = flow.rows;
  image.pixels.resize(static_cast<std::size_t>(flow.cols) * flow.rows * 4);
  colour_pixels(flow, options, [&](int x, int y, const std::array<std::uint8_t, 3>& rgb) {
    const int row = bottom_up ? flow.rows - 1 - y : y;
    std::uint8_t* pixel = image.pixels.data() + (static_cast<std::size_t>(row) * flow.cols + x) * 4;
    pixel[0] = rgb[0];
    pixel[1] = rgb[1];
    pixel[2] = rgb[2];
    pixel[3] = 255;
  });
  return image;
}

}  // namespace fovea::vision
