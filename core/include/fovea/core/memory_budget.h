#pragma once
// One hard byte cap shared by every model of a process (or of one plugin instance). Every byte
// the inference core holds is allocated or reserved through it, so the cap is a promise: an
// allocation that would pass it first evicts re-makeable bytes (packed weights of models that are
// not running) and otherwise fails with an error that names the budget, the request and the
// holders. The accounted total never exceeds the cap, also when several threads allocate.

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "fovea/core/status.h"

namespace fovea {

enum class MemoryCategory : std::uint8_t {
  kPackedWeights,      // weights in the layout a kernel wants; evictable, re-made on demand
  kActivations,        // activation arenas
  kScratch,            // short-lived buffers of one op or one inference
  kKernelInternal,     // what XNNPACK allocates for itself (indirection buffers, op structs)
  kCompressedWeights,  // weights at rest
  kCount
};
inline constexpr int kMemoryCategoryCount = static_cast<int>(MemoryCategory::kCount);

const char* memory_category_name(MemoryCategory category) noexcept;  // "packed_weights", ...

// One per model (or other user), registered by name so errors and reports can say who holds what.
using BudgetOwner = int;

// Something holding bytes that can be re-made later (the packed weights of a model).
//
// Contract, so eviction can run from any thread that allocates without deadlocking:
// - evictable_bytes() and in_use() are called with the budget's lock held: they must not block
//   and must not call into the budget (read an atomic).
// - evict() is called without the budget's lock, possibly on another thread than the owner's,
//   never twice at once for one Evictable and never after unregister_evictable() returned. It
//   frees through MemoryBudget::deallocate. If it finds its model running (in_use() raced), it
//   frees nothing and returns; it should try_lock rather than wait on the model's own lock.
class Evictable {
 public:
  virtual ~Evictable() = default;
  virtual std::int64_t evictable_bytes() const = 0;  // accounted bytes evict() would free now
  virtual bool in_use() const = 0;                   // running now: never evicted
  virtual void evict() = 0;
  // For a part of a model (one layer's packed weights) rather than a whole one: whether the run
  // under way still needs it, and its place in the model's run order. Among the parts of one
  // owner, those not needed by the current run go first, the latest in run order first: that
  // is furthest next use within a model (the next run reaches the early layers first).
  virtual bool needed_by_current_run() const { return false; }
  virtual std::int64_t run_position() const { return 0; }
};

// Marks this thread's allocations, while it lives, as made ahead of need (prefetching weights
// on a worker): they may evict only what is needed later than the requester, per the known
// schedule (never a part the run under way still needs, never the requester's own), and
// without a schedule they evict nothing. A prefetch that finds no such room fails instead of
// taking bytes the running model is about to use.
class ScopedAheadOfNeed {
 public:
  ScopedAheadOfNeed() noexcept;
  ~ScopedAheadOfNeed();
  ScopedAheadOfNeed(const ScopedAheadOfNeed&) = delete;
  ScopedAheadOfNeed& operator=(const ScopedAheadOfNeed&) = delete;

 private:
  bool previous_;
};

// Tallies the accounted bytes of the blocks allocated on this thread while it lives (nested:
// the innermost wins), also when they are freed later on another thread. Lets one part of an
// owner (a layer's packed weights) know its own bytes while other parts come and go.
class ScopedBudgetTally {
 public:
  explicit ScopedBudgetTally(std::atomic<std::int64_t>& tally) noexcept;
  ~ScopedBudgetTally();
  ScopedBudgetTally(const ScopedBudgetTally&) = delete;
  ScopedBudgetTally& operator=(const ScopedBudgetTally&) = delete;
  static std::atomic<std::int64_t>* current() noexcept;

 private:
  std::atomic<std::int64_t>* previous_;
};

class MemoryBudget {
 public:
  explicit MemoryBudget(std::int64_t cap_bytes);
  ~MemoryBudget();  // every block must have been deallocated by then (checked in debug builds)
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  BudgetOwner register_owner(std::string name);
  std::string owner_name(BudgetOwner owner) const;  // "" for an unknown owner

  void register_evictable(BudgetOwner owner, Evictable* evictable);
  // Waits for an eviction of `evictable` running on another thread to finish, so the object may
  // be destroyed right after; do not call it while holding a lock that evict() takes.
  void unregister_evictable(Evictable* evictable);

  // The LRU clock: `owner` just ran. Also consumes the schedule up to its next entry for `owner`.
  void note_use(BudgetOwner owner);
  // The known future run order, next run first. While it is non-empty, eviction picks the owner
  // whose next use is furthest (owners absent from it first, by LRU); when it runs out, plain LRU.
  void set_next_uses(std::vector<BudgetOwner> schedule);
  // The schedule's next entry, or -1 when none is known.
  BudgetOwner next_scheduled() const;

