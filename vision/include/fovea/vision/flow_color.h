#pragma once
// Flow as colour, with the Middlebury colour wheel (Baker et al., "A Database and Evaluation
// Methodology for Optical Flow", IJCV 2011; their colorcode.cpp): hue is the direction,
// saturation the magnitude relative to a maximum radius, white is no motion. Flow beyond the
// radius is drawn at 75% brightness; invalid pixels are black.

#include <array>
#include <cstdint>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::vision {

// The wheel's 55 colours, RGB: red->yellow 15, yellow->green 6, green->cyan 4, cyan->blue 11,
// blue->magenta 13, magenta->red 6.
inline constexpr int kFlowWheelColors = 55;
const std::array<std::array<std::uint8_t, 3>, kFlowWheelColors>& flow_color_wheel();

// The colour of flow (dx, dy) already divided by the maximum radius, as RGB.
std::array<std::uint8_t, 3> flow_color_rgb(float dx, float dy);

// The largest flow magnitude over the pixels where `valid` (CV_8UC1, optional) is non-zero;
// non-finite values are skipped. 0 for an empty or all-invalid field.
float max_flow_radius(const cv::Mat& flow, const cv::Mat& valid = {});

struct FlowColorOptions {
  // Flow of this magnitude (px) gets full saturation; 0 means the field's own maximum.
  float max_radius = 0.0f;
  // CV_8UC1, same size as the flow; pixels where it is 0 are drawn black. Optional.
  cv::Mat valid;
};

// Colour-coded flow as an 8-bit BGR image (OpenCV's order, for cv::imwrite).
Result<cv::Mat> flow_to_bgr(const cv::Mat& flow, const FlowColorOptions& options = {});

// The same colours as tightly packed RGBA8 (alpha 255), for a GL texture. `bottom_up` writes
// rows bottom to top, the order glTexImage2D reads, so the bytes upload without a flip
// (render/flow_texture.h takes them).
struct FlowRgba8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};
Result<FlowRgba8> flow_to_rgba8(const cv::Mat& flow, const FlowColorOptions& options = {},
                                bool bottom_up = true);

}  // namespace fovea::vision
