#include "dis_calc.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace fovea::vision::detail {
namespace {

int opencv_preset(DisPreset preset) {
  switch (preset) {
    case DisPreset::kUltrafast:
      return cv::DISOpticalFlow::PRESET_ULTRAFAST;
    case DisPreset::kFast:
      return cv::DISOpticalFlow::PRESET_FAST;
    case DisPreset::kMedium:
      return cv::DISOpticalFlow::PRESET_MEDIUM;
  }
  return cv::DISOpticalFlow::PRESET_FAST;
}

// OpenCV 4.6 picks DIS's coarsest pyramid level from the frame size as
//   min(round(log2(max_side / (4 * patch))), floor(log2(min_side / patch)))
// and does not check it against the preset's finest level: when it falls below, calc() throws
// or reads out of bounds (a 100x12 frame crashes the process). This is the smallest size each
// side needs so that the coarsest level reaches the finest one.
cv::Size dis_safe_size(cv::Size size, int patch, int finest_scale) {
  const int min_needed = patch << finest_scale;
  const int max_needed =
      static_cast<int>(std::ceil(4.0 * patch * std::pow(2.0, finest_scale - 0.5))) + 1;
  cv::Size safe(std::max(size.width, min_needed), std::max(size.height, min_needed));
  if (std::max(safe.width, safe.height) < max_needed) {
    if (safe.width >= safe.height)
      safe.width = max_needed;
    else
      safe.height = max_needed;
  }
  return safe;
}

}  // namespace

const cv::Mat& continuous_gray(const cv::Mat& frame, cv::Mat& gray) {
  if (frame.channels() == 3) {
    cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
    return gray;
  }
  if (frame.isContinuous()) return frame;
  frame.copyTo(gray);
  return gray;
}

cv::Ptr<cv::DISOpticalFlow> make_dis(DisPreset preset) {
  return cv::DISOpticalFlow::create(opencv_preset(preset));
}

cv::Mat dis_calc(cv::DISOpticalFlow& dis, const cv::Mat& gray1, const cv::Mat& gray2,
                 const cv::Mat& initial, DisPadding& padding) {
  const cv::Size size = gray1.size();
  const cv::Size safe = dis_safe_size(size, dis.getPatchSize(), dis.getFinestScale());
  // DIS treats a same-size CV_32FC2 `flow` argument as its initial estimate, so the output is a
  // fresh Mat unless the caller asked for a start: reusing one would silently warm-start the
  // next pair from the previous result.
  cv::Mat flow;
  if (safe == size) {
    if (!initial.empty()) initial.copyTo(flow);
    dis.calc(gray1, gray2, flow);
    return flow;
  }
  // Replicated borders add no texture, so the padding pulls the flow of the real pixels little;
  // it only keeps OpenCV's pyramid deep enough for the preset.
  const int right = safe.width - size.width, bottom = safe.height - size.height;
  cv::copyMakeBorder(gray1, padding.frame1, 0, bottom, 0, right, cv::BORDER_REPLICATE);
  cv::copyMakeBorder(gray2, padding.frame2, 0, bottom, 0, right, cv::BORDER_REPLICATE);
  if (!initial.empty())
    cv::copyMakeBorder(initial, flow, 0, bottom, 0, right, cv::BORDER_REPLICATE);
  dis.calc(padding.frame1, padding.frame2, flow);
  return flow(cv::Rect(cv::Point(0, 0), size)).clone();
}

ScopedOpenCvThreads::ScopedOpenCvThreads(int threads)
    : previous_(cv::getNumThreads()), active_(threads > 0 && threads != previous_) {
  if (active_) cv::setNumThreads(threads);
}

ScopedOpenCvThreads::~ScopedOpenCvThreads() {
  if (active_) cv::setNumThreads(previous_);
}

}  // namespace fovea::vision::detail
