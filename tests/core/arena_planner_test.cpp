#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fovea/core/arena_planner.h"
#include "fovea/core/memory_budget.h"
#include "fovea/core/model_graph.h"

namespace fovea {
namespace {

// The exact constraint, checked pairwise: tensors alive at a common step share no byte.
void check_plan(const std::vector<TensorLifetime>& tensors, const ArenaPlan& plan) {
  REQUIRE(plan.offsets.size() == tensors.size());
  std::int64_t end = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    CHECK(plan.offsets[i] >= 0);
    CHECK(plan.offsets[i] % kArenaAlignment == 0);
    end = std::max(end, plan.offsets[i] + tensors[i].size_bytes);
  }
  CHECK(plan.arena_bytes >= end);
  CHECK(plan.arena_bytes % kArenaAlignment == 0);
  CHECK(plan.arena_bytes >= plan.lower_bound_bytes);
  int conflicts = 0;
  for (size_t i = 0; i < tensors.size(); ++i)
    for (size_t j = i + 1; j < tensors.size(); ++j) {
      const TensorLifetime& a = tensors[i];
      const TensorLifetime& b = tensors[j];
      const bool together =
          a.first_use_step <= b.last_use_step && b.first_use_step <= a.last_use_step;
      const bool share = plan.offsets[i] < plan.offsets[j] + b.size_bytes &&
                         plan.offsets[j] < plan.offsets[i] + a.size_bytes;
      if (together && share && a.size_bytes > 0 && b.size_bytes > 0) ++conflicts;
    }
  CHECK(conflicts == 0);
}

std::int64_t brute_force_lower_bound(const std::vector<TensorLifetime>& tensors) {
  int last_step = 0;
  for (const TensorLifetime& t : tensors) last_step = std::max(last_step, t.last_use_step);
  std::int64_t best = 0;
  for (int step = 0; step <= last_step; ++step) {
    std::int64_t live = 0;
    for (const TensorLifetime& t : tensors)
      if (t.first_use_step <= step && step <= t.last_use_step) live += t.size_bytes;
    best = std::max(best, live);
  }
  return best;
}

TEST_CASE("plan_arena never overlaps tensors that are alive together, on random interval sets") {
  std::mt19937 rng(42);
  double worst_ratio = 0.0;
  for (int trial = 0; trial < 400; ++trial) {
    CAPTURE(trial);
    const int count = 1 + static_cast<int>(rng() % 60);
    const int steps = 1 + static_cast<int>(rng() % 40);
    std::vector<TensorLifetime> tensors;
    for (int i = 0; i < count; ++i) {
      TensorLifetime t;
      t.size_bytes = rng() % 10 == 0 ? 0 : 1 + static_cast<std::int64_t>(rng() % 100000);
      t.first_use_step = static_cast<int>(rng() % static_cast<unsigned>(steps));
      t.last_use_step = t.first_use_step + static_cast<int>(rng() % 8);
      tensors.push_back(t);
    }
    Result<ArenaPlan> plan = plan_arena(tensors);
    REQUIRE(plan.is_ok());
    check_plan(tensors, *plan);
    CHECK(plan->lower_bound_bytes == brute_force_lower_bound(tensors));
    if (plan->lower_bound_bytes > 0)
      worst_ratio = std::max(worst_ratio, static_cast<double>(plan->arena_bytes) /
                                              static_cast<double>(plan->lower_bound_bytes));
  }
  MESSAGE("random interval sets: worst arena / lower bound = " << worst_ratio);

  CHECK(plan_arena({}).value().arena_bytes == 0);
  CHECK(plan_arena({{100, 3, 2}}).status().code() == ErrorCode::kInvalidArgument);
  CHECK(plan_arena({{-1, 0, 0}}).status().message().find("invalid size") != std::string::npos);
  CHECK(plan_arena({{10, 0, 0}}, 48).status().code() == ErrorCode::kInvalidArgument);
}

// Builds lifetimes the way an executor walks a graph: one op per step.
class ChainBuilder {
 public:
  int input(std::int64_t bytes) {
    tensors_.push_back({bytes, 0, 0});
    return static_cast<int>(tensors_.size() - 1);
  }
  int op(std::initializer_list<int> inputs, std::int64_t output_bytes) {
    const int step = steps_++;
    for (int t : inputs) tensors_[static_cast<size_t>(t)].last_use_step = step;
    tensors_.push_back({output_bytes, step, step});
    return static_cast<int>(tensors_.size() - 1);
  }
  std::vector<TensorLifetime> finish(int output) {
    tensors_[static_cast<size_t>(output)].last_use_step = std::max(steps_ - 1, 0);
    return tensors_;
  }

