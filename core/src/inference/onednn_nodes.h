#pragma once
// INT8 convolution (dense, grouped, depthwise, 1x1) and fully connected on oneDNN 2.6
// (Debian's libdnnl-dev), whose AVX-512 VNNI kernels XNNPACK's 2022 snapshot lacks: over
// MobileNetV2's convolutions about 3x faster than XNNPACK f32 and 2x faster than its qc8
// (docs/int8-kernels.md). Same semantics as XNNPACK's qc8 and
// reference::conv2d_qs8, bit for bit: the requantization rounds half to even before the output
// zero point is added (an explicit round post-op; see the .cpp).
//
// Memory: packed weights, biases and scratchpads are allocated from the MemoryBudget given in
// the options (packed_weights, scratch) and freed by release(). oneDNN's own objects (primitive
// descriptors, JIT code, scales baked into primitives) are allocated by oneDNN itself, which 2.6
// cannot redirect; they are a fixed overhead per model, made when the kernel is made and kept
// until it is destroyed: for MobileNetV2 4.1 MiB of heap on 1 thread, 7.2 MiB on 2 (one
// primitive per slice), all returned on destruction (docs/int8-kernels.md). Each run also makes
// about 8 small malloc calls inside oneDNN's execute (its argument map), freed before it returns.
//
// Threads: each oneDNN primitive runs single-threaded on one slice of the output (rows, batch
// or output channels), and the slices run on fovea's pthreadpool. oneDNN's OpenMP team is never
// started, so nothing spins beside pthreadpool's workers.

#include <memory>

#include "fovea/core/memory_budget.h"
#include "node_kernel.h"

namespace fovea::inference {

struct OnednnKernelOptions {
  MemoryBudget* budget = nullptr;  // where packed weights and scratchpads go; required
  BudgetOwner owner = -1;
  int threads = 1;  // fovea's thread count: the number of output slices run in parallel
};

// A oneDNN kernel for `node`, or an empty pointer (in an ok Result) when oneDNN does not take it:
// not an INT8 Conv2d/FullyConnected with per-tensor activations and symmetric weights, or this
// CPU has no VNNI (without it oneDNN halves s8 weights and is no longer exact). Errors only for
// real failures.
Result<std::unique_ptr<NodeKernel>> make_onednn_node_kernel(const ModelGraph& graph,
                                                            const GraphNode& node,
                                                            const OnednnKernelOptions& options);

}  // namespace fovea::inference
