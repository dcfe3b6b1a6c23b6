#pragma once
// The flow view of the demo (--scene flow): a video plays, and every new frame's optical flow
// from the one before is computed on the CPU (fovea's INT8 network on the inference core, or
// OpenCV's DIS fast for comparison) and shown beside the frame, Middlebury-coloured, or over it.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "demo_options.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/timing_stats.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/shader_program.h"
#include "fovea/vision/optical_flow.h"
#include "fovea/vision/video_frame_source.h"

namespace fovea::demo {

// kFoveaFast: the half-size INT8 network with the patch search and the variational refinement
// (models/flow/flow_int8_224x512.fvm), about DIS fast's time.
enum class FlowMethod { kFovea, kFoveaFast, kDis };
enum class FlowView { kSideBySide, kOverlay };

class FlowScene {
 public:
  // Opens options.video (default: opencv-doc's vtest.avi), options.flow_model (default:
  // models/flow/flow_int8.fvm) and the fast model, reads the first frame and makes the textures.
  static Result<FlowScene> create(render::GpuMemoryLedger& ledger, const DemoOptions& options);
  FlowScene(FlowScene&&) noexcept;
  FlowScene& operator=(FlowScene&&) noexcept;
  ~FlowScene();

  // Reads the next frame (the video loops), computes the flow from the previous frame with the
  // current method and uploads both pictures.
  Status advance();
  // Clears and draws into the bound framebuffer, letterboxed to the picture's aspect inside the
  // current viewport.
  void draw() const;

  void set_method(FlowMethod method) noexcept { method_ = method; }
  FlowMethod method() const noexcept { return method_; }
  FlowView view = FlowView::kSideBySide;
  float overlay_blend = 0.6f;  // FlowView::kOverlay: the flow's share of the colour

  std::string method_name() const;
  const std::string& description() const { return description_; }
  int frame_width() const noexcept { return frame_width_; }
  int frame_height() const noexcept { return frame_height_; }
  // Milliseconds of each advance()'s flow computation with the current method so far (the
  // method's warm-up call excluded), and the flow radius the colours are scaled to.
  const std::vector<double>& flow_ms() const { return flow_ms_; }
  float color_radius() const noexcept { return color_radius_; }
  // The inference core the demo hosts, as an engine would: its byte budget (every byte the flow
  // network uses goes through it) and whether runs went to the caller's thread alone.
  const MemoryBudget& core_budget() const;
  bool runs_alone_now() const;

 private:
  FlowScene() = default;

  // The full-screen triangle's vertex array: it has no attributes, but ES 3 draws need one.
  struct VertexArray {
    GLuint id = 0;
    VertexArray() = default;
    VertexArray(VertexArray&& other) noexcept : id(std::exchange(other.id, 0)) {}
    VertexArray& operator=(VertexArray&& other) noexcept {
      std::swap(id, other.id);
      return *this;
    }
    ~VertexArray() {
      if (id != 0) glDeleteVertexArrays(1, &id);
    }
  };

  struct Methods;  // the inference context and the flows in it, and DIS
  std::unique_ptr<Methods> methods_;
  FlowMethod method_ = FlowMethod::kFovea;
  FlowMethod timed_method_ = FlowMethod::kFovea;
  std::optional<vision::VideoFrameSource> video_;
  cv::Mat previous_;
  render::ShaderProgram program_;
  render::Texture2D frame_texture_;
  render::Texture2D flow_texture_;
  VertexArray vertex_array_;
  std::vector<std::uint8_t> frame_rgba_;
  std::vector<double> flow_ms_;
  float color_radius_ = 0.0f;
  int frame_width_ = 0;
  int frame_height_ = 0;
  std::string description_;
};

}  // namespace fovea::demo
