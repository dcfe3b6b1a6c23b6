#include "flow_isa.h"

namespace fovea::inference::flow {

bool use_avx512(Isa isa) {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return isa == Isa::kBest && supported;
}

bool use_avx512bw(Isa isa) {
  static const bool supported = __builtin_cpu_supports("avx512bw");
  return use_avx512(isa) && supported;
}

}  // namespace fovea::inference::flow
