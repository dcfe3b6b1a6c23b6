#include "fovea/render/orbit_camera.h"

#include <cmath>

#include <glm/gtc/matrix_transform.hpp>

namespace fovea::render {

glm::vec3 OrbitCamera::position() const {
  const float yaw = glm::radians(yaw_degrees);
  const float pitch = glm::radians(pitch_degrees);
  const glm::vec3 offset{std::cos(pitch) * std::sin(yaw), std::sin(pitch),
                         std::cos(pitch) * std::cos(yaw)};
  return target + offset * distance;
}

glm::mat4 OrbitCamera::view() const {
  return glm::lookAt(position(), target, glm::vec3(0.0f, 1.0f, 0.0f));
}

glm::mat4 OrbitCamera::projection(float aspect) const {
  return glm::perspective(glm::radians(vertical_fov_degrees), aspect, near_plane, far_plane);
}

}  // namespace fovea::render
