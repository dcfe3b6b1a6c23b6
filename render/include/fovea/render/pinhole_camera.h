#pragma once
// A dataset camera in the OpenGL convention (docs/lightfield-asset.md, "World frame and
// cameras"): camera-to-world [R | t], x right, y up, looking down -z; pinhole intrinsics in
// pixels with the principal point (cx, cy) measured from the top-left corner. Pixel (x, y)
// (column, row from the top) has its centre at (x + 0.5, y + 0.5).

#include <glm/mat4x4.hpp>
#include <glm/vec3.hpp>

namespace fovea::render {

struct PinholeCamera {
  glm::dmat4 camera_to_world{1.0};
  double fx = 1.0;
  double fy = 1.0;
  double cx = 0.5;
  double cy = 0.5;
  int width = 1;
  int height = 1;

  // A centred pinhole (cx = W/2, cy = H/2) with square pixels, as nerf_synthetic and LLFF have.
  static PinholeCamera centred(const glm::dmat4& camera_to_world, double focal, int width,
                               int height);
  // The look-at camera a GL view matrix gives (glm::lookAt), with a vertical field of view.
  static PinholeCamera look_at(const glm::dvec3& eye, const glm::dvec3& target,
                               const glm::dvec3& up, double fovy_radians, int width, int height);

  glm::dvec3 eye() const { return glm::dvec3(camera_to_world[3]); }
  glm::mat4 view() const;
  // The GL projection whose pixel centres are exactly this camera's rays: NDC x = 2u/W - 1,
  // NDC y = 1 - 2v/H for pixel coordinates (u, v) from the top-left, depth in [near, far].
  glm::mat4 projection(double near_plane, double far_plane) const;
  // The unit world-space direction through the centre of pixel (x, y).
  glm::dvec3 ray_direction(int x, int y) const;
};

}  // namespace fovea::render
