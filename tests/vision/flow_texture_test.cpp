#include <doctest/doctest.h>

#include <opencv2/core.hpp>

#include "fovea/render/flow_texture.h"
#include "fovea/render/gl_resources.h"
#include "fovea/vision/flow_color.h"
#include "support/gl_test_context.h"

namespace fovea {
namespace {

// Reads a texture back through a framebuffer (GLES has no glGetTexImage), rows top to bottom.
render::ImageRgba8 read_texture(const render::Texture2D& texture) {
  GLuint framebuffer = 0;
  glGenFramebuffers(1, &framebuffer);
  glBindFramebuffer(GL_FRAMEBUFFER, framebuffer);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture.id(), 0);
  REQUIRE(glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE);
  render::ImageRgba8 image = render::read_framebuffer(0, 0, texture.width(), texture.height());
  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  glDeleteFramebuffers(1, &framebuffer);
  return image;
}

TEST_CASE("flow colours upload to a GL texture the right way up and update in place") {
  render::GlPlatform& platform = testing::gl_context();
  render::GpuMemoryLedger ledger;
  cv::Mat flow(2, 3, CV_32FC2, cv::Scalar(0, 0));
  flow.at<cv::Vec2f>(0, 0) = {1.0f, 0.0f};  // top-left: red
  auto rgba = vision::flow_to_rgba8(flow);
  REQUIRE(rgba.is_ok());

  auto texture = render::upload_flow_texture(ledger, rgba->width, rgba->height, rgba->pixels);
  REQUIRE_MESSAGE(texture.is_ok(), texture.status().to_string());
  CHECK(ledger.current_bytes() == 3 * 2 * 4);
  render::ImageRgba8 image = read_texture(*texture);
  CHECK(int{image.pixel(0, 0)[0]} == 255);
  CHECK(int{image.pixel(0, 0)[1]} == 0);
  CHECK(int{image.pixel(2, 1)[1]} == 255);  // still: white

  // The next frame's flow reuses the texture.
  flow.at<cv::Vec2f>(0, 0) = {-1.0f, 0.0f};
  flow.at<cv::Vec2f>(1, 2) = {1.0f, 0.0f};
  auto next = vision::flow_to_rgba8(flow);
  REQUIRE(next.is_ok());
  REQUIRE(render::update_flow_texture(*texture, next->pixels).is_ok());
  image = read_texture(*texture);
  CHECK(int{image.pixel(0, 0)[0]} == 0);    // leftward: cyan-blue
  CHECK(int{image.pixel(2, 1)[0]} == 255);  // rightward: red
  CHECK(int{image.pixel(2, 1)[1]} == 0);
  CHECK(ledger.current_bytes() == 3 * 2 * 4);

  const std::vector<std::uint8_t> short_bytes(8);
  CHECK(render::update_flow_texture(*texture, short_bytes).code() == ErrorCode::kInvalidArgument);
  CHECK_FALSE(render::upload_flow_texture(ledger, 3, 2, {}).is_ok());
  CHECK_FALSE(render::upload_flow_texture(ledger, 0, 2, short_bytes).is_ok());
  (void)platform;
}

}  // namespace
}  // namespace fovea
