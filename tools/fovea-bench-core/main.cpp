// fovea-bench core: the inference core's figures, each next to the peer measured in the same
// run. Per model: fovea FP32 and INT8 (XNNPACK executor) against OpenCV DNN FP32 on the same
// ONNX file, and INT8-vs-FP32 cosine on real photos it was not calibrated on. Then three models
// run alternately under one memory budget at 100 %, 60 % and 40 % of their uncapped footprint
// (accounted peak, process RSS, latency, allocations per inference), and the same three models
// as independent OpenCV DNN nets. Scenarios that measure RSS run in forked children, so each
// starts from the same clean heap.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "allocation_counter.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/json_writer.h"
#include "fovea/core/model.h"
#include "fovea/core/onnx_import.h"
#include "fovea/core/process_memory.h"
#include "fovea/core/quantizer.h"
#include "fovea/core/timing_stats.h"
#include "photos.h"

namespace fovea::bench {
namespace {

constexpr const char* kUsage = R"(usage: fovea-bench core [options]

options:
  --model NAME=PATH.onnx  a model to measure (repeatable; the first three also form the budget
                          scenario); default: the three MobileNetV2s of models/mobilenetv2/
  --photos DIR            real photos: the first half calibrates, the rest evaluates
                          (default: opencv-doc's examples/data)
  --threads N             threads for fovea and OpenCV (default 2)
  --runs N                timed runs per figure (default 30)
  --json PATH             also write the figures as JSON
  --work DIR              keep the quantized INT8 .fvm files there (default: a temporary
                          folder, removed at the end)
  --flow NAME=FP32.fvm,INT8.fvm
                          a fovea flow model pair to measure beside them (repeatable); default:
                          models/flow/flow_fp32.fvm and flow_int8.fvm where both exist. Input:
                          each photo and itself moved by (4, -3) px. It has no ONNX form
                          (Correlation, Warp), so OpenCV DNN has no figure for it.
)";

struct BenchModel {
  std::string name;
  std::string onnx_path;
  std::shared_ptr<Model> fp32;
  std::shared_ptr<Model> int8;
  std::string int8_path;  // saved .fvm, what the budget scenarios load (mapped)
  int width = 0, height = 0;
  std::int64_t outputs = 0;
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

std::span<const std::uint8_t> bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 4};
}
std::span<std::uint8_t> bytes(std::vector<float>& v) {
  return {reinterpret_cast<std::uint8_t*>(v.data()), v.size() * 4};
}

Status run_once(CompiledModel& model, const std::vector<float>& input, std::vector<float>& output) {
  std::span<const std::uint8_t> in[] = {bytes(input)};
  std::span<std::uint8_t> out[] = {bytes(output)};
  return model.run(in, out);
}

// ---- forked scenarios ----

struct ScenarioResult {
  bool ok = false;
  char error[3072] = {};
  double median_frame_ms = 0;
  std::int64_t accounted_peak = 0;
  std::int64_t rss_growth = 0;  // peak RSS during the scenario minus RSS at its start
  double allocations_per_inference = -1;
  std::int64_t evictions = 0;
  double layers_remade_per_frame = 0;  // packed weights re-made after an eviction
  double bytes_remade_per_frame = 0;
  // Growth of RSS's parts, sampled after every frame: anonymous memory (heap, budget blocks)
  // and mapped files (code, the models' .fvm pages).
  std::int64_t anonymous_growth = 0, file_growth = 0;
};

// Runs this executable again with `args` (a --scenario mode) and reads its ScenarioResult from
// a pipe. A fresh process, not a fork: a fork would inherit this process's heap, whose freed
// pages make RSS growth look smaller than it is.
ScenarioResult in_fresh_process(const std::vector<std::string>& args) {
  ScenarioResult result;
  int fds[2];
  if (pipe(fds) != 0) {
    std::snprintf(result.error, sizeof result.error, "pipe failed");
    return result;
  }
  std::vector<std::string> full = {"/proc/self/exe"};
  full.insert(full.end(), args.begin(), args.end());
  full.push_back("--result-fd");
  full.push_back(std::to_string(fds[1]));
  std::vector<char*> argv;
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  ssize_t got = 0;
  for (ssize_t n = 1; n > 0 && got < static_cast<ssize_t>(sizeof result); got += n)
    n = read(fds[0], reinterpret_cast<char*>(&result) + got, sizeof result - size_t(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof result)) {
    result = ScenarioResult{};
    std::snprintf(result.error, sizeof result.error, "the scenario's process died (status %d)",
                  status);
  }
  return result;
}

ScenarioResult fail(ScenarioResult r, const Status& status) {
  std::snprintf(r.error, sizeof r.error, "%s", status.to_string().c_str());
  return r;
}

// Three INT8 models, loaded from their .fvm files, run one after another every frame.
ScenarioResult fovea_scenario(const std::vector<BenchModel>& models,
                              const std::vector<std::vector<float>>& inputs, std::int64_t cap,
                              int threads, int frames, bool prefetch) {
  ScenarioResult r;
  const ProcessMemory start = read_process_memory();
  const std::int64_t baseline = start.resident_bytes;
  reset_peak_resident();
  auto context = InferenceContext::create(cap, threads);
  if (!context) return fail(r, context.status());
  if (prefetch)
    if (Status s = (*context)->set_prefetch_worker(true); !s.is_ok()) return fail(r, s);
  std::vector<std::unique_ptr<CompiledModel>> compiled;
  for (const BenchModel& m : models) {
    auto loaded = load_fvm(m.int8_path);
    if (!loaded) return fail(r, loaded.status());
    auto c = CompiledModel::create(**context, std::make_shared<Model>(std::move(*loaded)));
    if (!c) return fail(r, c.status());
    compiled.push_back(std::move(*c));
  }
  std::vector<std::vector<float>> outputs;
  for (const BenchModel& m : models) outputs.emplace_back(static_cast<size_t>(m.outputs));
  std::vector<double> frame_ms;
  std::int64_t allocations = 0;
  // The order is known (every model once per frame), so the budget evicts by furthest next use.
  std::vector<BudgetOwner> next_uses;
  for (int ahead = 0; ahead < 2; ++ahead)
    for (const auto& c : compiled) next_uses.push_back(c->owner());
  std::int64_t remade_before_timing = 0, remade_bytes_before_timing = 0;
  for (int frame = 0; frame < frames + 3; ++frame) {
    const bool timed = frame >= 3;
    if (frame == 3)
      for (const auto& c : compiled) {
        remade_before_timing += c->layers_repacked();
        remade_bytes_before_timing += c->bytes_repacked();
      }
    (*context)->budget().set_next_uses(next_uses);
    if (timed) start_counting_allocations();
    const double started = now_ms();
    for (size_t i = 0; i < compiled.size(); ++i) {
      const Status status = run_once(*compiled[i], inputs[i], outputs[i]);
      if (!status.is_ok()) {
        stop_counting_allocations();
        return fail(r, status);
      }
    }
    const double elapsed = now_ms() - started;
    if (timed) {
      allocations += stop_counting_allocations();
      frame_ms.push_back(elapsed);
    }
    const ProcessMemory now = read_process_memory();
    r.anonymous_growth = std::max(r.anonymous_growth, now.anonymous_bytes - start.anonymous_bytes);
    r.file_growth = std::max(r.file_growth, now.file_bytes - start.file_bytes);
  }
  r.ok = true;
  r.median_frame_ms = percentile(frame_ms, 0.5);
  r.accounted_peak = (*context)->budget().peak_bytes();
  r.evictions = (*context)->budget().eviction_count();
  std::int64_t remade = -remade_before_timing, remade_bytes = -remade_bytes_before_timing;
  for (const auto& c : compiled) {
    remade += c->layers_repacked();
    remade_bytes += c->bytes_repacked();
  }
  r.layers_remade_per_frame = double(remade) / double(frames);
  r.bytes_remade_per_frame = double(remade_bytes) / double(frames);
  r.rss_growth = read_process_memory().peak_resident_bytes - baseline;
  r.allocations_per_inference =
      allocation_counting_available() ? double(allocations) / double(frames * models.size()) : -1;
  return r;
}

ScenarioResult opencv_scenario(const std::vector<BenchModel>& models,
                               const std::vector<cv::Mat>& blobs, int threads, int frames) {
  ScenarioResult r;
  const std::int64_t baseline = read_process_memory().resident_bytes;
  reset_peak_resident();
  cv::setNumThreads(threads);
  std::vector<cv::dnn::Net> nets;
  try {
    for (const BenchModel& m : models) {
      nets.push_back(cv::dnn::readNetFromONNX(m.onnx_path));
      nets.back().setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    }
    std::vector<double> frame_ms;
    for (int frame = 0; frame < frames + 3; ++frame) {
      const double started = now_ms();
      for (size_t i = 0; i < nets.size(); ++i) {
        nets[i].setInput(blobs[i]);
        cv::Mat out = nets[i].forward();
      }
      if (frame >= 3) frame_ms.push_back(now_ms() - started);
    }
    r.median_frame_ms = percentile(frame_ms, 0.5);
  } catch (const cv::Exception& e) {
    return fail(r, Status(ErrorCode::kInternal, std::string("OpenCV DNN: ") + e.what()));
  }
  r.ok = true;
  r.rss_growth = read_process_memory().peak_resident_bytes - baseline;
  return r;
}

// ---- per-model figures ----

// Photos after the calibration ones that the cosine is taken over, at most.
constexpr int kEvaluationPhotos = 16;
// The flow models' input: each photo and itself moved by this many pixels (x, y).
constexpr float kFlowShift[2] = {4.0f, -3.0f};

// A fovea model made by the project's recipes, as committed: FP32 and INT8 .fvm files.
struct FlowPair {
  std::string name, fp32_path, int8_path;
};

struct ModelFigures {
  double fp32_ms = 0, int8_ms = 0, int8_xnnpack_ms = 0, opencv_fp32_ms = 0;
  double cosine_mean = 0, cosine_min = 1;
  double opencv_max_relative_difference = 0;
};

Result<double> time_fovea(const std::shared_ptr<Model>& model, const std::vector<float>& input,
                          std::int64_t outputs, int threads, int runs, std::vector<float>* first,
                          Int8Kernels kernels = Int8Kernels::kFovea) {
  auto context = InferenceContext::create(std::int64_t{1} << 40, threads, kernels);
  if (!context) return context.status();
  auto compiled = CompiledModel::create(**context, model);
  if (!compiled) return compiled.status();
  std::vector<float> out(static_cast<size_t>(outputs));
  std::vector<double> ms;
  for (int i = 0; i < runs + 3; ++i) {
    const double started = now_ms();
    FOVEA_RETURN_IF_ERROR(run_once(**compiled, input, out));
    if (i >= 3) ms.push_back(now_ms() - started);
  }
  if (first) *first = out;
  return percentile(ms, 0.5);
}

Result<std::vector<float>> infer(const std::shared_ptr<Model>& model,
                                 const std::vector<float>& input, std::int64_t outputs) {
  auto context = InferenceContext::create(std::int64_t{1} << 40, 1);
  if (!context) return context.status();
  auto compiled = CompiledModel::create(**context, model);
  if (!compiled) return compiled.status();
  std::vector<float> out(static_cast<size_t>(outputs));
  FOVEA_RETURN_IF_ERROR(run_once(**compiled, input, out));
  return out;
}

// fovea's side of a model's row: FP32, INT8 and XNNPACK-INT8 medians on `timing_input`, and
// the INT8-vs-FP32 output cosine over `inputs` (a function of the evaluation index, null past
// the last). `fp32_out` gets the FP32 output on `timing_input`.
Status measure_fovea(const std::shared_ptr<Model>& fp32, const std::shared_ptr<Model>& int8,
                     const std::vector<float>& timing_input,
                     const std::function<const std::vector<float>*(int)>& inputs,
                     std::int64_t outputs, int threads, int runs, ModelFigures& f,
                     std::vector<float>* fp32_out) {
  auto fp32_ms = time_fovea(fp32, timing_input, outputs, threads, runs, fp32_out);
  auto int8_ms = time_fovea(int8, timing_input, outputs, threads, runs, nullptr);
  auto xnn_ms =
      time_fovea(int8, timing_input, outputs, threads, runs, nullptr, Int8Kernels::kXnnpack);
  for (const Result<double>* r : {&fp32_ms, &int8_ms, &xnn_ms})
    if (!r->is_ok()) return r->status();
  f.fp32_ms = *fp32_ms;
  f.int8_ms = *int8_ms;
  f.int8_xnnpack_ms = *xnn_ms;
  double sum = 0;
  int count = 0;
  for (const std::vector<float>* x = inputs(0); x != nullptr; x = inputs(++count)) {
    auto a = infer(fp32, *x, outputs);
    if (!a) return a.status();
    auto b = infer(int8, *x, outputs);
    if (!b) return b.status();
    const double c = cosine(*a, *b);
    sum += c;
    f.cosine_min = std::min(f.cosine_min, c);
  }
  f.cosine_mean = count > 0 ? sum / count : 0.0;
  return Status::ok();
}

std::string default_path(const char* relative) {
  return (std::filesystem::path(FOVEA_SOURCE_DIR) / relative).string();
}

// `--scenario fovea|opencv ...`: one budget scenario in this (fresh) process; the result goes
// to --result-fd. Models come as NAME=PATH:WIDTH:HEIGHT:OUTPUTS.
int run_scenario(int argc, char** argv) {
  std::string kind, photo_path;
  std::int64_t cap = std::int64_t{1} << 40;
  int threads = 2, frames = 30, fd = -1;
  bool prefetch = false;
  std::vector<BenchModel> models;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--scenario")
      kind = value;
    else if (arg == "--cap")
      cap = std::atoll(value.c_str());
    else if (arg == "--threads")
      threads = std::atoi(value.c_str());
    else if (arg == "--frames")
      frames = std::atoi(value.c_str());
    else if (arg == "--prefetch")
      prefetch = value == "1";
    else if (arg == "--photo")
      photo_path = value;
    else if (arg == "--result-fd")
      fd = std::atoi(value.c_str());
    else if (arg == "--item") {
      BenchModel m;
      const auto eq = value.find('=');
      std::vector<std::string> parts;
      std::string rest = value.substr(eq + 1);
      for (size_t at; (at = rest.rfind(':')) != std::string::npos && parts.size() < 3;) {
        parts.insert(parts.begin(), rest.substr(at + 1));
        rest = rest.substr(0, at);
      }
      if (eq == std::string::npos || parts.size() != 3) return 2;
      m.name = value.substr(0, eq);
      m.int8_path = m.onnx_path = rest;
      m.width = std::atoi(parts[0].c_str());
      m.height = std::atoi(parts[1].c_str());
      m.outputs = std::atoll(parts[2].c_str());
      models.push_back(m);
    }
  }
  ScenarioResult result;
  cv::Mat bgr = cv::imread(photo_path, cv::IMREAD_COLOR);
  if (bgr.empty() || fd < 0) {
    std::snprintf(result.error, sizeof result.error, "cannot read the photo '%s'",
                  photo_path.c_str());
  } else {
    Photo photo{photo_path, {}};
    cv::cvtColor(bgr, photo.rgb, cv::COLOR_BGR2RGB);
    if (kind == "fovea") {
      std::vector<std::vector<float>> inputs;
      for (const BenchModel& m : models) inputs.push_back(to_nhwc(photo, m.width, m.height));
      result = fovea_scenario(models, inputs, cap, threads, frames, prefetch);
    } else {
      std::vector<cv::Mat> blobs;
      for (const BenchModel& m : models) blobs.push_back(to_nchw_blob(photo, m.width, m.height));
      result = opencv_scenario(models, blobs, threads, frames);
    }
  }
  if (fd >= 0 && write(fd, &result, sizeof result) != static_cast<ssize_t>(sizeof result)) return 1;
  return 0;
}

