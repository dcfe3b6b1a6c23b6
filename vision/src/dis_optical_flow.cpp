#include "fovea/vision/dis_optical_flow.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

namespace fovea::vision {
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

// Scoped process-wide OpenCV thread count (see the header for why it is process-wide).
class ScopedOpenCvThreads {
 public:
  explicit ScopedOpenCvThreads(int threads)
      : previous_(cv::getNumThreads()), active_(threads > 0 && threads != previous_) {
    if (active_) cv::setNumThreads(threads);
  }
  ~ScopedOpenCvThreads() {
    if (active_) cv::setNumThreads(previous_);
  }
  ScopedOpenCvThreads(const ScopedOpenCvThreads&) = delete;
  ScopedOpenCvThreads& operator=(const ScopedOpenCvThreads&) = delete;

 private:
  int previous_;
  bool active_;
};

}  // namespace

struct DisOpticalFlow::State {
  cv::Ptr<cv::DISOpticalFlow> dis;
  // Reused between calls so a steady stream of same-size frames allocates only the output.
  cv::Mat gray1, gray2, padded1, padded2;
};

const char* dis_preset_name(DisPreset preset) noexcept {
  switch (preset) {
    case DisPreset::kUltrafast:
      return "ultrafast";
    case DisPreset::kFast:
      return "fast";
    case DisPreset::kMedium:
      return "medium";
  }
  return "unknown";
}

Result<DisPreset> parse_dis_preset(std::string_view name) {
  for (DisPreset preset : {DisPreset::kUltrafast, DisPreset::kFast, DisPreset::kMedium})
    if (name == dis_preset_name(preset)) return preset;
  return Status(ErrorCode::kInvalidArgument,
                "unknown DIS preset '" + std::string(name) + "'; use ultrafast, fast or medium");
}

DisOpticalFlow::DisOpticalFlow(DisPreset preset)
    : preset_(preset), state_(std::make_unique<State>()) {
  state_->dis = cv::DISOpticalFlow::create(opencv_preset(preset));
}
DisOpticalFlow::DisOpticalFlow(DisOpticalFlow&&) noexcept = default;
DisOpticalFlow& DisOpticalFlow::operator=(DisOpticalFlow&&) noexcept = default;
DisOpticalFlow::~DisOpticalFlow() = default;

std::string DisOpticalFlow::name() const {
  return std::string("dis_") + dis_preset_name(preset_);
}

Result<FlowField> DisOpticalFlow::compute_valid(const cv::Mat& frame1, const cv::Mat& frame2) {
  State& state = *state_;
  try {
    // DIS matches 8-bit gray patches; it also needs continuous rows, which a ROI may not have.
    auto to_gray = [](const cv::Mat& frame, cv::Mat& gray) -> const cv::Mat& {
      if (frame.channels() == 3) {
        cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
        return gray;
      }
      if (frame.isContinuous()) return frame;
      frame.copyTo(gray);
      return gray;
    };
    const cv::Mat& gray1 = to_gray(frame1, state.gray1);
    const cv::Mat& gray2 = to_gray(frame2, state.gray2);

    const cv::Size size = gray1.size();
    const cv::Size safe =
        dis_safe_size(size, state.dis->getPatchSize(), state.dis->getFinestScale());
    const bool pad = safe != size;
    if (pad) {
      // Replicated borders add no texture, so the padding pulls the flow of the real pixels
      // little; it only keeps OpenCV's pyramid deep enough for the preset.
      const int right = safe.width - size.width, bottom = safe.height - size.height;
      cv::copyMakeBorder(gray1, state.padded1, 0, bottom, 0, right, cv::BORDER_REPLICATE);
      cv::copyMakeBorder(gray2, state.padded2, 0, bottom, 0, right, cv::BORDER_REPLICATE);
    }

    // A fresh output every call: DIS treats a same-size CV_32FC2 `flow` argument as its initial
    // estimate, so reusing the previous result would silently warm-start the next pair.
    cv::Mat flow;
    {
      ScopedOpenCvThreads threads(this->threads());
      state.dis->calc(pad ? state.padded1 : gray1, pad ? state.padded2 : gray2, flow);
    }
    FlowField field;
    field.flow = pad ? flow(cv::Rect(cv::Point(0, 0), size)).clone() : flow;
    return field;
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kInternal, name() + ": OpenCV failed: " + error.what());
  }
}

}  // namespace fovea::vision
