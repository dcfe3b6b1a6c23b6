#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../../vision/src/dis_calc.h"
#include "fovea/core/compiled_model.h"
#include "fovea/core/graph_builder.h"
#include "fovea/core/onnx_import.h"
#include "fovea/vision/flow_metrics.h"
#include "fovea/vision/learned_optical_flow.h"
#include "fovea/vision/synthetic_flow.h"
#include "support/op_fixture.h"
#include "support/test_models.h"

namespace fovea::vision {
namespace {

namespace fs = std::filesystem;

// tests/reference/make_flow_fixture.py: models/flow's network with fixed random weights at
// 64x128, and PyTorch's output for one pair.
const std::string kTinyModel = std::string(FOVEA_FIXTURE_DIR) + "/flow_tiny_fp32.fvm";

struct TinyPair {
  cv::Mat frame1, frame2;  // CV_8UC1 64x128
  cv::Mat flow;            // CV_32FC2 16x32: PyTorch's output
};

TinyPair tiny_pair() {
  const auto cases = testing::load_fixture("flow_tiny");
  const testing::FixtureCase& c = cases.at("pair");
  TinyPair pair;
  for (auto [name, frame] : {std::pair{"frame1", &pair.frame1}, {"frame2", &pair.frame2}}) {
    const testing::FixtureArray& grey = c.at(name);
    REQUIRE(grey.shape == (Shape{64, 128}));
    frame->create(64, 128, CV_8UC1);
    for (int i = 0; i < 64 * 128; ++i)
      frame->data[i] = static_cast<std::uint8_t>(grey.i32[static_cast<std::size_t>(i)]);
  }
  const testing::FixtureArray& flow = c.at("flow");
  REQUIRE(flow.shape == (Shape{1, 16, 32, 2}));
  pair.flow = cv::Mat(16, 32, CV_32FC2, const_cast<float*>(flow.f32.data())).clone();
  return pair;
}

// The network's input as LearnedOpticalFlow packs it: (g1/255, g2/255, 0).
std::vector<float> pack(const cv::Mat& grey1, const cv::Mat& grey2) {
  std::vector<float> input(grey1.total() * 3, 0.0f);
  for (std::size_t i = 0; i < grey1.total(); ++i) {
    input[3 * i] = float(grey1.data[i]) / 255.0f;
    input[3 * i + 1] = float(grey2.data[i]) / 255.0f;
  }
  return input;
}

// Runs the tiny model on the core directly: [16,32,2] flow.
cv::Mat run_on_core(const cv::Mat& grey1, const cv::Mat& grey2, int threads) {
  auto model = load_fvm(kTinyModel);
  REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
  auto context = InferenceContext::create(std::int64_t{256} << 20, threads);
  REQUIRE(context.is_ok());
  auto compiled = CompiledModel::create(**context, std::make_shared<Model>(std::move(*model)));
  REQUIRE_MESSAGE(compiled.is_ok(), compiled.status().to_string());
  const std::vector<float> input = pack(grey1, grey2);
  cv::Mat flow(16, 32, CV_32FC2);
  const std::span<const std::uint8_t> in[] = {
      {reinterpret_cast<const std::uint8_t*>(input.data()), input.size() * 4}};
  const std::span<std::uint8_t> out[] = {{flow.data, flow.total() * flow.elemSize()}};
  const Status ran = (*compiled)->run(in, out);
  REQUIRE_MESSAGE(ran.is_ok(), ran.to_string());
  return flow;
}

// Every value within 1e-4 of the reference, relative where the reference is above 1.
void check_close(const cv::Mat& got, const cv::Mat& want, double tolerance = 1e-4) {
  REQUIRE(got.size() == want.size());
  REQUIRE(got.type() == want.type());
  const cv::Mat a = got.reshape(1), b = want.reshape(1);
  double worst = 0.0;
  int bad = 0;
  for (int y = 0; y < a.rows; ++y)
    for (int x = 0; x < a.cols; ++x) {
      const double g = a.at<float>(y, x), w = b.at<float>(y, x);
      const double allowed = tolerance * std::max(1.0, std::abs(w));
      worst = std::max(worst, std::abs(g - w) / allowed);
      if (!(std::abs(g - w) <= allowed)) ++bad;
    }
  CHECK_MESSAGE(bad == 0, bad << " values off; worst at " << worst << "x the tolerance");
}

// The network's flow alone, unless a test asks for a refinement.
LearnedOpticalFlow::Options options_named(const std::string& name) {
  LearnedOpticalFlow::Options options;
  options.name = name;
  options.refine = FlowRefinement::kNone;
  return options;
}

std::unique_ptr<LearnedOpticalFlow> load_tiny(
    LearnedOpticalFlow::Options options = options_named("tiny")) {
  auto flow = LearnedOpticalFlow::load(kTinyModel, options);
  REQUIRE_MESSAGE(flow.is_ok(), flow.status().to_string());
  return std::move(*flow);
}

fs::path output_dir() {
  const fs::path dir = fs::path(FOVEA_TEST_OUTPUT_DIR) / "learned_flow";
  fs::create_directories(dir);
  return dir;
}

// input [1,h,w,3] -> conv k x k, stride k, to 2 channels: a model of the flow contract's shape
// when k is 4 and h, w are multiples of 32, of a wrong one otherwise.
std::shared_ptr<Model> strided_model(int h, int w, int k) {
  auto model = std::make_shared<Model>();
  GraphBuilder b(*model);
  const int x = b.input("pair", DataType::kFloat32, Shape{1, h, w, 3});
  std::vector<float> weights(static_cast<std::size_t>(2 * k * k * 3), 0.01f);
  std::vector<float> bias{0.5f, -0.25f};
  OpAttributes conv;
  conv.kernel_h = conv.kernel_w = conv.stride_h = conv.stride_w = k;
  auto y = b.node(
      "conv", OpType::kConv2d,
      {x, b.constant_f32("w", Shape{2, k, k, 3}, weights), b.constant_f32("b", Shape{2}, bias)},
      conv);
  REQUIRE(y.is_ok());
  b.output(*y);
  return model;
}

TEST_CASE("the FP32 flow model in the core matches PyTorch on the same weights") {
  // The reference check: every output value of the .fvm run by the core's executor
  // against the PyTorch module's, at 1 and 2 threads.
  const TinyPair pair = tiny_pair();
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    check_close(run_on_core(pair.frame1, pair.frame2, threads), pair.flow);
  }
}

TEST_CASE("LearnedOpticalFlow at the model's size is the network's flow upsampled") {
  const TinyPair pair = tiny_pair();
  auto flow = load_tiny();
  CHECK(flow->name() == "tiny");
  CHECK(flow->model_width() == 128);
  CHECK(flow->model_height() == 64);
  CHECK(flow->min_side() == 32);
  auto field = flow->compute(pair.frame1, pair.frame2);
  REQUIRE_MESSAGE(field.is_ok(), field.status().to_string());
  CHECK(field->flow.type() == CV_32FC2);
  CHECK(field->confidence.empty());
  cv::Mat want;
  cv::resize(pair.flow, want, {128, 64}, 0, 0, cv::INTER_LINEAR);
  check_close(field->flow, want);

  // BGR frames of the same grey give the same flow (BGR2GRAY's weights sum to one exactly).
  cv::Mat bgr1, bgr2;
  cv::cvtColor(pair.frame1, bgr1, cv::COLOR_GRAY2BGR);
  cv::cvtColor(pair.frame2, bgr2, cv::COLOR_GRAY2BGR);
  auto from_bgr = flow->compute(bgr1, bgr2);
  REQUIRE(from_bgr.is_ok());
  CHECK(cv::norm(from_bgr->flow, field->flow, cv::NORM_INF) == 0.0);

  // The returned flow is the caller's: the next call does not write into it.
  const cv::Mat kept = field->flow.clone();
  auto swapped = flow->compute(pair.frame2, pair.frame1);
  REQUIRE(swapped.is_ok());
  CHECK(cv::norm(kept, field->flow, cv::NORM_INF) == 0.0);
  CHECK(cv::norm(swapped->flow, field->flow, cv::NORM_INF) > 0.1);
}

TEST_CASE("LearnedOpticalFlow resizes other frame sizes and rescales dx and dy apart") {
  // 256x96 frames: the network sees them at 128x64, so its dx is in pixels half as wide as the
  // frame's and its dy in pixels 2/3 as tall.
  const TinyPair pair = tiny_pair();
  cv::Mat big1, big2, small1, small2;
  cv::resize(pair.frame1, big1, {256, 96}, 0, 0, cv::INTER_CUBIC);
  cv::resize(pair.frame2, big2, {256, 96}, 0, 0, cv::INTER_CUBIC);
  cv::resize(big1, small1, {128, 64}, 0, 0, cv::INTER_LINEAR);
  cv::resize(big2, small2, {128, 64}, 0, 0, cv::INTER_LINEAR);
  cv::Mat want;
  cv::resize(run_on_core(small1, small2, 1), want, {256, 96}, 0, 0, cv::INTER_LINEAR);
  for (int y = 0; y < want.rows; ++y)
    for (int x = 0; x < want.cols; ++x) {
      want.at<cv::Vec2f>(y, x)[0] *= 2.0f;
      want.at<cv::Vec2f>(y, x)[1] *= 1.5f;
    }

  auto flow = load_tiny();
  auto field = flow->compute(big1, big2);
  REQUIRE_MESSAGE(field.is_ok(), field.status().to_string());
  CHECK(field->flow.size() == cv::Size(256, 96));
  check_close(field->flow, want);

  // A ROI (rows not continuous) and a second size on the same instance work too.
  const cv::Rect inner(16, 8, 200, 80);
  auto roi = flow->compute(big1(inner), big2(inner));
  REQUIRE_MESSAGE(roi.is_ok(), roi.status().to_string());
  CHECK(roi->flow.size() == inner.size());
  auto again = flow->compute(big1, big2);
  REQUIRE(again.is_ok());
  CHECK(cv::norm(again->flow, field->flow, cv::NORM_INF) == 0.0);
}

TEST_CASE("LearnedOpticalFlow gives the same flow at any thread count and on a shared context") {
  const TinyPair pair = tiny_pair();
  auto flow = load_tiny();
  auto one = flow->compute(pair.frame1, pair.frame2);
  REQUIRE(one.is_ok());
  for (int threads : {2, 1, 2, 0}) {
    CAPTURE(threads);
    flow->set_threads(threads);
    auto threaded = flow->compute(pair.frame1, pair.frame2);
    REQUIRE_MESSAGE(threaded.is_ok(), threaded.status().to_string());
    CHECK(cv::norm(threaded->flow, one->flow, cv::NORM_INF) < 1e-4);
  }

  // Two flows on one context: one budget holds both, and both run.
  auto context = InferenceContext::create(std::int64_t{256} << 20, 2);
  REQUIRE(context.is_ok());
  LearnedOpticalFlow::Options shared = options_named("shared");
  shared.context = context->get();
  auto a = load_tiny(shared);
  auto b = load_tiny(shared);
  for (LearnedOpticalFlow* f : {a.get(), b.get()}) {
    auto field = f->compute(pair.frame1, pair.frame2);
    REQUIRE_MESSAGE(field.is_ok(), field.status().to_string());
    CHECK(cv::norm(field->flow, one->flow, cv::NORM_INF) < 1e-4);
  }
  CHECK((*context)->budget().current_bytes() > 0);
  // Steady state: another pair takes nothing more from the budget.
  const std::int64_t allocations = (*context)->budget().allocation_count();
  REQUIRE(a->compute(pair.frame2, pair.frame1).is_ok());
  CHECK((*context)->budget().allocation_count() == allocations);
  a.reset();
  b.reset();
}

TEST_CASE("LearnedOpticalFlow's adaptive threading: the second run goes alone, the flow the same") {
  const TinyPair pair = tiny_pair();
  LearnedOpticalFlow::Options options = options_named("adaptive");
  options.threads = 2;
  auto adaptive = load_tiny(options);
  options.adaptive_threads = false;
  auto fixed = load_tiny(options);
  auto want = fixed->compute(pair.frame1, pair.frame2);
  REQUIRE(want.is_ok());
  CHECK(fixed->last_run_used_pool());
  for (int run = 0; run < 3; ++run) {
    CAPTURE(run);
    auto got = adaptive->compute(pair.frame1, pair.frame2);
    REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
    CHECK(cv::norm(got->flow, want->flow, cv::NORM_INF) < 1e-4);
    // Run 1 warms up on the pool; run 2 measures running alone (parallelism_chooser.h).
    if (run < 2) CHECK(adaptive->last_run_used_pool() == (run == 0));
    REQUIRE(fixed->compute(pair.frame1, pair.frame2).is_ok());
    CHECK(fixed->last_run_used_pool());
  }
}

TEST_CASE("LearnedOpticalFlow refuses missing, damaged and wrong models with clear errors") {
  auto options = options_named("fovea_fp32");

  auto missing = LearnedOpticalFlow::load((output_dir() / "no_such_model.fvm").string(), options);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("no_such_model.fvm") != std::string::npos);
  CHECK(missing.status().message().find("fovea_fp32") != std::string::npos);

