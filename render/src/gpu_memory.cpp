#include "fovea/render/gpu_memory.h"

namespace fovea::render {

const char* gpu_resource_kind_name(GpuResourceKind kind) noexcept {
  switch (kind) {
    case GpuResourceKind::kTexture:
      return "textures";
    case GpuResourceKind::kBuffer:
      return "buffers";
    case GpuResourceKind::kRenderbuffer:
      return "renderbuffers";
    case GpuResourceKind::kCount:
      break;
  }
  return "unknown";
}

void GpuMemoryLedger::add(GpuResourceKind kind, std::int64_t bytes) noexcept {
  by_kind_[static_cast<int>(kind)].fetch_add(bytes, std::memory_order_relaxed);
  const std::int64_t now = total_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void GpuMemoryLedger::remove(GpuResourceKind kind, std::int64_t bytes) noexcept {
  by_kind_[static_cast<int>(kind)].fetch_sub(bytes, std::memory_order_relaxed);
  total_.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace fovea::render
