#include "support/gl_test_context.h"

#include <doctest/doctest.h>

#include <memory>

namespace fovea::testing {

render::GlPlatform& gl_context() {
  static std::unique_ptr<render::GlPlatform> platform = [] {
    auto opened = render::open_headless_platform({.kind = render::PlatformKind::kEglSurfaceless});
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    return std::move(*opened);
  }();
  REQUIRE(platform->make_current().is_ok());
  return *platform;
}

}  // namespace fovea::testing
