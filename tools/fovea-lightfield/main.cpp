// fovea-lightfield: light-field assets (.fvlf) from the command line. `eval` renders every
// camera of a dataset split with the GL renderer at its intrinsics and reports PSNR and SSIM
// per view and on average, as models/lightfield/eval_asset.py does with the NumPy reference.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataset.h"
#include "fovea/core/json_writer.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/lightfield_reference.h"
#include "fovea/render/lightfield_renderer.h"
#include "fovea/render/pinhole_camera.h"
#include "fovea/render/platform.h"
#include "fovea/render/png_file.h"
#include "metrics.h"

namespace {

using namespace fovea;
using namespace fovea::render;
using fovea::lightfield::ImageRgbF;

constexpr const char* kUsage = R"(usage:
  fovea-lightfield eval ASSET DATASET_DIR [--split val|test|train] [--json PATH] [--out DIR]
                        [--max-views N] [--cpu] [--platform NAME]
      Renders every camera of the split at its intrinsics (nerf_synthetic transforms_*.json or
      LLFF poses_bounds.npy; LLFF val/test = the held-out images, every 8th present) and prints
      PSNR and SSIM per view and their means (nerf_synthetic photos over white). --out writes
      side-by-side PNGs (render | photo); --json writes {"views","psnr","ssim","per_view":[...]}.
      --cpu renders with the CPU reference instead of GL (slow; a cross-check).
  fovea-lightfield cameras DATASET_DIR [--split val|test|train]
      Prints each camera of the split: image, focal length, camera-to-world (OpenGL convention).
  fovea-lightfield info ASSET
      Validates the asset and prints what it holds and its GPU memory.
  fovea-lightfield render ASSET OUT.png [--size WxH] [--orbit DEGREES] [--cpu] [--platform NAME]
      One view from the asset's default camera, turned DEGREES about its up axis.
  fovea-lightfield procedural OUT.fvlf [--k K] [--patch P] [--dir-res N] [--subdiv S] [--raw]
      Writes the procedural test asset (make_procedural_lightfield_asset).
  fovea-lightfield synth-dataset ASSET DIR [--views N] [--size WxH]
      Renders N views on an orbit with the CPU reference into a nerf_synthetic layout
      (DIR/transforms_{train,val}.json, DIR/val/r_I.png, alpha 0 where nothing is hit): a
      dataset that `eval` must reproduce almost exactly (tests).

--platform: auto (a hardware EGL device if present, else surfaceless), egl-surfaceless, egl-device
)";

int fail(const std::string& message) {
  std::fprintf(stderr, "fovea-lightfield: %s\n", message.c_str());
  return 2;
}

bool parse_int(const std::string& text, int& out, int lo, int hi) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < lo || value > hi) return false;
  out = static_cast<int>(value);
  return true;
}

// Options after the positional arguments: --name value pairs and flags.
struct Options {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> flags;

  std::string get(const std::string& name, const std::string& fallback = "") const {
    for (const auto& [key, value] : values)
      if (key == name) return value;
    return fallback;
  }
  bool has(const std::string& flag) const {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
  }
};

Result<Options> parse_options(int argc, char** argv, int first,
                              const std::vector<std::string>& value_options,
                              const std::vector<std::string>& flag_options) {
  Options options;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      options.positional.push_back(arg);
    } else if (std::find(flag_options.begin(), flag_options.end(), arg) != flag_options.end()) {
      options.flags.push_back(arg);
    } else if (std::find(value_options.begin(), value_options.end(), arg) != value_options.end()) {
      if (i + 1 >= argc) return Status(ErrorCode::kInvalidArgument, "missing value after " + arg);
      options.values.emplace_back(arg, argv[++i]);
    } else {
      return Status(ErrorCode::kInvalidArgument, "unknown option " + arg);
    }
  }
  return options;
}

Result<std::unique_ptr<GlPlatform>> open_platform(const std::string& name) {
  if (name == "auto") return open_best_headless_platform();
  auto kind = parse_platform_kind(name);
  if (!kind) return kind.status();
  if (*kind == PlatformKind::kGlfwWindow)
    return Status(ErrorCode::kInvalidArgument, "fovea-lightfield renders off-screen");
  return open_headless_platform({.kind = *kind});
}

