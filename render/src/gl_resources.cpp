#include "fovea/render/gl_resources.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace fovea::render {
namespace {

const char* gl_error_name(GLenum error) {
  switch (error) {
    case GL_INVALID_ENUM:
      return "GL_INVALID_ENUM";
    case GL_INVALID_VALUE:
      return "GL_INVALID_VALUE";
    case GL_INVALID_OPERATION:
      return "GL_INVALID_OPERATION";
    case GL_INVALID_FRAMEBUFFER_OPERATION:
      return "GL_INVALID_FRAMEBUFFER_OPERATION";
    case GL_OUT_OF_MEMORY:
      return "GL_OUT_OF_MEMORY";
    default:
      return "unknown GL error";
  }
}

void drain_gl_errors() {
  // Errors left by someone else's call must not be blamed on the next resource.
  for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; ++i) {
  }
}

Status check_size(int width, int height, const char* what) {
  GLint max_size = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  if (width <= 0 || height <= 0 || width > max_size || height > max_size)
    return Status(ErrorCode::kInvalidArgument, std::string(what) + " of " + std::to_string(width) +
                                                   "x" + std::to_string(height) +
                                                   " is outside 1.." + std::to_string(max_size) +
                                                   " (this context's GL_MAX_TEXTURE_SIZE)");
  return Status::ok();
}

}  // namespace

Status check_gl_error(const char* what) {
  const GLenum error = glGetError();
  if (error == GL_NO_ERROR) return Status::ok();
  drain_gl_errors();
  return Status(error == GL_OUT_OF_MEMORY ? ErrorCode::kOutOfMemory : ErrorCode::kInternal,
                std::string(what) + " failed with " + gl_error_name(error));
}

// ---- Texture2D ----

Result<Texture2D> Texture2D::create_rgba8(GpuMemoryLedger& ledger, int width, int height,
                                          std::span<const std::uint8_t> pixels,
                                          TextureFilter filter) {
  FOVEA_RETURN_IF_ERROR(check_size(width, height, "RGBA8 texture"));
  const std::int64_t base_bytes = std::int64_t{width} * height * 4;
  if (!pixels.empty() && static_cast<std::int64_t>(pixels.size()) != base_bytes)
    return Status(ErrorCode::kInvalidArgument, "RGBA8 texture of " + std::to_string(width) + "x" +
                                                   std::to_string(height) + " needs " +
                                                   std::to_string(base_bytes) + " bytes, got " +
                                                   std::to_string(pixels.size()));
  drain_gl_errors();
  Texture2D texture;
  glGenTextures(1, &texture.texture_);
  glBindTexture(GL_TEXTURE_2D, texture.texture_);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
               pixels.empty() ? nullptr : pixels.data());
  const bool mipmapped = filter == TextureFilter::kLinearMipmapped;
  const GLint min_filter = filter == TextureFilter::kNearest ? GL_NEAREST
                           : mipmapped                       ? GL_LINEAR_MIPMAP_LINEAR
                                                             : GL_LINEAR;
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, min_filter);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER,
                  filter == TextureFilter::kNearest ? GL_NEAREST : GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_REPEAT);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_REPEAT);
  if (mipmapped) glGenerateMipmap(GL_TEXTURE_2D);
  FOVEA_RETURN_IF_ERROR(check_gl_error("creating an RGBA8 texture"));
  texture.ledger_ = &ledger;
  texture.width_ = width;
  texture.height_ = height;
  // A full mip chain adds a third of the base level.
  texture.bytes_ = mipmapped ? base_bytes * 4 / 3 : base_bytes;
  ledger.add(GpuResourceKind::kTexture, texture.bytes_);
  return texture;
}

Texture2D::Texture2D(Texture2D&& other) noexcept
    : ledger_(std::exchange(other.ledger_, nullptr)),
      texture_(std::exchange(other.texture_, 0)),
      width_(std::exchange(other.width_, 0)),
      height_(std::exchange(other.height_, 0)),
      bytes_(std::exchange(other.bytes_, 0)) {}

