#pragma once
// Golden-image comparison, after Filament's: each test states how different is still right.

#include <string>

#include "fovea/core/status.h"
#include "fovea/render/image.h"

namespace fovea::render {

struct ImageTolerance {
  // A pixel "differs" when any channel (RGB) is off by more than this.
  int max_channel_difference = 0;
  // The share of pixels allowed to differ, 0..1.
  double max_differing_fraction = 0.0;
  // The PSNR (RGB, 8-bit peak) the image must reach; infinity for identical images.
  double min_psnr_db = 0.0;
};

struct ImageComparison {
  int largest_channel_difference = 0;
  double differing_fraction = 0.0;
  double psnr_db = 0.0;
  ImageRgba8 difference;  // |actual - expected| per channel, amplified x4 so small errors show

  bool within(const ImageTolerance& tolerance) const;
  std::string describe(const ImageTolerance& tolerance) const;
};

// PSNR of RGB only: alpha is coverage, not colour, in every image fovea compares.
Result<ImageComparison> compare_images(const ImageRgba8& actual, const ImageRgba8& expected,
                                       const ImageTolerance& tolerance);

}  // namespace fovea::render
