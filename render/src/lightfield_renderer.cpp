#include "fovea/render/lightfield_renderer.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <glm/gtc/type_ptr.hpp>

#include "fovea/render/gl_resources.h"
#include "fovea/shaders/embedded.h"

namespace fovea::render {
namespace {

void drain_gl_errors() {
  for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; ++i) {
  }
}

// The embedded source with `defines` inserted after its #version line.
Result<std::string> shader_with_defines(std::string_view name, const std::string& defines) {
  auto source = shaders::find(name);
  if (!source)
    return Status(ErrorCode::kNotFound,
                  "no embedded shader named '" + std::string(name) + "' (is it in shaders/?)");
  std::string text(*source);
  const size_t line_end = text.find('\n');
  if (line_end == std::string::npos)
    return Status(ErrorCode::kInternal, std::string(name) + " has no #version line");
  text.insert(line_end + 1, defines);
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

// Uploads a texture section as one GL_TEXTURE_2D_ARRAY, split into tiles when a side exceeds
// `max_side`; tile t's layer l is array layer t * L + l.
Result<LightFieldTextureLayout> upload_texture(const LightFieldTexture& texture, int max_side,
                                               int max_layers, const char* what,
                                               std::int64_t& bytes) {
  LightFieldTextureLayout layout;
  layout.width = texture.width;
  layout.height = texture.height;
  layout.layers = texture.layers;
  layout.tiles_x = (texture.width + max_side - 1) / max_side;
  layout.tiles_y = (texture.height + max_side - 1) / max_side;
  // Even tiles waste the least: a 3000-texel side in 2048 limits becomes two 1500s.
  layout.tile_width = (texture.width + layout.tiles_x - 1) / layout.tiles_x;
  layout.tile_height = (texture.height + layout.tiles_y - 1) / layout.tiles_y;
  const std::int64_t total_layers =
      std::int64_t{layout.tiles_x} * layout.tiles_y * texture.layers;
  if (total_layers > max_layers)
    return Status(ErrorCode::kUnavailable,
                  std::string(what) + " of " + std::to_string(texture.width) + "x" +
                      std::to_string(texture.height) + "x" + std::to_string(texture.layers) +
                      " needs " + std::to_string(total_layers) + " array layers in tiles of " +
                      std::to_string(max_side) + ", above this context's " +
                      std::to_string(max_layers) + " (GL_MAX_ARRAY_TEXTURE_LAYERS)");
  drain_gl_errors();
  glGenTextures(1, &layout.texture);
  glBindTexture(GL_TEXTURE_2D_ARRAY, layout.texture);
  glTexStorage3D(GL_TEXTURE_2D_ARRAY, 1, GL_RGBA8, layout.tile_width, layout.tile_height,
                 static_cast<GLsizei>(total_layers));
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  if (!layout.tiled()) {
    glTexSubImage3D(GL_TEXTURE_2D_ARRAY, 0, 0, 0, 0, texture.width, texture.height,
                    texture.layers, GL_RGBA, GL_UNSIGNED_BYTE, texture.texels.data());
  } else {
    glPixelStorei(GL_UNPACK_ROW_LENGTH, texture.width);
    for (int ty = 0; ty < layout.tiles_y; ++ty)
      for (int tx = 0; tx < layout.tiles_x; ++tx) {
        const int x0 = tx * layout.tile_width, y0 = ty * layout.tile_height;
        const int w = std::min(layout.tile_width, texture.width - x0);
        const int h = std::min(layout.tile_height, texture.height - y0);
        const int tile = ty * layout.tiles_x + tx;
        for (int l = 0; l < texture.layers; ++l)
          glTexSubImage3D(GL_TEXTURE_2D_ARRAY, 0, 0, 0, tile * texture.layers + l, w, h, 1,
                          GL_RGBA, GL_UNSIGNED_BYTE, texture.texel(l, x0, y0));
      }
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  }
  glBindTexture(GL_TEXTURE_2D_ARRAY, 0);
  bytes += std::int64_t{layout.tile_width} * layout.tile_height * 4 * total_layers;
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
    if (t->width < 1 || t->height < 1 || static_cast<std::int64_t>(t->texels.size()) != t->bytes() ||
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

void set_ranges(GLint lo_location, GLint scale_location, const LightFieldTexture& texture) {
  std::vector<float> scale(texture.lo.size());
  for (size_t q = 0; q < scale.size(); ++q) scale[q] = texture.hi[q] - texture.lo[q];
  glUniform4fv(lo_location, texture.layers, texture.lo.data());
  glUniform4fv(scale_location, texture.layers, scale.data());
}

// Uniforms that stay for the program's life: samplers, ranges, bias, frame, sizes, tiling.
void set_static_uniforms(const ShaderProgram& program, const LightFieldAsset& asset,
                         const LightFieldTextureLayout& atlas,
                         const LightFieldTextureLayout& directions) {
  program.use();
  program.set("u_atlas", 0);
  program.set("u_directions", 1);
  set_ranges(program.uniform_location("u_atlas_lo"), program.uniform_location("u_atlas_scale"),
             asset.atlas);
  set_ranges(program.uniform_location("u_directions_lo"),
             program.uniform_location("u_directions_scale"), asset.direction_map);
  program.set("u_bias", asset.bias);
  program.set("u_direction_frame", asset.direction_frame());
  glUniform2i(program.uniform_location("u_atlas_size"), atlas.width, atlas.height);
  program.set("u_directions_size", directions.width);
  glUniform3i(program.uniform_location("u_atlas_tiling"), atlas.tile_width, atlas.tile_height,
              atlas.tiles_x);
  glUniform3i(program.uniform_location("u_directions_tiling"), directions.tile_width,
              directions.tile_height, directions.tiles_x);
  glUseProgram(0);
}

glm::vec3 eye_position(const glm::mat4& view) {
  return glm::vec3(glm::inverse(glm::dmat4(view))[3]);
}

}  // namespace

Result<LightFieldRenderer> LightFieldRenderer::create(GpuMemoryLedger& ledger,
                                                      const LightFieldAsset& asset,
                                                      const LightFieldRendererOptions& options) {
  FOVEA_RETURN_IF_ERROR(check_asset(asset));
  GLint max_size = 0, max_layers = 0;
  glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
  glGetIntegerv(GL_MAX_ARRAY_TEXTURE_LAYERS, &max_layers);
  if (max_size <= 0)
    return Status(ErrorCode::kUnavailable, "light-field renderer: no current GL context");
  const int side = options.max_texture_side > 0 ? std::min<int>(options.max_texture_side, max_size)
                                                : max_size;

  LightFieldRenderer renderer;
  renderer.ledger_ = &ledger;
  renderer.k_ = asset.k;
  renderer.triangles_ = asset.triangle_count();
  renderer.background_ = asset.background;

  std::int64_t texture_bytes = 0;
  auto atlas = upload_texture(asset.atlas, side, max_layers, "position atlas", texture_bytes);
  if (!atlas) return atlas.status().with_context("light-field renderer");
  renderer.atlas_ = *atlas;
  auto directions =
      upload_texture(asset.direction_map, side, max_layers, "direction map", texture_bytes);
  if (!directions) return directions.status().with_context("light-field renderer");
  renderer.directions_ = *directions;
  renderer.texture_bytes_ = texture_bytes;
  ledger.add(GpuResourceKind::kTexture, texture_bytes);

  // Interleaved float x, y, z, s, t: the format's 20 bytes per vertex.
  std::vector<float> vertices(5 * asset.positions.size());
  for (size_t v = 0; v < asset.positions.size(); ++v) {
    vertices[5 * v + 0] = asset.positions[v].x;
    vertices[5 * v + 1] = asset.positions[v].y;
    vertices[5 * v + 2] = asset.positions[v].z;
    vertices[5 * v + 3] = asset.uvs[v].x;
    vertices[5 * v + 4] = asset.uvs[v].y;
  }
  drain_gl_errors();
  glGenVertexArrays(1, &renderer.vertex_array_);
  glBindVertexArray(renderer.vertex_array_);
  glGenBuffers(1, &renderer.vertex_buffer_);
  glBindBuffer(GL_ARRAY_BUFFER, renderer.vertex_buffer_);
  const auto vertex_bytes = static_cast<GLsizeiptr>(vertices.size() * sizeof(float));
  glBufferData(GL_ARRAY_BUFFER, vertex_bytes, vertices.data(), GL_STATIC_DRAW);
  glEnableVertexAttribArray(0);
  glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 20, nullptr);
  glEnableVertexAttribArray(1);
  glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, 20, reinterpret_cast<const void*>(12));
  GLsizeiptr index_bytes = 0;
  if (!asset.unshared) {
    glGenBuffers(1, &renderer.index_buffer_);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, renderer.index_buffer_);
    index_bytes = static_cast<GLsizeiptr>(asset.triangles.size() * sizeof(std::uint32_t));
    glBufferData(GL_ELEMENT_ARRAY_BUFFER, index_bytes, asset.triangles.data(), GL_STATIC_DRAW);
  }
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
  renderer.buffer_bytes_ = vertex_bytes + index_bytes;
  ledger.add(GpuResourceKind::kBuffer, renderer.buffer_bytes_);
  FOVEA_RETURN_IF_ERROR(check_gl_error("uploading the light-field mesh"));

