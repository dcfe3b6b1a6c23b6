#pragma once
// `fovea-bench lightfield ASSET`: the light-field shader against its floor (a plain textured
// mesh) and its peer (a MobileNeRF-style deferred renderer: a G-buffer of 8 features, then a
// full-screen MLP with weights read from a texture), on the same mesh, over an orbit of views,
// interleaved per view so all three see the same machine state.

#include <string>
#include <vector>

#include "fovea/core/status.h"
#include "fovea/render/lightfield_renderer.h"
#include "fovea/render/platform.h"

namespace fovea::bench {

struct LightFieldBenchOptions {
  std::string asset_path;
  std::string platform = "auto";  // auto, egl-surfaceless or egl-device
  int device_index = -1;
  std::vector<render::DrawableSize> sizes;  // empty: 800x800 and 1920x1080
  std::vector<std::string> shaders;         // empty: lightfield, mobilenerf, textured
  int views = 120;                          // orbit views per run (one frame each)
  int runs = 1;
  int warmup_frames = 10;  // per shader and size, untimed
  render::LightFieldPasses passes = render::LightFieldPasses::kDeferred;
  std::string json_path;
};

Status run_lightfield_bench(const LightFieldBenchOptions& options);

}  // namespace fovea::bench
