#include "fovea/vision/patch_inverse_search.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace fovea::vision {

// A patch's state while its row is searched (the AVX2 path keeps a row's at once).
struct PatchInverseSearch::PatchState {
  float mean_t, mean_gx, mean_gy;
  float hxx, hxy, hyy, inv_det;
  float u0, v0, u, v;
  bool done;
};

namespace {

constexpr int kP = PatchInverseSearch::kPatchSize;
constexpr int kN = kP * kP;
// Added to the Hessian's diagonal so that a flat patch gives a small step, not a division by
// zero; intensities are 0..255, so real texture dwarfs it.
constexpr float kHessianFloor = 1e-3f;
// A step smaller than this (in pixels, squared) ends a patch's iterations early.
constexpr float kConverged = 1e-4f;

// Top-left corners of patches every `stride` px along a side of `size` px, the last moved in
// to end at the side's far edge.
void grid(int size, int stride, std::vector<int>& corners) {
  corners.clear();
  for (int at = 0; at + kP <= size; at += stride) corners.push_back(at);
  if (corners.back() != size - kP) corners.push_back(size - kP);
}

// Frame 2 is sampled from a copy with this many replicated pixels around it. A window that
// leaves the frame then reads the frame's edge, as per-pixel clamping would, and a window
// further out than this reads only the edge either way, so clamping its corner to the margin
// changes nothing: patches at the border keep tracking motion that leaves the frame.
constexpr int kMargin = kP + 2;

struct Frames {
  const float* level1;
  const float* level2;  // padded by kMargin on every side; row stride padded_width
  const float* grad_x;
  const float* grad_y;
  int width, height, padded_width, padded_height;
};

// An 8x8 window of `image` (row stride `width`) at (ix + fx, iy + fy), fx and fy in [0, 1),
// sampled bilinearly; the window and its one-pixel margin are inside the image.
[[gnu::always_inline]] inline void sample(const float* image, int width, int ix, int iy, float fx,
                                          float fy, float* out) {
  const float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
  const float* row = image + static_cast<std::ptrdiff_t>(iy) * width + ix;
  for (int r = 0; r < kP; ++r, row += width) {
    const float* below = row + width;
    for (int c = 0; c < kP; ++c)
      out[r * kP + c] = w00 * row[c] + w01 * row[c + 1] + w10 * below[c] + w11 * below[c + 1];
  }
}

// Where a patch at (x, y) moved by (u, v) samples padded frame 2: the window clamped inside it.
[[gnu::always_inline]] inline void place(const Frames& f, int x, int y, float u, float v, int& ix,
                                         int& iy, float& fx, float& fy) {
  const float sx = std::clamp(float(x + kMargin) + u, 0.0f, float(f.padded_width - 1 - kP));
  const float sy = std::clamp(float(y + kMargin) + v, 0.0f, float(f.padded_height - 1 - kP));
  ix = std::min(static_cast<int>(sx), f.padded_width - 2 - kP);
  iy = std::min(static_cast<int>(sy), f.padded_height - 2 - kP);
  fx = sx - float(ix);
  fy = sy - float(iy);
}

// The sum of 8 lanes. Sums below are kept in 8 lanes, one per patch column, and added up once:
// a plain running sum is one dependent chain the compiler may not reorder (no -ffast-math), so
// it would not be vectorised.
[[gnu::always_inline]] inline float lane_sum(const float* lanes) {
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
         ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

// Step 2 (patch_inverse_search.h) for the patches of grid rows [row_begin, row_end): the
// portable code, and the reference for the AVX2 path below.
void search_rows_portable(const Frames& f, const int* xs, int columns, const int* ys, int row_begin,
                          int row_end, int iterations, float* flow_io) {
  alignas(32) float t[kN], gx[kN], gy[kN], warped[kN];
  alignas(32) float l0[kP], l1[kP], l2[kP];
  for (int pr = row_begin; pr < row_end; ++pr) {
    for (int pc = 0; pc < columns; ++pc) {
      const int x = xs[pc], y = ys[pr];
      for (int c = 0; c < kP; ++c) l0[c] = l1[c] = l2[c] = 0;
      for (int r = 0; r < kP; ++r) {
        const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(y + r) * f.width + x;
        for (int c = 0; c < kP; ++c) {
          t[r * kP + c] = f.level1[at + c];
          gx[r * kP + c] = f.grad_x[at + c];
          gy[r * kP + c] = f.grad_y[at + c];
          l0[c] += t[r * kP + c];
          l1[c] += gx[r * kP + c];
          l2[c] += gy[r * kP + c];
        }
      }
      const float mean_t = lane_sum(l0) / kN, mean_gx = lane_sum(l1) / kN,
                  mean_gy = lane_sum(l2) / kN;
      for (int c = 0; c < kP; ++c) l0[c] = l1[c] = l2[c] = 0;
      for (int r = 0; r < kP; ++r)
        for (int c = 0; c < kP; ++c) {
          const int i = r * kP + c;
          t[i] -= mean_t;
          gx[i] -= mean_gx;
          gy[i] -= mean_gy;
          l0[c] += gx[i] * gx[i];
          l1[c] += gx[i] * gy[i];
          l2[c] += gy[i] * gy[i];
        }
      const float hxx = lane_sum(l0) + kHessianFloor, hxy = lane_sum(l1),
                  hyy = lane_sum(l2) + kHessianFloor;
      const float inv_det = 1.0f / (hxx * hyy - hxy * hxy);

      const std::size_t patch = static_cast<std::size_t>(pr) * columns + pc;
      const float u0 = flow_io[2 * patch], v0 = flow_io[2 * patch + 1];
      float u = u0, v = v0;
      int ix, iy;
      float fx, fy;
      for (int it = 0; it < iterations; ++it) {
        place(f, x, y, u, v, ix, iy, fx, fy);
        sample(f.level2, f.padded_width, ix, iy, fx, fy, warped);
        // The gradients sum to zero, so the warped patch's mean drops out of b: mean
        // normalisation needs no pass over it.
        for (int c = 0; c < kP; ++c) l0[c] = l1[c] = 0;
        for (int r = 0; r < kP; ++r)
          for (int c = 0; c < kP; ++c) {
            const int i = r * kP + c;
            const float e = warped[i] - t[i];
            l0[c] += gx[i] * e;
            l1[c] += gy[i] * e;
          }
        const float bx = lane_sum(l0), by = lane_sum(l1);
        const float du = (hyy * bx - hxy * by) * inv_det;
        const float dv = (hxx * by - hxy * bx) * inv_det;
        u -= du;
        v -= dv;
        if (du * du + dv * dv < kConverged) break;
      }
      if ((u - u0) * (u - u0) + (v - v0) * (v - v0) > float(kP * kP)) u = u0, v = v0;
      flow_io[2 * patch] = u;
      flow_io[2 * patch + 1] = v;
    }
  }
}

#if defined(__x86_64__)
#define FOVEA_AVX2 __attribute__((target("avx2,fma")))

FOVEA_AVX2 inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// The 8x8 window of padded frame 2 at (ix + fx, iy + fy), a row per register.
FOVEA_AVX2 inline void sample_avx2(const float* image, int width, int ix, int iy, float fx,
                                   float fy, __m256* out) {
  const __m256 w00 = _mm256_set1_ps((1 - fx) * (1 - fy)), w01 = _mm256_set1_ps(fx * (1 - fy));
  const __m256 w10 = _mm256_set1_ps((1 - fx) * fy), w11 = _mm256_set1_ps(fx * fy);
  const float* row = image + static_cast<std::ptrdiff_t>(iy) * width + ix;
  __m256 a = _mm256_loadu_ps(row), a1 = _mm256_loadu_ps(row + 1);
  for (int r = 0; r < kP; ++r) {
    row += width;
    const __m256 b = _mm256_loadu_ps(row), b1 = _mm256_loadu_ps(row + 1);
    out[r] = _mm256_fmadd_ps(
        w11, b1, _mm256_fmadd_ps(w10, b, _mm256_fmadd_ps(w01, a1, _mm256_mul_ps(w00, a))));
    a = b;
    a1 = b1;
  }
}

using PatchState = PatchInverseSearch::PatchState;

// Loads a patch's template and gradients less their means, a row per register.
FOVEA_AVX2 inline void load_patch(const Frames& f, int x, int y, const PatchState& p, __m256* t,
                                  __m256* gx, __m256* gy) {
  const __m256 mt = _mm256_set1_ps(p.mean_t), mgx = _mm256_set1_ps(p.mean_gx),
               mgy = _mm256_set1_ps(p.mean_gy);
  for (int r = 0; r < kP; ++r) {
    const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(y + r) * f.width + x;
    t[r] = _mm256_sub_ps(_mm256_loadu_ps(f.level1 + at), mt);
    gx[r] = _mm256_sub_ps(_mm256_loadu_ps(f.grad_x + at), mgx);
    gy[r] = _mm256_sub_ps(_mm256_loadu_ps(f.grad_y + at), mgy);
  }
}

// search_rows_portable's arithmetic (but for the order of the sums, so results differ from the
// portable path in the last bits), with the loops turned: each Gauss-Newton step goes over the
// whole row of patches before the next, so consecutive patches' independent steps overlap in
// the CPU instead of each waiting out its own chain of sums.
FOVEA_AVX2 void search_rows_avx2(const Frames& f, const int* xs, int columns, const int* ys,
                                 int row_begin, int row_end, int iterations, float* flow_io,
                                 PatchState* all_states) {
  __m256 t[kP], gx[kP], gy[kP], warped[kP];
  for (int pr = row_begin; pr < row_end; ++pr) {
    const int y = ys[pr];
    float* row_flow = flow_io + 2 * static_cast<std::size_t>(pr) * columns;
    PatchState* states = all_states + static_cast<std::size_t>(pr) * columns;
    for (int pc = 0; pc < columns; ++pc) {
      PatchState& p = states[pc];
      const int x = xs[pc];
      __m256 st = _mm256_setzero_ps(), sx = st, sy = st, sxx = st, sxy = st, syy = st;
      for (int r = 0; r < kP; ++r) {
        const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(y + r) * f.width + x;
        const __m256 gxr = _mm256_loadu_ps(f.grad_x + at), gyr = _mm256_loadu_ps(f.grad_y + at);
        st = _mm256_add_ps(st, _mm256_loadu_ps(f.level1 + at));
        sx = _mm256_add_ps(sx, gxr);
        sy = _mm256_add_ps(sy, gyr);
        sxx = _mm256_fmadd_ps(gxr, gxr, sxx);
        sxy = _mm256_fmadd_ps(gxr, gyr, sxy);
        syy = _mm256_fmadd_ps(gyr, gyr, syy);
      }
      p.mean_t = hsum(st) / kN;
      p.mean_gx = hsum(sx) / kN;
      p.mean_gy = hsum(sy) / kN;
      // Sums of products of the mean-free gradients: sum(a b) - n mean(a) mean(b).
      p.hxx = hsum(sxx) - kN * p.mean_gx * p.mean_gx + kHessianFloor;
      p.hxy = hsum(sxy) - kN * p.mean_gx * p.mean_gy;
      p.hyy = hsum(syy) - kN * p.mean_gy * p.mean_gy + kHessianFloor;
      p.inv_det = 1.0f / (p.hxx * p.hyy - p.hxy * p.hxy);
      p.u0 = p.u = row_flow[2 * pc];
      p.v0 = p.v = row_flow[2 * pc + 1];
      p.done = false;
    }
    for (int it = 0; it < iterations; ++it) {
      for (int pc = 0; pc < columns; ++pc) {
        PatchState& p = states[pc];
        if (p.done) continue;
        const int x = xs[pc];
        load_patch(f, x, y, p, t, gx, gy);
        int ix, iy;
        float fx, fy;
        place(f, x, y, p.u, p.v, ix, iy, fx, fy);
        sample_avx2(f.level2, f.padded_width, ix, iy, fx, fy, warped);
        // The gradients sum to zero, so the warped patch's mean drops out of b: mean
        // normalisation needs no pass over it.
        __m256 bx0 = _mm256_setzero_ps(), bx1 = bx0, by0 = bx0, by1 = bx0;
        for (int r = 0; r < kP; r += 2) {
          const __m256 e0 = _mm256_sub_ps(warped[r], t[r]);
          const __m256 e1 = _mm256_sub_ps(warped[r + 1], t[r + 1]);
          bx0 = _mm256_fmadd_ps(gx[r], e0, bx0);
          by0 = _mm256_fmadd_ps(gy[r], e0, by0);
          bx1 = _mm256_fmadd_ps(gx[r + 1], e1, bx1);
          by1 = _mm256_fmadd_ps(gy[r + 1], e1, by1);
        }
        const float bx = hsum(_mm256_add_ps(bx0, bx1)), by = hsum(_mm256_add_ps(by0, by1));
        const float du = (p.hyy * bx - p.hxy * by) * p.inv_det;
        const float dv = (p.hxx * by - p.hxy * bx) * p.inv_det;
        p.u -= du;
        p.v -= dv;
        if (du * du + dv * dv < kConverged) p.done = true;
      }
    }
    for (int pc = 0; pc < columns; ++pc) {
      PatchState& p = states[pc];
      if ((p.u - p.u0) * (p.u - p.u0) + (p.v - p.v0) * (p.v - p.v0) > float(kP * kP))
        p.u = p.u0, p.v = p.v0;
      row_flow[2 * pc] = p.u;
      row_flow[2 * pc + 1] = p.v;
    }
  }
}

bool has_avx2() {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
}
#endif

// `states`: room for every patch's state (the AVX2 path's; the portable one needs none).
void search_rows(bool simd, const Frames& f, const int* xs, int columns, const int* ys,
                 int row_begin, int row_end, int iterations, float* flow_io, PatchState* states) {
#if defined(__x86_64__)
  if (simd && has_avx2())
    return search_rows_avx2(f, xs, columns, ys, row_begin, row_end, iterations, flow_io, states);
#endif
  search_rows_portable(f, xs, columns, ys, row_begin, row_end, iterations, flow_io);
}

// For each pixel along a side, how many grid patches cover it.
void coverage(const std::vector<int>& corners, int size, std::vector<float>& count) {
  count.assign(static_cast<std::size_t>(size), 0.0f);
  for (int corner : corners)
    for (int at = corner; at < corner + kP; ++at) count[static_cast<std::size_t>(at)] += 1.0f;
}

// Per-pixel sums of densification: weight, weight * u, weight * v.
struct Sums {
  float* w;
  float* u;
  float* v;
  int width;
};

// Adds one row of patches (top edge at y, flows [columns][2]) to the sums: step 3's weights,
// from each patch's final flow, times its flow. The weights use raw intensities, as DIS's do: a
// patch that matches only after removing a brightness change still counts less where the change
// is. Computed here rather than kept from the search, so no per-patch weights are stored (at
// 1024x436 they were 1.8 MB).
void accumulate_row_portable(const Frames& f, const Sums& sums, const int* xs, int columns, int y,
                             const float* flows) {
  alignas(32) float warped[kN];
  for (int pc = 0; pc < columns; ++pc) {
    const int x = xs[pc];
    const float u = flows[2 * pc], v = flows[2 * pc + 1];
    int ix, iy;
    float fx, fy;
    place(f, x, y, u, v, ix, iy, fx, fy);
    sample(f.level2, f.padded_width, ix, iy, fx, fy, warped);
    for (int r = 0; r < kP; ++r) {
      const float* row1 = f.level1 + static_cast<std::ptrdiff_t>(y + r) * f.width + x;
      const std::size_t at = static_cast<std::size_t>(y + r) * sums.width + x;
      for (int c = 0; c < kP; ++c) {
        const float w = 1.0f / std::max(1.0f, std::fabs(warped[r * kP + c] - row1[c]));
        sums.w[at + c] += w;
        sums.u[at + c] += w * u;
        sums.v[at + c] += w * v;
      }
    }
  }
}

#if defined(__x86_64__)
FOVEA_AVX2 void accumulate_row_avx2(const Frames& f, const Sums& sums, const int* xs, int columns,
                                    int y, const float* flows) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 warped[kP];
  for (int pc = 0; pc < columns; ++pc) {
    const int x = xs[pc];
    const __m256 u = _mm256_set1_ps(flows[2 * pc]), v = _mm256_set1_ps(flows[2 * pc + 1]);
    int ix, iy;
    float fx, fy;
    place(f, x, y, flows[2 * pc], flows[2 * pc + 1], ix, iy, fx, fy);
    sample_avx2(f.level2, f.padded_width, ix, iy, fx, fy, warped);
    for (int r = 0; r < kP; ++r) {
      const __m256 row1 =
          _mm256_loadu_ps(f.level1 + static_cast<std::ptrdiff_t>(y + r) * f.width + x);
      const __m256 diff = _mm256_and_ps(_mm256_sub_ps(warped[r], row1), abs_mask);
      const __m256 w = _mm256_div_ps(one, _mm256_max_ps(one, diff));
      const std::size_t at = static_cast<std::size_t>(y + r) * sums.width + x;
      _mm256_storeu_ps(sums.w + at, _mm256_add_ps(_mm256_loadu_ps(sums.w + at), w));
      _mm256_storeu_ps(sums.u + at, _mm256_fmadd_ps(w, u, _mm256_loadu_ps(sums.u + at)));
      _mm256_storeu_ps(sums.v + at, _mm256_fmadd_ps(w, v, _mm256_loadu_ps(sums.v + at)));
    }
  }
}
#endif

void accumulate_row(bool simd, const Frames& f, const Sums& sums, const int* xs, int columns, int y,
                    const float* flows) {
#if defined(__x86_64__)
  if (simd && has_avx2()) return accumulate_row_avx2(f, sums, xs, columns, y, flows);
#endif
  accumulate_row_portable(f, sums, xs, columns, y, flows);
}

}  // namespace

