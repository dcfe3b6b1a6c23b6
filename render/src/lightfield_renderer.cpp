#include "fovea/render/lightfield_renderer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <glm/gtc/type_precision.hpp>
#include <glm/gtc/type_ptr.hpp>

#include "fovea/render/gl_resources.h"
#include "fovea/render/shader_program.h"
#include "fovea/shaders/embedded.h"

namespace fovea::render {
namespace {

void drain_gl_errors() {
  for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; ++i) {
  }
}

// The embedded shader `name` with `defines` after its preamble.
Result<std::string> shader_with_defines(std::string_view name, const std::string& defines) {
  auto source = shaders::find(name);
  if (!source)
    return Status(ErrorCode::kNotFound,
                  "no embedded shader named '" + std::string(name) + "' (is it in shaders/?)");
  auto text = insert_after_glsl_preamble(*source, defines);
  if (!text) return text.status().with_context(std::string(name));
  return text;
}

Result<ShaderProgram> build_program(std::string_view vertex, std::string_view fragment,
                                    const std::string& defines) {
  auto vertex_source = shader_with_defines(vertex, defines);
  if (!vertex_source) return vertex_source.status();
  auto fragment_source = shader_with_defines(fragment, defines);
  if (!fragment_source) return fragment_source.status();
  return ShaderProgram::build(std::string(vertex) + " + " + std::string(fragment), *vertex_source,
                              *fragment_source);
}

// The block of packed texels that one texel of a section becomes: `packed` RGBA32UI texels
// (four RGBA8 layers each) side by side in one texture, so a pixel's fetches share cache lines
// instead of reading `packed` array layers that lie a layer's size apart. Blocks two texels high
// (P / 2 x 2, or one column of P where P is odd), as NVIDIA's block-linear layout keeps a
// 16-byte texel and the one below it in one 32-byte sector. Measured on an H100 with lego
// (k = 32; atlas 573 x 567, all of it fits in L2), 3 x 2, 1 x 6 and 6 x 1 blocks and the array
// layers before them all took the same time within 1%, as did llvmpipe: the shader's arithmetic
// and the passes' clears, not the layout, set its cost there.
LightFieldBlock default_block(int packed) {
  if (packed % 2 == 0) return {packed / 2, 2};
  return {1, packed};
}

// Uploads a texture section as one GL_TEXTURE_2D_ARRAY of RGBA32UI texels. Four RGBA8 layers go
// into one 128-bit texel (layer 4p + q is word q of packed texel p, its R in the low byte), so a
// texelFetch brings 16 features instead of 4; the P = ceil(L / 4) packed texels of one section
// texel lie in a block (`block`, packed texel p at (p % width, p / width)). A section wider or
// higher than `max_side` in blocks is split into tiles of whole blocks, one array layer each; a
// missing last layer, and block places past P, are zero.
Result<LightFieldTextureLayout> upload_texture(const LightFieldTexture& texture, int max_side,
                                               int max_layers, const char* what,
                                               LightFieldBlock block, std::int64_t& bytes) {
  LightFieldTextureLayout layout;
  layout.width = texture.width;
  layout.height = texture.height;
  layout.layers = texture.layers;
  layout.packed_layers = (texture.layers + 3) / 4;
  if (block.width < 1 || block.height < 1 || block.width * block.height < layout.packed_layers)
    block = default_block(layout.packed_layers);
  layout.block = block;
  if (block.width > max_side || block.height > max_side)
    return Status(ErrorCode::kUnavailable,
                  std::string(what) + "'s blocks of " + std::to_string(block.width) + "x" +
                      std::to_string(block.height) + " packed texels do not fit in tiles of " +
                      std::to_string(max_side));
  // Texels of the section per tile side, at most; even tiles waste the least: a 3000-texel side
  // in 2048 limits becomes two 1500s.
  const int across = max_side / block.width, down = max_side / block.height;
  layout.tiles_x = (texture.width + across - 1) / across;
  layout.tiles_y = (texture.height + down - 1) / down;
  layout.tile_width = (texture.width + layout.tiles_x - 1) / layout.tiles_x;
  layout.tile_height = (texture.height + layout.tiles_y - 1) / layout.tiles_y;
  const std::int64_t total_layers = std::int64_t{layout.tiles_x} * layout.tiles_y;
  if (total_layers > max_layers)
    return Status(ErrorCode::kUnavailable,
                  std::string(what) + " of " + std::to_string(texture.width) + "x" +
                      std::to_string(texture.height) + "x" + std::to_string(texture.layers) +
                      " needs " + std::to_string(total_layers) + " array layers in tiles of " +
                      std::to_string(max_side) + ", above this context's " +
                      std::to_string(max_layers) + " (GL_MAX_ARRAY_TEXTURE_LAYERS)");
  const int stored_width = layout.tile_width * block.width;
  const int stored_height = layout.tile_height * block.height;
  drain_gl_errors();
  glGenTextures(1, &layout.texture);
  glBindTexture(GL_TEXTURE_2D_ARRAY, layout.texture);
  glTexStorage3D(GL_TEXTURE_2D_ARRAY, 1, GL_RGBA32UI, stored_width, stored_height,
                 static_cast<GLsizei>(total_layers));
  // Integer textures are never filtered; nearest keeps the texture complete.
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  // A strip of a tile's rows at a time (16 bytes a texel, about 16 MB at most).
  const int strip_rows = std::clamp<int>(
      static_cast<int>((std::int64_t{1} << 20) / (std::int64_t{stored_width} * block.height)), 1,
      layout.tile_height);
  std::vector<std::uint32_t> packed(std::size_t{4} * stored_width * block.height * strip_rows);
  for (int ty = 0; ty < layout.tiles_y; ++ty)
    for (int tx = 0; tx < layout.tiles_x; ++tx) {
      const int x0 = tx * layout.tile_width, y0 = ty * layout.tile_height;
      const int w = std::min(layout.tile_width, texture.width - x0);
      const int h = std::min(layout.tile_height, texture.height - y0);
      const int tile = ty * layout.tiles_x + tx;
      const int row_words = 4 * w * block.width;
      for (int j0 = 0; j0 < h; j0 += strip_rows) {
        const int rows = std::min(strip_rows, h - j0);
        std::fill(packed.begin(), packed.end(), 0u);
        for (int j = 0; j < rows; ++j)
          for (int i = 0; i < w; ++i)
            for (int p = 0; p < layout.packed_layers; ++p) {
              const int bx = i * block.width + p % block.width;
              const int by = j * block.height + p / block.width;
              std::uint32_t* out =
                  &packed[static_cast<std::size_t>(by) * row_words + std::size_t{4} * bx];
              for (int q = 0; q < 4; ++q) {
                const int layer = 4 * p + q;
                if (layer >= texture.layers) break;
                const std::uint8_t* rgba = texture.texel(layer, x0 + i, y0 + j0 + j);
                out[q] = std::uint32_t{rgba[0]} | std::uint32_t{rgba[1]} << 8 |
                         std::uint32_t{rgba[2]} << 16 | std::uint32_t{rgba[3]} << 24;
              }
            }
        glTexSubImage3D(GL_TEXTURE_2D_ARRAY, 0, 0, j0 * block.height, tile, w * block.width,
                        rows * block.height, 1, GL_RGBA_INTEGER, GL_UNSIGNED_INT, packed.data());
      }
    }
  glBindTexture(GL_TEXTURE_2D_ARRAY, 0);
  bytes += std::int64_t{stored_width} * stored_height * 16 * total_layers;
  const Status uploaded = check_gl_error((std::string("uploading the ") + what).c_str());
  if (!uploaded) {
    glDeleteTextures(1, &layout.texture);
    return uploaded;
  }
  return layout;
}

Status check_asset(const LightFieldAsset& asset) {
  auto invalid = [](const std::string& what) {
    return Status(ErrorCode::kInvalidArgument, "light-field renderer: " + what);
  };
  if (asset.k % 4 != 0 || asset.k < 4 || asset.k > 64)
    return invalid("k = " + std::to_string(asset.k) + " is not a multiple of 4 in [4, 64]");
  if (asset.atlas.layers != 3 * asset.k / 4 || asset.direction_map.layers != asset.k / 4)
    return invalid("the textures' layer counts do not match k");
  for (const LightFieldTexture* t : {&asset.atlas, &asset.direction_map})
    if (t->width < 1 || t->height < 1 ||
        static_cast<std::int64_t>(t->texels.size()) != t->bytes() ||
        t->lo.size() != static_cast<size_t>(4 * t->layers) || t->hi.size() != t->lo.size())
      return invalid("a texture's texels or ranges do not match its size");
  if (asset.direction_map.width != asset.direction_map.height)
    return invalid("the direction map is not square");
  if (asset.positions.empty() || asset.positions.size() != asset.uvs.size() ||
      asset.triangles.empty() || asset.triangles.size() % 3 != 0)
    return invalid("the mesh needs vertices with uvs and a multiple of 3 indices");
  for (std::uint32_t index : asset.triangles)
    if (index >= asset.positions.size())
      return invalid("a triangle index is past the vertex count");
  return Status::ok();
}

// A GLSL float literal that reads back as exactly `value` (9 significant digits).
std::string glsl_float(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value));
  std::string literal(text);
  if (literal.find_first_of(".e") == std::string::npos) literal += ".0";
  return literal;
}

