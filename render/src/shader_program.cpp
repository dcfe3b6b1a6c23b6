#include "fovea/render/shader_program.h"

#include <string>
#include <vector>

#include <glm/gtc/type_ptr.hpp>

#include "fovea/shaders/embedded.h"

namespace fovea::render {

Result<std::string> insert_after_glsl_preamble(std::string_view source, std::string_view text) {
  std::string out(source);
  if (!out.starts_with("#version"))
    return Status(ErrorCode::kInvalidArgument, "GLSL source does not start with a #version line");
  size_t line_end = out.find('\n');
  if (line_end == std::string::npos) {
    out += '\n';
    line_end = out.size() - 1;
  }
  for (size_t at = out.find("\n#extension", line_end); at != std::string::npos;
       at = out.find("\n#extension", at + 1)) {
    const size_t end = out.find('\n', at + 1);
    if (end == std::string::npos) {
      out += '\n';
      line_end = out.size() - 1;
      break;
    }
    line_end = end;
  }
  out.insert(line_end + 1, text);
  return out;
}
namespace {

std::string info_log(GLuint object, bool is_program) {
  GLint length = 0;
  if (is_program)
    glGetProgramiv(object, GL_INFO_LOG_LENGTH, &length);
  else
    glGetShaderiv(object, GL_INFO_LOG_LENGTH, &length);
  if (length <= 1) return "(the driver gave no info log)";
  std::vector<char> text(static_cast<size_t>(length));
  if (is_program)
    glGetProgramInfoLog(object, length, nullptr, text.data());
  else
    glGetShaderInfoLog(object, length, nullptr, text.data());
  std::string log(text.data());
  while (!log.empty() && (log.back() == '\n' || log.back() == '\0')) log.pop_back();
  return log;
}

Result<GLuint> compile(GLenum stage, std::string_view program_name, std::string_view source) {
  const char* stage_name = stage == GL_VERTEX_SHADER ? "vertex" : "fragment";
  GLuint shader = glCreateShader(stage);
  if (shader == 0)
    return Status(ErrorCode::kInternal, "glCreateShader failed for '" + std::string(program_name) +
                                            "' (no current context?)");
  const char* text = source.data();
  const GLint length = static_cast<GLint>(source.size());
  glShaderSource(shader, 1, &text, &length);
  glCompileShader(shader);
  GLint compiled = GL_FALSE;
  glGetShaderiv(shader, GL_COMPILE_STATUS, &compiled);
  if (compiled != GL_TRUE) {
    std::string log = info_log(shader, false);
    glDeleteShader(shader);
    return Status(ErrorCode::kInvalidArgument, "shader '" + std::string(program_name) +
                                                   "': " + stage_name +
                                                   " stage failed to compile:\n" + log);
  }
  return shader;
}

}  // namespace

Result<ShaderProgram> ShaderProgram::build(std::string_view name, std::string_view vertex_source,
                                           std::string_view fragment_source) {
  auto vertex = compile(GL_VERTEX_SHADER, name, vertex_source);
  if (!vertex) return vertex.status();
  auto fragment = compile(GL_FRAGMENT_SHADER, name, fragment_source);
  if (!fragment) {
    glDeleteShader(*vertex);
    return fragment.status();
  }
  GLuint program = glCreateProgram();
  glAttachShader(program, *vertex);
  glAttachShader(program, *fragment);
  glLinkProgram(program);
  // The program keeps what it needs; the shader objects can go now.
  glDeleteShader(*vertex);
  glDeleteShader(*fragment);
  GLint linked = GL_FALSE;
  glGetProgramiv(program, GL_LINK_STATUS, &linked);
  if (linked != GL_TRUE) {
    std::string log = info_log(program, true);
    glDeleteProgram(program);
    return Status(ErrorCode::kInvalidArgument,
                  "shader '" + std::string(name) + "': program failed to link:\n" + log);
  }
  return ShaderProgram(program, std::string(name));
}

Result<ShaderProgram> ShaderProgram::from_embedded(std::string_view vertex_name,
                                                   std::string_view fragment_name) {
  auto vertex = shaders::find(vertex_name);
  auto fragment = shaders::find(fragment_name);
  for (auto [found, wanted] :
       {std::pair{vertex.has_value(), vertex_name}, std::pair{fragment.has_value(), fragment_name}})
    if (!found)
      return Status(ErrorCode::kNotFound,
                    "no embedded shader named '" + std::string(wanted) + "' (is it in shaders/?)");
  std::string name = std::string(vertex_name) + " + " + std::string(fragment_name);
  return build(name, *vertex, *fragment);
}

ShaderProgram::ShaderProgram(ShaderProgram&& other) noexcept
    : program_(std::exchange(other.program_, 0)), name_(std::move(other.name_)) {}

ShaderProgram& ShaderProgram::operator=(ShaderProgram&& other) noexcept {
  if (this != &other) {
    if (program_ != 0) glDeleteProgram(program_);
    program_ = std::exchange(other.program_, 0);
    name_ = std::move(other.name_);
  }
  return *this;
}

ShaderProgram::~ShaderProgram() {
  if (program_ != 0) glDeleteProgram(program_);
}

void ShaderProgram::set(const char* uniform, int value) const {
  glUniform1i(uniform_location(uniform), value);
}
void ShaderProgram::set(const char* uniform, float value) const {
  glUniform1f(uniform_location(uniform), value);
}
void ShaderProgram::set(const char* uniform, const glm::vec3& value) const {
  glUniform3fv(uniform_location(uniform), 1, glm::value_ptr(value));
}
void ShaderProgram::set(const char* uniform, const glm::vec4& value) const {
  glUniform4fv(uniform_location(uniform), 1, glm::value_ptr(value));
}
void ShaderProgram::set(const char* uniform, const glm::mat3& value) const {
  glUniformMatrix3fv(uniform_location(uniform), 1, GL_FALSE, glm::value_ptr(value));
}
void ShaderProgram::set(const char* uniform, const glm::mat4& value) const {
  glUniformMatrix4fv(uniform_location(uniform), 1, GL_FALSE, glm::value_ptr(value));
}

}  // namespace fovea::render
