#include <doctest/doctest.h>

#include "fovea/render/builtin_scene.h"
#include "fovea/render/gpu_timer.h"
#include "support/gl_test_context.h"

namespace fovea::render {
namespace {

TEST_CASE("the GPU timer measures real work, with the wall clock on software renderers") {
  GlPlatform& platform = testing::gl_context();
  GpuTimer timer(platform.info());
  if (platform.info().is_software_renderer())
    CHECK(timer.method() == GpuTimer::Method::kFinishWallClock);
  auto scene = BuiltinScene::create(platform.gpu_memory());
  REQUIRE(scene.is_ok());
  auto small = OffscreenTarget::create(platform.gpu_memory(), 16, 16);
  auto large = OffscreenTarget::create(platform.gpu_memory(), 1024, 1024);
  REQUIRE(small.is_ok());
  REQUIRE(large.is_ok());
  auto time_frames = [&](const OffscreenTarget& target) {
    target.bind();
    timer.begin();
    for (int i = 0; i < 4; ++i) scene->draw(OrbitCamera{}, 1.0f);
    return timer.end_ms();
  };
  time_frames(*large);  // first use compiles shader variants; keep that out of the figures
  const double small_ms = time_frames(*small);
  const double large_ms = time_frames(*large);
  CHECK(small_ms >= 0.0);
  CHECK(large_ms > 0.0);
  // 4096x the pixels must cost more: a timer that measured nothing would fail here.
  CHECK(large_ms > small_ms);
  MESSAGE(timer.method_name() << ": 16x16 " << small_ms << " ms, 1024x1024 " << large_ms << " ms");
}

}  // namespace
}  // namespace fovea::render
