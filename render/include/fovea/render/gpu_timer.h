#pragma once
#include <chrono>

#include "fovea/render/context_info.h"
#include "fovea/render/gl.h"

namespace fovea::render {

// Times GL work: GPU time from GL_EXT_disjoint_timer_query where the driver has it, otherwise
// the wall time until glFinish returns. Both block at end(), which is what a benchmark wants.
// Software renderers always use the wall clock: llvmpipe advertises timer queries but its
// queries end before its deferred rasterisation runs (measured: 0.05 ms for a 6 ms frame).
class GpuTimer {
 public:
  enum class Method { kTimerQuery, kFinishWallClock };

  explicit GpuTimer(const ContextInfo& info, bool prefer_timer_queries = true);
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  Method method() const noexcept { return method_; }
  const char* method_name() const noexcept;

  void begin();
  // Milliseconds since begin(); negative when the GPU reported a disjoint event (discard it).
  double end_ms();

 private:
  Method method_ = Method::kFinishWallClock;
  GLuint query_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace fovea::render
