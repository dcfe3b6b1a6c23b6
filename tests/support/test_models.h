#pragma once
// Small float models the inference-core tests share.

#include <memory>
#include <string>
#include <vector>

#include "fovea/core/model.h"

namespace fovea::testing {

// image [1,16,16,3] -> conv3x3+ReLU -> conv3x3 -> add(residual) -> global average pool ->
// reshape -> fully connected (10). Weight-heavy at small resolution, as deep layers of real
// models are.
// `branch_gain` scales conv2's weights: a tiny gain makes a branch whose values are far below the
// sum's (an INT8 Add that XNNPACK cannot take; the quantizer keeps it FP32).
std::shared_ptr<Model> residual_model(const std::string& name, int channels, float seed,
                                      float branch_gain = 1.0f);

// image [1,16,16,3] -> conv3x3+ReLU to `channels` -> `depth` residual blocks of equal size
// (conv3x3+ReLU, add) -> global average pool -> reshape -> fully connected (10). Many layers of
// similar weight, for streaming a model through a budget smaller than its packed weights.
std::shared_ptr<Model> deep_model(const std::string& name, int channels, int depth, float seed);

// A deterministic 16x16x3 image; `variant` changes its pattern.
std::vector<float> image_input(int variant = 0);

// Runs `model` (float inputs and one float output of `outputs` values) once on a fresh context
// of `threads` threads; a failure fails the test.
std::vector<float> run_float_io(const std::shared_ptr<Model>& model,
                                const std::vector<std::vector<float>>& inputs, size_t outputs,
                                int threads);

// Cosine similarity of two equally long vectors, in double.
double cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace fovea::testing
