#pragma once
#include <glm/mat4x4.hpp>
#include <glm/vec3.hpp>

namespace fovea::render {

// A camera circling a target: what the demo's mouse drives and what orbits in benchmarks use.
struct OrbitCamera {
  glm::vec3 target{0.0f};
  float distance = 6.0f;
  float yaw_degrees = 30.0f;    // around +Y, 0 looks from +Z
  float pitch_degrees = 25.0f;  // above the horizon
  float vertical_fov_degrees = 45.0f;
  float near_plane = 0.05f;
  float far_plane = 100.0f;

  glm::vec3 position() const;
  glm::mat4 view() const;
  glm::mat4 projection(float aspect) const;
};

}  // namespace fovea::render
