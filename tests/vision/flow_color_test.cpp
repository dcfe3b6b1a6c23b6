#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include <opencv2/core.hpp>

#include "fovea/vision/flow_color.h"

namespace fovea::vision {
namespace {

using Rgb = std::array<std::uint8_t, 3>;

bool near(const Rgb& a, const Rgb& b, int tolerance = 1) {
  for (int c = 0; c < 3; ++c)
    if (std::abs(int{a[c]} - int{b[c]}) > tolerance) return false;
  return true;
}

TEST_CASE("the colour wheel is Middlebury's 55 colours") {
  const auto& wheel = flow_color_wheel();
  // Segment starts (RY 15, YG 6, GC 4, CB 11, BM 13, MR 6) are the pure hues.
  CHECK(wheel[0] == Rgb{255, 0, 0});     // red
  CHECK(wheel[15] == Rgb{255, 255, 0});  // yellow
  CHECK(wheel[21] == Rgb{0, 255, 0});    // green
  CHECK(wheel[25] == Rgb{0, 255, 255});  // cyan
  CHECK(wheel[36] == Rgb{0, 0, 255});    // blue
  CHECK(wheel[49] == Rgb{255, 0, 255});  // magenta
  // Integer steps as in colorcode.cpp: 255*i/15 for i = 1 is 17, 255 - 255*2/11 is 209.
  CHECK(wheel[1] == Rgb{255, 17, 0});
  CHECK(wheel[27] == Rgb{0, 209, 255});
  CHECK(wheel[54] == Rgb{255, 0, 43});
}

TEST_CASE("flow directions map to the reference colours, saturation to the magnitude") {
  // computeColor's angle is atan2(-dy, -dx): rightward flow is the wheel's start (red), leftward
  // its middle (cyan-blue), downward (y grows down) yellow-orange, upward violet.
  CHECK(flow_color_rgb(1.0f, 0.0f) == Rgb{255, 0, 0});
  CHECK(flow_color_rgb(-1.0f, 0.0f) == Rgb{0, 209, 255});
  CHECK(near(flow_color_rgb(0.0f, 1.0f), Rgb{255, 229, 0}));
  CHECK(near(flow_color_rgb(0.0f, -1.0f), Rgb{88, 0, 255}));
  CHECK(flow_color_rgb(0.0f, 0.0f) == Rgb{255, 255, 255});  // no motion is white
  CHECK(flow_color_rgb(0.5f, 0.0f) == Rgb{255, 127, 127});  // half the radius: half saturated
  CHECK(flow_color_rgb(2.0f, 0.0f) == Rgb{191, 0, 0});      // beyond it: 75% brightness
  CHECK(flow_color_rgb(std::nanf(""), 0.0f) == Rgb{0, 0, 0});
}

TEST_CASE("flow images are normalised by the given or the field's radius, in BGR and RGBA") {
  cv::Mat flow(2, 2, CV_32FC2, cv::Scalar(0, 0));
  flow.at<cv::Vec2f>(0, 0) = {4.0f, 0.0f};  // the largest motion: full red
  flow.at<cv::Vec2f>(0, 1) = {2.0f, 0.0f};  // half of it
  CHECK(max_flow_radius(flow) == 4.0f);

  auto bgr = flow_to_bgr(flow);
  REQUIRE(bgr.is_ok());
  CHECK(bgr->at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 255));
  CHECK(bgr->at<cv::Vec3b>(0, 1) == cv::Vec3b(127, 127, 255));
  CHECK(bgr->at<cv::Vec3b>(1, 0) == cv::Vec3b(255, 255, 255));

  FlowColorOptions options;
  options.max_radius = 2.0f;
  options.valid = cv::Mat(2, 2, CV_8UC1, cv::Scalar(255));
  options.valid.at<std::uint8_t>(1, 1) = 0;
  auto clipped = flow_to_bgr(flow, options);
  REQUIRE(clipped.is_ok());
  CHECK(clipped->at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 191));  // beyond the given radius
  CHECK(clipped->at<cv::Vec3b>(0, 1) == cv::Vec3b(0, 0, 255));
  CHECK(clipped->at<cv::Vec3b>(1, 1) == cv::Vec3b(0, 0, 0));  // invalid: black

  // RGBA rows bottom to top by default (GL's order): the top-left pixel is in the last row.
  auto rgba = flow_to_rgba8(flow);
  REQUIRE(rgba.is_ok());
  REQUIRE(rgba->pixels.size() == 16u);
  const std::uint8_t* top_left = rgba->pixels.data() + 2 * 4;
  CHECK(top_left[0] == 255);
  CHECK(top_left[1] == 0);
  CHECK(top_left[2] == 0);
  CHECK(top_left[3] == 255);
  auto top_down = flow_to_rgba8(flow, {}, false);
  REQUIRE(top_down.is_ok());
  CHECK(top_down->pixels[0] == 255);
  CHECK(top_down->pixels[1] == 0);

  CHECK(flow_to_bgr(cv::Mat()).status().code() == ErrorCode::kInvalidArgument);
  CHECK(flow_to_bgr(cv::Mat(2, 2, CV_32FC1)).status().code() == ErrorCode::kInvalidArgument);
  options.valid = cv::Mat(3, 3, CV_8UC1);
  CHECK(flow_to_bgr(flow, options).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("a still field is drawn white, not divided by zero") {
  const cv::Mat still(4, 4, CV_32FC2, cv::Scalar(0, 0));
  auto image = flow_to_bgr(still);
  REQUIRE(image.is_ok());
  CHECK(cv::countNonZero(image->reshape(1) != 255) == 0);
}

}  // namespace
}  // namespace fovea::vision
