#include "window_demo.h"

#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <vector>

#include "demo_scene.h"
#include "fovea/core/timing_stats.h"
#include "fovea/render/gl_resources.h"
#include "fovea/render/png_file.h"
#include "fovea/render/window_platform.h"

namespace fovea::demo {
namespace {

constexpr int kHistory = 240;

struct FrameHistory {
  std::array<float, kHistory> ms{};
  int next = 0;
  int count = 0;

  void push(float value) {
    ms[static_cast<size_t>(next)] = value;
    next = (next + 1) % kHistory;
    count = std::min(count + 1, kHistory);
  }
  TimingSummary summary() const {
    std::vector<double> values(ms.begin(), ms.begin() + count);
    return summarize(values);
  }
};

// ImGui owns its context; this keeps begin/end paired on every exit path.
class ImGuiSession {
 public:
  explicit ImGuiSession(GLFWwindow* window) {
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini dropped into the user's folder
    ImGui::StyleColorsDark();
    ready_ =
        ImGui_ImplGlfw_InitForOpenGL(window, true) && ImGui_ImplOpenGL3_Init("#version 300 es");
  }
  ~ImGuiSession() {
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
  }
  ImGuiSession(const ImGuiSession&) = delete;
  ImGuiSession& operator=(const ImGuiSession&) = delete;
  bool ready() const { return ready_; }

 private:
  bool ready_ = false;
};

// Dear ImGui 1.86 (Debian 12) predates SeparatorText.
void section(const char* title) {
  ImGui::Spacing();
  ImGui::Separator();
  ImGui::TextUnformatted(title);
}

void orbit_with_mouse(render::OrbitCamera& camera, bool& auto_orbit) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantCaptureMouse) return;
  if (ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    auto_orbit = false;
    camera.yaw_degrees -= io.MouseDelta.x * 0.3f;
    camera.pitch_degrees = std::clamp(camera.pitch_degrees + io.MouseDelta.y * 0.3f, -5.0f, 85.0f);
  }
  if (io.MouseWheel != 0.0f)
    camera.distance = std::clamp(camera.distance * (1.0f - 0.1f * io.MouseWheel), 2.0f, 20.0f);
}

void flow_section(FlowScene& flow) {
  section("Optical flow");
  ImGui::TextWrapped("%s", flow.description().c_str());
  int method = static_cast<int>(flow.method());
  ImGui::RadioButton("fovea INT8", &method, static_cast<int>(FlowMethod::kFovea));
  ImGui::SameLine();
  ImGui::RadioButton("fovea fast", &method, static_cast<int>(FlowMethod::kFoveaFast));
  ImGui::SameLine();
  ImGui::RadioButton("DIS fast", &method, static_cast<int>(FlowMethod::kDis));
  flow.set_method(static_cast<FlowMethod>(method));
  const TimingSummary ms = summarize(flow.flow_ms());
  ImGui::TextWrapped("%s", flow.method_name().c_str());
  ImGui::Text("flow median %.2f ms   p95 %.2f ms   (%zu frames)", ms.median, ms.p95,
              flow.flow_ms().size());
  const auto& history = flow.flow_ms();
  const size_t shown = std::min<size_t>(history.size(), kHistory);
  std::vector<float> recent(history.end() - static_cast<std::ptrdiff_t>(shown), history.end());
  ImGui::PlotLines("##flow_ms", recent.data(), static_cast<int>(recent.size()), 0, nullptr, 0.0f,
                   static_cast<float>(std::max(10.0, ms.max * 1.2)),
                   ImVec2(ImGui::GetContentRegionAvail().x, 50));
  int view = flow.view == FlowView::kSideBySide ? 0 : 1;
  ImGui::RadioButton("Side by side", &view, 0);
  ImGui::SameLine();
  ImGui::RadioButton("Overlay", &view, 1);
  flow.view = view == 0 ? FlowView::kSideBySide : FlowView::kOverlay;
  if (flow.view == FlowView::kOverlay) ImGui::SliderFloat("Flow", &flow.overlay_blend, 0.0f, 1.0f);
  ImGui::Text("Colours: Middlebury wheel, full saturation at %.1f px", flow.color_radius());

  section("Inference core");
  const MemoryBudget& budget = flow.core_budget();
  const double cap = static_cast<double>(budget.cap_bytes());
  char overlay[96];
  std::snprintf(overlay, sizeof overlay, "%.1f MB of %.0f MB (peak %.1f MB)",
                static_cast<double>(budget.current_bytes()) / 1048576.0, cap / 1048576.0,
                static_cast<double>(budget.peak_bytes()) / 1048576.0);
  ImGui::ProgressBar(static_cast<float>(static_cast<double>(budget.current_bytes()) / cap),
                     ImVec2(-1, 0), overlay);
  for (int kind = 0; kind < kMemoryCategoryCount; ++kind) {
    const auto category = static_cast<MemoryCategory>(kind);
    ImGui::Text("  %-18s %8.2f MB", memory_category_name(category),
                static_cast<double>(budget.current_bytes(category)) / 1048576.0);
  }
  ImGui::Text("Threads: %s",
              flow.runs_alone_now() ? "runs alone (the pool's workers lack cores)" : "pool of 2");
}

