#include "fovea/render/flow_texture.h"

#include <string>

namespace fovea::render {

Result<Texture2D> upload_flow_texture(GpuMemoryLedger& ledger, int width, int height,
                                      std::span<const std::uint8_t> rgba_bottom_up) {
  if (rgba_bottom_up.empty())
    return Status(ErrorCode::kInvalidArgument, "a flow texture needs its pixels");
  auto texture =
      Texture2D::create_rgba8(ledger, width, height, rgba_bottom_up, TextureFilter::kLinear);
  if (!texture.is_ok()) return texture.status().with_context("flow texture");
  // Texture2D repeats by default; an overlay stretched over a frame must not wrap at its edges.
  glBindTexture(GL_TEXTURE_2D, texture->id());
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  FOVEA_RETURN_IF_ERROR(check_gl_error("setting a flow texture's wrap mode"));
  return texture;
}

Status update_flow_texture(Texture2D& texture, std::span<const std::uint8_t> rgba_bottom_up) {
  if (texture.id() == 0)
    return Status(ErrorCode::kInvalidArgument, "update_flow_texture on an empty texture");
  const auto needed = static_cast<std::size_t>(texture.width()) * texture.height() * 4;
  if (rgba_bottom_up.size() != needed)
    return Status(ErrorCode::kInvalidArgument,
                  "a " + std::to_string(texture.width()) + "x" + std::to_string(texture.height()) +
                      " flow texture takes " + std::to_string(needed) + " bytes, got " +
                      std::to_string(rgba_bottom_up.size()) +
                      "; create a new texture when the frame size changes");
  glBindTexture(GL_TEXTURE_2D, texture.id());
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, texture.width(), texture.height(), GL_RGBA,
                  GL_UNSIGNED_BYTE, rgba_bottom_up.data());
  return check_gl_error("updating a flow texture");
}

}  // namespace fovea::render
