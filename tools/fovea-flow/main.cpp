// fovea-flow: optical flow from the command line. `eval` compares fovea's flow methods (OpenCV
// DIS presets, the zero-flow baseline, the learned model and its DIS-refined hybrid) on folders
// of frame pairs with ground truth: EPE over all, non-occluded and occluded pixels, outliers
// over 3 px, and time per pair at each thread count.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "flow_eval.h"
#include "flow_methods.h"
#include "flow_pair.h"
#include "flow_panels.h"
#include "flow_report.h"
#include "fovea/vision/flo_file.h"
#include "fovea/vision/synthetic_flow.h"

#include <opencv2/imgcodecs.hpp>

namespace {

using namespace fovea;
using namespace fovea::flow_tool;

constexpr const char* kUsage = R"(usage:
  fovea-flow eval DIR... [--threads 1,2] [--methods NAME,...] [--runs N] [--out DIR]
                  [--json PATH] [--fovea-fp32 MODEL] [--fovea-int8 MODEL]
                  [--fovea-int8-fast MODEL]
      Each DIR holds frame1.png, frame2.png and flow_gt.flo (Middlebury .flo), and optionally
      occlusions.png (white = occluded) and invalid.png (white = no ground truth; those pixels
      are left out of every EPE, as are .flo "unknown" pixels). Prints per pair and per group
      (small-motion: alley_1_*, bandage_1_*; large-motion: ambush_4_*; all) the EPE over all,
      non-occluded and occluded pixels, the share of pixels off by more than 3 px, and the
      median ms per pair (--runs N runs after a warm-up, default 5) at each --threads count.
      --out writes DIR_NAME.png per pair: frame 1, ground truth and each method, colour-coded.
      --json writes {"methods": {NAME: {"epe", "ms", "pairs": {PAIR: {"epe", "epe_noc",
      "epe_occ", "ms"}}}}} (ms at the last --threads count) with per-thread times, outliers
      and group means beside them.
      --fovea-fp32 / --fovea-int8 load the learned model (.fvm) for the rows fovea_fp32 and
      fovea_int8 (fovea's flow as it ships: the network, refined by DIS's patch inverse search
      at half the frame's size), fovea_fp32_net and fovea_int8_net (the network alone),
      fovea_int8_psvr (fovea_int8, then OpenCV's variational refinement), fovea_int8_dis (the
      INT8 network's flow as OpenCV DIS fast's start) and fovea_int8_vr (the INT8 network's
      flow polished by the variational refinement); --fovea-int8-fast loads the half-size INT8
      model (models/flow/flow_int8_224x512.fvm) for the row fovea_int8_fast (the patch search
      and the variational refinement after it). Without them those rows say "not available",
      and a model that does not load is an error.
  fovea-flow synth-pair DIR [--size WxH] [--shift DX,DY | --rotate DEGREES]
      Writes a pair with exactly known flow into DIR (frame1.png, frame2.png, flow_gt.flo,
      occlusions.png): a smooth random texture moved by a translation (default 3,-2 px) or
      turned about the centre. A pair that `eval` must get nearly right (tests).
methods (default all): %s
)";

int fail(const std::string& message) {
  std::fprintf(stderr, "fovea-flow: %s\n", message.c_str());
  return 2;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

bool parse_int(const std::string& text, int& out, int lo, int hi) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < lo || value > hi) return false;
  out = static_cast<int>(value);
  return true;
}

std::string method_names(const std::vector<FlowMethod>& methods) {
  std::string names;
  for (const FlowMethod& method : methods) names += (names.empty() ? "" : ", ") + method.name;
  return names;
}

void print_usage(FILE* to) {
  std::fprintf(to, kUsage, method_names(flow_methods({})).c_str());
}

