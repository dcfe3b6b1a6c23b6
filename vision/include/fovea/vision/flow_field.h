#pragma once
// A dense optical-flow field: what every OpticalFlow implementation returns and what .flo files
// hold. Kept apart from the interface so readers, writers and metrics need not see it.

#include <opencv2/core/mat.hpp>

namespace fovea::vision {

// The largest side fovea accepts for frames and flow files: larger is a mistake (a corrupt
// header, a wrong stride), not a camera, and would ask for gigabytes.
inline constexpr int kMaxFlowSide = 16384;

struct FlowField {
  // CV_32FC2, one (dx, dy) per pixel of frame 1 in pixels: the point at (x, y) in frame 1 is at
  // (x + dx, y + dy) in frame 2. Full frame resolution.
  cv::Mat flow;
  // CV_32FC1 in [0, 1] (1 = trusted, 0 = occluded or unreliable) where the method estimates one;
  // empty otherwise (DIS gives none).
  cv::Mat confidence;

  int width() const noexcept { return flow.cols; }
  int height() const noexcept { return flow.rows; }
  bool empty() const noexcept { return flow.empty(); }
};

}  // namespace fovea::vision
