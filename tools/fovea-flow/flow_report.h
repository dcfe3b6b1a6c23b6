#pragma once
// What `fovea-flow eval` prints and writes: a table per pair, a table per group of pairs, the
// issue's bars, and the JSON report.

#include <map>
#include <string>
#include <vector>

#include "flow_eval.h"

namespace fovea::flow_tool {

// Pairs are grouped by name prefix (Sintel scene names); "all" takes every pair.
struct PairGroup {
  std::string name;
  std::vector<std::string> prefixes;  // empty: every pair
  bool contains(const std::string& pair) const;
};
const std::vector<PairGroup>& pair_groups();

// Means over the group's pairs, each pair weighing the same (as Sintel's per-sequence tables).
struct GroupScore {
  int pairs = 0;
  double epe = 0.0, epe_noc = 0.0, epe_occ = 0.0, outliers = 0.0;
  std::map<int, double> ms_by_threads;
};
GroupScore group_score(const MethodScores& method, const PairGroup& group);

void print_pair_table(const FlowPair& pair, const std::vector<MethodScores>& scores,
                      const EvalOptions& options);
void print_group_tables(const std::vector<MethodScores>& scores, const EvalOptions& options);
// Per pair, for methods that give a confidence map: its means over visible and occluded pixels,
// and the EPE of the pixels it trusts (>= 0.5) and of the rest. Nothing when no method gives one.
void print_confidence_table(const std::vector<MethodScores>& scores);
void print_bars(const std::vector<MethodScores>& scores, const EvalOptions& options);

// {"methods": {NAME: {"epe", "ms", "pairs": {PAIR: {"epe", "epe_noc", "epe_occ", "ms"}}}}}, plus
// per-thread times, outliers, groups and settings. "ms" is at the last --threads count.
Status write_json_report(const std::string& path, const std::vector<MethodScores>& scores,
                         const EvalOptions& options);

}  // namespace fovea::flow_tool