PatchInverseSearch::PatchInverseSearch(PatchSearchOptions options) : options_(options) {}
PatchInverseSearch::~PatchInverseSearch() = default;
PatchInverseSearch::PatchInverseSearch(PatchInverseSearch&&) noexcept = default;
PatchInverseSearch& PatchInverseSearch::operator=(PatchInverseSearch&&) noexcept = default;

namespace {
void run_parallel(const ParallelFor& parallel_for, int count,
                  const std::function<void(int, int)>& body) {
  if (count <= 0) return;
  if (parallel_for) return parallel_for(count, body);
  cv::parallel_for_(cv::Range(0, count),
                    [&](const cv::Range& range) { body(range.start, range.end); });
}
}  // namespace

Status PatchInverseSearch::refine(const cv::Mat& frame1, const cv::Mat& frame2, cv::Mat& flow,
                                  cv::Mat* confidence) {
  const auto invalid = [](const std::string& what) {
    return Status(ErrorCode::kInvalidArgument, "patch inverse search: " + what);
  };
  if (options_.patch_stride < 1 || options_.patch_stride > kP)
    return invalid("patch stride must be 1.." + std::to_string(kP) + ", not " +
                   std::to_string(options_.patch_stride));
  if (options_.iterations < 0 || options_.iterations > 256)
    return invalid("iterations must be 0..256, not " + std::to_string(options_.iterations));
  if (frame1.empty() || frame1.type() != CV_8UC1 || frame2.type() != CV_8UC1 ||
      frame1.size() != frame2.size())
    return invalid("frames must be two non-empty 8-bit gray images of one size");
  if (flow.type() != CV_32FC2 || flow.size() != frame1.size())
    return invalid("the flow must be CV_32FC2 of the frames' size (" + std::to_string(frame1.cols) +
                   "x" + std::to_string(frame1.rows) + ")");
  const int width = frame1.cols, height = frame1.rows;
  if (width < kP + 2 || height < kP + 2) {
    if (confidence != nullptr) confidence->release();
    return Status::ok();
  }
  // An allocation that fails (frames up to 16384 px a side take ~7 GB of buffers) is an error,
  // and leaves `flow` as it was: only the last step, which allocates nothing, writes it.
  try {
    return refine_valid(frame1, frame2, flow, confidence);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "patch inverse search: out of memory for " +
                                               std::to_string(width) + "x" +
                                               std::to_string(height) + " frames");
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kInternal, std::string("patch inverse search: ") + error.what());
  }
}

