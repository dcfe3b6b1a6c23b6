// fovea-kernel-bench: the convolution kernels fovea can run, layer by layer at MobileNetV2-224's
// real shapes, side by side: XNNPACK f32 and qc8 (fovea's NodeKernels over XNNPACK), oneDNN f32
// and s8 with oneDNN's own OpenMP threading (raw primitives, for comparison), and fovea's oneDNN
// s8 NodeKernel (onednn_nodes.cpp, threads on fovea's pthreadpool), and fovea's own AVX-512 VNNI
// kernels (vnni_nodes.cpp; the nodes they decline, such as the stem, run on XNNPACK qc8 in that
// column, as in the executor). Prints medians of N runs per layer, totals per layer type,
// whole-network back-to-back runs (residual adds on XNNPACK in every column, as in a real
// graph), packing time, heap allocations per run, fovea s8's and fovea vnni's outputs against
// XNNPACK qc8's (exactness) and oneDNN's fixed memory overhead. docs/int8-kernels.md holds a
// table it printed.

#include <malloc.h>
#include <unistd.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/timing_stats.h"
#include "fovea/core/xnnpack_memory.h"
#include "node_kernel.h"
#include "onednn_nodes.h"
#include "vnni_nodes.h"

extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int threads);
}

// ---- Heap allocation counting: every malloc-family call in the process, any thread ----------
// (Not under sanitizers, which own malloc.)
namespace {
std::atomic<long> g_heap_allocations{0};
}
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FOVEA_KB_NO_MALLOC_HOOK 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FOVEA_KB_NO_MALLOC_HOOK 1
#endif
#ifndef FOVEA_KB_NO_MALLOC_HOOK
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
void* malloc(size_t n) {
  g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void free(void* p) {
  __libc_free(p);
}
void* memalign(size_t a, size_t n) {
  g_heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  return memalign(a, n);
}
int posix_memalign(void** p, size_t a, size_t n) {
  *p = memalign(a, n);
  return *p != nullptr ? 0 : 12;  // ENOMEM
}
}
#endif

namespace {

using namespace fovea;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: fovea-kernel-bench [options]

Times MobileNetV2-224's convolutions (stem, 1x1 expand/project, 3x3 depthwise s1/s2, last 1x1,
classifier FC) and residual adds per backend and prints a table per thread count.

options:
  --runs N        timed runs per layer and network (median; default 30)
  --threads LIST  comma-separated thread counts (default 1,2)
  --no-layers     only the totals, network runs and memory figures
)";

// ---- MobileNetV2-224 ----------------------------------------------------------------------

struct Layer {
  std::string kind;
  int h = 1, w = 1, c = 1, o = 1, k = 1, s = 1, groups = 1;
  bool relu6 = false;
  int input = -1, input2 = -1;  // producing layers (-1: the network's input)
  bool add() const { return kind == "add"; }
  bool fc() const { return kind == "fc"; }
  int oh() const { return fc() || add() ? h : (h + 2 * (k / 2) - k) / s + 1; }
  std::string key() const {
    char text[96];
    if (add())
      std::snprintf(text, sizeof text, "%dx%dx%d", h, w, c);
    else if (fc())
      std::snprintf(text, sizeof text, "%d -> %d", c, o);
    else
      std::snprintf(text, sizeof text, "%dx%dx%d -> %dx%dx%d", h, w, c, oh(), oh(), o);
    return text;
  }
};

std::vector<Layer> mobilenet_v2() {
  std::vector<Layer> layers;
  auto push = [&](Layer l) {
    l.input = static_cast<int>(layers.size()) - 1;
    layers.push_back(l);
  };
  push({"stem 3x3 s2", 224, 224, 3, 32, 3, 2, 1, true});
  int h = 112, c = 32;
  const int config[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                           {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  for (const auto& [t, out, n, stride] : config) {
    for (int i = 0; i < n; ++i) {
      const int s = i == 0 ? stride : 1, hidden = c * t;
      const int block_input = static_cast<int>(layers.size()) - 1;
      if (t != 1) push({"expand 1x1", h, h, c, hidden, 1, 1, 1, true});
      push({s == 1 ? "dw 3x3 s1" : "dw 3x3 s2", h, h, hidden, hidden, 3, s, hidden, true});
      const int oh = (h + 2 - 3) / s + 1;
      push({"project 1x1", oh, oh, hidden, out, 1, 1, 1, false});
      if (s == 1 && c == out) {
        push({"add", oh, oh, out, out, 0, 0, 0, false});
        layers.back().input2 = block_input;
      }
      h = oh;
      c = out;
    }
  }
  push({"last 1x1", 7, 7, 320, 1280, 1, 1, 1, true});
  // (global average pooling 7x7x1280 -> 1280 sits here in the real network; not timed)
  push({"fc", 1, 1, 1280, 1000, 1, 1, 1, false});
  return layers;
}

// ---- One-node graphs ----------------------------------------------------------------------

template <typename T>
std::span<const std::uint8_t> as_bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(T)};
}

