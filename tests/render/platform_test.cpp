#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "fovea/render/gl.h"
#include "fovea/render/platform.h"
#include "fovea/render/window_platform.h"
#include "support/gl_test_context.h"

namespace fovea::render {
namespace {

TEST_CASE("EGL surfaceless gives an OpenGL ES 3 context that reports its capabilities") {
  GlPlatform& platform = testing::gl_context();
  const ContextInfo& info = platform.info();
  CHECK(platform.kind() == PlatformKind::kEglSurfaceless);
  CHECK(info.major >= 3);
  CHECK(info.version.rfind("OpenGL ES 3", 0) == 0);
  CHECK_FALSE(info.renderer.empty());
  CHECK_FALSE(info.vendor.empty());
  CHECK(info.caps.max_texture_size >= 2048);
  CHECK(info.extensions.size() > 10);
  CHECK(info.caps.timer_queries == info.has_extension("GL_EXT_disjoint_timer_query"));
  CHECK(info.caps.multiview == info.has_extension("GL_OVR_multiview"));
  CHECK(info.summary().find(info.renderer) == 0);
  MESSAGE(info.summary());
  CHECK(platform.drawable_size().width == 0);  // headless: no default framebuffer
}

TEST_CASE("platform names parse, and unknown ones are rejected with the known ones listed") {
  for (PlatformKind kind :
       {PlatformKind::kEglSurfaceless, PlatformKind::kEglDevice, PlatformKind::kGlfwWindow}) {
    auto parsed = parse_platform_kind(platform_kind_name(kind));
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == kind);
  }
  auto unknown = parse_platform_kind("vulkan");
  REQUIRE_FALSE(unknown.is_ok());
  CHECK(unknown.status().message().find("egl-device") != std::string::npos);
  auto window_as_headless = open_headless_platform({.kind = PlatformKind::kGlfwWindow});
  CHECK(window_as_headless.status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("EGL device platform: hardware only by default, Mesa's software device on request") {
  // CI machines have Mesa's software device and no hardware one: the device path must refuse
  // it by default (so fovea-bench never reports llvmpipe as a GPU) and work when allowed.
  auto software =
      open_headless_platform({.kind = PlatformKind::kEglDevice, .allow_software_device = true});
  REQUIRE_MESSAGE(software.is_ok(), software.status().to_string());
  CHECK((*software)->kind() == PlatformKind::kEglDevice);
  CHECK((*software)->info().major >= 3);
  const bool is_software = (*software)->info().is_software_renderer();

  auto hardware_only = open_headless_platform({.kind = PlatformKind::kEglDevice});
  if (is_software) {
    // The first device was software, so there is no hardware device on this machine.
    REQUIRE_FALSE(hardware_only.is_ok());
    CHECK(hardware_only.status().code() == ErrorCode::kUnavailable);
    CHECK(hardware_only.status().message().find("egl-surfaceless") != std::string::npos);
  } else {
    CHECK(hardware_only.is_ok());
  }
  auto missing = open_headless_platform({.kind = PlatformKind::kEglDevice, .device_index = 99});
  CHECK(missing.status().code() == ErrorCode::kNotFound);
}

TEST_CASE("two headless platforms live side by side and close independently") {
  auto first = open_headless_platform({.kind = PlatformKind::kEglSurfaceless});
  auto second = open_headless_platform({.kind = PlatformKind::kEglSurfaceless});
  REQUIRE(first.is_ok());
  REQUIRE(second.is_ok());
  first->reset();  // must not terminate the display under the second
  REQUIRE((*second)->make_current().is_ok());
  glClearColor(0, 0, 0, 1);
  CHECK(glGetError() == GL_NO_ERROR);
}

TEST_CASE("the window platform without a display fails with a message instead of crashing") {
  const char* display = std::getenv("DISPLAY");
  const std::string saved = display ? display : "";
  unsetenv("DISPLAY");
  unsetenv("WAYLAND_DISPLAY");
  CHECK_FALSE(display_available());
  auto window = open_window_platform({});
  REQUIRE_FALSE(window.is_ok());
  CHECK(window.status().code() == ErrorCode::kUnavailable);
  CHECK(window.status().message().find("headless") != std::string::npos);
  auto absurd = open_window_platform({.width = -5});
  CHECK(absurd.status().code() == ErrorCode::kInvalidArgument);
  if (!saved.empty()) setenv("DISPLAY", saved.c_str(), 1);
}

}  // namespace
}  // namespace fovea::render
