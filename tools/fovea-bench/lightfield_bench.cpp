#include "lightfield_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <utility>

#include <glm/gtc/matrix_transform.hpp>
#include <glm/gtc/type_ptr.hpp>

#include "fovea/core/json_writer.h"
#include "fovea/core/timing_stats.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/gpu_timer.h"
#include "fovea/render/lightfield_asset.h"
#include "fovea/render/lightfield_renderer.h"
#include "fovea/render/shader_program.h"
#include "gl_bench.h"

namespace fovea::bench {
namespace {

struct Frame {
  glm::mat4 view;
  glm::mat4 projection;
  glm::vec3 eye;
  int width;
  int height;
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual const char* name() const = 0;
  virtual const char* description() const = 0;
  // Size-dependent resources (render targets); called before the frames of each size.
  virtual Status prepare(render::GpuMemoryLedger&, int, int) { return Status::ok(); }
  // Draws one frame into `target` (bound by the caller), clearing it first.
  virtual void draw(const Frame& frame, const render::OffscreenTarget& target) = 0;
};

// The peers' own features: the atlas's first two RGBA8 layers as an RGBA8 array texture, the
// two feature textures MobileNeRF's viewer samples (and the floor's one). The light-field
// renderer keeps its atlas packed in RGBA32UI texels, which these shaders do not read.
class PeerFeatures {
 public:
  static Result<PeerFeatures> create(render::GpuMemoryLedger& ledger,
                                     const render::LightFieldAsset& asset) {
    const render::LightFieldTexture& atlas = asset.atlas;
    GLint max_size = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max_size);
    if (atlas.width > max_size || atlas.height > max_size)
      return Status(ErrorCode::kUnavailable,
                    "the peer shaders read the atlas as one texture, above this context's "
                    "GL_MAX_TEXTURE_SIZE");
    const int layers = std::min(2, atlas.layers);
    PeerFeatures features;
    features.ledger_ = &ledger;
    features.bytes_ = atlas.layer_bytes() * layers;
    glGenTextures(1, &features.texture_);
    glBindTexture(GL_TEXTURE_2D_ARRAY, features.texture_);
    glTexStorage3D(GL_TEXTURE_2D_ARRAY, 1, GL_RGBA8, atlas.width, atlas.height, layers);
    glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D_ARRAY, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexSubImage3D(GL_TEXTURE_2D_ARRAY, 0, 0, 0, 0, atlas.width, atlas.height, layers, GL_RGBA,
                    GL_UNSIGNED_BYTE, atlas.texels.data());
    glBindTexture(GL_TEXTURE_2D_ARRAY, 0);
    ledger.add(render::GpuResourceKind::kTexture, features.bytes_);
    FOVEA_RETURN_IF_ERROR(render::check_gl_error("uploading the peers' features"));
    return features;
  }
  PeerFeatures() = default;
  PeerFeatures(PeerFeatures&& other) noexcept { *this = std::move(other); }
  PeerFeatures& operator=(PeerFeatures&& other) noexcept {
    std::swap(texture_, other.texture_);
    std::swap(ledger_, other.ledger_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  PeerFeatures(const PeerFeatures&) = delete;
  PeerFeatures& operator=(const PeerFeatures&) = delete;
  ~PeerFeatures() {
    if (texture_ == 0) return;
    glDeleteTextures(1, &texture_);
    ledger_->remove(render::GpuResourceKind::kTexture, bytes_);
  }
  GLuint texture() const noexcept { return texture_; }

 private:
  GLuint texture_ = 0;
  render::GpuMemoryLedger* ledger_ = nullptr;
  std::int64_t bytes_ = 0;
};

class LightFieldWorkload final : public Workload {
 public:
  explicit LightFieldWorkload(const render::LightFieldRenderer& renderer) : renderer_(renderer) {}
  const char* name() const override { return "lightfield"; }
  const char* description() const override {
    return "the light-field renderer (passes as above): nearest atlas + direction fetches "
           "(RGBA8 layers packed four to an RGBA32UI texel), k-term dots, sigmoid";
  }
  void draw(const Frame& frame, const render::OffscreenTarget&) override {
    renderer_.clear();
    renderer_.draw(frame.view, frame.projection);
  }

 private:
  const render::LightFieldRenderer& renderer_;
};

class TexturedWorkload final : public Workload {
 public:
  TexturedWorkload(const render::LightFieldRenderer& renderer, GLuint features,
                   render::ShaderProgram program)
      : renderer_(renderer), features_(features), program_(std::move(program)) {
    view_projection_ = program_.uniform_location("u_view_projection");
    eye_ = program_.uniform_location("u_eye");
    program_.use();
    program_.set("u_atlas", 0);
    glUseProgram(0);
  }
  const char* name() const override { return "textured"; }
  const char* description() const override {
    return "the floor: the same mesh with one nearest lookup of the atlas's first layer";
  }
  void draw(const Frame& frame, const render::OffscreenTarget&) override {
    renderer_.clear();
    glEnable(GL_DEPTH_TEST);
    glDepthFunc(GL_LESS);
    glDisable(GL_CULL_FACE);
    glDisable(GL_BLEND);
    program_.use();
    const glm::mat4 view_projection = frame.projection * frame.view;
    glUniformMatrix4fv(view_projection_, 1, GL_FALSE, glm::value_ptr(view_projection));
    glUniform3fv(eye_, 1, glm::value_ptr(frame.eye));
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D_ARRAY, features_);
    renderer_.draw_mesh(frame.eye);
  }

 private:
  const render::LightFieldRenderer& renderer_;
  GLuint features_;
  render::ShaderProgram program_;
  GLint view_projection_ = -1;
  GLint eye_ = -1;
};

// MobileNeRF's viewer: a geometry pass into a G-buffer of 8 features (two RGBA8 targets), then
// a full-screen pass evaluating the view-dependence MLP (11 -> 16 -> 16 -> 3) with weights in
// a texture. Features and weights are synthetic; the cost is the point.
class MobileNerfWorkload final : public Workload {
 public:
  MobileNerfWorkload(const render::LightFieldRenderer& renderer, GLuint features,
                     render::ShaderProgram gbuffer, render::ShaderProgram mlp,
                     render::GpuMemoryLedger& ledger)
      : renderer_(renderer),
        features_(features),
        gbuffer_(std::move(gbuffer)),
        mlp_(std::move(mlp)),
        ledger_(ledger) {
    gbuffer_.use();
    gbuffer_.set("u_atlas", 0);
    glUniform2i(gbuffer_.uniform_location("u_atlas_size"), renderer.atlas().width,
                renderer.atlas().height);
    // Fixed synthetic weights, small enough that the MLP's output stays in range.
    std::mt19937 random(4321);
    std::uniform_real_distribution<float> weight(-0.35f, 0.35f);
    std::vector<float> weights(64 * 3 * 4);
    for (float& w : weights) w = weight(random);
    glGenTextures(1, &weights_);
    glBindTexture(GL_TEXTURE_2D, weights_);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA32F, 64, 3, 0, GL_RGBA, GL_FLOAT, weights.data());
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glBindTexture(GL_TEXTURE_2D, 0);
    ledger_.add(render::GpuResourceKind::kTexture, kWeightBytes);
    mlp_.use();
    mlp_.set("u_features0", 0);
    mlp_.set("u_features1", 1);
    mlp_.set("u_weights", 2);
    float biases[16];
    for (float& b : biases) b = weight(random);
    glUniform4fv(mlp_.uniform_location("u_bias1"), 4, biases);
    for (float& b : biases) b = weight(random);
    glUniform4fv(mlp_.uniform_location("u_bias2"), 4, biases);
    mlp_.set("u_bias3", glm::vec3(0.1f, -0.1f, 0.05f));
    mlp_.set("u_background", renderer.background());
    glUseProgram(0);
    glGenVertexArrays(1, &empty_vertex_array_);
  }
  ~MobileNerfWorkload() override {
    glDeleteTextures(1, &weights_);
    ledger_.remove(render::GpuResourceKind::kTexture, kWeightBytes);
    glDeleteVertexArrays(1, &empty_vertex_array_);
  }
  MobileNerfWorkload(const MobileNerfWorkload&) = delete;
  MobileNerfWorkload& operator=(const MobileNerfWorkload&) = delete;

