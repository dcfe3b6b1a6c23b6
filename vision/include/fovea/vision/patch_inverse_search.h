#pragma once
// DIS's patch inverse search (Kroeger et al., "Fast Optical Flow using Dense Inverse Search",
// ECCV 2016) at one pyramid level, started from a given dense flow instead of from the level
// above. fovea's learned flow uses it to refine the network's quarter-resolution flow at half the
// frame's resolution (learned_optical_flow.h, FlowRefinement::kPatchSearch): the network finds
// the motion, the search recovers the sub-pixel detail that the 8-bit network loses.
//
// One refine() call:
//   1. 8x8 patches of frame 1 on a grid of `patch_stride` (the last row and column of patches
//      moved in to touch the frame's far edges, so every pixel is covered), each with its
//      intensities and gradients (Sobel / 8) less their means: DIS's mean-normalised SSD, which
//      ignores a change of brightness between the frames.
//   2. Each patch starts from the flow at its centre and takes `iterations` inverse-compositional
//      Gauss-Newton steps on the translation that moves it onto frame 2 (bilinear sampling, one
//      2x2 Hessian per patch, computed once). A patch that ends more than a patch size away from
//      its start has lost its match (a textureless patch, an occlusion) and keeps its start.
//   3. Densification: each pixel's flow is the average of the patches covering it, each weighted
//      by 1 / max(1, |frame2(x + u) - frame1(x)|) with its own u: patches that do not match at
//      that pixel (motion boundaries) count less.
//
// Frame 2 is read as if extended by its edge pixels, so patches at the border follow motion that
// leaves the frame. Frames smaller than 10 px a side leave the flow as it is (no patch and its
// one-pixel bilinear margin fits). Buffers are kept between calls: a stream of same-size frames
// allocates nothing after the first.

#include <functional>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::vision {

struct PatchSearchOptions {
  int patch_stride = 4;  // DIS's default at every preset: patches overlap by half
  // Gauss-Newton steps per patch. DIS takes 12 (ultrafast) or 16 (fast) from a coarse level's
  // estimate; from the network's flow, 2 gave the lowest EPE on fovea's held-out synthetic
  // pairs (1: 2.690, 2: 2.659, 3: 2.674, 8: 2.690 px; models/flow/README.md), and cost least.
  int iterations = 2;
  // false: the portable code even where the CPU has AVX2 and FMA (tests compare the two; they
  // differ only in the order of sums).
  bool simd = true;
};

// Runs body(begin, end) over sub-ranges that together cover [0, count), on any threads.
using ParallelFor = std::function<void(int count, const std::function<void(int, int)>& body)>;

class PatchInverseSearch {
 public:
  static constexpr int kPatchSize = 8;

  explicit PatchInverseSearch(PatchSearchOptions options = {});
  ~PatchInverseSearch();
  PatchInverseSearch(PatchInverseSearch&&) noexcept;
  PatchInverseSearch& operator=(PatchInverseSearch&&) noexcept;

  struct PatchState;  // defined in patch_inverse_search.cpp

  // frame1, frame2: CV_8UC1, the same size; flow: CV_32FC2 of that size, frame 1 -> frame 2 in
  // pixels, refined in place. Anything else is kInvalidArgument, and an allocation that fails
  // kOutOfMemory; both leave `flow` untouched.
  // With `confidence`, also a CV_32FC1 of the frames' size in (0, 1]: the mean densification
  // weight of the patches covering each pixel, 1 where every patch matches frame 2 there to
  // within one grey level, 1/d where they miss by d levels (occlusions, motion boundaries,
  // flow the search could not fix). Released when the frames are too small to search.
  Status refine(const cv::Mat& frame1, const cv::Mat& frame2, cv::Mat& flow,
                cv::Mat* confidence = nullptr);

  const PatchSearchOptions& options() const noexcept { return options_; }

  // Where the work runs: by default OpenCV's threads (cv::parallel_for_). LearnedOpticalFlow
  // gives the inference core's thread pool instead, so that one set of threads serves the
  // network and its refinement and neither pool spins while the other works.
  void set_parallel_for(ParallelFor parallel_for) { parallel_for_ = std::move(parallel_for); }

 private:
  Status refine_valid(const cv::Mat& frame1, const cv::Mat& frame2, cv::Mat& flow,
                      cv::Mat* confidence);

  PatchSearchOptions options_;
  ParallelFor parallel_for_;  // empty: cv::parallel_for_

  // Float copies of the frames (frame 2 with a replicated margin) and frame 1's gradient.
  cv::Mat level1_, padded2_, level2_, grad_x_, grad_y_;
  std::vector<int> patch_x_, patch_y_;        // the grid's top-left corners
  std::vector<float> patch_flow_;             // [patches][2]
  std::vector<PatchState> patch_state_;       // [patches]: the AVX2 path's per-patch state
  std::vector<float> sum_w_, sum_u_, sum_v_;  // per pixel: densification's weighted sums
  std::vector<float> cover_x_, cover_y_;      // patches covering each column / row
};

}  // namespace fovea::vision
