#include "demo_options.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fovea::demo {

const char* const kDemoUsage = R"(usage: fovea-demo [options]

With a display, opens a window: the lego light field (baked by models/lightfield) with an orbit
camera (drag to orbit, scroll to zoom) and a panel with the renderer, frame times and the GPU
memory gauge. Without one, renders an orbit to PNG frames plus report.json and exits.
--scene flow plays a video instead and shows each frame's optical flow beside it.

options:
  --window | --headless  force a mode (default: window when DISPLAY or WAYLAND_DISPLAY is set)
  --frames N             exit after N frames (headless default: 36, one orbit)
  --size WxH             window or image size (default 1280x720 window, 640x480 headless)
  --out DIR              headless output folder (default: out)
  --platform NAME        headless GL platform: auto, egl-surfaceless or egl-device
  --screenshot PATH      window: save the last frame, panel included, as a PNG
  --gpu-budget-mb N      the budget the memory gauge measures against (default 256)
  --scene NAME           lightfield (default when the asset loads), builtin (lit meshes) or
                         flow (a video and its optical flow, computed on the CPU)
  --asset PATH           a .fvlf light field to show instead of the lego one
  --video PATH           flow: the video (default: opencv-doc's vtest.avi); it loops
  --flow-model PATH      flow: an INT8 flow .fvm (default: models/flow/flow_int8.fvm)
  --flow-method NAME     flow: fovea (the INT8 network with patch search, default), fast
                         (the half-size INT8 network, patch search and variational
                         refinement: about DIS fast's time) or dis (OpenCV DIS fast); the
                         window's panel switches between them
)";

Result<DemoOptions> parse_demo_options(int argc, char** argv) {
  DemoOptions options;
  auto invalid = [](const std::string& message) {
    return Status(ErrorCode::kInvalidArgument, message + " (see --help)");
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      continue;
    }
    if (arg == "--window") {
      options.mode = DemoOptions::Mode::kWindow;
      continue;
    }
    if (arg == "--headless") {
      options.mode = DemoOptions::Mode::kHeadless;
      continue;
    }
    if (i + 1 >= argc) return invalid("missing value after " + std::string(arg));
    const char* value = argv[++i];
    char* end = nullptr;
    if (arg == "--frames") {
      const long frames = std::strtol(value, &end, 10);
      if (end == value || *end != '\0' || frames < 1 || frames > 10000000)
        return invalid("--frames takes a number from 1");
      options.frames = static_cast<int>(frames);
    } else if (arg == "--size") {
      char tail = 0;
      if (std::sscanf(value, "%dx%d%c", &options.width, &options.height, &tail) != 2 ||
          options.width < 16 || options.height < 16 || options.width > 8192 ||
          options.height > 8192)
        return invalid("--size takes WxH with each side in 16..8192");
    } else if (arg == "--out") {
      options.out_dir = value;
    } else if (arg == "--platform") {
      options.platform = value;
    } else if (arg == "--scene") {
      options.scene = value;
      if (options.scene != "lightfield" && options.scene != "builtin" && options.scene != "flow")
        return invalid("--scene takes lightfield, builtin or flow");
    } else if (arg == "--asset") {
      options.asset = value;
    } else if (arg == "--video") {
      options.video = value;
    } else if (arg == "--flow-model") {
      options.flow_model = value;
    } else if (arg == "--flow-method") {
      options.flow_method = value;
      if (options.flow_method != "fovea" && options.flow_method != "fast" &&
          options.flow_method != "dis")
        return invalid("--flow-method takes fovea, fast or dis");
    } else if (arg == "--screenshot") {
      options.screenshot = value;
    } else if (arg == "--gpu-budget-mb") {
      options.gpu_budget_mb = std::strtod(value, &end);
      if (end == value || *end != '\0' || !(options.gpu_budget_mb > 0.0))
        return invalid("--gpu-budget-mb takes a positive number");
    } else {
      return invalid("unknown option " + std::string(arg));
    }
  }
  return options;
}

}  // namespace fovea::demo
