#pragma once
// Middlebury .flo files (the format of Sintel, KITTI conversions and most flow tools): the float
// 202021.25 ("PIEH" in little-endian bytes), int32 width, int32 height, then width*height*2
// float32 (dx, dy) in row-major order, little-endian. Values above 1e9 in magnitude mark
// "unknown flow"; the reader turns them (and NaN or infinities) into invalid pixels.

#include <cstddef>
#include <span>
#include <string>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::vision {

inline constexpr float kFloMagic = 202021.25f;
// Middlebury's threshold: |dx| or |dy| above it means "unknown".
inline constexpr float kFloUnknownThreshold = 1e9f;

struct FloData {
  cv::Mat flow;   // CV_32FC2; invalid pixels hold (0, 0) so arithmetic over the field stays finite
  cv::Mat valid;  // CV_8UC1, 255 where the file gives a flow, 0 where it says "unknown"
  int invalid_pixels = 0;
};

// Validates everything before trusting it: the magic, width and height in 1..kMaxFlowSide, and
// the byte count against the header (a truncated file or trailing bytes are kCorruptData).
Result<FloData> parse_flo(std::span<const std::byte> bytes, const std::string& name = "flow");
Result<FloData> read_flo(const std::string& path);

// Writes a CV_32FC2 field; pixels where `valid` (CV_8UC1, optional) is 0, and non-finite
// values, are written as Middlebury's "unknown" (1e10).
Status write_flo(const std::string& path, const cv::Mat& flow, const cv::Mat& valid = {});

}  // namespace fovea::vision
