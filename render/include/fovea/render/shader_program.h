#pragma once
#include <string>
#include <string_view>

#include <glm/mat3x3.hpp>
#include <glm/mat4x4.hpp>
#include <glm/vec3.hpp>
#include <glm/vec4.hpp>

#include "fovea/core/status.h"
#include "fovea/render/gl.h"

namespace fovea::render {

// `source` with `text` (defines, constants) inserted after its #version line and after its
// last #extension line: GLSL wants every #extension before the first non-preprocessor token, and
// NVIDIA's compiler enforces it where Mesa's does not. An error if `source` has no #version line.
Result<std::string> insert_after_glsl_preamble(std::string_view source, std::string_view text);

// A linked GLSL ES program. Compile and link failures come back as errors that carry the
// program's name, the failing stage and the driver's info log.
class ShaderProgram {
 public:
  static Result<ShaderProgram> build(std::string_view name, std::string_view vertex_source,
                                     std::string_view fragment_source);
  // Builds from shaders embedded at build time (shaders/*.vert, shaders/*.frag).
  static Result<ShaderProgram> from_embedded(std::string_view vertex_name,
                                             std::string_view fragment_name);

  ShaderProgram() = default;
  ShaderProgram(ShaderProgram&& other) noexcept;
  ShaderProgram& operator=(ShaderProgram&& other) noexcept;
  ~ShaderProgram();

  GLuint id() const noexcept { return program_; }
  const std::string& name() const noexcept { return name_; }
  void use() const { glUseProgram(program_); }

  // -1 when the program has no such active uniform (it may have been optimised away).
  GLint uniform_location(const char* uniform) const {
    return glGetUniformLocation(program_, uniform);
  }
  void set(const char* uniform, int value) const;
  void set(const char* uniform, float value) const;
  void set(const char* uniform, const glm::vec3& value) const;
  void set(const char* uniform, const glm::vec4& value) const;
  void set(const char* uniform, const glm::mat3& value) const;
  void set(const char* uniform, const glm::mat4& value) const;

 private:
  ShaderProgram(GLuint program, std::string name) : program_(program), name_(std::move(name)) {}
  GLuint program_ = 0;
  std::string name_;
};

}  // namespace fovea::render
