// fovea-bench-model: one .fvm model on the inference core as an application runs it (default
// kernels, fovea's thread pool), timed per run; with --profile, per node as well. For finding
// where a model's time goes, e.g. the learned optical flow (docs/int8-kernels.md).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../fovea-bench-core/allocation_counter.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/model.h"
#include "fovea/core/timing_stats.h"
#include "node_profile.h"

namespace fovea::bench {
namespace {

constexpr const char* kUsage = R"(usage: fovea-bench-model MODEL.fvm [options]

Runs the model on fovea's default kernels with a deterministic random input and prints the
median and p90 milliseconds per run.

options:
  --runs N           timed runs (default 20), after 3 untimed ones
  --threads N        fovea's threads (default 2)
  --input-range L,H  float inputs are uniform in [L, H] (default 0,1); int8 ones span all bytes
  --profile          also time every node: a per-node table and totals per op type
  --top N            with --profile, only the N slowest nodes (default: every node, in order)
  --budget-mib N     memory budget (default 4096)
)";

struct Options {
  std::string path;
  int runs = 20;
  int threads = 2;
  float lo = 0.0f, hi = 1.0f;
  bool profile = false;
  int top = 0;
  std::int64_t budget_mib = 4096;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return false;
    if (arg == "--profile") {
      o.profile = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      o.path = arg;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    if (arg == "--runs") {
      o.runs = std::atoi(value.c_str());
    } else if (arg == "--threads") {
      o.threads = std::atoi(value.c_str());
    } else if (arg == "--top") {
      o.top = std::atoi(value.c_str());
    } else if (arg == "--budget-mib") {
      o.budget_mib = std::atoll(value.c_str());
    } else if (arg == "--input-range") {
      if (std::sscanf(value.c_str(), "%f,%f", &o.lo, &o.hi) != 2) return false;
    } else {
      return false;
    }
  }
  return !o.path.empty() && o.runs > 0 && o.threads > 0 && o.budget_mib > 0;
}

int fail(const Status& status) {
  std::fprintf(stderr, "fovea-bench-model: %s\n", status.to_string().c_str());
  return 1;
}

int run(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto loaded = load_fvm(o.path);
  if (!loaded) return fail(loaded.status());
  auto model = std::make_shared<const Model>(std::move(*loaded));
  auto context = InferenceContext::create(o.budget_mib << 20, o.threads);
  if (!context) return fail(context.status());
  auto compiled = CompiledModel::create(**context, model);
  if (!compiled) return fail(compiled.status());
  const ModelGraph& graph = model->graph;

  std::mt19937 random(20261122);
  std::vector<std::vector<std::uint8_t>> inputs, outputs;
  for (int t : graph.inputs) {
    const TensorInfo& info = graph.tensors[static_cast<size_t>(t)].info;
    std::vector<std::uint8_t> bytes(static_cast<size_t>(info.byte_size()));
    if (info.type == DataType::kFloat32) {
      std::uniform_real_distribution<float> uniform(o.lo, o.hi);
      auto* f = reinterpret_cast<float*>(bytes.data());
      for (size_t i = 0; i < bytes.size() / sizeof(float); ++i) f[i] = uniform(random);
    } else {
      for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    }
    inputs.push_back(std::move(bytes));
  }
  for (int t : graph.outputs)
    outputs.emplace_back(
        static_cast<size_t>(graph.tensors[static_cast<size_t>(t)].info.byte_size()));
  std::vector<std::span<const std::uint8_t>> in(inputs.begin(), inputs.end());
  std::vector<std::span<std::uint8_t>> out(outputs.begin(), outputs.end());

  const size_t layers = compiled.value()->execution_order().size();
  std::vector<std::vector<double>> node_seconds(o.profile ? static_cast<size_t>(o.runs) : 0,
                                                std::vector<double>(layers));
  std::vector<double> run_ms;
  std::int64_t allocations = 0;
  for (int r = -3; r < o.runs; ++r) {
    if (o.profile && r >= 0) {
      const Status set = compiled.value()->set_layer_seconds(node_seconds[static_cast<size_t>(r)]);
      if (!set.is_ok()) return fail(set);
    }
    if (r >= 0) start_counting_allocations();
    const auto start = std::chrono::steady_clock::now();
    const Status status = compiled.value()->run(in, out);
    const auto end = std::chrono::steady_clock::now();
    if (r >= 0) allocations += stop_counting_allocations();
    if (!status.is_ok()) return fail(status);
    if (r >= 0) run_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  (void)compiled.value()->set_layer_seconds({});

  std::size_t int8_nodes = 0;
  for (int n : compiled.value()->execution_order())
    int8_nodes += graph.tensors[static_cast<size_t>(graph.nodes[static_cast<size_t>(n)].outputs[0])]
                      .info.type == DataType::kInt8;
  std::printf("model %s: %zu nodes (%zu int8), %d threads, %d runs%s\n", o.path.c_str(), layers,
              int8_nodes, o.threads, o.runs, o.profile ? ", profiled" : "");
  std::printf("ms per run: median %.3f  p90 %.3f  min %.3f\n", percentile(run_ms, 0.5),
              percentile(run_ms, 0.9), percentile(run_ms, 0.0));
  if (allocation_counting_available())
    std::printf("heap allocations per run: %.1f\n", double(allocations) / o.runs);
  // Everything the model holds in the core's budget, by category, at its peak.
  const MemoryBudget& budget = context.value()->budget();
  std::printf("core memory peak: %.2f MB (", budget.peak_bytes() / 1e6);
  for (int c = 0; c < kMemoryCategoryCount; ++c)
    std::printf("%s%s %.2f", c ? ", " : "", memory_category_name(static_cast<MemoryCategory>(c)),
                budget.peak_bytes(static_cast<MemoryCategory>(c)) / 1e6);
  std::printf(")\n");
  if (o.profile)
    print_node_profile(stdout, graph, compiled.value()->execution_order(), node_seconds, o.top);
  return 0;
}

}  // namespace
}  // namespace fovea::bench

int main(int argc, char** argv) {
  return fovea::bench::run(argc, argv);
}
