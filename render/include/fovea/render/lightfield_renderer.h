#pragma once
// The light-field renderer (issue 4, "Re-ReND"): draws a LightFieldAsset's mesh, depth tested,
// shading it with one GLSL ES 3.00 fragment shader (shaders/lightfield.frag) that makes nearest
// texelFetch lookups, dequantises, takes k-term dot products and a sigmoid, exactly as
// docs/lightfield-asset.md's "Shading" says. It composes with other geometry: it writes depth
// and draws only where its surface is nearest, whatever was drawn before or after it.
//
//   auto lf = LightFieldRenderer::create(platform.gpu_memory(), asset);
//   target.bind();  lf->clear();  lf->draw(view, projection);   // mono
//   lf->draw_stereo(stereo_target, left, right);                 // both eyes

#include <cstdint>
#include <memory>

#include <glm/mat4x4.hpp>
#include <glm/vec3.hpp>
#include <glm/vec4.hpp>

#include "fovea/core/status.h"
#include "fovea/render/gl.h"
#include "fovea/render/gpu_memory.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/stereo_target.h"

namespace fovea::render {

// How the mesh becomes pixels. All three give the same picture (the same integer texels and
// the same sums); they differ in how often the light-field sum runs. A baked mesh has about a
// pixel per triangle and overlaps itself, so shading mesh fragments directly runs the sum for
// many fragments (and, on GPUs, whole 2x2 quads) that end up hidden or half empty.
enum class LightFieldPasses {
  // One pass: every mesh fragment that passes the depth test shades itself.
  kForward,
  // Depth first (colour off, empty shader), then the light-field pass with GL_LEQUAL.
  kDepthPrepass,
  // A texel pass writes each pixel's atlas texel and depth into a small G-buffer (RG16UI +
  // depth, the viewport's size); a full-screen pass then finds the pixel's view direction,
  // runs the sum once per covered pixel and writes colour and depth, depth tested against the
  // target. Both passes keep to the rectangle that the mesh's cluster boxes project to (a
  // scissor; the caller's own scissor box, where on, still limits what is drawn).
  kDeferred,
};
const char* lightfield_passes_name(LightFieldPasses passes) noexcept;

// Where the packed texels of one section texel lie: a `width` x `height` block of RGBA32UI
// texels, packed texel p at (p % width, p / width).
struct LightFieldBlock {
  int width = 1;
  int height = 1;
};

struct LightFieldRendererOptions {
  // The largest texture side to upload; 0 uses GL_MAX_TEXTURE_SIZE. A texture whose blocks
  // (below) make a longer side is split into tiles of whole blocks, stored as layers of the same
  // array texture, and the shader picks the tile from the integer texel coordinate. Tests force
  // small values.
  int max_texture_side = 0;
  // Build the GL_OVR_multiview2 programs (when the context has the extension) so draw_stereo
  // renders both eyes in one pass into a multiview StereoTarget. Multiview draws kForward or,
  // for the other two, kDepthPrepass.
  bool allow_multiview = true;
  LightFieldPasses passes = LightFieldPasses::kDeferred;
  // The block that each texel's packed texels form in the atlas and the direction map (see
  // LightFieldTextureLayout); {0, 0}, or one too small, takes the default. For tests and
  // measurements of other layouts: every block draws the same picture.
  LightFieldBlock atlas_block{0, 0};
  LightFieldBlock direction_block{0, 0};
};

// One eye: world-to-camera and projection as GL takes them. The eye's position (for the view
// direction d = normalize(x - e)) is the camera centre, inverse(view)'s translation.
struct EyeView {
  glm::mat4 view{1.0f};
  glm::mat4 projection{1.0f};
};

// How a texture section lies on the GPU: its RGBA8 layers packed four to a 128-bit texel
// (RGBA32UI: layer 4p + q is word q of packed texel p, R in the low byte); the `packed_layers`
// packed texels of section texel (i, j) side by side in a block at (i * block.width,
// j * block.height); in `tiles_x` x `tiles_y` tiles of `tile_width` x `tile_height` section
// texels (whole blocks), tile (tx, ty) being array layer ty * tiles_x + tx. The texture is
// (tile_width * block.width) x (tile_height * block.height) x tiles.
struct LightFieldTextureLayout {
  GLuint texture = 0;  // GL_TEXTURE_2D_ARRAY, RGBA32UI, nearest
  int width = 0;       // the section's full size
  int height = 0;
  int layers = 0;         // RGBA8 layers in the asset
  int packed_layers = 0;  // ceil(layers / 4): RGBA32UI texels per section texel
  LightFieldBlock block;  // block.width * block.height >= packed_layers
  int tile_width = 0;     // section texels per tile
  int tile_height = 0;
  int tiles_x = 1;
  int tiles_y = 1;
  bool tiled() const noexcept { return tiles_x * tiles_y > 1; }
};

class LightFieldRenderer {
 public:
  // Needs a current GL ES 3.0 context. Uploads the textures and mesh and counts their bytes in
  // `ledger` for the renderer's lifetime (and kDeferred's G-buffer while it exists).
  static Result<LightFieldRenderer> create(GpuMemoryLedger& ledger, const LightFieldAsset& asset,
                                           const LightFieldRendererOptions& options = {});
  LightFieldRenderer();
  LightFieldRenderer(LightFieldRenderer&& other) noexcept;
  LightFieldRenderer& operator=(LightFieldRenderer&& other) noexcept;
  ~LightFieldRenderer();

  // Clears the bound framebuffer's colour to the asset's background and its depth to 1.
  void clear() const;
  // Draws into the bound framebuffer and viewport (any size; kDeferred keeps a G-buffer of the
  // viewport's size). Leaves depth testing and writes on, culling and blending off, the colour
  // mask on and the framebuffer and viewport as they were; does not clear.
  void draw(const glm::mat4& view, const glm::mat4& projection) const;
  void draw(const EyeView& eye) const { draw(eye.view, eye.projection); }
  // Both eyes into `target`: one GL_OVR_multiview2 pass where both the target and this
  // renderer support it, otherwise a draw() per eye. Clears first when `clear_first`.
  Status draw_stereo(const StereoTarget& target, const EyeView& left, const EyeView& right,
                     bool clear_first = true) const;

  // Binds the mesh's vertex array and issues its draw calls with whatever program is bound
  // (attribute 0: vec3 world position, 1: vec2 atlas coordinates), for peers of the shader that
  // draw the same mesh (benchmarks). With `eye`, the mesh's spatial clusters go nearest first,
  // as the renderer sends them, so depth testing rejects hidden fragments early.
  void draw_mesh() const;
  void draw_mesh(const glm::vec3& eye) const;

  LightFieldPasses passes() const noexcept;
  bool has_multiview() const noexcept;
  const LightFieldTextureLayout& atlas() const noexcept;
  const LightFieldTextureLayout& direction_map() const noexcept;
  int k() const noexcept;
  int triangle_count() const noexcept;
  glm::vec4 background() const noexcept;
  // Bytes of the asset's textures and buffers on the GPU (also in the ledger).
  std::int64_t gpu_bytes() const noexcept { return texture_bytes() + buffer_bytes(); }
  std::int64_t texture_bytes() const noexcept;
  std::int64_t buffer_bytes() const noexcept;
  // kDeferred's G-buffer, 8 bytes per viewport pixel once drawn (0 before, and otherwise).
  std::int64_t scratch_bytes() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fovea::render
