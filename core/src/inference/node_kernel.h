#pragma once
// One graph node's executable form. The executor prepares kernels (XNNPACK packs weights then),
// binds them to tensor memory (XNNPACK's setup), and runs them; release() gives packed weights
// back so the memory budget can evict a model that is not running.

#include <pthreadpool.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "fovea/core/model_graph.h"

namespace fovea::inference {

// The decoded bytes of the node's input `input_index` (a constant tensor), valid during prepare.
using ConstantBytes = std::function<Result<std::span<const std::uint8_t>>(size_t input_index)>;

struct NodeBinding {
  std::vector<const void*> inputs;  // one per node input; nullptr for an absent optional one
  std::vector<void*> outputs;
};

class NodeKernel {
 public:
  virtual ~NodeKernel() = default;
  // Creates operators from the node's constants (packs weights). Idempotent after release().
  virtual Status prepare(const ConstantBytes& constants) = 0;
  // Points the kernel at its tensors; must follow prepare() and any move of tensor memory.
  virtual Status bind(const NodeBinding& binding, pthreadpool_t pool) = 0;
  virtual Status run(pthreadpool_t pool) = 0;
  // Frees what prepare() made; bind() is needed again after the next prepare().
  virtual void release() noexcept = 0;
  // Whether the node reads constants (so prepare() has weights to pack).
  virtual bool has_weights() const { return false; }
};

// A node's fused clamp (ReLU, ReLU6) in the int8 domain of an output with `scale` and
// `zero_point`: the bounds both XNNPACK and oneDNN kernels saturate to.
std::pair<int, int> int8_clamp(const OpAttributes& attributes, float scale, int zero_point);

// The fastest kernel this build has for `node`: XNNPACK where it has the op and type, fovea's
// vectorised flow kernels for FP32 Correlation and Warp, INT8 Warp (flow_nodes.h) and INT8
// Correlation (int8_correlation_node.h), plain C++ (the reference kernels, FP32) otherwise.
Result<std::unique_ptr<NodeKernel>> make_node_kernel(const ModelGraph& graph,
                                                     const GraphNode& node);

}  // namespace fovea::inference
