#include <doctest/doctest.h>

#include "fovea/render/gl_resources.h"
#include "support/gl_test_context.h"

namespace fovea::render {
namespace {

TEST_CASE("an off-screen target reads back exactly what was drawn, top row first") {
  GlPlatform& platform = testing::gl_context();
  auto target = OffscreenTarget::create(platform.gpu_memory(), 64, 32);
  REQUIRE_MESSAGE(target.is_ok(), target.status().to_string());
  target->bind();
  glDisable(GL_SCISSOR_TEST);
  glClearColor(0.0f, 0.0f, 1.0f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  // GL's y runs upwards: the scissor at y >= 16 is the image's top half.
  glEnable(GL_SCISSOR_TEST);
  glScissor(0, 16, 64, 16);
  glClearColor(1.0f, 0.0f, 0.0f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  glDisable(GL_SCISSOR_TEST);

  const ImageRgba8 image = target->read_back();
  REQUIRE(image.width == 64);
  REQUIRE(image.height == 32);
  const std::uint8_t* top = image.pixel(10, 3);
  const std::uint8_t* bottom = image.pixel(50, 28);
  CHECK(int{top[0]} == 255);
  CHECK(int{top[2]} == 0);
  CHECK(int{bottom[0]} == 0);
  CHECK(int{bottom[2]} == 255);
  CHECK(int{bottom[3]} == 255);
}

TEST_CASE("GL resources are counted in the ledger while alive and refused when absurd") {
  GlPlatform& platform = testing::gl_context();
  GpuMemoryLedger ledger;
  {
    auto target = OffscreenTarget::create(ledger, 100, 50);
    REQUIRE(target.is_ok());
    CHECK(ledger.current_bytes(GpuResourceKind::kTexture) == 100 * 50 * 4);
    CHECK(ledger.current_bytes(GpuResourceKind::kRenderbuffer) == 100 * 50 * 4);
    auto mesh = MeshBuffer::create(ledger, make_box({1, 1, 1}));
    REQUIRE(mesh.is_ok());
    CHECK(ledger.current_bytes(GpuResourceKind::kBuffer) ==
          24 * static_cast<std::int64_t>(sizeof(MeshVertex)) + 36 * 4);
    OffscreenTarget moved = std::move(*target);  // moving must not count twice
    CHECK(ledger.current_bytes() == 2 * 100 * 50 * 4 + mesh->bytes());
  }
  CHECK(ledger.current_bytes() == 0);
  CHECK(ledger.peak_bytes() > 0);

  const int too_big = platform.info().caps.max_texture_size + 1;
  auto huge = OffscreenTarget::create(ledger, too_big, 16);
  REQUIRE_FALSE(huge.is_ok());
  CHECK(huge.status().code() == ErrorCode::kInvalidArgument);
  CHECK(huge.status().message().find("GL_MAX_TEXTURE_SIZE") != std::string::npos);
  CHECK(OffscreenTarget::create(ledger, 0, 16).status().code() == ErrorCode::kInvalidArgument);
  const std::vector<std::uint8_t> short_pixels(10);
  CHECK(Texture2D::create_rgba8(ledger, 4, 4, short_pixels, TextureFilter::kNearest)
            .status()
            .code() == ErrorCode::kInvalidArgument);
  MeshData bad_mesh = make_box({1, 1, 1});
  bad_mesh.indices.push_back(1000);
  bad_mesh.indices.push_back(0);
  bad_mesh.indices.push_back(1);
  CHECK(MeshBuffer::create(ledger, bad_mesh).status().code() == ErrorCode::kInvalidArgument);
  CHECK(ledger.current_bytes() == 0);
  CHECK(glGetError() == GL_NO_ERROR);
}

}  // namespace
}  // namespace fovea::render
