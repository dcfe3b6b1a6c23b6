#pragma once
// OpenCV DIS as both flow methods run it: DisOpticalFlow from zero, LearnedOpticalFlow from the
// network's flow. Private to vision/src.

#include <opencv2/core/mat.hpp>
#include <opencv2/video/tracking.hpp>

#include "fovea/vision/dis_optical_flow.h"

namespace fovea::vision::detail {

cv::Ptr<cv::DISOpticalFlow> make_dis(DisPreset preset);

// `frame` as 8-bit gray with continuous rows (DIS asserts on a ROI's rows): the frame itself
// when it already is, else converted or copied into `gray`.
const cv::Mat& continuous_gray(const cv::Mat& frame, cv::Mat& gray);

// Padded copies of frames too small for the preset, kept between calls so a steady stream of
// same-size frames does not reallocate them.
struct DisPadding {
  cv::Mat frame1, frame2;
};

// Runs `dis` on 8-bit gray frames with continuous rows. With an `initial` CV_32FC2 flow of the
// frames' size, DIS also tries its vectors at every pyramid level and keeps them where they
// match better than its own (learned_optical_flow.h); without, it works from zero alone.
// Returns a fresh flow of the frames' size. Throws cv::Exception.
cv::Mat dis_calc(cv::DISOpticalFlow& dis, const cv::Mat& gray1, const cv::Mat& gray2,
                 const cv::Mat& initial, DisPadding& padding);

// OpenCV's process-wide thread count set to `threads` (> 0) for a scope, then restored. Global:
// two threads using different counts at once race on it (dis_optical_flow.h).
class ScopedOpenCvThreads {
 public:
  explicit ScopedOpenCvThreads(int threads);
  ~ScopedOpenCvThreads();
  ScopedOpenCvThreads(const ScopedOpenCvThreads&) = delete;
  ScopedOpenCvThreads& operator=(const ScopedOpenCvThreads&) = delete;

 private:
  int previous_;
  bool active_;
};

}  // namespace fovea::vision::detail