struct LayerData {  // the same random layer in f32 and int8
  std::shared_ptr<Model> f32, int8;
};

LayerData make_layer(const Layer& l, std::mt19937& rng) {
  LayerData d;
  d.f32 = std::make_shared<Model>();
  d.int8 = std::make_shared<Model>();
  const Shape x_shape = l.fc() ? Shape{1, l.c} : Shape{1, l.h, l.w, l.c};
  std::uniform_int_distribution<int> byte(-128, 127), wbyte(-127, 127);
  const float x_scale = 0.02f;
  const std::int32_t x_zero = 3;
  if (l.add()) {
    for (bool quantized : {false, true}) {
      GraphBuilder b(quantized ? *d.int8 : *d.f32);
      Quantization q{{x_scale}, x_zero, -1};
      const DataType type = quantized ? DataType::kInt8 : DataType::kFloat32;
      const int a = b.input("a", type, x_shape, quantized ? q : Quantization{});
      const int c = b.input("b", type, x_shape, quantized ? q : Quantization{});
      auto out = b.node("add", OpType::kAdd, {a, c}, {}, Quantization{{2 * x_scale}, 0, -1});
      if (!out) std::abort();
      b.output(*out);
    }
    return d;
  }
  const int per_out = l.k * l.k * (l.c / l.groups);
  const Shape w_shape = l.fc() ? Shape{l.o, l.c} : Shape{l.o, l.k, l.k, l.c / l.groups};
  std::vector<std::int8_t> w8(static_cast<size_t>(l.o * per_out));
  for (auto& v : w8) v = static_cast<std::int8_t>(wbyte(rng));
  std::vector<float> w_scales(static_cast<size_t>(l.o));
  std::uniform_real_distribution<float> scale(0.002f, 0.01f);
  for (auto& v : w_scales) v = scale(rng);
  std::vector<std::int32_t> bias(static_cast<size_t>(l.o));
  const int spread = static_cast<int>(std::sqrt(per_out) * 3000);
  std::uniform_int_distribution<int> bias_value(-spread, spread);
  for (auto& v : bias) v = bias_value(rng);
  // An output scale that spreads the outputs over the int8 range.
  const float y_scale = x_scale * 0.006f * std::sqrt(static_cast<float>(per_out)) * 74 * 73 / 40;
  OpAttributes a;
  a.kernel_h = a.kernel_w = l.k;
  a.stride_h = a.stride_w = l.s;
  a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = l.k / 2;
  a.groups = l.groups;
  if (l.relu6) {
    a.clamp_min = 0.0f;
    a.clamp_max = 6.0f;
  }
  const OpType op = l.fc() ? OpType::kFullyConnected : OpType::kConv2d;
  {
    GraphBuilder b(*d.int8);
    const int x = b.input("x", DataType::kInt8, x_shape, {{x_scale}, x_zero, -1});
    const int w = b.constant("w", DataType::kInt8, w_shape, as_bytes(w8), {w_scales, 0, 0});
    std::vector<float> b_scales(w_scales);
    for (auto& v : b_scales) v *= x_scale;
    const int bi = b.constant("b", DataType::kInt32, Shape{l.o}, as_bytes(bias), {b_scales, 0, 0});
    auto out = b.node("conv", op, {x, w, bi}, a, {{y_scale}, -5, -1});
    if (!out) {
      std::fprintf(stderr, "%s\n", out.status().to_string().c_str());
      std::abort();
    }
    b.output(*out);
  }
  {
    GraphBuilder b(*d.f32);
    std::vector<float> wf(w8.size()), bf(bias.size());
    for (size_t i = 0; i < wf.size(); ++i)
      wf[i] = static_cast<float>(w8[i]) * w_scales[i / static_cast<size_t>(per_out)];
    for (size_t i = 0; i < bf.size(); ++i)
      bf[i] = static_cast<float>(bias[i]) * x_scale * w_scales[i];
    const int x = b.input("x", DataType::kFloat32, x_shape);
    const int w = b.constant_f32("w", w_shape, wf);
    const int bi = b.constant_f32("b", Shape{l.o}, bf);
    auto out = b.node("conv", op, {x, w, bi}, a);
    if (!out) std::abort();
    b.output(*out);
  }
  return d;
}

