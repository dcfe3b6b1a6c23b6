#pragma once
#include <cstdint>
#include <vector>

#include <glm/vec2.hpp>
#include <glm/vec3.hpp>

namespace fovea::render {

struct MeshVertex {
  glm::vec3 position;
  glm::vec3 normal;
  glm::vec2 uv;
};

// Indexed triangles, counter-clockwise when seen from outside.
struct MeshData {
  std::vector<MeshVertex> vertices;
  std::vector<std::uint32_t> indices;
};

// Procedural shapes centred on the origin, UVs in [0, 1].
MeshData make_box(glm::vec3 half_extent);
MeshData make_uv_sphere(float radius, int rings, int segments);
MeshData make_torus(float major_radius, float minor_radius, int rings, int segments);
// A square in the XZ plane facing +Y, UVs repeated `uv_repeat` times across it.
MeshData make_ground_plane(float half_size, float uv_repeat);

}  // namespace fovea::render