void print_summary(const LightFieldAsset& a) {
  std::printf(
      "%s: k=%d, %d vertices, %d triangles (%s), atlas %dx%d x %d layers, direction map "
      "%dx%d x %d layers, file %.2f MB, GPU %.2f MB (textures %.2f, buffers %.2f)\n",
      a.name.c_str(), a.k, a.vertex_count(), a.triangle_count(),
      a.unshared ? "unshared" : "indexed", a.atlas.width, a.atlas.height, a.atlas.layers,
      a.direction_map.width, a.direction_map.height, a.direction_map.layers, a.file_bytes / 1e6,
      a.gpu_bytes() / 1e6, (a.atlas.bytes() + a.direction_map.bytes()) / 1e6,
      (a.gpu_bytes() - a.atlas.bytes() - a.direction_map.bytes()) / 1e6);
}

// Near and far planes that hold the asset's bounds as seen from `eye`.
std::pair<double, double> clip_planes(const LightFieldAsset& asset, const glm::dvec3& eye) {
  const glm::dvec3 lo(asset.bounds_min), hi(asset.bounds_max);
  const glm::dvec3 nearest = glm::clamp(eye, lo, hi);
  const double inside = glm::length(nearest - eye);
  double farthest = 0.0;
  for (int corner = 0; corner < 8; ++corner) {
    const glm::dvec3 p(corner & 1 ? hi.x : lo.x, corner & 2 ? hi.y : lo.y,
                       corner & 4 ? hi.z : lo.z);
    farthest = std::max(farthest, glm::length(p - eye));
  }
  const double far_plane = std::max(farthest * 1.01, 1e-3);
  return {std::max(inside * 0.9, far_plane * 1e-5), far_plane};
}

ImageRgbF to_float(const ImageRgba8& image) {
  ImageRgbF out{image.width, image.height, {}};
  out.values.resize(static_cast<size_t>(image.width) * image.height * 3);
  for (size_t p = 0; p < out.values.size() / 3; ++p)
    for (int c = 0; c < 3; ++c) out.values[p * 3 + c] = image.pixels[p * 4 + c] / 255.0f;
  return out;
}

// The photo in [0, 1]; RGBA photos composited over white (before any rounding).
ImageRgbF photo_to_float(const ImageRgba8& image, bool over_white) {
  ImageRgbF out{image.width, image.height, {}};
  out.values.resize(static_cast<size_t>(image.width) * image.height * 3);
  for (size_t p = 0; p < out.values.size() / 3; ++p) {
    const float alpha = over_white ? image.pixels[p * 4 + 3] / 255.0f : 1.0f;
    for (int c = 0; c < 3; ++c)
      out.values[p * 3 + c] = image.pixels[p * 4 + c] / 255.0f * alpha + (1.0f - alpha);
  }
  return out;
}

ImageRgba8 side_by_side(const ImageRgba8& render, const ImageRgbF& photo) {
  ImageRgba8 out(render.width * 2, render.height);
  for (int y = 0; y < render.height; ++y)
    for (int x = 0; x < render.width; ++x) {
      std::copy_n(render.pixel(x, y), 4, out.pixel(x, y));
      std::uint8_t* right = out.pixel(render.width + x, y);
      for (int c = 0; c < 3; ++c)
        right[c] = static_cast<std::uint8_t>(std::lround(
            std::clamp(photo.values[(size_t(y) * render.width + x) * 3 + c], 0.0f, 1.0f) * 255.0f));
      right[3] = 255;
    }
  return out;
}

