#include "demo_scene.h"

#include <cstdio>
#include <filesystem>

#include <glm/gtc/matrix_transform.hpp>

namespace fovea::demo {

Result<DemoScene> DemoScene::create(render::GpuMemoryLedger& ledger, const DemoOptions& options) {
  DemoScene scene;
  if (options.scene == "flow") {
    auto flow = FlowScene::create(ledger, options);
    if (!flow) return flow.status();
    scene.description_ = flow->description();
    scene.flow_.emplace(std::move(*flow));
    return scene;
  }
  if (options.scene != "builtin") {
    const std::string path =
        options.asset.empty()
            ? (std::filesystem::path(FOVEA_SOURCE_DIR) / "models/lightfield/assets/lego.fvlf")
                  .string()
            : options.asset;
    auto asset = render::load_lightfield_asset(path);
    Result<render::LightFieldRenderer> renderer =
        asset ? render::LightFieldRenderer::create(ledger, *asset) : asset.status();
    if (renderer) {
      scene.start_ = asset->camera;
      scene.triangles_ = static_cast<int>(asset->triangle_count());
      scene.description_ = "light field '" + asset->name + "', k = " + std::to_string(asset->k);
      scene.light_field_ = std::move(*renderer);
      return scene;
    }
    // An asset the user named must load; the default one may be missing from a partial checkout.
    if (options.scene == "lightfield" || !options.asset.empty()) return renderer.status();
    std::fprintf(stderr, "fovea-demo: %s; showing the built-in scene\n",
                 renderer.status().to_string().c_str());
  }
  auto builtin = render::BuiltinScene::create(ledger);
  if (!builtin) return builtin.status();
  scene.triangles_ = builtin->triangle_count();
  scene.description_ = "built-in scene: lit, textured, depth-tested";
  scene.builtin_ = std::move(*builtin);
  return scene;
}

render::OrbitCamera DemoScene::initial_camera() const {
  render::OrbitCamera camera;
  if (light_field_) {
    // Yaw and pitch turn the asset's own camera about its up axis and its right axis.
    camera.yaw_degrees = 0.0f;
    camera.pitch_degrees = 0.0f;
    camera.distance = glm::length(start_.eye - start_.target);
  }
  return camera;
}

void DemoScene::draw(const render::OrbitCamera& camera, float aspect) const {
  if (flow_) {
    flow_->draw();
    return;
  }
  if (builtin_) {
    builtin_->draw(camera, aspect);
    return;
  }
  const glm::vec3 up = glm::normalize(start_.up);
  const glm::vec3 offset = glm::normalize(start_.eye - start_.target);
  const glm::vec3 right = glm::normalize(glm::cross(offset, up));
  auto turn = [](glm::vec3 v, float degrees, glm::vec3 axis) {
    return glm::vec3(glm::rotate(glm::mat4(1.0f), glm::radians(degrees), axis) *
                     glm::vec4(v, 0.0f));
  };
  const glm::vec3 eye =
      turn(turn(offset, -camera.pitch_degrees, right), camera.yaw_degrees, up) * camera.distance;
  const glm::mat4 view = glm::lookAt(start_.target + eye, start_.target, up);
  const glm::mat4 projection =
      glm::perspective(start_.fovy, aspect, start_.near_plane, start_.far_plane);
  light_field_->clear();
  light_field_->draw(view, projection);
}

}  // namespace fovea::demo
