#pragma once
// Warp (OpType::kWarp): y[y, x, :] = x bilinearly sampled at (x + u, y + v), (u, v) =
// flow[y, x, :], each of the four taps zero outside the image (pixel centres at integer
// coordinates, i.e. align_corners=True). NHWC, FP32, the semantics of reference::warp_f32; it
// weighs in float where the reference does in double.
//
// Rows are split over `pool` (null: the caller's thread). Nothing is allocated.

#include <pthreadpool.h>

#include <cstdint>

#include "flow_isa.h"
#include "fovea/core/reference_kernels.h"

namespace fovea::inference::flow {

void warp_f32(const float* x, reference::Nhwc shape, const float* flow, float* y,
              pthreadpool_t pool, Isa isa = Isa::kBest);

// INT8: reference::warp_qs8 exactly (flow_warp_qs8.cpp); the output keeps x's quantization.
void warp_qs8(const std::int8_t* x, reference::Nhwc shape, const float* flow,
              std::int32_t zero_point, std::int8_t* y, pthreadpool_t pool, Isa isa = Isa::kBest);

}  // namespace fovea::inference::flow
