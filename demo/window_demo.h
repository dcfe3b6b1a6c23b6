#pragma once
#include "demo_options.h"

namespace fovea::demo {

// The interactive demo: a GLFW window, the built-in scene, an orbit camera on the mouse and a
// Dear ImGui panel.
Status run_window_demo(const DemoOptions& options);

}  // namespace fovea::demo
