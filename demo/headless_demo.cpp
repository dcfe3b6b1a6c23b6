#include "headless_demo.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "demo_scene.h"
#include "fovea/core/json_writer.h"
#include "fovea/core/timing_stats.h"
#include "fovea/render/platform.h"
#include "fovea/render/png_file.h"

namespace fovea::demo {
namespace {

Result<std::unique_ptr<render::GlPlatform>> open_platform(const std::string& name) {
  if (name == "auto") return render::open_best_headless_platform();
  auto kind = render::parse_platform_kind(name);
  if (!kind) return kind.status();
  return render::open_headless_platform({.kind = *kind});
}

}  // namespace

Status run_headless_demo(const DemoOptions& options) {
  const int width = options.width > 0 ? options.width : 640;
  const int height = options.height > 0 ? options.height : 480;
  const int frames = options.frames > 0 ? options.frames : 36;

  std::error_code error;
  std::filesystem::create_directories(options.out_dir, error);
  if (error)
    return Status(ErrorCode::kNotFound,
                  "cannot create output folder '" + options.out_dir + "': " + error.message());

  auto platform = open_platform(options.platform);
  if (!platform) return platform.status();
  render::GlPlatform& gl = **platform;
  std::printf("fovea-demo (headless): %s\n", gl.info().summary().c_str());

  auto scene = DemoScene::create(gl.gpu_memory(), options);
  if (!scene) return scene.status();
  std::printf("scene: %s, %d triangles\n", scene->description().c_str(), scene->triangle_count());
  auto target = render::OffscreenTarget::create(gl.gpu_memory(), width, height);
  if (!target) return target.status();
  target->bind();

  render::OrbitCamera camera = scene->initial_camera();
  const float start_yaw = camera.yaw_degrees;
  const float aspect = static_cast<float>(width) / static_cast<float>(height);
  scene->draw(camera, aspect);  // warm-up: the driver compiles shader variants on first use
  glFinish();

  std::vector<double> frame_ms;
  std::vector<std::string> images;
  for (int frame = 0; frame < frames; ++frame) {
    camera.yaw_degrees =
        start_yaw + 360.0f * static_cast<float>(frame) / static_cast<float>(frames);
    const auto started = std::chrono::steady_clock::now();
    scene->draw(camera, aspect);
    glFinish();
    frame_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    // Writing PNGs is not rendering: it stays outside the timed interval.
    char name[32];
    std::snprintf(name, sizeof name, "frame_%04d.png", frame);
    const std::string path = (std::filesystem::path(options.out_dir) / name).string();
    FOVEA_RETURN_IF_ERROR(render::write_png(path, target->read_back()));
    images.emplace_back(name);
    if (frames >= 10 && (frame + 1) % (frames / 10) == 0)
      std::fprintf(stderr, "\rrendered %d/%d frames", frame + 1, frames);
  }
  if (frames >= 10) std::fprintf(stderr, "\n");
  FOVEA_RETURN_IF_ERROR(render::check_gl_error("rendering the demo"));

  const TimingSummary summary = summarize(frame_ms);
  JsonWriter json;
  json.begin_object();
  json.key("renderer").value(gl.info().renderer);
  json.key("vendor").value(gl.info().vendor);
  json.key("version").value(gl.info().version);
  json.key("platform").value(render::platform_kind_name(gl.kind()));
  json.key("width").value(width).key("height").value(height);
  json.key("frames").value(frames);
  json.key("frame_time_ms").begin_object();
  json.key("median").value(summary.median).key("p95").value(summary.p95);
  json.key("min").value(summary.min).key("max").value(summary.max);
  json.end_object();
  json.key("frame_time_measures").value("draw + glFinish per frame, PNG writing excluded");
  json.key("scene").value(scene->description());
  json.key("triangles").value(scene->triangle_count());
  json.key("gpu_bytes").value(gl.gpu_memory().current_bytes());
  json.key("images").begin_array();
  for (const std::string& image : images) json.value(image);
  json.end_array();
  json.end_object();
  const std::string report = (std::filesystem::path(options.out_dir) / "report.json").string();
  FOVEA_RETURN_IF_ERROR(json.write_file(report));

  std::printf("rendered %d frames at %dx%d: median %.2f ms, p95 %.2f ms per frame\n", frames, width,
              height, summary.median, summary.p95);
  std::printf("wrote %s/frame_0000.png .. frame_%04d.png and %s\n", options.out_dir.c_str(),
              frames - 1, report.c_str());
  return Status::ok();
}

}  // namespace fovea::demo
