#include "flow_report.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <opencv2/core.hpp>

#include "fovea/core/json_writer.h"

namespace fovea::flow_tool {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// NaN-aware mean: a pair without occluded pixels has no EPE-occ and must not drag the mean.
struct Mean {
  double sum = 0.0;
  int count = 0;
  void add(double value) {
    if (std::isfinite(value)) {
      sum += value;
      ++count;
    }
  }
  double get() const { return count > 0 ? sum / count : kNan; }
};

double ms_at(const std::map<int, double>& ms, int threads) {
  auto it = ms.find(threads);
  return it == ms.end() ? kNan : it->second;
}

// A number in a fixed-width column, or "-" where there is none (no occluded pixels, no zero
// flow to compare with).
void print_number(double value, int width, int decimals) {
  if (std::isfinite(value))
    std::printf(" %*.*f", width, decimals, value);
  else
    std::printf(" %*s", width, "-");
}

void print_header(const EvalOptions& options, bool with_ratio) {
  std::printf("  %-14s %7s %8s %8s %7s", "method", "EPE", "EPE-noc", "EPE-occ", ">3px%");
  if (with_ratio) std::printf(" %7s", "x zero");
  for (int threads : options.threads)
    std::printf(" %8s", (std::to_string(threads) + "t ms").c_str());
  std::printf("\n");
}

void print_row(const std::string& name, double epe, double noc, double occ, double outliers,
               double ratio, const std::map<int, double>& ms, const EvalOptions& options,
               bool with_ratio) {
  std::printf("  %-14s", name.c_str());
  print_number(epe, 7, 3);
  print_number(noc, 8, 3);
  print_number(occ, 8, 3);
  print_number(outliers * 100.0, 7, 2);
  if (with_ratio) print_number(ratio, 7, 3);
  for (int threads : options.threads) print_number(ms_at(ms, threads), 8, 2);
  std::printf("\n");
}

const MethodScores* find_method(const std::vector<MethodScores>& scores, const std::string& name) {
  for (const MethodScores& method : scores)
    if (method.name == name) return &method;
  return nullptr;
}

void write_ms(JsonWriter& json, const std::map<int, double>& ms) {
  json.key("ms_by_threads").begin_object();
  for (const auto& [threads, value] : ms) json.key(std::to_string(threads)).value(value);
  json.end_object();
}

}  // namespace

bool PairGroup::contains(const std::string& pair) const {
  if (prefixes.empty()) return true;
  for (const std::string& prefix : prefixes)
    if (pair.rfind(prefix, 0) == 0) return true;
  return false;
}

const std::vector<PairGroup>& pair_groups() {
  // The split of the Sintel dev pairs by the size of their motion.
  static const std::vector<PairGroup> groups = {
      {"small-motion", {"alley_1_", "bandage_1_"}},
      {"large-motion", {"ambush_4_"}},
      {"all", {}},
  };
  return groups;
}

GroupScore group_score(const MethodScores& method, const PairGroup& group) {
  GroupScore score;
  Mean epe, noc, occ, outliers;
  std::map<int, Mean> ms;
  for (const PairScore& pair : method.pairs) {
    if (!group.contains(pair.pair)) continue;
    ++score.pairs;
    epe.add(pair.error.epe);
    noc.add(pair.error.epe_noc);
    occ.add(pair.error.epe_occ);
    outliers.add(pair.error.outliers);
    for (const auto& [threads, value] : pair.ms_by_threads) ms[threads].add(value);
  }
  score.epe = epe.get();
  score.epe_noc = noc.get();
  score.epe_occ = occ.get();
  score.outliers = outliers.get();
  for (const auto& [threads, mean] : ms) score.ms_by_threads[threads] = mean.get();
  return score;
}