int run_eval(int argc, char** argv) {
  auto options = parse_options(
      argc, argv, 2, {"--split", "--json", "--out", "--max-views", "--platform"}, {"--cpu"});
  if (!options) return fail(options.status().message() + "\n" + kUsage);
  if (options->positional.size() != 2)
    return fail(std::string("eval takes ASSET DATASET_DIR\n") + kUsage);
  const std::string split = options->get("--split", "val");
  const std::string out_dir = options->get("--out");
  const std::string json_path = options->get("--json");
  int max_views = 0;
  if (!parse_int(options->get("--max-views", "0"), max_views, 0, 1000000))
    return fail("--max-views takes a number");
  const bool use_cpu = options->has("--cpu");

  const auto read_started = std::chrono::steady_clock::now();
  auto asset = load_lightfield_asset(options->positional[0]);
  if (!asset) return fail(asset.status().to_string());
  const double read_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - read_started).count();
  print_summary(*asset);
  auto dataset = lightfield::load_dataset(options->positional[1], split);
  if (!dataset) return fail(dataset.status().to_string());
  if (dataset->views.empty()) return fail("the split '" + split + "' has no views");
  if (max_views > 0 && static_cast<int>(dataset->views.size()) > max_views)
    dataset->views.resize(static_cast<size_t>(max_views));
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);

  std::unique_ptr<GlPlatform> platform;
  LightFieldRenderer renderer;
  OffscreenTarget target;
  std::string renderer_name = "CPU reference";
  if (!use_cpu) {
    auto opened = open_platform(options->get("--platform", "auto"));
    if (!opened) return fail(opened.status().to_string());
    platform = std::move(*opened);
    renderer_name = platform->info().renderer;
    auto created = LightFieldRenderer::create(platform->gpu_memory(), *asset);
    if (!created) return fail(created.status().to_string());
    renderer = std::move(*created);
  }
  std::optional<LightFieldReference> reference;
  if (use_cpu) reference.emplace(*asset);

  struct PerView {
    std::string name;
    double psnr, ssim, coverage;
  };
  std::vector<PerView> per_view;
  int width = 0, height = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const lightfield::DatasetView& view : dataset->views) {
    auto photo_rgba = read_png(view.image_path);
    if (!photo_rgba) return fail(photo_rgba.status().to_string());
    if (width == 0) {
      width = photo_rgba->width;
      height = photo_rgba->height;
    } else if (photo_rgba->width != width || photo_rgba->height != height) {
      return fail(view.image_path + " differs in size from the split's first image");
    }
    auto focal = dataset->focal_for(width, height);
    if (!focal) return fail(focal.status().to_string());
    const PinholeCamera camera =
        PinholeCamera::centred(view.camera_to_world, *focal, width, height);
    const auto [near_plane, far_plane] = clip_planes(*asset, camera.eye());
    ImageRgba8 image;
    if (use_cpu) {
      image = reference->render(camera, near_plane, far_plane, 0);
    } else {
      if (target.width() != width || target.height() != height) {
        auto created = OffscreenTarget::create(platform->gpu_memory(), width, height);
        if (!created) return fail(created.status().to_string());
        target = std::move(*created);
      }
      target.bind();
      renderer.clear();
      renderer.draw(camera.view(), camera.projection(near_plane, far_plane));
      const Status drawn = check_gl_error("rendering a dataset view");
      if (!drawn) return fail(drawn.to_string());
      image = target.read_back();
    }
    const ImageRgbF rendered = to_float(image);
    const ImageRgbF photo = photo_to_float(*photo_rgba, dataset->composite_over_white);
    size_t covered = 0;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const std::uint8_t* p = image.pixel(x, y);
        const glm::vec4 bg = asset->background * 255.0f;
        if (std::abs(p[0] - bg.r) > 0.5f || std::abs(p[1] - bg.g) > 0.5f ||
            std::abs(p[2] - bg.b) > 0.5f)
          ++covered;
      }
    PerView result{view.name, lightfield::psnr(rendered, photo), lightfield::ssim(rendered, photo),
                   double(covered) / (double(width) * height)};
    std::printf("%-16s PSNR %7.3f  SSIM %.4f\n", result.name.c_str(), result.psnr, result.ssim);
    std::fflush(stdout);
    per_view.push_back(result);
    if (!out_dir.empty()) {
      const std::string stem = std::filesystem::path(view.name).stem().string();
      const Status written =
          write_png(out_dir + "/" + split + "_" + stem + ".png", side_by_side(image, photo));
      if (!written) return fail(written.to_string());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  double psnr_sum = 0.0, ssim_sum = 0.0, psnr_min = std::numeric_limits<double>::infinity();
  for (const PerView& r : per_view) {
    psnr_sum += r.psnr;
    ssim_sum += r.ssim;
    psnr_min = std::min(psnr_min, r.psnr);
  }
  const double n = double(per_view.size());
  std::printf(
      "%s on %s/%s (%s): mean PSNR %.3f dB, SSIM %.4f over %zu views (min PSNR %.2f), "
      "%dx%d; read %.2f s, render + metrics %.1f s\n",
      options->positional[0].c_str(), options->positional[1].c_str(), split.c_str(),
      renderer_name.c_str(), psnr_sum / n, ssim_sum / n, per_view.size(), psnr_min, width, height,
      read_seconds, seconds);
  if (!json_path.empty()) {
    JsonWriter json;
    json.begin_object();
    json.key("asset").value(options->positional[0]);
    json.key("data").value(options->positional[1]);
    json.key("split").value(split);
    json.key("renderer").value(renderer_name);
    json.key("views").value(static_cast<int>(per_view.size()));
    json.key("psnr").value(psnr_sum / n);
    json.key("ssim").value(ssim_sum / n);
    json.key("min_psnr").value(psnr_min);
    json.key("width").value(width).key("height").value(height);
    json.key("background").value(dataset->composite_over_white ? "white" : "none");
    json.key("gpu_bytes").value(asset->gpu_bytes());
    json.key("file_bytes").value(asset->file_bytes);
    json.key("seconds").value(seconds);
    json.key("per_view").begin_array();
    for (const PerView& r : per_view) {
      json.begin_object();
      json.key("view").value(r.name).key("psnr").value(r.psnr).key("ssim").value(r.ssim);
      json.key("coverage").value(r.coverage);
      json.end_object();
    }
    json.end_array();
    json.end_object();
    const Status written = json.write_file(json_path);
    if (!written) return fail(written.to_string());
    std::printf("wrote %s\n", json_path.c_str());
  }
  return 0;
}

