#pragma once
// Post-training INT8 quantization of a float Model, in C++ so it runs where the model runs.
// Calibration runs the float graph (reference executor) over sample inputs and collects each
// activation's values; ranges come from min-max, a percentile, or a search for the clipping
// range that minimises the quantization MSE (after LiDAR-PTQ, statistics can skip empty
// positions of sparse inputs). Weights are symmetric INT8 with a scale per output channel.
// Ops with no INT8 kernel, and layers named to stay float, run in FP32 between dequantize and
// quantize nodes (mixed precision). A report gives each layer's error and sensitivity.

#include <span>
#include <string>
#include <vector>

#include "fovea/core/model.h"
#include "fovea/core/reference_executor.h"

namespace fovea {

enum class RangeMethod { kMinMax, kPercentile, kMseOptimal };
const char* range_method_name(RangeMethod method) noexcept;

struct QuantizeOptions {
  RangeMethod method = RangeMethod::kMseOptimal;
  double percentile = 99.99;  // kPercentile: the share of values kept inside the range, %
  // Statistics over non-empty positions only: pixels whose channels are all zero (empty
  // pillars of a LiDAR grid) are left out, so they do not drag the ranges towards zero.
  bool skip_empty_positions = false;
  std::vector<std::string> keep_float;  // node names that stay FP32
  bool entropy_code_weights = true;
  int max_samples_per_tensor = 1 << 16;  // values kept per activation for range search
  bool sensitivity_analysis = true;      // per layer: quantize it alone, measure the output
};

struct LayerReport {
  std::string node;
  OpType op = OpType::kConv2d;
  bool int8 = false;       // runs in INT8 in the quantized model
  float range_min = 0.0f;  // the output activation's range
  float range_max = 0.0f;
  double output_sqnr_db = 0.0;      // this layer's output, all layers quantized up to it
  double sensitivity_cosine = 1.0;  // final output cosine with only this layer quantized
};

struct QuantizeReport {
  RangeMethod method = RangeMethod::kMseOptimal;
  int calibration_inputs = 0;
  std::vector<LayerReport> layers;
  double output_cosine = 0.0;  // fully quantized (simulated) vs float, over calibration inputs
  std::string to_table() const;
};

// Quantizes `float_model` (every activation f32). `calibration` holds sample inputs, each one
// tensor per graph input. The result keeps f32 graph inputs and outputs.
Result<Model> quantize_model(const Model& float_model,
                             std::span<const std::vector<FloatTensor>> calibration,
                             const QuantizeOptions& options, QuantizeReport* report = nullptr);

// The INT8 quantization (asymmetric, zero point in -128..127) covering [lo, hi] and zero.
Quantization activation_quantization(float lo, float hi);

// The clipping range [lo, hi] for `values` by `method`.
std::pair<float, float> choose_range(std::span<const float> values, RangeMethod method,
                                     double percentile);

}  // namespace fovea
