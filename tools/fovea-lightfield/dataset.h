#pragma once
// Posed photos for evaluating light-field assets, in the layouts models/lightfield/datasets.py
// reads, with the same conventions (OpenGL camera-to-world, pixel centres, lego over white,
// LLFF recentred and rescaled, fern's file-to-pose mapping and held-out views).

#include <string>
#include <vector>

#include <glm/mat4x4.hpp>

#include "fovea/core/status.h"

namespace fovea::lightfield {

struct DatasetView {
  std::string name;  // the image's file name, e.g. "r_0.png", "image001.png"
  std::string image_path;
  glm::dmat4 camera_to_world{1.0};
};

struct Dataset {
  std::string layout;                 // "blender" (nerf_synthetic) or "llff"
  bool composite_over_white = false;  // nerf_synthetic RGBA photos
  double camera_angle_x = 0.0;        // blender: horizontal field of view
  double pose_width = 0.0;            // llff: the poses' h, w, f (row 0)
  double pose_height = 0.0;
  double pose_focal = 0.0;
  std::vector<DatasetView> views;

  // The focal length in pixels for images `width` x `height` (principal point centred); an
  // error when an LLFF image's aspect differs from the poses'.
  Result<double> focal_for(int width, int height) const;
};

// nerf_synthetic: every frame of transforms_{split}.json. LLFF: split "val"/"test" gives the
// held-out images (every 8th of the images present, sorted by index), "train" the others.
// `width`/`height` are read from the first image by the caller (the loader reads no pixels).
Result<Dataset> load_dataset(const std::string& root, const std::string& split);

}  // namespace fovea::lightfield
