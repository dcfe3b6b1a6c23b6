#pragma once
// The inference core's executor. An InferenceContext is one memory budget, one activation arena
// and one thread pool shared by every model of a process (or of one plugin instance); a
// CompiledModel is a Model bound to a context: its kernels, its arena plan and its packed
// weights, which the budget may evict layer by layer and which come back when a run reaches
// them (or ahead of it, through prefetch()).

#include <pthreadpool.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "fovea/core/arena_planner.h"
#include "fovea/core/memory_budget.h"
#include "fovea/core/model.h"
#include "fovea/core/parallelism_chooser.h"

namespace fovea {

namespace inference {
class NodeKernel;
}
class CompiledModel;

// Which kernels run INT8 convolutions and fully connected layers.
enum class Int8Kernels {
  // fovea's own AVX-512 VNNI kernels where the CPU has VNNI, else XNNPACK; zero allocations per
  // run. They take 1x1 convolutions, fully connected layers and 3x3 depthwise convolutions,
  // bit-identical with XNNPACK; every other node runs on XNNPACK (docs/int8-kernels.md).
  kFovea,
  // XNNPACK: every byte in the budget, nothing allocated per inference; no VNNI kernels in
  // Debian 12's snapshot, so about 1.5x over FP32.
  kXnnpack,
  // oneDNN where the CPU has VNNI (else XNNPACK): about 3x over FP32 on MobileNetV2's
  // convolutions, bit-identical outputs, but oneDNN 2.6 makes a few transient heap allocations
  // on every run and keeps its primitives and JIT code (a few MiB per model) outside the budget.
  kOnednn,
};

class InferenceContext {
 public:
  // `threads` 1 runs everything on the caller's thread.
  static Result<std::unique_ptr<InferenceContext>> create(
      std::int64_t budget_bytes, int threads, Int8Kernels int8_kernels = Int8Kernels::kFovea);
  ~InferenceContext();
  InferenceContext(const InferenceContext&) = delete;
  InferenceContext& operator=(const InferenceContext&) = delete;

  MemoryBudget& budget() noexcept { return budget_; }
  SharedArena& arena() noexcept { return arena_; }
  pthreadpool_t threadpool() const noexcept { return threadpool_; }
  int threads() const noexcept { return threads_; }
  Int8Kernels int8_kernels() const noexcept { return int8_kernels_; }

  // Starts or stops a worker thread that packs ahead of need: when a model starts a run and
  // the budget knows the schedule (MemoryBudget::set_next_uses), the worker packs the next
  // scheduled model's layers while this one runs, taking only room that is free or held by
  // models needed later (ScopedAheadOfNeed). Off by default: on a machine whose cores the
  // runs already fill, the worker competes with them.
  Status set_prefetch_worker(bool enabled);
  bool prefetch_worker() const noexcept;
  // Layers the worker has packed so far.
  std::int64_t layers_prefetched() const noexcept { return layers_prefetched_.load(); }

  // Sends the thread pool's workers to sleep now. After a run they spin for a while waiting for
  // the next parallel step, which is what models run back to back want; a caller that does
  // other work after a run (resizing, OpenCV, the host's frame) calls this first, or the
  // spinning workers take cores from it (1-2 ms a pair for the flow's refinement, docs/flow.md).
  void yield_workers();

  // Adaptive threading (parallelism_chooser.h): each model's runs drop to the caller's thread
  // while the pool's workers do not get cores (another process or the host's threads hold
  // them) and go back to the pool when they do. Off by default, so that a figure measured "at N
  // threads" is one; products that share the machine turn it on (LearnedOpticalFlow does).
  void set_adaptive_threads(bool enabled) noexcept { adaptive_threads_ = enabled; }
  bool adaptive_threads() const noexcept { return adaptive_threads_.load(); }

 private:
  friend class CompiledModel;
  InferenceContext(std::int64_t budget_bytes, int threads, Int8Kernels int8_kernels);
  void register_model(CompiledModel* model);
  void unregister_model(CompiledModel* model);  // waits out a prefetch of it in flight
  void request_prefetch(BudgetOwner owner);
  void prefetch_loop();
  MemoryBudget budget_;
  SharedArena arena_;
  pthreadpool_t threadpool_ = nullptr;
  int threads_ = 1;
  Int8Kernels int8_kernels_ = Int8Kernels::kXnnpack;
  std::atomic<bool> adaptive_threads_{false};