  const char* name() const override { return "mobilenerf"; }
  const char* description() const override {
    return "MobileNeRF-style: mesh -> G-buffer of 8 features (2 x RGBA8), then a full-screen "
           "MLP 11 -> 16 -> 16 -> 3 with weights read from an RGBA32F texture (synthetic "
           "features and weights)";
  }
  Status prepare(render::GpuMemoryLedger& ledger, int width, int height) override {
    // Target 0 (with depth) is an OffscreenTarget; target 1 is attached beside it.
    auto gbuffer = render::OffscreenTarget::create(ledger, width, height);
    if (!gbuffer) return gbuffer.status().with_context("MobileNeRF G-buffer");
    auto second =
        render::Texture2D::create_rgba8(ledger, width, height, {}, render::TextureFilter::kNearest);
    if (!second) return second.status().with_context("MobileNeRF G-buffer");
    gbuffer_target_ = std::move(*gbuffer);
    features1_ = std::move(*second);
    glBindFramebuffer(GL_FRAMEBUFFER, gbuffer_target_.framebuffer());
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT1, GL_TEXTURE_2D, features1_.id(), 0);
    const GLenum buffers[2] = {GL_COLOR_ATTACHMENT0, GL_COLOR_ATTACHMENT1};
    glDrawBuffers(2, buffers);
    const GLenum complete = glCheckFramebufferStatus(GL_FRAMEBUFFER);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    if (complete != GL_FRAMEBUFFER_COMPLETE)
      return Status(ErrorCode::kUnavailable, "the MobileNeRF G-buffer framebuffer is incomplete");
    return render::check_gl_error("creating the MobileNeRF G-buffer");
  }
  void draw(const Frame& frame, const render::OffscreenTarget& target) override {
    // Pass 1: features of the nearest surface.
    gbuffer_target_.bind();
    glClearColor(0.0f, 0.0f, 0.0f, 0.0f);
    glClearDepthf(1.0f);
    glDepthMask(GL_TRUE);
    glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
    glEnable(GL_DEPTH_TEST);
    glDepthFunc(GL_LESS);
    glDisable(GL_CULL_FACE);
    glDisable(GL_BLEND);
    gbuffer_.use();
    const glm::mat4 view_projection = frame.projection * frame.view;
    gbuffer_.set("u_view_projection", view_projection);
    gbuffer_.set("u_eye", frame.eye);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D_ARRAY, features_);
    renderer_.draw_mesh(frame.eye);
    // Pass 2: the MLP per pixel.
    target.bind();
    glDisable(GL_DEPTH_TEST);
    mlp_.use();
    mlp_.set("u_inverse_view_projection", glm::inverse(view_projection));
    mlp_.set("u_eye", frame.eye);
    glUniform2f(mlp_.uniform_location("u_viewport_size"), float(frame.width), float(frame.height));
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, gbuffer_target_.color_texture());
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, features1_.id());
    glActiveTexture(GL_TEXTURE2);
    glBindTexture(GL_TEXTURE_2D, weights_);
    glActiveTexture(GL_TEXTURE0);
    glBindVertexArray(empty_vertex_array_);
    glDrawArrays(GL_TRIANGLES, 0, 3);
    glBindVertexArray(0);
  }

 private:
  static constexpr std::int64_t kWeightBytes = 64 * 3 * 16;
  const render::LightFieldRenderer& renderer_;
  GLuint features_;
  render::ShaderProgram gbuffer_;
  render::ShaderProgram mlp_;
  render::GpuMemoryLedger& ledger_;
  render::OffscreenTarget gbuffer_target_;
  render::Texture2D features1_;
  GLuint weights_ = 0;
  GLuint empty_vertex_array_ = 0;
};

