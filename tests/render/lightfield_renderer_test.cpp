// The light-field renderer on llvmpipe: against the CPU reference, tiled and indexed paths,
// GPU memory accounting, depth composition with other geometry, stereo parallax, a golden.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <glm/gtc/matrix_transform.hpp>
#include <glm/gtc/type_ptr.hpp>

#include "fovea/render/gl_resources.h"
#include "fovea/render/image_compare.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/lightfield_reference.h"
#include "fovea/render/lightfield_renderer.h"
#include "fovea/render/pinhole_camera.h"
#include "fovea/render/png_file.h"
#include "fovea/render/shader_program.h"
#include "fovea/render/stereo_target.h"
#include "support/gl_test_context.h"
#include "support/golden_image.h"

namespace fovea::render {
namespace {

constexpr double kMinPsnrVsReference = 45.0;
constexpr LightFieldPasses kAllPasses[] = {
    LightFieldPasses::kDeferred, LightFieldPasses::kDepthPrepass, LightFieldPasses::kForward};

const char* pass_tag(LightFieldPasses passes) {
  return passes == LightFieldPasses::kDeferred       ? "deferred"
         : passes == LightFieldPasses::kDepthPrepass ? "prepass"
                                                     : "forward";
}

PinholeCamera default_camera(const LightFieldAsset& asset, int width, int height) {
  return PinholeCamera::look_at(glm::dvec3(asset.camera.eye), glm::dvec3(asset.camera.target),
                                glm::dvec3(asset.camera.up), asset.camera.fovy, width, height);
}

LightFieldRenderer make_renderer(const LightFieldAsset& asset,
                                 const LightFieldRendererOptions& options = {}) {
  GlPlatform& platform = testing::gl_context();
  auto renderer = LightFieldRenderer::create(platform.gpu_memory(), asset, options);
  REQUIRE_MESSAGE(renderer.is_ok(), renderer.status().to_string());
  return std::move(*renderer);
}

ImageRgba8 render_gl(const LightFieldRenderer& renderer, const PinholeCamera& camera,
                     double near_plane, double far_plane) {
  GlPlatform& platform = testing::gl_context();
  auto target = OffscreenTarget::create(platform.gpu_memory(), camera.width, camera.height);
  REQUIRE(target.is_ok());
  target->bind();
  renderer.clear();
  renderer.draw(camera.view(), camera.projection(near_plane, far_plane));
  REQUIRE(check_gl_error("drawing the light field").is_ok());
  return target->read_back();
}

double psnr(const ImageRgba8& a, const ImageRgba8& b) {
  auto comparison = compare_images(a, b, {});
  REQUIRE(comparison.is_ok());
  return comparison->psnr_db;
}

void save_on_failure(bool passed, const std::string& name, const ImageRgba8& gl,
                     const ImageRgba8& cpu) {
  if (passed) return;
  const std::string dir = testing::test_output_dir("lightfield");
  CHECK(write_png(dir + "/" + name + ".gl.png", gl).is_ok());
  CHECK(write_png(dir + "/" + name + ".cpu.png", cpu).is_ok());
  MESSAGE("wrote " << dir << "/" << name << ".{gl,cpu}.png");
}

// The share of pixels that are not the background (white).
double coverage(const ImageRgba8& image) {
  size_t covered = 0;
  for (size_t i = 0; i < image.pixels.size(); i += 4)
    if (image.pixels[i] != 255 || image.pixels[i + 1] != 255 || image.pixels[i + 2] != 255)
      ++covered;
  return double(covered) / (double(image.width) * image.height);
}

TEST_CASE("lightfield renderer: GL matches the CPU reference on the procedural asset") {
  struct Pose {
    const char* name;
    int k;
    glm::dvec3 eye;
    int width, height;
    double cx_shift;  // principal point offset in pixels (an off-centre camera)
  };
  const Pose poses[] = {
      {"default_k8", 8, {2.6, -3.4, 2.1}, 256, 256, 0.0},
      {"behind_k8", 8, {-2.9, 2.7, 1.2}, 320, 240, 0.0},
      {"low_close_k4", 4, {1.2, -1.9, 0.1}, 240, 200, 0.0},
      {"above_k32", 32, {0.3, -0.6, 4.2}, 256, 256, 0.0},
      {"offcentre_k16", 16, {3.3, 1.4, 1.6}, 300, 220, 37.0},
  };
  for (const Pose& pose : poses) {
    const LightFieldAsset asset = make_procedural_lightfield_asset({.k = pose.k});
    PinholeCamera camera = PinholeCamera::look_at(pose.eye, {0.0, 0.0, 0.0}, {0.0, 0.0, 1.0}, 0.69,
                                                  pose.width, pose.height);
    camera.cx += pose.cx_shift;
    const ImageRgba8 cpu = LightFieldReference(asset).render(camera, 0.1, 20.0);
    for (LightFieldPasses passes : kAllPasses) {
      const std::string name = std::string(pose.name) + "_" + pass_tag(passes);
      CAPTURE(name);
      const LightFieldRenderer renderer = make_renderer(asset, {.passes = passes});
      const ImageRgba8 gl = render_gl(renderer, camera, 0.1, 20.0);
      auto comparison = compare_images(gl, cpu, {.max_channel_difference = 2});
      REQUIRE(comparison.is_ok());
      const double db = comparison->psnr_db;
      MESSAGE(name << ": GL vs CPU reference " << db << " dB; "
                   << comparison->differing_fraction * 100.0
                   << "% of pixels differ by more than 2, "
                   << "at most by " << comparison->largest_channel_difference << "; coverage "
                   << coverage(cpu));
      CHECK(coverage(cpu) > 0.15);
      CHECK(db >= kMinPsnrVsReference);
      save_on_failure(db >= kMinPsnrVsReference, name, gl, cpu);
    }
  }
}

TEST_CASE("lightfield renderer: forward, depth pre-pass and deferred draw the same picture") {
  const LightFieldAsset asset = make_procedural_lightfield_asset({.k = 16});
  const PinholeCamera camera = default_camera(asset, 224, 176);
  const ImageRgba8 forward =
      render_gl(make_renderer(asset, {.passes = LightFieldPasses::kForward}), camera, 0.1, 20.0);
  for (LightFieldPasses passes : {LightFieldPasses::kDepthPrepass, LightFieldPasses::kDeferred}) {
    CAPTURE(pass_tag(passes));
    const ImageRgba8 other = render_gl(make_renderer(asset, {.passes = passes}), camera, 0.1, 20.0);
    auto comparison = compare_images(other, forward, {.max_channel_difference = 0});
    REQUIRE(comparison.is_ok());
    // The same texels and sums; at most a pixel or two where two surfaces tie in depth.
    CHECK(comparison->differing_fraction <= 0.0005);
  }
}

TEST_CASE("lightfield renderer: deferred finds the view direction under any depth range") {
  // The resolve rebuilds each pixel's x - e from the G-buffer's window depth, so it must undo
  // glDepthRangef. Under a perspective projection the direction does not depend on the depth;
  // an orthographic one makes it (x - e for the camera centre e), so a wrong depth shows.
  GlPlatform& platform = testing::gl_context();
  const LightFieldAsset asset = make_procedural_lightfield_asset({.k = 16});
  const PinholeCamera camera = default_camera(asset, 200, 160);
  const glm::mat4 view = camera.view();
  const glm::mat4 projection = glm::ortho(-2.5f, 2.5f, -2.0f, 2.0f, 0.5f, 12.0f);
  auto target = OffscreenTarget::create(platform.gpu_memory(), camera.width, camera.height);
  REQUIRE(target.is_ok());
  auto draw = [&](LightFieldPasses passes) {
    const LightFieldRenderer renderer = make_renderer(asset, {.passes = passes});
    target->bind();
    renderer.clear();
    glDepthRangef(0.25f, 0.75f);
    renderer.draw(view, projection);
    glDepthRangef(0.0f, 1.0f);
    REQUIRE(check_gl_error("drawing the light field").is_ok());
    return target->read_back();
  };
  const ImageRgba8 forward = draw(LightFieldPasses::kForward);
  const ImageRgba8 deferred = draw(LightFieldPasses::kDeferred);
  CHECK(coverage(forward) > 0.15);
  auto comparison = compare_images(deferred, forward, {.max_channel_difference = 0});
  REQUIRE(comparison.is_ok());
  CHECK(comparison->differing_fraction <= 0.0005);
}

TEST_CASE("lightfield renderer: deferred draws into any viewport of the bound framebuffer") {
  GlPlatform& platform = testing::gl_context();
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  const LightFieldRenderer renderer = make_renderer(asset, {.passes = LightFieldPasses::kDeferred});
  const PinholeCamera camera = default_camera(asset, 128, 112);
  const ImageRgba8 whole = render_gl(renderer, camera, 0.1, 20.0);
  CHECK(renderer.scratch_bytes() == 128 * 112 * 8);
  // The same view in the right half of a target twice as wide, its left half left alone.
  auto target = OffscreenTarget::create(platform.gpu_memory(), 256, 112);
  REQUIRE(target.is_ok());
  target->bind();
  glClearColor(0.0f, 0.0f, 1.0f, 1.0f);
  glClearDepthf(1.0f);
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  glViewport(128, 0, 128, 112);
  renderer.draw(camera.view(), camera.projection(0.1, 20.0));
  GLint viewport[4];
  glGetIntegerv(GL_VIEWPORT, viewport);
  CHECK(viewport[0] == 128);
  CHECK(viewport[2] == 128);
  const ImageRgba8 halves = target->read_back();
  int mismatched = 0, light_field = 0;
  for (int y = 0; y < 112; ++y)
    for (int x = 0; x < 128; ++x) {
      const std::uint8_t* left = halves.pixel(x, y);
      CHECK(left[2] == 255);  // untouched: the clear colour
      const std::uint8_t* right = halves.pixel(128 + x, y);
      const std::uint8_t* expected = whole.pixel(x, y);
      // The background shows as the clear colour here (the renderer did not clear).
      const bool background = expected[0] == 255 && expected[1] == 255 && expected[2] == 255;
      if (background) continue;
      ++light_field;
      if (std::memcmp(right, expected, 3) != 0) ++mismatched;
    }
  CHECK(light_field > 1000);
  CHECK(mismatched == 0);
  // The renderer scissors its passes to the mesh's rectangle and leaves the caller's scissor
  // state as it was; with the caller's scissor on, nothing outside its box changes.
  CHECK_FALSE(glIsEnabled(GL_SCISSOR_TEST));
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  glEnable(GL_SCISSOR_TEST);
  glScissor(128, 0, 64, 112);
  renderer.draw(camera.view(), camera.projection(0.1, 20.0));
  GLint box[4];
  glGetIntegerv(GL_SCISSOR_BOX, box);
  CHECK(glIsEnabled(GL_SCISSOR_TEST));
  CHECK((box[0] == 128 && box[1] == 0 && box[2] == 64 && box[3] == 112));
  glDisable(GL_SCISSOR_TEST);
  const ImageRgba8 scissored = target->read_back();
  int inside = 0, outside_changed = 0;
  for (int y = 0; y < 112; ++y)
    for (int x = 0; x < 128; ++x) {
      const std::uint8_t* pixel = scissored.pixel(128 + x, y);
      const std::uint8_t* expected = whole.pixel(x, y);
      const bool background = expected[0] == 255 && expected[1] == 255 && expected[2] == 255;
      if (x >= 64) {
        if (!(pixel[0] == 0 && pixel[1] == 0 && pixel[2] == 255)) ++outside_changed;
      } else if (!background) {
        ++inside;
        CHECK(std::memcmp(pixel, expected, 3) == 0);
      }
    }
  CHECK(inside > 300);
  CHECK(outside_changed == 0);
}

TEST_CASE("lightfield renderer: the CPU reference is not trivially equal to GL's picture") {
  // Guards the comparison above: a reference that ignored the view direction or the atlas
  // would differ from itself under a changed asset.
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  LightFieldAsset flat = asset;
  std::fill(flat.direction_map.texels.begin(), flat.direction_map.texels.end(), 0);
  const PinholeCamera camera = default_camera(asset, 128, 128);
  const ImageRgba8 a = LightFieldReference(asset).render(camera, 0.1, 20.0);
  const ImageRgba8 b = LightFieldReference(flat).render(camera, 0.1, 20.0);
  CHECK(psnr(a, b) < 30.0);
  // And the GL renderer sees the same change.
  CHECK(psnr(render_gl(make_renderer(asset), camera, 0.1, 20.0),
             render_gl(make_renderer(flat), camera, 0.1, 20.0)) < 30.0);
}

TEST_CASE("lightfield renderer: textures split into tiles render the same picture") {
  const LightFieldAsset asset =
      make_procedural_lightfield_asset({.k = 8, .direction_resolution = 32});
  const PinholeCamera camera = default_camera(asset, 200, 160);
  const LightFieldRenderer whole = make_renderer(asset);
  CHECK_FALSE(whole.atlas().tiled());
  // 16-texel tiles: the atlas (117 x 104) becomes 8 x 7 tiles, the 32 x 32 map 2 x 2.
  const LightFieldRenderer tiled = make_renderer(asset, {.max_texture_side = 16});
  const LightFieldTextureLayout& atlas = tiled.atlas();
  CHECK(atlas.tiled());
  CHECK(atlas.tiles_x ==
        (asset.atlas.width + 16 / atlas.block.width - 1) / (16 / atlas.block.width));
  CHECK(atlas.tiles_y ==
        (asset.atlas.height + 16 / atlas.block.height - 1) / (16 / atlas.block.height));
  CHECK(tiled.direction_map().tiles_x == 2);
  CHECK(atlas.tile_width * atlas.block.width <= 16);
  CHECK(atlas.tile_height * atlas.block.height <= 16);
  const ImageRgba8 a = render_gl(whole, camera, 0.1, 20.0);
  const ImageRgba8 b = render_gl(tiled, camera, 0.1, 20.0);
  CHECK(a.pixels == b.pixels);
  // Uneven tiles too (a side that does not divide).
  const LightFieldRenderer uneven = make_renderer(asset, {.max_texture_side = 50});
  CHECK(render_gl(uneven, camera, 0.1, 20.0).pixels == a.pixels);
}

// The renderer's RGBA32UI texture of `layout`, read back one array layer at a time: words
// [layer][y][x][4].
std::vector<std::vector<std::uint32_t>> read_back_layers(const LightFieldTextureLayout& layout) {
  const int width = layout.tile_width * layout.block.width;
  const int height = layout.tile_height * layout.block.height;
  std::vector<std::vector<std::uint32_t>> layers;
  GLuint framebuffer = 0;
  glGenFramebuffers(1, &framebuffer);
  glBindFramebuffer(GL_FRAMEBUFFER, framebuffer);
  for (int layer = 0; layer < layout.tiles_x * layout.tiles_y; ++layer) {
    glFramebufferTextureLayer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, layout.texture, 0, layer);
    REQUIRE(glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE);
    std::vector<std::uint32_t> words(std::size_t{4} * width * height);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    glReadPixels(0, 0, width, height, GL_RGBA_INTEGER, GL_UNSIGNED_INT, words.data());
    layers.push_back(std::move(words));
  }
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  glDeleteFramebuffers(1, &framebuffer);
  REQUIRE(check_gl_error("reading the light-field textures back").is_ok());
  return layers;
}

// Every RGBA8 layer's texel of `section` at (i, j), found where LightFieldTextureLayout says
// it lies (tile, block, packed texel, word, byte), equals the asset's.
void check_layout_round_trip(const LightFieldTexture& section,
                             const LightFieldTextureLayout& layout,
                             const std::vector<std::vector<std::uint32_t>>& stored, int i, int j) {
  const int tx = i / layout.tile_width, ty = j / layout.tile_height;
  const std::vector<std::uint32_t>& words = stored[ty * layout.tiles_x + tx];
  const int stored_width = layout.tile_width * layout.block.width;
  for (int layer = 0; layer < section.layers; ++layer) {
    const int p = layer / 4, q = layer % 4;
    const int x = (i - tx * layout.tile_width) * layout.block.width + p % layout.block.width;
    const int y = (j - ty * layout.tile_height) * layout.block.height + p / layout.block.width;
    const std::uint32_t word = words[4 * (std::size_t(y) * stored_width + x) + q];
    const std::uint8_t* rgba = section.texel(layer, i, j);
    for (int c = 0; c < 4; ++c) {
      CAPTURE(layer);
      CAPTURE(c);
      CHECK(((word >> (8 * c)) & 0xffu) == rgba[c]);
    }
  }
  // Past the last RGBA8 layer, a partly used packed texel's words and unused block places are 0.
  for (int p = 0; p < layout.block.width * layout.block.height; ++p)
    for (int q = 0; q < 4; ++q) {
      if (4 * p + q < section.layers) continue;
      const int x = (i - tx * layout.tile_width) * layout.block.width + p % layout.block.width;
      const int y = (j - ty * layout.tile_height) * layout.block.height + p / layout.block.width;
      CHECK(words[4 * (std::size_t(y) * stored_width + x) + q] == 0u);
    }
}

TEST_CASE("lightfield renderer: packed blocks round-trip every layer of every sampled texel") {
  // k = 32 (the atlas's 24 layers in 6 packed texels, the map's 8 in 2) and k = 8 (2 and 1),
  // each in the default blocks, other blocks (one wasting places) and tiled.
  struct Case {
    int k;
    LightFieldBlock atlas_block, direction_block;
    int max_side;
  };
  const Case cases[] = {{32, {0, 0}, {0, 0}, 0}, {32, {6, 1}, {2, 1}, 0},  {32, {1, 6}, {1, 2}, 0},
                        {32, {4, 2}, {1, 3}, 0}, {32, {0, 0}, {0, 0}, 20}, {8, {0, 0}, {0, 0}, 0},
                        {8, {0, 0}, {0, 0}, 16}, {12, {0, 0}, {0, 0}, 0}};
  std::uint32_t random = 12345;
  auto next = [&](int below) {
    random = random * 1664525u + 1013904223u;
    return static_cast<int>((random >> 8) % static_cast<std::uint32_t>(below));
  };
  for (const Case& c : cases) {
    CAPTURE(c.k);
    CAPTURE(c.atlas_block.width);
    CAPTURE(c.max_side);
    const LightFieldAsset asset = make_procedural_lightfield_asset({.k = c.k});
    const LightFieldRenderer renderer =
        make_renderer(asset, {.max_texture_side = c.max_side,
                              .atlas_block = c.atlas_block,
                              .direction_block = c.direction_block});
    for (const auto& [section, layout] :
         {std::pair{&asset.atlas, &renderer.atlas()},
          std::pair{&asset.direction_map, &renderer.direction_map()}}) {
      CHECK(layout->packed_layers == (section->layers + 3) / 4);
      CHECK(layout->block.width * layout->block.height >= layout->packed_layers);
      const auto stored = read_back_layers(*layout);
      // Corners and random texels.
      check_layout_round_trip(*section, *layout, stored, 0, 0);
      check_layout_round_trip(*section, *layout, stored, section->width - 1, section->height - 1);
      for (int n = 0; n < 200; ++n)
        check_layout_round_trip(*section, *layout, stored, next(section->width),
                                next(section->height));
    }
  }
}

TEST_CASE("lightfield renderer: every block layout draws the same picture") {
  // The shader finds packed texel p at (p % W, p / W) in the block; any block (and tiles of
  // blocks) gives the same integer words, so the same picture.
  const LightFieldAsset asset = make_procedural_lightfield_asset({.k = 32});
  const PinholeCamera camera = default_camera(asset, 200, 160);
  const ImageRgba8 reference = render_gl(make_renderer(asset), camera, 0.1, 20.0);
  CHECK(coverage(reference) > 0.15);
  const LightFieldRendererOptions layouts[] = {
      {.atlas_block = {6, 1}, .direction_block = {2, 1}},
      {.atlas_block = {1, 6}, .direction_block = {1, 2}},
      {.atlas_block = {2, 3}, .direction_block = {2, 1}},
      {.atlas_block = {4, 2}, .direction_block = {2, 2}},
      {.max_texture_side = 16},
      {.max_texture_side = 30, .atlas_block = {6, 1}, .direction_block = {1, 2}},
  };
  for (const LightFieldRendererOptions& options : layouts) {
    CAPTURE(options.atlas_block.width);
    CAPTURE(options.max_texture_side);
    for (LightFieldPasses passes : {LightFieldPasses::kDeferred, LightFieldPasses::kForward}) {
      LightFieldRendererOptions with = options;
      with.passes = passes;
      const ImageRgba8 image = render_gl(make_renderer(asset, with), camera, 0.1, 20.0);
      auto comparison = compare_images(image, reference, {.max_channel_difference = 0});
      REQUIRE(comparison.is_ok());
      CHECK(comparison->differing_fraction <= 0.0005);
    }
  }
}

TEST_CASE("lightfield renderer: an indexed mesh draws the same picture as an unshared one") {
  const LightFieldAsset unshared = make_procedural_lightfield_asset();
  const LightFieldAsset indexed = make_procedural_lightfield_asset({.indexed = true});
  const PinholeCamera camera = default_camera(unshared, 160, 160);
  const LightFieldRenderer a = make_renderer(unshared);
  const LightFieldRenderer b = make_renderer(indexed);
  CHECK(b.buffer_bytes() == a.buffer_bytes() + 12 * indexed.triangle_count());
  CHECK(render_gl(a, camera, 0.1, 20.0).pixels == render_gl(b, camera, 0.1, 20.0).pixels);
}

// The asset with every triangle one-sided, wound as given or turned over.
LightFieldAsset all_one_sided(LightFieldAsset asset, bool turned) {
  asset.one_sided_triangles = static_cast<std::uint32_t>(asset.triangle_count());
  if (turned)
    for (size_t t = 0; t < asset.triangles.size(); t += 3)
      std::swap(asset.triangles[t + 1], asset.triangles[t + 2]);
  return asset;
}

TEST_CASE("lightfield renderer: one-sided triangles are culled as the CPU reference culls them") {
  // The procedural mesh has closed shapes and a ground square, so either winding hides some of
  // what is seen: the two pictures differ from each other, and GL must agree with the
  // reference on both (the reference skips a one-sided triangle whose clockwise side the ray
  // meets; GL culls back faces with counter-clockwise fronts).
  const LightFieldAsset base = make_procedural_lightfield_asset({.k = 8});
  for (const glm::dvec3 eye : {glm::dvec3(2.6, -3.4, 2.1), glm::dvec3(0.3, -0.6, 4.2)}) {
    PinholeCamera camera =
        PinholeCamera::look_at(eye, {0.0, 0.0, 0.0}, {0.0, 0.0, 1.0}, 0.69, 200, 200);
    ImageRgba8 cpu_pictures[2];
    for (int turned = 0; turned < 2; ++turned) {
      const LightFieldAsset asset = all_one_sided(base, turned != 0);
      cpu_pictures[turned] = LightFieldReference(asset).render(camera, 0.1, 20.0);
      for (LightFieldPasses passes : kAllPasses) {
        CAPTURE(pass_tag(passes));
        CAPTURE(turned);
        const ImageRgba8 gl =
            render_gl(make_renderer(asset, {.passes = passes}), camera, 0.1, 20.0);
        const double db = psnr(gl, cpu_pictures[turned]);
        CHECK(db >= kMinPsnrVsReference);
        save_on_failure(db >= kMinPsnrVsReference,
                        std::string("one_sided_") + pass_tag(passes) + (turned ? "_turned" : ""),
                        gl, cpu_pictures[turned]);
      }
    }
    CHECK(psnr(cpu_pictures[0], cpu_pictures[1]) < 30.0);
  }
}

TEST_CASE(
    "lightfield renderer: a mesh of one-sided triangles facing the camera draws as two-sided") {
  // Turn every triangle so its counter-clockwise side faces the camera: culling then removes
  // nothing the camera could see, and the picture is the two-sided one.
  LightFieldAsset asset = make_procedural_lightfield_asset({.k = 8});
  const PinholeCamera camera = default_camera(asset, 160, 160);
  const glm::vec3 eye(asset.camera.eye);
  const ImageRgba8 two_sided = render_gl(make_renderer(asset), camera, 0.1, 20.0);
  for (size_t t = 0; t < asset.triangles.size(); t += 3) {
    const glm::vec3 a = asset.positions[asset.triangles[t]];
    const glm::vec3 n = glm::cross(asset.positions[asset.triangles[t + 1]] - a,
                                   asset.positions[asset.triangles[t + 2]] - a);
    if (glm::dot(n, eye - a) < 0.0f) std::swap(asset.triangles[t + 1], asset.triangles[t + 2]);
  }
  asset.unshared = false;  // turning the index list breaks 0, 1, 2, ...
  asset.one_sided_triangles = static_cast<std::uint32_t>(asset.triangle_count());
  CHECK(psnr(render_gl(make_renderer(asset), camera, 0.1, 20.0), two_sided) >= 60.0);
}

TEST_CASE("lightfield renderer: GPU memory is counted in the ledger for the renderer's life") {
  GlPlatform& platform = testing::gl_context();
  const std::int64_t before = platform.gpu_memory().current_bytes();
  const std::int64_t textures_before =
      platform.gpu_memory().current_bytes(GpuResourceKind::kTexture);
  for (bool indexed : {false, true}) {
    const LightFieldAsset asset = make_procedural_lightfield_asset({.k = 16, .indexed = indexed});
    {
      const LightFieldRenderer renderer = make_renderer(asset);
      // k = 16: layer counts (12 and 4) are multiples of 4, so packing adds nothing.
      CHECK(renderer.gpu_bytes() == asset.gpu_bytes());
      CHECK(renderer.texture_bytes() == asset.atlas.bytes() + asset.direction_map.bytes());
      CHECK(platform.gpu_memory().current_bytes() - before == asset.gpu_bytes());
      CHECK(platform.gpu_memory().current_bytes(GpuResourceKind::kTexture) - textures_before ==
            renderer.texture_bytes());
      // Moving keeps one owner of the bytes.
      LightFieldRenderer moved = make_renderer(asset);
      LightFieldRenderer other = std::move(moved);
      CHECK(platform.gpu_memory().current_bytes() - before == 2 * asset.gpu_bytes());
    }
    CHECK(platform.gpu_memory().current_bytes() == before);
  }
  // k = 8: the renderer packs RGBA8 layers four to a texel, so the atlas's 6 layers take 8 and
  // the direction map's 2 take 4 (the default blocks have no unused places).
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  REQUIRE(asset.k == 8);
  {
    const LightFieldRenderer renderer = make_renderer(asset);
    CHECK(renderer.texture_bytes() ==
          asset.atlas.layer_bytes() * 8 + asset.direction_map.layer_bytes() * 4);
    CHECK(renderer.gpu_bytes() == renderer.texture_bytes() + renderer.buffer_bytes());
    CHECK(platform.gpu_memory().current_bytes() - before == renderer.gpu_bytes());
    // kDeferred's G-buffer (8 bytes a pixel) is counted while it lives, and resized with the
    // viewport.
    CHECK(renderer.passes() == LightFieldPasses::kDeferred);
    CHECK(renderer.scratch_bytes() == 0);
    const ImageRgba8 image = render_gl(renderer, default_camera(asset, 64, 48), 0.1, 20.0);
    CHECK(renderer.scratch_bytes() == 64 * 48 * 8);
    CHECK(platform.gpu_memory().current_bytes() - before ==
          renderer.gpu_bytes() + renderer.scratch_bytes());
    (void)render_gl(renderer, default_camera(asset, 32, 40), 0.1, 20.0);
    CHECK(renderer.scratch_bytes() == 32 * 40 * 8);
    CHECK(platform.gpu_memory().current_bytes() - before ==
          renderer.gpu_bytes() + renderer.scratch_bytes());
  }
  CHECK(platform.gpu_memory().current_bytes() == before);
}

TEST_CASE("lightfield renderer: an asset the renderer cannot draw is an error") {
  testing::gl_context();
  GpuMemoryLedger ledger;
  LightFieldAsset asset = make_procedural_lightfield_asset();
  asset.atlas.layers = 5;
  auto renderer = LightFieldRenderer::create(ledger, asset);
  CHECK(renderer.status().code() == ErrorCode::kInvalidArgument);
  // Tiles so small that the array texture would need more layers than the context has: k = 64
  // packs the atlas's 48 layers in blocks of 6 x 2 texels, one block a tile in tiles of 6.
  asset = make_procedural_lightfield_asset({.k = 64});
  GLint max_layers = 0;
  glGetIntegerv(GL_MAX_ARRAY_TEXTURE_LAYERS, &max_layers);
  REQUIRE(std::int64_t{asset.atlas.width} * ((asset.atlas.height + 2) / 3) > max_layers);
  auto too_many = LightFieldRenderer::create(ledger, asset, {.max_texture_side = 6});
  CHECK(too_many.status().code() == ErrorCode::kUnavailable);
  CHECK(too_many.status().message().find("GL_MAX_ARRAY_TEXTURE_LAYERS") != std::string::npos);
  // Tiles smaller than one block.
  auto too_small = LightFieldRenderer::create(ledger, asset, {.max_texture_side = 4});
  CHECK(too_small.status().code() == ErrorCode::kUnavailable);
  CHECK(too_small.status().message().find("blocks") != std::string::npos);
  CHECK(ledger.current_bytes() == 0);
}

// A flat-coloured square in the plane z = 0 (through the middle of the cube and the ball).
class MidPlane {
 public:
  MidPlane() {
    auto program = ShaderProgram::from_embedded("flat_color.vert", "flat_color.frag");
    REQUIRE(program.is_ok());
    program_ = std::move(*program);
    const float corners[] = {-3, -3, 0, 3, -3, 0, 3, 3, 0, -3, -3, 0, 3, 3, 0, -3, 3, 0};
    glGenVertexArrays(1, &vertex_array_);
    glBindVertexArray(vertex_array_);
    glGenBuffers(1, &buffer_);
    glBindBuffer(GL_ARRAY_BUFFER, buffer_);
    glBufferData(GL_ARRAY_BUFFER, sizeof corners, corners, GL_STATIC_DRAW);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 12, nullptr);
    glBindVertexArray(0);
  }
  ~MidPlane() {
    glDeleteBuffers(1, &buffer_);
    glDeleteVertexArrays(1, &vertex_array_);
  }
  void draw(const glm::mat4& view_projection) const {
    glEnable(GL_DEPTH_TEST);
    glDepthFunc(GL_LESS);
    program_.use();
    program_.set("u_model_view_projection", view_projection);
    program_.set("u_color", glm::vec4(1.0f, 0.0f, 0.0f, 1.0f));
    glBindVertexArray(vertex_array_);
    glDrawArrays(GL_TRIANGLES, 0, 6);
    glBindVertexArray(0);
  }

