#pragma once
// The optical-flow interface fovea's loop uses for reprojection, mask propagation and motion
// cues. Two frames of any size in, dense flow at full resolution out. Implementations: OpenCV's
// DIS (dis_optical_flow.h, the classical baseline) and, later, the learned model on the
// inference core; both are checked by the same validation so callers see the same errors.

#include <string>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"
#include "fovea/vision/flow_field.h"

namespace fovea::vision {

class OpticalFlow {
 public:
  virtual ~OpticalFlow() = default;

  // A short stable name for tables and JSON ("dis_fast", "fovea_int8").
  virtual std::string name() const = 0;

  // The smallest width and height this method can work on; smaller frames are refused.
  virtual int min_side() const noexcept = 0;

  // Threads the method may use; 0 (the default) leaves the library's own setting alone. How the
  // count is applied depends on the backend (see the implementation's header).
  void set_threads(int threads) noexcept { threads_ = threads < 0 ? 0 : threads; }
  int threads() const noexcept { return threads_; }

  // Flow from `frame1` to `frame2`: both 8-bit gray (CV_8UC1) or BGR (CV_8UC3), the same size
  // and type, each side in min_side()..kMaxFlowSide. Anything else is kInvalidArgument with a
  // message saying which rule was broken.
  Result<FlowField> compute(const cv::Mat& frame1, const cv::Mat& frame2);

 protected:
  // Called with frames that passed validation.
  virtual Result<FlowField> compute_valid(const cv::Mat& frame1, const cv::Mat& frame2) = 0;

 private:
  int threads_ = 0;
};

// The checks compute() makes, for code that takes frames before reaching a method (a loop that
// wants to refuse a bad frame once, whatever method it later runs).
Status validate_flow_frames(const cv::Mat& frame1, const cv::Mat& frame2, int min_side);

}  // namespace fovea::vision
