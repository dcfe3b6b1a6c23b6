#include "fovea/core/compiled_model.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "fovea/core/xnnpack_memory.h"
#include "narrow_conv.h"
#include "node_kernel.h"
#include "onednn_nodes.h"
#include "vnni_nodes.h"

namespace fovea {

// ---- InferenceContext ----

InferenceContext::InferenceContext(std::int64_t budget_bytes, int threads, Int8Kernels int8_kernels)
    : budget_(budget_bytes),
      arena_(budget_, budget_.register_owner("activations")),
      threads_(threads),
      int8_kernels_(int8_kernels) {}

Result<std::unique_ptr<InferenceContext>> InferenceContext::create(std::int64_t budget_bytes,
                                                                   int threads,
                                                                   Int8Kernels int8_kernels) {
  if (budget_bytes <= 0)
    return Status(ErrorCode::kInvalidArgument, "a memory budget must be positive");
  if (threads < 1 || threads > 256)
    return Status(ErrorCode::kInvalidArgument,
                  "thread count " + std::to_string(threads) + " is outside 1..256");
  FOVEA_RETURN_IF_ERROR(initialize_xnnpack());
  std::unique_ptr<InferenceContext> context(
      new InferenceContext(budget_bytes, threads, int8_kernels));
  if (threads > 1) {
    context->threadpool_ = pthreadpool_create(static_cast<size_t>(threads));
    if (context->threadpool_ == nullptr)
      return Status(ErrorCode::kUnavailable,
                    "could not start a thread pool of " + std::to_string(threads));
  }
  return context;
}

InferenceContext::~InferenceContext() {
  (void)set_prefetch_worker(false);
  arena_.release();
  if (threadpool_ != nullptr) pthreadpool_destroy(threadpool_);
}

void InferenceContext::yield_workers() {
  if (threadpool_ == nullptr) return;
  // One item per thread, so that the pool wakes every worker (a range of 1 would run inline)
  // and each sees the flag.
  pthreadpool_parallelize_1d(
      threadpool_, [](void*, std::size_t) {}, nullptr, static_cast<std::size_t>(threads_),
      PTHREADPOOL_FLAG_YIELD_WORKERS);
}

Status InferenceContext::set_prefetch_worker(bool enabled) {
  if (enabled == prefetcher_.joinable()) return Status::ok();
  if (enabled) {
    stop_prefetcher_ = false;
    try {
      prefetcher_ = std::thread([this] { prefetch_loop(); });
    } catch (const std::system_error& e) {
      return Status(ErrorCode::kUnavailable,
                    std::string("could not start the prefetch worker: ") + e.what());
    }
    return Status::ok();
  }
  {
    std::lock_guard lock(models_mutex_);
    stop_prefetcher_ = true;
  }
  models_changed_.notify_all();
  prefetcher_.join();
  return Status::ok();
}

bool InferenceContext::prefetch_worker() const noexcept {
  return prefetcher_.joinable();
}

void InferenceContext::register_model(CompiledModel* model) {
  std::lock_guard lock(models_mutex_);
  models_.push_back(model);
}

void InferenceContext::unregister_model(CompiledModel* model) {
  std::unique_lock lock(models_mutex_);
  std::erase(models_, model);
  models_changed_.wait(lock, [&] { return prefetching_ != model; });
}

void InferenceContext::request_prefetch(BudgetOwner owner) {
  if (!prefetcher_.joinable() || owner < 0) return;
  {
    std::lock_guard lock(models_mutex_);
    prefetch_request_ = owner;
  }
  models_changed_.notify_all();
}

void InferenceContext::prefetch_loop() {
  std::unique_lock lock(models_mutex_);
  for (;;) {
    models_changed_.wait(lock, [&] { return stop_prefetcher_ || prefetch_request_ >= 0; });
    if (stop_prefetcher_) return;
    const BudgetOwner owner = std::exchange(prefetch_request_, -1);
    const auto it = std::find_if(models_.begin(), models_.end(),
                                 [&](const CompiledModel* m) { return m->owner() == owner; });
    if (it == models_.end()) continue;
    prefetching_ = *it;
    lock.unlock();
    layers_prefetched_ += prefetching_->prefetch_ahead_of_need();
    lock.lock();
    prefetching_ = nullptr;
    models_changed_.notify_all();
  }
}

// ---- CompiledModel ----

// One layer's packed weights: what the budget evicts and the executor re-makes.
struct CompiledModel::Layer final : Evictable {
  Layer(CompiledModel& owner_model, size_t index) : model(owner_model), position(index) {}

