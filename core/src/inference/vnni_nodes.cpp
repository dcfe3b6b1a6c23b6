// fovea's AVX-512 VNNI kernels as NodeKernels (see vnni_nodes.h): which nodes they take, how
// the output is sliced over threads, and the budgeted buffers. The arithmetic lives in
// vnni_gemm.cpp (1x1 and dense convolutions, fully connected; their activations gathered by
// vnni_tile.cpp) and vnni_depthwise.cpp.

#include "vnni_nodes.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "fovea/core/reference_kernels.h"
#include "vnni_depthwise.h"
#include "vnni_gemm.h"
#include "vnni_tile.h"

namespace fovea::inference {
namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::int64_t kMaxPatchBytes = 1280;  // K of a dense convolution's patches

// The INT8 side of a node both kernels share: one requantization scale per output channel,
// computed exactly as the reference computes it, and the zero points and fused clamp.
struct Quantized {
  std::vector<float> scales;
  std::int32_t x_zero_point = 0;
  vnni::OutputParams output;
  bool has_bias = false;
};

// The node's INT8 parameters, or false when they are not the per-tensor activations and
// symmetric weights the kernels compute.
bool read_quantization(const ModelGraph& graph, const GraphNode& node, std::int64_t out_channels,
                       Quantized* q) {
  auto tensor = [&](int t) -> const GraphTensor& { return graph.tensors[static_cast<size_t>(t)]; };
  const GraphTensor& x = tensor(node.inputs[0]);
  const GraphTensor& w = tensor(node.inputs[1]);
  const GraphTensor& y = tensor(node.outputs[0]);
  if (x.info.type != DataType::kInt8 || w.info.type != DataType::kInt8 ||
      y.info.type != DataType::kInt8 || w.constant < 0 || x.constant >= 0)
    return false;
  q->has_bias = node.inputs.size() > 2 && node.inputs[2] >= 0;
  if (q->has_bias) {
    const GraphTensor& b = tensor(node.inputs[2]);
    if (b.info.type != DataType::kInt32 || b.constant < 0 ||
        b.info.shape.elements() != out_channels)
      return false;
  }
  const Quantization& xq = x.info.quantization;
  const Quantization& wq = w.info.quantization;
  const Quantization& yq = y.info.quantization;
  if (xq.scales.size() != 1 || yq.scales.size() != 1 || wq.scales.empty() || wq.zero_point != 0)
    return false;
  if (wq.scales.size() != 1 && static_cast<std::int64_t>(wq.scales.size()) != out_channels)
    return false;
  auto int8_range = [](std::int32_t v) { return v >= -128 && v <= 127; };
  if (!int8_range(xq.zero_point) || !int8_range(yq.zero_point)) return false;
  const float x_scale = xq.scales[0], y_scale = yq.scales[0];
  q->scales.resize(static_cast<size_t>(out_channels));
  for (std::int64_t o = 0; o < out_channels; ++o) {
    const float w_scale = wq.scales.size() == 1 ? wq.scales[0] : wq.scales[static_cast<size_t>(o)];
    q->scales[static_cast<size_t>(o)] = x_scale * w_scale / y_scale;  // as the reference
  }
  q->x_zero_point = xq.zero_point;
  q->output.zero_point = yq.zero_point;
  const auto [lo, hi] = int8_clamp(node.attributes, y_scale, yq.zero_point);
  q->output.min = lo;
  q->output.max = hi;
  return lo <= hi;
}

// One thread's share of the output: pixels or rows [begin, end), and for the GEMM the
// output-channel chunks [chunk0, chunk1).
struct Slice {
  std::int64_t begin = 0, end = 0;
  std::size_t chunk0 = 0, chunk1 = 0;
};

// [0, count) in `parts` near-equal ranges.
// Threads worth waking for `macs` multiply-adds: handing a slice to a pool thread and waiting
// for it costs a few microseconds, about what a core does in 2^18 VNNI multiply-adds, so the
// small layers of small models run on fewer threads (MobileNetV2 0.35 at 128 has many).
std::int64_t threads_for(std::int64_t macs, int threads) {
  constexpr std::int64_t kMacsPerThread = std::int64_t{1} << 18;
  return std::clamp<std::int64_t>(macs / kMacsPerThread, 1, std::max(1, threads));
}

std::vector<Slice> even_slices(std::int64_t count, std::int64_t parts) {
  std::vector<Slice> slices;
  for (std::int64_t i = 0, begin = 0; i < parts; ++i) {
    const std::int64_t size = count / parts + (i < count % parts ? 1 : 0);
    slices.push_back({begin, begin + size, 0, 0});
    begin += size;
  }
  return slices;
}

// The shared frame of both kernels: budgeted buffers, binding and slicing over the pool.
class VnniKernel : public NodeKernel {
 public:
  VnniKernel(const GraphNode& node, const VnniKernelOptions& options, Quantized quantized)
      : node_(node), options_(options), q_(std::move(quantized)) {}

