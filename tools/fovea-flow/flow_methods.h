#pragma once
// The methods `fovea-flow eval` compares, in table order. Each is a name and a factory that
// makes an OpticalFlow or says why it cannot (a model file not given, not built yet): those
// methods still get a row, marked "not available", so tables keep their shape.
//
// Adding a method is one entry in flow_methods.cpp. The learned rows (fovea_fp32, fovea_int8:
// fovea's flow as it ships, the network refined by DIS's patch inverse search; fovea_*_net, the
// network alone; fovea_int8_psvr, _dis and _vr, other refinements; fovea_int8_fast, a
// half-size network with the patch search and the variational refinement) are
// vision::LearnedOpticalFlow on the model files given.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fovea/core/status.h"
#include "fovea/vision/optical_flow.h"

namespace fovea::flow_tool {

struct FlowMethod {
  std::string name;         // table row and JSON key
  std::string description;  // one line for --help
  std::function<Result<std::unique_ptr<vision::OpticalFlow>>()> make;
};

struct FlowMethodOptions {
  std::string fovea_fp32_model;       // --fovea-fp32 PATH
  std::string fovea_int8_model;       // --fovea-int8 PATH
  std::string fovea_int8_fast_model;  // --fovea-int8-fast PATH
  int threads = 1;  // the first --threads count: what the learned models compile for
};

std::vector<FlowMethod> flow_methods(const FlowMethodOptions& options);

}  // namespace fovea::flow_tool
