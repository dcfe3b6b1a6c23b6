#include "fovea/core/xnnpack_memory.h"

#include <xnnpack.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace fovea {
namespace {

// Sits right before every block handed to XNNPACK.
struct alignas(16) XnnBlockHeader {
  MemoryBudget* budget;  // nullptr: plain heap block (unscoped, or the start-up probe)
  void* base;            // what to give back: the budget's block or the aligned_alloc'd one
  std::size_t size;      // bytes XNNPACK asked for, for reallocate's copy
  std::size_t alignment;
  BudgetOwner owner;
  MemoryCategory category;
  bool counted_unscoped;
  std::uint32_t magic;
};
constexpr std::uint32_t kXnnMagic = 0x7a6e6e78;

std::atomic<std::int64_t> g_unscoped_bytes{0};
std::atomic<std::int64_t> g_unscoped_allocations{0};

thread_local ScopedXnnpackBudget* t_scope = nullptr;
thread_local bool t_probing = false;  // initialize_xnnpack's check that our allocator is active
thread_local int t_probe_calls = 0;

XnnBlockHeader* header_of(void* pointer) {
  auto* header = static_cast<XnnBlockHeader*>(pointer) - 1;
  assert(header->magic == kXnnMagic && "XNNPACK freed a block fovea's allocator did not make");
  return header;
}

}  // namespace

// Friend of ScopedXnnpackBudget; the xnn_allocator callbacks.
struct XnnpackAllocatorHooks {
  // Where a new block goes: a budget's owner and category, or (budget == nullptr) the heap.
  struct Target {
    MemoryBudget* budget = nullptr;
    BudgetOwner owner = -1;
    MemoryCategory category = MemoryCategory::kKernelInternal;
    ScopedXnnpackBudget* scope = nullptr;  // told of a refusal
  };

  static Target current_target() {
    ScopedXnnpackBudget* scope = t_scope;
    if (scope == nullptr || t_probing) return {};
    return {scope->budget_, scope->owner_, scope->category_, scope};
  }

  static void* allocate_block(const Target& target, std::size_t alignment, std::size_t size) {
    alignment = std::max<std::size_t>(alignment, alignof(XnnBlockHeader));
    if (size > (std::size_t{1} << 50) || alignment > (std::size_t{1} << 20)) return nullptr;
    const std::size_t offset = (sizeof(XnnBlockHeader) + alignment - 1) / alignment * alignment;
    void* base = nullptr;
    bool counted = false;
    if (target.budget != nullptr) {
      Result<void*> block =
          target.budget->allocate(target.owner, target.category, offset + size, alignment);
      if (!block) {
        if (target.scope != nullptr) target.scope->last_failure_ = block.status();
        return nullptr;
      }
      base = *block;
    } else {
      const std::size_t total = (offset + size + alignment - 1) / alignment * alignment;
      base = std::aligned_alloc(alignment, total);
      if (base == nullptr) return nullptr;
      if (t_probing) {
        ++t_probe_calls;
      } else {
        counted = true;
        g_unscoped_bytes += static_cast<std::int64_t>(offset + size);
        ++g_unscoped_allocations;
      }
    }
    void* user = static_cast<char*>(base) + offset;
    *(static_cast<XnnBlockHeader*>(user) - 1) = XnnBlockHeader{
        target.budget, base, size, alignment, target.owner, target.category, counted, kXnnMagic};
    return user;
  }

  static void free_block(void* pointer) {
    if (pointer == nullptr) return;
    XnnBlockHeader* header = header_of(pointer);
    const XnnBlockHeader copy = *header;
    header->magic = 0;
    if (copy.budget != nullptr) {
      copy.budget->deallocate(copy.base);
      return;
    }
    if (copy.counted_unscoped)
      g_unscoped_bytes -= static_cast<std::int64_t>(static_cast<char*>(pointer) -
                                                    static_cast<char*>(copy.base) + copy.size);
    std::free(copy.base);
  }

  static void* allocate(void*, size_t size) {
    return allocate_block(current_target(), alignof(std::max_align_t), size);
  }

  static void* aligned_allocate(void*, size_t alignment, size_t size) {
    return allocate_block(current_target(), alignment, size);
  }

  // A new block and a copy; on failure the old block stays, as XNNPACK expects. The active
  // scope decides where the new block goes; with none, it stays with the old block's budget and
  // owner, so re-setting up an operator outside a scope does not leak into the unscoped count.
  static void* reallocate(void*, void* pointer, size_t size) {
    if (pointer == nullptr) return allocate(nullptr, size);
    const XnnBlockHeader old = *header_of(pointer);
    Target target = current_target();
    if (target.budget == nullptr && old.budget != nullptr && !t_probing)
      target = Target{old.budget, old.owner, old.category, nullptr};
    void* fresh = allocate_block(target, old.alignment, size);
    if (fresh == nullptr) return nullptr;
    std::memcpy(fresh, pointer, std::min(old.size, size));
    free_block(pointer);
    return fresh;
  }

  static void deallocate(void*, void* pointer) { free_block(pointer); }
};

ScopedXnnpackBudget::ScopedXnnpackBudget(MemoryBudget& budget, BudgetOwner owner,
                                         MemoryCategory category)
    : budget_(&budget), owner_(owner), category_(category), previous_(t_scope) {
  t_scope = this;
}

ScopedXnnpackBudget::~ScopedXnnpackBudget() {
  assert(t_scope == this && "ScopedXnnpackBudget destroyed out of order or on another thread");
  t_scope = previous_;
}

std::int64_t xnnpack_unscoped_bytes() noexcept {
  return g_unscoped_bytes.load();
}
std::int64_t xnnpack_unscoped_allocations() noexcept {
  return g_unscoped_allocations.load();
}

Status initialize_xnnpack() {
  static std::mutex mutex;
  static bool done = false;
  static Status result;
  std::lock_guard lock(mutex);
  if (done) return result;
  done = true;

  static const xnn_allocator kAllocator{nullptr,
                                        XnnpackAllocatorHooks::allocate,
                                        XnnpackAllocatorHooks::reallocate,
                                        XnnpackAllocatorHooks::deallocate,
                                        XnnpackAllocatorHooks::aligned_allocate,
                                        XnnpackAllocatorHooks::deallocate};
  const xnn_status status = xnn_initialize(&kAllocator);
  if (status != xnn_status_success) {
    result = Status(ErrorCode::kUnavailable,
                    "XNNPACK failed to initialise (xnn_status " + std::to_string(status) +
                        "): this CPU or build is not supported by the inference core");
    return result;
  }
  // XNNPACK keeps the allocator of the first xnn_initialize and silently ignores later ones, so
  // check that a tiny operator really allocates through ours.
  t_probing = true;
  t_probe_calls = 0;
  xnn_operator_t probe = nullptr;
  const xnn_status created = xnn_create_clamp_nc_f32(1, 1, 1, 0.0f, 1.0f, 0, &probe);
  const int probe_calls = t_probe_calls;
  if (probe != nullptr) xnn_delete_operator(probe);
  t_probing = false;
  if (created != xnn_status_success) {
    result = Status(ErrorCode::kInternal, "XNNPACK could not create a probe operator (xnn_status " +
                                              std::to_string(created) + ")");
  } else if (probe_calls == 0) {
    result = Status(ErrorCode::kInternal,
                    "XNNPACK was initialised before fovea with another allocator (a direct "
                    "xnn_initialize call, or another library in this process); its allocations "
                    "would bypass the memory budget. Call fovea::initialize_xnnpack() before "
                    "anything else uses XNNPACK.");
  }
  return result;
}

}  // namespace fovea
