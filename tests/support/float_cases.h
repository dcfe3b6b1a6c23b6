#pragma once
// Random float tensors and the error measure the FP32 kernel tests (flow ops, narrow conv)
// check against the double-precision reference.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace fovea::testing {

inline std::vector<float> uniform(std::mt19937& random, std::int64_t count, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = u(random);
  return v;
}

// Largest |got - want| over the elements, relative to max(1, the largest |want|): the kernels
// sum in float where the reference sums in double.
inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0.0, scale = 1.0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::abs(double(want[i])));
  }
  return worst / scale;
}

}  // namespace fovea::testing
