#pragma once
// GLSL ES 3.00 sources from shaders/, compiled into the binary at build time.

#include <optional>
#include <span>
#include <string_view>

namespace fovea::shaders {

struct EmbeddedShader {
  std::string_view name;    // file name, e.g. "lit_mesh.frag"
  std::string_view source;  // the file's text
};

std::span<const EmbeddedShader> all();

// The source of the shader file `name`, or nothing when no such file was embedded.
std::optional<std::string_view> find(std::string_view name);

}  // namespace fovea::shaders
