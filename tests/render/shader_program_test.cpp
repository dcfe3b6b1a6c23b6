#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fovea/render/shader_program.h"
#include "fovea/shaders/embedded.h"
#include "support/gl_test_context.h"

namespace fovea::render {
namespace {

constexpr const char* kVertex = R"(#version 300 es
layout(location = 0) in vec3 a_position;
out vec3 v_color;
void main() { v_color = a_position; gl_Position = vec4(a_position, 1.0); })";

constexpr const char* kFragment = R"(#version 300 es
precision mediump float;
in vec3 v_color;
out vec4 o_color;
void main() { o_color = vec4(v_color, 1.0); })";

TEST_CASE("a shader that does not compile is an error naming the program, stage and log") {
  testing::gl_context();
  const std::string broken = std::string(kFragment).replace(
      std::string(kFragment).find("o_color ="), 9, "o_color = undefined_symbol +");
  auto program = ShaderProgram::build("broken-test-shader", kVertex, broken);
  REQUIRE_FALSE(program.is_ok());
  const std::string& message = program.status().message();
  CHECK(program.status().code() == ErrorCode::kInvalidArgument);
  CHECK(message.find("broken-test-shader") != std::string::npos);
  CHECK(message.find("fragment stage failed to compile") != std::string::npos);
  CHECK(message.find("undefined_symbol") != std::string::npos);  // the driver's own log
}

TEST_CASE("a program that does not link is an error with the link log") {
  testing::gl_context();
  // The fragment shader reads a varying the vertex shader never writes.
  const std::string mismatched = R"(#version 300 es
precision mediump float;
in vec4 v_missing;
out vec4 o_color;
void main() { o_color = v_missing; })";
  auto program = ShaderProgram::build("unlinkable", kVertex, mismatched);
  REQUIRE_FALSE(program.is_ok());
  CHECK(program.status().message().find("unlinkable") != std::string::npos);
  CHECK(program.status().message().find("failed to link") != std::string::npos);
}

TEST_CASE("every embedded shader is GLSL ES 3.00 and compiles on this driver") {
  testing::gl_context();
  int vertex_count = 0, fragment_count = 0;
  for (const auto& shader : shaders::all()) {
    CAPTURE(shader.name);
    CHECK(shader.source.rfind("#version 300 es", 0) == 0);
    const bool is_vertex = shader.name.ends_with(".vert");
    (is_vertex ? vertex_count : fragment_count)++;
    const GLuint object = glCreateShader(is_vertex ? GL_VERTEX_SHADER : GL_FRAGMENT_SHADER);
    const char* text = shader.source.data();
    const GLint length = static_cast<GLint>(shader.source.size());
    glShaderSource(object, 1, &text, &length);
    glCompileShader(object);
    GLint compiled = GL_FALSE;
    glGetShaderiv(object, GL_COMPILE_STATUS, &compiled);
    CHECK(compiled == GL_TRUE);
    glDeleteShader(object);
  }
  CHECK(vertex_count >= 3);
  CHECK(fragment_count >= 3);
  CHECK(shaders::find("lit_mesh.frag").has_value());
  auto program = ShaderProgram::from_embedded("lit_mesh.vert", "lit_mesh.frag");
  REQUIRE_MESSAGE(program.is_ok(), program.status().to_string());
  CHECK(program->uniform_location("u_view_projection") >= 0);
  auto missing = ShaderProgram::from_embedded("lit_mesh.vert", "no_such.frag");
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("no_such.frag") != std::string::npos);
}

// Index of the first line that is neither blank, a comment nor a preprocessor directive.
size_t first_code_line(const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const size_t start = l.find_first_not_of(" \t");
    if (start == std::string::npos || l.compare(start, 2, "//") == 0 || l[start] == '#') continue;
    return i;
  }
  return lines.size();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1)
    lines.push_back(text.substr(at, end - at));
  if (at < text.size()) lines.push_back(text.substr(at));
  return lines;
}

TEST_CASE("inserted constants go after every #extension line (NVIDIA refuses them before)") {
  const std::string constants = "const float LF_TEST_CONSTANT = 1.0;\n#define LF_TEST 1\n";
  for (const auto& shader : shaders::all()) {
    CAPTURE(shader.name);
    auto text = insert_after_glsl_preamble(shader.source, constants);
    REQUIRE(text.is_ok());
    const std::vector<std::string> lines = split_lines(*text);
    const size_t code = first_code_line(lines);
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].rfind("#extension", 0) == 0) CHECK(i < code);
    CHECK(text->find(constants) != std::string::npos);
    CHECK(text->rfind("#version 300 es", 0) == 0);
  }
  auto text = insert_after_glsl_preamble(
      "#version 300 es\n// why\n#extension GL_OVR_multiview2 : enable\nlayout(num_views = 2) in;\n",
      "const int K = 2;\n");
  REQUIRE(text.is_ok());
  CHECK(*text ==
        "#version 300 es\n// why\n#extension GL_OVR_multiview2 : enable\nconst int K = 2;\n"
        "layout(num_views = 2) in;\n");
  CHECK(insert_after_glsl_preamble("#version 300 es", "x\n").value() == "#version 300 es\nx\n");
  CHECK(insert_after_glsl_preamble("void main() {}\n", "x").status().code() ==
        ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fovea::render
