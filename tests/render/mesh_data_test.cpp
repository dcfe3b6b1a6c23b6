#include <doctest/doctest.h>

#include <glm/geometric.hpp>

#include "fovea/render/mesh_data.h"

namespace fovea::render {
namespace {

// Every triangle's winding must agree with its vertices' normals (counter-clockwise seen from
// outside), or back-face culling would hide the wrong faces.
void check_windings_and_uvs(const MeshData& mesh) {
  REQUIRE(mesh.indices.size() % 3 == 0);
  int disagreeing = 0, degenerate = 0;
  for (size_t t = 0; t < mesh.indices.size(); t += 3) {
    const MeshVertex& a = mesh.vertices.at(mesh.indices[t]);
    const MeshVertex& b = mesh.vertices.at(mesh.indices[t + 1]);
    const MeshVertex& c = mesh.vertices.at(mesh.indices[t + 2]);
    const glm::vec3 face = glm::cross(b.position - a.position, c.position - a.position);
    if (glm::length(face) < 1e-9f) {
      ++degenerate;
      continue;
    }
    if (glm::dot(face, a.normal + b.normal + c.normal) <= 0.0f) ++disagreeing;
  }
  CHECK(disagreeing == 0);
  CHECK(degenerate == 0);  // zero-area triangles waste rasteriser work and break normals
  for (const MeshVertex& v : mesh.vertices) {
    CHECK(glm::length(v.normal) == doctest::Approx(1.0f).epsilon(1e-4));
    CHECK(v.uv.x >= 0.0f);
    CHECK(v.uv.y >= 0.0f);
  }
}

TEST_CASE("procedural meshes wind counter-clockwise outward with unit normals") {
  SUBCASE("box") {
    const MeshData box = make_box({1.0f, 2.0f, 3.0f});
    CHECK(box.vertices.size() == 24);
    CHECK(box.indices.size() == 36);
    check_windings_and_uvs(box);
    for (const MeshVertex& v : box.vertices) {
      CHECK(std::abs(v.position.x) == doctest::Approx(1.0f));
      CHECK(std::abs(v.position.z) == doctest::Approx(3.0f));
    }
  }
  SUBCASE("sphere") {
    const MeshData sphere = make_uv_sphere(0.5f, 8, 16);
    check_windings_and_uvs(sphere);
    for (const MeshVertex& v : sphere.vertices)
      CHECK(glm::length(v.position) == doctest::Approx(0.5f).epsilon(1e-4));
  }
  SUBCASE("torus") {
    const MeshData torus = make_torus(1.0f, 0.25f, 16, 8);
    CHECK(torus.indices.size() == 16 * 8 * 6);
    check_windings_and_uvs(torus);
  }
  SUBCASE("ground plane faces up") {
    const MeshData plane = make_ground_plane(2.0f, 4.0f);
    check_windings_and_uvs(plane);
    for (const MeshVertex& v : plane.vertices) CHECK(v.normal.y == 1.0f);
  }
}

}  // namespace
}  // namespace fovea::render