Status PatchInverseSearch::refine_valid(const cv::Mat& frame1, const cv::Mat& frame2, cv::Mat& flow,
                                        cv::Mat* confidence) {
  const int width = frame1.cols, height = frame1.rows;
  frame1.convertTo(level1_, CV_32F);
  cv::copyMakeBorder(frame2, padded2_, kMargin, kMargin, kMargin, kMargin, cv::BORDER_REPLICATE);
  padded2_.convertTo(level2_, CV_32F);
  cv::Sobel(frame1, grad_x_, CV_32F, 1, 0, 3, 1.0 / 8, 0, cv::BORDER_REPLICATE);
  cv::Sobel(frame1, grad_y_, CV_32F, 0, 1, 3, 1.0 / 8, 0, cv::BORDER_REPLICATE);
  grid(width, options_.patch_stride, patch_x_);
  grid(height, options_.patch_stride, patch_y_);
  const int columns = static_cast<int>(patch_x_.size());
  const int rows = static_cast<int>(patch_y_.size());
  const std::size_t patches = static_cast<std::size_t>(rows) * columns;
  patch_flow_.resize(patches * 2);
  // Allocated here, not on the worker threads, where a failure could not be reported.
  patch_state_.resize(patches);

  // Each patch starts from the flow at its centre.
  for (int pr = 0; pr < rows; ++pr)
    for (int pc = 0; pc < columns; ++pc) {
      const auto start = flow.at<cv::Vec2f>(patch_y_[pr] + kP / 2, patch_x_[pc] + kP / 2);
      const std::size_t patch = static_cast<std::size_t>(pr) * columns + pc;
      patch_flow_[2 * patch] = start[0];
      patch_flow_[2 * patch + 1] = start[1];
    }

  const Frames frames{level1_.ptr<float>(),
                      level2_.ptr<float>(),
                      grad_x_.ptr<float>(),
                      grad_y_.ptr<float>(),
                      width,
                      height,
                      level2_.cols,
                      level2_.rows};
  run_parallel(parallel_for_, rows, [&](int begin, int end) {
    search_rows(options_.simd, frames, patch_x_.data(), columns, patch_y_.data(), begin, end,
                options_.iterations, patch_flow_.data(), patch_state_.data());
  });

  // Densification, patch by patch into per-pixel sums. Patch rows `step` apart do not overlap
  // (step = 2 at stride 4), so rows 0, step, 2 step... go in parallel, then rows 1, 1 + step...
  // and so on. The last row, moved in to touch the bottom edge, may overlap any: it goes alone.
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  sum_w_.assign(pixels, 0.0f);
  sum_u_.assign(pixels, 0.0f);
  sum_v_.assign(pixels, 0.0f);
  const Sums sums{sum_w_.data(), sum_u_.data(), sum_v_.data(), width};
  const bool last_moved_in =
      rows > 1 && patch_y_[rows - 1] - patch_y_[rows - 2] != options_.patch_stride;
  const int regular_rows = last_moved_in ? rows - 1 : rows;
  const int step = (kP + options_.patch_stride - 1) / options_.patch_stride;
  for (int phase = 0; phase < step; ++phase) {
    const int count = (regular_rows - phase + step - 1) / step;
    run_parallel(parallel_for_, count, [&](int begin, int end) {
      for (int i = begin; i < end; ++i)
        accumulate_row(options_.simd, frames, sums, patch_x_.data(), columns,
                       patch_y_[phase + i * step],
                       patch_flow_.data() + 2 * std::size_t(phase + i * step) * columns);
    });
  }
  if (last_moved_in)
    accumulate_row(options_.simd, frames, sums, patch_x_.data(), columns, patch_y_[rows - 1],
                   patch_flow_.data() + 2 * std::size_t(rows - 1) * columns);
  // Confidence: the mean of the covering patches' weights, each in (0, 1].
  if (confidence != nullptr) {
    confidence->create(height, width, CV_32FC1);
    coverage(patch_x_, width, cover_x_);
    coverage(patch_y_, height, cover_y_);
  }
  run_parallel(parallel_for_, height, [&](int begin, int end) {
    for (int y = begin; y < end; ++y) {
      float* out = flow.ptr<float>(y);
      float* trust = confidence != nullptr ? confidence->ptr<float>(y) : nullptr;
      const std::size_t at = static_cast<std::size_t>(y) * width;
      for (int x = 0; x < width; ++x) {
        const float inv = 1.0f / sum_w_[at + x];
        out[2 * x] = sum_u_[at + x] * inv;
        out[2 * x + 1] = sum_v_[at + x] * inv;
        if (trust != nullptr) trust[x] = sum_w_[at + x] / (cover_x_[x] * cover_y_[y]);
      }
    }
  });
  return Status::ok();
}

}  // namespace fovea::vision