  std::int64_t evictable_bytes() const override { return bytes.load(); }
  bool in_use() const override { return pinned.load(); }
  bool needed_by_current_run() const override { return needed.load(); }
  std::int64_t run_position() const override { return static_cast<std::int64_t>(position); }
  void evict() override {
    std::unique_lock lock(mutex, std::try_to_lock);
    if (!lock.owns_lock() || pinned.load()) return;  // being made or run: not now
    model.release_layer_locked(*this);
  }

  CompiledModel& model;
  const size_t position;
  std::mutex mutex;  // held while the layer is packed, bound, run or evicted
  bool prepared = false;
  bool was_prepared = false;  // packed once before: a later packing is a re-make
  bool bound = false;
  std::uint64_t bound_generation = 0;
  // Constant operands of weight-less ops (Add of a constant, ...), decoded while packed; by
  // node input, nullptr where the input is not such a constant.
  std::vector<BudgetBuffer> constants;
  std::vector<const void*> constant_pointers;
  std::atomic<std::int64_t> bytes{0};  // accounted bytes held: ScopedBudgetTally's count
  std::atomic<bool> pinned{false};     // being made or run: never evicted
  std::atomic<bool> needed{false};     // the run under way has yet to reach it
};

CompiledModel::CompiledModel(InferenceContext& context, std::shared_ptr<const Model> model,
                             BudgetOwner owner)
    : context_(context), model_(std::move(model)), owner_(owner) {}

Result<std::unique_ptr<CompiledModel>> CompiledModel::create(InferenceContext& context,
                                                             std::shared_ptr<const Model> model) {
  if (!model) return Status(ErrorCode::kInvalidArgument, "no model given");
  FOVEA_RETURN_IF_ERROR(model->validate());
  const ModelGraph& graph = model->graph;
  MemoryBudget& budget = context.budget();
  const std::string name = model->metadata.name.empty() ? "model" : model->metadata.name;
  std::unique_ptr<CompiledModel> compiled(
      new CompiledModel(context, model, budget.register_owner(name)));
  auto order = graph.topological_order();
  if (!order) return order.status();
  compiled->order_ = std::move(*order);
  auto plan = plan_graph_activations(graph, compiled->order_);
  if (!plan) return plan.status();
  compiled->plan_ = std::move(*plan);
  for (int n : compiled->order_) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
    // fovea's VNNI kernels or oneDNN (per the context) take the INT8 nodes they run exactly on
    // this CPU; the rest is XNNPACK's.
    Result<std::unique_ptr<inference::NodeKernel>> kernel{std::unique_ptr<inference::NodeKernel>()};
    if (context.int8_kernels() == Int8Kernels::kFovea)
      kernel = inference::make_vnni_node_kernel(graph, node,
                                                {&budget, compiled->owner_, context.threads()});
    if (context.int8_kernels() == Int8Kernels::kOnednn)
      kernel = inference::make_onednn_node_kernel(graph, node,
                                                  {&budget, compiled->owner_, context.threads()});
    // FP32 convolutions to a few channels (a flow head's (dx, dy)), which XNNPACK pads to 16.
    if (kernel && !*kernel)
      kernel = inference::make_narrow_conv_node_kernel(graph, node, {&budget, compiled->owner_});
    if (kernel && !*kernel) kernel = inference::make_node_kernel(graph, node);
    if (!kernel) return kernel.status().with_context("model '" + name + "'");
    compiled->kernels_.push_back(std::move(*kernel));
  }
  // Weights at rest stay for the model's life: they are what eviction re-packs from. Held in
  // memory they count against the budget from the start; in a mapped .fvm file they are pages
  // the kernel reads back on demand, released after each packing, so they do not.
  const std::int64_t at_rest = model->resident_stored_bytes();
  FOVEA_RETURN_IF_ERROR(
      budget.reserve(compiled->owner_, MemoryCategory::kCompressedWeights, at_rest));
  compiled->reserved_at_rest_ = at_rest;
  context.register_model(compiled.get());
  for (size_t k = 0; k < compiled->kernels_.size(); ++k) {
    compiled->layers_.push_back(std::make_unique<Layer>(*compiled, k));
    // Only layers with weights are evicted under pressure: the rest hold a few hundred bytes of
    // operator state each, and re-making them would cost more than the room they give.
    if (compiled->kernels_[k]->has_weights())
      budget.register_evictable(compiled->owner_, compiled->layers_.back().get());
  }
  compiled->alone_layer_ms_.assign(compiled->layers_.size(), 0.0);
  return compiled;
}

