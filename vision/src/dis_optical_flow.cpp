#include "fovea/vision/dis_optical_flow.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "dis_calc.h"

namespace fovea::vision {

struct DisOpticalFlow::State {
  cv::Ptr<cv::DISOpticalFlow> dis;
  // Reused between calls so a steady stream of same-size frames allocates only the output.
  cv::Mat gray1, gray2;
  detail::DisPadding padding;
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
  state_->dis = detail::make_dis(preset);
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
    const cv::Mat& gray1 = detail::continuous_gray(frame1, state.gray1);
    const cv::Mat& gray2 = detail::continuous_gray(frame2, state.gray2);
    detail::ScopedOpenCvThreads threads(this->threads());
    FlowField field;
    field.flow = detail::dis_calc(*state.dis, gray1, gray2, cv::Mat(), state.padding);
    return field;
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kInternal, name() + ": OpenCV failed: " + error.what());
  }
}

}  // namespace fovea::vision
