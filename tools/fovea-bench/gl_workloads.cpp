#include "gl_workloads.h"

#include <cstdint>
#include <random>

#include "fovea/render/builtin_scene.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/shader_program.h"

namespace fovea::bench {
namespace {

class SceneWorkload final : public GlWorkload {
 public:
  explicit SceneWorkload(render::BuiltinScene scene) : scene_(std::move(scene)) {}
  const std::string& name() const override { return name_; }
  std::string description() const override {
    return "built-in scene: " + std::to_string(scene_.triangle_count()) +
           " lit, textured, depth-tested triangles, orbiting camera";
  }
  void draw(int frame, int width, int height) override {
    render::OrbitCamera camera;
    camera.yaw_degrees = 3.0f * static_cast<float>(frame);
    scene_.draw(camera, static_cast<float>(width) / static_cast<float>(height));
  }

 private:
  std::string name_ = "scene";
  render::BuiltinScene scene_;
};

class FetchProbeWorkload final : public GlWorkload {
 public:
  FetchProbeWorkload(std::string name, int fetches, render::ShaderProgram program,
                     render::Texture2D features)
      : name_(std::move(name)),
        fetches_(fetches),
        program_(std::move(program)),
        features_(std::move(features)) {}
  ~FetchProbeWorkload() override {
    if (vertex_array_ != 0) glDeleteVertexArrays(1, &vertex_array_);
  }
  FetchProbeWorkload(const FetchProbeWorkload&) = delete;
  FetchProbeWorkload& operator=(const FetchProbeWorkload&) = delete;
  const std::string& name() const override { return name_; }
  std::string description() const override {
    return "full-screen pass, " + std::to_string(fetches_) +
           " nearest RGBA8 fetch(es) per pixel from a 2048x2048 texture, sigmoid of dot products";
  }
  void draw(int, int, int) override {
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_BLEND);
    program_.use();
    features_.bind(0);
    program_.set("u_features", 0);
    program_.set("u_fetches", fetches_);
    const float weights[32] = {0.9f,  -0.4f, 0.3f,  0.2f,  -0.7f, 0.5f,  0.1f,  -0.2f,
                               0.4f,  0.6f,  -0.3f, 0.8f,  0.2f,  -0.5f, 0.7f,  0.1f,
                               -0.6f, 0.3f,  0.5f,  -0.1f, 0.3f,  0.2f,  -0.8f, 0.4f,
                               0.1f,  -0.9f, 0.6f,  0.3f,  -0.2f, 0.4f,  0.5f,  -0.3f};
    glUniform4fv(program_.uniform_location("u_weights"), 8, weights);
    // An empty VAO: the full-screen triangle is made from gl_VertexID alone.
    glBindVertexArray(empty_vertex_array());
    glDrawArrays(GL_TRIANGLES, 0, 3);
    glBindVertexArray(0);
  }

 private:
  GLuint empty_vertex_array() {
    if (vertex_array_ == 0) glGenVertexArrays(1, &vertex_array_);
    return vertex_array_;
  }
  std::string name_;
  int fetches_;
  render::ShaderProgram program_;
  render::Texture2D features_;
  GLuint vertex_array_ = 0;
};

Result<std::unique_ptr<GlWorkload>> make_fetch_probe(const std::string& name, int fetches,
                                                     render::GpuMemoryLedger& ledger) {
  auto program = render::ShaderProgram::from_embedded("fullscreen.vert", "fetch_probe.frag");
  if (!program) return program.status();
  constexpr int kSize = 2048;
  std::vector<std::uint8_t> texels(static_cast<size_t>(kSize) * kSize * 4);
  std::mt19937 random(1234);  // fixed: the same bytes on every machine
  for (auto& texel : texels) texel = static_cast<std::uint8_t>(random() & 0xff);
  auto texture = render::Texture2D::create_rgba8(ledger, kSize, kSize, texels,
                                                 render::TextureFilter::kNearest);
  if (!texture) return texture.status();
  return std::unique_ptr<GlWorkload>(std::make_unique<FetchProbeWorkload>(
      name, fetches, std::move(*program), std::move(*texture)));
}

}  // namespace

std::vector<std::string> default_gl_workloads() {
  return {"fill", "scene", "fetch8", "fetch32", "fetch64"};
}

Result<std::unique_ptr<GlWorkload>> make_gl_workload(const std::string& name,
                                                     render::GpuMemoryLedger& ledger) {
  if (name == "scene") {
    auto scene = render::BuiltinScene::create(ledger);
    if (!scene) return scene.status();
    return std::unique_ptr<GlWorkload>(std::make_unique<SceneWorkload>(std::move(*scene)));
  }
  if (name == "fill") return make_fetch_probe(name, 1, ledger);
  if (name.rfind("fetch", 0) == 0) {
    const std::string digits = name.substr(5);
    int fetches = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9' || fetches > 1000) {
        fetches = -1;
        break;
      }
      fetches = fetches * 10 + (c - '0');
    }
    if (!digits.empty() && fetches >= 1 && fetches <= 64)
      return make_fetch_probe(name, fetches, ledger);
  }
  return Status(ErrorCode::kInvalidArgument,
                "unknown GL workload '" + name + "' (known: scene, fill, fetch1..fetch64)");
}

}  // namespace fovea::bench