std::string glsl_vec4_array(const char* name, const std::vector<float>& values) {
  const size_t count = values.size() / 4;
  std::string text = "const highp vec4 " + std::string(name) + "[" + std::to_string(count) +
                     "] = vec4[" + std::to_string(count) + "](";
  for (size_t v = 0; v < count; ++v) {
    text += v == 0 ? "vec4(" : ",\n  vec4(";
    for (size_t c = 0; c < 4; ++c) text += (c ? ", " : "") + glsl_float(values[4 * v + c]);
    text += ")";
  }
  return text + ");\n";
}

// The asset's fixed values (dequantisation ranges, bias, direction frame, sizes, tiling) as
// GLSL constants, inserted before the shaders' own text. Uniforms would work too, but
// llvmpipe loads a uniform again at every use in every pixel block: in a full-screen test at
// 800x800, 8 packed fetches took 6 ms of CPU, dequantising their 32 vec4s with uniform ranges
// 40 ms more and with constant ranges 3 ms more. The ranges are an offset and (hi - lo) / 255
// per channel (below).
std::string asset_constants(const LightFieldAsset& asset, const LightFieldTextureLayout& atlas,
                            const LightFieldTextureLayout& directions) {
  // The shader reads each byte q as the half float 1024 + q (see unpack_bytes), so it takes
  // lo - 1024 s as the offset: lo + s q = (lo - 1024 s) + s (1024 + q), s = (hi - lo) / 255.
  // The offset's rounding (half an ulp of about 1024 s) is below 1e-4 of a step.
  auto scales = [](const LightFieldTexture& texture) {
    std::vector<float> scale(texture.lo.size());
    for (size_t q = 0; q < scale.size(); ++q)
      scale[q] = static_cast<float>((double(texture.hi[q]) - texture.lo[q]) / 255.0);
    return scale;
  };
  auto offsets = [](const LightFieldTexture& texture) {
    std::vector<float> offset(texture.lo.size());
    for (size_t q = 0; q < offset.size(); ++q)
      offset[q] = static_cast<float>(double(texture.lo[q]) -
                                     (double(texture.hi[q]) - texture.lo[q]) / 255.0 * 1024.0);
    return offset;
  };
  auto ivec3_of = [](const LightFieldTextureLayout& layout) {
    return "ivec3(" + std::to_string(layout.tile_width) + ", " +
           std::to_string(layout.tile_height) + ", " + std::to_string(layout.tiles_x) + ")";
  };
  const glm::mat3 frame = asset.direction_frame();
  std::string text = "#define LF_CONSTANTS 1\n";
  text += glsl_vec4_array("lf_atlas_lo", offsets(asset.atlas));
  text += glsl_vec4_array("lf_atlas_scale", scales(asset.atlas));
  text += glsl_vec4_array("lf_directions_lo", offsets(asset.direction_map));
  text += glsl_vec4_array("lf_directions_scale", scales(asset.direction_map));
  text += "const highp vec3 lf_bias = vec3(" + glsl_float(asset.bias.x) + ", " +
          glsl_float(asset.bias.y) + ", " + glsl_float(asset.bias.z) + ");\n";
  text += "const highp mat3 lf_direction_frame = mat3(";  // column-major, as glm
  for (int i = 0; i < 9; ++i) text += (i ? ", " : "") + glsl_float(frame[i / 3][i % 3]);
  text += ");\n";
  text += "const highp ivec2 lf_atlas_size = ivec2(" + std::to_string(atlas.width) + ", " +
          std::to_string(atlas.height) + ");\n";
  text += "const highp int lf_directions_size = " + std::to_string(directions.width) + ";\n";
  text += "const highp ivec3 lf_atlas_tiling = " + ivec3_of(atlas) + ";\n";
  text += "const highp ivec3 lf_directions_tiling = " + ivec3_of(directions) + ";\n";
  return text;
}