CompiledModel::~CompiledModel() {
  context_.unregister_model(this);
  for (auto& layer : layers_) {
    if (kernels_[layer->position]->has_weights())
      context_.budget().unregister_evictable(layer.get());
    std::lock_guard lock(layer->mutex);
    release_layer_locked(*layer);
  }
  context_.budget().unreserve(owner_, MemoryCategory::kCompressedWeights, reserved_at_rest_);
}

void CompiledModel::release_layer_locked(Layer& layer) noexcept {
  kernels_[layer.position]->release();
  layer.constants.clear();
  layer.constant_pointers.clear();
  if (layer.prepared) --prepared_layers_;
  layer.prepared = false;
  layer.bound = false;
}

bool CompiledModel::resident() const noexcept {
  return prepared_layers_.load() == static_cast<int>(layers_.size());
}

std::int64_t CompiledModel::packed_bytes() const noexcept {
  std::int64_t total = 0;
  for (const auto& layer : layers_) total += layer->bytes.load();
  return total;
}

Status CompiledModel::ready_layer_locked(Layer& layer, bool bind) {
  MemoryBudget& budget = context_.budget();
  const ModelGraph& graph = model_->graph;
  const GraphNode& node = graph.nodes[static_cast<size_t>(order_[layer.position])];
  inference::NodeKernel& kernel = *kernels_[layer.position];
  // Every block made here, XNNPACK's included, is tallied to this layer, so its evictable
  // bytes stay exact while the budget evicts other layers of the same model meanwhile.
  ScopedBudgetTally tally(layer.bytes);
  auto fail = [&](Status status) {
    release_layer_locked(layer);
    return status.with_context(node.name);
  };
  const bool remake = !layer.prepared && layer.was_prepared;
  if (!layer.prepared) {
    if (remake) ++layers_repacked_;
    // Decoded weights live only while the kernel packs them. In a run they go to arena bytes
    // no tensor alive at this step uses, when they fit, so that streaming a large layer does
    // not need its weights twice (decoded and packed) on top of a full arena.
    std::span<std::uint8_t> borrowed;
    if (bind) {
      const ArenaFreeSpace& free = plan_.free_by_step[layer.position];
      const std::int64_t tail = context_.arena().size() - free.tail_offset;
      borrowed = tail >= free.gap_bytes
                     ? std::span<std::uint8_t>(context_.arena().data() + free.tail_offset,
                                               static_cast<size_t>(std::max<std::int64_t>(tail, 0)))
                     : std::span<std::uint8_t>(context_.arena().data() + free.gap_offset,
                                               static_cast<size_t>(free.gap_bytes));
    }
    std::vector<BudgetBuffer> scratch(node.inputs.size());
    auto constants = [&](size_t input) -> Result<std::span<const std::uint8_t>> {
      const int t = node.inputs[input];
      const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
      const auto bytes = static_cast<size_t>(model_->constant_decoded_bytes(tensor.constant));
      std::span<std::uint8_t> out;
      const auto aligned =
          static_cast<size_t>(align_up(static_cast<std::int64_t>(bytes), kArenaAlignment));
      if (aligned <= borrowed.size()) {
        out = borrowed.first(bytes);
        borrowed = borrowed.subspan(aligned);
      } else {
        auto buffer = BudgetBuffer::allocate(budget, owner_, MemoryCategory::kScratch, bytes);
        if (!buffer) return buffer.status();
        out = {static_cast<std::uint8_t*>(buffer->data()), bytes};
        scratch[input] = std::move(*buffer);
      }
      // A run decodes on the context's threads; prefetch() may run on a worker beside another
      // model's run, which holds the pool, so it decodes on its own thread.
      FOVEA_RETURN_IF_ERROR(
          model_->decode_constant(tensor.constant, out, bind ? context_.threadpool() : nullptr));
      model_->release_file_pages(tensor.constant);
      return std::span<const std::uint8_t>(out);
    };
    {
      ScopedXnnpackBudget scope(budget, owner_, MemoryCategory::kPackedWeights);
      Status status = kernel.prepare(constants);
      if (!status.is_ok()) {
        if (!scope.last_failure().is_ok()) status = scope.last_failure();
        return fail(status);
      }
    }
    layer.constant_pointers.assign(node.inputs.size(), nullptr);
    if (!kernel.has_weights()) {
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        const int t = node.inputs[i];
        if (t < 0 || graph.tensors[static_cast<size_t>(t)].constant < 0) continue;
        const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
        const auto bytes = static_cast<size_t>(model_->constant_decoded_bytes(tensor.constant));
        auto buffer = BudgetBuffer::allocate(budget, owner_, MemoryCategory::kPackedWeights, bytes);
        if (!buffer) return fail(buffer.status());
        Status decoded = model_->decode_constant(
            tensor.constant, {static_cast<std::uint8_t*>(buffer->data()), bytes});
        if (!decoded.is_ok()) return fail(decoded);
        model_->release_file_pages(tensor.constant);
        layer.constant_pointers[i] = buffer->data();
        layer.constants.push_back(std::move(*buffer));
      }
    }
    layer.prepared = true;
    layer.was_prepared = true;
    layer.bound = false;
    ++prepared_layers_;
  }
  if (remake) bytes_repacked_ += layer.bytes.load();  // the decoded weights are gone by now
  SharedArena& arena = context_.arena();
  if (!bind || (layer.bound && layer.bound_generation == arena.generation())) return Status::ok();
  inference::NodeBinding binding;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const int t = node.inputs[i];
    if (t < 0)
      binding.inputs.push_back(nullptr);
    else if (graph.tensors[static_cast<size_t>(t)].constant >= 0)
      binding.inputs.push_back(layer.constant_pointers[i]);
    else
      binding.inputs.push_back(arena.data() + plan_.offsets[static_cast<size_t>(t)]);
  }
  for (int t : node.outputs)
    binding.outputs.push_back(arena.data() + plan_.offsets[static_cast<size_t>(t)]);
  ScopedXnnpackBudget scope(budget, owner_, MemoryCategory::kKernelInternal);
  Status status = kernel.bind(binding, context_.threadpool());
  if (!status.is_ok()) {
    if (!scope.last_failure().is_ok()) status = scope.last_failure();
    return fail(status);
  }
  layer.bound = true;
  layer.bound_generation = arena.generation();
  return Status::ok();
}

