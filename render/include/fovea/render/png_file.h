#pragma once
#include <string>

#include "fovea/core/status.h"
#include "fovea/render/image.h"

namespace fovea::render {

// Images larger than this on a side are refused before decoding: a hostile header cannot make
// fovea allocate gigabytes.
inline constexpr int kMaxPngSide = 16384;

Status write_png(const std::string& path, const ImageRgba8& image);
Result<ImageRgba8> read_png(const std::string& path);

}  // namespace fovea::render
