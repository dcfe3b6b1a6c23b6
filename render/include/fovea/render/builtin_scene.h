#pragma once
// The scene fovea draws when it has nothing else to show, and the subject of the first golden
// images: textured, lit, depth-tested meshes on a checkered ground.

#include <vector>

#include "fovea/core/status.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/orbit_camera.h"
#include "fovea/render/shader_program.h"

namespace fovea::render {

class BuiltinScene {
 public:
  static Result<BuiltinScene> create(GpuMemoryLedger& ledger);

  // Draws into the bound framebuffer (clears it first); `aspect` is its width / height.
  void draw(const OrbitCamera& camera, float aspect) const;

  int triangle_count() const noexcept { return triangles_; }

 private:
  struct Object {
    int mesh = 0;
    int texture = 0;
    glm::mat4 model{1.0f};
    glm::vec4 tint{1.0f};
  };
  ShaderProgram program_;
  std::vector<MeshBuffer> meshes_;
  std::vector<Texture2D> textures_;
  std::vector<Object> objects_;
  int triangles_ = 0;
};

}  // namespace fovea::render
