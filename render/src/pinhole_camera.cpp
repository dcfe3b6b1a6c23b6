#include "fovea/render/pinhole_camera.h"

#include <cmath>

#include <glm/gtc/matrix_transform.hpp>

namespace fovea::render {

PinholeCamera PinholeCamera::centred(const glm::dmat4& camera_to_world, double focal, int width,
                                     int height) {
  return {camera_to_world, focal, focal, 0.5 * width, 0.5 * height, width, height};
}

PinholeCamera PinholeCamera::look_at(const glm::dvec3& eye, const glm::dvec3& target,
                                     const glm::dvec3& up, double fovy_radians, int width,
                                     int height) {
  const double focal = 0.5 * height / std::tan(0.5 * fovy_radians);
  return centred(glm::inverse(glm::lookAt(eye, target, up)), focal, width, height);
}

glm::mat4 PinholeCamera::view() const {
  return glm::mat4(glm::inverse(camera_to_world));
}

glm::mat4 PinholeCamera::projection(double near_plane, double far_plane) const {
  glm::dmat4 p(0.0);
  p[0][0] = 2.0 * fx / width;
  p[2][0] = 1.0 - 2.0 * cx / width;
  p[1][1] = 2.0 * fy / height;
  p[2][1] = 2.0 * cy / height - 1.0;
  p[2][2] = -(far_plane + near_plane) / (far_plane - near_plane);
  p[3][2] = -2.0 * far_plane * near_plane / (far_plane - near_plane);
  p[2][3] = -1.0;
  return glm::mat4(p);
}

glm::dvec3 PinholeCamera::ray_direction(int x, int y) const {
  const glm::dvec3 local((x + 0.5 - cx) / fx, -(y + 0.5 - cy) / fy, -1.0);
  return glm::normalize(glm::dmat3(camera_to_world) * local);
}

}  // namespace fovea::render