  const std::string defines =
      "#define LF_K4 " + std::to_string(asset.k / 4) + "\n#define LF_ATLAS_TILED " +
      (renderer.atlas_.tiled() ? "1" : "0") + "\n#define LF_DIRECTIONS_TILED " +
      (renderer.directions_.tiled() ? "1" : "0") + "\n";
  auto program = build_program("lightfield.vert", "lightfield.frag", defines);
  if (!program) return program.status();
  renderer.program_ = std::move(*program);
  set_static_uniforms(renderer.program_, asset, renderer.atlas_, renderer.directions_);
  renderer.view_projection_location_ = renderer.program_.uniform_location("u_view_projection");
  renderer.eye_location_ = renderer.program_.uniform_location("u_eye");

  if (options.allow_multiview && multiview_available()) {
    auto multiview = build_program("lightfield_multiview.vert", "lightfield.frag", defines);
    if (!multiview) return multiview.status().with_context("the GL_OVR_multiview2 program");
    renderer.multiview_program_ = std::move(*multiview);
    set_static_uniforms(renderer.multiview_program_, asset, renderer.atlas_,
                        renderer.directions_);
    renderer.multiview_view_projections_location_ =
        renderer.multiview_program_.uniform_location("u_view_projections");
    renderer.multiview_eyes_location_ = renderer.multiview_program_.uniform_location("u_eyes");
  }
  FOVEA_RETURN_IF_ERROR(check_gl_error("setting up the light-field shader"));
  return renderer;
}

