#pragma once
// Correlation (OpType::kCorrelation), the cost volume of PWC-Net-style flow decoders: for each
// pixel of `a` and each displacement (dx, dy) within `max_displacement` = r, the mean over
// channels of a[y, x, c] * b[y + dy, x + dx, c], zero where the displaced pixel leaves the
// image; output channel (dy + r) * (2r + 1) + (dx + r). NHWC, FP32, the semantics of
// reference::correlation_f32; it sums in float where the reference sums in double (a relative
// difference of order 1e-6 for 100 channels).
//
// Rows are split over `pool` (null: the caller's thread). Nothing is allocated.

#include <pthreadpool.h>

#include <cstdint>

#include "flow_isa.h"
#include "fovea/core/reference_kernels.h"

namespace fovea::inference::flow {

void correlation_f32(const float* a, const float* b, reference::Nhwc shape, int max_displacement,
                     float* y, pthreadpool_t pool, Isa isa = Isa::kBest);

// INT8 Correlation (flow_correlation_qs8.cpp): bit-identical to reference::correlation_qs8,
// on AVX-512 BW or plain C++. shape.c must not exceed kMaxQuantizedCorrelationChannels, and the
// zero points must lie in [-128, 127].
void correlation_qs8(const std::int8_t* a, const std::int8_t* b, reference::Nhwc shape,
                     int max_displacement, const reference::QuantizedCorrelation& q, std::int8_t* y,
                     pthreadpool_t pool, Isa isa = Isa::kBest);

}  // namespace fovea::inference::flow