 private:
  ShaderProgram program_;
  GLuint vertex_array_ = 0;
  GLuint buffer_ = 0;
};

TEST_CASE("lightfield renderer: depth-tested, it composes with other geometry in either order") {
  GlPlatform& platform = testing::gl_context();
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  for (LightFieldPasses passes : kAllPasses) {
    CAPTURE(pass_tag(passes));
    const LightFieldRenderer renderer = make_renderer(asset, {.passes = passes});
    const PinholeCamera camera = default_camera(asset, 192, 160);
    const glm::mat4 view = camera.view(), projection = camera.projection(0.1, 20.0);
    const ImageRgba8 alone = render_gl(renderer, camera, 0.1, 20.0);
    auto target = OffscreenTarget::create(platform.gpu_memory(), camera.width, camera.height);
    REQUIRE(target.is_ok());
    const MidPlane plane;
    ImageRgba8 orders[2];
    for (int order = 0; order < 2; ++order) {
      target->bind();
      renderer.clear();
      if (order == 0) {
        renderer.draw(view, projection);
        plane.draw(projection * view);
      } else {
        plane.draw(projection * view);
        renderer.draw(view, projection);
      }
      REQUIRE(check_gl_error("composing").is_ok());
      orders[order] = target->read_back();
    }
    CHECK(orders[0].pixels == orders[1].pixels);
    // Where the reference's surface lies clearly above the plane the light field shows; where it
    // lies below (or there is none, and the plane is in view), the red plane does.
    const LightFieldReference reference(asset);
    int above = 0, below = 0;
    for (int y = 0; y < camera.height; y += 3)
      for (int x = 0; x < camera.width; x += 3) {
        LightFieldReference::Hit hit;
        const glm::dvec3 d = camera.ray_direction(x, y);
        const bool hits = reference.intersect(camera.eye(), d, hit);
        const double z = hits ? (camera.eye() + hit.distance * d).z : -1.0;
        const std::uint8_t* composed = orders[0].pixel(x, y);
        if (hits && z > 0.03) {
          ++above;
          const std::uint8_t* light_field = alone.pixel(x, y);
          CHECK(std::abs(int(composed[0]) - int(light_field[0])) <= 2);
          CHECK(std::abs(int(composed[1]) - int(light_field[1])) <= 2);
        } else if (z < -0.03 && d.z < 0.0) {
          const glm::dvec3 on_plane = camera.eye() + (-camera.eye().z / d.z) * d;
          if (std::abs(on_plane.x) < 2.9 && std::abs(on_plane.y) < 2.9) {
            ++below;
            CHECK(composed[0] == 255);
            CHECK(composed[1] == 0);
            CHECK(composed[2] == 0);
          }
        }
      }
    CHECK(above > 100);
    CHECK(below > 100);
  }
}