// Triangle indices sorted by the Morton code of their centroids in the mesh's bounding box.
std::vector<int> morton_order(const LightFieldAsset& asset) {
  auto spread = [](std::uint64_t x) {
    x &= 0x1fffff;
    x = (x | x << 32) & 0x1f00000000ffffull;
    x = (x | x << 16) & 0x1f0000ff0000ffull;
    x = (x | x << 8) & 0x100f00f00f00f00full;
    x = (x | x << 4) & 0x10c30c30c30c30c3ull;
    x = (x | x << 2) & 0x1249249249249249ull;
    return x;
  };
  glm::vec3 lo(std::numeric_limits<float>::max()), hi(-std::numeric_limits<float>::max());
  for (const glm::vec3& p : asset.positions) {
    lo = glm::min(lo, p);
    hi = glm::max(hi, p);
  }
  const glm::vec3 extent = glm::max(hi - lo, glm::vec3(1e-20f));
  const int triangles = asset.triangle_count();
  std::vector<std::pair<std::uint64_t, int>> keyed(static_cast<size_t>(triangles));
  for (int t = 0; t < triangles; ++t) {
    glm::vec3 centre(0.0f);
    for (int c = 0; c < 3; ++c)
      centre += asset.positions[asset.triangles[3 * static_cast<size_t>(t) + c]];
    const glm::vec3 unit = glm::clamp((centre / 3.0f - lo) / extent, 0.0f, 1.0f);
    const auto q = glm::u64vec3(unit * 2097151.0f);
    keyed[t] = {spread(q.x) | spread(q.y) << 1 | spread(q.z) << 2, t};
  }
  // One-sided triangles first (they are drawn with back faces culled), each group in Morton order.
  const auto one_sided = static_cast<std::ptrdiff_t>(
      std::min<std::uint32_t>(asset.one_sided_triangles, static_cast<std::uint32_t>(triangles)));
  std::sort(keyed.begin(), keyed.begin() + one_sided);
  std::sort(keyed.begin() + one_sided, keyed.end());
  std::vector<int> order(static_cast<size_t>(triangles));
  for (int t = 0; t < triangles; ++t) order[t] = keyed[t].second;
  return order;
}

glm::vec3 eye_position(const glm::mat4& view) {
  return glm::vec3(glm::inverse(glm::dmat4(view))[3]);
}

// A run of triangles (in the renderer's Morton order) and its bounding box.
struct Cluster {
  int first = 0;
  int count = 0;
  bool one_sided = false;  // back faces culled
  glm::vec3 lo{0.0f};
  glm::vec3 hi{0.0f};
};
constexpr int kClusterTriangles = 512;

