#pragma once
// The CPU reference of the light-field renderer: the first ray-mesh hit per pixel (a BVH,
// Moller-Trumbore in double precision) and the format's shading rule in 32-bit float with the
// same nearest lookups as shaders/lightfield.frag. Tests hold the GL renderer to it.

#include <vector>

#include <glm/mat4x4.hpp>
#include <glm/vec2.hpp>
#include <glm/vec3.hpp>

#include "fovea/render/image.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/pinhole_camera.h"

namespace fovea::render {

class LightFieldReference {
 public:
  struct Hit {
    int triangle = -1;
    double distance = 0.0;        // along the unit ray
    glm::dvec3 barycentric{0.0};  // weights of the triangle's corners 0, 1, 2
  };

  // Keeps a reference to `asset`, which must outlive this object.
  explicit LightFieldReference(const LightFieldAsset& asset);
  explicit LightFieldReference(LightFieldAsset&&) = delete;  // would dangle

  // The nearest hit with distance > 0 along the unit `direction`; false when the ray misses.
  bool intersect(const glm::dvec3& origin, const glm::dvec3& direction, Hit& hit) const;

  // The format's shading rule at world point x with atlas coordinates st, seen from `eye`:
  // sigmoid(bias + sum_j f_{c,j} beta_j), nearest texels, in float as the shader computes it.
  glm::vec3 shade(const glm::vec3& x, const glm::vec2& st, const glm::vec3& eye) const;

  // Renders what the GL renderer draws for `projection * view` (a perspective projection) into
  // a width x height target: rays through pixel centres from the camera centre, hits kept
  // where GL keeps fragments (inside the clip volume), the background elsewhere. Rows top to
  // bottom, as OffscreenTarget::read_back gives them. `threads` 0 uses every core.
  ImageRgba8 render(const glm::mat4& view, const glm::mat4& projection, int width, int height,
                    int threads = 1) const;
  ImageRgba8 render(const PinholeCamera& camera, double near_plane, double far_plane,
                    int threads = 1) const;

 private:
  struct Node {
    glm::dvec3 lo{0.0}, hi{0.0};
    int first = 0;  // leaf: first entry of order_
    int count = 0;  // leaf: triangle count; 0 marks an inner node
    int left = 0;   // inner: child nodes
    int right = 0;
  };
  int build(int begin, int end, int depth);

  const LightFieldAsset& asset_;
  std::vector<glm::dvec3> corners_;  // 3 per triangle
  std::vector<int> order_;
  std::vector<Node> nodes_;
};

}  // namespace fovea::render
