#pragma once
// The inference core's graph: tensors (activations and constants) and the ops between them,
// NHWC throughout. Model files (.fvm), the ONNX importer, the quantizer and the executor all
// speak this one representation.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fovea/core/status.h"
#include "fovea/core/tensor_info.h"

namespace fovea {

enum class OpType : std::uint16_t {
  kConv2d = 1,          // in: x [N,H,W,C], weights [O,KH,KW,C/groups], bias [O] (optional)
  kFullyConnected = 2,  // in: x [N,C], weights [O,C], bias [O] (optional)
  kAdd = 3,             // elementwise with NumPy broadcasting
  kMultiply = 4,
  kConcat = 5,             // along `axis`
  kGlobalAveragePool = 6,  // [N,H,W,C] -> [N,1,1,C]
  kGlobalMaxPool = 7,
  kMaxPool2d = 8,
  kAveragePool2d = 9,
  kResizeBilinear = 10,  // to output_h x output_w
  kSigmoid = 11,
  kTanh = 12,
  kClamp = 13,  // ReLU is Clamp(0, +inf), ReLU6 Clamp(0, 6)
  kHardSwish = 14,
  kSoftmax = 15,      // over the last axis
  kReshape = 16,      // to new_shape (same element count)
  kQuantize = 17,     // f32 -> i8 with the output's quantization
  kDequantize = 18,   // i8 -> f32
  kCorrelation = 19,  // local cost volume of two feature maps, displacements up to max_displacement
  kWarp = 20,         // bilinear sampling of x [N,H,W,C] at positions + flow [N,H,W,2]
  kScatterToGrid = 21,  // sparse features [P,C] + coordinates [P,2] -> dense [1,H,W,C]
  kLeakyRelu = 22,      // y = x if x >= 0 else alpha * x
};

inline constexpr std::uint16_t kLastOpType = 22;
const char* op_type_name(OpType op) noexcept;

struct OpAttributes {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;
  // A clamp fused into conv, fully connected and add (ReLU, ReLU6); Clamp's own bounds.
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
  int axis = -1;
  int output_h = 0, output_w = 0;
  bool align_corners = false;
  int max_displacement = 0;
  Shape new_shape;
  // LeakyRelu's negative slope. In .fvm files it is stored in the clamp-min slot, which
  // LeakyRelu does not use (it takes no fused clamp).
  float alpha = 0.01f;
};

struct GraphNode {
  std::string name;
  OpType op = OpType::kConv2d;
  OpAttributes attributes;
  std::vector<int> inputs;   // tensor indices; -1 marks an absent optional input (no bias)
  std::vector<int> outputs;  // tensor indices
};

struct GraphTensor {
  TensorInfo info;
  int constant = -1;  // index into the model's constant blobs, or -1 for an activation
};

struct ModelGraph {
  std::vector<GraphTensor> tensors;
  std::vector<GraphNode> nodes;
  std::vector<int> inputs;   // activation tensors fed by the caller
  std::vector<int> outputs;  // tensors returned to the caller

  // Checks indices, types and shapes, that every activation is produced exactly once (or is
  // a graph input), and that the graph has no cycles. Messages name the node and tensor.
  Status validate() const;

  // Node indices in an order where every node runs after the producers of its inputs;
  // an error names a node on a cycle.
  Result<std::vector<int>> topological_order() const;
};

}  // namespace fovea
