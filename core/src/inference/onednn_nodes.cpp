// INT8 Conv2d and FullyConnected on oneDNN 2.6 primitives (see onednn_nodes.h).
//
// Mapping of the graph IR's INT8 semantics (reference::conv2d_qs8) onto a oneDNN s8 convolution:
// - activations: s8 source with its zero point as a oneDNN source zero point (oneDNN subtracts it
//   exactly, padding included, through a compensation term made by the weights reorder);
// - weights: s8, per-output-channel scales folded into oneDNN's output scales, one float per
//   channel computed exactly as the reference does: x_scale * w_scale[o] / y_scale;
// - bias: s32, added to the s32 accumulator before scaling (oneDNN's order, the reference's too);
// - output: clip to [y_min - y_zp, y_max - y_zp] (the fused clamp), then an explicit round
//   post-op (half to even), then the output zero point, then saturation. Without the round
//   post-op oneDNN rounds once, after adding the zero point, which differs from XNNPACK's
//   round-then-add on exact ties (x.5) whenever the zero point is odd: about 1 value in 10^5.
//   With it the result is bit-exact; the only remaining gap is float conversion of accumulators
//   beyond 2^24 in magnitude, which no real layer reaches.
// A fully connected layer is a 1x1 convolution over a 1x1 image.
//
// Threads: oneDNN's OpenMP team is never started. Every primitive is created and run with one
// OpenMP thread, on one slice of the output (batch items, output rows, or output channels of a
// single-pixel output), and the slices run as pthreadpool tasks. Row slices read overlapping
// input rows with their own padding, so every output value is computed exactly as unsliced.

#include "onednn_nodes.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// oneDNN runs on GNU OpenMP (libgomp, linked beside it); only these two calls are needed, so
// they are declared here rather than through a compiler's omp.h (clang's belongs to libomp).
extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int threads);
}

namespace fovea::inference {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

// Sets this thread's OpenMP team size to one while it lives, so a oneDNN primitive made or run
// here is single-threaded (oneDNN sizes its work split and scratchpad by it).
class SingleOmpThread {
 public:
  SingleOmpThread() : previous_(omp_get_max_threads()) {
    if (previous_ != 1) omp_set_num_threads(1);
  }
  ~SingleOmpThread() {
    if (previous_ != 1) omp_set_num_threads(previous_);
  }
  SingleOmpThread(const SingleOmpThread&) = delete;
  SingleOmpThread& operator=(const SingleOmpThread&) = delete;

