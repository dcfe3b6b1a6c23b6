#include "gl_bench.h"

#include <chrono>
#include <cstdio>

#include "fovea/core/json_writer.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/gpu_timer.h"
#include "gl_workloads.h"

namespace fovea::bench {

Result<std::unique_ptr<render::GlPlatform>> open_bench_platform(const std::string& platform,
                                                                int device_index) {
  if (platform == "auto") return render::open_best_headless_platform();
  auto kind = render::parse_platform_kind(platform);
  if (!kind) return kind.status();
  if (*kind == render::PlatformKind::kGlfwWindow)
    return Status(ErrorCode::kInvalidArgument,
                  "fovea-bench renders off-screen: use egl-surfaceless or egl-device");
  return render::open_headless_platform({.kind = *kind, .device_index = device_index});
}

namespace {

Result<GlBenchResult> time_workload(render::GlPlatform& platform, GlWorkload& workload,
                                    render::DrawableSize size, const GlBenchOptions& options) {
  auto target = render::OffscreenTarget::create(platform.gpu_memory(), size.width, size.height);
  if (!target) return target.status();
  target->bind();
  render::GpuTimer timer(platform.info());
  GlBenchResult result;
  result.workload = workload.name();
  result.description = workload.description();
  result.width = size.width;
  result.height = size.height;
  int frame = 0;
  for (int i = 0; i < options.warmup_frames; ++i) workload.draw(frame++, size.width, size.height);
  glFinish();
  std::vector<double> gpu, wall;
  for (int run = 0; run < options.runs; ++run) {
    std::vector<double> run_gpu;
    for (int i = 0; i < options.frames_per_run; ++i) {
      const auto started = std::chrono::steady_clock::now();
      timer.begin();
      workload.draw(frame++, size.width, size.height);
      const double gpu_ms = timer.end_ms();
      glFinish();
      wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count());
      if (gpu_ms >= 0.0) {  // a disjoint interval (clock change, preemption) is not a sample
        gpu.push_back(gpu_ms);
        run_gpu.push_back(gpu_ms);
      }
    }
    result.run_medians_ms.push_back(percentile(run_gpu, 0.5));
  }
  FOVEA_RETURN_IF_ERROR(render::check_gl_error(("running workload " + workload.name()).c_str()));
  result.gpu_ms = summarize(gpu);
  result.wall_ms = summarize(wall);
  return result;
}

void print_table(const render::GlPlatform& platform, const GlBenchOptions& options,
                 const char* timing_method, const std::vector<GlBenchResult>& results) {
  const render::ContextInfo& info = platform.info();
  std::printf("fovea-bench gl\n");
  std::printf("  renderer : %s\n  vendor   : %s\n  version  : %s\n  platform : %s\n",
              info.renderer.c_str(), info.vendor.c_str(), info.version.c_str(),
              std::string(render::platform_kind_name(platform.kind())).c_str());
  std::printf("  timing   : %s per frame; %d runs x %d frames after %d warm-up frames\n\n",
              timing_method, options.runs, options.frames_per_run, options.warmup_frames);
  std::printf("%-9s %-10s %10s %10s %10s %9s %8s %8s\n", "workload", "size", "median ms", "p95 ms",
              "wall ms", "fps", "ns/px", "x fill");
  for (const GlBenchResult& r : results) {
    double fill_median = 0.0;
    for (const GlBenchResult& other : results)
      if (other.workload == "fill" && other.width == r.width && other.height == r.height)
        fill_median = other.gpu_ms.median;
    const double pixels = double(r.width) * r.height;
    char size[24], ratio[16] = "-";
    std::snprintf(size, sizeof size, "%dx%d", r.width, r.height);
    if (fill_median > 0.0)
      std::snprintf(ratio, sizeof ratio, "%.2f", r.gpu_ms.median / fill_median);
    std::printf("%-9s %-10s %10.3f %10.3f %10.3f %9.1f %8.3f %8s\n", r.workload.c_str(), size,
                r.gpu_ms.median, r.gpu_ms.p95, r.wall_ms.median,
                r.gpu_ms.median > 0 ? 1000.0 / r.gpu_ms.median : 0.0,
                r.gpu_ms.median * 1e6 / pixels, ratio);
  }
  std::printf("\n");
  std::vector<std::string> seen;
  for (const GlBenchResult& r : results) {
    bool known = false;
    for (const auto& name : seen) known = known || name == r.workload;
    if (known) continue;
    seen.push_back(r.workload);
    std::printf("  %-8s %s\n", r.workload.c_str(), r.description.c_str());
  }
}

void add_summary(JsonWriter& json, const char* key, const TimingSummary& summary) {
  json.key(key).begin_object();
  json.key("median").value(summary.median).key("p95").value(summary.p95);
  json.key("min").value(summary.min).key("max").value(summary.max);
  json.key("samples").value(summary.samples);
  json.end_object();
}

Status write_json(const std::string& path, const render::GlPlatform& platform,
                  const char* timing_method, const GlBenchOptions& options,
                  const std::vector<GlBenchResult>& results) {
  const render::ContextInfo& info = platform.info();
  JsonWriter json;
  json.begin_object();
  json.key("renderer").value(info.renderer).key("vendor").value(info.vendor);
  json.key("version").value(info.version);
  json.key("platform").value(render::platform_kind_name(platform.kind()));
  json.key("timing").value(timing_method);
  json.key("runs").value(options.runs).key("frames_per_run").value(options.frames_per_run);
  json.key("results").begin_array();
  for (const GlBenchResult& r : results) {
    json.begin_object();
    json.key("workload")
        .value(r.workload)
        .key("width")
        .value(r.width)
        .key("height")
        .value(r.height);
    json.key("median_ms").value(r.gpu_ms.median).key("p95_ms").value(r.gpu_ms.p95);
    json.key("wall_median_ms").value(r.wall_ms.median);
    add_summary(json, "gpu", r.gpu_ms);
    add_summary(json, "wall", r.wall_ms);
    json.key("run_medians_ms").begin_array();
    for (double m : r.run_medians_ms) json.value(m);
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.write_file(path);
}

}  // namespace

Status run_gl_bench(const GlBenchOptions& options) {
  if (options.runs < 1 || options.frames_per_run < 1 || options.warmup_frames < 0)
    return Status(ErrorCode::kInvalidArgument, "--runs and --frames must be at least 1");
  auto platform = open_bench_platform(options.platform, options.device_index);
  if (!platform) return platform.status();
  std::vector<std::string> names =
      options.workloads.empty() ? default_gl_workloads() : options.workloads;
  std::vector<render::DrawableSize> sizes = options.sizes;
  if (sizes.empty()) sizes = {{800, 800}, {1920, 1080}};

  const render::GpuTimer probe((*platform)->info());
  const char* timing_method = probe.method_name();
  std::vector<GlBenchResult> results;
  for (const std::string& name : names) {
    auto workload = make_gl_workload(name, (*platform)->gpu_memory());
    if (!workload) return workload.status();
    for (const render::DrawableSize& size : sizes) {
      std::fprintf(stderr, "timing %s at %dx%d...\n", name.c_str(), size.width, size.height);
      auto result = time_workload(**platform, **workload, size, options);
      if (!result) return result.status();
      results.push_back(std::move(*result));
    }
  }
  print_table(**platform, options, timing_method, results);
  if (!options.json_path.empty()) {
    FOVEA_RETURN_IF_ERROR(
        write_json(options.json_path, **platform, timing_method, options, results));
    std::printf("\nwrote %s\n", options.json_path.c_str());
  }
  return Status::ok();
}

}  // namespace fovea::bench
