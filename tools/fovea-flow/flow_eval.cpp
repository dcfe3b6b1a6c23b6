#include "flow_eval.h"

#include <chrono>

#include "fovea/core/timing_stats.h"

namespace fovea::flow_tool {

Status warm_up_methods(const FlowPair& pair, std::vector<MethodInstance>& methods,
                       const EvalOptions& options) {
  for (MethodInstance& method : methods) {
    if (!method.flow) continue;
    for (int threads : options.threads) {
      method.flow->set_threads(threads);
      auto flow = method.flow->compute(pair.frame1, pair.frame2);
      if (!flow.is_ok()) return flow.status().with_context(pair.name);
    }
  }
  return Status::ok();
}

Result<std::vector<cv::Mat>> evaluate_pair(const FlowPair& pair,
                                           std::vector<MethodInstance>& methods,
                                           const EvalOptions& options,
                                           std::vector<MethodScores>& scores) {
  std::vector<cv::Mat> flows(methods.size()), confidences(methods.size());
  for (std::size_t m = 0; m < methods.size(); ++m) {
    MethodInstance& method = methods[m];
    if (!method.flow) continue;
    PairScore score;
    score.pair = pair.name;
    for (int threads : options.threads) {
      method.flow->set_threads(threads);
      // The warm-up run also gives the flow that is scored: DIS and the learned model are
      // deterministic for a given input, whatever the thread count.
      auto warm = method.flow->compute(pair.frame1, pair.frame2);
      if (!warm.is_ok()) return warm.status().with_context(pair.name);
      if (flows[m].empty()) {
        flows[m] = warm->flow;
        confidences[m] = warm->confidence;
      }
      std::vector<double> ms;
      for (int run = 0; run < options.runs; ++run) {
        const auto start = std::chrono::steady_clock::now();
        auto flow = method.flow->compute(pair.frame1, pair.frame2);
        const auto stop = std::chrono::steady_clock::now();
        if (!flow.is_ok()) return flow.status().with_context(pair.name);
        ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
      }
      score.ms_by_threads[threads] = summarize(ms).median;
    }
    auto error = vision::flow_error(flows[m], pair.truth, pair.valid, pair.occluded);
    if (!error.is_ok()) return error.status().with_context(pair.name + ", " + method.name);
    score.error = *error;
    if (!confidences[m].empty()) {
      auto quality = vision::confidence_quality(flows[m], confidences[m], pair.truth, pair.valid,
                                                pair.occluded);
      if (!quality.is_ok()) return quality.status().with_context(pair.name + ", " + method.name);
      score.confidence = *quality;
    }
    scores[m].pairs.push_back(std::move(score));
  }
  return flows;
}

}  // namespace fovea::flow_tool
