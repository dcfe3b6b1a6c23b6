#pragma once
#include <span>
#include <vector>

namespace fovea {

// Order statistics of repeated timings; medians and tails, never means, because a shared
// machine's noise is one-sided.
struct TimingSummary {
  int samples = 0;
  double median = 0.0;
  double p95 = 0.0;
  double min = 0.0;
  double max = 0.0;
};

// Linear interpolation between closest ranks; q in [0, 1]. Empty input gives 0.
double percentile(std::span<const double> values, double q);
TimingSummary summarize(std::span<const double> values);

}  // namespace fovea
