#pragma once
// The per-node table of `fovea-bench-model --profile`: each node's median time over the runs,
// its share of the summed medians, then the same summed per op type and precision.

#include <cstdio>
#include <span>
#include <vector>

#include "fovea/core/model_graph.h"

namespace fovea::bench {

// `seconds[run][layer]`, layers in `order` (graph node indices, CompiledModel's execution
// order). `top` limits the node table to the slowest nodes (0: all, in execution order).
void print_node_profile(std::FILE* out, const ModelGraph& graph, std::span<const int> order,
                        const std::vector<std::vector<double>>& seconds, int top);

}  // namespace fovea::bench
