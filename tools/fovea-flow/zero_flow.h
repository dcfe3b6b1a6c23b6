#pragma once
// The zero-flow baseline: "nothing moved". Its EPE is the mean ground-truth magnitude, the
// yardstick the large-motion bar is stated against (a method must beat 0.8x of it).

#include "fovea/vision/optical_flow.h"

namespace fovea::flow_tool {

class ZeroFlow final : public vision::OpticalFlow {
 public:
  std::string name() const override { return "zero"; }
  int min_side() const noexcept override { return 1; }

 protected:
  Result<vision::FlowField> compute_valid(const cv::Mat& frame1, const cv::Mat&) override {
    vision::FlowField field;
    field.flow = cv::Mat::zeros(frame1.size(), CV_32FC2);
    return field;
  }
};

}  // namespace fovea::flow_tool