Status CompiledModel::prefetch() {
  std::lock_guard lock(mutex_);
  for (auto& layer : layers_) {
    std::lock_guard layer_lock(layer->mutex);
    layer->pinned = true;
    Status status = ready_layer_locked(*layer, /*bind=*/false);
    layer->pinned = false;
    FOVEA_RETURN_IF_ERROR(status);
  }
  return Status::ok();
}

int CompiledModel::prefetch_ahead_of_need() {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return 0;  // running, or another prefetch
  ScopedAheadOfNeed ahead;
  int packed = 0;
  for (auto& layer : layers_) {
    if (run_waiting_.load()) break;
    std::lock_guard layer_lock(layer->mutex);
    if (layer->prepared) continue;
    layer->pinned = true;
    const Status status = ready_layer_locked(*layer, /*bind=*/false);
    layer->pinned = false;
    if (!status.is_ok()) break;  // no room ahead of need: the run will make the rest
    ++packed;
  }
  return packed;
}

void CompiledModel::evict() {
  for (auto& layer : layers_) layer->evict();
}

Status CompiledModel::set_layer_seconds(std::span<double> seconds) {
  if (!seconds.empty() && seconds.size() != layers_.size())
    return Status(ErrorCode::kInvalidArgument,
                  "model '" + model_->metadata.name + "' has " + std::to_string(layers_.size()) +
                      " layers, got " + std::to_string(seconds.size()) + " timing slots");
  std::lock_guard lock(mutex_);
  layer_seconds_ = seconds;
  return Status::ok();
}

