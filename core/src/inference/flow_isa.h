#pragma once
// Which instruction set the optical-flow kernels (flow_correlation.h, flow_warp.h) run on: the
// best this CPU has (AVX-512 F/VL), or plain C++ on any CPU. Tests pick kPortable to check the
// fallback on machines that would never take it.

namespace fovea::inference::flow {

enum class Isa { kBest, kPortable };

// Whether `isa` resolves to the AVX-512 code on this CPU.
bool use_avx512(Isa isa);
// The same for kernels on bytes and 16-bit lanes (INT8 Correlation), which need AVX-512 BW too.
bool use_avx512bw(Isa isa);

}  // namespace fovea::inference::flow
