#pragma once
// Move-only owners of GL objects. Each counts its bytes in a GpuMemoryLedger for as long as it
// lives, and each creation checks sizes against the context's limits before touching the driver.

#include <cstdint>
#include <span>

#include "fovea/core/status.h"
#include "fovea/render/gl.h"
#include "fovea/render/gpu_memory.h"
#include "fovea/render/image.h"
#include "fovea/render/mesh_data.h"

namespace fovea::render {

enum class TextureFilter { kNearest, kLinear, kLinearMipmapped };

class Texture2D {
 public:
  // `pixels` is width*height*4 bytes of RGBA8 rows bottom to top (GL's order), or empty.
  static Result<Texture2D> create_rgba8(GpuMemoryLedger& ledger, int width, int height,
                                        std::span<const std::uint8_t> pixels, TextureFilter filter);
  Texture2D() = default;
  Texture2D(Texture2D&& other) noexcept;
  Texture2D& operator=(Texture2D&& other) noexcept;
  ~Texture2D();

  GLuint id() const noexcept { return texture_; }
  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  std::int64_t bytes() const noexcept { return bytes_; }
  void bind(int unit) const;

 private:
  void release() noexcept;
  GpuMemoryLedger* ledger_ = nullptr;
  GLuint texture_ = 0;
  int width_ = 0;
  int height_ = 0;
  std::int64_t bytes_ = 0;
};

// A mesh's vertex and index buffers behind one vertex array object.
class MeshBuffer {
 public:
  static Result<MeshBuffer> create(GpuMemoryLedger& ledger, const MeshData& mesh);
  MeshBuffer() = default;
  MeshBuffer(MeshBuffer&& other) noexcept;
  MeshBuffer& operator=(MeshBuffer&& other) noexcept;
  ~MeshBuffer();

  void draw() const;
  std::int64_t bytes() const noexcept { return bytes_; }
  int index_count() const noexcept { return index_count_; }

 private:
  void release() noexcept;
  GpuMemoryLedger* ledger_ = nullptr;
  GLuint vertex_array_ = 0;
  GLuint vertex_buffer_ = 0;
  GLuint index_buffer_ = 0;
  int index_count_ = 0;
  std::int64_t bytes_ = 0;
};

// An off-screen RGBA8 colour target with a 24-bit depth buffer.
class OffscreenTarget {
 public:
  static Result<OffscreenTarget> create(GpuMemoryLedger& ledger, int width, int height);
  OffscreenTarget() = default;
  OffscreenTarget(OffscreenTarget&& other) noexcept;
  OffscreenTarget& operator=(OffscreenTarget&& other) noexcept;
  ~OffscreenTarget();

  // Binds the framebuffer and sets the viewport to cover it.
  void bind() const;
  // Waits for rendering and returns the colour buffer with rows top to bottom.
  ImageRgba8 read_back() const;

  GLuint framebuffer() const noexcept { return framebuffer_; }
  GLuint color_texture() const noexcept { return color_.id(); }
  int width() const noexcept { return color_.width(); }
  int height() const noexcept { return color_.height(); }

 private:
  void release() noexcept;
  GpuMemoryLedger* ledger_ = nullptr;
  Texture2D color_;
  GLuint depth_ = 0;
  GLuint framebuffer_ = 0;
  std::int64_t depth_bytes_ = 0;
};

// Reads the currently bound framebuffer's pixels (x, y from the bottom-left) top to bottom.
ImageRgba8 read_framebuffer(int x, int y, int width, int height);

// Turns a pending GL error into a Status naming `what`; OK when there is none.
Status check_gl_error(const char* what);

}  // namespace fovea::render