  mutable std::mutex models_mutex_;
  std::condition_variable models_changed_;
  std::vector<CompiledModel*> models_;
  std::thread prefetcher_;
  bool stop_prefetcher_ = false;
  BudgetOwner prefetch_request_ = -1;
  CompiledModel* prefetching_ = nullptr;
  std::atomic<std::int64_t> layers_prefetched_{0};
};

// Packed weights are held per layer, each layer its own Evictable: under a tight budget a model
// streams, re-making a layer's packed weights from its weights at rest when the run reaches it
// and letting the budget evict layers the run is done with (furthest next use first when the
// schedule is known), so a model runs in a budget smaller than its whole packed footprint.
// With room to spare nothing is evicted and steady-state runs allocate nothing.
class CompiledModel final {
 public:
  // Validates the model, plans its activations and reserves its weights at rest in the budget.
  // Packing waits for the first run() or prefetch().
  static Result<std::unique_ptr<CompiledModel>> create(InferenceContext& context,
                                                       std::shared_ptr<const Model> model);
  ~CompiledModel();
  CompiledModel(const CompiledModel&) = delete;
  CompiledModel& operator=(const CompiledModel&) = delete;

  const Model& model() const noexcept { return *model_; }
  BudgetOwner owner() const noexcept { return owner_; }
  const ArenaPlan& arena_plan() const noexcept { return plan_; }

  // One buffer per graph input and output, in graph order, each exactly the tensor's bytes.
  Status run(std::span<const std::span<const std::uint8_t>> inputs,
             std::span<const std::span<std::uint8_t>> outputs);

  // Packs every layer's weights now, e.g. on a worker thread ahead of a known next use.
  Status prefetch();
  // The context's worker's way: as prefetch(), but only into room ScopedAheadOfNeed allows,
  // skipped when the model is running, and stopped early when a run of it is waiting.
  // Returns how many layers it packed.
  int prefetch_ahead_of_need();
  // Whether every layer's weights are packed.
  bool resident() const noexcept;
  // Accounted bytes of packed weights (and the kernel buffers that go with them) held now.
  std::int64_t packed_bytes() const noexcept;
  // Gives every layer's packed weights back, unless the model is running.
  void evict();
  bool running() const noexcept { return running_.load(); }
  // Layers re-made after an eviction, over the model's life: how much the budget streams.
  std::int64_t layers_repacked() const noexcept { return layers_repacked_.load(); }
  // Their accounted bytes (packed weights and kernel buffers), summed over every re-make.
  std::int64_t bytes_repacked() const noexcept { return bytes_repacked_.load(); }

  // Whether the latest run used the context's thread pool for every layer: always with more
  // than one thread, unless adaptive threading ran it (or all but a probe's first layers) on
  // the caller's thread. Work that follows a run on the same pool (LearnedOpticalFlow's
  // refinement) follows the same choice.
  bool last_run_used_pool() const noexcept { return last_run_used_pool_.load(); }
  const ParallelismChooser& parallelism() const noexcept { return parallelism_; }

  // Graph node indices in the order run() executes them: the layers' positions.
  std::span<const int> execution_order() const noexcept { return order_; }
  // Profiling: while `seconds` is set (one slot per layer, execution_order()'s size), every
  // run() writes each layer's wall time there, packing and binding included (nothing in steady
  // state). Empty, the default, measures nothing: a run then costs one branch per layer.
  // The caller keeps the storage alive while it is set.
  Status set_layer_seconds(std::span<double> seconds);

 private:
  struct Layer;
  CompiledModel(InferenceContext& context, std::shared_ptr<const Model> model, BudgetOwner owner);
  // With `layer.mutex` held: packs the layer's weights if they are not, and binds it to its
  // tensors if it is not (or the arena moved) when `bind` is set.
  Status ready_layer_locked(Layer& layer, bool bind);
  void release_layer_locked(Layer& layer) noexcept;

  InferenceContext& context_;
  std::shared_ptr<const Model> model_;
  BudgetOwner owner_;
  std::vector<int> order_;
  ArenaPlan plan_;
  std::vector<std::unique_ptr<inference::NodeKernel>> kernels_;  // by position in order_
  std::vector<std::unique_ptr<Layer>> layers_;                   // by position in order_
  std::int64_t reserved_at_rest_ = 0;

  std::mutex mutex_;  // one run or prefetch at a time
  std::atomic<bool> running_{false};
  std::atomic<bool> run_waiting_{false};  // a run wants mutex_: prefetching yields
  std::atomic<int> prepared_layers_{0};
  std::atomic<std::int64_t> layers_repacked_{0};
  std::atomic<std::int64_t> bytes_repacked_{0};
  std::span<double> layer_seconds_;  // set_layer_seconds(); guarded by mutex_
  ParallelismChooser parallelism_;   // guarded by mutex_
  std::atomic<bool> last_run_used_pool_{false};
  // Adaptive threading: each layer's time in the latest run alone (a probe's reference), by
  // position, and how many leading layers the next probe pools. Guarded by mutex_.
  std::vector<double> alone_layer_ms_;
  int probe_layers_ = 1;
};

}  // namespace fovea
