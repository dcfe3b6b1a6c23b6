#include "flow_methods.h"

#include "fovea/vision/dis_optical_flow.h"
#include "fovea/vision/learned_optical_flow.h"
#include "zero_flow.h"

namespace fovea::flow_tool {
namespace {

using MakeResult = Result<std::unique_ptr<vision::OpticalFlow>>;

MakeResult make_dis(vision::DisPreset preset) {
  return std::unique_ptr<vision::OpticalFlow>(std::make_unique<vision::DisOpticalFlow>(preset));
}

// kUnavailable (a row marked "not available") when no model was given; a model that was given
// but does not load is another error, which stops the tool.
MakeResult make_learned_flow(const std::string& name, const std::string& model, const char* option,
                             int threads,
                             vision::FlowRefinement refine = vision::FlowRefinement::kNone) {
  if (model.empty())
    return Status(ErrorCode::kUnavailable, std::string("no model given (") + option + " PATH)");
  vision::LearnedOpticalFlow::Options options;
  options.name = name;
  options.threads = threads;
  options.refine = refine;
  auto flow = vision::LearnedOpticalFlow::load(model, options);
  if (!flow.is_ok()) return flow.status();
  return std::unique_ptr<vision::OpticalFlow>(std::move(*flow));
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
       [model = options.fovea_fp32_model, threads = options.threads] {
         return make_learned_flow("fovea_fp32", model, "--fovea-fp32", threads);
       }},
      {"fovea_int8", "fovea's learned flow on the inference core, INT8 (--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8", model, "--fovea-int8", threads);
       }},
      {"fovea_int8_dis",
       "the INT8 learned flow as the start of OpenCV DIS, fast preset (--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8_dis", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kDisFast);
       }},
      {"fovea_int8_vr",
       "the INT8 learned flow polished by OpenCV's variational refinement at 1/4 of the frame "
       "(--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8_vr", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kVariational);
       }},
  };
}

}  // namespace fovea::flow_tool
