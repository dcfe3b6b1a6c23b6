#include <doctest/doctest.h>

#include <cmath>

#include "fovea/render/image_compare.h"

namespace fovea::render {
namespace {

ImageRgba8 filled(int w, int h, std::uint8_t value) {
  ImageRgba8 image(w, h);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = (i % 4 == 3) ? 255 : value;
  return image;
}

TEST_CASE("image comparison reports the largest difference, differing share and PSNR") {
  const ImageRgba8 expected = filled(10, 10, 100);
  ImageRgba8 actual = expected;
  const ImageTolerance tolerance{
      .max_channel_difference = 2, .max_differing_fraction = 0.05, .min_psnr_db = 30.0};

  auto identical = compare_images(actual, expected, tolerance);
  REQUIRE(identical.is_ok());
  CHECK(identical->largest_channel_difference == 0);
  CHECK(std::isinf(identical->psnr_db));
  CHECK(identical->within(tolerance));

  // Four pixels off by 10 in green: 4% differ, MSE = 4 * 100 / 300.
  for (int i = 0; i < 4; ++i) actual.pixel(i, 0)[1] = 110;
  auto some = compare_images(actual, expected, tolerance);
  REQUIRE(some.is_ok());
  CHECK(some->largest_channel_difference == 10);
  CHECK(some->differing_fraction == doctest::Approx(0.04));
  CHECK(some->psnr_db == doctest::Approx(10.0 * std::log10(255.0 * 255.0 / (400.0 / 300.0))));
  CHECK(some->within(tolerance));
  CHECK(int{some->difference.pixel(0, 0)[1]} == 40);  // amplified x4
  CHECK(int{some->difference.pixel(5, 5)[1]} == 0);

  // Alpha is not colour: a different alpha alone changes nothing.
  ImageRgba8 alpha_only = expected;
  alpha_only.pixel(3, 3)[3] = 0;
  CHECK(compare_images(alpha_only, expected, tolerance)->largest_channel_difference == 0);

  for (int i = 4; i < 10; ++i) actual.pixel(i, 0)[1] = 110;  // now 10% differ
  auto many = compare_images(actual, expected, tolerance);
  CHECK_FALSE(many->within(tolerance));
  CHECK(many->describe(tolerance).find("10.0000% of pixels") != std::string::npos);

  CHECK(compare_images(filled(4, 4, 0), expected, tolerance).status().code() ==
        ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fovea::render