// The rectangle of a width x height viewport (x, y, width, height, in its pixels) that holds
// every pixel the clusters can cover under `view_projection`: their boxes' corners projected,
// a pixel wider each side, clamped. The whole viewport where a box reaches to or behind the
// eye's plane (w <= 0 there); false where no box is in view.
bool mesh_rectangle(const std::vector<Cluster>& clusters, const glm::mat4& view_projection,
                    int width, int height, int rect[4]) {
  float lo_x = 2.0f, lo_y = 2.0f, hi_x = -2.0f, hi_y = -2.0f;
  for (const Cluster& cluster : clusters) {
    float box_lo_x = 2.0f, box_lo_y = 2.0f, box_hi_x = -2.0f, box_hi_y = -2.0f;
    bool behind = false;
    for (int corner = 0; corner < 8 && !behind; ++corner) {
      const glm::vec4 p(corner & 1 ? cluster.hi.x : cluster.lo.x,
                        corner & 2 ? cluster.hi.y : cluster.lo.y,
                        corner & 4 ? cluster.hi.z : cluster.lo.z, 1.0f);
      const glm::vec4 clip = view_projection * p;
      if (!(clip.w > 1e-6f * (std::abs(clip.x) + std::abs(clip.y)))) {
        behind = true;
        break;
      }
      const float x = clip.x / clip.w, y = clip.y / clip.w;
      box_lo_x = std::min(box_lo_x, x);
      box_lo_y = std::min(box_lo_y, y);
      box_hi_x = std::max(box_hi_x, x);
      box_hi_y = std::max(box_hi_y, y);
    }
    if (behind) {
      rect[0] = rect[1] = 0;
      rect[2] = width;
      rect[3] = height;
      return true;
    }
    // Boxes wholly off screen add nothing.
    if (box_hi_x < -1.0f || box_lo_x > 1.0f || box_hi_y < -1.0f || box_lo_y > 1.0f) continue;
    lo_x = std::min(lo_x, box_lo_x);
    lo_y = std::min(lo_y, box_lo_y);
    hi_x = std::max(hi_x, box_hi_x);
    hi_y = std::max(hi_y, box_hi_y);
  }
  if (hi_x < lo_x || hi_y < lo_y) return false;
  auto to_pixels = [](float ndc, int size) {
    return (static_cast<double>(std::clamp(ndc, -1.0f, 1.0f)) * 0.5 + 0.5) * size;
  };
  const int x0 = std::max(0, static_cast<int>(std::floor(to_pixels(lo_x, width))) - 1);
  const int y0 = std::max(0, static_cast<int>(std::floor(to_pixels(lo_y, height))) - 1);
  const int x1 = std::min(width, static_cast<int>(std::ceil(to_pixels(hi_x, width))) + 1);
  const int y1 = std::min(height, static_cast<int>(std::ceil(to_pixels(hi_y, height))) + 1);
  rect[0] = x0;
  rect[1] = y0;
  rect[2] = std::max(0, x1 - x0);
  rect[3] = std::max(0, y1 - y0);
  return rect[2] > 0 && rect[3] > 0;
}

void set_depth_state(GLenum function) {
  glEnable(GL_DEPTH_TEST);
  glDepthFunc(function);
  glDepthMask(GL_TRUE);
  // The mesh is not consistently wound: both faces are drawn.
  glDisable(GL_CULL_FACE);
  glDisable(GL_BLEND);
}

void set_view(const ShaderProgram& program, const glm::mat4& view_projection,
              const glm::vec3& eye) {
  program.use();
  program.set("u_view_projection", view_projection);
  program.set("u_eye", eye);
}

}  // namespace

const char* lightfield_passes_name(LightFieldPasses passes) noexcept {
  switch (passes) {
    case LightFieldPasses::kForward:
      return "forward";
    case LightFieldPasses::kDepthPrepass:
      return "depth pre-pass";
    case LightFieldPasses::kDeferred:
      return "deferred";
  }
  return "unknown";
}

struct LightFieldRenderer::State {
  GpuMemoryLedger* ledger = nullptr;
  LightFieldPasses passes = LightFieldPasses::kDeferred;
  int k = 0;
  int triangles = 0;
  int one_sided = 0;  // the first one_sided triangles of the buffers
  glm::vec4 background{1.0f};
  LightFieldTextureLayout atlas;
  LightFieldTextureLayout directions;
  std::vector<Cluster> clusters;
  GLuint vertex_array = 0;
  GLuint vertex_buffer = 0;
  GLuint index_buffer = 0;
  GLuint empty_vertex_array = 0;  // the full-screen triangle needs no attributes
  std::int64_t texture_bytes = 0;
  std::int64_t buffer_bytes = 0;
  ShaderProgram forward;          // LF_PASS 0 with lightfield.vert
  ShaderProgram depth_only;       // lightfield_depth.frag (kDepthPrepass)
  ShaderProgram texel_pass;       // LF_PASS 1 (kDeferred)
  ShaderProgram resolve;          // LF_PASS 2 with fullscreen.vert (kDeferred)
  ShaderProgram multiview;        // LF_PASS 0 with lightfield_multiview.vert
  ShaderProgram multiview_depth;  // lightfield_depth.frag with lightfield_multiview.vert
  // kDeferred's G-buffer, made for the viewport's size on first use.
  GLuint gbuffer_framebuffer = 0;
  GLuint gbuffer_texels = 0;
  GLuint gbuffer_depth = 0;
  int gbuffer_width = 0;
  int gbuffer_height = 0;
  std::int64_t gbuffer_bytes = 0;

