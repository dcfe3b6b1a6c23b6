#pragma once
// XNNPACK takes one allocator per process (xnn_initialize). fovea installs one that charges each
// block to the MemoryBudget named by the calling thread's innermost ScopedXnnpackBudget, so what
// an operator packs and allocates while it is created and set up counts against its model's
// budget. Blocks allocated with no scope active are counted by xnnpack_unscoped_bytes(), which
// model code keeps at zero. Every block carries a small header naming its budget, so freeing or
// reallocating it needs no scope.

#include <cstdint>

#include "fovea/core/memory_budget.h"
#include "fovea/core/status.h"

namespace fovea {

// What the rest of fovea calls instead of xnn_initialize: idempotent and thread-safe. Fails when
// XNNPACK cannot start, or when something else initialised XNNPACK first with its own allocator
// (XNNPACK keeps the first one), since its allocations would then bypass every budget.
Status initialize_xnnpack();

// Attributes XNNPACK allocations made on this thread to `owner` of `budget` while it lives.
// Scopes nest; the innermost wins. Run operators creation and setup inside one.
class ScopedXnnpackBudget {
 public:
  ScopedXnnpackBudget(MemoryBudget& budget, BudgetOwner owner,
                      MemoryCategory category = MemoryCategory::kKernelInternal);
  ~ScopedXnnpackBudget();
  ScopedXnnpackBudget(const ScopedXnnpackBudget&) = delete;
  ScopedXnnpackBudget& operator=(const ScopedXnnpackBudget&) = delete;

  // XNNPACK reports a refused allocation only as xnn_status_out_of_memory; this is the budget's
  // own error (cap, request, holders) for the latest one refused in this scope, or ok.
  const Status& last_failure() const noexcept { return last_failure_; }

 private:
  friend struct XnnpackAllocatorHooks;
  MemoryBudget* budget_;
  BudgetOwner owner_;
  MemoryCategory category_;
  Status last_failure_;
  ScopedXnnpackBudget* previous_;
};

// Bytes (headers included) of live XNNPACK blocks allocated with no scope active.
std::int64_t xnnpack_unscoped_bytes() noexcept;
// How many XNNPACK allocations were ever made with no scope active (a freed one still counts).
std::int64_t xnnpack_unscoped_allocations() noexcept;

}  // namespace fovea