  bool has_weights() const override { return true; }
  Status prepare(const ConstantBytes& constants) override;
  Status bind(const NodeBinding& binding, pthreadpool_t pool) override;
  Status run(pthreadpool_t pool) override;
  void release() noexcept override {
    packed_.reset();
    scratch_.reset();
    prepared_ = false;
    x_ = nullptr;
    y_ = nullptr;
  }

 protected:
  virtual std::size_t weight_bytes() const = 0;  // of the graph's int8 weights
  virtual std::size_t packed_bytes() const = 0;
  virtual std::size_t scratch_bytes_per_slice() const { return 0; }
  // `bias`: the graph's int32 bias bytes (any alignment), or nullptr.
  virtual void pack(const std::int8_t* weights, const std::uint8_t* bias, void* packed) const = 0;
  virtual void run_slice(const Slice& slice, std::uint8_t* scratch) const = 0;

  std::int64_t out_channels() const { return static_cast<std::int64_t>(q_.scales.size()); }

  GraphNode node_;
  VnniKernelOptions options_;
  Quantized q_;
  std::vector<Slice> slices_;  // planned by the concrete kernel when it is made
  BudgetBuffer packed_, scratch_;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
  std::size_t scratch_stride_ = 0;
  bool prepared_ = false;

 private:
  static void run_task(void* context, size_t index) {
    auto* self = static_cast<VnniKernel*>(context);
    self->run_slice(self->slices_[index], static_cast<std::uint8_t*>(self->scratch_.data()) +
                                              index * self->scratch_stride_);
  }
};

Status VnniKernel::prepare(const ConstantBytes& constants) {
  if (prepared_) return Status::ok();
  auto weights = constants(1);
  if (!weights) return weights.status();
  if (weights->size() != weight_bytes())
    return Status(ErrorCode::kInvalidArgument, "node '" + node_.name + "': weights hold " +
                                                   std::to_string(weights->size()) + " bytes");
  std::span<const std::uint8_t> bias;
  if (q_.has_bias) {
    auto b = constants(2);
    if (!b) return b.status();
    bias = *b;
    if (static_cast<std::int64_t>(bias.size()) != out_channels() * 4)
      return Status(ErrorCode::kInvalidArgument, "node '" + node_.name + "': bias holds " +
                                                     std::to_string(bias.size()) + " bytes");
  }
  MemoryBudget& budget = *options_.budget;
  auto packed = BudgetBuffer::allocate(budget, options_.owner, MemoryCategory::kPackedWeights,
                                       packed_bytes(), kAlignment);
  if (!packed) return packed.status().with_context("node '" + node_.name + "' packed weights");
  pack(reinterpret_cast<const std::int8_t*>(weights->data()), q_.has_bias ? bias.data() : nullptr,
       packed->data());
  BudgetBuffer scratch;
  scratch_stride_ = (scratch_bytes_per_slice() + kAlignment - 1) / kAlignment * kAlignment;
  if (scratch_stride_ > 0) {
    auto made = BudgetBuffer::allocate(budget, options_.owner, MemoryCategory::kScratch,
                                       scratch_stride_ * slices_.size(), kAlignment);
    if (!made) return made.status().with_context("node '" + node_.name + "' activation tiles");
    scratch = std::move(*made);
  }
  packed_ = std::move(*packed);
  scratch_ = std::move(scratch);
  prepared_ = true;
  return Status::ok();
}

Status VnniKernel::bind(const NodeBinding& binding, pthreadpool_t) {
  if (!prepared_)
    return Status(ErrorCode::kInternal, "node '" + node_.name + "' bound before prepare()");
  if (binding.inputs.empty() || binding.outputs.empty() || binding.inputs[0] == nullptr ||
      binding.outputs[0] == nullptr)
    return Status(ErrorCode::kInvalidArgument, "node '" + node_.name + "' bound without tensors");
  x_ = static_cast<const std::int8_t*>(binding.inputs[0]);
  y_ = static_cast<std::int8_t*>(binding.outputs[0]);
  return Status::ok();
}

Status VnniKernel::run(pthreadpool_t pool) {
  if (!prepared_ || x_ == nullptr)
    return Status(ErrorCode::kInternal, "node '" + node_.name + "' run before prepare()/bind()");
  if (slices_.size() == 1 || pool == nullptr) {
    for (size_t i = 0; i < slices_.size(); ++i) run_task(this, i);
  } else {
    pthreadpool_parallelize_1d(pool, &VnniKernel::run_task, this, slices_.size(), 0);
  }
  return Status::ok();
}

// A GEMM over output pixels: a 1x1 convolution (stride 1, no padding, one group) or fully
// connected layer reads its input's pixels; a dense convolution (`dense`) reads its windows'
// patches.
class GemmKernel final : public VnniKernel {
 public:
  GemmKernel(const GraphNode& node, const VnniKernelOptions& options, Quantized quantized,
             std::int64_t pixels, std::int64_t in_channels,
             std::optional<vnni::DenseConvShape> dense = std::nullopt)
      : VnniKernel(node, options, std::move(quantized)),
        pixels_(pixels),
        dense_(dense),
        layout_(in_channels, out_channels()) {
    plan();
  }

