#include "metrics.h"

#include <cmath>
#include <limits>

namespace fovea::lightfield {
namespace {

constexpr int kWindow = 11;
constexpr double kSigma = 1.5;

// Valid-region separable Gaussian filtering of one channel plane.
std::vector<double> filter_valid(const std::vector<double>& plane, int width, int height,
                                 const double* g) {
  const int out_w = width - kWindow + 1, out_h = height - kWindow + 1;
  std::vector<double> rows(static_cast<size_t>(out_h) * width, 0.0);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < width; ++x) {
      double sum = 0.0;
      for (int i = 0; i < kWindow; ++i) sum += g[i] * plane[size_t(y + i) * width + x];
      rows[size_t(y) * width + x] = sum;
    }
  std::vector<double> out(static_cast<size_t>(out_h) * out_w, 0.0);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      double sum = 0.0;
      for (int i = 0; i < kWindow; ++i) sum += g[i] * rows[size_t(y) * width + x + i];
      out[size_t(y) * out_w + x] = sum;
    }
  return out;
}

}  // namespace

double psnr(const ImageRgbF& a, const ImageRgbF& b) {
  double squared = 0.0;
  for (size_t i = 0; i < a.values.size(); ++i) {
    const double d = double(a.values[i]) - double(b.values[i]);
    squared += d * d;
  }
  const double mse = squared / double(a.values.size());
  // Identical images score 100 dB, so means stay finite.
  return mse < 1e-10 ? 100.0 : -10.0 * std::log10(mse);
}

double ssim(const ImageRgbF& a, const ImageRgbF& b) {
  if (a.width < kWindow || a.height < kWindow) return 0.0;
  double g[kWindow], total = 0.0;
  for (int i = 0; i < kWindow; ++i) {
    const double x = i - (kWindow - 1) / 2.0;
    g[i] = std::exp(-x * x / (2.0 * kSigma * kSigma));
    total += g[i];
  }
  for (double& v : g) v /= total;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const size_t pixels = static_cast<size_t>(a.width) * a.height;
  double sum = 0.0;
  size_t count = 0;
  for (int c = 0; c < 3; ++c) {
    std::vector<double> x(pixels), y(pixels), xx(pixels), yy(pixels), xy(pixels);
    for (size_t p = 0; p < pixels; ++p) {
      x[p] = a.values[p * 3 + c];
      y[p] = b.values[p * 3 + c];
      xx[p] = x[p] * x[p];
      yy[p] = y[p] * y[p];
      xy[p] = x[p] * y[p];
    }
    const auto mx = filter_valid(x, a.width, a.height, g),
               my = filter_valid(y, a.width, a.height, g);
    const auto sxx = filter_valid(xx, a.width, a.height, g);
    const auto syy = filter_valid(yy, a.width, a.height, g);
    const auto sxy = filter_valid(xy, a.width, a.height, g);
    for (size_t i = 0; i < mx.size(); ++i) {
      const double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i];
      const double cov = sxy[i] - mx[i] * my[i];
      sum += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) /
             ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
      ++count;
    }
  }
  return sum / double(count);
}

}  // namespace fovea::lightfield
