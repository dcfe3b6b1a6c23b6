#pragma once
// fovea's learned optical flow (a compact PWC-Net, models/flow/README.md) on the inference core,
// behind the OpticalFlow interface, refined by DIS's patch inverse search at half the frame's
// size (the default, FlowRefinement::kPatchSearch) or as Options::refine says.
//
// The model contract (models/flow/export_fvm.py): one input `pair` [1,H,W,3] float, H and W
// multiples of 32, holding (grey frame 1, grey frame 2, 0) in [0,1]; one output `flow`
// [1,H/4,W/4,2] float, (dx, dy) in input pixels. FP32 and INT8 files (fovea-quantize keeps the
// float input and output) both meet it.
//
// Per pair: frames to 8-bit grey, both resized to W x H (bilinear, half-pixel centres, as in
// training), packed as (g1/255, g2/255, 0), run, and the flow resized bilinearly to the frame and
// scaled by frame_w/W and frame_h/H. Any frame size works (min_side() is 32), but the aspect
// ratio is not kept: frames far from the model's W:H are stretched. Every buffer but the
// returned flow is allocated once and reused while the frame size stays the same.
//
// Threads: with its own inference context, set_threads(n) runs the network on n threads; the
// first run at a new count compiles the model again for a context of that many threads (both
// are kept, so alternating counts, as `fovea-flow eval` does, costs nothing after that).
// set_threads(0) goes back to Options::threads. With a shared context the context's threads are
// used and set_threads only sets OpenCV's count for the resize and the DIS refinement (set for
// the call, restored after: process-wide, see dis_optical_flow.h). The patch inverse search runs
// on the network's threads (the inference context's pool), not OpenCV's: two pools on two cores
// would each spin while the other works (docs/flow.md measured the cost at 1-2 ms a pair).
//
// Refinement: with FlowRefinement::kDisUltrafast or kDisFast, the network's flow is the initial
// flow of OpenCV DIS at full resolution (cv::DISOpticalFlow::calc reads a same-size CV_32FC2 flow
// argument as its start). OpenCV uses it only as a candidate: DIS still starts from zero at its
// coarsest pyramid level, and at every level each patch takes the initial flow (scaled to the
// level) instead of DIS's own coarse-to-fine estimate only where it matches better (lower patch
// SSD), then refines it by gradient descent (OpenCV 4.6's dis_flow.cpp, "temporal candidates";
// tested in learned_optical_flow_test.cpp). So the hybrid keeps DIS's detail and can follow motions
// DIS alone loses, but only where the network's vector is close enough for patch matching to prefer
// it; a poor network flow changes little.
//
// FlowRefinement::kVariational instead keeps the network's flow as the estimate and polishes it
// where it is: OpenCV's variational refinement (cv::VariationalRefinement: brightness and
// gradient constancy with a smoothness term, the step DIS runs after its patch search at every
// level) at a quarter of the frame's size, from the network's flow, with DIS fast's settings
// (5 fixed-point iterations of 5 SOR sweeps, alpha 20, delta 5, gamma 10). It sharpens sub-pixel
// detail and motion edges without DIS's coarse-to-fine search, so it cannot swap a large motion
// the network found for DIS's own; it adds about 2.8 ms at 1024x436 (docs/flow.md).
//
// FlowRefinement::kPatchSearch is the learned-classical hybrid fovea ships: the network's flow,
// resized to half the frame, starts DIS's patch inverse search at that one level
// (patch_inverse_search.h: 8x8 patches every 4 px, 8 Gauss-Newton steps each, then
// densification). The network supplies what DIS's coarse-to-fine pyramid gets wrong (large
// motions, small fast objects) and the search what the network's 1/4-resolution, 8-bit output
// lacks (sub-pixel detail at half resolution); no coarser level is searched, so nothing the
// network found is replaced by a worse coarse estimate. kPatchSearchVariational adds the
// variational refinement above at a quarter of the frame, from the searched flow. Both fill
// FlowField::confidence with the search's (patch_inverse_search.h), resized to the frame: how
// well frame 2 matches frame 1 moved by the flow, low at occlusions and unfixed errors.

#include <cstdint>
#include <memory>
#include <string>

#include "fovea/core/compiled_model.h"
#include "fovea/vision/optical_flow.h"

namespace fovea::vision {

enum class FlowRefinement {
  kNone,          // the network's flow as it is
  kDisUltrafast,  // then OpenCV DIS, ultrafast preset, started from it
  kDisFast,       // then OpenCV DIS, fast preset, started from it
  kVariational,   // then OpenCV's variational refinement of it at a quarter of the frame's size
  kPatchSearch,   // then DIS's patch inverse search, started from it, at half the frame's size
  kPatchSearchVariational,  // kPatchSearch, then the variational refinement at a quarter
};

class LearnedOpticalFlow final : public OpticalFlow {
 public:
  struct Options {
    std::string name = "fovea_flow";  // the row in tables: "fovea_fp32", "fovea_int8", ...
    int threads = 1;                  // inference threads when set_threads() was given 0
    // Share a context (its budget, arena and thread pool) with the process's other models. It
    // must outlive this object. Null: the flow makes its own, capped at `budget_bytes`.
    InferenceContext* context = nullptr;
    std::int64_t budget_bytes = std::int64_t{512} << 20;
    Int8Kernels int8_kernels = Int8Kernels::kFovea;        // for its own context
    FlowRefinement refine = FlowRefinement::kPatchSearch;  // fovea's flow as it ships
    // Its own context's adaptive threading (InferenceContext::set_adaptive_threads): on, so a
    // busy machine costs a run alone, not a stalled pool. Benchmarks that report N-thread
    // times turn it off.
    bool adaptive_threads = true;
  };

  // Loads the .fvm at `path` and checks the contract above. A missing file is kNotFound, a
  // damaged one kCorruptData, a model of another shape (a classifier, an input size not a
  // multiple of 32) kInvalidArgument; each message names the file and the problem.
  static Result<std::unique_ptr<LearnedOpticalFlow>> load(const std::string& path,
                                                          const Options& options);
  // The same for a model already in memory; `source` names it in messages.
  static Result<std::unique_ptr<LearnedOpticalFlow>> create(std::shared_ptr<const Model> model,
                                                            const Options& options,
                                                            const std::string& source = "model");
  ~LearnedOpticalFlow() override;
  LearnedOpticalFlow(const LearnedOpticalFlow&) = delete;
  LearnedOpticalFlow& operator=(const LearnedOpticalFlow&) = delete;

  std::string name() const override;
  int min_side() const noexcept override { return 32; }
  // The network's input size.
  // Whether the latest compute() ran the network on the inference pool; false when adaptive
  // threading (Options::adaptive_threads) found the pool's workers without cores and ran it on
  // the caller's thread, or with one thread.
  bool last_run_used_pool() const noexcept;
  int model_width() const noexcept;
  int model_height() const noexcept;

 protected:
  Result<FlowField> compute_valid(const cv::Mat& frame1, const cv::Mat& frame2) override;

 private:
  struct State;
  explicit LearnedOpticalFlow(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The contract check alone, for tools that inspect a model: OK when `model` takes one
// [1,H,W,3] float input (H, W multiples of 32) and gives one [1,H/4,W/4,2] float output.
Status check_flow_model(const Model& model);

}  // namespace fovea::vision