 protected:
  std::size_t weight_bytes() const override {
    return static_cast<std::size_t>(layout_.in_channels() * layout_.out_channels());
  }
  std::size_t packed_bytes() const override { return layout_.packed_bytes(); }
  std::size_t scratch_bytes_per_slice() const override { return layout_.tile_bytes(); }
  void pack(const std::int8_t* weights, const std::uint8_t* bias, void* packed) const override {
    layout_.pack(weights, bias, q_.scales, q_.x_zero_point, packed);
  }
  void run_slice(const Slice& s, std::uint8_t* scratch) const override {
    if (dense_) {
      const vnni::Patches patches{&*dense_, x_, q_.x_zero_point};
      layout_.run(packed_.data(), &vnni::load_patches, &patches, y_, s.begin, s.end, s.chunk0,
                  s.chunk1, q_.output, scratch);
    } else {
      const vnni::PixelRows rows{x_, layout_.in_channels()};
      layout_.run(packed_.data(), &vnni::load_pixel_rows, &rows, y_, s.begin, s.end, s.chunk0,
                  s.chunk1, q_.output, scratch);
    }
  }

 private:
  // Pixels when there are enough for a few tiles per thread; otherwise output-channel chunks
  // (the classifier's single pixel), balanced by their 16-channel blocks.
  void plan() {
    const std::int64_t threads =
        threads_for(pixels_ * layout_.in_channels() * layout_.out_channels(), options_.threads);
    const auto& chunks = layout_.chunks();
    const std::int64_t chunk_count = static_cast<std::int64_t>(chunks.size());
    if (threads > 1 && pixels_ < 24 * threads && chunk_count >= threads) {
      const std::int64_t blocks = chunks.back().block0 + chunks.back().blocks;
      std::size_t c = 0;
      for (std::int64_t i = 0; i < threads; ++i) {
        Slice slice{0, pixels_, c, c};
        const std::int64_t until = blocks * (i + 1) / threads;
        while (c < chunks.size() && (chunks[c].block0 < until || i + 1 == threads)) ++c;
        slice.chunk1 = c;
        if (slice.chunk1 > slice.chunk0) slices_.push_back(slice);
      }
      return;
    }
    slices_ = even_slices(pixels_, std::min(threads, pixels_));
    for (Slice& s : slices_) s.chunk1 = chunks.size();
  }