// Two parallel eyes `baseline` apart along the camera's x axis, as a headset has them.
struct StereoPair {
  PinholeCamera left, right;
};
StereoPair stereo_pair(const PinholeCamera& centre, double baseline) {
  StereoPair pair{centre, centre};
  const glm::dvec3 right_axis = glm::dvec3(centre.camera_to_world[0]);
  pair.left.camera_to_world[3] -= glm::dvec4(0.5 * baseline * right_axis, 0.0);
  pair.right.camera_to_world[3] += glm::dvec4(0.5 * baseline * right_axis, 0.0);
  return pair;
}

// The horizontal shift (in pixels, left x minus right x) that best matches a block around
// (x, y) in `left` with `right`, searched over 0..max_shift.
int best_shift(const ImageRgba8& left, const ImageRgba8& right, int x, int y, int max_shift) {
  constexpr int kRadius = 5;
  long best_cost = -1;
  int best = -1;
  for (int s = 0; s <= max_shift; ++s) {
    long cost = 0;
    for (int dy = -kRadius; dy <= kRadius; ++dy)
      for (int dx = -kRadius; dx <= kRadius; ++dx) {
        const std::uint8_t* a = left.pixel(x + dx, y + dy);
        const std::uint8_t* b = right.pixel(x + dx - s, y + dy);
        for (int c = 0; c < 3; ++c) cost += std::abs(int(a[c]) - int(b[c]));
      }
    if (best < 0 || cost < best_cost) {
      best_cost = cost;
      best = s;
    }
  }
  return best;
}

