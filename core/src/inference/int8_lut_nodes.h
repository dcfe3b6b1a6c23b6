#pragma once
// Node kernels for INT8 LeakyReLU and HardSwish, which XNNPACK has no qs8 operator for: a
// 256-entry table (int8_lut.h) made in prepare() from the node's input and output quantization,
// applied over the tensor on fovea's thread pool. Exact against the reference's dequantize ->
// float op -> quantize; no buffers, so nothing is allocated after prepare().

#include <memory>

#include "node_kernel.h"

namespace fovea::inference {

// A kernel for an INT8 kLeakyRelu or kHardSwish node; an empty pointer otherwise.
std::unique_ptr<NodeKernel> make_int8_lut_node_kernel(const ModelGraph& graph,
                                                      const GraphNode& node);

}  // namespace fovea::inference
