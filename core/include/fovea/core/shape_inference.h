#pragma once
// What each op's output must look like given its inputs and attributes. Kernels trust shapes,
// so ModelGraph::validate() runs this over every node: a file whose shapes disagree with its
// ops is rejected at load time instead of reading past a buffer at run time.

#include "fovea/core/model_graph.h"

namespace fovea {

// The shape and type the node's first output must have; an error names the node and the
// offending input or attribute.
Result<TensorInfo> infer_output(const ModelGraph& graph, const GraphNode& node);

}  // namespace fovea
