#pragma once
// Node kernels for the optical-flow ops XNNPACK lacks, FP32 Correlation and Warp and INT8 Warp, on
// the vectorised kernels of flow_correlation.h and flow_warp.h and split over rows on fovea's
// thread pool. They hold no buffers: prepare(), bind() and run() allocate nothing.

#include <memory>

#include "node_kernel.h"

namespace fovea::inference {

// A kernel for an FP32 kCorrelation or kWarp node with 4-D inputs, or an INT8 kWarp (INT8 map
// and output on one grid, FP32 flow); an empty pointer otherwise.
std::unique_ptr<NodeKernel> make_flow_node_kernel(const ModelGraph& graph, const GraphNode& node);

}  // namespace fovea::inference
