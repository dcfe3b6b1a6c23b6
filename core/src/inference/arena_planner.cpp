#include "fovea/core/arena_planner.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>

namespace fovea {
namespace {

constexpr std::int64_t kLargestTensor = std::int64_t{1} << 48;

Status planner_error(const std::string& message) {
  return Status(ErrorCode::kInvalidArgument, "arena planner: " + message);
}

std::int64_t live_bytes_lower_bound(const std::vector<TensorLifetime>& tensors) {
  // (step, delta) events; at one step, ends (at last + 1) come before starts.
  std::vector<std::pair<std::int64_t, std::int64_t>> events;
  events.reserve(tensors.size() * 2);
  for (const TensorLifetime& t : tensors) {
    if (t.size_bytes == 0) continue;
    events.emplace_back(t.first_use_step, t.size_bytes);
    events.emplace_back(std::int64_t{t.last_use_step} + 1, -t.size_bytes);
  }
  std::sort(events.begin(), events.end());
  std::int64_t live = 0, peak = 0;
  for (const auto& [step, delta] : events) {
    live += delta;
    peak = std::max(peak, live);
  }
  return peak;
}

struct Placed {
  std::int64_t offset;
  std::int64_t end;
  int first;
  int last;
};

// Best fit, in `order`: each tensor goes into the smallest gap between already placed tensors
// whose lifetimes overlap its own, or above them all. Returns the aligned arena size.
std::int64_t place_in_order(const std::vector<TensorLifetime>& tensors,
                            const std::vector<size_t>& order, std::int64_t alignment,
                            std::vector<std::int64_t>& offsets) {
  offsets.assign(tensors.size(), 0);
  std::vector<Placed> placed;  // sorted by offset
  placed.reserve(tensors.size());
  std::int64_t arena_end = 0;
  for (size_t index : order) {
    const TensorLifetime& t = tensors[index];
    if (t.size_bytes == 0) continue;  // takes no bytes, conflicts with nothing
    std::int64_t best_offset = -1;
    std::int64_t best_gap = std::numeric_limits<std::int64_t>::max();
    std::int64_t covered_end = 0;
    for (const Placed& p : placed) {
      if (p.last < t.first_use_step || t.last_use_step < p.first) continue;
      const std::int64_t candidate = align_up(covered_end, alignment);
      const std::int64_t gap = p.offset - candidate;
      if (gap >= t.size_bytes && gap < best_gap) {
        best_gap = gap;
        best_offset = candidate;
      }
      covered_end = std::max(covered_end, p.end);
    }
    if (best_offset < 0) best_offset = align_up(covered_end, alignment);
    const Placed entry{best_offset, best_offset + t.size_bytes, t.first_use_step, t.last_use_step};
    placed.insert(
        std::upper_bound(placed.begin(), placed.end(), entry,
                         [](const Placed& a, const Placed& b) { return a.offset < b.offset; }),
        entry);
    offsets[index] = best_offset;
    arena_end = std::max(arena_end, entry.end);
  }
  return align_up(arena_end, alignment);
}

}  // namespace

Result<ArenaPlan> plan_arena(const std::vector<TensorLifetime>& tensors, std::int64_t alignment) {
  if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
    return planner_error("alignment " + std::to_string(alignment) + " is not a power of two");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorLifetime& t = tensors[i];
    if (t.size_bytes < 0 || t.size_bytes > kLargestTensor)
      return planner_error("tensor " + std::to_string(i) + " has an invalid size of " +
                           std::to_string(t.size_bytes) + " bytes");
    if (t.first_use_step < 0 || t.last_use_step < t.first_use_step)
      return planner_error("tensor " + std::to_string(i) + " has lifetime [" +
                           std::to_string(t.first_use_step) + ", " +
                           std::to_string(t.last_use_step) +
                           "]; it needs 0 <= first_use_step <= last_use_step");
  }

  ArenaPlan plan;
  plan.lower_bound_bytes = live_bytes_lower_bound(tensors);
  const std::int64_t ideal = align_up(plan.lower_bound_bytes, alignment);