  std::int64_t pixels_;
  std::optional<vnni::DenseConvShape> dense_;
  vnni::GemmLayout layout_;
};

class DepthwiseKernel final : public VnniKernel {
 public:
  DepthwiseKernel(const GraphNode& node, const VnniKernelOptions& options, Quantized quantized,
                  const vnni::DepthwiseShape& shape)
      : VnniKernel(node, options, std::move(quantized)), layout_(shape) {
    const std::int64_t rows = shape.n * shape.oh;
    const std::int64_t threads =
        threads_for(rows * shape.ow * shape.c * vnni::DepthwiseLayout::kTaps, options_.threads);
    slices_ = even_slices(rows, std::min(threads, rows));
  }

 protected:
  std::size_t weight_bytes() const override {
    return static_cast<std::size_t>(layout_.shape().c) * vnni::DepthwiseLayout::kTaps;
  }
  std::size_t packed_bytes() const override { return layout_.packed_bytes(); }
  void pack(const std::int8_t* weights, const std::uint8_t* bias, void* packed) const override {
    layout_.pack(weights, bias, q_.scales, q_.x_zero_point, packed);
  }
  void run_slice(const Slice& s, std::uint8_t*) const override {
    layout_.run(packed_.data(), x_, y_, s.begin, s.end, q_.output);
  }

