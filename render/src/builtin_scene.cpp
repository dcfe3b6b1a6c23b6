#include "fovea/render/builtin_scene.h"

#include <glm/gtc/matrix_inverse.hpp>
#include <glm/gtc/matrix_transform.hpp>

#include "fovea/render/procedural_texture.h"

namespace fovea::render {

Result<BuiltinScene> BuiltinScene::create(GpuMemoryLedger& ledger) {
  BuiltinScene scene;
  auto program = ShaderProgram::from_embedded("lit_mesh.vert", "lit_mesh.frag");
  if (!program) return program.status();
  scene.program_ = std::move(*program);

  const MeshData meshes[] = {
      make_ground_plane(4.0f, 8.0f),
      make_box({0.6f, 0.6f, 0.6f}),
      make_uv_sphere(0.7f, 24, 48),
      make_torus(0.75f, 0.25f, 48, 24),
  };
  for (const MeshData& mesh : meshes) {
    auto buffer = MeshBuffer::create(ledger, mesh);
    if (!buffer) return buffer.status().with_context("built-in scene");
    scene.triangles_ += static_cast<int>(mesh.indices.size() / 3);
    scene.meshes_.push_back(std::move(*buffer));
  }

  constexpr int kTextureSize = 256;
  const std::vector<std::uint8_t> texels[] = {
      make_checker_texels(kTextureSize, 8, {0.85f, 0.85f, 0.82f}, {0.35f, 0.37f, 0.40f}),
      make_stripe_texels(kTextureSize, 6, {0.95f, 0.55f, 0.20f}, {0.98f, 0.90f, 0.75f}),
  };
  for (const auto& data : texels) {
    auto texture = Texture2D::create_rgba8(ledger, kTextureSize, kTextureSize, data,
                                           TextureFilter::kLinearMipmapped);
    if (!texture) return texture.status().with_context("built-in scene");
    scene.textures_.push_back(std::move(*texture));
  }

  auto place = [](glm::vec3 at, float yaw_degrees) {
    return glm::rotate(glm::translate(glm::mat4(1.0f), at), glm::radians(yaw_degrees),
                       glm::vec3(0, 1, 0));
  };
  // The box sits in front of the sphere from the default view, so depth testing shows.
  scene.objects_ = {
      {0, 0, glm::mat4(1.0f), {1.0f, 1.0f, 1.0f, 1.0f}},
      {1, 1, place({0.3f, 0.6f, 0.9f}, 25.0f), {1.0f, 1.0f, 1.0f, 1.0f}},
      {2, 1, place({-0.9f, 0.7f, -0.6f}, 0.0f), {0.45f, 0.75f, 1.0f, 1.0f}},
      {3, 0, place({1.4f, 0.25f, -1.3f}, 0.0f), {0.6f, 1.0f, 0.55f, 1.0f}},
  };
  return scene;
}

void BuiltinScene::draw(const OrbitCamera& camera, float aspect) const {
  glClearColor(0.11f, 0.12f, 0.14f, 1.0f);
  glClearDepthf(1.0f);
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  glEnable(GL_DEPTH_TEST);
  glDepthFunc(GL_LESS);
  glDepthMask(GL_TRUE);
  glEnable(GL_CULL_FACE);
  glCullFace(GL_BACK);
  glDisable(GL_BLEND);

  program_.use();
  program_.set("u_view_projection", camera.projection(aspect) * camera.view());
  program_.set("u_light_direction", glm::normalize(glm::vec3(0.5f, 0.9f, 0.35f)));
  program_.set("u_camera_position", camera.position());
  program_.set("u_albedo", 0);
  for (const Object& object : objects_) {
    program_.set("u_model", object.model);
    program_.set("u_normal_matrix", glm::inverseTranspose(glm::mat3(object.model)));
    program_.set("u_tint", object.tint);
    textures_[object.texture].bind(0);
    meshes_[object.mesh].draw();
  }
  glDisable(GL_CULL_FACE);
}

}  // namespace fovea::render
