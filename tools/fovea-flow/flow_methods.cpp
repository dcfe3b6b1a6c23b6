#include "flow_methods.h"

#include "fovea/vision/dis_optical_flow.h"
#include "zero_flow.h"

namespace fovea::flow_tool {
namespace {

using MakeResult = Result<std::unique_ptr<vision::OpticalFlow>>;

MakeResult make_dis(vision::DisPreset preset) {
  return std::unique_ptr<vision::OpticalFlow>(std::make_unique<vision::DisOpticalFlow>(preset));
}

// The learned model's factory until it lands (issue 5, second half): it will load `model`
// (.fvm) onto the inference core and return its OpticalFlow.
MakeResult make_learned_flow(const std::string& model, const char* option) {
  if (model.empty())
    return Status(ErrorCode::kUnavailable, std::string("no model given (") + option + " PATH)");
  return Status(ErrorCode::kUnavailable,
                "the learned flow model is not built yet; '" + model + "' was not loaded");
}

}  // namespace

std::vector<FlowMethod> flow_methods(const FlowMethodOptions& options) {
  return {
      {"zero", "zero flow: the no-motion baseline",
       [] {
         return MakeResult(std::unique_ptr<vision::OpticalFlow>(std::make_unique<ZeroFlow>()));
       }},
      {"dis_ultrafast", "OpenCV DIS, ultrafast preset",
       [] { return make_dis(vision::DisPreset::kUltrafast); }},
      {"dis_fast", "OpenCV DIS, fast preset", [] { return make_dis(vision::DisPreset::kFast); }},
      {"dis_medium", "OpenCV DIS, medium preset",
       [] { return make_dis(vision::DisPreset::kMedium); }},
      {"fovea_fp32", "fovea's learned flow on the inference core, FP32 (--fovea-fp32 MODEL)",
       [model = options.fovea_fp32_model] { return make_learned_flow(model, "--fovea-fp32"); }},
      {"fovea_int8", "fovea's learned flow on the inference core, INT8 (--fovea-int8 MODEL)",
       [model = options.fovea_int8_model] { return make_learned_flow(model, "--fovea-int8"); }},
  };
}

}  // namespace fovea::flow_tool