  // The tiny model cut short.
  std::ifstream in(kTinyModel, std::ios::binary);
  const std::vector<char> whole((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(whole.size() > 4096);
  const fs::path truncated = output_dir() / "truncated.fvm";
  for (std::size_t keep : {whole.size() / 2, std::size_t{100}, std::size_t{0}}) {
    CAPTURE(keep);
    {
      std::ofstream out(truncated, std::ios::binary | std::ios::trunc);
      out.write(whole.data(), static_cast<std::streamsize>(keep));
    }
    auto cut = LearnedOpticalFlow::load(truncated.string(), options);
    REQUIRE_FALSE(cut.is_ok());
    CHECK(cut.status().code() == ErrorCode::kCorruptData);
    CHECK(cut.status().message().find("truncated.fvm") != std::string::npos);
  }

  // A classifier: MobileNetV2 (the ONNX test fixture), saved as .fvm.
  auto mobilenet = import_onnx(std::string(FOVEA_FIXTURE_DIR) + "/onnx_mobilenetv2_035.onnx");
  REQUIRE_MESSAGE(mobilenet.is_ok(), mobilenet.status().to_string());
  const fs::path mobilenet_path = output_dir() / "mobilenet.fvm";
  REQUIRE(save_fvm(*mobilenet, mobilenet_path.string()).is_ok());
  auto classifier = LearnedOpticalFlow::load(mobilenet_path.string(), options);
  REQUIRE_FALSE(classifier.is_ok());
  CHECK(classifier.status().code() == ErrorCode::kInvalidArgument);
  CHECK(classifier.status().message().find("not a fovea flow model") != std::string::npos);
  CHECK(classifier.status().message().find("mobilenet.fvm") != std::string::npos);

  // Shapes built here: the right contract loads; a wrong output or input size does not.
  auto right = LearnedOpticalFlow::create(strided_model(64, 96, 4), options);
  CHECK_MESSAGE(right.is_ok(), right.status().to_string());
  struct Wrong {
    std::shared_ptr<Model> model;
    const char* says;
  };
  for (const Wrong& wrong : {Wrong{strided_model(64, 96, 2), "output"},  // 1/2, not 1/4
                             Wrong{strided_model(48, 96, 4), "input"},   // 48 rows
                             Wrong{testing::residual_model("cls", 8, 0.f), "input"}}) {
    auto made = LearnedOpticalFlow::create(wrong.model, options, "built");
    REQUIRE_FALSE(made.is_ok());
    CHECK(made.status().code() == ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(made.status().message().find(wrong.says) != std::string::npos,
                  made.status().message());
  }
  CHECK_FALSE(LearnedOpticalFlow::create(nullptr, options).is_ok());
  options.threads = 0;
  CHECK(LearnedOpticalFlow::create(strided_model(64, 96, 4), options).status().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("LearnedOpticalFlow refuses frames that OpticalFlow's validation refuses") {
  auto flow = load_tiny();
  const cv::Mat a(64, 96, CV_8UC1, cv::Scalar(10)), b(64, 80, CV_8UC1, cv::Scalar(10));
  auto refused = [&](const cv::Mat& f1, const cv::Mat& f2) {
    auto field = flow->compute(f1, f2);
    return !field.is_ok() && field.status().code() == ErrorCode::kInvalidArgument &&
           field.status().message().find("tiny") != std::string::npos;
  };
  CHECK(refused(a, b));                                                // sizes differ
  CHECK(refused(a, cv::Mat()));                                        // empty
  CHECK(refused(cv::Mat(1, 1, CV_8UC1), cv::Mat(1, 1, CV_8UC1)));      // 1x1
  CHECK(refused(cv::Mat(31, 64, CV_8UC1), cv::Mat(31, 64, CV_8UC1)));  // below min_side
  CHECK(refused(a, cv::Mat(64, 96, CV_8UC3)));                         // types differ
  CHECK(refused(cv::Mat(64, 96, CV_32FC1), cv::Mat(64, 96, CV_32FC1)));
  CHECK(flow->compute(a, a).is_ok());  // and it still works after refusing
}

// The tiny random network's flow and the same network's flow refined by `refine`, on a 160x120
// pair shifted by (3, -2); the refined run is made twice, which must give the same flow (no
// warm start from the previous call).
struct RefinedFlows {
  SyntheticFlowPair pair;
  cv::Mat net, refined;
  double mean_l1(const cv::Mat& a, const cv::Mat& b) const {
    return cv::norm(a, b, cv::NORM_L1) / double(pair.frame1.total());
  }
};

RefinedFlows refine_tiny(FlowRefinement refine, const std::string& name) {
  RefinedFlows out{make_translated_pair({160, 120}, {3.0f, -2.0f}), {}, {}};
  auto options = options_named(name);
  options.refine = refine;
  auto plain = load_tiny();
  auto refined = load_tiny(options);
  auto net = plain->compute(out.pair.frame1, out.pair.frame2);
  auto first = refined->compute(out.pair.frame1, out.pair.frame2);
  auto again = refined->compute(out.pair.frame1, out.pair.frame2);
  REQUIRE(net.is_ok());
  REQUIRE_MESSAGE(first.is_ok(), first.status().to_string());
  REQUIRE(again.is_ok());
  REQUIRE(first->flow.size() == out.pair.frame1.size());
  CHECK(cv::norm(again->flow, first->flow, cv::NORM_INF) == 0.0);
  out.net = net->flow;
  out.refined = first->flow;
  return out;
}

TEST_CASE("LearnedOpticalFlow with DIS refinement starts DIS from the network's flow") {
  const RefinedFlows run = refine_tiny(FlowRefinement::kDisFast, "tiny_dis");
  // The random network's flow is 10-60 px off: DIS keeps its own estimate where that matches
  // better, so the result moves far from the start. (That the start is used shows on the
  // committed model, below.)
  CHECK(run.mean_l1(run.refined, run.net) > 1.0);

  // Frames too small for DIS's pyramid are padded for it, flow included (OpenCV 4.6 would
  // throw or crash on these); the variational refinement takes them too.
  for (FlowRefinement refine :
       {FlowRefinement::kDisUltrafast, FlowRefinement::kDisFast, FlowRefinement::kVariational,
        FlowRefinement::kPatchSearch, FlowRefinement::kPatchSearchVariational}) {
    auto options = options_named("tiny_small_frames");
    options.refine = refine;
    auto small = load_tiny(options);
    for (cv::Size size : {cv::Size(32, 32), cv::Size(300, 32), cv::Size(40, 200)}) {
      CAPTURE(size);
      const SyntheticFlowPair tiny = make_translated_pair(size, {1.0f, 0.5f});
      auto field = small->compute(tiny.frame1, tiny.frame2);
      REQUIRE_MESSAGE(field.is_ok(), field.status().to_string());
      CHECK(field->flow.size() == size);
    }
  }
}

// How far a refinement moved the tiny network's flow, and how far that flow was from the truth
// (mean L1, px).
struct Moved {
  double moved, start_error;
};

Moved refinement_moved(FlowRefinement refine, const std::string& name, const char* what) {
  const RefinedFlows run = refine_tiny(refine, name);
  const Moved m{run.mean_l1(run.refined, run.net), run.mean_l1(run.net, run.pair.flow)};
  MESSAGE(what << " moved the random network's flow by " << m.moved << " px (mean L1) from "
               << m.start_error << " px off the truth");
  return m;
}

TEST_CASE("LearnedOpticalFlow refines by patch inverse search unless told otherwise") {
  CHECK(LearnedOpticalFlow::Options{}.refine == FlowRefinement::kPatchSearch);
  {
    // The search's confidence comes with the flow, at the frame's size.
    const SyntheticFlowPair pair = make_translated_pair({160, 120}, {3.0f, -2.0f});
    auto options = options_named("tiny_ps_confidence");
    options.refine = FlowRefinement::kPatchSearch;
    auto field = load_tiny(options)->compute(pair.frame1, pair.frame2);
    REQUIRE(field.is_ok());
    REQUIRE(field->confidence.type() == CV_32FC1);
    CHECK(field->confidence.size() == pair.frame1.size());
    auto plain = load_tiny()->compute(pair.frame1, pair.frame2);
    REQUIRE(plain.is_ok());
    CHECK(plain->confidence.empty());  // the network alone gives none
  }
  const Moved m = refinement_moved(FlowRefinement::kPatchSearch, "tiny_ps", "patch inverse search");
  // The search moves each patch at most 8 px at half resolution (16 px here) before it gives
  // up and keeps the start: from tens of px off it cannot find the truth, only polish.
  CHECK(m.moved > 0.0);
  CHECK(m.moved < m.start_error);
}

TEST_CASE("LearnedOpticalFlow with variational refinement polishes the network's flow in place") {
  const Moved m =
      refinement_moved(FlowRefinement::kVariational, "tiny_vr", "variational refinement");
  // It changes the flow, but locally: the random network's flow is tens of px off, and unlike
  // DIS (above) the refinement has no search that could replace it by the true motion.
  CHECK(m.moved > 0.0);
  CHECK(m.moved < 0.25 * m.start_error);
}

// The committed model (models/flow/), when the training has produced it.
std::unique_ptr<LearnedOpticalFlow> committed(const std::string& file, FlowRefinement refine) {
  const std::string path = std::string(FOVEA_MODELS_DIR) + "/flow/" + file;
  if (!fs::exists(path)) return nullptr;
  LearnedOpticalFlow::Options options = options_named(file);
  options.threads = 2;
  options.refine = refine;
  auto flow = LearnedOpticalFlow::load(path, options);
  REQUIRE_MESSAGE(flow.is_ok(), flow.status().to_string());
  return std::move(*flow);
}

const char* refinement_name(FlowRefinement refine) {
  switch (refine) {
    case FlowRefinement::kNone:
      return "";
    case FlowRefinement::kDisUltrafast:
      return " + DIS ultrafast";
    case FlowRefinement::kDisFast:
      return " + DIS fast";
    case FlowRefinement::kVariational:
      return " + variational refinement";
    case FlowRefinement::kPatchSearch:
      return " + patch inverse search";
    case FlowRefinement::kPatchSearchVariational:
      return " + patch inverse search + variational refinement";
  }
  return "";
}

double epe(LearnedOpticalFlow& flow, const SyntheticFlowPair& pair) {
  auto field = flow.compute(pair.frame1, pair.frame2);
  REQUIRE_MESSAGE(field.is_ok(), field.status().to_string());
  REQUIRE(field->flow.size() == pair.frame1.size());
  auto error = flow_error(field->flow, pair.flow);
  REQUIRE(error.is_ok());
  return error->epe;
}

TEST_CASE("the committed flow models recover synthetic translations and rotations") {
  // 256x128 frames, stretched to the model's 1024x448: the network sees these motions 4x wider
  // and 3.5x taller.
  const SyntheticFlowPair shifted = make_translated_pair({256, 128}, {3.0f, -2.0f});
  const SyntheticFlowPair turned = make_rotated_pair({256, 128}, 3.0f);
  for (const SyntheticFlowPair* pair : {&shifted, &turned}) {
    auto zero = flow_error(cv::Mat::zeros(pair->flow.size(), CV_32FC2), pair->flow);
    REQUIRE(zero.is_ok());
    CHECK(zero->epe > 3.5);
  }
  // Measured with the models committed in session 5 (37,964 training steps, INT8 Correlation;
  // translation / rotation EPE, px): INT8 0.158 / 0.177, FP32 0.115 / 0.139, INT8 + DIS fast
  // 0.039 / 0.304, INT8 + variational refinement 0.106 / 0.250; with the patch inverse search
  // (session 6) INT8 0.068 / 0.181, FP32 0.067 / 0.181, INT8 + patch search + variational
  // refinement 0.039 / 0.251. Bounds about 2.5x that, so a
  // retrained model of the same quality passes, while a broken wrapper (dx and dy swapped or not
  // rescaled, frames swapped, a wrong normalisation) is far outside: zero flow's EPE is 3.6 and
  // 4.0 px on these pairs.
  struct Bound {
    std::string file;
    FlowRefinement refine;
    double translation, rotation;
  };
  for (const Bound& bound :
       {Bound{"flow_int8.fvm", FlowRefinement::kNone, 0.4, 0.45},
        Bound{"flow_fp32.fvm", FlowRefinement::kNone, 0.3, 0.36},
        Bound{"flow_int8.fvm", FlowRefinement::kDisFast, 0.1, 0.8},
        Bound{"flow_int8.fvm", FlowRefinement::kVariational, 0.25, 0.6},
        Bound{"flow_int8.fvm", FlowRefinement::kPatchSearch, 0.17, 0.45},
        Bound{"flow_fp32.fvm", FlowRefinement::kPatchSearch, 0.17, 0.45},
        Bound{"flow_int8.fvm", FlowRefinement::kPatchSearchVariational, 0.1, 0.63}}) {
    CAPTURE(bound.file);
    auto flow = committed(bound.file, bound.refine);
    if (!flow) {
      MESSAGE("skipped: models/flow/" << bound.file << " is not there (the GPU training makes it)");
      continue;
    }
    const double shift_epe = epe(*flow, shifted), turn_epe = epe(*flow, turned);
    MESSAGE(bound.file << std::string(refinement_name(bound.refine)) << " EPE: translation "
                       << shift_epe << " px, rotation " << turn_epe << " px");
    CHECK(shift_epe < bound.translation);
    CHECK(turn_epe < bound.rotation);
  }
}

TEST_CASE("the refinement's DIS call starts from the flow it is given") {
  // A 40 px shift at 256x128 is beyond DIS fast's coarse-to-fine reach on its own; started from
  // the true flow it stays there (measured: 38.6 px EPE from zero, 0.71 from the truth). Also
  // through the padding path, on frames too small for the preset's pyramid (60x20, 16 px:
  // 16.9 and 0.78).
  for (cv::Size size : {cv::Size(256, 128), cv::Size(60, 20)}) {
    CAPTURE(size);
    const bool small = size.height < 32;
    const SyntheticFlowPair pair =
        make_translated_pair(size, small ? cv::Point2f(16, -5) : cv::Point2f(40, -25));
    cv::Mat gray1, gray2;
    cv::cvtColor(pair.frame1, gray1, cv::COLOR_BGR2GRAY);
    cv::cvtColor(pair.frame2, gray2, cv::COLOR_BGR2GRAY);
    auto dis = detail::make_dis(DisPreset::kFast);
    detail::DisPadding padding;
    const cv::Mat from_zero = detail::dis_calc(*dis, gray1, gray2, cv::Mat(), padding);
    const cv::Mat from_truth = detail::dis_calc(*dis, gray1, gray2, pair.flow, padding);
    REQUIRE(from_truth.size() == size);
    const double zero_epe = flow_error(from_zero, pair.flow)->epe;
    const double truth_epe = flow_error(from_truth, pair.flow)->epe;
    MESSAGE("DIS fast EPE from zero " << zero_epe << ", from the true flow " << truth_epe);
    CHECK(truth_epe < 0.5 * zero_epe);
    CHECK(truth_epe < (small ? 2.0 : 1.5));
  }
}

}  // namespace
}  // namespace fovea::vision