// Aligned, zero-padded (XNNPACK reads a little past its inputs) random buffer.
struct Buffer {
  std::vector<std::uint8_t> storage;
  std::uint8_t* data = nullptr;
  size_t size = 0;
  explicit Buffer(size_t bytes = 0, std::mt19937* rng = nullptr) {
    storage.assign(bytes + 128, 0);
    data = storage.data() + (64 - reinterpret_cast<std::uintptr_t>(storage.data()) % 64) % 64;
    size = bytes;
    if (rng != nullptr)
      for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<std::uint8_t>((*rng)());
  }
};

void fill_f32(Buffer& b, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  auto* f = reinterpret_cast<float*>(b.data);
  for (size_t i = 0; i < b.size / 4; ++i) f[i] = value(rng);
}

// ---- Backends -----------------------------------------------------------------------------

// Something that runs one layer on bound buffers.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual Status prepare() = 0;  // packs weights
  virtual void release() = 0;
  virtual Status run() = 0;
};

// A fovea NodeKernel (XNNPACK or oneDNN) over the layer's one-node model.
class NodeRunner final : public Runner {
 public:
  NodeRunner(std::shared_ptr<Model> model, std::unique_ptr<inference::NodeKernel> kernel,
             InferenceContext& context, BudgetOwner owner, std::vector<Buffer*> inputs,
             Buffer* output)
      : model_(std::move(model)),
        kernel_(std::move(kernel)),
        context_(context),
        owner_(owner),
        inputs_(std::move(inputs)),
        output_(output) {}
  Status prepare() override {
    const GraphNode& node = model_->graph.nodes[0];
    std::vector<std::vector<std::uint8_t>> decoded(node.inputs.size());
    auto constants = [&](size_t i) -> Result<std::span<const std::uint8_t>> {
      const GraphTensor& t = model_->graph.tensors[static_cast<size_t>(node.inputs[i])];
      decoded[i].resize(static_cast<size_t>(model_->constant_decoded_bytes(t.constant)));
      FOVEA_RETURN_IF_ERROR(model_->decode_constant(t.constant, decoded[i]));
      return std::span<const std::uint8_t>(decoded[i]);
    };
    {
      ScopedXnnpackBudget scope(context_.budget(), owner_, MemoryCategory::kPackedWeights);
      FOVEA_RETURN_IF_ERROR(kernel_->prepare(constants));
    }
    inference::NodeBinding binding;
    for (Buffer* b : inputs_) binding.inputs.push_back(b->data);
    for (size_t i = inputs_.size(); i < node.inputs.size(); ++i) binding.inputs.push_back(nullptr);
    binding.outputs.push_back(output_->data);
    ScopedXnnpackBudget scope(context_.budget(), owner_, MemoryCategory::kKernelInternal);
    return kernel_->bind(binding, context_.threadpool());
  }
  void release() override { kernel_->release(); }
  Status run() override { return kernel_->run(context_.threadpool()); }

 private:
  std::shared_ptr<Model> model_;
  std::unique_ptr<inference::NodeKernel> kernel_;
  InferenceContext& context_;
  BudgetOwner owner_;
  std::vector<Buffer*> inputs_;
  Buffer* output_;
};

