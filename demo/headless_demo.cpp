#include "headless_demo.h"

#include <algorithm>
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
  if (scene->flow())
    std::printf("scene: %s\n", scene->description().c_str());
  else
    std::printf("scene: %s, %d triangles\n", scene->description().c_str(), scene->triangle_count());
  // The flow scene's picture is two frames side by side; its default image is that size, at
  // most 1536 pixels wide. The orbit's default is 640x480.
  int width = 640, height = 480;
  if (const FlowScene* flow = scene->flow()) {
    const double shrink = std::min(1.0, 1536.0 / (2.0 * flow->frame_width()));
    width = static_cast<int>(2.0 * flow->frame_width() * shrink);
    height = static_cast<int>(flow->frame_height() * shrink);
  }
  if (options.width > 0) {
    width = options.width;
    height = options.height;
  }
  auto target = render::OffscreenTarget::create(gl.gpu_memory(), width, height);
  if (!target) return target.status();
  target->bind();

  render::OrbitCamera camera = scene->initial_camera();
  const float start_yaw = camera.yaw_degrees;
  const float aspect = static_cast<float>(width) / static_cast<float>(height);
  FOVEA_RETURN_IF_ERROR(scene->advance());  // the flow methods set up on their first call
  scene->draw(camera, aspect);  // warm-up: the driver compiles shader variants on first use
  glFinish();

  std::vector<double> frame_ms;
  std::vector<std::string> images;
  for (int frame = 0; frame < frames; ++frame) {
    camera.yaw_degrees =
        start_yaw + 360.0f * static_cast<float>(frame) / static_cast<float>(frames);
    const auto started = std::chrono::steady_clock::now();
    FOVEA_RETURN_IF_ERROR(scene->advance());
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
  json.key("frame_time_measures")
      .value(scene->flow() ? "next video frame + its flow + draw + glFinish per frame, PNG writing "
                             "excluded"
                           : "draw + glFinish per frame, PNG writing excluded");
  json.key("scene").value(scene->description());
  if (const FlowScene* flow = scene->flow()) {
    const TimingSummary flow_ms = summarize(flow->flow_ms());
    json.key("flow").begin_object();
    json.key("method").value(flow->method_name());
    json.key("frame_width").value(flow->frame_width());
    json.key("frame_height").value(flow->frame_height());
    json.key("timed_frames").value(static_cast<std::int64_t>(flow->flow_ms().size()));
    json.key("ms_median").value(flow_ms.median).key("ms_p95").value(flow_ms.p95);
    json.key("ms_measures").value("OpticalFlow::compute on the CPU, the first call excluded");
    json.key("core_budget_bytes").value(flow->core_budget().cap_bytes());
    json.key("core_peak_bytes").value(flow->core_budget().peak_bytes());
    json.end_object();
  } else {
    json.key("triangles").value(scene->triangle_count());
  }
  json.key("gpu_bytes").value(gl.gpu_memory().current_bytes());
  json.key("images").begin_array();
  for (const std::string& image : images) json.value(image);
  json.end_array();
  json.end_object();
  const std::string report = (std::filesystem::path(options.out_dir) / "report.json").string();
  FOVEA_RETURN_IF_ERROR(json.write_file(report));

  std::printf("rendered %d frames at %dx%d: median %.2f ms, p95 %.2f ms per frame\n", frames, width,
              height, summary.median, summary.p95);
  if (const FlowScene* flow = scene->flow())
    std::printf("flow: %s, median %.2f ms per %dx%d frame pair\n", flow->method_name().c_str(),
                summarize(flow->flow_ms()).median, flow->frame_width(), flow->frame_height());
  std::printf("wrote %s/frame_0000.png .. frame_%04d.png and %s\n", options.out_dir.c_str(),
              frames - 1, report.c_str());
  return Status::ok();
}

}  // namespace fovea::demo
