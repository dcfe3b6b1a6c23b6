#include "fovea/render/mesh_data.h"

#include <cmath>
#include <numbers>

namespace fovea::render {
namespace {

constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;

// A (rows+1) x (columns+1) vertex grid of quads: each quad becomes two CCW triangles.
void append_grid_indices(MeshData& mesh, std::uint32_t first, int rows, int columns) {
  const auto stride = static_cast<std::uint32_t>(columns + 1);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < columns; ++c) {
      const std::uint32_t a = first + static_cast<std::uint32_t>(r) * stride + c;
      const std::uint32_t b = a + stride;
      mesh.indices.insert(mesh.indices.end(), {a, b, a + 1, a + 1, b, b + 1});
    }
  }
}

}  // namespace

MeshData make_box(glm::vec3 h) {
  MeshData mesh;
  // Each face: normal, then two tangent axes (u, v) with u x v = normal, so windings agree.
  const glm::vec3 faces[6][3] = {
      {{1, 0, 0}, {0, 0, -1}, {0, 1, 0}}, {{-1, 0, 0}, {0, 0, 1}, {0, 1, 0}},
      {{0, 1, 0}, {1, 0, 0}, {0, 0, -1}}, {{0, -1, 0}, {1, 0, 0}, {0, 0, 1}},
      {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}},  {{0, 0, -1}, {-1, 0, 0}, {0, 1, 0}},
  };
  for (const auto& face : faces) {
    const auto first = static_cast<std::uint32_t>(mesh.vertices.size());
    for (int corner = 0; corner < 4; ++corner) {
      const float u = (corner & 1) ? 1.0f : 0.0f;
      const float v = (corner & 2) ? 1.0f : 0.0f;
      const glm::vec3 p = face[0] + face[1] * (u * 2 - 1) + face[2] * (v * 2 - 1);
      mesh.vertices.push_back({p * h, face[0], {u, v}});
    }
    mesh.indices.insert(mesh.indices.end(),
                        {first, first + 1, first + 3, first, first + 3, first + 2});
  }
  return mesh;
}

MeshData make_uv_sphere(float radius, int rings, int segments) {
  MeshData mesh;
  for (int r = 0; r <= rings; ++r) {
    const float v = static_cast<float>(r) / rings;
    const float polar = v * std::numbers::pi_v<float>;
    // sinf(pi) is -8.7e-8, not 0: pin the poles so their vertices coincide exactly and the
    // triangles that meet there are degenerate rather than tiny and inside-out.
    const float ring_radius = (r == 0 || r == rings) ? 0.0f : std::sin(polar);
    const float ring_height = r == 0 ? 1.0f : (r == rings ? -1.0f : std::cos(polar));
    for (int s = 0; s <= segments; ++s) {
      const float u = static_cast<float>(s) / segments;
      const float azimuth = u * kTwoPi;
      const glm::vec3 n{ring_radius * std::sin(azimuth), ring_height,
                        ring_radius * std::cos(azimuth)};
      mesh.vertices.push_back({n * radius, n, {u, 1.0f - v}});
    }
  }
  // Each pole row keeps only the triangle of its quads that has area.
  const auto stride = static_cast<std::uint32_t>(segments + 1);
  for (int r = 0; r < rings; ++r) {
    for (int c = 0; c < segments; ++c) {
      const std::uint32_t a = static_cast<std::uint32_t>(r) * stride + c;
      const std::uint32_t b = a + stride;
      if (r != 0) mesh.indices.insert(mesh.indices.end(), {a, b, a + 1});
      if (r != rings - 1) mesh.indices.insert(mesh.indices.end(), {a + 1, b, b + 1});
    }
  }
  return mesh;
}

MeshData make_torus(float major_radius, float minor_radius, int rings, int segments) {
  MeshData mesh;
  for (int r = 0; r <= rings; ++r) {
    const float u = static_cast<float>(r) / rings;
    const float around = u * kTwoPi;
    const glm::vec3 centre{major_radius * std::sin(around), 0.0f, major_radius * std::cos(around)};
    const glm::vec3 outward{std::sin(around), 0.0f, std::cos(around)};
    for (int s = 0; s <= segments; ++s) {
      const float v = static_cast<float>(s) / segments;
      const float tube = v * kTwoPi;
      const glm::vec3 n = outward * std::cos(tube) + glm::vec3(0, 1, 0) * std::sin(tube);
      mesh.vertices.push_back({centre + n * minor_radius, n, {u * 4.0f, v}});
    }
  }
  append_grid_indices(mesh, 0, rings, segments);
  return mesh;
}

MeshData make_ground_plane(float half_size, float uv_repeat) {
  MeshData mesh;
  for (int corner = 0; corner < 4; ++corner) {
    const float u = (corner & 1) ? 1.0f : 0.0f;
    const float v = (corner & 2) ? 1.0f : 0.0f;
    mesh.vertices.push_back({{(u * 2 - 1) * half_size, 0.0f, (1 - v * 2) * half_size},
                             {0, 1, 0},
                             {u * uv_repeat, v * uv_repeat}});
  }
  mesh.indices = {0, 1, 3, 0, 3, 2};
  return mesh;
}

}  // namespace fovea::render