  ~State() {
    release_gbuffer();
    if (atlas.texture != 0) glDeleteTextures(1, &atlas.texture);
    if (directions.texture != 0) glDeleteTextures(1, &directions.texture);
    if (vertex_array != 0) glDeleteVertexArrays(1, &vertex_array);
    if (empty_vertex_array != 0) glDeleteVertexArrays(1, &empty_vertex_array);
    if (vertex_buffer != 0) glDeleteBuffers(1, &vertex_buffer);
    if (index_buffer != 0) glDeleteBuffers(1, &index_buffer);
    if (ledger != nullptr) {
      ledger->remove(GpuResourceKind::kTexture, texture_bytes);
      ledger->remove(GpuResourceKind::kBuffer, buffer_bytes);
    }
  }
  void release_gbuffer() {
    if (gbuffer_framebuffer != 0) glDeleteFramebuffers(1, &gbuffer_framebuffer);
    if (gbuffer_texels != 0) glDeleteTextures(1, &gbuffer_texels);
    if (gbuffer_depth != 0) glDeleteTextures(1, &gbuffer_depth);
    if (ledger != nullptr) ledger->remove(GpuResourceKind::kTexture, gbuffer_bytes);
    gbuffer_framebuffer = gbuffer_texels = gbuffer_depth = 0;
    gbuffer_width = gbuffer_height = 0;
    gbuffer_bytes = 0;
  }
  bool ensure_gbuffer(int width, int height) {
    if (width == gbuffer_width && height == gbuffer_height && gbuffer_framebuffer != 0) return true;
    release_gbuffer();
    auto make_texture = [&](GLenum format) {
      GLuint texture = 0;
      glGenTextures(1, &texture);
      glBindTexture(GL_TEXTURE_2D, texture);
      glTexStorage2D(GL_TEXTURE_2D, 1, format, width, height);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      return texture;
    };
    gbuffer_texels = make_texture(GL_RG16UI);
    gbuffer_depth = make_texture(GL_DEPTH_COMPONENT24);
    glBindTexture(GL_TEXTURE_2D, 0);
    glGenFramebuffers(1, &gbuffer_framebuffer);
    glBindFramebuffer(GL_FRAMEBUFFER, gbuffer_framebuffer);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, gbuffer_texels, 0);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_TEXTURE_2D, gbuffer_depth, 0);
    const bool complete = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
    gbuffer_width = width;
    gbuffer_height = height;
    gbuffer_bytes = std::int64_t{width} * height * (4 + 4);
    if (ledger != nullptr) ledger->add(GpuResourceKind::kTexture, gbuffer_bytes);
    return complete;
  }
};

