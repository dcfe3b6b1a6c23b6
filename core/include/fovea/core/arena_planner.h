#pragma once
// Static activation planning: every intermediate tensor of a model gets a fixed offset in one
// arena, computed once from tensor lifetimes, so inference allocates nothing. Tensors alive at
// the same step never share bytes; tensors that are never alive together may.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fovea/core/memory_budget.h"
#include "fovea/core/model_graph.h"
#include "fovea/core/status.h"

namespace fovea {

inline constexpr std::int64_t kArenaAlignment = 64;

// `value` rounded up to a multiple of `alignment` (positive).
constexpr std::int64_t align_up(std::int64_t value, std::int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// Steps are positions in the execution order; a tensor is alive from first_use_step (the step
// that writes it) to last_use_step (the last step that reads it), both included.
struct TensorLifetime {
  std::int64_t size_bytes = 0;
  int first_use_step = 0;
  int last_use_step = 0;
};

// Arena bytes no tensor alive at one step uses: the largest gap between live tensors, and
// where the last live tensor ends (everything after it is free too, up to the arena's size).
struct ArenaFreeSpace {
  std::int64_t gap_offset = 0;
  std::int64_t gap_bytes = 0;
  std::int64_t tail_offset = 0;
};

struct ArenaPlan {
  // Per tensor, a multiple of the alignment; -1 for a tensor not in the arena (a constant).
  std::vector<std::int64_t> offsets;
  std::int64_t arena_bytes = 0;  // max over tensors of offset + size, rounded up to the alignment
  // Max over steps of the bytes alive at that step: no placement can need less.
  std::int64_t lower_bound_bytes = 0;
  // Per step (plan_graph_activations only): room a step may borrow for its own scratch, such
  // as weights decoded for packing, while the model runs.
  std::vector<ArenaFreeSpace> free_by_step;
};

// Greedy by size with best fit (as TFLite's ArenaPlanner and Pisarchyk & Lee, "Efficient Memory
// Management for Deep Neural Net Inference", 2020): the largest tensors are placed first, each
// into the smallest gap left between already placed tensors whose lifetimes overlap its own.
// A few other orders (by size x lifetime, by lifetime, by start) and seeded jittered size
// orders are tried too, and the smallest arena kept: deterministic, and stopping early once the
// arena meets the lower bound. O(n^2) per order, with fewer restarts for large graphs.
Result<ArenaPlan> plan_arena(const std::vector<TensorLifetime>& tensors,
                             std::int64_t alignment = kArenaAlignment);

// Lifetimes from a graph run in `order` (node indices, each once, producers first): graph inputs
// live from step 0, graph outputs to the last step, constants get no offset (-1). Offsets are
// indexed by graph tensor.
Result<ArenaPlan> plan_graph_activations(const ModelGraph& graph, const std::vector<int>& order);

// One activation block shared by models that run one after another: sized by the largest plan
// bound to it, not their sum. It only grows; growing frees the old block before allocating the
// larger one (the cap matters more than keeping contents), so pointers into it change, which
// generation() tells.
class SharedArena {
 public:
  // `owner` is the one "activations" owner all models' arenas are charged to.
  SharedArena(MemoryBudget& budget, BudgetOwner owner) : budget_(&budget), owner_(owner) {}

  // Makes the block at least `bytes` long. On failure the arena is left empty.
  Status ensure(std::int64_t bytes);

  std::uint8_t* data() const noexcept { return static_cast<std::uint8_t*>(block_.data()); }
  std::int64_t size() const noexcept { return static_cast<std::int64_t>(block_.size()); }
  // Changes whenever data() does: operators set up with pointers into the arena need redoing.
  std::uint64_t generation() const noexcept { return generation_; }
  void release() noexcept;  // gives the block back (at shutdown, or to make room)

 private:
  MemoryBudget* budget_;
  BudgetOwner owner_;
  BudgetBuffer block_;
  std::uint64_t generation_ = 0;
};

}  // namespace fovea
