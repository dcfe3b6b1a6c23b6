// Loaders of the VNNI GEMM's activation tiles (see vnni_tile.h).

#include "vnni_tile.h"

#include <algorithm>

namespace fovea::inference::vnni {
namespace {

__mmask64 first_bytes(std::int64_t n) {
  if (n <= 0) return 0;
  return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
}

// n int8 bytes to unsigned (XOR 0x80). Masked loads never touch bytes past src + n.
FOVEA_VNNI_TARGET inline void copy_flipped(const std::int8_t* src, std::int64_t n,
                                           std::uint8_t* dst) {
  for (std::int64_t i = 0; i < n; i += 64) {
    const __mmask64 mask = first_bytes(n - i);
    const __m512i v = _mm512_maskz_loadu_epi8(mask, src + i);
    _mm512_mask_storeu_epi8(dst + i, mask, _mm512_xor_si512(v, _mm512_set1_epi8(-128)));
  }
}

FOVEA_VNNI_TARGET inline void fill(std::uint8_t* dst, std::int64_t n, std::uint8_t value) {
  const __m512i v = _mm512_set1_epi8(static_cast<char>(value));
  for (std::int64_t i = 0; i < n; i += 64) _mm512_mask_storeu_epi8(dst + i, first_bytes(n - i), v);
}

FOVEA_VNNI_TARGET inline __m512i flipped(__m512i v) {
  return _mm512_xor_si512(v, _mm512_set1_epi8(-128));
}

// Bytes [offset, offset + n) of the result come from src[0, n); the others from `v`. The load's
// mask keeps it from touching any byte outside src[0, n), so the base address, which may lie
// before src, is never dereferenced (AVX-512 masked loads suppress faults on masked-out bytes).
FOVEA_VNNI_TARGET inline __m512i merge_bytes(__m512i v, const std::int8_t* src, std::int64_t n,
                                             std::int64_t offset) {
  const auto base = reinterpret_cast<std::uintptr_t>(src) - static_cast<std::uintptr_t>(offset);
  return _mm512_mask_loadu_epi8(v, first_bytes(n) << offset, reinterpret_cast<const void*>(base));
}

// Patches of `count` consecutive output pixels of one row whose windows lie wholly inside the
// input (K <= 64): one zero-masking load per window row, each masked to its own row's bytes and
// OR-ed into the patch (bytes past K stay 0, which meet zero weights). The masks also keep the
// loads, whose base addresses start before each row's bytes, from touching anything else.
template <int kRows>
FOVEA_VNNI_TARGET void interior_patches(std::uintptr_t base, std::uintptr_t step,
                                        std::uintptr_t advance, const __mmask64* masks,
                                        std::int64_t count, std::int64_t lda, std::uint8_t* dst) {
  for (std::int64_t i = 0; i < count; ++i, base += advance, dst += lda) {
    __m512i v = _mm512_maskz_loadu_epi8(masks[0], reinterpret_cast<const void*>(base));
    for (int ky = 1; ky < kRows; ++ky)
      v = _mm512_or_si512(
          v, _mm512_maskz_loadu_epi8(masks[ky], reinterpret_cast<const void*>(base + ky * step)));
    _mm512_store_si512(dst, flipped(v));
  }
}

using InteriorPatches = void (*)(std::uintptr_t, std::uintptr_t, std::uintptr_t, const __mmask64*,
                                 std::int64_t, std::int64_t, std::uint8_t*);
constexpr InteriorPatches kInteriorPatches[kMaxKernel] = {
    &interior_patches<1>, &interior_patches<2>, &interior_patches<3>, &interior_patches<4>,
    &interior_patches<5>, &interior_patches<6>, &interior_patches<7>};

}  // namespace

// Rows are written in whole 64-byte stores (lda is a multiple of 64): the micro-kernel reads
// them right away, and a load that overlaps a masked store cannot take its data from the store
// buffer. Bytes past K are 0x80, which meet zero weights.
FOVEA_VNNI_TARGET void load_pixel_rows(const void* pixel_rows, std::int64_t p, std::int64_t rows,
                                       std::int64_t lda, std::uint8_t* tile) {
  const auto& s = *static_cast<const PixelRows*>(pixel_rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int8_t* src = s.x + (p + r) * s.k;
    std::uint8_t* dst = tile + r * lda;
    std::int64_t c = 0;
    for (; c + 64 <= s.k; c += 64)
      _mm512_store_si512(dst + c, flipped(_mm512_loadu_si512(src + c)));
    if (c < s.k)
      _mm512_store_si512(dst + c, flipped(_mm512_maskz_loadu_epi8(first_bytes(s.k - c), src + c)));
  }
}

FOVEA_VNNI_TARGET void load_patches(const void* patches, std::int64_t p, std::int64_t rows,
                                    std::int64_t lda, std::uint8_t* tile) {
  const auto& source = *static_cast<const Patches*>(patches);
  // Local copies: the tile is written through a byte pointer, which may alias anything, so
  // fields read through a reference would be re-read after every store.
  const DenseConvShape s = *source.shape;
  const std::int8_t* const x = source.x;
  const std::int64_t span = s.kernel_w * s.c;  // one window row, contiguous in NHWC
  const std::int64_t k = s.kernel_h * span;
  const std::int64_t row_bytes = s.w * s.c;
  const __m512i zero_point = _mm512_set1_epi8(static_cast<char>(source.zero_point));
  __mmask64 row_masks[kMaxKernel] = {};
  if (k <= 64)
    for (int ky = 0; ky < s.kernel_h; ++ky) row_masks[ky] = first_bytes(span) << (ky * span);
  // The end of the output columns whose windows lie wholly inside the input's columns.
  const std::int64_t ox_hi =
      s.w - s.kernel_w + s.pad_left < 0
          ? 0
          : std::min<std::int64_t>(s.ow, (s.w - s.kernel_w + s.pad_left) / s.stride_w + 1);
  std::int64_t image = p / (s.oh * s.ow), oy = p / s.ow % s.oh, ox = p % s.ow;
  for (std::int64_t r = 0; r < rows;) {
    const std::int64_t iy0 = oy * s.stride_h - s.pad_top, ix0 = ox * s.stride_w - s.pad_left;
    const bool columns_inside = ix0 >= 0 && ix0 + s.kernel_w <= s.w;
    const std::int8_t* const image_x = x + image * s.h * row_bytes;
    std::uint8_t* dst = tile + r * lda;
    std::int64_t done = 1;  // pixels written in this step
    if (k <= 64 && columns_inside && iy0 >= 0 && iy0 + s.kernel_h <= s.h) {
      done = std::min(rows - r, std::max<std::int64_t>(1, ox_hi - ox));
      kInteriorPatches[s.kernel_h - 1](
          reinterpret_cast<std::uintptr_t>(image_x + iy0 * row_bytes + ix0 * s.c),
          static_cast<std::uintptr_t>(row_bytes - span),
          static_cast<std::uintptr_t>(s.stride_w * s.c), row_masks, done, lda, dst);
    } else if (k <= 64) {
      // The whole patch in one register: taps in the padding keep the zero point.
      __m512i v = zero_point;
      for (int ky = 0; ky < s.kernel_h; ++ky) {
        const std::int64_t iy = iy0 + ky;
        if (iy < 0 || iy >= s.h) continue;
        const std::int8_t* x_row = image_x + iy * row_bytes;
        for (int kx = 0; kx < s.kernel_w; ++kx) {
          const std::int64_t ix = ix0 + kx;
          if (ix >= 0 && ix < s.w) v = merge_bytes(v, x_row + ix * s.c, s.c, ky * span + kx * s.c);
        }
      }
      _mm512_store_si512(dst, flipped(v));
    } else {
      const auto padding = static_cast<std::uint8_t>(source.zero_point ^ 0x80);
      for (int ky = 0; ky < s.kernel_h; ++ky) {
        const std::int64_t iy = iy0 + ky;
        std::uint8_t* row = dst + ky * span;
        if (iy < 0 || iy >= s.h) {
          fill(row, span, padding);
          continue;
        }
        const std::int8_t* x_row = image_x + iy * row_bytes;
        if (columns_inside) {
          copy_flipped(x_row + ix0 * s.c, span, row);
          continue;
        }
        for (int kx = 0; kx < s.kernel_w; ++kx) {
          const std::int64_t ix = ix0 + kx;
          if (ix >= 0 && ix < s.w)
            copy_flipped(x_row + ix * s.c, s.c, row + kx * s.c);
          else
            fill(row + kx * s.c, s.c, padding);
        }
      }
      fill(dst + k, lda - k, 0x80);
    }
    r += done;
    ox += done;
    if (ox == s.ow) {
      ox = 0;
      if (++oy == s.oh) {
        oy = 0;
        ++image;
      }
    }
  }
}

}  // namespace fovea::inference::vnni
