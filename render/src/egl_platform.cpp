// EGL platforms with no window: Mesa's surfaceless platform and the EGL device platform
// (EGL_EXT_platform_device), which is how a headless NVIDIA GPU is reached.

#include <EGL/egl.h>
#include <EGL/eglext.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fovea/render/gl.h"
#include "fovea/render/platform.h"

namespace fovea::render {
namespace {

std::string egl_error_name(EGLint error) {
  switch (error) {
    case EGL_SUCCESS:
      return "EGL_SUCCESS";
    case EGL_NOT_INITIALIZED:
      return "EGL_NOT_INITIALIZED";
    case EGL_BAD_ACCESS:
      return "EGL_BAD_ACCESS";
    case EGL_BAD_ALLOC:
      return "EGL_BAD_ALLOC";
    case EGL_BAD_ATTRIBUTE:
      return "EGL_BAD_ATTRIBUTE";
    case EGL_BAD_CONFIG:
      return "EGL_BAD_CONFIG";
    case EGL_BAD_CONTEXT:
      return "EGL_BAD_CONTEXT";
    case EGL_BAD_DISPLAY:
      return "EGL_BAD_DISPLAY";
    case EGL_BAD_MATCH:
      return "EGL_BAD_MATCH";
    case EGL_BAD_PARAMETER:
      return "EGL_BAD_PARAMETER";
    case EGL_BAD_SURFACE:
      return "EGL_BAD_SURFACE";
    default:
      return "EGL error 0x" + [&] {
        char buffer[16];
        std::snprintf(buffer, sizeof buffer, "%04x", static_cast<unsigned>(error));
        return std::string(buffer);
      }();
  }
}

Status egl_failure(const std::string& what) {
  return Status(ErrorCode::kUnavailable, what + " failed (" + egl_error_name(eglGetError()) + ")");
}

bool has_word(const char* list, const char* word) {
  if (list == nullptr) return false;
  const size_t length = std::strlen(word);
  for (const char* p = list; (p = std::strstr(p, word)) != nullptr; p += length) {
    const bool starts = p == list || p[-1] == ' ';
    const bool ends = p[length] == '\0' || p[length] == ' ';
    if (starts && ends) return true;
  }
  return false;
}

template <typename Function>
Function egl_proc(const char* name) {
  return reinterpret_cast<Function>(eglGetProcAddress(name));
}

class EglPlatform final : public GlPlatform {
 public:
  EglPlatform(PlatformKind kind, EGLDisplay display) : kind_(kind), display_(display) {}
  ~EglPlatform() override {
    if (display_ == EGL_NO_DISPLAY) return;
    eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    if (context_ != EGL_NO_CONTEXT) eglDestroyContext(display_, context_);
    // No eglTerminate: EGL gives one EGLDisplay per device to the whole process, so a host
    // engine or a second fovea platform may be using it, and terminating would pull it from
    // under them. The display stays initialised until the process ends.
  }

  PlatformKind kind() const noexcept override { return kind_; }

  Status make_current() override {
    if (!eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, context_))
      return egl_failure("eglMakeCurrent (surfaceless)");
    return Status::ok();
  }

