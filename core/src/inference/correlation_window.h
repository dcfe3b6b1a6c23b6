#pragma once
// Where a Correlation kernel reads b, shared by the FP32 and INT8 kernels. For one output row:
// the rows of b its (2r + 1)-row window covers and, for pixels whose whole window lies inside
// the image, each displacement's offset from the pixel's own position in b. For a pixel near the
// border: its displaced pixels, with a lane mask of those inside the image.

#include <cstdint>

#include "fovea/core/reference_kernels.h"

namespace fovea::inference::flow {

// Wider windows take the portable paths: the arrays below live on the stack.
inline constexpr int kMaxCorrelationSide = 33;

template <class T>
struct CorrelationRow {
  // `row` counts output rows over the batch; b is the NHWC map the window reads.
  CorrelationRow(const T* b, const reference::Nhwc& s, int r, std::int64_t row)
      : side(2 * r + 1), depth(side * side) {
    const std::int64_t n = row / s.h, h = row % s.h;
    for (int dy = -r; dy <= r; ++dy) {
      const std::int64_t hh = h + dy;
      row_ok[dy + r] = hh >= 0 && hh < s.h;
      rows[dy + r] = row_ok[dy + r] ? b + (n * s.h + hh) * s.w * s.c : b;
    }
    for (int d = 0; d < depth + kOffsetTail; ++d)
      off[d] = d < depth ? (std::int64_t{d / side - r} * s.w + (d % side - r)) * s.c : 0;
    rows_inside = h >= r && h + r < s.h;
  }

  // Pointers to the displaced pixels of displacements d .. d + lanes - 1 of pixel w, for a
  // pixel whose window may leave the image. Those past the window or outside the image point at
  // `fallback` (valid memory whose lane the caller zeroes); bit j of the result is set where
  // p[j] lies inside the image.
  unsigned border_pixels(const T* fallback, std::int64_t w, std::int64_t width, std::int64_t c,
                         int d, int lanes, const T** p) const {
    const int r = side / 2;
    unsigned inside = 0;
    for (int j = 0; j < lanes; ++j) {
      p[j] = fallback;
      if (d + j >= depth) continue;
      const int dy = (d + j) / side, dx = (d + j) % side;
      const std::int64_t x = w + dx - r;
      if (row_ok[dy] && x >= 0 && x < width) {
        p[j] = rows[dy] + x * c;
        inside |= 1u << j;
      }
    }
    return inside;
  }

  // Zeros after the `depth` offsets, so a kernel's last group of up to 16 reads real memory.
  static constexpr int kOffsetTail = 16;
  int side, depth;
  bool rows_inside;
  const T* rows[kMaxCorrelationSide];
  bool row_ok[kMaxCorrelationSide];
  std::int64_t off[kMaxCorrelationSide * kMaxCorrelationSide + kOffsetTail];
};

}  // namespace fovea::inference::flow
