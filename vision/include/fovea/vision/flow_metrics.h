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

// What a confidence map says about a flow estimate: its mean over visible and over occluded
// pixels, and the EPE of the pixels it trusts (confidence >= `threshold`) and of the rest. A
// useful confidence is higher where pixels are visible and trusted pixels have the lower EPE.
struct ConfidenceQuality {
  double mean_noc = 0.0;       // mean confidence over evaluated visible pixels (NaN if none)
  double mean_occ = 0.0;       // over evaluated occluded pixels (NaN if none)
  double trusted_share = 0.0;  // share of evaluated pixels at or above the threshold, 0..1
  double epe_trusted = 0.0;    // EPE over them (NaN if none)
  double epe_doubted = 0.0;    // EPE over the others (NaN if none)
};

inline constexpr float kTrustedConfidence = 0.5f;

// `confidence` is CV_32FC1 of the flow's size; the rest as flow_error.
Result<ConfidenceQuality> confidence_quality(const cv::Mat& estimate, const cv::Mat& confidence,
                                             const cv::Mat& truth, const cv::Mat& valid = {},
                                             const cv::Mat& occluded = {},
                                             float threshold = kTrustedConfidence);

}  // namespace fovea::vision
