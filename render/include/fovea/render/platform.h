#pragma once
// One interface over the ways fovea gets an OpenGL ES 3 context: EGL surfaceless (Mesa llvmpipe,
// CI), EGL device (an NVIDIA GPU with no display) and a GLFW window (see window_platform.h).

#include <memory>
#include <string_view>

#include "fovea/core/status.h"
#include "fovea/render/context_info.h"
#include "fovea/render/gpu_memory.h"

namespace fovea::render {

enum class PlatformKind { kEglSurfaceless, kEglDevice, kGlfwWindow };

std::string_view platform_kind_name(PlatformKind kind) noexcept;
// Accepts "egl-surfaceless", "egl-device" and "window".
Result<PlatformKind> parse_platform_kind(std::string_view name);

struct DrawableSize {
  int width = 0;
  int height = 0;
};

class GlPlatform {
 public:
  virtual ~GlPlatform() = default;
  GlPlatform(const GlPlatform&) = delete;
  GlPlatform& operator=(const GlPlatform&) = delete;

  virtual PlatformKind kind() const noexcept = 0;
  virtual Status make_current() = 0;

  // The default framebuffer's size in pixels; {0, 0} when there is none (headless).
  virtual DrawableSize drawable_size() const { return {}; }
  // Shows the frame and processes window events; a no-op headless.
  virtual void present() {}
  virtual bool should_close() const { return false; }

  const ContextInfo& info() const noexcept { return info_; }
  GpuMemoryLedger& gpu_memory() noexcept { return gpu_memory_; }
  const GpuMemoryLedger& gpu_memory() const noexcept { return gpu_memory_; }

 protected:
  GlPlatform() = default;
  ContextInfo info_;
  GpuMemoryLedger gpu_memory_;
};

struct HeadlessOptions {
  PlatformKind kind = PlatformKind::kEglSurfaceless;
  // kEglDevice: which device of eglQueryDevicesEXT; -1 picks the first hardware device.
  int device_index = -1;
  // kEglDevice: accept Mesa's software device, so CI exercises the device path on llvmpipe.
  bool allow_software_device = false;
};

Result<std::unique_ptr<GlPlatform>> open_headless_platform(const HeadlessOptions& options);

// A hardware EGL device when the machine has one, otherwise surfaceless (llvmpipe).
Result<std::unique_ptr<GlPlatform>> open_best_headless_platform();

}  // namespace fovea::render
