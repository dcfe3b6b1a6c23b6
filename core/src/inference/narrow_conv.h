#pragma once
// FP32 convolutions with few output channels (1, 2, 4 or 8), such as a flow decoder's last
// 3x3 convolution to (dx, dy). XNNPACK pads output channels to its 16-wide tiles there, so it
// computes 8 times the work for 2 channels. Here 8 / O neighbouring output pixels times O
// channels make 8 dot products over the window (channels 16 at a time in zmm registers),
// reduced together as the correlation kernel does; bias and the fused clamp follow. Dense
// (one group), dilation 1, any kernel size, stride and padding; the semantics of
// reference::conv2d_f32, summed in float in another order.
//
// Memory: the node copies its weights and bias into a packed_weights buffer of the budget at
// prepare(); bind() and run() allocate nothing. Rows are split over fovea's thread pool.

#include <limits>
#include <memory>

#include "flow_isa.h"
#include "fovea/core/memory_budget.h"
#include "fovea/core/reference_kernels.h"
#include "node_kernel.h"

namespace fovea::inference {

struct NarrowConvShape {
  reference::Nhwc x, y;  // y.c is the output channel count: 1, 2, 4 or 8
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
};

// Whether the kernel takes convolutions of `shape`: the output channels, and AVX-512 (kBest).
bool narrow_conv_supported(const NarrowConvShape& shape, flow::Isa isa = flow::Isa::kBest);

// y = clamp(conv(x, weights [O, KH, KW, C]) + bias [O]); `bias` may be null.
void narrow_conv_f32(const NarrowConvShape& shape, const float* x, const float* weights,
                     const float* bias, float* y, pthreadpool_t pool);

struct NarrowConvMemory {
  MemoryBudget* budget = nullptr;  // required
  BudgetOwner owner = -1;
};

// A kernel for an FP32 Conv2d node the narrow kernel takes; an empty pointer otherwise.
std::unique_ptr<NodeKernel> make_narrow_conv_node_kernel(const ModelGraph& graph,
                                                         const GraphNode& node,
                                                         const NarrowConvMemory& memory);

}  // namespace fovea::inference
