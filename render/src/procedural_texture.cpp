#include "fovea/render/procedural_texture.h"

#include <algorithm>
#include <cmath>

namespace fovea::render {
namespace {

void put(std::vector<std::uint8_t>& texels, size_t index, glm::vec3 color) {
  for (int c = 0; c < 3; ++c)
    texels[index * 4 + c] =
        static_cast<std::uint8_t>(std::clamp(color[c], 0.0f, 1.0f) * 255.0f + 0.5f);
  texels[index * 4 + 3] = 255;
}

}  // namespace

std::vector<std::uint8_t> make_checker_texels(int size, int cells, glm::vec3 a, glm::vec3 b) {
  std::vector<std::uint8_t> texels(static_cast<size_t>(size) * size * 4);
  const int cell = std::max(1, size / std::max(1, cells));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      put(texels, static_cast<size_t>(y) * size + x, ((x / cell + y / cell) & 1) ? b : a);
  return texels;
}

std::vector<std::uint8_t> make_stripe_texels(int size, int stripes, glm::vec3 a, glm::vec3 b) {
  std::vector<std::uint8_t> texels(static_cast<size_t>(size) * size * 4);
  const float period = static_cast<float>(size) / std::max(1, stripes);
  const int grid = std::max(2, size / 8);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const bool stripe = std::fmod(static_cast<float>(x + y), period) < period * 0.5f;
      glm::vec3 color = stripe ? a : b;
      if (x % grid == 0 || y % grid == 0) color *= 0.55f;
      put(texels, static_cast<size_t>(y) * size + x, color);
    }
  }
  return texels;
}

}  // namespace fovea::render
