#include "fovea/vision/synthetic_flow.h"

#include <array>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace fovea::vision {
namespace {

// One sinusoid of the texture: intensity amplitude, spatial frequency (cycles per pixel along
// x and y) and phase, with a per-channel gain so the three channels differ a little.
struct Wave {
  double amplitude, fx, fy, phase;
  std::array<double, 3> gain;
};

// Wavelengths of 5..40 px in 24 directions: enough texture at every scale of DIS's pyramid, and
// no single wave dominates, so there is no aperture problem and no periodic false match for
// motions of a few pixels.
std::vector<Wave> make_waves(unsigned seed) {
  std::mt19937 random(seed);
  // Raw engine output, not std::uniform_real_distribution, whose algorithm differs between
  // standard libraries: the same seed must give the same texture everywhere.
  auto uniform = [&] { return static_cast<double>(random()) / 4294967296.0; };
  std::vector<Wave> waves;
  for (int i = 0; i < 24; ++i) {
    const double wavelength = 5.0 + 35.0 * uniform();
    const double angle = std::numbers::pi * (i + uniform()) / 24.0;
    const double f = 1.0 / wavelength;
    waves.push_back({14.0 + 10.0 * uniform(),
                     f * std::cos(angle),
                     f * std::sin(angle),
                     2.0 * std::numbers::pi * uniform(),
                     {0.8 + 0.4 * uniform(), 0.8 + 0.4 * uniform(), 0.8 + 0.4 * uniform()}});
  }
  return waves;
}

cv::Vec3b texture_at(const std::vector<Wave>& waves, double x, double y) {
  std::array<double, 3> value{128.0, 128.0, 128.0};
  for (const Wave& wave : waves) {
    const double s = wave.amplitude *
                     std::sin(2.0 * std::numbers::pi * (wave.fx * x + wave.fy * y) + wave.phase);
    for (int c = 0; c < 3; ++c) value[c] += wave.gain[c] * s * 0.35;
  }
  return cv::Vec3b(cv::saturate_cast<std::uint8_t>(value[0]),
                   cv::saturate_cast<std::uint8_t>(value[1]),
                   cv::saturate_cast<std::uint8_t>(value[2]));
}

// `forward` maps a frame-1 point to frame 2, `inverse` the other way.
template <typename Forward, typename Inverse>
SyntheticFlowPair make_pair(cv::Size size, unsigned seed, Forward forward, Inverse inverse) {
  const std::vector<Wave> waves = make_waves(seed);
  SyntheticFlowPair pair;
  pair.frame1.create(size, CV_8UC3);
  pair.frame2.create(size, CV_8UC3);
  pair.flow.create(size, CV_32FC2);
  pair.occluded.create(size, CV_8UC1);
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      pair.frame1.at<cv::Vec3b>(y, x) = texture_at(waves, x, y);
      const cv::Point2d source = inverse(cv::Point2d(x, y));
      pair.frame2.at<cv::Vec3b>(y, x) = texture_at(waves, source.x, source.y);
      const cv::Point2d target = forward(cv::Point2d(x, y));
      pair.flow.at<cv::Vec2f>(y, x) =
          cv::Vec2f(static_cast<float>(target.x - x), static_cast<float>(target.y - y));
      const bool inside = target.x >= 0.0 && target.y >= 0.0 && target.x <= size.width - 1.0 &&
                          target.y <= size.height - 1.0;
      pair.occluded.at<std::uint8_t>(y, x) = inside ? 0 : 255;
    }
  }
  return pair;
}

}  // namespace

SyntheticFlowPair make_translated_pair(cv::Size size, cv::Point2f shift, unsigned seed) {
  const cv::Point2d d(shift.x, shift.y);
  return make_pair(
      size, seed, [d](cv::Point2d p) { return p + d; }, [d](cv::Point2d q) { return q - d; });
}

SyntheticFlowPair make_rotated_pair(cv::Size size, float degrees, unsigned seed) {
  const cv::Point2d centre((size.width - 1) / 2.0, (size.height - 1) / 2.0);
  // With y pointing down, a positive screen angle turns x towards -y.
  const double a = -degrees * std::numbers::pi / 180.0;
  const double c = std::cos(a), s = std::sin(a);
  auto turn = [centre](cv::Point2d p, double cos_a, double sin_a) {
    const cv::Point2d r = p - centre;
    return centre + cv::Point2d(cos_a * r.x - sin_a * r.y, sin_a * r.x + cos_a * r.y);
  };
  return make_pair(
      size, seed, [=](cv::Point2d p) { return turn(p, c, s); },
      [=](cv::Point2d q) { return turn(q, c, -s); });
}

}  // namespace fovea::vision