void print_pair_table(const FlowPair& pair, const std::vector<MethodScores>& scores,
                      const EvalOptions& options) {
  const long long evaluated = cv::countNonZero(pair.valid);
  const long long total = static_cast<long long>(pair.valid.total());
  std::printf("\n%s  %dx%d, %lld of %lld pixels evaluated%s", pair.name.c_str(), pair.frame1.cols,
              pair.frame1.rows, evaluated, total,
              pair.has_invalid_png ? " (invalid.png excluded)" : "");
  if (!pair.occluded.empty()) {
    cv::Mat occluded_valid;
    cv::bitwise_and(pair.occluded, pair.valid, occluded_valid);
    std::printf(", %.1f%% occluded",
                evaluated > 0 ? 100.0 * cv::countNonZero(occluded_valid) / evaluated : 0.0);
  } else {
    std::printf(", no occlusions.png");
  }
  std::printf("\n");
  print_header(options, false);
  for (const MethodScores& method : scores) {
    if (!method.available) {
      std::printf("  %-14s not available: %s\n", method.name.c_str(),
                  method.unavailable_reason.c_str());
      continue;
    }
    if (method.pairs.empty() || method.pairs.back().pair != pair.name) continue;
    const PairScore& score = method.pairs.back();
    print_row(method.name, score.error.epe, score.error.epe_noc, score.error.epe_occ,
              score.error.outliers, kNan, score.ms_by_threads, options, false);
  }
}

void print_group_tables(const std::vector<MethodScores>& scores, const EvalOptions& options) {
  const MethodScores* zero = find_method(scores, "zero");
  for (const PairGroup& group : pair_groups()) {
    const int pairs = scores.empty() ? 0 : group_score(scores.front(), group).pairs;
    if (pairs == 0) continue;
    std::printf("\n[%s] mean over %d pair%s\n", group.name.c_str(), pairs, pairs == 1 ? "" : "s");
    const double zero_epe =
        zero != nullptr && zero->available ? group_score(*zero, group).epe : kNan;
    print_header(options, true);
    for (const MethodScores& method : scores) {
      if (!method.available) {
        std::printf("  %-14s not available\n", method.name.c_str());
        continue;
      }
      const GroupScore score = group_score(method, group);
      print_row(method.name, score.epe, score.epe_noc, score.epe_occ, score.outliers,
                score.epe / zero_epe, score.ms_by_threads, options, true);
    }
  }
}

void print_confidence_table(const std::vector<MethodScores>& scores) {
  bool header = false;
  for (const MethodScores& method : scores)
    for (const PairScore& pair : method.pairs) {
      if (!pair.confidence) continue;
      if (!header) {
        std::printf("\nconfidence (methods that give one; trusted = confidence >= %.1f)\n",
                    double(vision::kTrustedConfidence));
        std::printf("  %-16s %-24s %9s %9s %9s %11s %11s\n", "method", "pair", "mean noc",
                    "mean occ", "trusted", "EPE trust", "EPE doubt");
        header = true;
      }
      const vision::ConfidenceQuality& q = *pair.confidence;
      std::printf("  %-16s %-24s %9.3f %9.3f %8.1f%% %11.3f %11.3f\n", method.name.c_str(),
                  pair.pair.c_str(), q.mean_noc, q.mean_occ, 100.0 * q.trusted_share, q.epe_trusted,
                  q.epe_doubted);
    }
}

void print_bars(const std::vector<MethodScores>& scores, const EvalOptions& options) {
  const int threads = options.threads.back();
  std::printf("\nissue 5 bars (ms at %d thread%s):\n", threads, threads == 1 ? "" : "s");
  const MethodScores* fovea = find_method(scores, "fovea_int8");
  const MethodScores* dis = find_method(scores, "dis_fast");
  const MethodScores* zero = find_method(scores, "zero");
  auto usable = [](const MethodScores* method) { return method != nullptr && method->available; };
  if (!usable(fovea) || !usable(dis) || !usable(zero)) {
    std::printf("  not checked: they need fovea_int8, dis_fast and zero (fovea_int8: %s)\n",
                fovea == nullptr ? "not run" : fovea->unavailable_reason.c_str());
    return;
  }
  const auto& groups = pair_groups();
  auto verdict = [](bool pass) { return pass ? "PASS" : "FAIL"; };
  const GroupScore f_small = group_score(*fovea, groups[0]), d_small = group_score(*dis, groups[0]);
  const GroupScore f_large = group_score(*fovea, groups[1]),
                   z_large = group_score(*zero, groups[1]);
  const GroupScore f_all = group_score(*fovea, groups[2]), d_all = group_score(*dis, groups[2]);
  if (f_small.pairs > 0)
    std::printf("  small-motion EPE: fovea_int8 %.3f <= dis_fast %.3f: %s\n", f_small.epe,
                d_small.epe, verdict(f_small.epe <= d_small.epe));
  if (f_large.pairs > 0)
    std::printf("  large-motion EPE: fovea_int8 %.3f <= 0.8 x zero %.3f: %s\n", f_large.epe,
                0.8 * z_large.epe, verdict(f_large.epe <= 0.8 * z_large.epe));
  const double f_ms = ms_at(f_all.ms_by_threads, threads),
               d_ms = ms_at(d_all.ms_by_threads, threads);
  std::printf("  time per pair: fovea_int8 %.2f ms <= 2 x dis_fast %.2f ms: %s\n", f_ms, 2 * d_ms,
              verdict(f_ms <= 2 * d_ms));
  const MethodScores* fp32 = find_method(scores, "fovea_fp32");
  if (usable(fp32) && f_all.pairs > 0) {
    const double fp32_epe = group_score(*fp32, groups[2]).epe;
    std::printf(
        "  INT8 against FP32 (all pairs): fovea_int8 %.3f <= 1.05 x fovea_fp32 %.3f: %s "
        "(%+.1f%%)\n",
        f_all.epe, 1.05 * fp32_epe, verdict(f_all.epe <= 1.05 * fp32_epe),
        100.0 * (f_all.epe / fp32_epe - 1.0));
  }
}

