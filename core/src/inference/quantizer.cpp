#include "fovea/core/quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "fovea/core/graph_builder.h"
#include "fovea/core/reference_kernels.h"

namespace fovea {
namespace {

// The input-to-output scale ratios XNNPACK's INT8 Add accepts.
constexpr float kMinAddScaleRatio = 0x1.0p-10f;
constexpr float kMaxAddScaleRatio = 0x1.0p+8f;

bool has_int8_kernel(OpType op) {
  switch (op) {
    case OpType::kConv2d:
    case OpType::kFullyConnected:
    case OpType::kAdd:
    case OpType::kMultiply:
    case OpType::kGlobalAveragePool:
    case OpType::kMaxPool2d:
    case OpType::kResizeBilinear:
    case OpType::kSigmoid:
    case OpType::kTanh:
    case OpType::kHardSwish:
    case OpType::kLeakyRelu:
    case OpType::kClamp:
    case OpType::kConcat:
    case OpType::kReshape:
    case OpType::kCorrelation:
    case OpType::kWarp:  // the map INT8, the flow FP32
      return true;
    default:
      return false;
  }
}

// Inputs an INT8 node still takes in FP32: Warp's flow (positions, not features).
bool takes_float_input(OpType op, size_t input) {
  return op == OpType::kWarp && input == 1;
}

// Ops whose INT8 output reuses the input's quantization: they move values, not change them.
bool passes_quantization_through(OpType op) {
  return op == OpType::kMaxPool2d || op == OpType::kResizeBilinear || op == OpType::kReshape ||
         op == OpType::kClamp || op == OpType::kWarp;
}

void fake_quantize(std::span<float> values, const Quantization& q) {
  const float scale = q.scales[0];
  const auto zero = static_cast<float>(q.zero_point);
  for (float& v : values)
    v = scale * (std::clamp(std::nearbyint(v / scale) + zero, -128.0f, 127.0f) - zero);
}

double mse_after_quantization(std::span<const float> values, const Quantization& q) {
  const float scale = q.scales[0];
  const auto zero = static_cast<float>(q.zero_point);
  double sum = 0.0;
  for (float v : values) {
    const float r = scale * (std::clamp(std::nearbyint(v / scale) + zero, -128.0f, 127.0f) - zero);
    sum += double(r - v) * double(r - v);
  }
  return values.empty() ? 0.0 : sum / double(values.size());
}

struct WeightQuantization {
  std::vector<std::int8_t> values;
  std::vector<float> scales;  // per output channel (axis 0)
};

WeightQuantization quantize_weights(std::span<const float> w, std::int64_t out_channels) {
  WeightQuantization q;
  const auto per_channel = static_cast<std::int64_t>(w.size()) / out_channels;
  q.values.resize(w.size());
  q.scales.resize(static_cast<size_t>(out_channels));
  for (std::int64_t o = 0; o < out_channels; ++o) {
    float largest = 0.0f;
    for (std::int64_t i = 0; i < per_channel; ++i)
      largest = std::max(largest, std::abs(w[static_cast<size_t>(o * per_channel + i)]));
    // An all-zero channel still needs a positive scale; its weights stay zero.
    const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
    q.scales[static_cast<size_t>(o)] = scale;
    for (std::int64_t i = 0; i < per_channel; ++i) {
      const auto index = static_cast<size_t>(o * per_channel + i);
      q.values[index] =
          static_cast<std::int8_t>(std::clamp(std::nearbyint(w[index] / scale), -127.0f, 127.0f));
    }
  }
  return q;
}

std::vector<float> decode_float(const Model& model, int constant) {
  std::vector<float> values(static_cast<size_t>(model.constant_decoded_bytes(constant) / 4));
  std::span<std::uint8_t> out(reinterpret_cast<std::uint8_t*>(values.data()), values.size() * 4);
  if (!model.decode_constant(constant, out).is_ok()) values.clear();
  return values;
}

double cosine(std::span<const float> a, std::span<const float> b) {
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return na > 0.0 && nb > 0.0 ? dot / std::sqrt(na * nb) : (na == nb ? 1.0 : 0.0);
}

double sqnr_db(std::span<const float> reference, std::span<const float> approximation) {
  double signal = 0.0, noise = 0.0;
  for (size_t i = 0; i < reference.size() && i < approximation.size(); ++i) {
    signal += double(reference[i]) * reference[i];
    noise += double(reference[i] - approximation[i]) * (reference[i] - approximation[i]);
  }
  if (noise == 0.0) return 200.0;
  return 10.0 * std::log10(std::max(signal, 1e-30) / noise);
}

// Per activation: a sample of its values, kept below a size limit by reservoir sampling.
class Calibration {
 public:
  Calibration(size_t tensors, int limit, bool skip_empty, const ModelGraph& graph)
      : samples_(tensors),
        seen_(tensors, 0),
        limit_(static_cast<size_t>(limit)),
        skip_empty_(skip_empty),
        graph_(graph) {}