Result<std::unique_ptr<Workload>> make_workload(const std::string& name,
                                                const render::LightFieldRenderer& renderer,
                                                const render::LightFieldAsset& asset,
                                                PeerFeatures& features,
                                                render::GpuMemoryLedger& ledger) {
  if (name == "lightfield") return std::unique_ptr<Workload>(new LightFieldWorkload(renderer));
  if (features.texture() == 0) {
    auto created = PeerFeatures::create(ledger, asset);
    if (!created) return created.status().with_context("the " + name + " workload");
    features = std::move(*created);
  }
  if (name == "textured") {
    auto program =
        render::ShaderProgram::from_embedded("lightfield.vert", "bench_textured_mesh.frag");
    if (!program) return program.status();
    return std::unique_ptr<Workload>(
        new TexturedWorkload(renderer, features.texture(), std::move(*program)));
  }
  if (name == "mobilenerf") {
    auto gbuffer =
        render::ShaderProgram::from_embedded("lightfield.vert", "bench_mobilenerf_gbuffer.frag");
    if (!gbuffer) return gbuffer.status();
    auto mlp = render::ShaderProgram::from_embedded("fullscreen.vert", "bench_mobilenerf_mlp.frag");
    if (!mlp) return mlp.status();
    return std::unique_ptr<Workload>(new MobileNerfWorkload(
        renderer, features.texture(), std::move(*gbuffer), std::move(*mlp), ledger));
  }
  return Status(ErrorCode::kInvalidArgument, "unknown light-field shader '" + name +
                                                 "' (known: lightfield, mobilenerf, textured)");
}

