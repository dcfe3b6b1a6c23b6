#include "fovea/vision/optical_flow.h"

#include <string>

#include <opencv2/core.hpp>

namespace fovea::vision {
namespace {

std::string describe(const cv::Mat& frame) {
  return std::to_string(frame.cols) + "x" + std::to_string(frame.rows) + " " +
         cv::typeToString(frame.type());
}

}  // namespace

Status validate_flow_frames(const cv::Mat& frame1, const cv::Mat& frame2, int min_side) {
  if (frame1.empty() || frame2.empty())
    return Status(ErrorCode::kInvalidArgument,
                  std::string("optical flow needs two frames; frame ") +
                      (frame1.empty() ? "1" : "2") + " is empty");
  if (frame1.dims != 2 || frame2.dims != 2)
    return Status(ErrorCode::kInvalidArgument, "optical flow frames must be 2-D images");
  for (const cv::Mat* frame : {&frame1, &frame2}) {
    if (frame->type() != CV_8UC1 && frame->type() != CV_8UC3)
      return Status(ErrorCode::kInvalidArgument,
                    "optical flow takes 8-bit gray (CV_8UC1) or BGR (CV_8UC3) frames, not " +
                        describe(*frame));
  }
  if (frame1.size() != frame2.size() || frame1.type() != frame2.type())
    return Status(ErrorCode::kInvalidArgument, "the two frames differ: " + describe(frame1) +
                                                   " and " + describe(frame2) +
                                                   "; resize or convert one to match the other");
  if (frame1.cols > kMaxFlowSide || frame1.rows > kMaxFlowSide)
    return Status(ErrorCode::kInvalidArgument, "frames of " + describe(frame1) +
                                                   " exceed the largest side fovea accepts (" +
                                                   std::to_string(kMaxFlowSide) + " px)");
  if (frame1.cols < min_side || frame1.rows < min_side)
    return Status(ErrorCode::kInvalidArgument, "frames of " + describe(frame1) +
                                                   " are too small: this method needs at least " +
                                                   std::to_string(min_side) + " px a side");
  return Status::ok();
}

Result<FlowField> OpticalFlow::compute(const cv::Mat& frame1, const cv::Mat& frame2) {
  FOVEA_RETURN_IF_ERROR(validate_flow_frames(frame1, frame2, min_side()).with_context(name()));
  return compute_valid(frame1, frame2);
}

}  // namespace fovea::vision