TEST_CASE("lightfield renderer: stereo eyes differ by the expected parallax (two passes)") {
  GlPlatform& platform = testing::gl_context();
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  const LightFieldRenderer renderer = make_renderer(asset);
  const PinholeCamera centre = default_camera(asset, 256, 224);
  const double baseline = 0.25;
  const StereoPair eyes = stereo_pair(centre, baseline);
  auto target = StereoTarget::create(platform.gpu_memory(), centre.width, centre.height,
                                     StereoMode::kTwoPass);
  REQUIRE_MESSAGE(target.is_ok(), target.status().to_string());
  CHECK_FALSE(target->multiview());
  const EyeView left{eyes.left.view(), eyes.left.projection(0.1, 20.0)};
  const EyeView right{eyes.right.view(), eyes.right.projection(0.1, 20.0)};
  REQUIRE(renderer.draw_stereo(*target, left, right).is_ok());
  const ImageRgba8 gl_left = target->read_back(0);
  const ImageRgba8 gl_right = target->read_back(1);

  // Each eye is its own view: it matches the reference from that eye, not from the other.
  const LightFieldReference reference(asset);
  const ImageRgba8 cpu_left = reference.render(eyes.left, 0.1, 20.0);
  const ImageRgba8 cpu_right = reference.render(eyes.right, 0.1, 20.0);
  const double left_db = psnr(gl_left, cpu_left), right_db = psnr(gl_right, cpu_right);
  MESSAGE("stereo: left " << left_db << " dB, right " << right_db << " dB vs their references; "
                          << "left vs right " << psnr(gl_left, gl_right) << " dB");
  CHECK(left_db >= kMinPsnrVsReference);
  CHECK(right_db >= kMinPsnrVsReference);
  CHECK(psnr(gl_left, cpu_right) < 30.0);
  CHECK(psnr(gl_left, gl_right) < 30.0);

  // Parallax: textured blocks on the surface move left by f * baseline / depth from the left
  // eye's image to the right eye's.
  int checked = 0, matched = 0;
  for (int y = 12; y < centre.height - 12; y += 9)
    for (int x = 60; x < centre.width - 12; x += 9) {
      LightFieldReference::Hit hit;
      const glm::dvec3 d = eyes.left.ray_direction(x, y);
      if (!reference.intersect(eyes.left.eye(), d, hit)) continue;
      const glm::dvec3 point = eyes.left.eye() + hit.distance * d;
      const double depth = -(glm::inverse(eyes.left.camera_to_world) * glm::dvec4(point, 1.0)).z;
      const double expected = centre.fx * baseline / depth;
      // Only blocks with texture can be matched.
      int lo = 255, hi = 0;
      for (int dy = -5; dy <= 5; ++dy)
        for (int dx = -5; dx <= 5; ++dx) {
          lo = std::min<int>(lo, gl_left.pixel(x + dx, y + dy)[0]);
          hi = std::max<int>(hi, gl_left.pixel(x + dx, y + dy)[0]);
        }
      if (hi - lo < 40 || x - 5 - 48 < 0) continue;
      ++checked;
      if (std::abs(best_shift(gl_left, gl_right, x, y, 48) - expected) <= 1.5) ++matched;
    }
  MESSAGE("stereo parallax: " << matched << " of " << checked
                              << " textured blocks moved by f * baseline / depth (+-1.5 px)");
  CHECK(checked >= 30);
  CHECK(matched >= checked * 8 / 10);
}