 private:
  vnni::DepthwiseLayout layout_;
};

bool positive(const Shape& shape) {
  for (int i = 0; i < shape.rank; ++i)
    if (shape[i] < 1) return false;
  return true;
}

// The kernel for `node`, or nullptr when neither kernel computes it.
std::unique_ptr<NodeKernel> make_kernel(const ModelGraph& graph, const GraphNode& node,
                                        const VnniKernelOptions& options) {
  const bool fc = node.op == OpType::kFullyConnected;
  if ((!fc && node.op != OpType::kConv2d) || node.inputs.size() < 2 || node.outputs.size() != 1)
    return nullptr;
  const auto tensors = static_cast<std::int64_t>(graph.tensors.size());
  for (int t : {node.inputs[0], node.inputs[1], node.outputs[0]})
    if (t < 0 || t >= tensors) return nullptr;
  if (node.inputs.size() > 2 && node.inputs[2] >= tensors) return nullptr;
  const Shape& xs = graph.tensors[static_cast<size_t>(node.inputs[0])].info.shape;
  const Shape& ws = graph.tensors[static_cast<size_t>(node.inputs[1])].info.shape;
  const Shape& ys = graph.tensors[static_cast<size_t>(node.outputs[0])].info.shape;
  if (!positive(xs) || !positive(ws) || !positive(ys)) return nullptr;
  Quantized q;
  if (fc) {
    if (xs.rank != 2 || ws.rank != 2 || ys.rank != 2 || ws[1] != xs[1] || ys[0] != xs[0] ||
        ys[1] != ws[0])
      return nullptr;
    if (!read_quantization(graph, node, ws[0], &q)) return nullptr;
    return std::make_unique<GemmKernel>(node, options, std::move(q), xs[0], xs[1]);
  }
  if (xs.rank != 4 || ws.rank != 4 || ys.rank != 4 || ys[0] != xs[0]) return nullptr;
  const OpAttributes& a = node.attributes;
  const std::int64_t c = xs[3], o = ws[0];
  if (ys[3] != o || a.kernel_h != ws[1] || a.kernel_w != ws[2]) return nullptr;
  const bool pointwise = a.groups == 1 && ws[1] == 1 && ws[2] == 1 && ws[3] == c &&
                         a.stride_h == 1 && a.stride_w == 1 && a.pad_top == 0 && a.pad_left == 0 &&
                         a.pad_bottom == 0 && a.pad_right == 0 && ys[1] == xs[1] && ys[2] == xs[2];
  if (pointwise) {
    if (!read_quantization(graph, node, o, &q)) return nullptr;
    return std::make_unique<GemmKernel>(node, options, std::move(q), xs[0] * xs[1] * xs[2], c);
  }
  auto small = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  const bool output_fits =
      ys[1] == reference::conv_output_size(xs[1], a.kernel_h, a.stride_h, a.dilation_h, a.pad_top,
                                           a.pad_bottom) &&
      ys[2] == reference::conv_output_size(xs[2], a.kernel_w, a.stride_w, a.dilation_w, a.pad_left,
                                           a.pad_right);
  // Dense: one patch of K = KH * KW * C bytes per output pixel in the tile, so K is bounded to
  // keep the tiles small (MobileNet's 3x3x3 stem has K = 27).
  const bool dense =
      a.groups == 1 && ws[3] == c && a.dilation_h == 1 && a.dilation_w == 1 &&
      small(a.kernel_h, 1, vnni::kMaxKernel) && small(a.kernel_w, 1, vnni::kMaxKernel) &&
      ws[1] * ws[2] * c <= kMaxPatchBytes && small(a.stride_h, 1, 4) && small(a.stride_w, 1, 4) &&
      small(a.pad_top, 0, a.kernel_h) && small(a.pad_left, 0, a.kernel_w) &&
      small(a.pad_bottom, 0, a.kernel_h) && small(a.pad_right, 0, a.kernel_w) && output_fits;
  if (dense) {
    if (!read_quantization(graph, node, o, &q)) return nullptr;
    const vnni::DenseConvShape shape{.n = xs[0],
                                     .h = xs[1],
                                     .w = xs[2],
                                     .c = c,
                                     .oh = ys[1],
                                     .ow = ys[2],
                                     .kernel_h = a.kernel_h,
                                     .kernel_w = a.kernel_w,
                                     .stride_h = a.stride_h,
                                     .stride_w = a.stride_w,
                                     .pad_top = a.pad_top,
                                     .pad_left = a.pad_left};
    return std::make_unique<GemmKernel>(node, options, std::move(q), xs[0] * ys[1] * ys[2],
                                        ws[1] * ws[2] * c, shape);
  }
  const bool depthwise = a.groups == c && o == c && ws[1] == 3 && ws[2] == 3 && ws[3] == 1 &&
                         a.dilation_h == 1 && a.dilation_w == 1 && small(a.stride_h, 1, 2) &&
                         small(a.stride_w, 1, 2) && small(a.pad_top, 0, 2) &&
                         small(a.pad_left, 0, 2) && small(a.pad_bottom, 0, 2) &&
                         small(a.pad_right, 0, 2) && output_fits;
  if (!depthwise || !read_quantization(graph, node, o, &q)) return nullptr;
  const vnni::DepthwiseShape shape{.n = xs[0],
                                   .h = xs[1],
                                   .w = xs[2],
                                   .c = c,
                                   .oh = ys[1],
                                   .ow = ys[2],
                                   .stride_h = a.stride_h,
                                   .stride_w = a.stride_w,
                                   .pad_top = a.pad_top,
                                   .pad_left = a.pad_left};
  return std::make_unique<DepthwiseKernel>(node, options, std::move(q), shape);
}

}  // namespace

bool vnni_kernels_supported() {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return supported;
}

Result<std::unique_ptr<NodeKernel>> make_vnni_node_kernel(const ModelGraph& graph,
                                                          const GraphNode& node,
                                                          const VnniKernelOptions& options) {
  if (options.budget == nullptr)
    return Status(ErrorCode::kInvalidArgument, "VNNI kernels need a memory budget");
  if (!vnni_kernels_supported()) return std::unique_ptr<NodeKernel>();
  return make_kernel(graph, node, options);
}

}  // namespace fovea::inference
