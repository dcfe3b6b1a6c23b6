#pragma once
// The node kernel for INT8 Correlation (flow::correlation_qs8): inputs and output INT8 with one
// scale and zero point each, rows split over fovea's thread pool, no buffers, so nothing is
// allocated after prepare().

#include <memory>

#include "node_kernel.h"

namespace fovea::inference {

// A kernel for an INT8 kCorrelation node; an error where its tensors are not per-tensor INT8 or
// have more channels than the exact integer sum allows
// (reference::kMaxQuantizedCorrelationChannels).
Result<std::unique_ptr<NodeKernel>> make_int8_correlation_node_kernel(const ModelGraph& graph,
                                                                      const GraphNode& node);

}  // namespace fovea::inference
