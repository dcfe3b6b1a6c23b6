#include "fovea/core/timing_stats.h"

#include <algorithm>
#include <cmath>

namespace fovea {

double percentile(std::span<const double> values, double q) {
  if (values.empty()) return 0.0;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double weight = position - static_cast<double>(below);
  return sorted[below] * (1.0 - weight) + sorted[above] * weight;
}

TimingSummary summarize(std::span<const double> values) {
  TimingSummary summary;
  summary.samples = static_cast<int>(values.size());
  if (values.empty()) return summary;
  summary.median = percentile(values, 0.5);
  summary.p95 = percentile(values, 0.95);
  const auto [lowest, highest] = std::minmax_element(values.begin(), values.end());
  summary.min = *lowest;
  summary.max = *highest;
  return summary;
}

}  // namespace fovea
