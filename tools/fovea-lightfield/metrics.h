#pragma once
// Image metrics as models/lightfield/eval_asset.py computes them: PSNR from the MSE over all
// pixels and channels of values in [0, 1]; SSIM as the mean over RGB and the valid region of
// the Gaussian SSIM (11x11, sigma 1.5, K1 0.01, K2 0.03, data range 1).

#include <vector>

namespace fovea::lightfield {

// width x height x 3 floats in [0, 1], rows top to bottom.
struct ImageRgbF {
  int width = 0;
  int height = 0;
  std::vector<float> values;
};

double psnr(const ImageRgbF& a, const ImageRgbF& b);
double ssim(const ImageRgbF& a, const ImageRgbF& b);

}  // namespace fovea::lightfield
