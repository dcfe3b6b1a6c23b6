#include "flow_scene.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "fovea/render/flow_texture.h"
#include "fovea/vision/dis_optical_flow.h"
#include "fovea/vision/flow_color.h"
#include "fovea/vision/learned_optical_flow.h"

namespace fovea::demo {
namespace {

constexpr const char* kDefaultVideo = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
// Two threads: the budget the flow issue measures against, and what a laptop spares a plugin.
constexpr int kFlowThreads = 2;
// The core's cap for the flow network: its peak at 768x576 is ~10 MB (docs/flow.md).
constexpr std::int64_t kCoreBudgetBytes = std::int64_t{64} << 20;
// The colours' radius follows the flow's largest motion slowly, so one fast frame does not
// wash out the next ones; it never drops below a pixel, so sensor noise stays pale.
constexpr float kRadiusSmoothing = 0.1f;
constexpr float kMinRadius = 1.0f;

// 8-bit BGR -> RGBA8 rows bottom to top, the order glTexImage2D reads.
void to_rgba_bottom_up(const cv::Mat& bgr, std::vector<std::uint8_t>& out) {
  out.resize(static_cast<size_t>(bgr.cols) * bgr.rows * 4);
  cv::Mat rgba(bgr.rows, bgr.cols, CV_8UC4, out.data());
  cv::cvtColor(bgr, rgba, cv::COLOR_BGR2RGBA);
  cv::flip(rgba, rgba, 0);
}

}  // namespace

struct FlowScene::Methods {
  // First, so that it is destroyed last: the flows' compiled models live in it.
  std::unique_ptr<InferenceContext> context;
  std::unique_ptr<vision::LearnedOpticalFlow> fovea, fovea_fast;
  vision::DisOpticalFlow dis{vision::DisPreset::kFast};
  bool warm[3] = {false, false, false};  // by FlowMethod

  vision::OpticalFlow& of(FlowMethod method) {
    switch (method) {
      case FlowMethod::kFovea:
        return *fovea;
      case FlowMethod::kFoveaFast:
        return *fovea_fast;
      case FlowMethod::kDis:
        break;
    }
    return dis;
  }
};

FlowScene::FlowScene(FlowScene&&) noexcept = default;
FlowScene& FlowScene::operator=(FlowScene&&) noexcept = default;
FlowScene::~FlowScene() = default;

Result<FlowScene> FlowScene::create(render::GpuMemoryLedger& ledger, const DemoOptions& options) {
  FlowScene scene;
  const std::string video_path = options.video.empty() ? kDefaultVideo : options.video;
  auto video = vision::VideoFrameSource::open(video_path);
  if (!video)
    return video.status().with_context(
        options.video.empty() ? "the flow scene's default video (install opencv-doc, or pass "
                                "--video)"
                              : "--video");
  scene.video_.emplace(std::move(*video));
  auto first = scene.video_->next(true);
  if (!first) return first.status().with_context("reading the first frame of " + video_path);
  scene.previous_ = std::move(*first);
  scene.frame_width_ = scene.previous_.cols;
  scene.frame_height_ = scene.previous_.rows;
  FOVEA_RETURN_IF_ERROR(
      vision::validate_flow_frames(scene.previous_, scene.previous_, 32).with_context(video_path));

  const std::string model_path =
      options.flow_model.empty()
          ? (std::filesystem::path(FOVEA_SOURCE_DIR) / "models/flow/flow_int8.fvm").string()
          : options.flow_model;
  scene.methods_ = std::make_unique<Methods>();
  auto context = InferenceContext::create(kCoreBudgetBytes, kFlowThreads);
  if (!context) return context.status();
  scene.methods_->context = std::move(*context);
  // Inside someone else's frame loop the other cores are often taken: runs go alone then.
  scene.methods_->context->set_adaptive_threads(true);
  vision::LearnedOpticalFlow::Options flow_options;
  flow_options.name = "fovea_int8";
  flow_options.threads = kFlowThreads;
  flow_options.context = scene.methods_->context.get();
  auto fovea = vision::LearnedOpticalFlow::load(model_path, flow_options);
  if (!fovea) return fovea.status();
  flow_options.name = "fovea_int8_fast";
  flow_options.refine = vision::FlowRefinement::kPatchSearchVariational;
  auto fovea_fast = vision::LearnedOpticalFlow::load(
      (std::filesystem::path(FOVEA_SOURCE_DIR) / "models/flow/flow_int8_224x512.fvm").string(),
      flow_options);
  if (!fovea_fast) return fovea_fast.status();
  scene.methods_->fovea = std::move(*fovea);
  scene.methods_->fovea_fast = std::move(*fovea_fast);
  scene.methods_->fovea->set_threads(kFlowThreads);
  scene.methods_->fovea_fast->set_threads(kFlowThreads);
  scene.methods_->dis.set_threads(kFlowThreads);
  scene.method_ = scene.timed_method_ = options.flow_method == "dis"    ? FlowMethod::kDis
                                        : options.flow_method == "fast" ? FlowMethod::kFoveaFast
                                                                        : FlowMethod::kFovea;

  auto program = render::ShaderProgram::from_embedded("fullscreen.vert", "flow_view.frag");
  if (!program) return program.status();
  scene.program_ = std::move(*program);
  to_rgba_bottom_up(scene.previous_, scene.frame_rgba_);
  auto frame_texture =
      render::Texture2D::create_rgba8(ledger, scene.frame_width_, scene.frame_height_,
                                      scene.frame_rgba_, render::TextureFilter::kLinear);
  if (!frame_texture) return frame_texture.status();
  scene.frame_texture_ = std::move(*frame_texture);
  // White is no motion in the Middlebury colours: the flow panel starts white.
  const std::vector<std::uint8_t> white(scene.frame_rgba_.size(), 255);
  auto flow_texture =
      render::upload_flow_texture(ledger, scene.frame_width_, scene.frame_height_, white);
  if (!flow_texture) return flow_texture.status();
  scene.flow_texture_ = std::move(*flow_texture);
  glGenVertexArrays(1, &scene.vertex_array_.id);
  scene.description_ = "optical flow of " + std::filesystem::path(video_path).filename().string() +
                       " (" + std::to_string(scene.frame_width_) + "x" +
                       std::to_string(scene.frame_height_) + "), " + std::to_string(kFlowThreads) +
                       " CPU threads";
  return scene;
}

const MemoryBudget& FlowScene::core_budget() const {
  return methods_->context->budget();
}

bool FlowScene::runs_alone_now() const {
  if (method_ == FlowMethod::kDis) return false;
  const auto& flow = method_ == FlowMethod::kFovea ? methods_->fovea : methods_->fovea_fast;
  return !flow->last_run_used_pool();
}

std::string FlowScene::method_name() const {
  switch (method_) {
    case FlowMethod::kFovea:
      return "fovea INT8 (network + patch search)";
    case FlowMethod::kFoveaFast:
      return "fovea INT8 fast (half-size network + patch search + variational)";
    case FlowMethod::kDis:
      break;
  }
  return "OpenCV DIS fast";
}

Status FlowScene::advance() {
  auto frame = video_->next(true);
  if (!frame) return frame.status().with_context("reading the next video frame");
  if (frame->size() != previous_.size() || frame->type() != previous_.type())
    return Status(ErrorCode::kCorruptData, "the video changed its frame size or type mid-stream");

  if (method_ != timed_method_) {  // the figures describe one method at a time
    flow_ms_.clear();
    timed_method_ = method_;
  }
  vision::OpticalFlow& method = methods_->of(method_);
  bool& warm = methods_->warm[static_cast<int>(method_)];
  const auto started = std::chrono::steady_clock::now();
  auto field = method.compute(previous_, *frame);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!field) return field.status();
  // The first call sets up the method (threads, packed weights): not what a frame costs.
  if (warm) flow_ms_.push_back(ms);
  warm = true;