 private:
  std::vector<TensorLifetime> tensors_;
  int steps_ = 0;
};

std::vector<TensorLifetime> mobilenet_v2(std::int64_t element_bytes) {
  ChainBuilder b;
  int x = b.input(224 * 224 * 3 * element_bytes);
  std::int64_t h = 112, channels = 32;
  x = b.op({x}, h * h * channels * element_bytes);
  const int blocks[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  for (const auto& [t, c, n, s] : blocks)
    for (int i = 0; i < n; ++i) {
      const int stride = i == 0 ? s : 1;
      const std::int64_t hidden = channels * t;
      int y = x;
      if (t != 1) y = b.op({y}, h * h * hidden * element_bytes);
      const std::int64_t h2 = h / stride;
      y = b.op({y}, h2 * h2 * hidden * element_bytes);  // depthwise
      y = b.op({y}, h2 * h2 * c * element_bytes);       // project
      if (stride == 1 && channels == c) y = b.op({x, y}, h2 * h2 * c * element_bytes);
      x = y;
      channels = c;
      h = h2;
    }
  x = b.op({x}, 7 * 7 * 1280 * element_bytes);
  x = b.op({x}, 1280 * element_bytes);
  x = b.op({x}, 1000 * element_bytes);
  return b.finish(x);
}

// Random conv chains with downsampling and short residual skips (ResNet/MobileNet-like).
std::vector<TensorLifetime> random_cnn(std::mt19937& rng) {
  ChainBuilder b;
  std::int64_t h = 64 + static_cast<std::int64_t>(rng() % 193), channels = 3;
  std::vector<int> history = {b.input(h * h * channels)};
  const int layers = 10 + static_cast<int>(rng() % 50);
  for (int l = 0; l < layers; ++l) {
    if (rng() % 5 == 0 && h > 4) h /= 2;
    if (rng() % 3 == 0) channels = 8 + static_cast<std::int64_t>(rng() % 120);
    int y = b.op({history.back()}, h * h * channels);
    const size_t back = 2 + rng() % 3;
    if (rng() % 3 == 0 && history.size() > back) {
      const int skip = history[history.size() - back];
      y = b.op({skip, y}, h * h * channels);
    }
    history.push_back(y);
  }
  return b.finish(history.back());
}

// An encoder-decoder with long skips (segmentation, flow).
std::vector<TensorLifetime> unet(int levels, std::int64_t size, std::int64_t channels) {
  ChainBuilder b;
  int x = b.input(size * size * 3);
  std::vector<int> skips;
  for (int l = 0; l < levels; ++l) {
    x = b.op({x}, size * size * channels);
    x = b.op({x}, size * size * channels);
    skips.push_back(x);
    size /= 2;
    channels *= 2;
    x = b.op({x}, size * size * channels / 2);  // pool
  }
  x = b.op({x}, size * size * channels);
  for (int l = levels - 1; l >= 0; --l) {
    size *= 2;
    channels /= 2;
    x = b.op({x}, size * size * channels);                                     // upsample
    x = b.op({x, skips[static_cast<size_t>(l)]}, size * size * channels * 2);  // concat
    x = b.op({x}, size * size * channels);
  }
  x = b.op({x}, size * size * 2);
  return b.finish(x);
}

double ratio(const ArenaPlan& plan) {
  return static_cast<double>(plan.arena_bytes) / static_cast<double>(plan.lower_bound_bytes);
}

TEST_CASE("plan_arena stays within 15% of the live-bytes lower bound on CNN-like chains") {
  for (std::int64_t element_bytes : {1, 4}) {
    const std::vector<TensorLifetime> tensors = mobilenet_v2(element_bytes);
    Result<ArenaPlan> plan = plan_arena(tensors);
    REQUIRE(plan.is_ok());
    check_plan(tensors, *plan);
    std::int64_t sum = 0;
    for (const TensorLifetime& t : tensors) sum += t.size_bytes;
    MESSAGE("MobileNetV2 224, " << element_bytes << " byte(s) per element: arena "
                                << plan->arena_bytes << ", lower bound " << plan->lower_bound_bytes
                                << " (ratio " << ratio(*plan) << "), all tensors " << sum);
    CHECK(ratio(*plan) <= 1.15);
  }
  {
    const std::vector<TensorLifetime> tensors = unet(4, 256, 16);
    Result<ArenaPlan> plan = plan_arena(tensors);
    REQUIRE(plan.is_ok());
    check_plan(tensors, *plan);
    MESSAGE("U-Net, 4 levels, 256x256: ratio " << ratio(*plan));
    CHECK(ratio(*plan) <= 1.15);
  }
  std::mt19937 rng(9);
  double worst = 0.0, total = 0.0;
  constexpr int kChains = 300;
  for (int trial = 0; trial < kChains; ++trial) {
    const std::vector<TensorLifetime> tensors = random_cnn(rng);
    Result<ArenaPlan> plan = plan_arena(tensors);
    REQUIRE(plan.is_ok());
    check_plan(tensors, *plan);
    worst = std::max(worst, ratio(*plan));
    total += ratio(*plan);
  }
  MESSAGE("random residual CNN chains: mean ratio " << total / kChains << ", worst " << worst);
  CHECK(worst <= 1.15);
}

// x -> conv1 -> a -> conv2 -> b -> conv3 -> c; add(a, c) -> out: a lives across the branch.
struct ResidualGraph {
  ModelGraph graph;
  int x, a, b, c, out;

  ResidualGraph() {
    auto tensor = [&](const std::string& name, Shape shape, int constant = -1) {
      GraphTensor t;
      t.info.name = name;
      t.info.type = DataType::kFloat32;
      t.info.shape = shape;
      t.constant = constant;
      graph.tensors.push_back(t);
      return static_cast<int>(graph.tensors.size() - 1);
    };
    x = tensor("x", {1, 8, 8, 4});
    a = tensor("a", {1, 8, 8, 8});
    b = tensor("b", {1, 8, 8, 16});
    c = tensor("c", {1, 8, 8, 8});
    out = tensor("out", {1, 8, 8, 8});
    const int w1 = tensor("w1", {8, 1, 1, 4}, 0);
    const int w2 = tensor("w2", {16, 1, 1, 8}, 1);
    const int w3 = tensor("w3", {8, 1, 1, 16}, 2);
    auto node = [&](const std::string& name, OpType op, std::vector<int> inputs, int output) {
      GraphNode n;
      n.name = name;
      n.op = op;
      n.inputs = std::move(inputs);
      n.outputs = {output};
      graph.nodes.push_back(n);
    };
    node("conv1", OpType::kConv2d, {x, w1, -1}, a);
    node("conv2", OpType::kConv2d, {a, w2, -1}, b);
    node("conv3", OpType::kConv2d, {b, w3, -1}, c);
    node("add", OpType::kAdd, {a, c}, out);
    graph.inputs = {x};
    graph.outputs = {out};
  }
};

bool disjoint(const ArenaPlan& plan, const ModelGraph& graph, int s, int t) {
  const std::int64_t s_end =
      plan.offsets[static_cast<size_t>(s)] + graph.tensors[static_cast<size_t>(s)].info.byte_size();
  const std::int64_t t_end =
      plan.offsets[static_cast<size_t>(t)] + graph.tensors[static_cast<size_t>(t)].info.byte_size();
  return s_end <= plan.offsets[static_cast<size_t>(t)] ||
         t_end <= plan.offsets[static_cast<size_t>(s)];
}

TEST_CASE("plan_graph_activations derives lifetimes from a graph with a residual branch") {
  const ResidualGraph g;
  REQUIRE(g.graph.validate().is_ok());
  Result<ArenaPlan> plan = plan_graph_activations(g.graph, {0, 1, 2, 3});
  REQUIRE(plan.is_ok());
  REQUIRE(plan->offsets.size() == g.graph.tensors.size());
  for (size_t t = 0; t < g.graph.tensors.size(); ++t)
    CHECK((plan->offsets[t] < 0) == (g.graph.tensors[t].constant >= 0));  // constants: no bytes

  // Steps: conv1 0 (x, a), conv2 1 (a, b), conv3 2 (a, b, c), add 3 (a, c, out).
  CHECK(disjoint(*plan, g.graph, g.x, g.a));
  CHECK(disjoint(*plan, g.graph, g.a, g.b));
  CHECK(disjoint(*plan, g.graph, g.a, g.c));
  CHECK(disjoint(*plan, g.graph, g.b, g.c));
  CHECK(disjoint(*plan, g.graph, g.a, g.out));
  CHECK(disjoint(*plan, g.graph, g.c, g.out));
  // Step 2 holds a, b and c: 8+16+8 channels of 8x8 floats.
  CHECK(plan->lower_bound_bytes == (8 + 16 + 8) * 64 * 4);
  CHECK(plan->arena_bytes == plan->lower_bound_bytes);  // b's bytes are free again for out
  // x is dead after step 0, so a later tensor reuses its bytes.
  CHECK_FALSE((disjoint(*plan, g.graph, g.x, g.b) && disjoint(*plan, g.graph, g.x, g.c) &&
               disjoint(*plan, g.graph, g.x, g.out)));

  // The graph's own topological order plans the same way.
  Result<std::vector<int>> order = g.graph.topological_order();
  REQUIRE(order.is_ok());
  CHECK(plan_graph_activations(g.graph, *order).value().arena_bytes == plan->arena_bytes);

  Result<ArenaPlan> reversed = plan_graph_activations(g.graph, {3, 2, 1, 0});
  REQUIRE_FALSE(reversed.is_ok());
  CHECK(reversed.status().message().find("node 'add' at step 0 reads 'a'") != std::string::npos);
  CHECK(plan_graph_activations(g.graph, {0, 1, 2}).status().code() == ErrorCode::kInvalidArgument);
  CHECK(plan_graph_activations(g.graph, {0, 1, 1, 3}).status().message().find("permutation") !=
        std::string::npos);
}

TEST_CASE("SharedArena is sized by the largest plan bound to it and charged to one owner") {
  MemoryBudget budget(1 << 20);
  const BudgetOwner activations = budget.register_owner("activations");
  SharedArena arena(budget, activations);
  CHECK(arena.size() == 0);

  const ResidualGraph g;
  const ArenaPlan small = plan_graph_activations(g.graph, {0, 1, 2, 3}).value();
  const ArenaPlan large = plan_arena(mobilenet_v2(1)).value();  // too large: 1 MiB budget
  const ArenaPlan medium = plan_arena({{100000, 0, 1}, {200000, 1, 2}}).value();

  REQUIRE(arena.ensure(medium.arena_bytes).is_ok());
  const std::uint64_t generation = arena.generation();
  const std::int64_t allocations = budget.allocation_count();
  REQUIRE(arena.ensure(small.arena_bytes).is_ok());  // fits already: no new block
  CHECK(arena.generation() == generation);
  CHECK(budget.allocation_count() == allocations);
  CHECK(arena.size() == medium.arena_bytes);
  CHECK(budget.current_bytes(activations) ==
        MemoryBudget::accounted_bytes(static_cast<size_t>(medium.arena_bytes)));
  CHECK(budget.current_bytes(MemoryCategory::kActivations) == budget.current_bytes());
  arena.data()[arena.size() - 1] = 7;  // the whole plan is addressable

  REQUIRE(arena.ensure(medium.arena_bytes + 4096).is_ok());  // grows: pointers move
  CHECK(arena.generation() != generation);
  CHECK(arena.size() == medium.arena_bytes + 4096);

  const Status status = arena.ensure(large.arena_bytes);
  REQUIRE_FALSE(status.is_ok());
  CHECK(status.code() == ErrorCode::kOutOfMemory);
  CHECK(status.message().find("shared activation arena") != std::string::npos);
  CHECK(arena.size() == 0);  // the old block was given back to make room, and stays given
  CHECK(budget.current_bytes() == 0);
  CHECK(arena.ensure(-1).code() == ErrorCode::kInvalidArgument);

  REQUIRE(arena.ensure(small.arena_bytes).is_ok());
  arena.release();
  CHECK(budget.current_bytes() == 0);
}

}  // namespace
}  // namespace fovea