void draw_panel(const render::GlPlatform& platform, DemoScene& scene, const FrameHistory& history,
                double budget_bytes, render::OrbitCamera& camera, bool& auto_orbit) {
  ImGui::SetNextWindowPos(ImVec2(12, 12), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(400, 0), ImGuiCond_FirstUseEver);
  ImGui::Begin("fovea");
  const render::ContextInfo& info = platform.info();
  ImGui::Text("Renderer  %s", info.renderer.c_str());
  ImGui::Text("Version   %s", info.version.c_str());
  ImGui::Text(
      "Multiview %s   Timer queries %s",
      info.caps.multiview2 ? "OVR_multiview2" : (info.caps.multiview ? "OVR_multiview" : "no"),
      info.caps.timer_queries ? "yes" : "no");

  section("Frame time");
  const TimingSummary frames = history.summary();
  ImGui::Text("median %.2f ms (%.0f fps)   p95 %.2f ms", frames.median,
              frames.median > 0 ? 1000.0 / frames.median : 0.0, frames.p95);
  // Oldest sample first: a full ring starts at `next`, a filling one at 0.
  const int oldest = history.count == kHistory ? history.next : 0;
  ImGui::PlotLines("##frame_ms", history.ms.data(), history.count, oldest, nullptr, 0.0f,
                   static_cast<float>(std::max(33.3, frames.max * 1.2)),
                   ImVec2(ImGui::GetContentRegionAvail().x, 60));

  section("Memory budget");
  const render::GpuMemoryLedger& ledger = platform.gpu_memory();
  const double used = static_cast<double>(ledger.current_bytes());
  char overlay[96];
  std::snprintf(overlay, sizeof overlay, "%.1f MB of %.0f MB", used / 1048576.0,
                budget_bytes / 1048576.0);
  ImGui::ProgressBar(static_cast<float>(std::min(1.0, used / budget_bytes)), ImVec2(-1, 0),
                     overlay);
  for (int kind = 0; kind < static_cast<int>(render::GpuResourceKind::kCount); ++kind) {
    const auto k = static_cast<render::GpuResourceKind>(kind);
    ImGui::Text("  %-14s %8.2f MB", render::gpu_resource_kind_name(k),
                static_cast<double>(ledger.current_bytes(k)) / 1048576.0);
  }
  ImGui::TextDisabled(scene.flow() ? "Counts GL resources; the models' bytes are below."
                                   : "Counts GL resources; models join it later.");

  if (FlowScene* flow = scene.flow()) {
    flow_section(*flow);
    ImGui::End();
    return;
  }
  section("Scene");
  ImGui::TextWrapped("%s", scene.description().c_str());
  ImGui::Text("%d triangles", scene.triangle_count());
  ImGui::Checkbox("Orbit", &auto_orbit);
  ImGui::SliderFloat("Yaw", &camera.yaw_degrees, -180.0f, 540.0f, "%.0f deg");
  ImGui::SliderFloat("Pitch", &camera.pitch_degrees, -5.0f, 85.0f, "%.0f deg");
  ImGui::SliderFloat("Distance", &camera.distance, 2.0f, 20.0f, "%.1f");
  ImGui::TextDisabled("Drag to orbit, scroll to zoom.");
  ImGui::End();
}

}  // namespace

Status run_window_demo(const DemoOptions& options) {
  render::WindowOptions window_options;
  window_options.title = "fovea";
  if (options.width > 0) window_options.width = options.width;
  if (options.height > 0) window_options.height = options.height;
  auto window = render::open_window_platform(window_options);
  if (!window) return window.status();
  render::WindowPlatform& platform = **window;
  std::printf("fovea-demo (window): %s\n", platform.info().summary().c_str());

  auto scene = DemoScene::create(platform.gpu_memory(), options);
  if (!scene) return scene.status();
  ImGuiSession imgui(platform.native_window());
  if (!imgui.ready())
    return Status(ErrorCode::kUnavailable, "Dear ImGui's GLFW or OpenGL3 backend did not start");

  render::OrbitCamera camera = scene->initial_camera();
  bool auto_orbit = true;
  FrameHistory history;
  const double budget_bytes = options.gpu_budget_mb * 1048576.0;
  auto previous = std::chrono::steady_clock::now();
  for (int frame = 0; !platform.should_close(); ++frame) {
    const auto now = std::chrono::steady_clock::now();
    const float seconds = std::chrono::duration<float>(now - previous).count();
    previous = now;
    if (frame > 0) history.push(seconds * 1000.0f);
    if (auto_orbit) camera.yaw_degrees += 20.0f * seconds;

    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    // Dear ImGui's GLES backend leaves GL_INVALID_ENUM behind (desktop-only state queries); the
    // scene checks its own uploads, so it starts from a clean error flag.
    while (glGetError() != GL_NO_ERROR) {
    }
    FOVEA_RETURN_IF_ERROR(scene->advance());
    if (!scene->flow()) orbit_with_mouse(camera, auto_orbit);
    draw_panel(platform, *scene, history, budget_bytes, camera, auto_orbit);
    ImGui::Render();

    const render::DrawableSize size = platform.drawable_size();
    if (size.width > 0 && size.height > 0) {
      glBindFramebuffer(GL_FRAMEBUFFER, 0);
      glViewport(0, 0, size.width, size.height);
      scene->draw(camera, static_cast<float>(size.width) / static_cast<float>(size.height));
      ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    }
    const bool last = options.frames > 0 && frame + 1 >= options.frames;
    if (last && !options.screenshot.empty()) {
      FOVEA_RETURN_IF_ERROR(render::write_png(
          options.screenshot, render::read_framebuffer(0, 0, size.width, size.height)));
      std::printf("wrote %s\n", options.screenshot.c_str());
    }
    platform.present();
    if (last) break;
  }
  return Status::ok();
}

}  // namespace fovea::demo