Status CompiledModel::run(std::span<const std::span<const std::uint8_t>> inputs,
                          std::span<const std::span<std::uint8_t>> outputs) {
  const ModelGraph& graph = model_->graph;
  if (inputs.size() != graph.inputs.size() || outputs.size() != graph.outputs.size())
    return Status(ErrorCode::kInvalidArgument,
                  "model '" + model_->metadata.name + "' takes " +
                      std::to_string(graph.inputs.size()) + " inputs and " +
                      std::to_string(graph.outputs.size()) + " outputs, got " +
                      std::to_string(inputs.size()) + " and " + std::to_string(outputs.size()));
  auto check_size = [&](int t, size_t got) {
    const TensorInfo& info = graph.tensors[static_cast<size_t>(t)].info;
    if (static_cast<std::int64_t>(got) == info.byte_size()) return Status::ok();
    return Status(ErrorCode::kInvalidArgument,
                  "tensor '" + info.name + "' (" + data_type_name(info.type) + " " +
                      info.shape.to_string() + ") needs " + std::to_string(info.byte_size()) +
                      " bytes, got " + std::to_string(got));
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    FOVEA_RETURN_IF_ERROR(check_size(graph.inputs[i], inputs[i].size()));
  for (size_t i = 0; i < outputs.size(); ++i)
    FOVEA_RETURN_IF_ERROR(check_size(graph.outputs[i], outputs[i].size()));

  run_waiting_ = true;
  std::unique_lock lock(mutex_);
  run_waiting_ = false;
  running_ = true;
  for (auto& layer : layers_) layer->needed = true;
  struct EndRun {
    CompiledModel& model;
    ~EndRun() {
      for (auto& layer : model.layers_) layer->needed = false;
      model.running_ = false;
    }
  } end_run{*this};
  context_.budget().note_use(owner_);
  context_.request_prefetch(context_.budget().next_scheduled());
  FOVEA_RETURN_IF_ERROR(context_.arena().ensure(plan_.arena_bytes));
  std::uint8_t* arena = context_.arena().data();
  for (size_t i = 0; i < inputs.size(); ++i)
    std::memcpy(arena + plan_.offsets[static_cast<size_t>(graph.inputs[i])], inputs[i].data(),
                inputs[i].size());
  const bool timed = !layer_seconds_.empty();
  // Adaptive threading (parallelism_chooser.h): the leading `pooled_layers` run on the pool, the
  // rest alone; runs that go alone time each layer, which is what a probe compares with.
  const int layers = static_cast<int>(layers_.size());
  const bool adaptive = context_.threadpool() != nullptr && context_.adaptive_threads();
  int pooled_layers = context_.threadpool() != nullptr ? layers : 0;
  const ParallelismChooser::Next next =
      adaptive ? parallelism_.next() : ParallelismChooser::Next::kPool;
  if (adaptive)
    pooled_layers = next == ParallelismChooser::Next::kPool    ? layers
                    : next == ParallelismChooser::Next::kAlone ? 0
                                                               : std::min(probe_layers_, layers);
  last_run_used_pool_ = pooled_layers == layers && layers > 0;
  const bool per_layer_clock = timed || (adaptive && next != ParallelismChooser::Next::kPool);
  double pooled_ms = 0.0, alone_ms = 0.0;
  const auto run_started = std::chrono::steady_clock::now();
  for (int i = 0; i < layers; ++i) {
    Layer& layer = *layers_[static_cast<size_t>(i)];
    std::lock_guard layer_lock(layer.mutex);
    layer.pinned = true;
    std::chrono::steady_clock::time_point start;
    if (per_layer_clock) start = std::chrono::steady_clock::now();
    Status status = ready_layer_locked(layer, /*bind=*/true);
    if (status.is_ok())
      status = kernels_[layer.position]->run(i < pooled_layers ? context_.threadpool() : nullptr);
    if (per_layer_clock) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timed) layer_seconds_[layer.position] = seconds;
      if (i < pooled_layers) {
        pooled_ms += seconds * 1e3;
        alone_ms += alone_layer_ms_[static_cast<size_t>(i)];
      } else if (adaptive) {
        alone_layer_ms_[static_cast<size_t>(i)] = seconds * 1e3;
      }
    }
    layer.pinned = false;
    layer.needed = false;
    FOVEA_RETURN_IF_ERROR(status);
  }
  if (adaptive) {
    const double total_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_started)
            .count();
    // By what was planned, not by the count: a one-layer model's probe pools its one layer.
    if (next == ParallelismChooser::Next::kPool) {
      parallelism_.record(true, total_ms);
    } else if (next == ParallelismChooser::Next::kAlone) {
      parallelism_.record(false, total_ms);
      // The next probe pools the leading layers that took kProbeShare of this run.
      double all = 0.0, prefix = 0.0;
      for (double ms : alone_layer_ms_) all += ms;
      probe_layers_ = 0;
      while (probe_layers_ < layers - 1 && prefix < ParallelismChooser::kProbeShare * all)
        prefix += alone_layer_ms_[static_cast<size_t>(probe_layers_++)];
      probe_layers_ = std::max(probe_layers_, 1);
    } else {
      parallelism_.record_probe(pooled_ms, alone_ms);
    }
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    std::memcpy(outputs[i].data(), arena + plan_.offsets[static_cast<size_t>(graph.outputs[i])],
                outputs[i].size());
  return Status::ok();
}

}  // namespace fovea
