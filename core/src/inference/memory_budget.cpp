#include "fovea/core/memory_budget.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

namespace fovea {
namespace {

// Sits right before every block allocate() returns, so deallocate() needs no lookup table.
struct alignas(16) BlockHeader {
  MemoryBudget* budget;
  void* raw;                         // what std::malloc or mmap returned
  std::size_t mapped_bytes;          // the mapping's length, or 0 for a malloc'd block
  std::atomic<std::int64_t>* tally;  // ScopedBudgetTally's at allocation, or nullptr
  std::int64_t accounted;
  BudgetOwner owner;
  MemoryCategory category;
  std::uint32_t magic;
};
constexpr std::uint32_t kBlockMagic = 0xf0bea11c;
constexpr std::uint32_t kFreedMagic = 0xdeadf0be;

thread_local std::atomic<std::int64_t>* t_tally = nullptr;
thread_local bool t_ahead_of_need = false;

// Blocks from this size up are whole pages mapped for them alone and unmapped when freed. glibc
// would serve them from its heap once its dynamic mmap threshold has risen (it does after the
// first large free), and a heap keeps freed memory resident: a model streaming its layers
// through a tight budget then grows the process by far more than the budget. Mapped pages
// leave the process when the budget gives them back.
constexpr std::size_t kMapThreshold = 16 * 1024;
constexpr std::size_t kPage = 4096;

// std::malloc's guaranteed alignment; larger alignments are made by over-allocating.
constexpr std::size_t kMallocAlignment = alignof(std::max_align_t);

// Bytes asked of std::malloc for a block: header, alignment slack, payload.
std::size_t raw_request(std::size_t bytes, std::size_t alignment) {
  const std::size_t slack = alignment > kMallocAlignment ? alignment - kMallocAlignment : 0;
  return sizeof(BlockHeader) + slack + bytes;
}

bool is_power_of_two(std::size_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

std::string format_bytes(std::int64_t bytes) {
  char text[64];
  std::snprintf(text, sizeof(text), "%lld bytes (%.1f MiB)", static_cast<long long>(bytes),
                static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

}  // namespace

const char* memory_category_name(MemoryCategory category) noexcept {
  switch (category) {
    case MemoryCategory::kPackedWeights:
      return "packed_weights";
    case MemoryCategory::kActivations:
      return "activations";
    case MemoryCategory::kScratch:
      return "scratch";
    case MemoryCategory::kKernelInternal:
      return "kernel_internal";
    case MemoryCategory::kCompressedWeights:
      return "compressed_weights";
    case MemoryCategory::kCount:
      break;
  }
  return "invalid";
}

// What is counted per block, so the accounted total bounds the memory the blocks really take:
// the payload, the BlockHeader before it, the slack that aligning inside a chunk may waste, and
// the chunk's own cost: blocks of kMapThreshold and more are whole mapped pages; smaller ones
// are glibc heap chunks, the request plus an 8-byte size field rounded up to 16 (at least 32).
// Fragmentation between heap chunks is not counted: it depends on the order of frees, and only
// small blocks (XNNPACK's operator structs, ...) live on the heap.
std::int64_t MemoryBudget::accounted_bytes(std::size_t bytes, std::size_t alignment) noexcept {
  const std::size_t raw = raw_request(bytes, alignment);
  if (raw >= kMapThreshold) return static_cast<std::int64_t>((raw + kPage - 1) / kPage * kPage);
  return static_cast<std::int64_t>(std::max<std::size_t>(32, (raw + 8 + 15) / 16 * 16));
}

MemoryBudget::MemoryBudget(std::int64_t cap_bytes) : cap_(std::max<std::int64_t>(cap_bytes, 0)) {}

MemoryBudget::~MemoryBudget() {
  // A block outliving its budget would later be freed through a dangling pointer.
  assert(live_blocks_ == 0 && "MemoryBudget destroyed while blocks are still allocated");
}

BudgetOwner MemoryBudget::register_owner(std::string name) {
  std::lock_guard lock(mutex_);
  owners_.push_back(OwnerState{});
  owners_.back().name = std::move(name);
  return static_cast<BudgetOwner>(owners_.size() - 1);
}

std::string MemoryBudget::owner_name(BudgetOwner owner) const {
  std::lock_guard lock(mutex_);
  return valid_owner_locked(owner) ? owners_[static_cast<size_t>(owner)].name : std::string();
}

bool MemoryBudget::valid_owner_locked(BudgetOwner owner) const {
  return owner >= 0 && static_cast<size_t>(owner) < owners_.size();
}

void MemoryBudget::register_evictable(BudgetOwner owner, Evictable* evictable) {
  if (evictable == nullptr) return;
  std::lock_guard lock(mutex_);
  assert(valid_owner_locked(owner));
  evictables_.push_back(EvictableEntry{evictable, owner, false});
}

void MemoryBudget::unregister_evictable(Evictable* evictable) {
  std::unique_lock lock(mutex_);
  const auto find = [&] {
    return std::find_if(evictables_.begin(), evictables_.end(),
                        [&](const EvictableEntry& e) { return e.evictable == evictable; });
  };
  evictions_done_.wait(lock, [&] {
    auto it = find();
    return it == evictables_.end() || !it->evicting;
  });
  auto it = find();
  if (it != evictables_.end()) evictables_.erase(it);
}

void MemoryBudget::note_use(BudgetOwner owner) {
  std::lock_guard lock(mutex_);
  if (!valid_owner_locked(owner)) return;
  owners_[static_cast<size_t>(owner)].last_use = ++clock_;
  // Tolerates runs that skip scheduled entries: jump to just past this owner's next entry.
  auto it = std::find(schedule_.begin() + static_cast<std::ptrdiff_t>(schedule_position_),
                      schedule_.end(), owner);
  if (it != schedule_.end()) schedule_position_ = static_cast<size_t>(it - schedule_.begin()) + 1;
  if (schedule_position_ >= schedule_.size()) {
    schedule_.clear();
    schedule_position_ = 0;
  }
}

void MemoryBudget::set_next_uses(std::vector<BudgetOwner> schedule) {
  std::lock_guard lock(mutex_);
  schedule_ = std::move(schedule);
  schedule_position_ = 0;
}

BudgetOwner MemoryBudget::next_scheduled() const {
  std::lock_guard lock(mutex_);
  return schedule_position_ < schedule_.size() ? schedule_[schedule_position_] : -1;
}

std::int64_t MemoryBudget::next_use_distance_locked(BudgetOwner owner) const {
  for (size_t i = schedule_position_; i < schedule_.size(); ++i)
    if (schedule_[i] == owner) return static_cast<std::int64_t>(i - schedule_position_);
  return std::numeric_limits<std::int64_t>::max();  // not needed again as far as we know
}

int MemoryBudget::pick_victim_locked(BudgetOwner requester,
                                     const std::vector<Evictable*>& tried) const {
  const bool scheduled = schedule_position_ < schedule_.size();
  int best = -1;
  // Ranked by: parts the run under way still needs last; then, with a known schedule, furthest
  // next use (the requester's parts its current run is done with included: they are needed
  // again only at its next turn), else other owners before the requester and least recently
  // used; within an owner, latest in its run order.
  using Key = std::tuple<int, int, std::int64_t, std::int64_t, std::int64_t>;
  Key best_key{};
  for (size_t i = 0; i < evictables_.size(); ++i) {
    const EvictableEntry& entry = evictables_[i];
    if (entry.evicting || std::find(tried.begin(), tried.end(), entry.evictable) != tried.end())
      continue;
    if (entry.evictable->in_use() || entry.evictable->evictable_bytes() <= 0 ||
        !may_evict_locked(entry, requester))
      continue;
    const std::int64_t distance = scheduled ? next_use_distance_locked(entry.owner) : 0;
    const Key key{entry.evictable->needed_by_current_run() ? 1 : 0,
                  !scheduled && entry.owner == requester ? 1 : 0, -distance,
                  owners_[static_cast<size_t>(entry.owner)].last_use,
                  -entry.evictable->run_position()};
    if (best < 0 || key < best_key) {
      best = static_cast<int>(i);
      best_key = key;
    }
  }
  return best;
}

Status MemoryBudget::out_of_memory_locked(BudgetOwner owner, MemoryCategory category,
                                          std::int64_t bytes, const char* what,
                                          const std::string& reason) const {
  return Status(ErrorCode::kOutOfMemory,
                "memory budget of " + format_bytes(cap_) + " holds " + format_bytes(current_) +
                    "; '" + owners_[static_cast<size_t>(owner)].name + "' asked to " + what + " " +
                    format_bytes(bytes) + " of " + memory_category_name(category) + ", but " +
                    reason +
                    ". Raise the budget, or run fewer or smaller models in it. Holders:\n" +
                    describe_holders_locked());
}

bool MemoryBudget::may_evict_locked(const EvictableEntry& entry, BudgetOwner requester) const {
  if (!t_ahead_of_need) return true;
  if (entry.owner == requester || entry.evictable->needed_by_current_run()) return false;
  if (schedule_position_ >= schedule_.size()) return false;
  return next_use_distance_locked(entry.owner) > next_use_distance_locked(requester);
}

Status MemoryBudget::acquire(BudgetOwner owner, MemoryCategory category, std::int64_t bytes,
                             const char* what) {
  std::unique_lock lock(mutex_);
  if (!valid_owner_locked(owner))
    return Status(ErrorCode::kInvalidArgument,
                  "memory budget: owner " + std::to_string(owner) + " was never registered");
  if (category >= MemoryCategory::kCount)
    return Status(ErrorCode::kInvalidArgument, "memory budget: invalid memory category");
  if (bytes < 0)
    return Status(ErrorCode::kInvalidArgument,
                  "memory budget: negative byte count " + std::to_string(bytes));
  if (bytes > cap_)
    return out_of_memory_locked(owner, category, bytes, what,
                                "the request alone is larger than the whole budget");

  std::vector<Evictable*> tried;
  while (current_ + bytes > cap_) {
    // Evicting cannot help a request that would not fit with everything evictable gone; then
    // keep the other models' weights and fail right away.
    std::int64_t reclaimable = 0;
    for (const EvictableEntry& entry : evictables_)
      if (entry.evicting || (!entry.evictable->in_use() && may_evict_locked(entry, owner)))
        reclaimable += std::max<std::int64_t>(entry.evictable->evictable_bytes(), 0);
    const int victim =
        current_ - reclaimable + bytes <= cap_ ? pick_victim_locked(owner, tried) : -1;
    if (victim < 0) {
      // Another thread's eviction may be about to free bytes; wait for it rather than fail.
      if (evictions_in_flight_ > 0) {
        evictions_done_.wait(lock);
        continue;
      }
      return out_of_memory_locked(
          owner, category, bytes, what,
          "evicting every packed weight not in use right now (other models', and layers "
          "of a running model other than the one being made) cannot make "
          "enough room");
    }
    EvictableEntry& entry = evictables_[static_cast<size_t>(victim)];
    entry.evicting = true;
    Evictable* evictable = entry.evictable;
    tried.push_back(evictable);
    ++evictions_in_flight_;
    ++evictions_;
    // evict() frees through deallocate(), which takes the lock: call it unlocked.
    lock.unlock();
    evictable->evict();
    lock.lock();
    for (EvictableEntry& e : evictables_)
      if (e.evictable == evictable) e.evicting = false;
    --evictions_in_flight_;
    evictions_done_.notify_all();
  }

  OwnerState& state = owners_[static_cast<size_t>(owner)];
  const auto c = static_cast<size_t>(category);
  current_ += bytes;
  peak_ = std::max(peak_, current_);
  category_current_[c] += bytes;
  category_peak_[c] = std::max(category_peak_[c], category_current_[c]);
  state.current[c] += bytes;
  state.peak[c] = std::max(state.peak[c], state.current[c]);
  std::int64_t owner_total = 0;
  for (std::int64_t v : state.current) owner_total += v;
  state.peak_total = std::max(state.peak_total, owner_total);
  return Status::ok();
}

void MemoryBudget::release(BudgetOwner owner, MemoryCategory category,
                           std::int64_t bytes) noexcept {
  std::lock_guard lock(mutex_);
  if (!valid_owner_locked(owner) || category >= MemoryCategory::kCount) return;
  const auto c = static_cast<size_t>(category);
  OwnerState& state = owners_[static_cast<size_t>(owner)];
  assert(state.current[c] >= bytes && "released more than was acquired");
  current_ -= bytes;
  category_current_[c] -= bytes;
  state.current[c] -= bytes;
}

Result<void*> MemoryBudget::allocate(BudgetOwner owner, MemoryCategory category, std::size_t bytes,
                                     std::size_t alignment) {
  if (!is_power_of_two(alignment))
    return Status(
        ErrorCode::kInvalidArgument,
        "memory budget: alignment " + std::to_string(alignment) + " is not a power of two");
  alignment = std::max(alignment, kMallocAlignment);
  constexpr std::size_t kLargest = std::size_t{1} << 50;  // keeps the arithmetic below exact
  if (bytes > kLargest || alignment > kLargest)
    return Status(ErrorCode::kOutOfMemory,
                  "memory budget: request of " + std::to_string(bytes) + " bytes is absurd");
  {
    std::lock_guard lock(mutex_);
    if (fail_countdown_ >= 0) {
      if (fail_countdown_ == 0) {
        fail_countdown_ = -1;
        if (!valid_owner_locked(owner))
          return Status(ErrorCode::kInvalidArgument, "memory budget: unknown owner");
        return out_of_memory_locked(owner, category, static_cast<std::int64_t>(bytes), "allocate",
                                    "an injected failure (test hook) refused it");
      }
      --fail_countdown_;
    }
  }
  const std::int64_t accounted = accounted_bytes(bytes, alignment);
  FOVEA_RETURN_IF_ERROR(acquire(owner, category, accounted, "allocate"));

  const std::size_t request = raw_request(bytes, alignment);
  std::size_t mapped_bytes = 0;
  void* raw = nullptr;
  if (request >= kMapThreshold) {
    mapped_bytes = static_cast<std::size_t>(accounted);
    raw = mmap(nullptr, mapped_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) raw = nullptr;
  } else {
    raw = std::malloc(request);
  }
  if (raw == nullptr) {
    release(owner, category, accounted);
    return Status(ErrorCode::kOutOfMemory, "memory budget: the system allocator refused " +
                                               format_bytes(accounted) + " for '" +
                                               owner_name(owner) + "' within the budget");
  }
  const auto base = reinterpret_cast<std::uintptr_t>(raw) + sizeof(BlockHeader);
  const std::uintptr_t user = (base + alignment - 1) & ~(std::uintptr_t{alignment} - 1);
  auto* header = reinterpret_cast<BlockHeader*>(user) - 1;
  *header = BlockHeader{this, raw, mapped_bytes, t_tally, accounted, owner, category, kBlockMagic};
  if (t_tally != nullptr) t_tally->fetch_add(accounted);
  {
    std::lock_guard lock(mutex_);
    ++allocations_;
    ++live_blocks_;
  }
  return reinterpret_cast<void*>(user);
}

void MemoryBudget::deallocate(void* pointer) noexcept {
  if (pointer == nullptr) return;
  auto* header = static_cast<BlockHeader*>(pointer) - 1;
  assert(header->magic == kBlockMagic && "deallocate of a block this budget did not allocate");
  assert(header->budget == this && "deallocate through another budget than the allocating one");
  const BlockHeader copy = *header;
  header->magic = kFreedMagic;
  release(copy.owner, copy.category, copy.accounted);
  if (copy.tally != nullptr) copy.tally->fetch_sub(copy.accounted);
  {
    std::lock_guard lock(mutex_);
    --live_blocks_;
  }
  if (copy.mapped_bytes > 0)
    munmap(copy.raw, copy.mapped_bytes);
  else
    std::free(copy.raw);
}

Status MemoryBudget::reserve(BudgetOwner owner, MemoryCategory category, std::int64_t bytes) {
  return acquire(owner, category, bytes, "reserve");
}

void MemoryBudget::unreserve(BudgetOwner owner, MemoryCategory category,
                             std::int64_t bytes) noexcept {
  if (bytes > 0) release(owner, category, bytes);
}

std::int64_t MemoryBudget::current_bytes() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::int64_t MemoryBudget::peak_bytes() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

std::int64_t MemoryBudget::current_bytes(BudgetOwner owner) const {
  std::lock_guard lock(mutex_);
  if (!valid_owner_locked(owner)) return 0;
  std::int64_t total = 0;
  for (std::int64_t v : owners_[static_cast<size_t>(owner)].current) total += v;
  return total;
}

std::int64_t MemoryBudget::peak_bytes(BudgetOwner owner) const {
  std::lock_guard lock(mutex_);
  return valid_owner_locked(owner) ? owners_[static_cast<size_t>(owner)].peak_total : 0;
}

std::int64_t MemoryBudget::current_bytes(MemoryCategory category) const {
  std::lock_guard lock(mutex_);
  return category < MemoryCategory::kCount ? category_current_[static_cast<size_t>(category)] : 0;
}

std::int64_t MemoryBudget::peak_bytes(MemoryCategory category) const {
  std::lock_guard lock(mutex_);
  return category < MemoryCategory::kCount ? category_peak_[static_cast<size_t>(category)] : 0;
}

std::int64_t MemoryBudget::allocation_count() const {
  std::lock_guard lock(mutex_);
  return allocations_;
}

std::int64_t MemoryBudget::eviction_count() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

void MemoryBudget::fail_allocation_number(std::int64_t n) {
  std::lock_guard lock(mutex_);
  fail_countdown_ = n < 0 ? -1 : n;
}

std::string MemoryBudget::describe_holders() const {
  std::lock_guard lock(mutex_);
  return describe_holders_locked();
}

std::string MemoryBudget::describe_holders_locked() const {
  std::string text;
  for (size_t o = 0; o < owners_.size(); ++o) {
    const OwnerState& state = owners_[o];
    for (int c = 0; c < kMemoryCategoryCount; ++c) {
      const auto ci = static_cast<size_t>(c);
      if (state.current[ci] == 0 && state.peak[ci] == 0) continue;
      text += "  '" + state.name + "' " + memory_category_name(static_cast<MemoryCategory>(c)) +
              ": " + format_bytes(state.current[ci]) + " now, " + format_bytes(state.peak[ci]) +
              " at peak\n";
    }
    // One line per owner: a model streamed layer by layer registers one evictable per layer.
    int parts = 0, holding = 0;
    std::int64_t evictable = 0, in_use = 0, being_evicted = 0;
    for (const EvictableEntry& entry : evictables_) {
      if (entry.owner != static_cast<BudgetOwner>(o)) continue;
      const std::int64_t bytes = entry.evictable->evictable_bytes();
      ++parts;
      if (bytes > 0) ++holding;
      if (entry.evicting)
        being_evicted += bytes;
      else if (entry.evictable->in_use())
        in_use += bytes;
      else
        evictable += bytes;
    }
    if (parts > 0)
      text += "  '" + state.name + "' evictable: " + format_bytes(evictable) + " in " +
              std::to_string(holding) + " of " + std::to_string(parts) +
              (parts == 1 ? " part" : " parts") +
              "; in use (not evictable now): " + format_bytes(in_use) +
              (being_evicted > 0 ? "; being evicted: " + format_bytes(being_evicted) : "") + "\n";
  }
  if (text.empty()) text = "  (nothing held)\n";
  return text;
}

ScopedAheadOfNeed::ScopedAheadOfNeed() noexcept : previous_(t_ahead_of_need) {
  t_ahead_of_need = true;
}

ScopedAheadOfNeed::~ScopedAheadOfNeed() {
  t_ahead_of_need = previous_;
}

ScopedBudgetTally::ScopedBudgetTally(std::atomic<std::int64_t>& tally) noexcept
    : previous_(t_tally) {
  t_tally = &tally;
}

ScopedBudgetTally::~ScopedBudgetTally() {
  t_tally = previous_;
}

std::atomic<std::int64_t>* ScopedBudgetTally::current() noexcept {
  return t_tally;
}

Result<BudgetBuffer> BudgetBuffer::allocate(MemoryBudget& budget, BudgetOwner owner,
                                            MemoryCategory category, std::size_t bytes,
                                            std::size_t alignment) {
  Result<void*> block = budget.allocate(owner, category, bytes, alignment);
  if (!block) return block.status();
  return BudgetBuffer(&budget, *block, bytes);
}

BudgetBuffer::BudgetBuffer(BudgetBuffer&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

BudgetBuffer& BudgetBuffer::operator=(BudgetBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    budget_ = std::exchange(other.budget_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void BudgetBuffer::reset() noexcept {
  if (data_ != nullptr) budget_->deallocate(data_);
  budget_ = nullptr;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace fovea
