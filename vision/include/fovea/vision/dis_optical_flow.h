#pragma once
// OpenCV's Dense Inverse Search flow (Kroeger et al. 2016) behind fovea's OpticalFlow interface:
// the classical on-device choice and the baseline the learned model is measured against.
//
// Threads: OpenCV parallelises DIS through its process-wide thread setting
// (cv::setNumThreads; TBB on Debian). When set_threads(n) was given n > 0, compute() sets
// OpenCV's count to n for the call and restores the previous count afterwards. That setting is
// global, so two threads running DIS with different counts at once race on it: give concurrent
// instances the same count, or leave it at 0 and set OpenCV's count once at start-up.

#include <memory>
#include <string>
#include <string_view>

#include "fovea/vision/optical_flow.h"

namespace fovea::vision {

// OpenCV's presets: ultrafast and fast skip the variational refinement the medium one runs.
enum class DisPreset { kUltrafast, kFast, kMedium };

const char* dis_preset_name(DisPreset preset) noexcept;  // "ultrafast", "fast", "medium"
Result<DisPreset> parse_dis_preset(std::string_view name);

class DisOpticalFlow final : public OpticalFlow {
 public:
  explicit DisOpticalFlow(DisPreset preset = DisPreset::kFast);
  DisOpticalFlow(DisOpticalFlow&&) noexcept;
  DisOpticalFlow& operator=(DisOpticalFlow&&) noexcept;
  ~DisOpticalFlow() override;

  std::string name() const override;  // "dis_<preset>"
  // Below one DIS patch (8 px) a side there is no texture to match. Frames from 8 px up work at
  // any aspect ratio: sizes OpenCV's pyramid cannot handle are padded (see the source).
  int min_side() const noexcept override { return 8; }
  DisPreset preset() const noexcept { return preset_; }

 protected:
  Result<FlowField> compute_valid(const cv::Mat& frame1, const cv::Mat& frame2) override;

 private:
  struct State;
  DisPreset preset_;
  std::unique_ptr<State> state_;
};

}  // namespace fovea::vision
