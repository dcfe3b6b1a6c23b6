#include "fovea/shaders/embedded.h"

namespace fovea::shaders {

std::optional<std::string_view> find(std::string_view name) {
  for (const EmbeddedShader& shader : all())
    if (shader.name == name) return shader.source;
  return std::nullopt;
}

}  // namespace fovea::shaders
