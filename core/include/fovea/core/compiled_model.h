#pragma once
// The inference core's executor. An InferenceContext is one memory budget, one activation arena
// and one thread pool shared by every model of a process (or of one plugin instance); a
// CompiledModel is a Model bound to a context: its kernels, its arena plan and its packed
// weights, which the budget may evict while the model is not running and which come back on
// the model's next run (or ahead of it, through prefetch()).

#include <pthreadpool.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "fovea/core/arena_planner.h"
#include "fovea/core/memory_budget.h"
#include "fovea/core/model.h"

namespace fovea {

namespace inference {
class NodeKernel;
}

// Which kernels run INT8 convolutions and fully connected layers.
enum class Int8Kernels {
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
      std::int64_t budget_bytes, int threads, Int8Kernels int8_kernels = Int8Kernels::kXnnpack);
  ~InferenceContext();
  InferenceContext(const InferenceContext&) = delete;
  InferenceContext& operator=(const InferenceContext&) = delete;

  MemoryBudget& budget() noexcept { return budget_; }
  SharedArena& arena() noexcept { return arena_; }
  pthreadpool_t threadpool() const noexcept { return threadpool_; }
  int threads() const noexcept { return threads_; }
  Int8Kernels int8_kernels() const noexcept { return int8_kernels_; }

 private:
  InferenceContext(std::int64_t budget_bytes, int threads, Int8Kernels int8_kernels);
  MemoryBudget budget_;
  SharedArena arena_;
  pthreadpool_t threadpool_ = nullptr;
  int threads_ = 1;
  Int8Kernels int8_kernels_ = Int8Kernels::kXnnpack;
};

class CompiledModel final : public Evictable {
 public:
  // Validates the model, plans its activations and reserves its weights at rest in the budget.
  // Packing waits for the first run() or prefetch().
  static Result<std::unique_ptr<CompiledModel>> create(InferenceContext& context,
                                                       std::shared_ptr<const Model> model);
  ~CompiledModel() override;
  CompiledModel(const CompiledModel&) = delete;
  CompiledModel& operator=(const CompiledModel&) = delete;

  const Model& model() const noexcept { return *model_; }
  BudgetOwner owner() const noexcept { return owner_; }
  const ArenaPlan& arena_plan() const noexcept { return plan_; }

  // One buffer per graph input and output, in graph order, each exactly the tensor's bytes.
  Status run(std::span<const std::span<const std::uint8_t>> inputs,
             std::span<const std::span<std::uint8_t>> outputs);

  // Packs the weights now, e.g. on a worker thread ahead of a known next use.
  Status prefetch();
  bool resident() const noexcept { return resident_.load(); }

  // Evictable: the packed weights (and XNNPACK's buffers that go with them).
  std::int64_t evictable_bytes() const override { return packed_bytes_.load(); }
  bool in_use() const override { return running_.load(); }
  void evict() override;

 private:
  CompiledModel(InferenceContext& context, std::shared_ptr<const Model> model, BudgetOwner owner);
  Status prepare_locked();
  Status bind_locked();
  void release_locked() noexcept;

  InferenceContext& context_;
  std::shared_ptr<const Model> model_;
  BudgetOwner owner_;
  std::vector<int> order_;
  ArenaPlan plan_;
  std::vector<std::unique_ptr<inference::NodeKernel>> kernels_;  // by position in order_
  // Constants that kernels read at run time (operands of Add, Multiply, ...), decoded.
  std::vector<BudgetBuffer> resident_constants_;
  std::vector<const void*> constant_pointers_;  // by tensor; nullptr if not resident
  std::int64_t reserved_at_rest_ = 0;

  std::mutex mutex_;  // one run, prefetch or eviction at a time
  std::atomic<bool> running_{false};
  std::atomic<bool> resident_{false};
  std::atomic<std::int64_t> packed_bytes_{0};
  bool bound_ = false;
  std::uint64_t bound_generation_ = 0;
  bool registered_ = false;
};

}  // namespace fovea
