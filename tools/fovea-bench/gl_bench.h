#pragma once
#include <memory>
#include <string>
#include <vector>

#include "fovea/core/status.h"
#include "fovea/core/timing_stats.h"
#include "fovea/render/platform.h"

namespace fovea::bench {

struct GlBenchOptions {
  std::string platform = "auto";  // auto, egl-surfaceless or egl-device
  int device_index = -1;
  std::vector<std::string> workloads;       // empty: default_gl_workloads()
  std::vector<render::DrawableSize> sizes;  // empty: 800x800 and 1920x1080
  int runs = 5;
  int frames_per_run = 20;
  int warmup_frames = 5;
  std::string json_path;
};

struct GlBenchResult {
  std::string workload;
  std::string description;
  int width = 0;
  int height = 0;
  TimingSummary gpu_ms;   // timer queries, or the wall clock when there are none
  TimingSummary wall_ms;  // glFinish wall clock around each frame
  std::vector<double> run_medians_ms;
};

// "auto" (a hardware EGL device if present, else surfaceless), "egl-surfaceless" or
// "egl-device" (device `device_index`, -1 for the first hardware one).
Result<std::unique_ptr<render::GlPlatform>> open_bench_platform(const std::string& platform,
                                                                int device_index);

// Runs every workload at every size, prints the table to stdout, writes JSON when asked.
Status run_gl_bench(const GlBenchOptions& options);

}  // namespace fovea::bench
