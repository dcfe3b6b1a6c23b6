// Cross-checks with the recipe's Python side (models/lightfield/): the asset make_test_asset.py
// writes loads here and renders as render_asset.py's NumPy reference renders it; the asset
// fovea's C++ writer writes reads back in Python and renders the same there. Skipped (with a
// message) where python3 has no NumPy or the scripts are missing.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fovea/render/gl_resources.h"
#include "fovea/render/image_compare.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/lightfield_reference.h"
#include "fovea/render/lightfield_renderer.h"
#include "fovea/render/pinhole_camera.h"
#include "fovea/render/png_file.h"
#include "support/gl_test_context.h"
#include "support/golden_image.h"

namespace fovea::render {
namespace {

// tests/golden is two folders below the source root.
const std::string kRecipeDir = std::string(FOVEA_GOLDEN_DIR) + "/../../models/lightfield";

// Renders ASSET from a look-at camera with render_asset.render_view and writes the picture as
// raw RGB bytes (rounded from [0, 1]). argv: recipe dir, asset, out, W, H, fovy, eye, target, up.
constexpr const char* kRenderScript = R"(
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from render_asset import read_asset, render_view
asset = read_asset(sys.argv[2])
W, H, fovy = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
eye, target, up = (np.array([float(v) for v in a.split(",")]) for a in sys.argv[7:10])
z = (eye - target) / np.linalg.norm(eye - target)
x = np.cross(up, z); x /= np.linalg.norm(x)
y = np.cross(z, x)
c2w = np.eye(4); c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
img = render_view(asset, c2w, H, W, 0.5 * H / np.tan(0.5 * fovy))
(np.clip(img, 0, 1) * 255).round().astype(np.uint8).tofile(sys.argv[3])
)";

// A python3 that imports NumPy, or empty.
std::string find_python() {
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(candidate) + " -c \"import numpy\" > /dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return candidate;
  }
  return "";
}

bool run(const std::string& command) {
  const int code = std::system((command + " 2>&1").c_str());
  if (code != 0) MESSAGE("failed (" << code << "): " << command);
  return code == 0;
}

struct View {
  int width = 160, height = 128;
  double fovy = 0.69;
  glm::dvec3 eye, target{0.0}, up{0.0, 0.0, 1.0};
};

std::string triple(const glm::dvec3& v) {
  return std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z);
}