LightFieldRenderer::LightFieldRenderer(LightFieldRenderer&& other) noexcept {
  *this = std::move(other);
}

LightFieldRenderer& LightFieldRenderer::operator=(LightFieldRenderer&& other) noexcept {
  if (this != &other) {
    release();
    ledger_ = std::exchange(other.ledger_, nullptr);
    program_ = std::move(other.program_);
    multiview_program_ = std::move(other.multiview_program_);
    atlas_ = std::exchange(other.atlas_, {});
    directions_ = std::exchange(other.directions_, {});
    vertex_array_ = std::exchange(other.vertex_array_, 0);
    vertex_buffer_ = std::exchange(other.vertex_buffer_, 0);
    index_buffer_ = std::exchange(other.index_buffer_, 0);
    view_projection_location_ = other.view_projection_location_;
    eye_location_ = other.eye_location_;
    multiview_view_projections_location_ = other.multiview_view_projections_location_;
    multiview_eyes_location_ = other.multiview_eyes_location_;
    k_ = other.k_;
    triangles_ = other.triangles_;
    background_ = other.background_;
    texture_bytes_ = std::exchange(other.texture_bytes_, 0);
    buffer_bytes_ = std::exchange(other.buffer_bytes_, 0);
  }
  return *this;
}

LightFieldRenderer::~LightFieldRenderer() {
  release();
}

