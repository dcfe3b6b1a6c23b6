#pragma once
// Real photos as model inputs: resized to the input's size, RGB, ImageNet mean and standard
// deviation, NHWC float (fovea) and NCHW (OpenCV DNN) from the same pixels.

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::bench {

struct Photo {
  std::string name;
  cv::Mat rgb;  // 8-bit RGB at its own size
};

// Every .jpg/.png/.ppm in `dir`, sorted by name; an error if none can be read.
Result<std::vector<Photo>> load_photos(const std::string& dir);

std::vector<float> to_nhwc(const Photo& photo, int width, int height);
cv::Mat to_nchw_blob(const Photo& photo, int width, int height);

// The input of fovea's flow model (models/flow/README.md) from one photo: its grey at
// width x height, the same grey moved by (dx, dy) px (bilinear, edges replicated), and zeros,
// as NHWC float in [0, 1].
std::vector<float> to_flow_pair(const Photo& photo, int width, int height, float dx, float dy);

}  // namespace fovea::bench