Result<LightFieldRenderer> LightFieldRenderer::create(GpuMemoryLedger& ledger,
                                                      const LightFieldAsset& asset,
                                                      const LightFieldRendererOptions& options) {
  FOVEA_RETURN_IF_ERROR(check_asset(asset));
  GLint max_size = 0, max_layers = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  glGetIntegerv(GL_MAX_ARRAY_TEXTURE_LAYERS, &max_layers);
  if (max_size <= 0)
    return Status(ErrorCode::kUnavailable, "light-field renderer: no current GL context");
  const int side =
      options.max_texture_side > 0 ? std::min<int>(options.max_texture_side, max_size) : max_size;

  LightFieldRenderer renderer;
  State& s = *renderer.state_;
  s.ledger = &ledger;
  s.passes = options.passes;
  s.k = asset.k;
  s.triangles = asset.triangle_count();
  s.one_sided =
      static_cast<int>(std::min<std::uint32_t>(asset.one_sided_triangles, asset.triangle_count()));
  s.background = asset.background;

  std::int64_t texture_bytes = 0;
  auto atlas = upload_texture(asset.atlas, side, max_layers, "position atlas", options.atlas_block,
                              texture_bytes);
  if (!atlas) return atlas.status().with_context("light-field renderer");
  s.atlas = *atlas;
  auto directions = upload_texture(asset.direction_map, side, max_layers, "direction map",
                                   options.direction_block, texture_bytes);
  if (!directions) return directions.status().with_context("light-field renderer");
  s.directions = *directions;
  s.texture_bytes = texture_bytes;
  ledger.add(GpuResourceKind::kTexture, texture_bytes);

  // Triangles in Morton order of their centroids, cut into compact clusters that are drawn
  // nearest first, so depth testing rejects hidden fragments before they are shaded.
  const std::vector<int> order = morton_order(asset);
  const int triangles = asset.triangle_count();
  std::vector<std::uint32_t> indices;
  // Interleaved float x, y, z, s, t: the format's 20 bytes per vertex. Unshared meshes are
  // stored in the new triangle order; indexed ones keep their vertices and reorder indices.
  std::vector<float> vertices(5 * asset.positions.size());
  auto put_vertex = [&](size_t at, std::uint32_t v) {
    vertices[5 * at + 0] = asset.positions[v].x;
    vertices[5 * at + 1] = asset.positions[v].y;
    vertices[5 * at + 2] = asset.positions[v].z;
    vertices[5 * at + 3] = asset.uvs[v].x;
    vertices[5 * at + 4] = asset.uvs[v].y;
  };
  auto corner = [&](int t, int c) {
    return asset.triangles[3 * static_cast<size_t>(order[t]) + c];
  };
  if (asset.unshared) {
    for (int t = 0; t < triangles; ++t)
      for (int c = 0; c < 3; ++c) put_vertex(3 * static_cast<size_t>(t) + c, corner(t, c));
  } else {
    for (size_t v = 0; v < asset.positions.size(); ++v)
      put_vertex(v, static_cast<std::uint32_t>(v));
    indices.resize(asset.triangles.size());
    for (int t = 0; t < triangles; ++t)
      for (int c = 0; c < 3; ++c) indices[3 * static_cast<size_t>(t) + c] = corner(t, c);
  }
  // Clusters do not straddle the one-sided / two-sided boundary.
  const int one_sided =
      static_cast<int>(std::min<std::uint32_t>(asset.one_sided_triangles, triangles));
  for (int first = 0; first < triangles;) {
    Cluster cluster;
    cluster.first = first;
    cluster.one_sided = first < one_sided;
    cluster.count =
        std::min(kClusterTriangles, (cluster.one_sided ? one_sided : triangles) - first);
    first += cluster.count;
    cluster.lo = glm::vec3(std::numeric_limits<float>::max());
    cluster.hi = glm::vec3(-std::numeric_limits<float>::max());
    for (int t = cluster.first; t < first; ++t)
      for (int c = 0; c < 3; ++c) {
        cluster.lo = glm::min(cluster.lo, asset.positions[corner(t, c)]);
        cluster.hi = glm::max(cluster.hi, asset.positions[corner(t, c)]);
      }
    s.clusters.push_back(cluster);
  }
  drain_gl_errors();
  glGenVertexArrays(1, &s.vertex_array);
  glBindVertexArray(s.vertex_array);
  glGenBuffers(1, &s.vertex_buffer);
  glBindBuffer(GL_ARRAY_BUFFER, s.vertex_buffer);
  const auto vertex_bytes = static_cast<GLsizeiptr>(vertices.size() * sizeof(float));
  glBufferData(GL_ARRAY_BUFFER, vertex_bytes, vertices.data(), GL_STATIC_DRAW);
  glEnableVertexAttribArray(0);
  glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 20, nullptr);
  glEnableVertexAttribArray(1);
  glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, 20, reinterpret_cast<const void*>(12));
  GLsizeiptr index_bytes = 0;
  if (!asset.unshared) {
    glGenBuffers(1, &s.index_buffer);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, s.index_buffer);
    index_bytes = static_cast<GLsizeiptr>(indices.size() * sizeof(std::uint32_t));
    glBufferData(GL_ELEMENT_ARRAY_BUFFER, index_bytes, indices.data(), GL_STATIC_DRAW);
  }
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
  glGenVertexArrays(1, &s.empty_vertex_array);
  s.buffer_bytes = vertex_bytes + index_bytes;
  ledger.add(GpuResourceKind::kBuffer, s.buffer_bytes);
  FOVEA_RETURN_IF_ERROR(check_gl_error("uploading the light-field mesh"));

  auto define = [](const char* name, int value) {
    return "#define " + std::string(name) + " " + std::to_string(value) + "\n";
  };
  const std::string defines = define("LF_K4", asset.k / 4) +
                              define("LF_ATLAS_TILED", s.atlas.tiled()) +
                              define("LF_DIRECTIONS_TILED", s.directions.tiled()) +
                              define("LF_ATLAS_BLOCK_WIDTH", s.atlas.block.width) +
                              define("LF_ATLAS_BLOCK_HEIGHT", s.atlas.block.height) +
                              define("LF_DIRECTIONS_BLOCK_WIDTH", s.directions.block.width) +
                              define("LF_DIRECTIONS_BLOCK_HEIGHT", s.directions.block.height) +
                              asset_constants(asset, s.atlas, s.directions);
  auto program = [&](const char* vertex, const char* fragment, int pass,
                     ShaderProgram& out) -> Status {
    auto built =
        build_program(vertex, fragment, defines + "#define LF_PASS " + std::to_string(pass) + "\n");
    if (!built) return built.status().with_context("light-field renderer");
    out = std::move(*built);
    out.use();
    out.set("u_atlas", 0);
    out.set("u_directions", 1);
    glUseProgram(0);
    return Status::ok();
  };
  FOVEA_RETURN_IF_ERROR(program("lightfield.vert", "lightfield.frag", 0, s.forward));
  if (s.passes == LightFieldPasses::kDepthPrepass)
    FOVEA_RETURN_IF_ERROR(program("lightfield.vert", "lightfield_depth.frag", 0, s.depth_only));
  if (s.passes == LightFieldPasses::kDeferred) {
    FOVEA_RETURN_IF_ERROR(program("lightfield.vert", "lightfield.frag", 1, s.texel_pass));
    FOVEA_RETURN_IF_ERROR(program("fullscreen.vert", "lightfield.frag", 2, s.resolve));
    s.resolve.use();
    s.resolve.set("u_texels", 2);
    s.resolve.set("u_depth", 3);
    glUseProgram(0);
  }
  if (options.allow_multiview && multiview_available()) {
    FOVEA_RETURN_IF_ERROR(program("lightfield_multiview.vert", "lightfield.frag", 0, s.multiview));
    if (s.passes != LightFieldPasses::kForward)
      FOVEA_RETURN_IF_ERROR(
          program("lightfield_multiview.vert", "lightfield_depth.frag", 0, s.multiview_depth));
  }
  FOVEA_RETURN_IF_ERROR(check_gl_error("setting up the light-field shaders"));
  return renderer;
}

LightFieldRenderer::LightFieldRenderer() : state_(std::make_unique<State>()) {}
LightFieldRenderer::LightFieldRenderer(LightFieldRenderer&& other) noexcept = default;
LightFieldRenderer& LightFieldRenderer::operator=(LightFieldRenderer&& other) noexcept = default;
LightFieldRenderer::~LightFieldRenderer() = default;