int run_cameras(int argc, char** argv) {
  auto options = parse_options(argc, argv, 2, {"--split"}, {});
  if (!options) return fail(options.status().message() + "\n" + kUsage);
  if (options->positional.size() != 1)
    return fail(std::string("cameras takes DATASET_DIR\n") + kUsage);
  auto dataset = lightfield::load_dataset(options->positional[0], options->get("--split", "val"));
  if (!dataset) return fail(dataset.status().to_string());
  for (const lightfield::DatasetView& view : dataset->views) {
    auto photo = read_png(view.image_path);
    if (!photo) return fail(photo.status().to_string());
    auto focal = dataset->focal_for(photo->width, photo->height);
    if (!focal) return fail(focal.status().to_string());
    std::printf("%s %dx%d focal %.6f\n", view.name.c_str(), photo->width, photo->height, *focal);
    for (int row = 0; row < 4; ++row)
      std::printf("  % .6f % .6f % .6f % .6f\n", view.camera_to_world[0][row],
                  view.camera_to_world[1][row], view.camera_to_world[2][row],
                  view.camera_to_world[3][row]);
  }
  return 0;
}

int run_info(int argc, char** argv) {
  if (argc != 3) return fail(std::string("info takes ASSET\n") + kUsage);
  auto asset = load_lightfield_asset(argv[2]);
  if (!asset) return fail(asset.status().to_string());
  print_summary(*asset);
  const LightFieldCamera& c = asset->camera;
  std::printf(
      "bounds (%g %g %g) .. (%g %g %g); camera eye (%g %g %g) target (%g %g %g) up (%g %g "
      "%g) fovy %g near %g far %g; bias (%g %g %g); background (%g %g %g %g)\n",
      asset->bounds_min.x, asset->bounds_min.y, asset->bounds_min.z, asset->bounds_max.x,
      asset->bounds_max.y, asset->bounds_max.z, c.eye.x, c.eye.y, c.eye.z, c.target.x, c.target.y,
      c.target.z, c.up.x, c.up.y, c.up.z, c.fovy, c.near_plane, c.far_plane, asset->bias.x,
      asset->bias.y, asset->bias.z, asset->background.r, asset->background.g, asset->background.b,
      asset->background.a);
  if (!asset->provenance.empty()) std::printf("provenance:\n%s\n", asset->provenance.c_str());
  return 0;
}