Status write_json_report(const std::string& path, const std::vector<MethodScores>& scores,
                         const EvalOptions& options) {
  const int bar_threads = options.threads.back();
  JsonWriter json;
  json.begin_object();
  json.key("threads").begin_array();
  for (int threads : options.threads) json.value(threads);
  json.end_array();
  json.key("ms_threads").value(bar_threads);
  json.key("runs").value(options.runs);
  json.key("note").value(
      "epe* in px over pixels known in flow_gt.flo and not set in invalid.png; means over pairs; "
      "ms = median per pair at ms_threads threads after a warm-up; outliers = share with EPE > 3 "
      "px");
  json.key("methods").begin_object();
  for (const MethodScores& method : scores) {
    json.key(method.name).begin_object();
    json.key("available").value(method.available);
    if (!method.available) json.key("reason").value(method.unavailable_reason);
    const GroupScore all = group_score(method, pair_groups().back());
    json.key("epe").value(method.available ? all.epe : kNan);
    json.key("epe_noc").value(method.available ? all.epe_noc : kNan);
    json.key("epe_occ").value(method.available ? all.epe_occ : kNan);
    json.key("outliers").value(method.available ? all.outliers : kNan);
    json.key("ms").value(method.available ? ms_at(all.ms_by_threads, bar_threads) : kNan);
    write_ms(json, all.ms_by_threads);
    json.key("groups").begin_object();
    for (const PairGroup& group : pair_groups()) {
      const GroupScore score = group_score(method, group);
      if (score.pairs == 0) continue;
      json.key(group.name).begin_object();
      json.key("pairs").value(score.pairs);
      json.key("epe").value(score.epe);
      json.key("ms").value(ms_at(score.ms_by_threads, bar_threads));
      json.end_object();
    }
    json.end_object();
    json.key("pairs").begin_object();
    for (const PairScore& pair : method.pairs) {
      json.key(pair.pair).begin_object();
      json.key("epe").value(pair.error.epe);
      json.key("epe_noc").value(pair.error.epe_noc);
      json.key("epe_occ").value(pair.error.epe_occ);
      json.key("outliers").value(pair.error.outliers);
      if (pair.confidence) {
        const vision::ConfidenceQuality& q = *pair.confidence;
        json.key("confidence").begin_object();
        json.key("mean_noc").value(q.mean_noc).key("mean_occ").value(q.mean_occ);
        json.key("trusted_share").value(q.trusted_share);
        json.key("epe_trusted").value(q.epe_trusted).key("epe_doubted").value(q.epe_doubted);
        json.end_object();
      }
      json.key("ms").value(ms_at(pair.ms_by_threads, bar_threads));
      write_ms(json, pair.ms_by_threads);
      json.end_object();
    }
    json.end_object();
    json.end_object();
  }
  json.end_object();
  json.end_object();
  return json.write_file(path);
}

}  // namespace fovea::flow_tool