ImageRgba8 numpy_render(const std::string& python, const std::string& asset_path, const View& view,
                        const std::string& out) {
  const std::string script = out + ".py";
  std::ofstream(script) << kRenderScript;
  REQUIRE(run(python + " " + script + " " + kRecipeDir + " " + asset_path + " " + out + " " +
              std::to_string(view.width) + " " + std::to_string(view.height) + " " +
              std::to_string(view.fovy) + " " + triple(view.eye) + " " + triple(view.target) + " " +
              triple(view.up)));
  std::ifstream file(out, std::ios::binary);
  std::vector<char> rgb((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  REQUIRE(rgb.size() == static_cast<size_t>(view.width) * view.height * 3);
  ImageRgba8 image(view.width, view.height);
  for (size_t p = 0; p < rgb.size() / 3; ++p) {
    for (int c = 0; c < 3; ++c) image.pixels[p * 4 + c] = static_cast<std::uint8_t>(rgb[p * 3 + c]);
    image.pixels[p * 4 + 3] = 255;
  }
  return image;
}

ImageRgba8 gl_render(const LightFieldAsset& asset, const View& view) {
  GlPlatform& platform = testing::gl_context();
  auto renderer = LightFieldRenderer::create(platform.gpu_memory(), asset);
  REQUIRE_MESSAGE(renderer.is_ok(), renderer.status().to_string());
  const PinholeCamera camera =
      PinholeCamera::look_at(view.eye, view.target, view.up, view.fovy, view.width, view.height);
  auto target = OffscreenTarget::create(platform.gpu_memory(), view.width, view.height);
  REQUIRE(target.is_ok());
  target->bind();
  renderer->clear();
  renderer->draw(camera.view(), camera.projection(asset.camera.near_plane, asset.camera.far_plane));
  return target->read_back();
}

void compare(const ImageRgba8& ours, const ImageRgba8& numpy, const std::string& what,
             double min_psnr) {
  auto comparison = compare_images(ours, numpy, {.max_channel_difference = 2});
  REQUIRE(comparison.is_ok());
  MESSAGE(what << ": " << comparison->psnr_db << " dB; " << comparison->differing_fraction * 100.0
               << "% of pixels differ by more than 2");
  CHECK(comparison->psnr_db >= min_psnr);
  if (comparison->psnr_db < min_psnr) {
    const std::string dir = testing::test_output_dir("lightfield_python");
    CHECK(write_png(dir + "/ours.png", ours).is_ok());
    CHECK(write_png(dir + "/numpy.png", numpy).is_ok());
  }
}

TEST_CASE(
    "lightfield python: make_test_asset.py's file renders here as render_asset.py renders it") {
  const std::string python = find_python();
  if (python.empty() || !std::filesystem::exists(kRecipeDir + "/make_test_asset.py") ||
      !std::filesystem::exists(kRecipeDir + "/render_asset.py")) {
    MESSAGE("skipped: no python3 with NumPy, or no models/lightfield/make_test_asset.py");
    return;
  }
  const std::string dir = testing::test_output_dir("lightfield_python");
  const std::string path = dir + "/test_cube.fvlf";
  REQUIRE(run(python + " " + kRecipeDir + "/make_test_asset.py " + path + " > /dev/null"));
  auto asset = load_lightfield_asset(path);
  REQUIRE_MESSAGE(asset.is_ok(), asset.status().to_string());
  MESSAGE("make_test_asset.py wrote " << asset->name << ": k = " << asset->k << ", "
                                      << asset->triangle_count() << " triangles, atlas "
                                      << asset->atlas.width << "x" << asset->atlas.height);
  View view;
  view.eye = glm::dvec3(asset->camera.eye);
  view.target = glm::dvec3(asset->camera.target);
  view.up = glm::dvec3(asset->camera.up);
  view.fovy = asset->camera.fovy;
  const ImageRgba8 numpy = numpy_render(python, path, view, dir + "/test_cube.rgb");
  compare(gl_render(*asset, view), numpy, "GL vs NumPy on make_test_asset.py's cube", 40.0);
  const LightFieldReference reference(*asset);
  const PinholeCamera camera =
      PinholeCamera::look_at(view.eye, view.target, view.up, view.fovy, view.width, view.height);
  compare(reference.render(camera, asset->camera.near_plane, asset->camera.far_plane), numpy,
          "CPU reference vs NumPy on make_test_asset.py's cube", 40.0);
}

TEST_CASE(
    "lightfield python: the committed test_cube.fvlf loads and GL matches the CPU reference") {
  // The spec's check file (docs/lightfield-asset.md, "Shading"); no Python needed.
  const std::string path = kRecipeDir + "/assets/test_cube.fvlf";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: no " << path);
    return;
  }
  auto asset = load_lightfield_asset(path);
  REQUIRE_MESSAGE(asset.is_ok(), asset.status().to_string());
  View view;
  view.eye = glm::dvec3(asset->camera.eye);
  view.target = glm::dvec3(asset->camera.target);
  view.up = glm::dvec3(asset->camera.up);
  view.fovy = asset->camera.fovy;
  const PinholeCamera camera =
      PinholeCamera::look_at(view.eye, view.target, view.up, view.fovy, view.width, view.height);
  compare(
      gl_render(*asset, view),
      LightFieldReference(*asset).render(camera, asset->camera.near_plane, asset->camera.far_plane),
      "GL vs CPU reference on assets/test_cube.fvlf", 45.0);
}

TEST_CASE("lightfield python: the C++ writer's file reads and renders the same in Python") {
  const std::string python = find_python();
  if (python.empty() || !std::filesystem::exists(kRecipeDir + "/render_asset.py")) {
    MESSAGE("skipped: no python3 with NumPy, or no models/lightfield/render_asset.py");
    return;
  }
  const std::string dir = testing::test_output_dir("lightfield_python");
  const LightFieldAsset asset = make_procedural_lightfield_asset({.k = 8});
  const std::string path = dir + "/procedural.fvlf";
  REQUIRE(write_lightfield_asset(path, asset).is_ok());
  View view;
  view.eye = {2.2, -2.9, 1.7};
  const ImageRgba8 numpy = numpy_render(python, path, view, dir + "/procedural.rgb");
  compare(gl_render(asset, view), numpy, "GL vs NumPy on the C++ procedural asset", 40.0);
}

}  // namespace
}  // namespace fovea::render
