#include "fovea/render/image_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace fovea::render {

bool ImageComparison::within(const ImageTolerance& tolerance) const {
  return differing_fraction <= tolerance.max_differing_fraction && psnr_db >= tolerance.min_psnr_db;
}

std::string ImageComparison::describe(const ImageTolerance& tolerance) const {
  char text[320];
  std::snprintf(text, sizeof text,
                "largest channel difference %d; %.4f%% of pixels differ by more than %d "
                "(allowed %.4f%%); PSNR %.2f dB (floor %.2f dB)",
                largest_channel_difference, differing_fraction * 100.0,
                tolerance.max_channel_difference, tolerance.max_differing_fraction * 100.0, psnr_db,
                tolerance.min_psnr_db);
  return text;
}

Result<ImageComparison> compare_images(const ImageRgba8& actual, const ImageRgba8& expected,
                                       const ImageTolerance& tolerance) {
  if (actual.width != expected.width || actual.height != expected.height)
    return Status(ErrorCode::kInvalidArgument,
                  "image sizes differ: actual " + std::to_string(actual.width) + "x" +
                      std::to_string(actual.height) + ", expected " +
                      std::to_string(expected.width) + "x" + std::to_string(expected.height));
  if (actual.empty()) return Status(ErrorCode::kInvalidArgument, "cannot compare empty images");

  ImageComparison result;
  result.difference = ImageRgba8(actual.width, actual.height);
  double squared_error = 0.0;
  size_t differing = 0;
  const size_t pixel_count = static_cast<size_t>(actual.width) * actual.height;
  for (size_t i = 0; i < pixel_count; ++i) {
    int largest_here = 0;
    for (int c = 0; c < 3; ++c) {
      const int d = std::abs(int{actual.pixels[i * 4 + c]} - int{expected.pixels[i * 4 + c]});
      squared_error += double(d) * d;
      largest_here = std::max(largest_here, d);
      result.difference.pixels[i * 4 + c] = static_cast<std::uint8_t>(std::min(255, d * 4));
    }
    result.difference.pixels[i * 4 + 3] = 255;
    result.largest_channel_difference = std::max(result.largest_channel_difference, largest_here);
    if (largest_here > tolerance.max_channel_difference) ++differing;
  }
  result.differing_fraction = static_cast<double>(differing) / static_cast<double>(pixel_count);
  const double mse = squared_error / (static_cast<double>(pixel_count) * 3.0);
  result.psnr_db =
      mse == 0.0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse);
  return result;
}

}  // namespace fovea::render
