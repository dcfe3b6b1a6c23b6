#pragma once
// The side-by-side PNG for one pair: frame 1, the ground truth and each method's flow, all
// colour-coded with one radius (the ground truth's largest known motion) so colours compare.

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "flow_pair.h"
#include "fovea/core/status.h"

namespace fovea::flow_tool {

struct FlowPanel {
  std::string label;  // drawn in the panel's corner
  cv::Mat flow;       // CV_32FC2
};

Status write_flow_panels(const std::string& path, const FlowPair& pair,
                         const std::vector<FlowPanel>& methods);

}  // namespace fovea::flow_tool
