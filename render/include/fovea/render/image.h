#pragma once
#include <cstdint>
#include <vector>

namespace fovea::render {

// 8-bit RGBA pixels, rows top to bottom, tightly packed.
struct ImageRgba8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  ImageRgba8() = default;
  ImageRgba8(int w, int h) : width(w), height(h), pixels(static_cast<size_t>(w) * h * 4, 0) {}

  bool empty() const noexcept { return width <= 0 || height <= 0; }
  std::uint8_t* pixel(int x, int y) {
    return pixels.data() + (static_cast<size_t>(y) * width + x) * 4;
  }
  const std::uint8_t* pixel(int x, int y) const {
    return pixels.data() + (static_cast<size_t>(y) * width + x) * 4;
  }
};

}  // namespace fovea::render
