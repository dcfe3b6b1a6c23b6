#include "fovea/render/gpu_timer.h"

#include <EGL/egl.h>

namespace fovea::render {
namespace {

// Every fovea context is made through EGL (GLFW uses its EGL context API), so eglGetProcAddress
// finds the extension's entry points on every platform.
struct TimerQueryFunctions {
  PFNGLGENQUERIESEXTPROC gen = nullptr;
  PFNGLDELETEQUERIESEXTPROC del = nullptr;
  PFNGLBEGINQUERYEXTPROC begin = nullptr;
  PFNGLENDQUERYEXTPROC end = nullptr;
  PFNGLGETQUERYOBJECTUI64VEXTPROC get_u64 = nullptr;

  bool complete() const { return gen && del && begin && end && get_u64; }
};

const TimerQueryFunctions& timer_query_functions() {
  static const TimerQueryFunctions functions = [] {
    TimerQueryFunctions f;
    f.gen = reinterpret_cast<PFNGLGENQUERIESEXTPROC>(eglGetProcAddress("glGenQueriesEXT"));
    f.del = reinterpret_cast<PFNGLDELETEQUERIESEXTPROC>(eglGetProcAddress("glDeleteQueriesEXT"));
    f.begin = reinterpret_cast<PFNGLBEGINQUERYEXTPROC>(eglGetProcAddress("glBeginQueryEXT"));
    f.end = reinterpret_cast<PFNGLENDQUERYEXTPROC>(eglGetProcAddress("glEndQueryEXT"));
    f.get_u64 = reinterpret_cast<PFNGLGETQUERYOBJECTUI64VEXTPROC>(
        eglGetProcAddress("glGetQueryObjectui64vEXT"));
    return f;
  }();
  return functions;
}

}  // namespace

GpuTimer::GpuTimer(const ContextInfo& info, bool prefer_timer_queries) {
  if (prefer_timer_queries && info.caps.timer_queries && !info.is_software_renderer() &&
      timer_query_functions().complete()) {
    method_ = Method::kTimerQuery;
    timer_query_functions().gen(1, &query_);
  }
}

GpuTimer::~GpuTimer() {
  if (query_ != 0) timer_query_functions().del(1, &query_);
}

const char* GpuTimer::method_name() const noexcept {
  return method_ == Method::kTimerQuery ? "GL timer query" : "glFinish wall clock";
}

void GpuTimer::begin() {
  if (method_ == Method::kTimerQuery) {
    GLint disjoint = 0;
    glGetIntegerv(GL_GPU_DISJOINT_EXT, &disjoint);  // reading it clears the flag
    timer_query_functions().begin(GL_TIME_ELAPSED_EXT, query_);
  } else {
    glFinish();  // earlier work must not be billed to this interval
    started_ = std::chrono::steady_clock::now();
  }
}

double GpuTimer::end_ms() {
  if (method_ == Method::kTimerQuery) {
    timer_query_functions().end(GL_TIME_ELAPSED_EXT);
    GLuint64 nanoseconds = 0;
    timer_query_functions().get_u64(query_, GL_QUERY_RESULT_EXT, &nanoseconds);
    GLint disjoint = 0;
    glGetIntegerv(GL_GPU_DISJOINT_EXT, &disjoint);
    return disjoint ? -1.0 : static_cast<double>(nanoseconds) * 1e-6;
  }
  glFinish();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
      .count();
}

}  // namespace fovea::render
