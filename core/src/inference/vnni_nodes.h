#pragma once
// fovea's own INT8 kernels on AVX-512 VNNI, for the nodes of MobileNet-like networks: 1x1
// convolutions, fully connected layers and small dense convolutions such as the stem (a GEMM on
// vpdpbusd, vnni_gemm.h, over pixels or window patches, vnni_tile.h) and 3x3 depthwise
// convolutions (vnni_depthwise.h). Same semantics as XNNPACK's qc8 and
// reference::conv2d_qs8, bit for bit (docs/int8-kernels.md).
//
// Memory: packed weights and biases come from the MemoryBudget given in the options
// (packed_weights), per-thread activation tiles too (scratch); prepare() allocates them and
// release() frees them. bind() and run() allocate nothing, neither from the budget nor from the
// heap. Depthwise needs no indirection buffer: it reads its input directly.
//
// Threads: the output is split into as many slices as fovea has threads (pixels or rows;
// output-channel chunks for a single pixel), run as tasks on fovea's pthreadpool.

#include <memory>

#include "fovea/core/memory_budget.h"
#include "node_kernel.h"

namespace fovea::inference {

struct VnniKernelOptions {
  MemoryBudget* budget = nullptr;  // where packed weights and tiles go; required
  BudgetOwner owner = -1;
  int threads = 1;  // fovea's thread count: the number of slices run in parallel
};

// Whether this CPU runs the kernels (AVX-512 F/BW/VL and VNNI).
bool vnni_kernels_supported();

// A kernel for `node`, or an empty pointer (in an ok Result) when it does not take the node:
// not an INT8 fully connected layer, dense convolution (one group, dilation 1, kernel up to 7x7
// with KH * KW * C <= 1280) or 3x3 depthwise convolution (multiplier 1, dilation 1, stride 1 or
// 2) with per-tensor activations and symmetric weights; or this CPU has no VNNI. Errors only for
// real failures.
Result<std::unique_ptr<NodeKernel>> make_vnni_node_kernel(const ModelGraph& graph,
                                                          const GraphNode& node,
                                                          const VnniKernelOptions& options);

}  // namespace fovea::inference