  std::vector<size_t> identity(tensors.size());
  std::iota(identity.begin(), identity.end(), size_t{0});
  auto sorted_by = [&](auto&& before) {
    std::vector<size_t> order = identity;
    std::stable_sort(order.begin(), order.end(), before);
    return order;
  };
  auto length = [&](size_t i) {
    return std::int64_t{tensors[i].last_use_step} - tensors[i].first_use_step + 1;
  };
  // Greedy placement depends on the order; a few orders from the literature cost little next to
  // a model's lifetime, so keep the best. Largest first (ties by earlier start) comes first.
  std::vector<std::vector<size_t>> orders;
  orders.push_back(sorted_by([&](size_t a, size_t b) {
    if (tensors[a].size_bytes != tensors[b].size_bytes)
      return tensors[a].size_bytes > tensors[b].size_bytes;
    return tensors[a].first_use_step < tensors[b].first_use_step;
  }));
  orders.push_back(sorted_by([&](size_t a, size_t b) {
    return tensors[a].size_bytes * length(a) > tensors[b].size_bytes * length(b);
  }));
  orders.push_back(sorted_by([&](size_t a, size_t b) {
    if (length(a) != length(b)) return length(a) > length(b);
    return tensors[a].size_bytes > tensors[b].size_bytes;
  }));
  orders.push_back(sorted_by(
      [&](size_t a, size_t b) { return tensors[a].first_use_step < tensors[b].first_use_step; }));

  plan.arena_bytes = std::numeric_limits<std::int64_t>::max();
  std::vector<std::int64_t> offsets;
  auto try_order = [&](const std::vector<size_t>& order) {
    const std::int64_t end = place_in_order(tensors, order, alignment, offsets);
    if (end < plan.arena_bytes) {
      plan.arena_bytes = end;
      plan.offsets = offsets;
    }
  };
  for (const std::vector<size_t>& order : orders) {
    try_order(order);
    if (plan.arena_bytes <= ideal) return plan;
  }
  // Interlocking skips can trap all of them; sizes jittered by up to 30% break the ties and
  // near-ties that mislead greedy placement. Seeded, so a model always gets the same plan.
  // Each restart costs O(n^2), so large graphs get fewer.
  const double n = static_cast<double>(std::max<size_t>(tensors.size(), 1));
  const int restarts = static_cast<int>(std::clamp(4e7 / (n * n), 0.0, 64.0));
  std::mt19937 rng(20200501);  // mt19937 is the same everywhere; distributions are not
  auto jitter = [&] { return 0.7 + 0.6 * static_cast<double>(rng()) / 4294967296.0; };
  std::vector<double> key(tensors.size());
  for (int r = 0; r < restarts && plan.arena_bytes > ideal; ++r) {
    for (size_t i = 0; i < tensors.size(); ++i)
      key[i] = static_cast<double>(tensors[i].size_bytes) * jitter();
    try_order(sorted_by([&](size_t a, size_t b) { return key[a] > key[b]; }));
  }
  return plan;
}