  // A block of at least `bytes`, aligned to `alignment` (a power of two), accounted to `owner`
  // and `category`. Fails with kOutOfMemory (after evicting what it may) or kInvalidArgument.
  Result<void*> allocate(BudgetOwner owner, MemoryCategory category, std::size_t bytes,
                         std::size_t alignment = 64);
  void deallocate(void* pointer) noexcept;  // nullptr is a no-op

  // Accounting for bytes held elsewhere (a mapped file, a GL buffer): same eviction and failure
  // as allocate, without a block.
  Status reserve(BudgetOwner owner, MemoryCategory category, std::int64_t bytes);
  void unreserve(BudgetOwner owner, MemoryCategory category, std::int64_t bytes) noexcept;

  // What allocate(bytes, alignment) adds to the accounted total: the request plus the block's
  // header, alignment slack and the system allocator's own per-chunk overhead (see the .cpp).
  static std::int64_t accounted_bytes(std::size_t bytes, std::size_t alignment = 64) noexcept;

  std::int64_t cap_bytes() const noexcept { return cap_; }
  std::int64_t current_bytes() const;
  std::int64_t peak_bytes() const;
  std::int64_t current_bytes(BudgetOwner owner) const;
  std::int64_t peak_bytes(BudgetOwner owner) const;
  std::int64_t current_bytes(MemoryCategory category) const;
  std::int64_t peak_bytes(MemoryCategory category) const;
  std::int64_t allocation_count() const;  // successful allocate() calls so far
  std::int64_t eviction_count() const;    // evict() calls made so far

  // One line per owner and category that holds or held bytes, for errors and reports.
  std::string describe_holders() const;

  // Test hook: the n-th allocate() from now fails as if out of memory, counting from 0 (0 = the
  // next call); -1 turns it off. Lets tests walk an out-of-memory failure through every call.
  void fail_allocation_number(std::int64_t n);

 private:
  struct OwnerState {
    std::string name;
    std::array<std::int64_t, kMemoryCategoryCount> current{};
    std::array<std::int64_t, kMemoryCategoryCount> peak{};
    std::int64_t peak_total = 0;
    std::int64_t last_use = 0;  // LRU clock value; 0 = never ran
  };
  struct EvictableEntry {
    Evictable* evictable = nullptr;
    BudgetOwner owner = -1;
    bool evicting = false;
  };

  // Charges `bytes` to owner/category, evicting first when needed. `what` describes the request.
  Status acquire(BudgetOwner owner, MemoryCategory category, std::int64_t bytes, const char* what);
  void release(BudgetOwner owner, MemoryCategory category, std::int64_t bytes) noexcept;
  // With mutex_ held: the best evictable to evict for `requester`, or -1.
  int pick_victim_locked(BudgetOwner requester, const std::vector<Evictable*>& tried) const;
  // With mutex_ held: whether this thread's request for `requester` may evict `entry` at all.
  bool may_evict_locked(const EvictableEntry& entry, BudgetOwner requester) const;
  std::int64_t next_use_distance_locked(BudgetOwner owner) const;
  bool valid_owner_locked(BudgetOwner owner) const;
  std::string describe_holders_locked() const;
  Status out_of_memory_locked(BudgetOwner owner, MemoryCategory category, std::int64_t bytes,
                              const char* what, const std::string& reason) const;

  const std::int64_t cap_;
  mutable std::mutex mutex_;
  std::condition_variable evictions_done_;
  std::vector<OwnerState> owners_;
  std::vector<EvictableEntry> evictables_;
  std::vector<BudgetOwner> schedule_;
  std::size_t schedule_position_ = 0;
  std::int64_t clock_ = 0;
  std::int64_t current_ = 0;
  std::int64_t peak_ = 0;
  std::array<std::int64_t, kMemoryCategoryCount> category_current_{};
  std::array<std::int64_t, kMemoryCategoryCount> category_peak_{};
  std::int64_t allocations_ = 0;
  std::int64_t evictions_ = 0;
  std::int64_t live_blocks_ = 0;
  int evictions_in_flight_ = 0;
  std::int64_t fail_countdown_ = -1;
};

// Move-only owner of one allocate()d block.
class BudgetBuffer {
 public:
  BudgetBuffer() = default;
  static Result<BudgetBuffer> allocate(MemoryBudget& budget, BudgetOwner owner,
                                       MemoryCategory category, std::size_t bytes,
                                       std::size_t alignment = 64);
  ~BudgetBuffer() { reset(); }
  BudgetBuffer(BudgetBuffer&& other) noexcept;
  BudgetBuffer& operator=(BudgetBuffer&& other) noexcept;
  BudgetBuffer(const BudgetBuffer&) = delete;
  BudgetBuffer& operator=(const BudgetBuffer&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return data_ == nullptr; }
  void reset() noexcept;  // gives the block back to the budget

 private:
  BudgetBuffer(MemoryBudget* budget, void* data, std::size_t size)
      : budget_(budget), data_(data), size_(size) {}
  MemoryBudget* budget_ = nullptr;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace fovea