// A raw oneDNN convolution threaded by oneDNN's own OpenMP team (f32 or s8, plain attributes).
class RawDnnlRunner final : public Runner {
 public:
  RawDnnlRunner(const Layer& l, bool int8, int threads, Buffer* x, Buffer* y)
      : layer_(l), int8_(int8), threads_(threads), x_(x), y_(y) {}
  Status prepare() override {
    using dnnl::memory;
    using Tag = memory::format_tag;
    omp_set_num_threads(threads_);
    const auto dt = int8_ ? memory::data_type::s8 : memory::data_type::f32;
    const Layer& l = layer_;
    const int p = l.k / 2;
    memory::desc src({1, l.c, l.h, l.w}, dt, Tag::nhwc),
        dst({1, l.o, l.oh(), l.oh()}, dt, Tag::nhwc);
    memory::dims wd = l.groups == 1
                          ? memory::dims{l.o, l.c, l.k, l.k}
                          : memory::dims{l.groups, l.o / l.groups, l.c / l.groups, l.k, l.k};
    memory::desc wany(wd, dt, Tag::any);
    memory::desc bias({l.o}, int8_ ? memory::data_type::s32 : memory::data_type::f32, Tag::a);
    dnnl::primitive_attr attr;
    if (int8_) {
      attr.set_output_scales(2, std::vector<float>(static_cast<size_t>(l.o), 0.01f));
      attr.set_zero_points(DNNL_ARG_SRC, 0, {3});
      attr.set_zero_points(DNNL_ARG_DST, 0, {-5});
    }
    if (l.relu6) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, int8_ ? 60.0f : 6.0f);
      attr.set_post_ops(ops);
    }
    try {
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                           dnnl::algorithm::convolution_direct, src, wany, bias,
                                           dst, {l.s, l.s}, {0, 0}, {p, p}, {p, p});
      pd_ = dnnl::convolution_forward::primitive_desc(desc, attr, engine_);
      conv_ = dnnl::convolution_forward(pd_);
      weights_ = memory(pd_.weights_desc(), engine_);
      bias_ = memory(bias, engine_);
      std::memset(bias_.get_data_handle(), 0, bias.get_size());
      memory user(memory::desc(wd, dt, l.groups == 1 ? Tag::ohwi : Tag::gohwi), engine_);
      std::memset(user.get_data_handle(), 1, user.get_desc().get_size());
      dnnl::reorder(user, weights_).execute(stream_, user, weights_);
      src_ = memory(src, engine_, x_->data);
      dst_ = memory(dst, engine_, y_->data);
    } catch (const dnnl::error& e) {
      return Status(ErrorCode::kInternal, e.what());
    }
    return Status::ok();
  }
  void release() override {}
  Status run() override {
    if (omp_get_max_threads() != threads_) omp_set_num_threads(threads_);
    conv_.execute(stream_, {{DNNL_ARG_SRC, src_},
                            {DNNL_ARG_WEIGHTS, weights_},
                            {DNNL_ARG_BIAS, bias_},
                            {DNNL_ARG_DST, dst_}});
    stream_.wait();
    return Status::ok();
  }

 private:
  Layer layer_;
  bool int8_;
  int threads_;
  Buffer *x_, *y_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward conv_;
  dnnl::memory weights_, bias_, src_, dst_;
};

enum Backend { kXnnF32, kXnnQc8, kDnnlF32, kDnnlS8Omp, kFoveaS8, kFoveaVnni, kBackends };
const char* const kBackendNames[kBackends] = {"xnn f32",     "xnn qc8",  "dnnl f32",
                                              "dnnl s8 omp", "fovea s8", "fovea vnni"};
bool is_int8(int backend) {
  return backend == kXnnQc8 || backend == kDnnlS8Omp || backend == kFoveaS8 ||
         backend == kFoveaVnni;
}

double median_ms(Runner& r, int runs) {
  for (int i = 0; i < 3; ++i)
    if (!r.run().is_ok()) return NAN;
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    if (!r.run().is_ok()) return NAN;
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return summarize(t).median;
}

struct Process {  // heap in use (mallinfo2), resident set and threads
  std::int64_t heap = 0, rss = 0;
  int threads = 0;
  static Process now() {
    Process p;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Threads:", 0) == 0) p.threads = std::atoi(line.c_str() + 8);
    const struct mallinfo2 m = mallinfo2();
    p.heap = static_cast<std::int64_t>(m.uordblks + m.hblkhd);
    std::ifstream statm("/proc/self/statm");
    std::int64_t size = 0, resident = 0;
    statm >> size >> resident;
    p.rss = resident * sysconf(_SC_PAGESIZE);
    return p;
  }
};