  Status initialize() {
    EGLint major = 0, minor = 0;
    if (!eglInitialize(display_, &major, &minor)) return egl_failure("eglInitialize");
    const char* display_extensions = eglQueryString(display_, EGL_EXTENSIONS);
    if (!has_word(display_extensions, "EGL_KHR_surfaceless_context"))
      return Status(ErrorCode::kUnavailable,
                    "the EGL display lacks EGL_KHR_surfaceless_context, which headless rendering "
                    "needs");
    if (!eglBindAPI(EGL_OPENGL_ES_API)) return egl_failure("eglBindAPI(EGL_OPENGL_ES_API)");

    const EGLint config_attributes[] = {EGL_RENDERABLE_TYPE,
                                        EGL_OPENGL_ES3_BIT,
                                        EGL_SURFACE_TYPE,
                                        EGL_DONT_CARE,
                                        EGL_RED_SIZE,
                                        8,
                                        EGL_GREEN_SIZE,
                                        8,
                                        EGL_BLUE_SIZE,
                                        8,
                                        EGL_NONE};
    EGLConfig config = nullptr;
    EGLint config_count = 0;
    if (!eglChooseConfig(display_, config_attributes, &config, 1, &config_count) ||
        config_count == 0) {
      return Status(ErrorCode::kUnavailable,
                    "no EGL config supports OpenGL ES 3 with RGB8 on this display");
    }
    // Ask for 3.2 first (compute, geometry shaders); drivers that stop at 3.0 still qualify.
    for (const EGLint minor_version : {2, 1, 0}) {
      const EGLint context_attributes[] = {EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION,
                                           minor_version, EGL_NONE};
      context_ = eglCreateContext(display_, config, EGL_NO_CONTEXT, context_attributes);
      if (context_ != EGL_NO_CONTEXT) break;
    }
    if (context_ == EGL_NO_CONTEXT) return egl_failure("eglCreateContext (OpenGL ES 3.x)");
    FOVEA_RETURN_IF_ERROR(make_current());
    info_ = query_context_info();
    if (info_.major < 3)
      return Status(ErrorCode::kUnavailable, "the context reports OpenGL ES " + info_.version +
                                                 "; fovea needs 3.0 or later");
    return Status::ok();
  }

 private:
  PlatformKind kind_;
  EGLDisplay display_ = EGL_NO_DISPLAY;
  EGLContext context_ = EGL_NO_CONTEXT;
};

Result<std::unique_ptr<GlPlatform>> finish(std::unique_ptr<EglPlatform> platform) {
  if (Status status = platform->initialize(); !status.is_ok()) return status;
  return std::unique_ptr<GlPlatform>(std::move(platform));
}

Result<std::unique_ptr<GlPlatform>> open_surfaceless() {
  const char* client_extensions = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
  if (!has_word(client_extensions, "EGL_MESA_platform_surfaceless"))
    return Status(ErrorCode::kUnavailable,
                  "EGL has no EGL_MESA_platform_surfaceless (install Mesa: libegl-mesa0 "
                  "libgl1-mesa-dri), or use --platform egl-device on a GPU machine");
  auto get_display = egl_proc<PFNEGLGETPLATFORMDISPLAYEXTPROC>("eglGetPlatformDisplayEXT");
  if (get_display == nullptr) return Status(ErrorCode::kUnavailable, "no eglGetPlatformDisplayEXT");
  EGLDisplay display = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  if (display == EGL_NO_DISPLAY) return egl_failure("eglGetPlatformDisplayEXT(surfaceless)");
  return finish(std::make_unique<EglPlatform>(PlatformKind::kEglSurfaceless, display));
}

struct DeviceCandidate {
  EGLDeviceEXT device;
  bool software;
  std::string description;
};

Result<std::vector<DeviceCandidate>> list_devices() {
  const char* client_extensions = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
  if (!has_word(client_extensions, "EGL_EXT_device_enumeration") &&
      !has_word(client_extensions, "EGL_EXT_device_base"))
    return Status(ErrorCode::kUnavailable, "EGL cannot enumerate devices (no EGL_EXT_device_base)");
  auto query_devices = egl_proc<PFNEGLQUERYDEVICESEXTPROC>("eglQueryDevicesEXT");
  auto query_string = egl_proc<PFNEGLQUERYDEVICESTRINGEXTPROC>("eglQueryDeviceStringEXT");
  if (query_devices == nullptr) return Status(ErrorCode::kUnavailable, "no eglQueryDevicesEXT");
  EGLDeviceEXT devices[16];
  EGLint count = 0;
  if (!query_devices(16, devices, &count)) return egl_failure("eglQueryDevicesEXT");
  std::vector<DeviceCandidate> candidates;
  for (EGLint i = 0; i < count; ++i) {
    const char* extensions = query_string ? query_string(devices[i], EGL_EXTENSIONS) : nullptr;
    DeviceCandidate candidate{devices[i], has_word(extensions, "EGL_MESA_device_software"),
                              extensions ? extensions : ""};
    candidates.push_back(candidate);
  }
  return candidates;
}

Result<std::unique_ptr<GlPlatform>> open_device(const HeadlessOptions& options) {
  auto listed = list_devices();
  if (!listed) return listed.status();
  const std::vector<DeviceCandidate>& devices = *listed;
  int chosen = -1;
  if (options.device_index >= 0) {
    if (options.device_index >= static_cast<int>(devices.size()))
      return Status(ErrorCode::kNotFound, "EGL device " + std::to_string(options.device_index) +
                                              " requested, but only " +
                                              std::to_string(devices.size()) + " exist");
    chosen = options.device_index;
  } else {
    for (int i = 0; i < static_cast<int>(devices.size()) && chosen < 0; ++i)
      if (!devices[i].software) chosen = i;
    for (int i = 0; i < static_cast<int>(devices.size()) && chosen < 0; ++i)
      if (options.allow_software_device) chosen = i;
  }
  if (chosen < 0)
    return Status(ErrorCode::kUnavailable,
                  "no hardware EGL device found (" + std::to_string(devices.size()) +
                      " software device(s)); on a CPU-only machine use egl-surfaceless. On an "
                      "NVIDIA machine, set __EGL_VENDOR_LIBRARY_FILENAMES to the driver's "
                      "10_nvidia.json (see README)");
  if (devices[chosen].software && !options.allow_software_device)
    return Status(ErrorCode::kUnavailable,
                  "EGL device " + std::to_string(chosen) + " is Mesa's software renderer");

  auto get_display = egl_proc<PFNEGLGETPLATFORMDISPLAYEXTPROC>("eglGetPlatformDisplayEXT");
  if (get_display == nullptr) return Status(ErrorCode::kUnavailable, "no eglGetPlatformDisplayEXT");
  EGLDisplay display = get_display(EGL_PLATFORM_DEVICE_EXT, devices[chosen].device, nullptr);
  if (display == EGL_NO_DISPLAY) return egl_failure("eglGetPlatformDisplayEXT(device)");
  return finish(std::make_unique<EglPlatform>(PlatformKind::kEglDevice, display));
}

}  // namespace