std::string item(const BenchModel& m, const std::string& path) {
  return m.name + "=" + path + ":" + std::to_string(m.width) + ":" + std::to_string(m.height) +
         ":" + std::to_string(m.outputs);
}

int run(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--scenario") return run_scenario(argc, argv);
  std::vector<std::pair<std::string, std::string>> sources;
  std::vector<FlowPair> flows;
  bool flows_given = false;
  std::string photos_dir = "/usr/share/doc/opencv-doc/examples/data", json_path, work_dir;
  int threads = 2, runs = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "fovea-bench core: %s needs a value\n%s", arg.c_str(), kUsage);
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--model") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "fovea-bench core: --model takes NAME=PATH.onnx\n");
        return 2;
      }
      sources.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else if (arg == "--photos") {
      photos_dir = value;
    } else if (arg == "--threads" || arg == "--runs") {
      const int n = std::atoi(value.c_str());
      if (n < 1 || n > 1000) {
        std::fprintf(stderr, "fovea-bench core: %s takes 1..1000\n", arg.c_str());
        return 2;
      }
      (arg == "--threads" ? threads : runs) = n;
    } else if (arg == "--json") {
      json_path = value;
    } else if (arg == "--work") {
      work_dir = value;
    } else if (arg == "--flow") {
      const auto eq = value.find('='), comma = value.find(',');
      if (eq == std::string::npos || comma == std::string::npos || comma < eq) {
        std::fprintf(stderr, "fovea-bench core: --flow takes NAME=FP32.fvm,INT8.fvm\n");
        return 2;
      }
      flows.push_back(
          {value.substr(0, eq), value.substr(eq + 1, comma - eq - 1), value.substr(comma + 1)});
      flows_given = true;
    } else {
      std::fprintf(stderr, "fovea-bench core: unknown option %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (sources.empty())
    sources = {
        {"mobilenetv2_224", default_path("models/mobilenetv2/mobilenetv2_224.onnx")},
        {"mobilenetv2_050_160", default_path("models/mobilenetv2/mobilenetv2_050_160.onnx")},
        {"mobilenetv2_035_128", default_path("models/mobilenetv2/mobilenetv2_035_128.onnx")}};

  if (!flows_given) {
    const FlowPair committed{"flow_448x1024", default_path("models/flow/flow_fp32.fvm"),
                             default_path("models/flow/flow_int8.fvm")};
    if (std::filesystem::exists(committed.fp32_path) &&
        std::filesystem::exists(committed.int8_path))
      flows.push_back(committed);
  }

  auto photos = load_photos(photos_dir);
  if (!photos) {
    std::fprintf(stderr, "fovea-bench core: %s\n", photos.status().to_string().c_str());
    return 1;
  }
  const size_t calibration_count = std::min<size_t>(4, photos->size() / 2);
  std::printf(
      "fovea-bench core: %zu photos from %s (%zu calibrate, %zu evaluate), %d threads, %d runs\n",
      photos->size(), photos_dir.c_str(), calibration_count,
      std::min<size_t>(kEvaluationPhotos, photos->size() - calibration_count), threads, runs);

  // Import and quantize, and save the INT8 models the budget scenarios load.
  const std::string work = !work_dir.empty() ? work_dir
                                             : (std::filesystem::temp_directory_path() /
                                                ("fovea-bench-core-" + std::to_string(getpid())))
                                                   .string();
  std::filesystem::create_directories(work);
  std::vector<BenchModel> models;
  for (const auto& [name, path] : sources) {
    BenchModel m;
    m.name = name;
    m.onnx_path = path;
    auto imported = import_onnx(path);
    if (!imported) {
      std::fprintf(stderr, "fovea-bench core: %s\n", imported.status().to_string().c_str());
      return 1;
    }
    m.fp32 = std::make_shared<Model>(std::move(*imported));
    const Shape& in =
        m.fp32->graph.tensors[static_cast<size_t>(m.fp32->graph.inputs[0])].info.shape;
    m.height = static_cast<int>(in[1]);
    m.width = static_cast<int>(in[2]);
    m.outputs =
        m.fp32->graph.tensors[static_cast<size_t>(m.fp32->graph.outputs[0])].info.shape.elements();
    std::vector<std::vector<FloatTensor>> calibration;
    for (size_t i = 0; i < calibration_count; ++i)
      calibration.push_back({FloatTensor{in, to_nhwc((*photos)[i], m.width, m.height)}});
    QuantizeOptions options;
    options.sensitivity_analysis = false;
    std::fprintf(stderr, "quantizing %s on %zu photos...\n", name.c_str(), calibration.size());
    auto quantized = quantize_model(*m.fp32, calibration, options);
    if (!quantized) {
      std::fprintf(stderr, "fovea-bench core: %s\n", quantized.status().to_string().c_str());
      return 1;
    }
    m.int8 = std::make_shared<Model>(std::move(*quantized));
    m.int8_path = work + "/" + name + "_int8.fvm";
    if (Status s = save_fvm(*m.int8, m.int8_path); !s.is_ok()) {
      std::fprintf(stderr, "fovea-bench core: %s\n", s.to_string().c_str());
      return 1;
    }
    models.push_back(std::move(m));
  }

  // Budget scenarios (children): the first three models, alternately, every frame.
  std::vector<BenchModel> trio(models.begin(), models.begin() + std::min<size_t>(3, models.size()));
  const int frames = std::max(10, runs);
  const std::string photo_path =
      (std::filesystem::path(photos_dir) / (*photos)[calibration_count].name).string();
  auto scenario = [&](const char* kind, std::int64_t cap, bool prefetch = false) {
    std::vector<std::string> args = {"--scenario", kind,
                                     "--cap",      std::to_string(cap),
                                     "--threads",  std::to_string(threads),
                                     "--frames",   std::to_string(frames),
                                     "--photo",    photo_path,
                                     "--prefetch", prefetch ? "1" : "0"};
    for (const BenchModel& m : trio) {
      args.push_back("--item");
      args.push_back(item(m, std::string(kind) == "fovea" ? m.int8_path : m.onnx_path));
    }
    return in_fresh_process(args);
  };
  std::fprintf(stderr, "budget scenarios...\n");
  const ScenarioResult uncapped = scenario("fovea", std::int64_t{1} << 40);
  struct Capped {
    double fraction;
    bool prefetch;  // the context's prefetch worker packs the next model ahead of its run
    std::int64_t cap;
    ScenarioResult result;
  };
  std::vector<Capped> capped;
  if (uncapped.ok)
    for (auto [fraction, prefetch] : {std::pair{0.6, false}, {0.6, true}, {0.4, false}}) {
      const auto cap = static_cast<std::int64_t>(double(uncapped.accounted_peak) * fraction);
      capped.push_back({fraction, prefetch, cap, scenario("fovea", cap, prefetch)});
    }
  const ScenarioResult opencv = scenario("opencv", 0);

  // Per-model speed and fidelity, in this process.
  std::vector<ModelFigures> figures(models.size());
  cv::setNumThreads(threads);
  for (size_t i = 0; i < models.size(); ++i) {
    BenchModel& m = models[i];
    ModelFigures& f = figures[i];
    std::fprintf(stderr, "timing %s...\n", m.name.c_str());
    const std::vector<float> input = to_nhwc((*photos)[calibration_count], m.width, m.height);
    std::vector<float> fovea_out, evaluated;
    const Status measured = measure_fovea(
        m.fp32, m.int8, input,
        [&](int k) -> const std::vector<float>* {
          if (k >= kEvaluationPhotos || calibration_count + k >= photos->size()) return nullptr;
          evaluated = to_nhwc((*photos)[calibration_count + k], m.width, m.height);
          return &evaluated;
        },
        m.outputs, threads, runs, f, &fovea_out);
    if (!measured.is_ok()) {
      std::fprintf(stderr, "fovea-bench core: %s\n", measured.to_string().c_str());
      return 1;
    }
    try {
      cv::dnn::Net net = cv::dnn::readNetFromONNX(m.onnx_path);
      net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net.setInput(to_nchw_blob((*photos)[calibration_count], m.width, m.height));
      std::vector<double> ms;
      cv::Mat out;
      for (int r = 0; r < runs + 3; ++r) {
        const double started = now_ms();
        out = net.forward();
        if (r >= 3) ms.push_back(now_ms() - started);
      }
      f.opencv_fp32_ms = percentile(ms, 0.5);
      // Same file, same photo: the two FP32 runtimes must agree (4-D outputs differ in layout).
      if (static_cast<std::int64_t>(out.total()) == m.outputs && out.dims == 2) {
        double largest = 0, diff = 0;
        for (std::int64_t k = 0; k < m.outputs; ++k) {
          largest = std::max(largest, std::abs(double(out.ptr<float>()[k])));
          diff = std::max(
              diff, std::abs(double(out.ptr<float>()[k]) - fovea_out[static_cast<size_t>(k)]));
        }
        f.opencv_max_relative_difference = diff / std::max(largest, 1e-12);
      }
    } catch (const cv::Exception& e) {
      std::fprintf(stderr, "fovea-bench core: OpenCV DNN cannot run %s: %s\n", m.onnx_path.c_str(),
                   e.what());
      f.opencv_fp32_ms = -1;
    }
  }
  if (work_dir.empty()) std::filesystem::remove_all(work);

  // fovea's own models: the same figures but OpenCV's, on photo pairs.
  std::vector<ModelFigures> flow_figures(flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    std::fprintf(stderr, "timing %s...\n", flows[i].name.c_str());
    auto fp32 = load_fvm(flows[i].fp32_path);
    auto int8 = load_fvm(flows[i].int8_path);
    if (!fp32 || !int8) {
      std::fprintf(stderr, "fovea-bench core: %s\n",
                   (fp32 ? int8.status() : fp32.status()).to_string().c_str());
      return 1;
    }
    const auto fp32_model = std::make_shared<Model>(std::move(*fp32));
    const auto int8_model = std::make_shared<Model>(std::move(*int8));
    const ModelGraph& g = fp32_model->graph;
    const Shape& in = g.tensors[static_cast<size_t>(g.inputs[0])].info.shape;
    const std::int64_t outputs = g.tensors[static_cast<size_t>(g.outputs[0])].info.shape.elements();
    const int width = static_cast<int>(in[2]), height = static_cast<int>(in[1]);
    const auto pair = [&](size_t photo) {
      return to_flow_pair((*photos)[photo], width, height, kFlowShift[0], kFlowShift[1]);
    };
    ModelFigures& f = flow_figures[i];
    f.opencv_fp32_ms = std::nan("");
    std::vector<float> evaluated;
    const Status measured = measure_fovea(
        fp32_model, int8_model, pair(calibration_count),
        [&](int k) -> const std::vector<float>* {
          if (k >= kEvaluationPhotos || calibration_count + k >= photos->size()) return nullptr;
          evaluated = pair(calibration_count + k);
          return &evaluated;
        },
        outputs, threads, runs, f, nullptr);
    if (!measured.is_ok()) {
      std::fprintf(stderr, "fovea-bench core: %s\n", measured.to_string().c_str());
      return 1;
    }
  }

  // ---- report ----
  std::printf(
      "\nINT8: fovea's kernels (AVX-512 VNNI where the CPU has it, else XNNPACK); "
      "int8 xnn = XNNPACK's qc8 for comparison\n");
  std::printf("%-20s %9s %9s %9s %10s %10s %9s %9s %9s %9s\n", "model", "fp32 ms", "int8 ms",
              "int8 xnn", "opencv ms", "fp32/int8", "fp32/xnn", "cv/int8", "cos mean", "cos min");
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelFigures& f = figures[i];
    std::printf("%-20s %9.2f %9.2f %9.2f %10.2f %10.2f %9.2f %9.2f %9.5f %9.5f\n",
                models[i].name.c_str(), f.fp32_ms, f.int8_ms, f.int8_xnnpack_ms, f.opencv_fp32_ms,
                f.fp32_ms / f.int8_ms, f.fp32_ms / f.int8_xnnpack_ms, f.opencv_fp32_ms / f.int8_ms,
                f.cosine_mean, f.cosine_min);
  }
  for (size_t i = 0; i < flows.size(); ++i) {
    const ModelFigures& f = flow_figures[i];
    std::printf("%-20s %9.2f %9.2f %9.2f %10s %10.2f %9.2f %9s %9.5f %9.5f\n",
                flows[i].name.c_str(), f.fp32_ms, f.int8_ms, f.int8_xnnpack_ms, "no onnx",
                f.fp32_ms / f.int8_ms, f.fp32_ms / f.int8_xnnpack_ms, "-", f.cosine_mean,
                f.cosine_min);
  }
  if (!flows.empty())
    std::printf(
        "(%s: fovea's flow model as committed, FP32 and INT8 .fvm; input: each photo and "
        "itself moved by (4, -3) px)\n",
        flows.front().name.c_str());
  std::printf("(fovea FP32 vs OpenCV FP32 on the same file, largest difference / largest output:");
  for (size_t i = 0; i < models.size(); ++i)
    std::printf(" %s %.1e", models[i].name.c_str(), figures[i].opencv_max_relative_difference);
  std::printf(")\n\nthree models alternately every frame (");
  for (const BenchModel& m : trio) std::printf("%s ", m.name.c_str());
  std::printf("), INT8, one budget:\n%-12s %14s %14s %14s %12s %10s %12s %14s\n", "budget",
              "cap bytes", "peak bytes", "RSS growth", "frame ms", "evictions", "allocs/inf",
              "layers remade/frame");
  auto row = [](const char* label, std::int64_t cap, const ScenarioResult& r) {
    if (!r.ok) {
      std::printf("%-12s %14lld  failed: %s\n", label, static_cast<long long>(cap), r.error);
      return;
    }
    std::printf("%-12s %14lld %14lld %14lld %12.2f %10lld %12.2f %14.1f\n", label,
                static_cast<long long>(cap), static_cast<long long>(r.accounted_peak),
                static_cast<long long>(r.rss_growth), r.median_frame_ms,
                static_cast<long long>(r.evictions), r.allocations_per_inference,
                r.layers_remade_per_frame);
  };
  row("uncapped", 0, uncapped);
  auto parts = [](const ScenarioResult& r) {
    if (r.ok)
      std::printf(
          "%-12s re-made %.2f MB per frame; RSS parts after frames, largest growth: "
          "anonymous %lld, mapped files %lld\n",
          "", r.bytes_remade_per_frame / 1e6, static_cast<long long>(r.anonymous_growth),
          static_cast<long long>(r.file_growth));
  };
  parts(uncapped);
  for (const Capped& c : capped) {
    char label[32];
    std::snprintf(label, sizeof label, "%.0f%%%s", c.fraction * 100, c.prefetch ? " +worker" : "");
    row(label, c.cap, c.result);
    parts(c.result);
    if (c.result.ok && uncapped.ok)
      std::printf("%-12s latency %+.1f%% vs uncapped; RSS growth - cap = %lld bytes\n", "",
                  100.0 * (c.result.median_frame_ms / uncapped.median_frame_ms - 1.0),
                  static_cast<long long>(c.result.rss_growth - c.cap));
  }
  if (opencv.ok)
    std::printf("%-12s %14s %14s %14lld %12.2f  (three independent OpenCV DNN nets, FP32)\n",
                "opencv", "-", "-", static_cast<long long>(opencv.rss_growth),
                opencv.median_frame_ms);
  else
    std::printf("opencv: failed: %s\n", opencv.error);
  if (opencv.ok && uncapped.ok) {
    const ScenarioResult& shared =
        capped.empty() || !capped[0].result.ok ? uncapped : capped[0].result;
    std::printf("shared-budget RSS peak vs three OpenCV nets: %.1f%% lower\n",
                100.0 * (1.0 - double(shared.rss_growth) / double(opencv.rss_growth)));
  }

  if (!json_path.empty()) {
    JsonWriter json;
    json.begin_object().key("models").begin_array();
    for (size_t i = 0; i < models.size(); ++i) {
      json.begin_object().key("name").value(models[i].name);
      json.key("fp32_ms").value(figures[i].fp32_ms).key("int8_ms").value(figures[i].int8_ms);
      json.key("int8_xnnpack_ms").value(figures[i].int8_xnnpack_ms);
      json.key("opencv_fp32_ms").value(figures[i].opencv_fp32_ms);
      json.key("cosine")
          .value(figures[i].cosine_mean)
          .key("cosine_min")
          .value(figures[i].cosine_min);
      json.end_object();
    }
    for (size_t i = 0; i < flows.size(); ++i) {
      const ModelFigures& f = flow_figures[i];
      json.begin_object().key("name").value(flows[i].name);
      json.key("fp32_ms").value(f.fp32_ms).key("int8_ms").value(f.int8_ms);
      json.key("int8_xnnpack_ms").value(f.int8_xnnpack_ms);
      json.key("opencv_fp32_ms").value(f.opencv_fp32_ms);  // NaN: null, no ONNX form
      json.key("cosine").value(f.cosine_mean).key("cosine_min").value(f.cosine_min);
      json.end_object();
    }
    json.end_array().key("budget").begin_array();
    for (const Capped& c : capped) {
      json.begin_object().key("fraction").value(c.fraction).key("budget_bytes").value(c.cap);
      json.key("prefetch_worker").value(c.prefetch);
      json.key("ok").value(c.result.ok);
      json.key("peak_bytes").value(c.result.accounted_peak);
      json.key("rss_growth_bytes").value(c.result.rss_growth);
      json.key("median_ms").value(c.result.median_frame_ms);
      json.key("uncapped_median_ms").value(uncapped.median_frame_ms);
      json.end_object();
    }
    json.end_array();
    json.key("allocations_per_inference").value(uncapped.allocations_per_inference);
    json.key("shared_peak_bytes")
        .value(capped.empty() ? uncapped.rss_growth : capped[0].result.rss_growth);
    json.key("uncapped_shared_peak_bytes").value(uncapped.rss_growth);
    json.key("opencv_independent_peak_bytes").value(opencv.rss_growth);
    json.end_object();
    if (Status s = json.write_file(json_path); !s.is_ok()) {
      std::fprintf(stderr, "fovea-bench core: %s\n", s.to_string().c_str());
      return 1;
    }
    std::printf("wrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace fovea::bench

int main(int argc, char** argv) {
  return fovea::bench::run(argc, argv);
}