void LightFieldRenderer::release() noexcept {
  if (atlas_.texture != 0) glDeleteTextures(1, &atlas_.texture);
  if (directions_.texture != 0) glDeleteTextures(1, &directions_.texture);
  if (vertex_array_ != 0) glDeleteVertexArrays(1, &vertex_array_);
  if (vertex_buffer_ != 0) glDeleteBuffers(1, &vertex_buffer_);
  if (index_buffer_ != 0) glDeleteBuffers(1, &index_buffer_);
  if (ledger_ != nullptr) {
    ledger_->remove(GpuResourceKind::kTexture, texture_bytes_);
    ledger_->remove(GpuResourceKind::kBuffer, buffer_bytes_);
  }
  atlas_.texture = directions_.texture = 0;
  vertex_array_ = vertex_buffer_ = index_buffer_ = 0;
  ledger_ = nullptr;
  texture_bytes_ = buffer_bytes_ = 0;
}

void LightFieldRenderer::clear() const {
  glClearColor(background_.r, background_.g, background_.b, background_.a);
  glClearDepthf(1.0f);
  glDepthMask(GL_TRUE);
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
}

void LightFieldRenderer::bind_textures() const {
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D_ARRAY, atlas_.texture);
  glActiveTexture(GL_TEXTURE1);
  glBindTexture(GL_TEXTURE_2D_ARRAY, directions_.texture);
  glActiveTexture(GL_TEXTURE0);
}

void LightFieldRenderer::draw_mesh() const {
  glBindVertexArray(vertex_array_);
  if (index_buffer_ != 0)
    glDrawElements(GL_TRIANGLES, 3 * triangles_, GL_UNSIGNED_INT, nullptr);
  else
    glDrawArrays(GL_TRIANGLES, 0, 3 * triangles_);
  glBindVertexArray(0);
}

void LightFieldRenderer::draw(const glm::mat4& view, const glm::mat4& projection) const {
  glEnable(GL_DEPTH_TEST);
  glDepthFunc(GL_LESS);
  glDepthMask(GL_TRUE);
  // The mesh is not consistently wound: both faces are drawn.
  glDisable(GL_CULL_FACE);
  glDisable(GL_BLEND);
  program_.use();
  const glm::mat4 view_projection = projection * view;
  glUniformMatrix4fv(view_projection_location_, 1, GL_FALSE, glm::value_ptr(view_projection));
  const glm::vec3 eye = eye_position(view);
  glUniform3fv(eye_location_, 1, glm::value_ptr(eye));
  bind_textures();
  draw_mesh();
}

Status LightFieldRenderer::draw_stereo(const StereoTarget& target, const EyeView& left,
                                       const EyeView& right, bool clear_first) const {
  if (target.width() <= 0) return Status(ErrorCode::kInvalidArgument, "empty stereo target");
  if (target.multiview() && has_multiview()) {
    target.bind_multiview();
    if (clear_first) clear();
    glEnable(GL_DEPTH_TEST);
    glDepthFunc(GL_LESS);
    glDepthMask(GL_TRUE);
    glDisable(GL_CULL_FACE);
    glDisable(GL_BLEND);
    multiview_program_.use();
    const glm::mat4 view_projections[2] = {left.projection * left.view,
                                           right.projection * right.view};
    const glm::vec3 eyes[2] = {eye_position(left.view), eye_position(right.view)};
    glUniformMatrix4fv(multiview_view_projections_location_, 2, GL_FALSE,
                       glm::value_ptr(view_projections[0]));
    glUniform3fv(multiview_eyes_location_, 2, glm::value_ptr(eyes[0]));
    bind_textures();
    draw_mesh();
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