std::string_view platform_kind_name(PlatformKind kind) noexcept {
  switch (kind) {
    case PlatformKind::kEglSurfaceless:
      return "egl-surfaceless";
    case PlatformKind::kEglDevice:
      return "egl-device";
    case PlatformKind::kGlfwWindow:
      return "window";
  }
  return "unknown";
}

Result<PlatformKind> parse_platform_kind(std::string_view name) {
  for (PlatformKind kind :
       {PlatformKind::kEglSurfaceless, PlatformKind::kEglDevice, PlatformKind::kGlfwWindow})
    if (name == platform_kind_name(kind)) return kind;
  return Status(ErrorCode::kInvalidArgument,
                "unknown platform '" + std::string(name) +
                    "' (expected egl-surfaceless, egl-device or window)");
}

Result<std::unique_ptr<GlPlatform>> open_headless_platform(const HeadlessOptions& options) {
  switch (options.kind) {
    case PlatformKind::kEglSurfaceless:
      return open_surfaceless();
    case PlatformKind::kEglDevice:
      return open_device(options);
    case PlatformKind::kGlfwWindow:
      break;
  }
  return Status(ErrorCode::kInvalidArgument,
                "the window platform is not headless: use open_window_platform()");
}

Result<std::unique_ptr<GlPlatform>> open_best_headless_platform() {
  auto device = open_headless_platform({.kind = PlatformKind::kEglDevice});
  if (device) return device;
  auto surfaceless = open_headless_platform({.kind = PlatformKind::kEglSurfaceless});
  if (surfaceless) return surfaceless;
  return Status(ErrorCode::kUnavailable,
                "no headless OpenGL ES 3 context: " + device.status().message() + "; " +
                    surfaceless.status().message());
}

}  // namespace fovea::render
