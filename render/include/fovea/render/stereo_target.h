#pragma once
// Two eyes' colour and depth as 2-layer texture arrays (layer 0 left, layer 1 right): the shape
// headset swapchains (OpenXR) hand out. With GL_OVR_multiview2 one framebuffer renders both
// layers in one pass; otherwise each eye has its own framebuffer and is drawn in turn.

#include <cstdint>

#include "fovea/core/status.h"
#include "fovea/render/gl.h"
#include "fovea/render/gpu_memory.h"
#include "fovea/render/image.h"

namespace fovea::render {

enum class StereoMode {
  kAuto,       // multiview where the context has GL_OVR_multiview2, two passes otherwise
  kMultiview,  // fails with kUnavailable where the context lacks GL_OVR_multiview2
  kTwoPass,
};

// Whether the current context can render both eyes in one pass (GL_OVR_multiview2 and
// glFramebufferTextureMultiviewOVR).
bool multiview_available();

class StereoTarget {
 public:
  static Result<StereoTarget> create(GpuMemoryLedger& ledger, int width, int height,
                                     StereoMode mode = StereoMode::kAuto);
  StereoTarget() = default;
  StereoTarget(StereoTarget&& other) noexcept;
  StereoTarget& operator=(StereoTarget&& other) noexcept;
  ~StereoTarget();

  bool multiview() const noexcept { return multiview_framebuffer_ != 0; }
  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  // GL_TEXTURE_2D_ARRAY, RGBA8, 2 layers: what a compositor or headset swapchain takes.
  GLuint color_texture() const noexcept { return color_; }

  // Binds eye 0 (left) or 1 (right) alone and sets the viewport to cover it.
  void bind_eye(int eye) const;
  // Binds the multiview framebuffer (both layers; multiview() only) and sets the viewport.
  void bind_multiview() const;
  // Waits for rendering and returns one eye's colour with rows top to bottom.
  ImageRgba8 read_back(int eye) const;

 private:
  void release() noexcept;
  GpuMemoryLedger* ledger_ = nullptr;
  GLuint color_ = 0;
  GLuint depth_ = 0;
  GLuint eye_framebuffers_[2] = {0, 0};
  GLuint multiview_framebuffer_ = 0;
  int width_ = 0;
  int height_ = 0;
  std::int64_t color_bytes_ = 0;
  std::int64_t depth_bytes_ = 0;
};

}  // namespace fovea::render
