#pragma once
#include <cstdint>
#include <vector>

#include <glm/vec3.hpp>

namespace fovea::render {

// RGBA8 texels, `size` x `size`, for textures the tests and the demo make without files.
std::vector<std::uint8_t> make_checker_texels(int size, int cells, glm::vec3 a, glm::vec3 b);
// Diagonal stripes with a thin grid: shows orientation and filtering at a glance.
std::vector<std::uint8_t> make_stripe_texels(int size, int stripes, glm::vec3 a, glm::vec3 b);

}  // namespace fovea::render
