#pragma once
// One evaluation pair: a folder holding frame1.png, frame2.png and flow_gt.flo, plus
// occlusions.png and invalid.png where the dataset has them (Sintel does; white = set).

#include <string>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::flow_tool {

struct FlowPair {
  std::string name;  // the folder's name, e.g. "alley_1_clean_f0002"
  std::string folder;
  cv::Mat frame1, frame2;  // 8-bit BGR
  cv::Mat truth;           // CV_32FC2
  // CV_8UC1, 255 where the pair is evaluated: the .flo's known pixels minus invalid.png's.
  cv::Mat valid;
  cv::Mat occluded;  // CV_8UC1, 255 where occluded; empty without occlusions.png
  bool has_invalid_png = false;
};

Result<FlowPair> load_flow_pair(const std::string& folder);

}  // namespace fovea::flow_tool
