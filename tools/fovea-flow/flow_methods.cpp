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
  // The table's "2t ms" column means two threads, also when the machine is busy.
  options.adaptive_threads = false;
  auto flow = vision::LearnedOpticalFlow::load(model, options);
  if (!flow.is_ok()) return flow.status();
  return std::unique_ptr<vision::OpticalFlow>(std::move(*flow));
}

enum class Precision { kFp32, kInt8 };

// A row of the learned model given with --fovea-fp32 or --fovea-int8, refined as `refine` says.
FlowMethod learned_row(const std::string& name, Precision precision, vision::FlowRefinement refine,
                       const std::string& description, const FlowMethodOptions& options) {
  const bool int8 = precision == Precision::kInt8;
  const char* option = int8 ? "--fovea-int8" : "--fovea-fp32";
  return {name, description + " (" + option + " MODEL)",
          [name, option, refine, threads = options.threads,
           model = int8 ? options.fovea_int8_model : options.fovea_fp32_model] {
            return make_learned_flow(name, model, option, threads, refine);
          }};
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
      learned_row("fovea_fp32", Precision::kFp32, vision::FlowRefinement::kPatchSearch,
                  "fovea's flow: the FP32 network on the inference core, refined by DIS's patch "
                  "inverse search at 1/2 of the frame",
                  options),
      learned_row("fovea_int8", Precision::kInt8, vision::FlowRefinement::kPatchSearch,
                  "fovea's flow: the INT8 network on the inference core, refined by DIS's patch "
                  "inverse search at 1/2 of the frame",
                  options),
      // The network alone and other refinements of it, to show what each part does.
      learned_row("fovea_fp32_net", Precision::kFp32, vision::FlowRefinement::kNone,
                  "the FP32 network's flow alone, upsampled", options),
      learned_row("fovea_int8_net", Precision::kInt8, vision::FlowRefinement::kNone,
                  "the INT8 network's flow alone, upsampled", options),
      learned_row("fovea_int8_psvr", Precision::kInt8,
                  vision::FlowRefinement::kPatchSearchVariational,
                  "fovea_int8, then OpenCV's variational refinement at 1/4 of the frame", options),
      learned_row("fovea_int8_dis", Precision::kInt8, vision::FlowRefinement::kDisFast,
                  "the INT8 network's flow as the start of OpenCV DIS, fast preset", options),
      learned_row("fovea_int8_vr", Precision::kInt8, vision::FlowRefinement::kVariational,
                  "the INT8 network's flow polished by OpenCV's variational refinement at 1/4 of "
                  "the frame",
                  options),
      // A faster configuration: the same weights exported at half the input size
      // (models/flow/flow_int8_224x512.fvm), refined by the patch search and the variational
      // refinement (models/flow/README.md, session 7).
      {"fovea_int8_fast",
       "fovea's fast configuration: the half-size INT8 network, DIS's patch inverse search at "
       "1/2 and the variational refinement at 1/4 (--fovea-int8-fast MODEL)",
       [threads = options.threads, model = options.fovea_int8_fast_model] {
         return make_learned_flow("fovea_int8_fast", model, "--fovea-int8-fast", threads,
                                  vision::FlowRefinement::kPatchSearchVariational);
       }},
  };
}

}  // namespace fovea::flow_tool