TEST_CASE("lightfield renderer: GL_OVR_multiview2 stereo matches two passes (where present)") {
  GlPlatform& platform = testing::gl_context();
  if (!multiview_available()) {
    MESSAGE("skipped: " << platform.info().renderer << " lacks GL_OVR_multiview2");
    auto refused = StereoTarget::create(platform.gpu_memory(), 8, 8, StereoMode::kMultiview);
    CHECK(refused.status().code() == ErrorCode::kUnavailable);
    return;
  }
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  const LightFieldRenderer renderer = make_renderer(asset);
  CHECK(renderer.has_multiview());
  const PinholeCamera centre = default_camera(asset, 200, 200);
  const StereoPair eyes = stereo_pair(centre, 0.25);
  const EyeView left{eyes.left.view(), eyes.left.projection(0.1, 20.0)};
  const EyeView right{eyes.right.view(), eyes.right.projection(0.1, 20.0)};
  auto multiview = StereoTarget::create(platform.gpu_memory(), 200, 200, StereoMode::kMultiview);
  auto two_pass = StereoTarget::create(platform.gpu_memory(), 200, 200, StereoMode::kTwoPass);
  REQUIRE(multiview.is_ok());
  REQUIRE(two_pass.is_ok());
  REQUIRE(renderer.draw_stereo(*multiview, left, right).is_ok());
  REQUIRE(renderer.draw_stereo(*two_pass, left, right).is_ok());
  for (int eye = 0; eye < 2; ++eye) {
    auto comparison = compare_images(multiview->read_back(eye), two_pass->read_back(eye), {});
    REQUIRE(comparison.is_ok());
    CHECK(comparison->psnr_db >= 50.0);
  }
}

TEST_CASE("golden: the procedural light field from its default camera") {
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  const PinholeCamera camera = default_camera(asset, 256, 256);
  const ImageRgba8 image =
      render_gl(make_renderer(asset), camera, asset.camera.near_plane, asset.camera.far_plane);
  testing::check_golden(
      image, "lightfield_procedural",
      {.max_channel_difference = 4, .max_differing_fraction = 0.005, .min_psnr_db = 40.0});
}

}  // namespace
}  // namespace fovea::render
