#include "fovea/core/parallelism_chooser.h"

#include <algorithm>

namespace fovea {

ParallelismChooser::Next ParallelismChooser::next() const noexcept {
  // Run 1 warms up on the pool, run 2 measures the caller alone; then the mode decides, and in
  // alone mode a probe comes when the wait runs out.
  if (runs_ == 1) return Next::kAlone;
  if (!alone_mode_) return Next::kPool;
  return until_probe_ <= 0 ? Next::kProbe : Next::kAlone;
}

void ParallelismChooser::record(bool used_pool, double milliseconds) noexcept {
  if (++runs_ == 1) return;
  if (!used_pool) {
    alone_ms_ = milliseconds;
    ++runs_alone_;
    if (alone_mode_) --until_probe_;
    return;
  }
  best_pool_ms_ = std::min(best_pool_ms_, milliseconds);
  if (milliseconds > alone_ms_ * kSlowerThanAlone ||
      milliseconds > best_pool_ms_ * kSpikeOverBest) {
    alone_mode_ = true;
    until_probe_ = probe_wait_;
  }
}

void ParallelismChooser::record_probe(double pooled_milliseconds,
                                      double alone_milliseconds) noexcept {
  ++runs_;
  ++probes_;
  if (pooled_milliseconds < kProbeWinsBelow * alone_milliseconds) {
    alone_mode_ = false;
    probe_wait_ = kFirstProbeWait;
  } else {
    probe_wait_ = std::min(2 * probe_wait_, kLongestProbeWait);
    until_probe_ = probe_wait_;
  }
}

}  // namespace fovea