  void observe(int tensor, std::span<const float> values) {
    const Shape& shape = graph_.tensors[static_cast<size_t>(tensor)].info.shape;
    const std::int64_t channels = shape.rank == 4 ? shape[3] : 1;
    for (size_t start = 0; start < values.size(); start += static_cast<size_t>(channels)) {
      const auto pixel = values.subspan(start, static_cast<size_t>(channels));
      if (skip_empty_ && shape.rank == 4 &&
          std::all_of(pixel.begin(), pixel.end(), [](float v) { return v == 0.0f; }))
        continue;
      for (float v : pixel) add(tensor, v);
    }
  }
  std::span<const float> samples(int tensor) const { return samples_[static_cast<size_t>(tensor)]; }

 private:
  void add(int tensor, float v) {
    auto& sample = samples_[static_cast<size_t>(tensor)];
    const std::uint64_t seen = ++seen_[static_cast<size_t>(tensor)];
    if (sample.size() < limit_) {
      sample.push_back(v);
    } else {
      const std::uint64_t slot = random_() % seen;
      if (slot < limit_) sample[slot] = v;
    }
  }
  std::vector<std::vector<float>> samples_;
  std::vector<std::uint64_t> seen_;
  size_t limit_;
  bool skip_empty_;
  const ModelGraph& graph_;
  std::mt19937_64 random_{20261122};  // fixed: the same calibration gives the same model
};

}  // namespace

const char* range_method_name(RangeMethod method) noexcept {
  switch (method) {
    case RangeMethod::kMinMax:
      return "min-max";
    case RangeMethod::kPercentile:
      return "percentile";
    case RangeMethod::kMseOptimal:
      return "mse";
  }
  return "unknown";
}

Quantization activation_quantization(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (!(hi - lo > 1e-8f)) hi = lo + 1e-8f;
  const float scale = (hi - lo) / 255.0f;
  const float zero = std::clamp(std::nearbyint(-128.0f - lo / scale), -128.0f, 127.0f);
  return Quantization{{scale}, static_cast<std::int32_t>(zero), -1};
}

std::pair<float, float> choose_range(std::span<const float> values, RangeMethod method,
                                     double percentile) {
  if (values.empty()) return {0.0f, 0.0f};
  const auto [lowest, highest] = std::minmax_element(values.begin(), values.end());
  if (method == RangeMethod::kMinMax) return {*lowest, *highest};
  if (method == RangeMethod::kPercentile) {
    std::vector<float> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    const double tail = std::clamp((100.0 - percentile) / 100.0, 0.0, 0.5);
    const auto at = [&](double q) {
      return sorted[static_cast<size_t>(std::round(q * double(sorted.size() - 1)))];
    };
    return {at(tail), at(1.0 - tail)};
  }
  // Shrink the min-max range by a common factor and keep the one with the least error: clipping
  // a few outliers buys finer steps for everything else.
  std::pair<float, float> best{*lowest, *highest};
  double best_error = mse_after_quantization(values, activation_quantization(*lowest, *highest));
  for (int step = 1; step <= 60; ++step) {
    const float factor = 1.0f - 0.0125f * float(step);
    const float lo = *lowest * factor, hi = *highest * factor;
    const double error = mse_after_quantization(values, activation_quantization(lo, hi));
    if (error < best_error) {
      best_error = error;
      best = {lo, hi};
    }
  }
  return best;
}

std::string QuantizeReport::to_table() const {
  std::string text;
  char line[256];
  std::snprintf(line, sizeof line,
                "INT8 quantization: %s ranges, %d calibration inputs, output cosine %.5f\n",
                range_method_name(method), calibration_inputs, output_cosine);
  text += line;
  // Full node names: they are what --keep-float takes.
  size_t width = 5;
  for (const LayerReport& l : layers) width = std::max(width, l.node.size());
  std::snprintf(line, sizeof line, "%-*s %-18s %-5s %21s %10s %12s\n", int(width), "layer", "op",
                "int8", "output range", "SQNR dB", "sensitivity");
  text += line;
  for (const LayerReport& l : layers) {
    std::snprintf(line, sizeof line, " %-18s %-5s [%9.4f, %9.4f] %10.2f %12.6f\n",
                  op_type_name(l.op), l.int8 ? "yes" : "fp32", l.range_min, l.range_max,
                  l.output_sqnr_db, l.sensitivity_cosine);
    text += l.node + std::string(width - l.node.size(), ' ') + line;
  }
  return text;
}

Result<Model> quantize_model(const Model& float_model,
                             std::span<const std::vector<FloatTensor>> calibration,
                             const QuantizeOptions& options, QuantizeReport* report) {
  FOVEA_RETURN_IF_ERROR(float_model.validate());
  const ModelGraph& graph = float_model.graph;
  for (const GraphTensor& t : graph.tensors)
    if (t.constant < 0 && t.info.type != DataType::kFloat32)
      return Status(ErrorCode::kInvalidArgument, "quantize_model takes a float model; '" +
                                                     t.info.name + "' is " +
                                                     data_type_name(t.info.type));
  if (calibration.empty())
    return Status(ErrorCode::kInvalidArgument, "quantization needs at least one calibration input");
  auto order = graph.topological_order();
  if (!order) return order.status();
  const ConstantDecoder decode = [&](int index, std::span<std::uint8_t> out) {
    return float_model.decode_constant(index, out);
  };

  // 1. Calibrate: collect every activation's values over all inputs; keep the float outputs.
  Calibration stats(graph.tensors.size(), options.max_samples_per_tensor,
                    options.skip_empty_positions, graph);
  std::vector<std::vector<FloatTensor>> float_outputs;
  std::vector<std::vector<float>> first_run(graph.tensors.size());
  for (size_t i = 0; i < calibration.size(); ++i) {
    auto outputs = run_reference(graph, decode, calibration[i], [&](int t, std::span<float> v) {
      stats.observe(t, v);
      if (i == 0) first_run[static_cast<size_t>(t)].assign(v.begin(), v.end());
    });
    if (!outputs) return outputs.status().with_context("calibration input " + std::to_string(i));
    float_outputs.push_back(std::move(*outputs));
  }

  // 2. Decide each node's precision and each activation's range.
  const std::vector<std::string>& keep = options.keep_float;
  std::vector<bool> node_int8(graph.nodes.size(), false);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const GraphNode& node = graph.nodes[n];
    bool ok =
        has_int8_kernel(node.op) && std::find(keep.begin(), keep.end(), node.name) == keep.end();
    if ((node.op == OpType::kConv2d || node.op == OpType::kFullyConnected) &&
        graph.tensors[static_cast<size_t>(node.inputs[1])].constant < 0)
      ok = false;  // weights computed at run time: no per-channel packing possible
    if (node.op == OpType::kCorrelation &&
        graph.tensors[static_cast<size_t>(node.inputs[0])].info.shape[3] >
            reference::kMaxQuantizedCorrelationChannels)
      ok = false;  // too many channels for the INT8 kernel's exact sum
    node_int8[n] = ok;
  }
  std::vector<Quantization> act_quant(graph.tensors.size());
  std::vector<std::pair<float, float>> ranges(graph.tensors.size(), {0.0f, 0.0f});
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    if (graph.tensors[t].constant >= 0) continue;
    ranges[t] =
        choose_range(stats.samples(static_cast<int>(t)), options.method, options.percentile);
    act_quant[t] = activation_quantization(ranges[t].first, ranges[t].second);
  }
  // Pass-through ops keep their input's quantization (propagated in execution order), and
  // XNNPACK's INT8 sigmoid and tanh produce fixed output grids over their whole value range.
  for (int n : *order) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
    if (!node_int8[static_cast<size_t>(n)]) continue;
    Quantization& out = act_quant[static_cast<size_t>(node.outputs[0])];
    if (passes_quantization_through(node.op))
      out = act_quant[static_cast<size_t>(node.inputs[0])];
    else if (node.op == OpType::kSigmoid)
      out = Quantization{{1.0f / 256.0f}, -128, -1};
    else if (node.op == OpType::kTanh)
      out = Quantization{{1.0f / 128.0f}, 0, -1};
  }

  // XNNPACK's INT8 Add takes each input's scale over the output's in [2^-10, 2^8) and refuses
  // to create the operator otherwise (xnn_status_unsupported_parameter). A branch whose values
  // stay far below the sum's (a freshly added layer's near-zero output, a residual that cancels)
  // falls outside: that Add stays FP32, so the INT8 model always compiles.
  for (int n : *order) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
    if (!node_int8[static_cast<size_t>(n)] || node.op != OpType::kAdd) continue;
    const float out_scale = act_quant[static_cast<size_t>(node.outputs[0])].scales[0];
    for (int i = 0; i < 2; ++i) {
      const GraphTensor& input = graph.tensors[static_cast<size_t>(node.inputs[i])];
      if (input.constant >= 0) continue;
      const float ratio = act_quant[static_cast<size_t>(node.inputs[i])].scales[0] / out_scale;
      if (!(ratio >= kMinAddScaleRatio && ratio < kMaxAddScaleRatio))
        node_int8[static_cast<size_t>(n)] = false;
    }
  }

  // 3. Build the INT8 model: each float tensor gets an int8 and/or a float version on demand.
  Model quantized;
  quantized.metadata = float_model.metadata;
  quantized.metadata.provenance += std::string(quantized.metadata.provenance.empty() ? "" : "\n") +
                                   "quantization: fovea PTQ, " + range_method_name(options.method) +
                                   " ranges, " + std::to_string(calibration.size()) +
                                   " calibration inputs, per-channel symmetric INT8 weights";
  GraphBuilder b(quantized);
  std::vector<int> as_int8(graph.tensors.size(), -1), as_float(graph.tensors.size(), -1);
  int helper_count = 0;
  auto fresh_name = [&](const std::string& base, const char* what) {
    return base + "/" + what + std::to_string(helper_count++);
  };
  auto float_constant = [&](int t) {
    const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
    std::vector<std::uint8_t> bytes(
        static_cast<size_t>(float_model.constant_decoded_bytes(tensor.constant)));
    (void)float_model.decode_constant(tensor.constant, bytes);
    return b.constant(tensor.info.name, tensor.info.type, tensor.info.shape, bytes,
                      tensor.info.quantization, options.entropy_code_weights);
  };
  std::function<Result<int>(int)> get_float, get_int8;
  get_float = [&](int t) -> Result<int> {
    if (as_float[static_cast<size_t>(t)] >= 0) return as_float[static_cast<size_t>(t)];
    if (graph.tensors[static_cast<size_t>(t)].constant >= 0)
      return as_float[static_cast<size_t>(t)] = float_constant(t);
    auto made = b.node(fresh_name(graph.tensors[static_cast<size_t>(t)].info.name, "dequantize"),
                       OpType::kDequantize, {as_int8[static_cast<size_t>(t)]});
    if (!made) return made.status();
    return as_float[static_cast<size_t>(t)] = *made;
  };
  get_int8 = [&](int t) -> Result<int> {
    if (as_int8[static_cast<size_t>(t)] >= 0) return as_int8[static_cast<size_t>(t)];
    const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
    if (tensor.constant >= 0) {  // a constant operand of Add or Multiply: per-tensor INT8
      const std::vector<float> values = decode_float(float_model, tensor.constant);
      const auto [lo, hi] = choose_range(values, RangeMethod::kMinMax, 100.0);
      const Quantization q = activation_quantization(lo, hi);
      std::vector<std::int8_t> bytes(values.size());
      for (size_t i = 0; i < values.size(); ++i)
        bytes[i] = static_cast<std::int8_t>(std::clamp(
            std::nearbyint(values[i] / q.scales[0]) + float(q.zero_point), -128.0f, 127.0f));
      return as_int8[static_cast<size_t>(t)] =
                 b.constant(tensor.info.name, DataType::kInt8, tensor.info.shape,
                            {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, q);
    }
    auto source = get_float(t);
    if (!source) return source.status();
    auto made = b.node(fresh_name(tensor.info.name, "quantize"), OpType::kQuantize, {*source}, {},
                       act_quant[static_cast<size_t>(t)]);
    if (!made) return made.status();
    return as_int8[static_cast<size_t>(t)] = *made;
  };

  for (int t : graph.inputs)
    as_float[static_cast<size_t>(t)] =
        b.input(graph.tensors[static_cast<size_t>(t)].info.name, DataType::kFloat32,
                graph.tensors[static_cast<size_t>(t)].info.shape);
  for (int n : *order) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
    const int out = node.outputs[0];
    std::vector<int> inputs;
    if (!node_int8[static_cast<size_t>(n)]) {
      for (int t : node.inputs) {
        if (t < 0) {
          inputs.push_back(-1);
          continue;
        }
        auto f = get_float(t);
        if (!f) return f.status();
        inputs.push_back(*f);
      }
      auto made = b.node(node.name, node.op, inputs, node.attributes);
      if (!made) return made.status();
      as_float[static_cast<size_t>(out)] = *made;
      continue;
    }
    const Quantization& out_q = act_quant[static_cast<size_t>(out)];
    if (node.op == OpType::kConv2d || node.op == OpType::kFullyConnected) {
      auto x = get_int8(node.inputs[0]);
      if (!x) return x.status();
      const GraphTensor& w = graph.tensors[static_cast<size_t>(node.inputs[1])];
      const std::int64_t out_channels = w.info.shape[0];
      const WeightQuantization wq =
          quantize_weights(decode_float(float_model, w.constant), out_channels);
      const int wt =
          b.constant(w.info.name, DataType::kInt8, w.info.shape,
                     {reinterpret_cast<const std::uint8_t*>(wq.values.data()), wq.values.size()},
                     Quantization{wq.scales, 0, 0}, options.entropy_code_weights);
      int bt = -1;
      const float x_scale = act_quant[static_cast<size_t>(node.inputs[0])].scales[0];
      if (node.inputs.size() > 2 && node.inputs[2] >= 0) {
        const GraphTensor& bias = graph.tensors[static_cast<size_t>(node.inputs[2])];
        const std::vector<float> bf = decode_float(float_model, bias.constant);
        std::vector<std::int32_t> bq(bf.size());
        for (size_t o = 0; o < bf.size(); ++o)
          bq[o] = static_cast<std::int32_t>(
              std::clamp(std::nearbyint(double(bf[o]) / (double(x_scale) * wq.scales[o])),
                         -2147483647.0, 2147483647.0));
        bt = b.constant(bias.info.name, DataType::kInt32, bias.info.shape,
                        {reinterpret_cast<const std::uint8_t*>(bq.data()), bq.size() * 4});
      }
      inputs = {*x, wt, bt};
    } else if (node.op == OpType::kConcat) {
      for (int t : node.inputs) {
        auto q = get_int8(t);
        if (!q) return q.status();
        const Quantization& have =
            quantized.graph.tensors[static_cast<size_t>(*q)].info.quantization;
        if (have.scales == out_q.scales && have.zero_point == out_q.zero_point) {
          inputs.push_back(*q);
          continue;
        }
        // Concat copies bytes, so every input must share the output's quantization.
        auto f = get_float(t);
        if (!f) return f.status();
        auto requantized =
            b.node(fresh_name(node.name, "requantize"), OpType::kQuantize, {*f}, {}, out_q);
        if (!requantized) return requantized.status();
        inputs.push_back(*requantized);
      }
    } else {
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        auto q =
            takes_float_input(node.op, i) ? get_float(node.inputs[i]) : get_int8(node.inputs[i]);
        if (!q) return q.status();
        inputs.push_back(*q);
      }
    }
    auto made = b.node(node.name, node.op, inputs, node.attributes, out_q);
    if (!made) return made.status();
    as_int8[static_cast<size_t>(out)] = *made;
  }
  for (int t : graph.outputs) {
    auto f = get_float(t);
    if (!f) return f.status();
    b.output(*f);
  }
  FOVEA_RETURN_IF_ERROR(quantized.validate().with_context("the quantized model"));

  // 4. Report: simulated INT8 (fake quantization in the float executor) against float.
  if (report != nullptr) {
    report->method = options.method;
    report->calibration_inputs = static_cast<int>(calibration.size());
    report->layers.clear();
    // Per-channel weights as the INT8 model holds them.
    std::map<int, std::vector<float>> fake_weights;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      const GraphNode& node = graph.nodes[n];
      if (!node_int8[n] || (node.op != OpType::kConv2d && node.op != OpType::kFullyConnected))
        continue;
      const GraphTensor& w = graph.tensors[static_cast<size_t>(node.inputs[1])];
      const WeightQuantization wq =
          quantize_weights(decode_float(float_model, w.constant), w.info.shape[0]);
      std::vector<float> values(wq.values.size());
      const size_t per = values.size() / wq.scales.size();
      for (size_t i = 0; i < values.size(); ++i)
        values[i] = float(wq.values[i]) * wq.scales[i / per];
      fake_weights[w.constant] = std::move(values);
    }
    auto simulate = [&](const std::vector<bool>& quantize_node,
                        const std::vector<FloatTensor>& input,
                        std::vector<std::vector<float>>* per_tensor) {
      std::vector<bool> quantize_tensor(graph.tensors.size(), false);
      std::map<int, bool> weights;
      for (size_t n = 0; n < graph.nodes.size(); ++n) {
        if (!quantize_node[n]) continue;
        quantize_tensor[static_cast<size_t>(graph.nodes[n].outputs[0])] = true;
        for (size_t i = 0; i < graph.nodes[n].inputs.size(); ++i) {
          const int t = graph.nodes[n].inputs[i];
          if (t < 0 || takes_float_input(graph.nodes[n].op, i)) continue;
          if (graph.tensors[static_cast<size_t>(t)].constant < 0)
            quantize_tensor[static_cast<size_t>(t)] = true;
          else
            weights[graph.tensors[static_cast<size_t>(t)].constant] = true;
        }
      }
      const ConstantDecoder fake_decode = [&](int index, std::span<std::uint8_t> out) {
        auto found = fake_weights.find(index);
        if (weights.count(index) && found != fake_weights.end()) {
          std::memcpy(out.data(), found->second.data(), out.size());
          return Status::ok();
        }
        return float_model.decode_constant(index, out);
      };
      return run_reference(graph, fake_decode, input, [&](int t, std::span<float> v) {
        if (quantize_tensor[static_cast<size_t>(t)])
          fake_quantize(v, act_quant[static_cast<size_t>(t)]);
        if (per_tensor) (*per_tensor)[static_cast<size_t>(t)].assign(v.begin(), v.end());
      });
    };
    std::vector<std::vector<float>> simulated(graph.tensors.size());
    double cosine_sum = 0.0;
    for (size_t i = 0; i < calibration.size(); ++i) {
      auto outputs = simulate(node_int8, calibration[i], i == 0 ? &simulated : nullptr);
      if (!outputs) return outputs.status();
      cosine_sum += cosine((*outputs)[0].values, float_outputs[i][0].values);
    }
    report->output_cosine = cosine_sum / double(calibration.size());
    for (int n : *order) {
      const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
      LayerReport layer;
      layer.node = node.name;
      layer.op = node.op;
      layer.int8 = node_int8[static_cast<size_t>(n)];
      const auto out = static_cast<size_t>(node.outputs[0]);
      layer.range_min = ranges[out].first;
      layer.range_max = ranges[out].second;
      layer.output_sqnr_db = sqnr_db(first_run[out], simulated[out]);
      if (options.sensitivity_analysis && layer.int8) {
        std::vector<bool> only(graph.nodes.size(), false);
        only[static_cast<size_t>(n)] = true;
        auto outputs = simulate(only, calibration[0], nullptr);
        if (!outputs) return outputs.status();
        layer.sensitivity_cosine = cosine((*outputs)[0].values, float_outputs[0][0].values);
      }
      report->layers.push_back(layer);
    }
  }
  return quantized;
}

}  // namespace fovea