double mib(std::int64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

int bench(int threads, int runs, bool print_layers) {
  auto made = InferenceContext::create(std::int64_t{4} << 30, threads);
  if (!made) {
    std::fprintf(stderr, "fovea-kernel-bench: %s\n", made.status().to_string().c_str());
    return 1;
  }
  InferenceContext& context = **made;
  MemoryBudget& budget = context.budget();
  const std::vector<Layer> layers = mobilenet_v2();
  std::mt19937 rng(42);

  // Data and buffers, chained as in the network: each backend has its own input and one output
  // per layer, and a layer reads the outputs of the layers that feed it.
  struct Slot {
    LayerData data;
    std::vector<Buffer> out;  // by backend
    std::unique_ptr<Runner> runner[kBackends];
  };
  std::vector<Slot> slots(layers.size());
  std::vector<Buffer> network_input;
  {
    const size_t elems = 224 * 224 * 3;
    for (int b = 0; b < kBackends; ++b) {
      network_input.emplace_back(elems * (is_int8(b) ? 1 : 4), &rng);
      if (!is_int8(b)) fill_f32(network_input.back(), rng);
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    Slot& s = slots[i];
    s.data = make_layer(l, rng);
    const size_t out_elems = static_cast<size_t>(l.oh()) * l.oh() * l.o;
    for (int b = 0; b < kBackends; ++b) s.out.emplace_back(out_elems * (is_int8(b) ? 1 : 4));
  }
  auto inputs_of = [&](size_t i, int b) {
    std::vector<Buffer*> in;
    for (int producer : {layers[i].input, layers[i].input2})
      if (producer != -1 || in.empty())
        in.push_back(producer < 0
                         ? &network_input[static_cast<size_t>(b)]
                         : &slots[static_cast<size_t>(producer)].out[static_cast<size_t>(b)]);
    if (!layers[i].add()) in.resize(1);
    return in;
  };

  // fovea's oneDNN kernels for the whole network, prepared (packed) and run once.
  const BudgetOwner owner = budget.register_owner("bench");
  double fovea_pack_ms = 0;
  auto make_fovea_kernels = [&]() -> Status {
    for (size_t i = 0; i < layers.size(); ++i) {
      if (layers[i].add()) continue;
      const Model& m = *slots[i].data.int8;
      auto kernel =
          inference::make_onednn_node_kernel(m.graph, m.graph.nodes[0], {&budget, owner, threads});
      if (!kernel) return kernel.status();
      if (!*kernel) continue;  // not taken: shown as n/a
      slots[i].runner[kFoveaS8] =
          std::make_unique<NodeRunner>(slots[i].data.int8, std::move(*kernel), context, owner,
                                       inputs_of(i, kFoveaS8), &slots[i].out[kFoveaS8]);
    }
    return Status::ok();
  };
  auto prepare_fovea_kernels = [&]() -> Status {
    const auto start = Clock::now();
    for (auto& s : slots)
      if (s.runner[kFoveaS8]) FOVEA_RETURN_IF_ERROR(s.runner[kFoveaS8]->prepare());
    fovea_pack_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (auto& s : slots)
      if (s.runner[kFoveaS8]) FOVEA_RETURN_IF_ERROR(s.runner[kFoveaS8]->run());
    return Status::ok();
  };
  // oneDNN's own memory (outside the budget), measured around two rounds of making, running and
  // destroying the kernels: the first round in a process also pays oneDNN's one-time set-up.
  struct Overhead {
    Process before, created, ran, destroyed;
    std::int64_t budgeted = 0, packed = 0, scratch = 0;
  } overhead[2];
  for (Overhead& o : overhead) {
    o.before = Process::now();
    const std::int64_t budget_before = budget.current_bytes();
    Status made_kernels = make_fovea_kernels();
    o.created = Process::now();
    if (made_kernels.is_ok()) made_kernels = prepare_fovea_kernels();
    if (!made_kernels.is_ok()) {
      std::fprintf(stderr, "fovea-kernel-bench: %s\n", made_kernels.to_string().c_str());
      return 1;
    }
    o.budgeted = budget.current_bytes() - budget_before;
    o.packed = budget.current_bytes(MemoryCategory::kPackedWeights);
    o.scratch = budget.current_bytes(MemoryCategory::kScratch);
    o.ran = Process::now();
    for (auto& slot : slots) slot.runner[kFoveaS8].reset();
    o.destroyed = Process::now();
  }
  if (Status made_kernels = make_fovea_kernels();
      !made_kernels.is_ok() || !(made_kernels = prepare_fovea_kernels()).is_ok()) {
    std::fprintf(stderr, "fovea-kernel-bench: %s\n", made_kernels.to_string().c_str());
    return 1;
  }

  // fovea's VNNI kernels (where this CPU has VNNI), packed through the budget; what they decline
  // is filled in with XNNPACK qc8 below, as the executor does.
  double vnni_pack_ms = 0;
  std::int64_t vnni_budgeted = 0;
  std::vector<std::string> vnni_declined;
  {
    const std::int64_t budget_before = budget.current_bytes();
    const auto start = Clock::now();
    for (size_t i = 0; i < layers.size(); ++i) {
      if (layers[i].add()) continue;
      const Model& m = *slots[i].data.int8;
      auto kernel =
          inference::make_vnni_node_kernel(m.graph, m.graph.nodes[0], {&budget, owner, threads});
      if (!kernel) {
        std::fprintf(stderr, "fovea-kernel-bench: %s\n", kernel.status().to_string().c_str());
        return 1;
      }
      if (!*kernel) {
        if (std::find(vnni_declined.begin(), vnni_declined.end(), layers[i].kind) ==
            vnni_declined.end())
          vnni_declined.push_back(layers[i].kind);
        continue;
      }
      slots[i].runner[kFoveaVnni] =
          std::make_unique<NodeRunner>(slots[i].data.int8, std::move(*kernel), context, owner,
                                       inputs_of(i, kFoveaVnni), &slots[i].out[kFoveaVnni]);
      if (Status st = slots[i].runner[kFoveaVnni]->prepare(); !st.is_ok()) {
        std::fprintf(stderr, "fovea-kernel-bench: %s\n", st.to_string().c_str());
        return 1;
      }
    }
    vnni_pack_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    vnni_budgeted = budget.current_bytes() - budget_before;
  }

  // The other backends.
  double xnn_pack_ms = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    Slot& s = slots[i];
    for (int b = 0; b < kBackends; ++b) {
      // XNNPACK's backends, XNNPACK's add in every backend's chain, and XNNPACK qc8 for what
      // fovea's VNNI kernels decline.
      if (!(b == kXnnF32 || b == kXnnQc8 || l.add() || (b == kFoveaVnni && !s.runner[b]))) continue;
      const bool q = is_int8(b);
      const Model& m = q ? *s.data.int8 : *s.data.f32;
      auto kernel = inference::make_node_kernel(m.graph, m.graph.nodes[0]);
      if (!kernel || !*kernel) return 1;
      s.runner[b] = std::make_unique<NodeRunner>(q ? s.data.int8 : s.data.f32, std::move(*kernel),
                                                 context, owner, inputs_of(i, b), &s.out[b]);
      const auto start = Clock::now();
      const Status st = s.runner[b]->prepare();
      if (b == kXnnQc8)
        xnn_pack_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (!st.is_ok()) {
        std::fprintf(stderr, "fovea-kernel-bench: %s\n", st.to_string().c_str());
        return 1;
      }
    }
    if (!l.add())
      for (int b : {kDnnlF32, kDnnlS8Omp}) {
        s.runner[b] = std::make_unique<RawDnnlRunner>(l, b == kDnnlS8Omp, threads,
                                                      inputs_of(i, b)[0], &s.out[b]);
        const Status st = s.runner[b]->prepare();
        if (!st.is_ok()) {
          std::fprintf(stderr, "fovea-kernel-bench: oneDNN: %s\n", st.to_string().c_str());
          s.runner[b].reset();
        }
      }
  }

  // Exactness: the whole network through fovea s8 and fovea vnni (with XNNPACK's adds) against
  // XNNPACK qc8, from the same input: every layer's output.
  struct Difference {
    std::int64_t differing = 0, compared = 0, worst = 0;
  } difference[kBackends];
  for (int backend : {kFoveaS8, kFoveaVnni}) {
    std::memcpy(network_input[static_cast<size_t>(backend)].data, network_input[kXnnQc8].data,
                network_input[kXnnQc8].size);
    for (auto& s : slots)
      for (int b : {static_cast<int>(kXnnQc8), backend})
        if (s.runner[b] && !s.runner[b]->run().is_ok()) return 1;
    Difference& d = difference[backend];
    for (auto& s : slots) {
      if (!s.runner[backend]) continue;
      const auto* a = reinterpret_cast<const std::int8_t*>(s.out[kXnnQc8].data);
      const auto* b =
          reinterpret_cast<const std::int8_t*>(s.out[static_cast<size_t>(backend)].data);
      for (size_t k = 0; k < s.out[kXnnQc8].size; ++k) {
        const int delta = std::abs(int{a[k]} - int{b[k]});
        d.differing += delta != 0;
        d.worst = std::max<std::int64_t>(d.worst, delta);
      }
      d.compared += static_cast<std::int64_t>(s.out[kXnnQc8].size);
    }
  }

  // Per-layer medians, one backend at a time (oneDNN's OpenMP team spins between its runs).
  std::vector<std::array<double, kBackends>> ms(layers.size());
  for (auto& row : ms) row.fill(NAN);
  const int order[] = {kXnnF32, kXnnQc8, kFoveaS8, kFoveaVnni, kDnnlF32, kDnnlS8Omp};
  for (int b : order)
    for (size_t i = 0; i < layers.size(); ++i) {
      Runner* r = slots[i].runner[b].get();
      if (r != nullptr) ms[i][static_cast<size_t>(b)] = median_ms(*r, runs);
    }

  // Whole network, back to back.
  std::array<double, kBackends> network{};
  std::array<double, kBackends> allocations{};
  for (int b : order) {
    std::vector<Runner*> chain;
    bool complete = true;
    for (size_t i = 0; i < layers.size(); ++i) {
      Runner* r = slots[i].runner[b].get();
      if (r == nullptr)
        complete = false;
      else
        chain.push_back(r);
    }
    std::vector<double> t;
    for (int run = 0; run < runs + 3; ++run) {
      const long heap_before = g_heap_allocations.load();
      const auto start = Clock::now();
      for (Runner* r : chain)
        if (!r->run().is_ok()) return 1;
      const double elapsed =
          std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      allocations[static_cast<size_t>(b)] =
          static_cast<double>(g_heap_allocations.load() - heap_before);
      if (run >= 3) t.push_back(elapsed);
    }
    network[static_cast<size_t>(b)] = complete ? summarize(t).median : NAN;
  }

  // ---- Report ----
  std::printf("\n== %d thread%s: MobileNetV2-224 layers, median of %d runs, ms ==\n", threads,
              threads == 1 ? "" : "s", runs);
  auto cell = [](double v) {
    char text[16];
    if (std::isnan(v))
      std::snprintf(text, sizeof text, "%9s", "n/a");
    else
      std::snprintf(text, sizeof text, "%9.3f", v);
    return std::string(text);
  };
  auto ratio = [](double a, double b) {
    char text[16];
    if (std::isnan(a) || std::isnan(b) || b <= 0)
      std::snprintf(text, sizeof text, "%8s", "n/a");
    else
      std::snprintf(text, sizeof text, "%7.2fx", a / b);
    return std::string(text);
  };
  const char* header = "%-13s %-26s %3s";
  if (print_layers) {
    std::printf(header, "layer", "shape (HxWxC)", "n");
    for (int b = 0; b < kBackends; ++b) std::printf(" %9s", kBackendNames[b]);
    std::printf(" %8s %8s %8s\n", "f32/vnni", "qc8/vnni", "s8/vnni");
    // Unique shapes in network order, with their count.
    std::map<std::string, int> count;
    for (const Layer& l : layers) ++count[l.kind + l.key()];
    std::map<std::string, bool> shown;
    for (size_t i = 0; i < layers.size(); ++i) {
      const Layer& l = layers[i];
      if (shown[l.kind + l.key()]) continue;
      shown[l.kind + l.key()] = true;
      std::printf("%-13s %-26s %3d", l.kind.c_str(), l.key().c_str(), count[l.kind + l.key()]);
      for (int b = 0; b < kBackends; ++b)
        std::printf(" %s", cell(ms[i][static_cast<size_t>(b)]).c_str());
      std::printf(" %s %s %s\n", ratio(ms[i][kXnnF32], ms[i][kFoveaVnni]).c_str(),
                  ratio(ms[i][kXnnQc8], ms[i][kFoveaVnni]).c_str(),
                  ratio(ms[i][kFoveaS8], ms[i][kFoveaVnni]).c_str());
    }
  }
  std::printf("\n-- totals per layer type (sum over the network's layers), ms --\n");
  std::printf("%-13s %3s", "type", "n");
  for (int b = 0; b < kBackends; ++b) std::printf(" %9s", kBackendNames[b]);
  std::printf(" %8s %8s %8s\n", "f32/vnni", "qc8/vnni", "s8/vnni");
  std::vector<std::string> kinds;
  for (const Layer& l : layers)
    if (std::find(kinds.begin(), kinds.end(), l.kind) == kinds.end()) kinds.push_back(l.kind);
  std::array<double, kBackends> sum{};
  for (const std::string& kind : kinds) {
    std::array<double, kBackends> total{};
    int n = 0;
    for (size_t i = 0; i < layers.size(); ++i)
      if (layers[i].kind == kind) {
        ++n;
        for (int b = 0; b < kBackends; ++b)
          total[static_cast<size_t>(b)] += ms[i][static_cast<size_t>(b)];
      }
    for (int b = 0; b < kBackends; ++b)
      sum[static_cast<size_t>(b)] += total[static_cast<size_t>(b)];
    std::printf("%-13s %3d", kind.c_str(), n);
    for (int b = 0; b < kBackends; ++b)
      std::printf(" %s", cell(total[static_cast<size_t>(b)]).c_str());
    std::printf(" %s %s %s\n", ratio(total[kXnnF32], total[kFoveaVnni]).c_str(),
                ratio(total[kXnnQc8], total[kFoveaVnni]).c_str(),
                ratio(total[kFoveaS8], total[kFoveaVnni]).c_str());
  }
  std::printf("%-13s %3zu", "sum", layers.size());
  for (int b = 0; b < kBackends; ++b) std::printf(" %s", cell(sum[static_cast<size_t>(b)]).c_str());
  std::printf(" %s %s %s\n", ratio(sum[kXnnF32], sum[kFoveaVnni]).c_str(),
              ratio(sum[kXnnQc8], sum[kFoveaVnni]).c_str(),
              ratio(sum[kFoveaS8], sum[kFoveaVnni]).c_str());
  std::printf("%-13s %3s", "network", "");
  for (int b = 0; b < kBackends; ++b)
    std::printf(" %s", cell(network[static_cast<size_t>(b)]).c_str());
  std::printf(" %s %s %s   (all layers back to back, adds on XNNPACK)\n",
              ratio(network[kXnnF32], network[kFoveaVnni]).c_str(),
              ratio(network[kXnnQc8], network[kFoveaVnni]).c_str(),
              ratio(network[kFoveaS8], network[kFoveaVnni]).c_str());
  std::printf("%-13s %3s", "heap allocs", "");
  for (int b = 0; b < kBackends; ++b) std::printf(" %9.0f", allocations[static_cast<size_t>(b)]);
  std::printf("   (malloc calls per network run)\n");

  for (int backend : {kFoveaS8, kFoveaVnni}) {
    const Difference& d = difference[backend];
    std::printf(
        "%s%s vs XNNPACK qc8, same inputs and weights: %lld of %lld values differ (max %lld "
        "LSB)\n",
        backend == kFoveaS8 ? "\n" : "", kBackendNames[backend],
        static_cast<long long>(d.differing), static_cast<long long>(d.compared),
        static_cast<long long>(d.worst));
  }
  std::string declined;
  for (const std::string& kind : vnni_declined) declined += (declined.empty() ? "" : ", ") + kind;
  std::printf("fovea vnni declined (ran on XNNPACK qc8 in its column): %s\n",
              declined.empty() ? "nothing" : declined.c_str());
  std::printf(
      "packing the whole network (weights reorder / VNNI packing / XNNPACK create): fovea s8 "
      "%.1f ms, fovea vnni %.1f ms, xnn qc8 %.1f ms\n",
      fovea_pack_ms, vnni_pack_ms, xnn_pack_ms);
  std::printf("fovea vnni budgeted bytes: %.2f MiB (packed weights, biases, scales and tiles)\n",
              mib(vnni_budgeted));
  const Overhead& o = overhead[1];
  std::printf(
      "process threads: %d before making fovea s8's kernels, %d while they ran (oneDNN's OpenMP "
      "team is not started)\n",
      overhead[0].before.threads, o.ran.threads);
  std::printf(
      "fovea s8 budgeted bytes: %.2f MiB (packed weights + biases %.2f MiB, scratchpads "
      "%.2f MiB)\n",
      mib(o.budgeted), mib(o.packed), mib(o.scratch));
  const auto convs =
      std::count_if(layers.begin(), layers.end(), [](const Layer& l) { return !l.add(); });
  for (int round = 0; round < 2; ++round) {
    const Overhead& v = overhead[round];
    std::printf(
        "oneDNN fixed overhead, %s (%zu convolutions; outside the budget): heap %+.2f MiB "
        "and RSS %+.2f MiB once made; after packing and a run, beyond the budgeted bytes: "
        "heap %+.2f MiB, RSS %+.2f MiB; once destroyed: heap %+.2f MiB\n",
        round == 0 ? "first model" : "next model", static_cast<size_t>(convs),
        mib(v.created.heap - v.before.heap), mib(v.created.rss - v.before.rss),
        mib(v.ran.heap - v.before.heap - v.budgeted), mib(v.ran.rss - v.before.rss - v.budgeted),
        mib(v.destroyed.heap - v.before.heap));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 30;
  std::vector<int> threads = {1, 2};
  bool print_layers = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--no-layers") {
      print_layers = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "fovea-kernel-bench: missing value after %s\n%s", argv[i], kUsage);
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--runs") {
      runs = std::atoi(value.c_str());
      if (runs < 1 || runs > 100000) {
        std::fprintf(stderr, "fovea-kernel-bench: --runs takes 1..100000\n");
        return 2;
      }
    } else if (arg == "--threads") {
      threads.clear();
      for (size_t start = 0; start <= value.size();) {
        const size_t comma = std::min(value.find(',', start), value.size());
        const int t = std::atoi(value.substr(start, comma - start).c_str());
        if (t < 1 || t > 256) {
          std::fprintf(stderr, "fovea-kernel-bench: --threads takes counts 1..256\n");
          return 2;
        }
        threads.push_back(t);
        start = comma + 1;
      }
    } else {
      std::fprintf(stderr, "fovea-kernel-bench: unknown option %s\n%s", argv[i - 1], kUsage);
      return 2;
    }
  }
  std::ifstream loadavg("/proc/loadavg");
  std::string load;
  std::getline(loadavg, load);
  std::printf("fovea-kernel-bench: oneDNN %d.%d.%d, load average %s\n", dnnl_version()->major,
              dnnl_version()->minor, dnnl_version()->patch, load.c_str());
  for (int t : threads)
    if (int status = bench(t, runs, print_layers); status != 0) return status;
  return 0;
}
