#include "node_profile.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "fovea/core/timing_stats.h"

namespace fovea::bench {
namespace {

// INT8 when the node's output is: a Dequantize reads INT8 but writes (and is charged as) FP32.
const char* precision_of(const ModelGraph& graph, const GraphNode& node) {
  const TensorInfo& y = graph.tensors[static_cast<size_t>(node.outputs[0])].info;
  return y.type == DataType::kInt8 ? "int8" : "fp32";
}

}  // namespace

void print_node_profile(std::FILE* out, const ModelGraph& graph, std::span<const int> order,
                        const std::vector<std::vector<double>>& seconds, int top) {
  struct Row {
    size_t position;
    double ms;
  };
  std::vector<Row> rows;
  double total = 0.0;
  std::vector<double> samples(seconds.size());
  for (size_t p = 0; p < order.size(); ++p) {
    for (size_t r = 0; r < seconds.size(); ++r) samples[r] = seconds[r][p];
    rows.push_back({p, percentile(samples, 0.5) * 1e3});
    total += rows.back().ms;
  }
  auto share = [&](double ms) { return total > 0.0 ? 100.0 * ms / total : 0.0; };
  std::vector<Row> shown = rows;
  if (top > 0) {
    std::stable_sort(shown.begin(), shown.end(),
                     [](const Row& a, const Row& b) { return a.ms > b.ms; });
    if (shown.size() > static_cast<size_t>(top)) shown.resize(static_cast<size_t>(top));
  }
  std::fprintf(out, "\n-- per node (median of %zu runs)%s --\n", seconds.size(),
               top > 0 ? ", slowest first" : "");
  std::fprintf(out, "%-4s %-28s %-15s %-5s %-20s %9s %7s\n", "#", "node", "op", "type", "output",
               "ms", "share");
  for (const Row& row : shown) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(order[row.position])];
    const Shape& shape = graph.tensors[static_cast<size_t>(node.outputs[0])].info.shape;
    std::fprintf(out, "%-4zu %-28s %-15s %-5s %-20s %9.3f %6.1f%%\n", row.position,
                 node.name.c_str(), op_type_name(node.op), precision_of(graph, node),
                 shape.to_string().c_str(), row.ms, share(row.ms));
  }
  // Per op type and precision, heaviest first.
  std::map<std::pair<std::string, std::string>, std::pair<int, double>> by_type;
  for (const Row& row : rows) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(order[row.position])];
    auto& entry = by_type[{op_type_name(node.op), precision_of(graph, node)}];
    ++entry.first;
    entry.second += row.ms;
  }
  std::vector<std::pair<std::pair<std::string, std::string>, std::pair<int, double>>> types(
      by_type.begin(), by_type.end());
  std::stable_sort(types.begin(), types.end(),
                   [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::fprintf(out, "\n-- per op type (sum of node medians) --\n");
  std::fprintf(out, "%-18s %-5s %5s %9s %7s\n", "op", "type", "nodes", "ms", "share");
  for (const auto& [key, value] : types)
    std::fprintf(out, "%-18s %-5s %5d %9.3f %6.1f%%\n", key.first.c_str(), key.second.c_str(),
                 value.first, value.second, share(value.second));
  std::fprintf(out, "%-18s %-5s %5zu %9.3f %6.1f%%\n", "sum", "", rows.size(), total, 100.0);
}

}  // namespace fovea::bench
