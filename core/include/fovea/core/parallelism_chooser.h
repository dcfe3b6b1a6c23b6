#pragma once
// Whether a model's next run should use the thread pool or run on the caller's thread alone.
//
// pthreadpool ends every parallel step by waiting for each worker to check in, spinning first.
// When another process or the host's own threads hold the other cores, a worker is runnable but
// not running, and every step waits for the scheduler to give it a slice: measured on the 2-core
// dev machine with one core busy, the flow network took 564 ms a run on 2 threads against 11 ms
// on one (docs/memory-budget.md, "Threads under contention"). A plugin inside a game engine lives
// there. The chooser watches each run's wall time: once a pooled run is slower than running
// alone (or than three times the best pooled run seen), later runs go alone. Now and then a
// probe runs only the model's first layers (about a tenth of a run) on the pool and compares
// them with the same layers alone; the wait between probes doubles each time the pool still
// loses, and a probe clearly faster than alone brings the pool back. A stall costs per
// parallel step, so a probe still stalls its first layers' steps (51-86 ms measured, against
// 585 ms for a whole run). Without contention it costs one run alone, the
// second, to learn what alone costs.

#include <limits>

namespace fovea {

class ParallelismChooser {
 public:
  // Pooled runs this much slower than a run alone mean the workers do not get their cores.
  static constexpr double kSlowerThanAlone = 1.2;
  // A pooled run this many times the best pooled run is a contention spike, even before a run
  // alone was measured.
  static constexpr double kSpikeOverBest = 3.0;
  static constexpr int kFirstProbeWait = 8;  // runs alone before the pool is tried again
  static constexpr int kLongestProbeWait = 512;
  // A probe pools the leading layers that took at least this share of the last run alone.
  static constexpr double kProbeShare = 0.1;
  // A probe brings the pool back only when its layers ran this much faster than alone: a
  // lucky moment in the middle of contention must not buy a whole stalled run.
  static constexpr double kProbeWinsBelow = 0.8;

  enum class Next { kPool, kAlone, kProbe };
  // How the next run goes: every layer on the pool, every layer alone, or a probe (the leading
  // layers on the pool, the rest alone).
  Next next() const noexcept;
  // After a run on the pool or alone: its wall time. The first run (packing, first touch of the
  // arena) says nothing about either way and is ignored.
  void record(bool used_pool, double milliseconds) noexcept;
  // After a probe: its pooled layers' time, and the same layers' time in the last run alone.
  void record_probe(double pooled_milliseconds, double alone_milliseconds) noexcept;

  // For reports and tests.
  bool contended() const noexcept { return alone_mode_; }
  int probe_wait() const noexcept { return probe_wait_; }
  int runs_alone() const noexcept { return runs_alone_; }
  int probes() const noexcept { return probes_; }

 private:
  static constexpr double kUnknown = std::numeric_limits<double>::infinity();
  int runs_ = 0;
  bool alone_mode_ = false;
  double alone_ms_ = kUnknown;      // the latest run alone
  double best_pool_ms_ = kUnknown;  // the fastest pooled run
  int probe_wait_ = kFirstProbeWait;
  int until_probe_ = 0;
  int runs_alone_ = 0;  // over the chooser's life
  int probes_ = 0;
};

}  // namespace fovea
