#pragma once
// Accuracy of a flow estimate against ground truth, as Sintel and KITTI report it: average
// end-point error (EPE, the Euclidean distance between estimated and true flow vectors) over all
// pixels, over non-occluded and over occluded ones, and the share of outliers above 3 px.

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::vision {

inline constexpr float kFlowOutlierPx = 3.0f;

struct FlowError {
  double epe = 0.0;       // over every evaluated pixel
  double epe_noc = 0.0;   // over evaluated pixels visible in both frames (NaN if there are none)
  double epe_occ = 0.0;   // over evaluated occluded pixels (NaN if there are none)
  double outliers = 0.0;  // share of evaluated pixels with EPE > kFlowOutlierPx, 0..1
  long long pixels = 0;   // evaluated pixels
  long long occluded_pixels = 0;  // of which occluded
};

// `estimate` and `truth` are CV_32FC2 of one size. `valid` (CV_8UC1, optional): only pixels where
// it is non-zero are evaluated (Sintel's invalid.png and .flo "unknown" pixels are excluded this
// way). `occluded` (CV_8UC1, optional): non-zero marks pixels visible in frame 1 only.
Result<FlowError> flow_error(const cv::Mat& estimate, const cv::Mat& truth,
                             const cv::Mat& valid = {}, const cv::Mat& occluded = {});

}  // namespace fovea::vision