int run_render(int argc, char** argv) {
  auto options = parse_options(argc, argv, 2, {"--size", "--orbit", "--platform"}, {"--cpu"});
  if (!options) return fail(options.status().message() + "\n" + kUsage);
  if (options->positional.size() != 2)
    return fail(std::string("render takes ASSET OUT.png\n") + kUsage);
  int width = 800, height = 800;
  char tail = 0;
  const std::string size = options->get("--size", "800x800");
  if (std::sscanf(size.c_str(), "%dx%d%c", &width, &height, &tail) != 2 || width < 1 ||
      height < 1 || width > 16384 || height > 16384)
    return fail("--size takes WxH");
  const double orbit = std::atof(options->get("--orbit", "0").c_str());
  auto asset = load_lightfield_asset(options->positional[0]);
  if (!asset) return fail(asset.status().to_string());
  const LightFieldCamera& c = asset->camera;
  const glm::dvec3 up = glm::normalize(glm::dvec3(c.up));
  const glm::dvec3 offset = glm::dvec3(c.eye - c.target);
  // Rodrigues: the eye turned `orbit` degrees about the up axis through the target.
  const double angle = orbit * 3.14159265358979323846 / 180.0;
  const glm::dvec3 turned = offset * std::cos(angle) + glm::cross(up, offset) * std::sin(angle) +
                            up * glm::dot(up, offset) * (1.0 - std::cos(angle));
  const PinholeCamera camera = PinholeCamera::look_at(
      glm::dvec3(c.target) + turned, glm::dvec3(c.target), up, c.fovy, width, height);
  ImageRgba8 image;
  if (options->has("--cpu")) {
    image = LightFieldReference(*asset).render(camera, c.near_plane, c.far_plane, 0);
  } else {
    auto platform = open_platform(options->get("--platform", "auto"));
    if (!platform) return fail(platform.status().to_string());
    auto renderer = LightFieldRenderer::create((*platform)->gpu_memory(), *asset);
    if (!renderer) return fail(renderer.status().to_string());
    auto target = OffscreenTarget::create((*platform)->gpu_memory(), width, height);
    if (!target) return fail(target.status().to_string());
    target->bind();
    renderer->clear();
    renderer->draw(camera.view(), camera.projection(c.near_plane, c.far_plane));
    image = target->read_back();
  }
  const Status written = write_png(options->positional[1], image);
  if (!written) return fail(written.to_string());
  std::printf("wrote %s (%dx%d)\n", options->positional[1].c_str(), width, height);
  return 0;
}

int run_procedural(int argc, char** argv) {
  auto options =
      parse_options(argc, argv, 2, {"--k", "--patch", "--dir-res", "--subdiv"}, {"--raw"});
  if (!options) return fail(options.status().message() + "\n" + kUsage);
  if (options->positional.size() != 1)
    return fail(std::string("procedural takes OUT.fvlf\n") + kUsage);
  ProceduralLightFieldOptions procedural;
  if (!parse_int(options->get("--k", "8"), procedural.k, 4, 64) || procedural.k % 4 != 0)
    return fail("--k takes a multiple of 4 in [4, 64]");
  if (!parse_int(options->get("--patch", "8"), procedural.patch, 2, 64))
    return fail("--patch takes 2..64");
  if (!parse_int(options->get("--dir-res", "32"), procedural.direction_resolution, 1, 4096))
    return fail("--dir-res takes 1..4096");
  if (!parse_int(options->get("--subdiv", "2"), procedural.sphere_subdivisions, 0, 5))
    return fail("--subdiv takes 0..5");
  const LightFieldAsset asset = make_procedural_lightfield_asset(procedural);
  const Status written =
      write_lightfield_asset(options->positional[0], asset, {.compress = !options->has("--raw")});
  if (!written) return fail(written.to_string());
  auto loaded = load_lightfield_asset(options->positional[0]);
  if (!loaded) return fail(loaded.status().to_string());
  std::printf("wrote %s: ", options->positional[0].c_str());
  print_summary(*loaded);
  return 0;
}

