#pragma once
// Golden-image checks: compare a rendering with tests/golden/NAME.png under the test's own
// tolerance. On failure, NAME.actual.png, NAME.expected.png and NAME.diff.png are written to
// the build's tests/output/golden/ folder. FOVEA_UPDATE_GOLDENS=1 rewrites the golden instead.

#include <string>

#include "fovea/render/image.h"
#include "fovea/render/image_compare.h"

namespace fovea::testing {

void check_golden(const render::ImageRgba8& actual, const std::string& name,
                  const render::ImageTolerance& tolerance);

// Where tests may write files; created on first use.
std::string test_output_dir(const std::string& subfolder);

}  // namespace fovea::testing