LightFieldPasses LightFieldRenderer::passes() const noexcept {
  return state_->passes;
}
bool LightFieldRenderer::has_multiview() const noexcept {
  return state_->multiview.id() != 0;
}
const LightFieldTextureLayout& LightFieldRenderer::atlas() const noexcept {
  return state_->atlas;
}
const LightFieldTextureLayout& LightFieldRenderer::direction_map() const noexcept {
  return state_->directions;
}
int LightFieldRenderer::k() const noexcept {
  return state_->k;
}
int LightFieldRenderer::triangle_count() const noexcept {
  return state_->triangles;
}
glm::vec4 LightFieldRenderer::background() const noexcept {
  return state_->background;
}
std::int64_t LightFieldRenderer::texture_bytes() const noexcept {
  return state_->texture_bytes;
}
std::int64_t LightFieldRenderer::buffer_bytes() const noexcept {
  return state_->buffer_bytes;
}
std::int64_t LightFieldRenderer::scratch_bytes() const noexcept {
  return state_->gbuffer_bytes;
}

void LightFieldRenderer::clear() const {
  const glm::vec4 b = state_->background;
  glClearColor(b.r, b.g, b.b, b.a);
  glClearDepthf(1.0f);
  glDepthMask(GL_TRUE);
  glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
}

void LightFieldRenderer::draw_mesh() const {
  const State& s = *state_;
  glBindVertexArray(s.vertex_array);
  glFrontFace(GL_CCW);
  glCullFace(GL_BACK);
  // The one-sided triangles come first in the buffers, culled; then the rest, both sides.
  auto draw_range = [&](int first, int count) {
    if (count <= 0) return;
    if (s.index_buffer != 0)
      glDrawElements(GL_TRIANGLES, 3 * count, GL_UNSIGNED_INT,
                     reinterpret_cast<const void*>(static_cast<std::uintptr_t>(first) * 12));
    else
      glDrawArrays(GL_TRIANGLES, 3 * first, 3 * count);
  };
  glEnable(GL_CULL_FACE);
  draw_range(0, s.one_sided);
  glDisable(GL_CULL_FACE);
  draw_range(s.one_sided, s.triangles - s.one_sided);
  glBindVertexArray(0);
}

void LightFieldRenderer::draw_mesh(const glm::vec3& eye) const {
  const State& s = *state_;
  // Nearest cluster first: the distance from the eye to each cluster's box (0 inside it).
  std::vector<std::pair<float, int>> keyed(s.clusters.size());
  for (size_t c = 0; c < s.clusters.size(); ++c) {
    const glm::vec3 d = glm::clamp(eye, s.clusters[c].lo, s.clusters[c].hi) - eye;
    keyed[c] = {glm::dot(d, d), static_cast<int>(c)};
  }
  std::sort(keyed.begin(), keyed.end());
  glBindVertexArray(s.vertex_array);
  glFrontFace(GL_CCW);
  glCullFace(GL_BACK);
  bool culling = false;
  glDisable(GL_CULL_FACE);
  for (const auto& [distance, c] : keyed) {
    const Cluster& cluster = s.clusters[c];
    if (cluster.one_sided != culling) {
      culling = cluster.one_sided;
      if (culling)
        glEnable(GL_CULL_FACE);
      else
        glDisable(GL_CULL_FACE);
    }
    if (s.index_buffer != 0)
      glDrawElements(
          GL_TRIANGLES, 3 * cluster.count, GL_UNSIGNED_INT,
          reinterpret_cast<const void*>(static_cast<std::uintptr_t>(cluster.first) * 12));
    else
      glDrawArrays(GL_TRIANGLES, 3 * cluster.first, 3 * cluster.count);
  }
  glDisable(GL_CULL_FACE);
  glBindVertexArray(0);
}