Result<ArenaPlan> plan_graph_activations(const ModelGraph& graph, const std::vector<int>& order) {
  FOVEA_RETURN_IF_ERROR(graph.validate());
  const int node_count = static_cast<int>(graph.nodes.size());
  if (static_cast<int>(order.size()) != node_count)
    return planner_error("the execution order lists " + std::to_string(order.size()) +
                         " nodes but the graph has " + std::to_string(node_count));
  std::vector<int> step_of(graph.nodes.size(), -1);
  for (int step = 0; step < node_count; ++step) {
    const int n = order[static_cast<size_t>(step)];
    if (n < 0 || n >= node_count || step_of[static_cast<size_t>(n)] >= 0)
      return planner_error("the execution order is not a permutation of the graph's nodes (" +
                           std::to_string(n) + " at step " + std::to_string(step) + ")");
    step_of[static_cast<size_t>(n)] = step;
  }

  const size_t tensor_count = graph.tensors.size();
  std::vector<int> first(tensor_count, -1), last(tensor_count, -1);
  for (int t : graph.inputs) first[static_cast<size_t>(t)] = 0;
  for (int step = 0; step < node_count; ++step)
    for (int t : graph.nodes[static_cast<size_t>(order[static_cast<size_t>(step)])].outputs)
      first[static_cast<size_t>(t)] = step;
  for (int step = 0; step < node_count; ++step) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(order[static_cast<size_t>(step)])];
    for (int t : node.inputs) {
      if (t < 0 || graph.tensors[static_cast<size_t>(t)].constant >= 0) continue;
      const auto ti = static_cast<size_t>(t);
      // validate() guarantees one producer; only the order can make a read come first. A node
      // reading its own output is a cycle validate() already refused.
      if (first[ti] > step ||
          (first[ti] == step &&
           std::find(graph.inputs.begin(), graph.inputs.end(), t) == graph.inputs.end()))
        return planner_error("node '" + node.name + "' at step " + std::to_string(step) +
                             " reads '" + graph.tensors[ti].info.name +
                             "' before the step that writes it; the order is not topological");
      last[ti] = std::max(last[ti], step);
    }
  }
  const int final_step = std::max(node_count - 1, 0);
  for (int t : graph.outputs) last[static_cast<size_t>(t)] = final_step;

  std::vector<TensorLifetime> lifetimes;
  std::vector<size_t> graph_index;
  for (size_t t = 0; t < tensor_count; ++t) {
    if (graph.tensors[t].constant >= 0 || first[t] < 0) continue;
    TensorLifetime lifetime;
    lifetime.size_bytes = graph.tensors[t].info.byte_size();
    lifetime.first_use_step = first[t];
    lifetime.last_use_step = std::max(last[t], first[t]);  // a dead output lives at its step
    lifetimes.push_back(lifetime);
    graph_index.push_back(t);
  }
  Result<ArenaPlan> planned = plan_arena(lifetimes);
  if (!planned) return planned.status();
  ArenaPlan plan;
  plan.offsets.assign(tensor_count, -1);
  for (size_t i = 0; i < graph_index.size(); ++i)
    plan.offsets[graph_index[i]] = planned->offsets[i];
  plan.arena_bytes = planned->arena_bytes;
  plan.lower_bound_bytes = planned->lower_bound_bytes;
  plan.free_by_step.resize(static_cast<size_t>(node_count));
  std::vector<std::pair<std::int64_t, std::int64_t>> live;  // [begin, end) at one step
  for (int step = 0; step < node_count; ++step) {
    live.clear();
    for (size_t i = 0; i < lifetimes.size(); ++i)
      if (lifetimes[i].first_use_step <= step && step <= lifetimes[i].last_use_step)
        live.emplace_back(planned->offsets[i], planned->offsets[i] + lifetimes[i].size_bytes);
    std::sort(live.begin(), live.end());
    ArenaFreeSpace& free = plan.free_by_step[static_cast<size_t>(step)];
    std::int64_t end = 0;
    for (const auto& [begin, finish] : live) {
      const std::int64_t gap_begin = align_up(end, kArenaAlignment);
      if (begin - gap_begin > free.gap_bytes) {
        free.gap_offset = gap_begin;
        free.gap_bytes = begin - gap_begin;
      }
      end = std::max(end, finish);
    }
    free.tail_offset = align_up(end, kArenaAlignment);
  }
  return plan;
}

Status SharedArena::ensure(std::int64_t bytes) {
  if (bytes < 0)
    return Status(ErrorCode::kInvalidArgument,
                  "shared arena: negative size " + std::to_string(bytes));
  if (bytes <= size() && !block_.empty()) return Status::ok();
  if (bytes == 0) return Status::ok();
  // Free first: under a hard cap the old and the new block may not fit together.
  release();
  Result<BudgetBuffer> block = BudgetBuffer::allocate(
      *budget_, owner_, MemoryCategory::kActivations, static_cast<std::size_t>(bytes),
      static_cast<std::size_t>(kArenaAlignment));
  if (!block) return block.status().with_context("shared activation arena");
  block_ = std::move(block).value();
  ++generation_;
  return Status::ok();
}

void SharedArena::release() noexcept {
  if (block_.empty()) return;
  block_.reset();
  ++generation_;
}

}  // namespace fovea
