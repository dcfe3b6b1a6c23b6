#pragma once
#include <string>

#include "fovea/core/status.h"

namespace fovea::demo {

struct DemoOptions {
  enum class Mode { kAuto, kWindow, kHeadless };
  Mode mode = Mode::kAuto;
  int frames = -1;  // -1: the mode's default (window: until closed; headless: one orbit)
  int width = 0;    // 0: the mode's default
  int height = 0;
  std::string out_dir = "out";
  std::string platform = "auto";  // headless: auto, egl-surfaceless or egl-device
  std::string screenshot;         // window: save the last frame, panel included, as PNG
  double gpu_budget_mb = 256.0;
  std::string scene = "auto";  // auto (lego light field if it loads), lightfield, builtin or flow
  std::string asset;           // a .fvlf file instead of models/lightfield/assets/lego.fvlf
  std::string video;           // flow: a video instead of opencv-doc's vtest.avi
  std::string flow_model;      // flow: an INT8 flow .fvm instead of models/flow/flow_int8.fvm
  std::string flow_method = "fovea";  // flow: fovea, fast (half-size network) or dis (DIS fast)
  bool help = false;
};

extern const char* const kDemoUsage;

Result<DemoOptions> parse_demo_options(int argc, char** argv);

}  // namespace fovea::demo
