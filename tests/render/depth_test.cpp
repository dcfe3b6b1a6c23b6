#include <doctest/doctest.h>

#include <glm/gtc/matrix_transform.hpp>

#include "fovea/render/gl_resources.h"
#include "fovea/render/shader_program.h"
#include "support/gl_test_context.h"

namespace fovea::render {
namespace {

// Two overlapping quads at different depths: the nearer one must cover the overlap whichever
// is drawn first, which holds only if the target's depth buffer works.
ImageRgba8 draw_overlap(bool near_first) {
  GlPlatform& platform = testing::gl_context();
  auto target = OffscreenTarget::create(platform.gpu_memory(), 32, 32);
  REQUIRE(target.is_ok());
  auto program = ShaderProgram::from_embedded("flat_color.vert", "flat_color.frag");
  REQUIRE_MESSAGE(program.is_ok(), program.status().to_string());
  MeshData quad = make_ground_plane(1.0f, 1.0f);
  auto mesh = MeshBuffer::create(platform.gpu_memory(), quad);
  REQUIRE(mesh.is_ok());

  target->bind();
  glClearColor(0, 0, 0, 1);
  glClearDepthf(1.0f);
  glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  glEnable(GL_DEPTH_TEST);
  glDepthFunc(GL_LESS);
  program->use();
  // The plane lies in XZ; turn it to face the viewer and shift it left/right and in depth.
  const glm::mat4 face_viewer = glm::rotate(glm::mat4(1.0f), glm::radians(90.0f), {1, 0, 0});
  struct Quad {
    float x, depth;
    glm::vec4 color;
  };
  const Quad near_quad{-0.3f, -0.2f, {1, 0, 0, 1}};
  const Quad far_quad{0.3f, 0.5f, {0, 1, 0, 1}};
  for (const Quad& q :
       near_first ? std::array{near_quad, far_quad} : std::array{far_quad, near_quad}) {
    const glm::mat4 model = glm::translate(glm::mat4(1.0f), {q.x, 0.0f, q.depth}) *
                            glm::scale(glm::mat4(1.0f), {0.6f, 0.6f, 0.6f}) * face_viewer;
    program->set("u_model_view_projection", model);
    program->set("u_color", q.color);
    mesh->draw();
  }
  glDisable(GL_DEPTH_TEST);
  return target->read_back();
}

TEST_CASE("depth testing: the nearer surface wins regardless of draw order") {
  for (bool near_first : {true, false}) {
    CAPTURE(near_first);
    const ImageRgba8 image = draw_overlap(near_first);
    const std::uint8_t* overlap = image.pixel(16, 16);  // x = 0 in NDC: both quads cover it
    CHECK(int{overlap[0]} == 255);
    CHECK(int{overlap[1]} == 0);
    const std::uint8_t* far_only = image.pixel(26, 16);  // x = +0.6: only the far quad
    CHECK(int{far_only[1]} == 255);
    const std::uint8_t* outside = image.pixel(16, 1);  // above both
    CHECK(int{outside[0]} == 0);
    CHECK(int{outside[1]} == 0);
  }
}

}  // namespace
}  // namespace fovea::render
