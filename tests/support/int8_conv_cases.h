#pragma once
// One INT8 convolution or fully connected node, its random weights and input, and the
// reference's output (reference::conv2d_qs8, XNNPACK-exact): what the tests of every INT8 kernel
// set (oneDNN's, fovea's VNNI ones) compare against, with the helpers to prepare and run a
// kernel the way the executor does.

#include <pthreadpool.h>

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../../core/src/inference/node_kernel.h"
#include "fovea/core/model.h"

namespace fovea::testing {

template <typename T>
std::span<const std::uint8_t> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(T)};
}

// The fused clamp in the output's int8 domain, as the executor derives it (xnnpack_nodes.cpp).
std::pair<std::int8_t, std::int8_t> int8_clamp(const OpAttributes& a, float scale, int zero_point);

struct ConvCase {
  std::string name;
  int n = 1, h = 8, w = 8, c = 8, o = 8;
  OpAttributes a;
  bool fc = false, bias = true, per_channel = true;
  float x_scale = 0.05f, y_scale = 0.5f;
  int x_zero = 5, y_zero = -3;
  bool ties = false;  // scales that make many exact x.5 products (tests the rounding order)
};

// A one-node INT8 model with random weights, bias and input; and the reference's output.
struct Built {
  std::shared_ptr<Model> model;
  std::vector<std::int8_t> x, w, expected;
  std::vector<std::int32_t> b;
  std::vector<float> w_scales;
  std::int64_t y_elements = 0;
};

Built build(const ConvCase& k, std::mt19937& random);

// Decodes constants for prepare() like the executor does.
struct Constants {
  const Model& model;
  const GraphNode& node;
  std::vector<std::vector<std::uint8_t>> decoded;
  inference::ConstantBytes callback();
};

struct Pool {
  pthreadpool_t pool = nullptr;
  explicit Pool(int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
};

OpAttributes conv_attributes(int k, int stride, int groups, int pt, int pl, int pb, int pr,
                             int dilation = 1);
OpAttributes pointwise();
OpAttributes depthwise(int channels, int stride, int pt, int pl, int pb, int pr);
int mismatches(const std::vector<std::int8_t>& y, const std::vector<std::int8_t>& expected);

}  // namespace fovea::testing