// The asset's default camera turned about its up axis through the target.
Frame orbit_frame(const render::LightFieldAsset& asset, int view, int views, int width,
                  int height) {
  const render::LightFieldCamera& c = asset.camera;
  const glm::vec3 up = glm::normalize(c.up);
  const float angle = 2.0f * 3.14159265f * static_cast<float>(view) / static_cast<float>(views);
  const glm::mat4 turn = glm::rotate(glm::mat4(1.0f), angle, up);
  const glm::vec3 eye = c.target + glm::vec3(turn * glm::vec4(c.eye - c.target, 0.0f));
  return {glm::lookAt(eye, c.target, up),
          glm::perspective(c.fovy, float(width) / float(height), c.near_plane, c.far_plane), eye,
          width, height};
}

struct ShaderTiming {
  std::string shader;
  int width = 0;
  int height = 0;
  TimingSummary ms;
};

}  // namespace

Status run_lightfield_bench(const LightFieldBenchOptions& options) {
  if (options.views < 1 || options.runs < 1 || options.warmup_frames < 0)
    return Status(ErrorCode::kInvalidArgument, "--views and --runs must be at least 1");
  auto asset = render::load_lightfield_asset(options.asset_path);
  if (!asset) return asset.status();
  auto platform = open_bench_platform(options.platform, options.device_index);
  if (!platform) return platform.status();
  render::GlPlatform& gl = **platform;
  auto renderer =
      render::LightFieldRenderer::create(gl.gpu_memory(), *asset, {.passes = options.passes});
  if (!renderer) return renderer.status();
  const std::vector<std::string> names =
      options.shaders.empty() ? std::vector<std::string>{"lightfield", "mobilenerf", "textured"}
                              : options.shaders;
  PeerFeatures peer_features;  // outlives the workloads that read it
  std::vector<std::unique_ptr<Workload>> workloads;
  for (const std::string& name : names) {
    auto workload = make_workload(name, *renderer, *asset, peer_features, gl.gpu_memory());
    if (!workload) return workload.status();
    workloads.push_back(std::move(*workload));
  }
  std::vector<render::DrawableSize> sizes = options.sizes;
  if (sizes.empty()) sizes = {{800, 800}, {1920, 1080}};

  render::GpuTimer timer(gl.info());
  std::vector<ShaderTiming> results;
  for (const render::DrawableSize& size : sizes) {
    auto target = render::OffscreenTarget::create(gl.gpu_memory(), size.width, size.height);
    if (!target) return target.status();
    std::vector<std::vector<double>> samples(workloads.size());
    for (auto& workload : workloads) {
      FOVEA_RETURN_IF_ERROR(workload->prepare(gl.gpu_memory(), size.width, size.height));
      for (int i = 0; i < options.warmup_frames; ++i) {
        target->bind();
        workload->draw(orbit_frame(*asset, i, options.views, size.width, size.height), *target);
      }
    }
    glFinish();
    std::fprintf(stderr, "timing %zu shaders at %dx%d over %d views x %d runs...\n",
                 workloads.size(), size.width, size.height, options.views, options.runs);
    // Interleaved: every view is drawn by each shader in turn.
    for (int run = 0; run < options.runs; ++run)
      for (int view = 0; view < options.views; ++view) {
        const Frame frame = orbit_frame(*asset, view, options.views, size.width, size.height);
        for (size_t w = 0; w < workloads.size(); ++w) {
          target->bind();
          timer.begin();
          workloads[w]->draw(frame, *target);
          const double ms = timer.end_ms();
          glFinish();
          if (ms >= 0.0) samples[w].push_back(ms);
        }
      }
    FOVEA_RETURN_IF_ERROR(render::check_gl_error("timing the light-field shaders"));
    for (size_t w = 0; w < workloads.size(); ++w)
      results.push_back({workloads[w]->name(), size.width, size.height, summarize(samples[w])});
  }

  const render::ContextInfo& info = gl.info();
  std::printf("fovea-bench lightfield %s\n", options.asset_path.c_str());
  std::printf("  renderer : %s\n  vendor   : %s\n  version  : %s\n  platform : %s\n",
              info.renderer.c_str(), info.vendor.c_str(), info.version.c_str(),
              std::string(render::platform_kind_name(gl.kind())).c_str());
  std::printf(
      "  asset    : %s, k = %d, %d triangles, atlas %dx%d, direction map %dx%d; GPU %.2f MB "
      "(textures %.2f MB, buffers %.2f MB)\n",
      asset->name.c_str(), asset->k, asset->triangle_count(), asset->atlas.width,
      asset->atlas.height, asset->direction_map.width, asset->direction_map.height,
      renderer->gpu_bytes() / 1e6, renderer->texture_bytes() / 1e6, renderer->buffer_bytes() / 1e6);
  std::printf(
      "  timing   : %s per frame; an orbit of %d views x %d run(s), shaders interleaved "
      "per view, after %d warm-up frames each; light-field passes: %s; meshes drawn in "
      "clusters nearest first\n\n",
      timer.method_name(), options.views, options.runs, options.warmup_frames,
      render::lightfield_passes_name(options.passes));
  std::printf("%-11s %-10s %10s %10s %9s %8s %12s\n", "shader", "size", "median ms", "p95 ms",
              "fps", "ns/px", "x textured");
  for (const ShaderTiming& r : results) {
    double floor = 0.0;
    for (const ShaderTiming& other : results)
      if (other.shader == "textured" && other.width == r.width && other.height == r.height)
        floor = other.ms.median;
    char size[24], ratio[16] = "-";
    std::snprintf(size, sizeof size, "%dx%d", r.width, r.height);
    if (floor > 0.0) std::snprintf(ratio, sizeof ratio, "%.2f", r.ms.median / floor);
    std::printf("%-11s %-10s %10.3f %10.3f %9.1f %8.3f %12s\n", r.shader.c_str(), size, r.ms.median,
                r.ms.p95, r.ms.median > 0 ? 1000.0 / r.ms.median : 0.0,
                r.ms.median * 1e6 / (double(r.width) * r.height), ratio);
  }
  std::printf("\n");
  for (const render::DrawableSize& size : sizes) {
    double lf = 0.0, mn = 0.0;
    for (const ShaderTiming& r : results) {
      if (r.width != size.width || r.height != size.height) continue;
      if (r.shader == "lightfield") lf = r.ms.median;
      if (r.shader == "mobilenerf") mn = r.ms.median;
    }
    if (lf > 0.0 && mn > 0.0)
      std::printf("  %dx%d: the light field takes %.2fx the MobileNeRF-style renderer's time\n",
                  size.width, size.height, lf / mn);
  }
  for (const auto& workload : workloads)
    std::printf("  %-10s %s\n", workload->name(), workload->description());

  if (!options.json_path.empty()) {
    JsonWriter json;
    json.begin_object();
    json.key("renderer").value(info.renderer).key("vendor").value(info.vendor);
    json.key("version").value(info.version);
    json.key("platform").value(render::platform_kind_name(gl.kind()));
    json.key("timing").value(timer.method_name());
    json.key("asset").value(options.asset_path).key("k").value(asset->k);
    json.key("triangles").value(asset->triangle_count());
    json.key("views").value(options.views).key("runs").value(options.runs);
    json.key("lightfield_passes").value(render::lightfield_passes_name(options.passes));
    json.key("results").begin_array();
    for (const ShaderTiming& r : results) {
      json.begin_object();
      json.key("shader").value(r.shader).key("width").value(r.width).key("height").value(r.height);
      json.key("median_ms").value(r.ms.median).key("p95_ms").value(r.ms.p95);
      json.key("ns_per_pixel").value(r.ms.median * 1e6 / (double(r.width) * r.height));
      json.key("samples").value(r.ms.samples);
      json.end_object();
    }
    json.end_array();
    json.key("gpu_bytes").value(renderer->gpu_bytes());
    json.key("gpu_bytes_textures").value(renderer->texture_bytes());
    json.key("gpu_bytes_buffers").value(renderer->buffer_bytes());
    json.end_object();
    FOVEA_RETURN_IF_ERROR(json.write_file(options.json_path));
    std::printf("\nwrote %s\n", options.json_path.c_str());
  }
  return Status::ok();
}

}  // namespace fovea::bench