int run_eval(int argc, char** argv) {
  std::vector<std::string> folders;
  EvalOptions options;
  FlowMethodOptions method_options;
  std::string out_dir, json_path, methods_arg;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      folders.push_back(arg);
      continue;
    }
    if (i + 1 >= argc) return fail(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--threads") {
      options.threads.clear();
      for (const std::string& part : split_commas(value)) {
        int threads = 0;
        if (!parse_int(part, threads, 1, 256))
          return fail("--threads takes counts 1..256 separated by commas, not '" + value + "'");
        options.threads.push_back(threads);
      }
      if (options.threads.empty()) return fail("--threads is empty");
    } else if (arg == "--runs") {
      if (!parse_int(value, options.runs, 1, 1000)) return fail("--runs takes 1..1000");
    } else if (arg == "--methods") {
      methods_arg = value;
    } else if (arg == "--out") {
      out_dir = value;
    } else if (arg == "--json") {
      json_path = value;
    } else if (arg == "--fovea-fp32") {
      method_options.fovea_fp32_model = value;
    } else if (arg == "--fovea-int8") {
      method_options.fovea_int8_model = value;
    } else if (arg == "--fovea-int8-fast") {
      method_options.fovea_int8_fast_model = value;
    } else {
      return fail("unknown option " + arg + " (see fovea-flow --help)");
    }
  }
  if (folders.empty()) return fail("eval needs at least one pair folder (see fovea-flow --help)");
  method_options.threads = options.threads.front();

  // Chosen methods, in the registry's order.
  const std::vector<FlowMethod> registry = flow_methods(method_options);
  std::vector<const FlowMethod*> chosen;
  if (methods_arg.empty()) {
    for (const FlowMethod& method : registry) chosen.push_back(&method);
  } else {
    const std::vector<std::string> wanted = split_commas(methods_arg);
    for (const std::string& name : wanted) {
      bool known = false;
      for (const FlowMethod& method : registry) known = known || method.name == name;
      if (!known)
        return fail("unknown method '" + name + "'; choose from " + method_names(registry));
    }
    for (const FlowMethod& method : registry)
      for (const std::string& name : wanted)
        if (method.name == name) chosen.push_back(&method);
  }

  // Every pair is loaded before anything runs, so a missing file fails in a second, not after
  // minutes of timing.
  std::vector<FlowPair> pairs;
  for (const std::string& folder : folders) {
    auto pair = load_flow_pair(folder);
    if (!pair.is_ok()) return fail(pair.status().to_string());
    pairs.push_back(std::move(*pair));
  }
  if (!out_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(out_dir, error);
    if (error) return fail("cannot create --out folder '" + out_dir + "': " + error.message());
  }

  std::vector<MethodInstance> instances;
  std::vector<MethodScores> scores;
  for (const FlowMethod* method : chosen) {
    MethodInstance instance;
    instance.name = method->name;
    auto made = method->make();
    if (made.is_ok())
      instance.flow = std::move(*made);
    else if (made.status().code() == ErrorCode::kUnavailable)
      instance.unavailable_reason = made.status().message();
    else  // a model file was given but cannot be used: say so rather than skip its row
      return fail(made.status().to_string());
    MethodScores score;
    score.name = method->name;
    score.available = instance.flow != nullptr;
    score.unavailable_reason = instance.unavailable_reason;
    scores.push_back(std::move(score));
    instances.push_back(std::move(instance));
  }

  std::printf("fovea-flow eval: %zu pair%s, %d timed run%s after a warm-up per thread count\n",
              pairs.size(), pairs.size() == 1 ? "" : "s", options.runs,
              options.runs == 1 ? "" : "s");
  const Status warmed = warm_up_methods(pairs.front(), instances, options);
  if (!warmed.is_ok()) return fail(warmed.to_string());
  for (const FlowPair& pair : pairs) {
    auto flows = evaluate_pair(pair, instances, options, scores);
    if (!flows.is_ok()) return fail(flows.status().to_string());
    print_pair_table(pair, scores, options);
    std::fflush(stdout);
    if (out_dir.empty()) continue;
    std::vector<FlowPanel> panels;
    for (std::size_t m = 0; m < instances.size(); ++m) {
      // Zero flow is a white panel; leave it out.
      if ((*flows)[m].empty() || instances[m].name == "zero") continue;
      char text[96];
      std::snprintf(text, sizeof(text), "%s  EPE %.2f", instances[m].name.c_str(),
                    scores[m].pairs.back().error.epe);
      panels.push_back({text, (*flows)[m]});
    }
    const std::string path = (std::filesystem::path(out_dir) / (pair.name + ".png")).string();
    const Status written = write_flow_panels(path, pair, panels);
    if (!written.is_ok()) return fail(written.to_string());
  }
  print_group_tables(scores, options);
  print_confidence_table(scores);
  print_bars(scores, options);
  if (!json_path.empty()) {
    const Status written = write_json_report(json_path, scores, options);
    if (!written.is_ok()) return fail(written.to_string());
    std::printf("\nwrote %s\n", json_path.c_str());
  }
  return 0;
}

int run_synth_pair(int argc, char** argv) {
  if (argc < 3 || std::string(argv[2]).rfind("--", 0) == 0)
    return fail("synth-pair needs an output folder (see fovea-flow --help)");
  const std::string dir = argv[2];
  cv::Size size(320, 240);
  cv::Point2f shift(3.0f, -2.0f);
  float degrees = 0.0f;
  bool rotate = false;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return fail(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--size") {
      if (std::sscanf(value.c_str(), "%dx%d", &size.width, &size.height) != 2 || size.width < 1 ||
          size.height < 1 || size.width > 4096 || size.height > 4096)
        return fail("--size takes WxH, 1..4096 a side, not '" + value + "'");
    } else if (arg == "--shift") {
      if (std::sscanf(value.c_str(), "%f,%f", &shift.x, &shift.y) != 2)
        return fail("--shift takes DX,DY in pixels, not '" + value + "'");
    } else if (arg == "--rotate") {
      rotate = true;
      if (std::sscanf(value.c_str(), "%f", &degrees) != 1)
        return fail("--rotate takes degrees, not '" + value + "'");
    } else {
      return fail("unknown option " + arg + " (see fovea-flow --help)");
    }
  }
  const vision::SyntheticFlowPair pair =
      rotate ? vision::make_rotated_pair(size, degrees) : vision::make_translated_pair(size, shift);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return fail("cannot create '" + dir + "': " + error.message());
  const std::filesystem::path out(dir);
  for (const auto& [name, image] :
       {std::pair{"frame1.png", &pair.frame1}, std::pair{"frame2.png", &pair.frame2},
        std::pair{"occlusions.png", &pair.occluded}})
    if (!cv::imwrite((out / name).string(), *image))
      return fail("cannot write '" + (out / name).string() + "'");
  const Status written = vision::write_flo((out / "flow_gt.flo").string(), pair.flow);
  if (!written.is_ok()) return fail(written.to_string());
  if (rotate)
    std::printf("wrote %s: %dx%d, rotated %.3f degrees\n", dir.c_str(), size.width, size.height,
                degrees);
  else
    std::printf("wrote %s: %dx%d, shifted %.3f,%.3f px\n", dir.c_str(), size.width, size.height,
                shift.x, shift.y);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(stdout);
    return 0;
  }
  if (command == "eval") return run_eval(argc, argv);
  if (command == "synth-pair") return run_synth_pair(argc, argv);
  print_usage(stderr);
  return fail("unknown command '" + command + "'");
}
