// fovea-demo: the interactive demo with a display, an image-writing run without one.

#include <cstdio>

#include "demo_options.h"
#include "fovea/render/window_platform.h"
#include "headless_demo.h"
#include "window_demo.h"

int main(int argc, char** argv) {
  using fovea::demo::DemoOptions;
  auto options = fovea::demo::parse_demo_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "fovea-demo: %s\n", options.status().message().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(fovea::demo::kDemoUsage, stdout);
    return 0;
  }
  DemoOptions::Mode mode = options->mode;
  if (mode == DemoOptions::Mode::kAuto)
    mode = fovea::render::display_available() ? DemoOptions::Mode::kWindow
                                              : DemoOptions::Mode::kHeadless;
  fovea::Status status = mode == DemoOptions::Mode::kWindow
                             ? fovea::demo::run_window_demo(*options)
                             : fovea::demo::run_headless_demo(*options);
  // A display that is set but unreachable should not stop someone who just typed `make demo`.
  if (!status.is_ok() && options->mode == DemoOptions::Mode::kAuto &&
      mode == DemoOptions::Mode::kWindow && status.code() == fovea::ErrorCode::kUnavailable) {
    std::fprintf(stderr, "fovea-demo: %s\nfovea-demo: running headless instead\n",
                 status.message().c_str());
    status = fovea::demo::run_headless_demo(*options);
  }
  if (!status.is_ok()) {
    std::fprintf(stderr, "fovea-demo: %s\n", status.to_string().c_str());
    return 1;
  }
  return 0;
}
