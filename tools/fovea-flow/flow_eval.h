#pragma once
// Runs flow methods over evaluation pairs: accuracy against ground truth and time per pair at
// each requested thread count (median of `runs` after one warm-up run, since a shared machine's
// noise only ever adds time).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flow_methods.h"
#include "flow_pair.h"
#include "fovea/vision/flow_metrics.h"

namespace fovea::flow_tool {

struct EvalOptions {
  std::vector<int> threads{1, 2};
  int runs = 5;
};

struct PairScore {
  std::string pair;
  vision::FlowError error;
  // For methods that give a confidence map (FlowField::confidence): what it says.
  std::optional<vision::ConfidenceQuality> confidence;
  std::map<int, double> ms_by_threads;  // thread count -> median ms per pair
};

struct MethodScores {
  std::string name;
  bool available = false;
  std::string unavailable_reason;
  std::vector<PairScore> pairs;  // in the order pairs were evaluated
};

// An available method, instantiated once for the whole run.
struct MethodInstance {
  std::string name;
  std::unique_ptr<vision::OpticalFlow> flow;  // null when not available
  std::string unavailable_reason;
};

// Runs each available method once on `pair`, untimed: the first call in a process pays for
// thread-pool start-up and page faults, which must not land in the first pair's timings.
Status warm_up_methods(const FlowPair& pair, std::vector<MethodInstance>& methods,
                       const EvalOptions& options);

// Scores every available method on one pair and returns each one's flow (empty for unavailable
// ones) for the colour panels. Appends to `scores` (one entry per method, same order).
Result<std::vector<cv::Mat>> evaluate_pair(const FlowPair& pair,
                                           std::vector<MethodInstance>& methods,
                                           const EvalOptions& options,
                                           std::vector<MethodScores>& scores);

}  // namespace fovea::flow_tool
