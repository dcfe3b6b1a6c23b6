#include "flow_isa.h"

namespace fovea::inference::flow {

bool use_avx512(Isa isa) {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  return isa == Isa::kBest && supported;
}

}  // namespace fovea::inference::flow
