#pragma once
// Runs a float graph with the reference kernels, one op at a time in topological order. It is
// the ground truth the optimized executor is compared with, and the calibration pass of
// post-training quantization: an observer sees every tensor the graph computes.

#include <functional>
#include <span>
#include <vector>

#include "fovea/core/model_graph.h"

namespace fovea {

// Fills `out` (exactly the constant's decoded size) with constant number `index`.
using ConstantDecoder = std::function<Status(int index, std::span<std::uint8_t> out)>;

// Called once per computed tensor (graph inputs included) with its values, before any consumer
// reads them. It may change them in place: the quantizer simulates INT8 that way (fake
// quantization) to measure each layer's error and sensitivity.
using TensorObserver = std::function<void(int tensor, std::span<float> values)>;

struct FloatTensor {
  Shape shape;
  std::vector<float> values;
};

// Runs `graph` (every activation f32; int32 constants are allowed where ops take them) on
// `inputs`, one per graph input in order; returns one tensor per graph output.
Result<std::vector<FloatTensor>> run_reference(const ModelGraph& graph,
                                               const ConstantDecoder& constants,
                                               std::span<const FloatTensor> inputs,
                                               const TensorObserver& observer = {});

}  // namespace fovea
