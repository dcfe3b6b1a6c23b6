#pragma once
#include <array>
#include <atomic>
#include <cstdint>

namespace fovea::render {

enum class GpuResourceKind : std::uint8_t { kTexture = 0, kBuffer, kRenderbuffer, kCount };

const char* gpu_resource_kind_name(GpuResourceKind kind) noexcept;

// Counts the bytes of every GL object fovea creates, so budgets and gauges show real numbers.
// The driver's own overhead is invisible to GLES; these are the bytes fovea asked for.
class GpuMemoryLedger {
 public:
  void add(GpuResourceKind kind, std::int64_t bytes) noexcept;
  void remove(GpuResourceKind kind, std::int64_t bytes) noexcept;

  std::int64_t current_bytes() const noexcept { return total_.load(std::memory_order_relaxed); }
  std::int64_t current_bytes(GpuResourceKind kind) const noexcept {
    return by_kind_[static_cast<int>(kind)].load(std::memory_order_relaxed);
  }
  std::int64_t peak_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::int64_t>, static_cast<int>(GpuResourceKind::kCount)> by_kind_{};
  std::atomic<std::int64_t> total_{0};
  std::atomic<std::int64_t> peak_{0};
};

}  // namespace fovea::render
