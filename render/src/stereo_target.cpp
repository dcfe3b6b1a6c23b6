#include "fovea/render/stereo_target.h"

#include <EGL/egl.h>

#include <cstdio>
#include <string>
#include <utility>

#include "fovea/render/context_info.h"
#include "fovea/render/gl_resources.h"

namespace fovea::render {
namespace {

// Every fovea context is made through EGL (GLFW uses its EGL context API), so extension entry
// points come from eglGetProcAddress.
PFNGLFRAMEBUFFERTEXTUREMULTIVIEWOVRPROC multiview_entry_point() {
  return reinterpret_cast<PFNGLFRAMEBUFFERTEXTUREMULTIVIEWOVRPROC>(
      eglGetProcAddress("glFramebufferTextureMultiviewOVR"));
}

Status framebuffer_complete(const char* what) {
  const GLenum completeness = glCheckFramebufferStatus(GL_FRAMEBUFFER);
  if (completeness == GL_FRAMEBUFFER_COMPLETE) return Status::ok();
  char code[16];
  std::snprintf(code, sizeof code, "0x%04x", completeness);
  return Status(ErrorCode::kUnavailable,
                std::string(what) + " is incomplete (glCheckFramebufferStatus " + code + ")");
}

}  // namespace

bool multiview_available() {
  const ContextInfo info = query_context_info();
  return info.caps.multiview2 && multiview_entry_point() != nullptr;
}

Result<StereoTarget> StereoTarget::create(GpuMemoryLedger& ledger, int width, int height,
                                          StereoMode mode) {
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  if (width < 1 || height < 1 || width > max_size || height > max_size)
    return Status(ErrorCode::kInvalidArgument, "stereo target of " + std::to_string(width) + "x" +
                                                   std::to_string(height) + " is outside 1.." +
                                                   std::to_string(max_size));
  const bool can_multiview = mode != StereoMode::kTwoPass && multiview_available();
  if (mode == StereoMode::kMultiview && !can_multiview)
    return Status(ErrorCode::kUnavailable,
                  "this GL context lacks GL_OVR_multiview2; use StereoMode::kTwoPass or kAuto");
  while (glGetError() != GL_NO_ERROR) {
  }
  StereoTarget target;
  target.ledger_ = &ledger;
  target.width_ = width;
  target.height_ = height;
  glGenTextures(1, &target.color_);
  glBindTexture(GL_TEXTURE_2D_ARRAY, target.color_);
  glTexStorage3D(GL_TEXTURE_2D_ARRAY, 1, GL_RGBA8, width, height, 2);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glGenTextures(1, &target.depth_);
  glBindTexture(GL_TEXTURE_2D_ARRAY, target.depth_);
  glTexStorage3D(GL_TEXTURE_2D_ARRAY, 1, GL_DEPTH_COMPONENT24, width, height, 2);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glBindTexture(GL_TEXTURE_2D_ARRAY, 0);
  target.color_bytes_ = std::int64_t{width} * height * 4 * 2;
  target.depth_bytes_ = std::int64_t{width} * height * 4 * 2;  // D24 is stored in 32 bits
  ledger.add(GpuResourceKind::kTexture, target.color_bytes_ + target.depth_bytes_);

  glGenFramebuffers(2, target.eye_framebuffers_);
  for (int eye = 0; eye < 2; ++eye) {
    glBindFramebuffer(GL_FRAMEBUFFER, target.eye_framebuffers_[eye]);
    glFramebufferTextureLayer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, target.color_, 0, eye);
    glFramebufferTextureLayer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, target.depth_, 0, eye);
    const Status complete = framebuffer_complete("a stereo target's eye framebuffer");
    if (!complete) {
      glBindFramebuffer(GL_FRAMEBUFFER, 0);
      return complete;
    }
  }
  if (can_multiview) {
    const auto attach = multiview_entry_point();
    glGenFramebuffers(1, &target.multiview_framebuffer_);
    glBindFramebuffer(GL_FRAMEBUFFER, target.multiview_framebuffer_);
    attach(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, target.color_, 0, 0, 2);
    attach(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, target.depth_, 0, 0, 2);
    const Status complete = framebuffer_complete("a stereo target's multiview framebuffer");
    if (!complete) {
      glBindFramebuffer(GL_FRAMEBUFFER, 0);
      return complete;
    }
  }
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  FOVEA_RETURN_IF_ERROR(check_gl_error("creating a stereo target"));
  return target;
}

StereoTarget::StereoTarget(StereoTarget&& other) noexcept {
  *this = std::move(other);
}

StereoTarget& StereoTarget::operator=(StereoTarget&& other) noexcept {
  if (this != &other) {
    release();
    ledger_ = std::exchange(other.ledger_, nullptr);
    color_ = std::exchange(other.color_, 0);
    depth_ = std::exchange(other.depth_, 0);
    eye_framebuffers_[0] = std::exchange(other.eye_framebuffers_[0], 0);
    eye_framebuffers_[1] = std::exchange(other.eye_framebuffers_[1], 0);
    multiview_framebuffer_ = std::exchange(other.multiview_framebuffer_, 0);
    width_ = std::exchange(other.width_, 0);
    height_ = std::exchange(other.height_, 0);
    color_bytes_ = std::exchange(other.color_bytes_, 0);
    depth_bytes_ = std::exchange(other.depth_bytes_, 0);
  }
  return *this;
}

StereoTarget::~StereoTarget() {
  release();
}

void StereoTarget::release() noexcept {
  if (multiview_framebuffer_ != 0) glDeleteFramebuffers(1, &multiview_framebuffer_);
  for (GLuint& framebuffer : eye_framebuffers_)
    if (framebuffer != 0) glDeleteFramebuffers(1, &framebuffer);
  if (color_ != 0) glDeleteTextures(1, &color_);
  if (depth_ != 0) glDeleteTextures(1, &depth_);
  if (ledger_ != nullptr) ledger_->remove(GpuResourceKind::kTexture, color_bytes_ + depth_bytes_);
  multiview_framebuffer_ = color_ = depth_ = 0;
  eye_framebuffers_[0] = eye_framebuffers_[1] = 0;
  ledger_ = nullptr;
  color_bytes_ = depth_bytes_ = 0;
}

void StereoTarget::bind_eye(int eye) const {
  glBindFramebuffer(GL_FRAMEBUFFER, eye_framebuffers_[eye == 0 ? 0 : 1]);
  glViewport(0, 0, width_, height_);
}

void StereoTarget::bind_multiview() const {
  glBindFramebuffer(GL_FRAMEBUFFER, multiview_framebuffer_);
  glViewport(0, 0, width_, height_);
}

ImageRgba8 StereoTarget::read_back(int eye) const {
  glBindFramebuffer(GL_FRAMEBUFFER, eye_framebuffers_[eye == 0 ? 0 : 1]);
  return read_framebuffer(0, 0, width_, height_);
}

}  // namespace fovea::render
