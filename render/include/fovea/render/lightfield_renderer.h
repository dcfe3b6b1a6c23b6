#pragma once
// The light-field renderer (issue 4, "Re-ReND"): draws a LightFieldAsset's mesh once, depth
// tested, with one GLSL ES 3.00 fragment shader (shaders/lightfield.frag) that makes nearest
// texelFetch lookups, dequantises, takes k-term dot products and a sigmoid, exactly as
// docs/lightfield-asset.md's "Shading" says. It composes with other geometry: it writes depth
// and draws only where its surface is nearest.
//
//   auto lf = LightFieldRenderer::create(platform.gpu_memory(), asset);
//   target.bind();  lf->clear();  lf->draw(view, projection);   // mono
//   lf->draw_stereo(stereo_target, left, right);                 // both eyes

#include <cstdint>

#include <glm/mat4x4.hpp>
#include <glm/vec2.hpp>
#include <glm/vec4.hpp>

#include "fovea/core/status.h"
#include "fovea/render/gl.h"
#include "fovea/render/gpu_memory.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/shader_program.h"
#include "fovea/render/stereo_target.h"

namespace fovea::render {

struct LightFieldRendererOptions {
  // The largest texture side to upload; 0 uses GL_MAX_TEXTURE_SIZE. A texture with a longer
  // side is split into tiles, stored as extra layers of the same array texture, and the shader
  // picks the tile from the integer texel coordinate. Tests force small values.
  int max_texture_side = 0;
  // Build the GL_OVR_multiview2 program (when the context has the extension) so draw_stereo
  // renders both eyes in one pass into a multiview StereoTarget.
  bool allow_multiview = true;
};

// One eye: world-to-camera and projection as GL takes them. The eye's position (for the view
// direction d = normalize(x - e)) is the camera centre, inverse(view)'s translation.
struct EyeView {
  glm::mat4 view{1.0f};
  glm::mat4 projection{1.0f};
};

// How a texture section lies on the GPU: `tiles_x` x `tiles_y` tiles of `tile_width` x
// `tile_height` texels; layer l of tile (tx, ty) is array layer (ty * tiles_x + tx) * L + l.
struct LightFieldTextureLayout {
  GLuint texture = 0;  // GL_TEXTURE_2D_ARRAY, RGBA8, nearest
  int width = 0;       // the section's full size
  int height = 0;
  int layers = 0;
  int tile_width = 0;
  int tile_height = 0;
  int tiles_x = 1;
  int tiles_y = 1;
  bool tiled() const noexcept { return tiles_x * tiles_y > 1; }
};

class LightFieldRenderer {
 public:
  // Needs a current GL ES 3.0 context. Uploads the textures and mesh and counts their bytes in
  // `ledger` for the renderer's lifetime.
  static Result<LightFieldRenderer> create(GpuMemoryLedger& ledger, const LightFieldAsset& asset,
                                           const LightFieldRendererOptions& options = {});
  LightFieldRenderer() = default;
  LightFieldRenderer(LightFieldRenderer&& other) noexcept;
  LightFieldRenderer& operator=(LightFieldRenderer&& other) noexcept;
  ~LightFieldRenderer();

  // Clears the bound framebuffer's colour to the asset's background and its depth to 1.
  void clear() const;
  // Draws into the bound framebuffer and viewport. Turns depth testing (GL_LESS) and depth
  // writes on and face culling and blending off; does not clear.
  void draw(const glm::mat4& view, const glm::mat4& projection) const;
  void draw(const EyeView& eye) const { draw(eye.view, eye.projection); }
  // Both eyes into `target`: one GL_OVR_multiview2 pass where both the target and this
  // renderer support it, otherwise two passes. Clears first when `clear_first`.
  Status draw_stereo(const StereoTarget& target, const EyeView& left, const EyeView& right,
                     bool clear_first = true) const;

  // Binds the mesh's vertex array and issues its draw call with whatever program is bound
  // (attribute 0: vec3 world position, 1: vec2 atlas coordinates). For peers of the shader
  // that draw the same mesh (benchmarks).
  void draw_mesh() const;

  bool has_multiview() const noexcept { return multiview_program_.id() != 0; }
  const LightFieldTextureLayout& atlas() const noexcept { return atlas_; }
  const LightFieldTextureLayout& direction_map() const noexcept { return directions_; }
  int k() const noexcept { return k_; }
  int triangle_count() const noexcept { return triangles_; }
  glm::vec4 background() const noexcept { return background_; }
  // Bytes of textures and buffers this renderer holds (also in the ledger).
  std::int64_t gpu_bytes() const noexcept { return texture_bytes_ + buffer_bytes_; }
  std::int64_t texture_bytes() const noexcept { return texture_bytes_; }
  std::int64_t buffer_bytes() const noexcept { return buffer_bytes_; }

 private:
  void bind_textures() const;
  void release() noexcept;

  GpuMemoryLedger* ledger_ = nullptr;
  ShaderProgram program_;
  ShaderProgram multiview_program_;
  LightFieldTextureLayout atlas_;
  LightFieldTextureLayout directions_;
  GLuint vertex_array_ = 0;
  GLuint vertex_buffer_ = 0;
  GLuint index_buffer_ = 0;
  GLint view_projection_location_ = -1;
  GLint eye_location_ = -1;
  GLint multiview_view_projections_location_ = -1;
  GLint multiview_eyes_location_ = -1;
  int k_ = 0;
  int triangles_ = 0;
  glm::vec4 background_{1.0f};
  std::int64_t texture_bytes_ = 0;
  std::int64_t buffer_bytes_ = 0;
};

}  // namespace fovea::render
