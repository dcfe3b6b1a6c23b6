#include <doctest/doctest.h>

#include <vector>

#include "fovea/core/compiled_model.h"
#include "fovea/core/parallelism_chooser.h"
#include "support/test_models.h"

namespace fovea {
namespace {

// Feeds the chooser runs whose wall time depends only on how they ran, as a machine would; a
// probe's first layers take a tenth of a run.
struct Machine {
  double pool_ms, alone_ms;
  int pooled = 0, alone = 0, probes = 0;
  void run(ParallelismChooser& chooser, int runs) {
    using Next = ParallelismChooser::Next;
    for (int i = 0; i < runs; ++i) {
      switch (chooser.next()) {
        case Next::kPool:
          ++pooled;
          chooser.record(true, pool_ms);
          break;
        case Next::kAlone:
          ++alone;
          chooser.record(false, alone_ms);
          break;
        case Next::kProbe:
          ++probes;
          chooser.record_probe(0.1 * pool_ms, 0.1 * alone_ms);
          break;
      }
    }
  }
};

TEST_CASE("a free machine keeps the pool after one run alone") {
  ParallelismChooser chooser;
  Machine free_machine{6.0, 11.0};
  free_machine.run(chooser, 200);
  CHECK(free_machine.alone == 1);  // the second run, which learns what alone costs
  CHECK_FALSE(chooser.contended());
}

TEST_CASE("a pool that stalls sends runs alone, and the probes back to it thin out") {
  ParallelismChooser chooser;
  Machine free_machine{6.0, 11.0};
  free_machine.run(chooser, 10);
  Machine busy{560.0, 12.0};  // what the flow network measured with the other core taken
  busy.run(chooser, 1000);
  CHECK(chooser.contended());
  // One stalled run finds the contention; then short probes after 8, 16, 32, ... runs alone.
  CHECK(busy.pooled == 1);
  CHECK(busy.probes >= 2);
  CHECK(busy.probes <= 8);
  CHECK(chooser.probe_wait() == ParallelismChooser::kLongestProbeWait);
  // When the cores come back, the next probe returns to the pool for good.
  Machine freed{6.0, 11.0};
  freed.run(chooser, ParallelismChooser::kLongestProbeWait + 10);
  CHECK_FALSE(chooser.contended());
  CHECK(freed.probes == 1);
  CHECK(freed.pooled >= 9);
  CHECK(chooser.probe_wait() == ParallelismChooser::kFirstProbeWait);
}

TEST_CASE("a pool that never helps is left after the run alone shows it") {
  ParallelismChooser chooser;
  Machine tiny_model{0.05, 0.03};  // too small a model for a pool to pay
  tiny_model.run(chooser, 100);
  CHECK(chooser.contended());
  CHECK(tiny_model.alone > 80);
}

TEST_CASE("a probe only a little faster than alone does not bring the pool back") {
  ParallelismChooser chooser;
  Machine free_machine{6.0, 11.0};
  free_machine.run(chooser, 10);
  Machine busy{560.0, 12.0};
  busy.run(chooser, 20);
  REQUIRE(chooser.contended());
  Machine noisy{11.5, 12.0};  // the pool about as fast as alone: contention, or noise
  noisy.run(chooser, 200);
  CHECK(chooser.contended());
  CHECK(noisy.pooled == 0);
}

TEST_CASE("a spike over the best pooled run counts before any run alone") {
  ParallelismChooser chooser;
  chooser.record(true, 40.0);  // run 1: warm-up, ignored
  chooser.record(false, 11.0);
  chooser.record(true, 6.0);
  CHECK_FALSE(chooser.contended());
  chooser.record(true, 6.0 * ParallelismChooser::kSpikeOverBest + 1.0);
  CHECK(chooser.contended());
}

std::span<std::uint8_t> bytes_of(std::vector<float>& v) {
  return {reinterpret_cast<std::uint8_t*>(v.data()), v.size() * 4};
}

TEST_CASE("adaptive threading gives the same outputs on the pool and alone") {
  const auto model = testing::residual_model("adaptive", 32, 0.5f);
  std::vector<float> image(16 * 16 * 3);
  for (size_t i = 0; i < image.size(); ++i) image[i] = float((i * 37) % 101) / 100.0f;
  std::span<const std::uint8_t> in[] = {bytes_of(image)};
  auto context = InferenceContext::create(64 << 20, 2);
  REQUIRE(context.is_ok());
  auto plain = CompiledModel::create(**context, model);
  REQUIRE(plain.is_ok());
  std::vector<float> expected(10);
  std::span<std::uint8_t> expected_out[] = {bytes_of(expected)};
  REQUIRE((*plain)->run(in, expected_out).is_ok());
  CHECK((*plain)->last_run_used_pool());

  (*context)->set_adaptive_threads(true);
  auto adaptive = CompiledModel::create(**context, model);
  REQUIRE(adaptive.is_ok());
  bool saw_pool = false, saw_alone = false;
  // Forty runs: on a model this small the pool may well lose to the caller alone, and then runs
  // go alone and probes pool the first layers only; every way gives the same bytes.
  for (int run = 0; run < 40; ++run) {
    std::vector<float> y(10);
    std::span<std::uint8_t> out[] = {bytes_of(y)};
    REQUIRE((*adaptive)->run(in, out).is_ok());
    CHECK(y == expected);
    ((*adaptive)->last_run_used_pool() ? saw_pool : saw_alone) = true;
  }
  CHECK(saw_pool);   // the first run
  CHECK(saw_alone);  // the second, at least
  CHECK((*adaptive)->parallelism().runs_alone() >= 1);
}

}  // namespace
}  // namespace fovea