void LightFieldRenderer::draw(const glm::mat4& view, const glm::mat4& projection) const {
  State& s = *state_;
  const glm::mat4 view_projection = projection * view;
  const glm::vec3 eye = eye_position(view);
  auto bind_light_field_textures = [&] {
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D_ARRAY, s.atlas.texture);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D_ARRAY, s.directions.texture);
  };

  if (s.passes == LightFieldPasses::kDeferred) {
    GLint viewport[4] = {}, draw_framebuffer = 0, read_framebuffer = 0;
    glGetIntegerv(GL_VIEWPORT, viewport);
    glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &draw_framebuffer);
    glGetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &read_framebuffer);
    if (viewport[2] > 0 && viewport[3] > 0 && s.ensure_gbuffer(viewport[2], viewport[3])) {
      // The caller's scissor state, restored at the end.
      const GLboolean scissor_was_on = glIsEnabled(GL_SCISSOR_TEST);
      GLint scissor_box[4] = {};
      glGetIntegerv(GL_SCISSOR_BOX, scissor_box);
      // The G-buffer's rectangle that the mesh can cover (G-buffer pixels).
      int rect[4] = {0, 0, viewport[2], viewport[3]};
      if (!mesh_rectangle(s.clusters, view_projection, viewport[2], viewport[3], rect))
        rect[2] = rect[3] = 0;
      // Texel pass: the nearest surface's texels and depth, per pixel.
      glBindFramebuffer(GL_FRAMEBUFFER, s.gbuffer_framebuffer);
      glViewport(0, 0, viewport[2], viewport[3]);
      glEnable(GL_SCISSOR_TEST);
      glScissor(rect[0], rect[1], rect[2], rect[3]);
      // Only depth is cleared, and only in the rectangle: the resolve reads depth 1 (which
      // GL_LESS never writes) as no surface, and leaves the texels there unread. (On the H100,
      // clearing the RG16UI texels took 0.04-0.12 ms a frame, a whole-viewport depth clear
      // 0.01-0.07 ms more than the rectangle's.)
      static constexpr GLfloat kFar = 1.0f;
      glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
      glDepthMask(GL_TRUE);
      glClearBufferfv(GL_DEPTH, 0, &kFar);
      set_depth_state(GL_LESS);
      set_view(s.texel_pass, view_projection, eye);
      if (rect[2] > 0 && rect[3] > 0) draw_mesh(eye);
      // Resolve: the light-field sum once per covered pixel, depth tested against the target.
      glBindFramebuffer(GL_DRAW_FRAMEBUFFER, static_cast<GLuint>(draw_framebuffer));
      glBindFramebuffer(GL_READ_FRAMEBUFFER, static_cast<GLuint>(read_framebuffer));
      glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
      // The resolve finds each pixel's view ray from its depth: camera-space point, then
      // rotated to world space (no large eye coordinates cancelling).
      s.resolve.use();
      glUniform4f(s.resolve.uniform_location("u_viewport"), float(viewport[0]), float(viewport[1]),
                  float(viewport[2]), float(viewport[3]));
      GLfloat depth_range[2] = {0.0f, 1.0f};
      glGetFloatv(GL_DEPTH_RANGE, depth_range);
      glUniform2f(s.resolve.uniform_location("u_depth_range"), depth_range[0], depth_range[1]);
      s.resolve.set("u_inverse_projection", glm::mat4(glm::inverse(glm::dmat4(projection))));
      s.resolve.set("u_camera_to_world", glm::mat3(glm::inverse(glm::dmat4(view))));
      bind_light_field_textures();
      glActiveTexture(GL_TEXTURE2);
      glBindTexture(GL_TEXTURE_2D, s.gbuffer_texels);
      glActiveTexture(GL_TEXTURE3);
      glBindTexture(GL_TEXTURE_2D, s.gbuffer_depth);
      glActiveTexture(GL_TEXTURE0);
      // The same rectangle in the target, within the caller's scissor box if it has one on.
      int x0 = viewport[0] + rect[0], y0 = viewport[1] + rect[1];
      int x1 = x0 + rect[2], y1 = y0 + rect[3];
      if (scissor_was_on) {
        x0 = std::max(x0, scissor_box[0]);
        y0 = std::max(y0, scissor_box[1]);
        x1 = std::min(x1, scissor_box[0] + scissor_box[2]);
        y1 = std::min(y1, scissor_box[1] + scissor_box[3]);
      }
      if (x1 > x0 && y1 > y0) {
        glScissor(x0, y0, x1 - x0, y1 - y0);
        glBindVertexArray(s.empty_vertex_array);
        glDrawArrays(GL_TRIANGLES, 0, 3);
        glBindVertexArray(0);
      }
      glScissor(scissor_box[0], scissor_box[1], scissor_box[2], scissor_box[3]);
      if (!scissor_was_on) glDisable(GL_SCISSOR_TEST);
      return;
    }
    // No usable G-buffer (an empty viewport, an incomplete framebuffer): draw forward.
    glBindFramebuffer(GL_DRAW_FRAMEBUFFER, static_cast<GLuint>(draw_framebuffer));
    glBindFramebuffer(GL_READ_FRAMEBUFFER, static_cast<GLuint>(read_framebuffer));
    glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
  }
  set_depth_state(GL_LESS);
  if (s.depth_only.id() != 0) {
    glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_FALSE);
    set_view(s.depth_only, view_projection, eye);
    draw_mesh(eye);
    glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
    // Both passes compute the same depths (invariant gl_Position).
    glDepthFunc(GL_LEQUAL);
  }
  set_view(s.forward, view_projection, eye);
  bind_light_field_textures();
  glActiveTexture(GL_TEXTURE0);
  draw_mesh(eye);
}

Status LightFieldRenderer::draw_stereo(const StereoTarget& target, const EyeView& left,
                                       const EyeView& right, bool clear_first) const {
  const State& s = *state_;
  if (target.width() <= 0) return Status(ErrorCode::kInvalidArgument, "empty stereo target");
  if (target.multiview() && has_multiview()) {
    target.bind_multiview();
    if (clear_first) clear();
    set_depth_state(GL_LESS);
    const glm::mat4 view_projections[2] = {left.projection * left.view,
                                           right.projection * right.view};
    const glm::vec3 eyes[2] = {eye_position(left.view), eye_position(right.view)};
    const glm::vec3 centre = 0.5f * (eyes[0] + eyes[1]);
    auto set_views = [&](const ShaderProgram& program) {
      program.use();
      glUniformMatrix4fv(program.uniform_location("u_view_projections"), 2, GL_FALSE,
                         glm::value_ptr(view_projections[0]));
      glUniform3fv(program.uniform_location("u_eyes"), 2, glm::value_ptr(eyes[0]));
    };
    if (s.multiview_depth.id() != 0) {
      glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_FALSE);
      set_views(s.multiview_depth);
      draw_mesh(centre);
      glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
      glDepthFunc(GL_LEQUAL);
    }
    set_views(s.multiview);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D_ARRAY, s.atlas.texture);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D_ARRAY, s.directions.texture);
    glActiveTexture(GL_TEXTURE0);
    draw_mesh(centre);
  } else {
    const EyeView* eyes[2] = {&left, &right};
    for (int eye = 0; eye < 2; ++eye) {
      target.bind_eye(eye);
      if (clear_first) clear();
      draw(*eyes[eye]);
    }
  }
  return check_gl_error("drawing the light field in stereo");
}

}  // namespace fovea::render
