#pragma once
// GL workloads fovea-bench can time: each draws one frame into the bound framebuffer.

#include <memory>
#include <string>
#include <vector>

#include "fovea/core/status.h"
#include "fovea/render/gpu_memory.h"

namespace fovea::bench {

class GlWorkload {
 public:
  virtual ~GlWorkload() = default;
  virtual const std::string& name() const = 0;
  // A sentence for the table's legend.
  virtual std::string description() const = 0;
  // Draws frame number `frame` (workloads that move use it) at `width` x `height`.
  virtual void draw(int frame, int width, int height) = 0;
};

// Known names: "scene" (the built-in lit scene), "fill" (one texel fetch per pixel, the plain
// shader every other workload is compared with) and "fetchK" for K in 1..64 (K scattered RGBA8
// fetches per pixel with a sigmoid, the ceiling of a light-field shader).
Result<std::unique_ptr<GlWorkload>> make_gl_workload(const std::string& name,
                                                     render::GpuMemoryLedger& ledger);

std::vector<std::string> default_gl_workloads();

}  // namespace fovea::bench