int run_synth_dataset(int argc, char** argv) {
  auto options = parse_options(argc, argv, 2, {"--views", "--size"}, {});
  if (!options) return fail(options.status().message() + "\n" + kUsage);
  if (options->positional.size() != 2)
    return fail(std::string("synth-dataset takes ASSET DIR\n") + kUsage);
  int views = 8, width = 0, height = 0;
  char tail = 0;
  if (!parse_int(options->get("--views", "8"), views, 1, 1000))
    return fail("--views takes 1..1000");
  if (std::sscanf(options->get("--size", "200x200").c_str(), "%dx%d%c", &width, &height, &tail) !=
          2 ||
      width < 16 || height < 16 || width > 4096 || height > 4096)
    return fail("--size takes WxH, each 16..4096");
  auto asset = load_lightfield_asset(options->positional[0]);
  if (!asset) return fail(asset.status().to_string());
  const std::string dir = options->positional[1];
  std::filesystem::create_directories(dir + "/val");
  const LightFieldReference reference(*asset);
  const LightFieldCamera& c = asset->camera;
  const glm::dvec3 up = glm::normalize(glm::dvec3(c.up)), offset = glm::dvec3(c.eye - c.target);
  // camera_angle_x for a square-pixel camera with vertical field of view fovy.
  const double focal = 0.5 * height / std::tan(0.5 * c.fovy);
  const double angle_x = 2.0 * std::atan(0.5 * width / focal);
  JsonWriter json;
  json.begin_object();
  json.key("camera_angle_x").value(angle_x);
  json.key("frames").begin_array();
  for (int v = 0; v < views; ++v) {
    const double angle = 2.0 * 3.14159265358979323846 * v / views;
    const glm::dvec3 turned = offset * std::cos(angle) + glm::cross(up, offset) * std::sin(angle) +
                              up * glm::dot(up, offset) * (1.0 - std::cos(angle));
    const PinholeCamera camera = PinholeCamera::look_at(
        glm::dvec3(c.target) + turned, glm::dvec3(c.target), up, c.fovy, width, height);
    ImageRgba8 image = reference.render(camera, c.near_plane, c.far_plane, 0);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        LightFieldReference::Hit hit;
        if (!reference.intersect(camera.eye(), camera.ray_direction(x, y), hit))
          image.pixel(x, y)[3] = 0;  // the photo's alpha: nothing here
      }
    const std::string name = "r_" + std::to_string(v);
    const Status written = write_png(dir + "/val/" + name + ".png", image);
    if (!written) return fail(written.to_string());
    json.begin_object();
    json.key("file_path").value("./val/" + name);
    json.key("transform_matrix").begin_array();
    for (int row = 0; row < 4; ++row) {
      json.begin_array();
      for (int col = 0; col < 4; ++col) json.value(camera.camera_to_world[col][row]);
      json.end_array();
    }
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.end_object();
  for (const char* split : {"train", "val"}) {
    const Status written = json.write_file(dir + "/transforms_" + std::string(split) + ".json");
    if (!written) return fail(written.to_string());
  }
  std::printf("wrote %d views of %dx%d to %s\n", views, width, height, dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string_view command = argv[1];
  if (command == "eval") return run_eval(argc, argv);
  if (command == "info") return run_info(argc, argv);
  if (command == "cameras") return run_cameras(argc, argv);
  if (command == "render") return run_render(argc, argv);
  if (command == "procedural") return run_procedural(argc, argv);
  if (command == "synth-dataset") return run_synth_dataset(argc, argv);
  return fail("unknown command '" + std::string(command) + "'\n" + kUsage);
}
