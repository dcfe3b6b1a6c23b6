#pragma once
#include "demo_options.h"

namespace fovea::demo {

// Renders an orbit of the built-in scene off-screen, writes frame_NNNN.png files and
// report.json (renderer, resolution, frames, frame time median and p95) to options.out_dir.
Status run_headless_demo(const DemoOptions& options);

}  // namespace fovea::demo
