#include "fovea/render/window_platform.h"

#include <GLFW/glfw3.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace fovea::render {
namespace {

// GLFW reports errors through one process-wide callback; keep the latest for our messages.
std::mutex glfw_error_mutex;
std::string glfw_last_error;

void record_glfw_error(int code, const char* description) {
  std::lock_guard lock(glfw_error_mutex);
  glfw_last_error = "GLFW error " + std::to_string(code) + ": " + (description ? description : "");
}

std::string take_glfw_error() {
  std::lock_guard lock(glfw_error_mutex);
  std::string text = glfw_last_error.empty() ? "no detail from GLFW" : glfw_last_error;
  glfw_last_error.clear();
  return text;
}

class GlfwWindowPlatform final : public WindowPlatform {
 public:
  explicit GlfwWindowPlatform(GLFWwindow* window) : window_(window) {}
  ~GlfwWindowPlatform() override {
    if (window_ != nullptr) glfwDestroyWindow(window_);
    glfwTerminate();
  }

  PlatformKind kind() const noexcept override { return PlatformKind::kGlfwWindow; }
  GLFWwindow* native_window() const noexcept override { return window_; }

  Status make_current() override {
    glfwMakeContextCurrent(window_);
    return Status::ok();
  }

  DrawableSize drawable_size() const override {
    DrawableSize size;
    glfwGetFramebufferSize(window_, &size.width, &size.height);
    return size;
  }

  void present() override {
    glfwSwapBuffers(window_);
    glfwPollEvents();
  }

  bool should_close() const override { return glfwWindowShouldClose(window_) != 0; }

  void capture_info() { info_ = query_context_info(); }

 private:
  GLFWwindow* window_ = nullptr;
};

}  // namespace

bool display_available() {
  const char* x11 = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (x11 != nullptr && *x11 != '\0') || (wayland != nullptr && *wayland != '\0');
}

Result<std::unique_ptr<WindowPlatform>> open_window_platform(const WindowOptions& options) {
  if (options.width <= 0 || options.height <= 0 || options.width > 16384 || options.height > 16384)
    return Status(ErrorCode::kInvalidArgument, "window size " + std::to_string(options.width) +
                                                   "x" + std::to_string(options.height) +
                                                   " is outside 1..16384");
  if (!display_available())
    return Status(ErrorCode::kUnavailable,
                  "no display (DISPLAY and WAYLAND_DISPLAY are unset); run headless instead");
  glfwSetErrorCallback(record_glfw_error);
  if (!glfwInit())
    return Status(ErrorCode::kUnavailable, "GLFW could not start: " + take_glfw_error());
  glfwDefaultWindowHints();
  // EGL + GLES keeps the window on the same API as the headless and headset paths.
  glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
  glfwWindowHint(GLFW_CONTEXT_CREATION_API, GLFW_EGL_CONTEXT_API);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  glfwWindowHint(GLFW_DEPTH_BITS, 24);
  glfwWindowHint(GLFW_VISIBLE, options.visible ? GLFW_TRUE : GLFW_FALSE);
  GLFWwindow* window =
      glfwCreateWindow(options.width, options.height, options.title.c_str(), nullptr, nullptr);
  if (window == nullptr) {
    std::string detail = take_glfw_error();
    glfwTerminate();
    return Status(ErrorCode::kUnavailable,
                  "could not open an OpenGL ES 3.0 window through EGL: " + detail);
  }
  auto platform = std::make_unique<GlfwWindowPlatform>(window);
  FOVEA_RETURN_IF_ERROR(platform->make_current());
  glfwSwapInterval(options.vsync ? 1 : 0);
  platform->capture_info();
  if (platform->info().major < 3)
    return Status(ErrorCode::kUnavailable, "the window's context is OpenGL ES " +
                                               platform->info().version + "; fovea needs 3.0");
  return std::unique_ptr<WindowPlatform>(std::move(platform));
}

}  // namespace fovea::render
