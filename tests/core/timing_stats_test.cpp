#include <doctest/doctest.h>

#include <vector>

#include "fovea/core/timing_stats.h"

namespace fovea {
namespace {

TEST_CASE("percentile and summarize use interpolated order statistics") {
  const std::vector<double> values = {9, 1, 5, 3, 7};  // sorted: 1 3 5 7 9
  CHECK(percentile(values, 0.5) == doctest::Approx(5.0));
  CHECK(percentile(values, 0.0) == doctest::Approx(1.0));
  CHECK(percentile(values, 1.0) == doctest::Approx(9.0));
  CHECK(percentile(values, 0.95) == doctest::Approx(8.6));  // 0.95 * 4 = 3.8 -> 7 + 0.8 * 2
  CHECK(percentile(values, 0.25) == doctest::Approx(3.0));
  CHECK(percentile(std::vector<double>{}, 0.5) == 0.0);

  const TimingSummary summary = summarize(values);
  CHECK(summary.samples == 5);
  CHECK(summary.median == doctest::Approx(5.0));
  CHECK(summary.p95 == doctest::Approx(8.6));
  CHECK(summary.min == 1.0);
  CHECK(summary.max == 9.0);

  const std::vector<double> even = {4, 1, 3, 2};
  CHECK(percentile(even, 0.5) == doctest::Approx(2.5));
}

}  // namespace
}  // namespace fovea