Texture2D& Texture2D::operator=(Texture2D&& other) noexcept {
  if (this != &other) {
    release();
    ledger_ = std::exchange(other.ledger_, nullptr);
    texture_ = std::exchange(other.texture_, 0);
    width_ = std::exchange(other.width_, 0);
    height_ = std::exchange(other.height_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

Texture2D::~Texture2D() {
  release();
}

void Texture2D::release() noexcept {
  if (texture_ != 0) glDeleteTextures(1, &texture_);
  if (ledger_ != nullptr) ledger_->remove(GpuResourceKind::kTexture, bytes_);
  texture_ = 0;
  ledger_ = nullptr;
  bytes_ = 0;
}

void Texture2D::bind(int unit) const {
  glActiveTexture(GL_TEXTURE0 + static_cast<GLenum>(unit));
  glBindTexture(GL_TEXTURE_2D, texture_);
}

// ---- MeshBuffer ----

Result<MeshBuffer> MeshBuffer::create(GpuMemoryLedger& ledger, const MeshData& mesh) {
  if (mesh.vertices.empty() || mesh.indices.empty() || mesh.indices.size() % 3 != 0)
    return Status(ErrorCode::kInvalidArgument,
                  "a mesh needs vertices and a multiple of 3 indices (got " +
                      std::to_string(mesh.vertices.size()) + " vertices, " +
                      std::to_string(mesh.indices.size()) + " indices)");
  for (std::uint32_t index : mesh.indices)
    if (index >= mesh.vertices.size())
      return Status(ErrorCode::kInvalidArgument,
                    "mesh index " + std::to_string(index) + " is past its " +
                        std::to_string(mesh.vertices.size()) + " vertices");
  drain_gl_errors();
  MeshBuffer buffer;
  glGenVertexArrays(1, &buffer.vertex_array_);
  glBindVertexArray(buffer.vertex_array_);
  glGenBuffers(1, &buffer.vertex_buffer_);
  glBindBuffer(GL_ARRAY_BUFFER, buffer.vertex_buffer_);
  const auto vertex_bytes = static_cast<GLsizeiptr>(mesh.vertices.size() * sizeof(MeshVertex));
  glBufferData(GL_ARRAY_BUFFER, vertex_bytes, mesh.vertices.data(), GL_STATIC_DRAW);
  glGenBuffers(1, &buffer.index_buffer_);
  glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, buffer.index_buffer_);
  const auto index_bytes = static_cast<GLsizeiptr>(mesh.indices.size() * sizeof(std::uint32_t));
  glBufferData(GL_ELEMENT_ARRAY_BUFFER, index_bytes, mesh.indices.data(), GL_STATIC_DRAW);
  const auto stride = static_cast<GLsizei>(sizeof(MeshVertex));
  glEnableVertexAttribArray(0);
  glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, stride,
                        reinterpret_cast<const void*>(offsetof(MeshVertex, position)));
  glEnableVertexAttribArray(1);
  glVertexAttribPointer(1, 3, GL_FLOAT, GL_FALSE, stride,
                        reinterpret_cast<const void*>(offsetof(MeshVertex, normal)));
  glEnableVertexAttribArray(2);
  glVertexAttribPointer(2, 2, GL_FLOAT, GL_FALSE, stride,
                        reinterpret_cast<const void*>(offsetof(MeshVertex, uv)));
  glBindVertexArray(0);
  FOVEA_RETURN_IF_ERROR(check_gl_error("creating mesh buffers"));
  buffer.ledger_ = &ledger;
  buffer.index_count_ = static_cast<int>(mesh.indices.size());
  buffer.bytes_ = vertex_bytes + index_bytes;
  ledger.add(GpuResourceKind::kBuffer, buffer.bytes_);
  return buffer;
}

MeshBuffer::MeshBuffer(MeshBuffer&& other) noexcept
    : ledger_(std::exchange(other.ledger_, nullptr)),
      vertex_array_(std::exchange(other.vertex_array_, 0)),
      vertex_buffer_(std::exchange(other.vertex_buffer_, 0)),
      index_buffer_(std::exchange(other.index_buffer_, 0)),
      index_count_(std::exchange(other.index_count_, 0)),
      bytes_(std::exchange(other.bytes_, 0)) {}

MeshBuffer& MeshBuffer::operator=(MeshBuffer&& other) noexcept {
  if (this != &other) {
    release();
    ledger_ = std::exchange(other.ledger_, nullptr);
    vertex_array_ = std::exchange(other.vertex_array_, 0);
    vertex_buffer_ = std::exchange(other.vertex_buffer_, 0);
    index_buffer_ = std::exchange(other.index_buffer_, 0);
    index_count_ = std::exchange(other.index_count_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

MeshBuffer::~MeshBuffer() {
  release();
}

void MeshBuffer::release() noexcept {
  if (vertex_array_ != 0) glDeleteVertexArrays(1, &vertex_array_);
  if (vertex_buffer_ != 0) glDeleteBuffers(1, &vertex_buffer_);
  if (index_buffer_ != 0) glDeleteBuffers(1, &index_buffer_);
  if (ledger_ != nullptr) ledger_->remove(GpuResourceKind::kBuffer, bytes_);
  vertex_array_ = vertex_buffer_ = index_buffer_ = 0;
  ledger_ = nullptr;
  bytes_ = 0;
}

void MeshBuffer::draw() const {
  glBindVertexArray(vertex_array_);
  glDrawElements(GL_TRIANGLES, index_count_, GL_UNSIGNED_INT, nullptr);
  glBindVertexArray(0);
}

// ---- OffscreenTarget ----

Result<OffscreenTarget> OffscreenTarget::create(GpuMemoryLedger& ledger, int width, int height) {
  auto color = Texture2D::create_rgba8(ledger, width, height, {}, TextureFilter::kNearest);
  if (!color) return color.status().with_context("off-screen target");
  OffscreenTarget target;
  target.ledger_ = &ledger;
  target.color_ = std::move(*color);
  glGenRenderbuffers(1, &target.depth_);
  glBindRenderbuffer(GL_RENDERBUFFER, target.depth_);
  glRenderbufferStorage(GL_RENDERBUFFER, GL_DEPTH_COMPONENT24, width, height);
  target.depth_bytes_ = std::int64_t{width} * height * 4;  // drivers store D24 in 32 bits
  ledger.add(GpuResourceKind::kRenderbuffer, target.depth_bytes_);
  glGenFramebuffers(1, &target.framebuffer_);
  glBindFramebuffer(GL_FRAMEBUFFER, target.framebuffer_);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, target.color_.id(),
                         0);
  glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, target.depth_);
  const GLenum completeness = glCheckFramebufferStatus(GL_FRAMEBUFFER);
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  FOVEA_RETURN_IF_ERROR(check_gl_error("creating an off-screen target"));
  if (completeness != GL_FRAMEBUFFER_COMPLETE) {
    char code[16];
    std::snprintf(code, sizeof code, "0x%04x", completeness);
    return Status(
        ErrorCode::kUnavailable,
        std::string("off-screen target is incomplete (glCheckFramebufferStatus ") + code + ")");
  }
  return target;
}

OffscreenTarget::OffscreenTarget(OffscreenTarget&& other) noexcept
    : ledger_(std::exchange(other.ledger_, nullptr)),
      color_(std::move(other.color_)),
      depth_(std::exchange(other.depth_, 0)),
      framebuffer_(std::exchange(other.framebuffer_, 0)),
      depth_bytes_(std::exchange(other.depth_bytes_, 0)) {}

OffscreenTarget& OffscreenTarget::operator=(OffscreenTarget&& other) noexcept {
  if (this != &other) {
    release();
    ledger_ = std::exchange(other.ledger_, nullptr);
    color_ = std::move(other.color_);
    depth_ = std::exchange(other.depth_, 0);
    framebuffer_ = std::exchange(other.framebuffer_, 0);
    depth_bytes_ = std::exchange(other.depth_bytes_, 0);
  }
  return *this;
}

OffscreenTarget::~OffscreenTarget() {
  release();
}

void OffscreenTarget::release() noexcept {
  if (framebuffer_ != 0) glDeleteFramebuffers(1, &framebuffer_);
  if (depth_ != 0) glDeleteRenderbuffers(1, &depth_);
  if (ledger_ != nullptr) ledger_->remove(GpuResourceKind::kRenderbuffer, depth_bytes_);
  framebuffer_ = depth_ = 0;
  ledger_ = nullptr;
  depth_bytes_ = 0;
  color_ = Texture2D();
}

void OffscreenTarget::bind() const {
  glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_);
  glViewport(0, 0, color_.width(), color_.height());
}

ImageRgba8 OffscreenTarget::read_back() const {
  glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_);
  return read_framebuffer(0, 0, color_.width(), color_.height());
}

ImageRgba8 read_framebuffer(int x, int y, int width, int height) {
  ImageRgba8 image(width, height);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(x, y, width, height, GL_RGBA, GL_UNSIGNED_BYTE, image.pixels.data());
  // GL's rows run bottom to top; images everywhere else run top to bottom.
  const size_t row = static_cast<size_t>(width) * 4;
  std::vector<std::uint8_t> swap(row);
  for (int top = 0, bottom = height - 1; top < bottom; ++top, --bottom) {
    std::memcpy(swap.data(), image.pixel(0, top), row);
    std::memcpy(image.pixel(0, top), image.pixel(0, bottom), row);
    std::memcpy(image.pixel(0, bottom), swap.data(), row);
  }
  return image;
}

}  // namespace fovea::render
