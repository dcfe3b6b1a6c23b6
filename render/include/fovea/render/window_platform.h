#pragma once
// The windowed platform: GLFW with its EGL context API and an OpenGL ES 3.0 context, so the
// window runs the same shaders as the headless platforms and the headsets.

#include <memory>
#include <string>

#include "fovea/render/platform.h"

struct GLFWwindow;

namespace fovea::render {

struct WindowOptions {
  std::string title = "fovea";
  int width = 1280;
  int height = 720;
  bool vsync = true;
  bool visible = true;
};

class WindowPlatform : public GlPlatform {
 public:
  virtual GLFWwindow* native_window() const noexcept = 0;
};

Result<std::unique_ptr<WindowPlatform>> open_window_platform(const WindowOptions& options);

// True when a display server looks reachable (DISPLAY or WAYLAND_DISPLAY is set).
bool display_available();

}  // namespace fovea::render
