#pragma once
// What the demo draws: the lego light field baked by models/lightfield (the default), the
// built-in lit scene (--scene builtin, or when no asset can be loaded), or a video and its
// optical flow (--scene flow, flow_scene.h).

#include <optional>
#include <string>

#include "demo_options.h"
#include "flow_scene.h"
#include "fovea/render/builtin_scene.h"
#include "fovea/render/lightfield_renderer.h"

namespace fovea::demo {

class DemoScene {
 public:
  // Loads what `options` asks for; prints a line when it falls back to the built-in scene.
  static Result<DemoScene> create(render::GpuMemoryLedger& ledger, const DemoOptions& options);

  // The camera the scene starts from: yaw, pitch and distance of an orbit around its centre.
  render::OrbitCamera initial_camera() const;
  // Moves the scene on by one frame: the flow scene reads and processes its next video frame;
  // the others have nothing to do (their camera moves them).
  Status advance() { return flow_ ? flow_->advance() : Status::ok(); }
  // Clears and draws into the bound framebuffer; `aspect` is its width / height.
  void draw(const render::OrbitCamera& camera, float aspect) const;

  // The flow scene, when that is what the demo shows.
  FlowScene* flow() { return flow_ ? &*flow_ : nullptr; }
  const FlowScene* flow() const { return flow_ ? &*flow_ : nullptr; }

  const std::string& description() const { return description_; }
  int triangle_count() const { return triangles_; }

 private:
  std::optional<render::BuiltinScene> builtin_;
  std::optional<render::LightFieldRenderer> light_field_;
  std::optional<FlowScene> flow_;
  render::LightFieldCamera start_;  // the asset's suggested camera
  std::string description_;
  int triangles_ = 0;
};

}  // namespace fovea::demo
