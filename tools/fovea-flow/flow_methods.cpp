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
                             int threads, vision::FlowRefinement refine) {
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
      // fovea's flow as it ships (LearnedOpticalFlow's default): the network, then DIS's patch
      // inverse search from its flow at half the frame's size.
      {"fovea_fp32",
       "fovea's flow: the FP32 network on the inference core, refined by DIS's patch inverse "
       "search at 1/2 of the frame (--fovea-fp32 MODEL)",
       [model = options.fovea_fp32_model, threads = options.threads] {
         return make_learned_flow("fovea_fp32", model, "--fovea-fp32", threads,
                                  vision::FlowRefinement::kPatchSearch);
       }},
      {"fovea_int8",
       "fovea's flow: the INT8 network on the inference core, refined by DIS's patch inverse "
       "search at 1/2 of the frame (--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kPatchSearch);
       }},
      // The network alone and other refinements of it, to show what each part does.
      {"fovea_fp32_net", "the FP32 network's flow alone, upsampled (--fovea-fp32 MODEL)",
       [model = options.fovea_fp32_model, threads = options.threads] {
         return make_learned_flow("fovea_fp32_net", model, "--fovea-fp32", threads,
                                  vision::FlowRefinement::kNone);
       }},
      {"fovea_int8_net", "the INT8 network's flow alone, upsampled (--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8_net", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kNone);
       }},
      {"fovea_int8_psvr",
       "fovea_int8, then OpenCV's variational refinement at 1/4 of the frame "
       "(--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8_psvr", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kPatchSearchVariational);
       }},
      {"fovea_int8_dis",
       "the INT8 network's flow as the start of OpenCV DIS, fast preset (--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8_dis", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kDisFast);
       }},
      {"fovea_int8_vr",
       "the INT8 network's flow polished by OpenCV's variational refinement at 1/4 of the frame "
       "(--fovea-int8 MODEL)",
       [model = options.fovea_int8_model, threads = options.threads] {
         return make_learned_flow("fovea_int8_vr", model, "--fovea-int8", threads,
                                  vision::FlowRefinement::kVariational);
       }},
  };
}

}  // namespace fovea::flow_tool