  const float largest = vision::max_flow_radius(field->flow);
  color_radius_ =
      color_radius_ == 0.0f
          ? std::max(kMinRadius, largest)
          : std::max(kMinRadius, color_radius_ + kRadiusSmoothing * (largest - color_radius_));
  auto colors = vision::flow_to_rgba8(field->flow, {.max_radius = color_radius_});
  if (!colors) return colors.status();
  FOVEA_RETURN_IF_ERROR(render::update_flow_texture(flow_texture_, colors->pixels));
  // The flow lives on the first frame's pixels: that frame is the one shown beside it. Any RGBA8
  // texture of the frame's size takes the same upload.
  to_rgba_bottom_up(previous_, frame_rgba_);
  FOVEA_RETURN_IF_ERROR(render::update_flow_texture(frame_texture_, frame_rgba_));
  previous_ = std::move(*frame);
  return Status::ok();
}

void FlowScene::draw() const {
  GLint viewport[4];
  glGetIntegerv(GL_VIEWPORT, viewport);
  glClearColor(0.0f, 0.0f, 0.0f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  // Letterbox: the largest rectangle of the picture's aspect inside the viewport, centred.
  const double picture_aspect = (view == FlowView::kSideBySide ? 2.0 : 1.0) * frame_width_ /
                                static_cast<double>(frame_height_);
  int width = viewport[2], height = static_cast<int>(std::lround(viewport[2] / picture_aspect));
  if (height > viewport[3]) {
    height = viewport[3];
    width = static_cast<int>(std::lround(viewport[3] * picture_aspect));
  }
  glViewport(viewport[0] + (viewport[2] - width) / 2, viewport[1] + (viewport[3] - height) / 2,
             width, height);
  glDisable(GL_DEPTH_TEST);
  program_.use();
  frame_texture_.bind(0);
  flow_texture_.bind(1);
  program_.set("u_frame", 0);
  program_.set("u_flow", 1);
  program_.set("u_mode", view == FlowView::kSideBySide ? 0 : 1);
  program_.set("u_blend", overlay_blend);
  glBindVertexArray(vertex_array_.id);
  glDrawArrays(GL_TRIANGLES, 0, 3);
  glBindVertexArray(0);
  glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
}

}  // namespace fovea::demo
