#pragma once
// Frame pairs with exactly known flow, for tests and for `fovea-flow synth-pair`: a smooth
// random texture (a sum of sinusoids, evaluated analytically, so frame 2 has no resampling
// error) moved by a known translation or a rotation about the image centre.

#include <opencv2/core/mat.hpp>

namespace fovea::vision {

struct SyntheticFlowPair {
  cv::Mat frame1, frame2;  // 8-bit BGR
  cv::Mat flow;            // CV_32FC2, exact: frame1 (x, y) is at (x, y) + flow in frame2
  cv::Mat occluded;        // CV_8UC1, 255 where the pixel leaves the frame in frame 2
};

// Frame 2 is frame 1 moved by `shift` pixels.
SyntheticFlowPair make_translated_pair(cv::Size size, cv::Point2f shift, unsigned seed = 1);

// Frame 2 is frame 1 turned by `degrees` (counter-clockwise on screen, y down) about the
// image centre.
SyntheticFlowPair make_rotated_pair(cv::Size size, float degrees, unsigned seed = 1);

}  // namespace fovea::vision