 private:
  int previous_;
};

// One CPU engine for the process (engines are thread-safe). First, oneDNN's primitive cache is
// turned off unless the environment sizes it: a kernel keeps its primitives for its whole life,
// so the cache would only keep them alive after their model is gone (about 40-70 KB each, up to
// 1024 of them) -- memory outside the budget that outlives the models.
dnnl::engine& cpu_engine() {
  static dnnl::engine engine = [] {
    if (std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") == nullptr &&
        std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") == nullptr)
      dnnl_set_primitive_cache_capacity(0);
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

constexpr std::size_t kAlignment = 64;
std::size_t align_up(std::size_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// A node's geometry as a convolution (fully connected: 1x1 kernel over a 1x1 image).
struct ConvShape {
  std::int64_t n = 1, h = 1, w = 1, c = 1;  // input
  std::int64_t oh = 1, ow = 1, o = 1;       // output
  std::int64_t kh = 1, kw = 1, groups = 1;
  std::int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  std::int64_t pt = 0, pl = 0, pb = 0, pr = 0;
};

// One slice of the output, computed by one single-threaded primitive.
struct Slice {
  std::int64_t n0 = 0, n = 1;     // batch items
  std::int64_t r0 = 0, rows = 1;  // output rows
  std::int64_t o0 = 0, oc = 1;    // output channels
  std::int64_t iy0 = 0, ih = 1;   // input rows read
  std::int64_t pad_top = 0, pad_bottom = 0;
  int packed = 0;  // index of the packed weights it reads
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  dnnl::stream stream;
  memory src, dst, bias, scratchpad;
  std::size_t scratchpad_bytes = 0, scratchpad_offset = 0;
  std::vector<dnnl_exec_arg_t> args;
  dnnl_status_t status = dnnl_success;
};

// Weights in oneDNN's blocked layout (with its s8 and zero-point compensations), made by a
// reorder from the user layout [O, KH, KW, C/groups] at prepare().
struct PackedWeights {
  std::int64_t o0 = 0, oc = 0;  // output channels covered
  memory user, packed;
  dnnl::reorder reorder;
  std::size_t reorder_scratchpad_bytes = 0;
  memory reorder_scratchpad;
  BudgetBuffer buffer;
};

Status dnnl_failure(const GraphNode& node, const char* what, dnnl_status_t status) {
  return Status(status == dnnl_out_of_memory ? ErrorCode::kOutOfMemory : ErrorCode::kInternal,
                "node '" + node.name + "' (" + op_type_name(node.op) + "): oneDNN " + what +
                    " failed (dnnl_status " + std::to_string(static_cast<int>(status)) + ")");
}

class OnednnConvKernel final : public NodeKernel {
 public:
  OnednnConvKernel(const GraphNode& node, const OnednnKernelOptions& options)
      : node_(node), options_(options) {}

  // Makes the primitives; false when oneDNN has no exact fast kernel for the node.
  Result<bool> create(const ModelGraph& graph);

  bool has_weights() const override { return true; }
  Status prepare(const ConstantBytes& constants) override;
  Status bind(const NodeBinding& binding, pthreadpool_t pool) override;
  Status run(pthreadpool_t pool) override;
  void release() noexcept override {
    for (PackedWeights& p : packed_) p.buffer.reset();
    bias_buffer_.reset();
    scratchpad_buffer_.reset();
    prepared_ = false;
  }

 private:
  static void run_slice(void* context, size_t index);
  Slice whole_slice() const {
    Slice slice;
    slice.n = shape_.n;
    slice.rows = shape_.oh;
    slice.oc = shape_.o;
    slice.ih = shape_.h;
    slice.pad_top = shape_.pt;
    slice.pad_bottom = shape_.pb;
    return slice;
  }
  std::vector<Slice> plan_slices() const;
  Result<bool> make_primitives(std::vector<Slice> plan);
  memory::desc src_desc(const Slice& s) const {
    return memory::desc({s.n, shape_.c, s.ih, shape_.w}, Dt::s8, Tag::nhwc);
  }
  memory::desc dst_desc(const Slice& s) const {
    return memory::desc({s.n, s.oc, s.rows, shape_.ow}, Dt::s8, Tag::nhwc);
  }
  memory::desc user_weights_desc(std::int64_t oc) const {
    const std::int64_t g = shape_.groups;
    if (g == 1) return memory::desc({oc, shape_.c, shape_.kh, shape_.kw}, Dt::s8, Tag::ohwi);
    return memory::desc({g, oc / g, shape_.c / g, shape_.kh, shape_.kw}, Dt::s8, Tag::gohwi);
  }

  GraphNode node_;
  OnednnKernelOptions options_;
  ConvShape shape_;
  bool has_bias_ = false;
  std::vector<float> output_scales_;  // per output channel
  int x_zero_point_ = 0, y_zero_point_ = 0;
  int y_min_ = -128, y_max_ = 127;
  std::vector<Slice> slices_;
  std::vector<PackedWeights> packed_;
  BudgetBuffer bias_buffer_;
  BudgetBuffer scratchpad_buffer_;
  std::size_t scratchpad_total_ = 0;
  bool prepared_ = false;
};

std::vector<Slice> OnednnConvKernel::plan_slices() const {
  const ConvShape& s = shape_;
  const std::int64_t threads = std::max(1, options_.threads);
  std::vector<Slice> slices;
  if (threads == 1) return {whole_slice()};
  if (s.n > 1) {  // batch items (row slices of several items would not be contiguous)
    const std::int64_t parts = std::min(threads, s.n);
    for (std::int64_t i = 0, n0 = 0; i < parts; ++i) {
      Slice slice = whole_slice();
      slice.n0 = n0;
      slice.n = s.n / parts + (i < s.n % parts ? 1 : 0);
      n0 += slice.n;
      slices.push_back(slice);
    }
    return slices;
  }
  if (s.oh >= 2) {  // output rows, each slice reading the input rows its windows touch
    const std::int64_t parts = std::min(threads, s.oh);
    const std::int64_t extent = (s.kh - 1) * s.dh + 1;
    for (std::int64_t i = 0, r0 = 0; i < parts; ++i) {
      Slice slice = whole_slice();
      slice.r0 = r0;
      slice.rows = s.oh / parts + (i < s.oh % parts ? 1 : 0);
      r0 += slice.rows;
      const std::int64_t first = slice.r0 * s.sh - s.pt;                            // may be < 0
      const std::int64_t end = (slice.r0 + slice.rows - 1) * s.sh - s.pt + extent;  // exclusive
      slice.iy0 = std::max<std::int64_t>(first, 0);
      slice.pad_top = slice.iy0 - first;
      const std::int64_t iy1 = std::min(end, s.h);
      slice.pad_bottom = end - iy1;
      slice.ih = iy1 - slice.iy0;
      if (slice.ih < 1) return {whole_slice()};  // a slice entirely in the padding
      slices.push_back(slice);
    }
    return slices;
  }
  if (s.groups == 1 && s.n * s.oh * s.ow == 1 && s.o >= 32 * threads) {
    // One output pixel (fully connected): slices of output channels, whole 16-channel blocks.
    const std::int64_t per = (s.o + threads * 16 - 1) / (threads * 16) * 16;
    for (std::int64_t o0 = 0; o0 < s.o; o0 += per) {
      Slice slice = whole_slice();
      slice.o0 = o0;
      slice.oc = std::min(per, s.o - o0);
      slice.packed = static_cast<int>(slices.size());
      slices.push_back(slice);
    }
    return slices;
  }
  return {whole_slice()};
}

Result<bool> OnednnConvKernel::create(const ModelGraph& graph) {
  const bool fc = node_.op == OpType::kFullyConnected;
  if (!fc && node_.op != OpType::kConv2d) return false;
  if (node_.inputs.size() < 2 || node_.outputs.size() != 1) return false;
  auto tensor = [&](int t) -> const GraphTensor& { return graph.tensors[static_cast<size_t>(t)]; };
  const GraphTensor& x = tensor(node_.inputs[0]);
  const GraphTensor& w = tensor(node_.inputs[1]);
  const GraphTensor& y = tensor(node_.outputs[0]);
  has_bias_ = node_.inputs.size() > 2 && node_.inputs[2] >= 0;
  if (x.info.type != DataType::kInt8 || w.info.type != DataType::kInt8 ||
      y.info.type != DataType::kInt8 || w.constant < 0)
    return false;
  if (has_bias_) {
    const GraphTensor& b = tensor(node_.inputs[2]);
    if (b.info.type != DataType::kInt32 || b.constant < 0) return false;
  }
  // Per-tensor activations, symmetric weights with one scale or one per output channel.
  const Quantization& xq = x.info.quantization;
  const Quantization& wq = w.info.quantization;
  const Quantization& yq = y.info.quantization;
  if (xq.scales.size() != 1 || yq.scales.size() != 1 || wq.scales.empty() || wq.zero_point != 0)
    return false;
  auto int8_range = [](std::int32_t v) { return v >= -128 && v <= 127; };
  if (!int8_range(xq.zero_point) || !int8_range(yq.zero_point)) return false;

  ConvShape& s = shape_;
  const OpAttributes& a = node_.attributes;
  if (fc) {
    if (x.info.shape.rank != 2 || w.info.shape.rank != 2 || y.info.shape.rank != 2) return false;
    s.n = x.info.shape[0];
    s.c = x.info.shape[1];
    s.o = w.info.shape[0];
  } else {
    if (x.info.shape.rank != 4 || w.info.shape.rank != 4 || y.info.shape.rank != 4) return false;
    s.n = x.info.shape[0];
    s.h = x.info.shape[1];
    s.w = x.info.shape[2];
    s.c = x.info.shape[3];
    s.oh = y.info.shape[1];
    s.ow = y.info.shape[2];
    s.o = w.info.shape[0];
    s.kh = w.info.shape[1];
    s.kw = w.info.shape[2];
    s.groups = a.groups;
    s.sh = a.stride_h;
    s.sw = a.stride_w;
    s.dh = a.dilation_h;
    s.dw = a.dilation_w;
    s.pt = a.pad_top;
    s.pl = a.pad_left;
    s.pb = a.pad_bottom;
    s.pr = a.pad_right;
    if (s.groups < 1 || s.c % s.groups != 0 || s.o % s.groups != 0 ||
        w.info.shape[3] * s.groups != s.c)
      return false;
  }
  if (wq.scales.size() != 1 && static_cast<std::int64_t>(wq.scales.size()) != s.o) return false;

  const float x_scale = xq.scales[0], y_scale = yq.scales[0];
  output_scales_.resize(static_cast<size_t>(s.o));
  for (std::int64_t o = 0; o < s.o; ++o) {
    const float w_scale = wq.scales.size() == 1 ? wq.scales[0] : wq.scales[static_cast<size_t>(o)];
    output_scales_[static_cast<size_t>(o)] = x_scale * w_scale / y_scale;  // as the reference
  }
  x_zero_point_ = xq.zero_point;
  y_zero_point_ = yq.zero_point;
  std::tie(y_min_, y_max_) = int8_clamp(a, y_scale, y_zero_point_);

  // The planned slices; if oneDNN refuses the slicing (slices that must share one weights
  // layout), the whole output as one slice.
  std::vector<Slice> plan = plan_slices();
  Result<bool> made = make_primitives(std::move(plan));
  if (made.is_ok() && !*made && slices_.size() > 1) made = make_primitives({whole_slice()});
  return made;
}

Result<bool> OnednnConvKernel::make_primitives(std::vector<Slice> plan) {
  const ConvShape& s = shape_;
  slices_ = std::move(plan);
  packed_.clear();
  scratchpad_total_ = 0;
  try {
    SingleOmpThread single;
    dnnl::engine& engine = cpu_engine();
    for (size_t i = 0; i < slices_.size(); ++i) {
      Slice& slice = slices_[i];
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      attr.set_output_scales(2, std::vector<float>(output_scales_.begin() + slice.o0,
                                                   output_scales_.begin() + slice.o0 + slice.oc));
      if (x_zero_point_ != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {x_zero_point_});
      if (y_zero_point_ != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {y_zero_point_});
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip,
                         static_cast<float>(y_min_ - y_zero_point_),
                         static_cast<float>(y_max_ - y_zero_point_));
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_round, 0.0f, 0.0f);
      attr.set_post_ops(ops);
      const memory::desc bias_desc =
          has_bias_ ? memory::desc({slice.oc}, Dt::s32, Tag::a) : memory::desc();
      memory::dims weights_dims =
          s.groups == 1 ? memory::dims{slice.oc, s.c, s.kh, s.kw}
                        : memory::dims{s.groups, s.o / s.groups, s.c / s.groups, s.kh, s.kw};
      // Slices that share packed weights must agree on their layout: the first picks it.
      const bool shares = slice.packed < static_cast<int>(packed_.size());
      const memory::desc weights_desc =
          shares ? packed_[static_cast<size_t>(slice.packed)].packed.get_desc()
                 : memory::desc(weights_dims, Dt::s8, Tag::any);
      dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_desc(slice),
          weights_desc, bias_desc, dst_desc(slice), {s.sh, s.sw}, {s.dh - 1, s.dw - 1},
          {slice.pad_top, s.pl}, {slice.pad_bottom, s.pr});
      dnnl_primitive_desc_t raw_pd = nullptr;
      const dnnl_status_t made =
          dnnl_primitive_desc_create(&raw_pd, &desc.data, attr.get(), engine.get(), nullptr);
      if (made == dnnl_unimplemented) return false;
      if (made != dnnl_success) return dnnl_failure(node_, "convolution descriptor", made);
      // The C++ wrapper clones the C descriptor; the original is ours to destroy.
      const std::unique_ptr<dnnl_primitive_desc, dnnl_status_t (*)(dnnl_primitive_desc_t)> owned(
          raw_pd, &dnnl_primitive_desc_destroy);
      slice.pd = dnnl::convolution_forward::primitive_desc(raw_pd);
      // Only VNNI (or AMX) kernels: older ISAs halve s8 weights to dodge a saturating
      // instruction, and reference or gemm implementations are slower than XNNPACK.
      const std::string impl = slice.pd.impl_info_str();
      if (impl.find("vnni") == std::string::npos && impl.find("amx") == std::string::npos)
        return false;
      slice.conv = dnnl::convolution_forward(slice.pd);
      slice.stream = dnnl::stream(engine);
      slice.src = memory(src_desc(slice), engine, DNNL_MEMORY_NONE);
      slice.dst = memory(dst_desc(slice), engine, DNNL_MEMORY_NONE);
      slice.scratchpad_bytes = slice.pd.scratchpad_desc().get_size();
      slice.scratchpad = memory(slice.pd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
      slice.scratchpad_offset = scratchpad_total_;
      scratchpad_total_ += align_up(slice.scratchpad_bytes);
      if (has_bias_) slice.bias = memory(bias_desc, engine, DNNL_MEMORY_NONE);
      if (!shares) {
        PackedWeights p;
        p.o0 = slice.o0;
        p.oc = slice.oc;
        p.user = memory(user_weights_desc(slice.oc), engine, DNNL_MEMORY_NONE);
        p.packed = memory(slice.pd.weights_desc(), engine, DNNL_MEMORY_NONE);
        dnnl::primitive_attr reorder_attr;
        reorder_attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        dnnl::reorder::primitive_desc reorder_pd(engine, p.user.get_desc(), engine,
                                                 p.packed.get_desc(), reorder_attr);
        p.reorder = dnnl::reorder(reorder_pd);
        p.reorder_scratchpad_bytes = reorder_pd.scratchpad_desc().get_size();
        p.reorder_scratchpad = memory(reorder_pd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
        packed_.push_back(std::move(p));
      }
      const PackedWeights& p = packed_[static_cast<size_t>(slice.packed)];
      slice.args = {{DNNL_ARG_SRC, slice.src.get()},
                    {DNNL_ARG_WEIGHTS, p.packed.get()},
                    {DNNL_ARG_DST, slice.dst.get()},
                    {DNNL_ARG_SCRATCHPAD, slice.scratchpad.get()}};
      if (has_bias_) slice.args.push_back({DNNL_ARG_BIAS, slice.bias.get()});
    }
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) return false;
    return dnnl_failure(node_, e.what(), e.status);
  }
  return true;
}

Status OnednnConvKernel::prepare(const ConstantBytes& constants) {
  if (prepared_) return Status::ok();
  MemoryBudget& budget = *options_.budget;
  auto weights = constants(1);
  if (!weights) return weights.status();
  const std::int64_t per_channel = shape_.kh * shape_.kw * (shape_.c / shape_.groups);
  if (static_cast<std::int64_t>(weights->size()) != shape_.o * per_channel)
    return Status(ErrorCode::kInvalidArgument, "node '" + node_.name + "': weights hold " +
                                                   std::to_string(weights->size()) + " bytes");
  auto fail = [&](Status status) {
    release();
    return status;
  };
  SingleOmpThread single;
  for (PackedWeights& p : packed_) {
    auto buffer = BudgetBuffer::allocate(budget, options_.owner, MemoryCategory::kPackedWeights,
                                         p.packed.get_desc().get_size(), kAlignment);
    if (!buffer)
      return fail(buffer.status().with_context("node '" + node_.name + "' packed weights"));
    p.buffer = std::move(*buffer);
    BudgetBuffer reorder_scratchpad;
    if (p.reorder_scratchpad_bytes > 0) {
      auto scratch = BudgetBuffer::allocate(budget, options_.owner, MemoryCategory::kScratch,
                                            p.reorder_scratchpad_bytes, kAlignment);
      if (!scratch) return fail(scratch.status().with_context("node '" + node_.name + "' reorder"));
      reorder_scratchpad = std::move(*scratch);
    }
    // oneDNN takes a non-const handle; the reorder only reads it.
    auto* user = const_cast<std::uint8_t*>(weights->data()) + p.o0 * per_channel;
    dnnl_memory_set_data_handle_v2(p.user.get(), user, nullptr);
    dnnl_memory_set_data_handle_v2(p.packed.get(), p.buffer.data(), nullptr);
    dnnl_memory_set_data_handle_v2(p.reorder_scratchpad.get(), reorder_scratchpad.data(), nullptr);
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, p.user.get()},
                                    {DNNL_ARG_TO, p.packed.get()},
                                    {DNNL_ARG_SCRATCHPAD, p.reorder_scratchpad.get()}};
    dnnl_stream_t stream = slices_[0].stream.get();
    const dnnl_status_t status = dnnl_primitive_execute(p.reorder.get(), stream, 3, args);
    if (status == dnnl_success) dnnl_stream_wait(stream);
    dnnl_memory_set_data_handle_v2(p.user.get(), nullptr, nullptr);
    if (status != dnnl_success) return fail(dnnl_failure(node_, "weights reorder", status));
  }
  if (has_bias_) {
    auto bias = constants(2);
    if (!bias) return fail(bias.status());
    if (static_cast<std::int64_t>(bias->size()) != shape_.o * 4)
      return fail(Status(ErrorCode::kInvalidArgument, "node '" + node_.name + "': bias holds " +
                                                          std::to_string(bias->size()) + " bytes"));
    auto buffer = BudgetBuffer::allocate(budget, options_.owner, MemoryCategory::kPackedWeights,
                                         bias->size(), kAlignment);
    if (!buffer) return fail(buffer.status().with_context("node '" + node_.name + "' bias"));
    bias_buffer_ = std::move(*buffer);
    std::memcpy(bias_buffer_.data(), bias->data(), bias->size());
    for (Slice& slice : slices_)
      dnnl_memory_set_data_handle_v2(
          slice.bias.get(), static_cast<std::int32_t*>(bias_buffer_.data()) + slice.o0, nullptr);
  }
  if (scratchpad_total_ > 0) {
    auto buffer = BudgetBuffer::allocate(budget, options_.owner, MemoryCategory::kScratch,
                                         scratchpad_total_, kAlignment);
    if (!buffer) return fail(buffer.status().with_context("node '" + node_.name + "' scratchpad"));
    scratchpad_buffer_ = std::move(*buffer);
  }
  for (Slice& slice : slices_)
    dnnl_memory_set_data_handle_v2(
        slice.scratchpad.get(),
        slice.scratchpad_bytes > 0
            ? static_cast<std::uint8_t*>(scratchpad_buffer_.data()) + slice.scratchpad_offset
            : nullptr,
        nullptr);
  prepared_ = true;
  return Status::ok();
}

Status OnednnConvKernel::bind(const NodeBinding& binding, pthreadpool_t) {
  if (!prepared_)
    return Status(ErrorCode::kInternal, "node '" + node_.name + "' bound before prepare()");
  const ConvShape& s = shape_;
  auto* x = static_cast<std::uint8_t*>(const_cast<void*>(binding.inputs[0]));
  auto* y = static_cast<std::uint8_t*>(binding.outputs[0]);
  for (Slice& slice : slices_) {
    const std::int64_t x_offset = (slice.n0 * s.h + slice.iy0) * s.w * s.c;
    const std::int64_t y_offset = (slice.n0 * s.oh + slice.r0) * s.ow * s.o + slice.o0;
    dnnl_memory_set_data_handle_v2(slice.src.get(), x + x_offset, nullptr);
    dnnl_memory_set_data_handle_v2(slice.dst.get(), y + y_offset, nullptr);
  }
  return Status::ok();
}

void OnednnConvKernel::run_slice(void* context, size_t index) {
  Slice& slice = static_cast<OnednnConvKernel*>(context)->slices_[index];
  // pthreadpool's workers keep a team size of one from their first slice on; the caller's is
  // restored by run().
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
  slice.status = dnnl_primitive_execute(slice.conv.get(), slice.stream.get(),
                                        static_cast<int>(slice.args.size()), slice.args.data());
  if (slice.status == dnnl_success) slice.status = dnnl_stream_wait(slice.stream.get());
}

Status OnednnConvKernel::run(pthreadpool_t pool) {
  if (!prepared_)
    return Status(ErrorCode::kInternal, "node '" + node_.name + "' run before prepare()");
  SingleOmpThread single;
  if (slices_.size() == 1 || pool == nullptr) {
    for (size_t i = 0; i < slices_.size(); ++i) run_slice(this, i);
  } else {
    pthreadpool_parallelize_1d(pool, &OnednnConvKernel::run_slice, this, slices_.size(), 0);
  }
  for (const Slice& slice : slices_)
    if (slice.status != dnnl_success) return dnnl_failure(node_, "convolution", slice.status);
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<NodeKernel>> make_onednn_node_kernel(const ModelGraph& graph,
                                                            const GraphNode& node,
                                                            const OnednnKernelOptions& options) {
  if (options.budget == nullptr)
    return Status(ErrorCode::kInvalidArgument, "oneDNN kernels need a memory budget");
  if (node.op != OpType::kConv2d && node.op != OpType::kFullyConnected)
    return std::unique_ptr<NodeKernel>();
  auto kernel = std::make_unique<OnednnConvKernel>(node, options);
  auto made = kernel->create(graph);
  if (!made) return made.status();
  if (!*made) return std::unique_ptr<NodeKernel>();
  return std::unique_ptr<NodeKernel>(std::move(kernel));
}

}  // namespace fovea::inference
