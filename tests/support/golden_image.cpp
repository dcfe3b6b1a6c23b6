#include "support/golden_image.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "fovea/render/png_file.h"

namespace fovea::testing {

std::string test_output_dir(const std::string& subfolder) {
  const std::filesystem::path dir = std::filesystem::path(FOVEA_TEST_OUTPUT_DIR) / subfolder;
  std::filesystem::create_directories(dir);
  return dir.string();
}

void check_golden(const render::ImageRgba8& actual, const std::string& name,
                  const render::ImageTolerance& tolerance) {
  const std::string golden_path = std::string(FOVEA_GOLDEN_DIR) + "/" + name + ".png";
  const char* update = std::getenv("FOVEA_UPDATE_GOLDENS");
  if (update != nullptr && std::string(update) == "1") {
    REQUIRE(render::write_png(golden_path, actual).is_ok());
    MESSAGE("rewrote golden " << golden_path);
    return;
  }
  auto expected = render::read_png(golden_path);
  REQUIRE_MESSAGE(expected.is_ok(), expected.status().to_string()
                                        << " (make it with FOVEA_UPDATE_GOLDENS=1)");
  auto comparison = render::compare_images(actual, *expected, tolerance);
  REQUIRE_MESSAGE(comparison.is_ok(), comparison.status().to_string());
  const bool passed = comparison->within(tolerance);
  if (!passed) {
    const std::string dir = test_output_dir("golden") + "/" + name;
    CHECK(render::write_png(dir + ".actual.png", actual).is_ok());
    CHECK(render::write_png(dir + ".expected.png", *expected).is_ok());
    CHECK(render::write_png(dir + ".diff.png", comparison->difference).is_ok());
    MESSAGE("golden '" << name << "' differs; see " << dir << ".{actual,expected,diff}.png");
  }
  CHECK_MESSAGE(passed, name << ": " << comparison->describe(tolerance));
}

}  // namespace fovea::testing
