#include "fovea/vision/learned_optical_flow.h"

#include "fovea/vision/patch_inverse_search.h"

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

#include <pthreadpool.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "dis_calc.h"

namespace fovea::vision {
namespace {

// The network's input and output are at 1/1 and 1/4 of W x H; its coarsest level is 1/32.
constexpr int kInputStride = 32;
constexpr int kOutputStride = 4;

std::string shape_error(const std::string& what) {
  return "not a fovea flow model: " + what +
         " (expected one input [1,H,W,3] float with H and W multiples of 32 and one output "
         "[1,H/4,W/4,2] float; see models/flow/README.md)";
}

// Flow measured in one grid's pixels, to another's: x by sx, y by sy, in place.
void scale_flow(cv::Mat& flow, float sx, float sy) {
  if (sx == 1.0f && sy == 1.0f) return;
  for (int y = 0; y < flow.rows; ++y) {
    float* row = flow.ptr<float>(y);
    for (int x = 0; x < flow.cols; ++x) {
      row[2 * x] *= sx;
      row[2 * x + 1] *= sy;
    }
  }
}

// body(begin, end) over [0, count) on the inference core's pool (null: the calling thread). The
// workers are sent to sleep after each call, so they do not spin while OpenCV's threads resize.
ParallelFor on_pool(pthreadpool_t pool) {
  return [pool](int count, const std::function<void(int, int)>& body) {
    const std::size_t threads = pool != nullptr ? pthreadpool_get_threads_count(pool) : 1;
    const std::size_t tile = std::max<std::size_t>(1, std::size_t(count) / (threads * 4));
    pthreadpool_parallelize_1d_tile_1d(
        pool,
        [](void* context, std::size_t start, std::size_t size) {
          (*static_cast<const std::function<void(int, int)>*>(context))(
              static_cast<int>(start), static_cast<int>(start + size));
        },
        const_cast<std::function<void(int, int)>*>(&body), std::size_t(count), tile,
        PTHREADPOOL_FLAG_YIELD_WORKERS);
  };
}

// The variational refinement's grid: a quarter of the frame, rounded.
cv::Size quarter_size(cv::Size frame) {
  return {std::max(1, (frame.width + 2) / 4), std::max(1, (frame.height + 2) / 4)};
}

}  // namespace

Status check_flow_model(const Model& model) {
  const ModelGraph& graph = model.graph;
  if (graph.inputs.size() != 1 || graph.outputs.size() != 1)
    return Status(ErrorCode::kInvalidArgument,
                  shape_error("it has " + std::to_string(graph.inputs.size()) + " inputs and " +
                              std::to_string(graph.outputs.size()) + " outputs"));
  auto tensor = [&](int index) -> const TensorInfo* {
    if (index < 0 || index >= static_cast<int>(graph.tensors.size())) return nullptr;
    return &graph.tensors[static_cast<std::size_t>(index)].info;
  };
  const TensorInfo* input = tensor(graph.inputs[0]);
  const TensorInfo* output = tensor(graph.outputs[0]);
  if (input == nullptr || output == nullptr)
    return Status(ErrorCode::kInvalidArgument, shape_error("its input or output is not a tensor"));
  auto describe = [](const TensorInfo& info) {
    return "'" + info.name + "' " + info.shape.to_string() + " " + data_type_name(info.type) +
           (info.quantization.is_quantized() ? " (quantized)" : "");
  };
  const Shape& in = input->shape;
  const bool input_ok = input->type == DataType::kFloat32 && !input->quantization.is_quantized() &&
                        in.rank == 4 && in[0] == 1 && in[3] == 3 && in[1] >= kInputStride &&
                        in[2] >= kInputStride && in[1] % kInputStride == 0 &&
                        in[2] % kInputStride == 0;
  if (!input_ok)
    return Status(ErrorCode::kInvalidArgument, shape_error("input " + describe(*input)));
  const Shape expected{1, in[1] / kOutputStride, in[2] / kOutputStride, 2};
  if (output->type != DataType::kFloat32 || output->quantization.is_quantized() ||
      !(output->shape == expected))
    return Status(ErrorCode::kInvalidArgument,
                  shape_error("output " + describe(*output) + " for input " + in.to_string() +
                              ", expected " + expected.to_string()));
  return Status::ok();
}

struct LearnedOpticalFlow::State {
  // One compiled model per inference thread count (set_threads may alternate). With a shared
  // context there is exactly one, on it. Members in this order so that the compiled model is
  // destroyed before the context it is bound to.
  struct Engine {
    int threads = 0;
    std::unique_ptr<InferenceContext> own_context;
    std::unique_ptr<CompiledModel> compiled;
  };

  std::shared_ptr<const Model> model;
  Options options;
  int width = 0, height = 0;  // the network's input
  bool last_run_pooled = false;
  std::vector<Engine> engines;

  // Reused between calls: same-size frames reallocate none of them.
  cv::Mat gray1, gray2, small1, small2;
  std::vector<float> input;   // [H,W,3]; channel 2 stays 0
  std::vector<float> output;  // [H/4,W/4,2]

  cv::Ptr<cv::DISOpticalFlow> dis;  // null without DIS refinement
  detail::DisPadding padding;
  cv::Ptr<cv::VariationalRefinement> variational;    // null without variational refinement
  cv::Mat quarter1, quarter2, quarter_flow;          // frames and flow at a quarter of the frame
  std::unique_ptr<PatchInverseSearch> patch_search;  // null without the patch search
  cv::Mat half1, half2, half_flow;                   // frames and flow at half the frame
  cv::Mat half_confidence;                           // the search's, at half the frame

  // OpenCV's variational refinement of `flow` (any grid; times (qx, qy) it is in pixels of
  // `refine_size`, a quarter of the frame), resized there with `interpolation`. The result, in
  // refine_size's pixels, is left in quarter_flow.
  void refine_variational(const cv::Mat& grey1, const cv::Mat& grey2, const cv::Mat& flow,
                          int interpolation, float qx, float qy, cv::Size refine_size) {
    cv::resize(grey1, quarter1, refine_size, 0, 0, cv::INTER_AREA);
    cv::resize(grey2, quarter2, refine_size, 0, 0, cv::INTER_AREA);
    cv::resize(flow, quarter_flow, refine_size, 0, 0, interpolation);
    scale_flow(quarter_flow, qx, qy);
    variational->calc(quarter1, quarter2, quarter_flow);
  }

  Result<Engine*> engine(int threads) {
    if (options.context != nullptr) return &engines.front();
    for (Engine& engine : engines)
      if (engine.threads == threads) return &engine;
    Engine made;
    made.threads = threads;
    auto context = InferenceContext::create(options.budget_bytes, threads, options.int8_kernels);
    if (!context.is_ok()) return context.status();
    made.own_context = std::move(*context);
    made.own_context->set_adaptive_threads(options.adaptive_threads);
    auto compiled = CompiledModel::create(*made.own_context, model);
    if (!compiled.is_ok()) return compiled.status();
    made.compiled = std::move(*compiled);
    engines.push_back(std::move(made));
    return &engines.back();
  }
};

Result<std::unique_ptr<LearnedOpticalFlow>> LearnedOpticalFlow::load(const std::string& path,
                                                                     const Options& options) {
  auto model = load_fvm(path);
  if (!model.is_ok()) return model.status().with_context(options.name);
  return create(std::make_shared<Model>(std::move(*model)), options, path);
}

Result<std::unique_ptr<LearnedOpticalFlow>> LearnedOpticalFlow::create(
    std::shared_ptr<const Model> model, const Options& options, const std::string& source) {
  const std::string context = options.name + ": " + source;
  if (model == nullptr) return Status(ErrorCode::kInvalidArgument, context + ": no model");
  FOVEA_RETURN_IF_ERROR(check_flow_model(*model).with_context(context));
  if (options.context == nullptr && options.threads < 1)
    return Status(ErrorCode::kInvalidArgument,
                  context + ": threads must be at least 1, not " + std::to_string(options.threads));

  auto state = std::make_unique<State>();
  state->model = std::move(model);
  state->options = options;
  const Shape& in = state->model->graph.tensors[state->model->graph.inputs[0]].info.shape;
  state->height = static_cast<int>(in[1]);
  state->width = static_cast<int>(in[2]);
  state->input.assign(static_cast<std::size_t>(state->height) * state->width * 3, 0.0f);
  state->output.assign(
      static_cast<std::size_t>(state->height / kOutputStride) * (state->width / kOutputStride) * 2,
      0.0f);

  // Compile now, so an unsupported model fails here rather than on the first pair.
  if (options.context != nullptr) {
    auto compiled = CompiledModel::create(*options.context, state->model);
    if (!compiled.is_ok()) return compiled.status().with_context(context);
    state->engines.push_back({options.context->threads(), nullptr, std::move(*compiled)});
  } else {
    auto engine = state->engine(options.threads);
    if (!engine.is_ok()) return engine.status().with_context(context);
  }

  switch (options.refine) {
    case FlowRefinement::kNone:
      break;
    case FlowRefinement::kDisUltrafast:
      state->dis = detail::make_dis(DisPreset::kUltrafast);
      break;
    case FlowRefinement::kDisFast:
      state->dis = detail::make_dis(DisPreset::kFast);
      break;
    case FlowRefinement::kPatchSearch:
      state->patch_search = std::make_unique<PatchInverseSearch>();
      break;
    case FlowRefinement::kPatchSearchVariational:
      state->patch_search = std::make_unique<PatchInverseSearch>();
      [[fallthrough]];
    case FlowRefinement::kVariational:
      // DIS fast's settings for its own refinement step (OpenCV 4.6's dis_flow.cpp).
      state->variational = cv::VariationalRefinement::create();
      state->variational->setFixedPointIterations(5);
      state->variational->setSorIterations(5);
      state->variational->setOmega(1.6f);
      state->variational->setAlpha(20.0f);
      state->variational->setDelta(5.0f);
      state->variational->setGamma(10.0f);
      break;
  }
  auto flow = std::unique_ptr<LearnedOpticalFlow>(new LearnedOpticalFlow(std::move(state)));
  flow->set_threads(options.context != nullptr ? 0 : options.threads);
  return flow;
}

LearnedOpticalFlow::LearnedOpticalFlow(std::unique_ptr<State> state) : state_(std::move(state)) {}
LearnedOpticalFlow::~LearnedOpticalFlow() = default;

std::string LearnedOpticalFlow::name() const {
  return state_->options.name;
}
bool LearnedOpticalFlow::last_run_used_pool() const noexcept {
  return state_->last_run_pooled;
}
int LearnedOpticalFlow::model_width() const noexcept {
  return state_->width;
}
int LearnedOpticalFlow::model_height() const noexcept {
  return state_->height;
}

Result<FlowField> LearnedOpticalFlow::compute_valid(const cv::Mat& frame1, const cv::Mat& frame2) {
  State& state = *state_;
  auto engine = state.engine(threads() > 0 ? threads() : state.options.threads);
  if (!engine.is_ok()) return engine.status().with_context(name());
  const cv::Size model_size(state.width, state.height);
  const cv::Size frame_size = frame1.size();
  FlowField field;
  try {
    // OpenCV's threads (resizing, packing) share the cores the pool's workers could not get:
    // while adaptive threading runs the network alone, they run on one thread too.
    const CompiledModel& compiled = *(*engine)->compiled;
    const bool contended = compiled.parallelism().contended() && !compiled.last_run_used_pool();
    detail::ScopedOpenCvThreads opencv_threads(contended ? 1 : threads());
    const cv::Mat& gray1 = detail::continuous_gray(frame1, state.gray1);
    const cv::Mat& gray2 = detail::continuous_gray(frame2, state.gray2);
    const bool resize = frame_size != model_size;
    if (resize) {
      cv::resize(gray1, state.small1, model_size, 0, 0, cv::INTER_LINEAR);
      cv::resize(gray2, state.small2, model_size, 0, 0, cv::INTER_LINEAR);
    }
    const cv::Mat& small1 = resize ? state.small1 : gray1;
    const cv::Mat& small2 = resize ? state.small2 : gray2;
    // Rows over OpenCV's threads: 1.8 MB of float input a pair is worth splitting.
    const int width = state.width;
    float* input = state.input.data();
    cv::parallel_for_(cv::Range(0, state.height), [&](const cv::Range& rows) {
      for (int y = rows.start; y < rows.end; ++y) {
        const std::uint8_t* row1 = small1.ptr<std::uint8_t>(y);
        const std::uint8_t* row2 = small2.ptr<std::uint8_t>(y);
        float* in = input + static_cast<std::size_t>(y) * width * 3;
        // A division, not a lookup table: the same values (PyTorch's grey / 255 in float), and
        // the compiler vectorises it, which halves this loop's time at 1024x448.
        for (int x = 0; x < width; ++x, in += 3) {
          in[0] = float(row1[x]) / 255.0f;
          in[1] = float(row2[x]) / 255.0f;
        }
      }
    });

    const std::span<const std::uint8_t> inputs[] = {
        {reinterpret_cast<const std::uint8_t*>(state.input.data()), state.input.size() * 4}};
    const std::span<std::uint8_t> outputs[] = {
        {reinterpret_cast<std::uint8_t*>(state.output.data()), state.output.size() * 4}};
    const Status ran = (*engine)->compiled->run(inputs, outputs);
    state.last_run_pooled = (*engine)->compiled->last_run_used_pool();
    InferenceContext& context =
        state.options.context != nullptr ? *state.options.context : *(*engine)->own_context;
    // What follows runs on OpenCV's threads, with the patch search's steps on the pool between.
    context.yield_workers();
    if (!ran.is_ok()) return ran.with_context(name());

    cv::Mat quarter(state.height / kOutputStride, state.width / kOutputStride, CV_32FC2,
                    state.output.data());
    // The network measures motion in its input's pixels; the frame's are wider or narrower.
    // Bilinear resizing is linear, so the flow is rescaled at the small size, before it.
    const float sx = float(frame_size.width) / float(state.width);
    const float sy = float(frame_size.height) / float(state.height);
    if (state.patch_search) {
      const cv::Size half((frame_size.width + 1) / 2, (frame_size.height + 1) / 2);
      cv::resize(gray1, state.half1, half, 0, 0, cv::INTER_AREA);
      cv::resize(gray2, state.half2, half, 0, 0, cv::INTER_AREA);
      cv::resize(quarter, state.half_flow, half, 0, 0, cv::INTER_LINEAR);
      scale_flow(state.half_flow, sx * float(half.width) / float(frame_size.width),
                 sy * float(half.height) / float(frame_size.height));
      // On the pool only when the network's run was: adaptive threading may have found its
      // workers without cores.
      state.patch_search->set_parallel_for(
          on_pool(state.last_run_pooled ? context.threadpool() : nullptr));
      const Status refined = state.patch_search->refine(state.half1, state.half2, state.half_flow,
                                                        &state.half_confidence);
      if (!refined.is_ok()) return refined.with_context(name());
      cv::Mat* result = &state.half_flow;
      cv::Size result_size = half;
      if (state.variational) {
        const cv::Size refine_size = quarter_size(frame_size);
        state.refine_variational(gray1, gray2, state.half_flow, cv::INTER_AREA,
                                 float(refine_size.width) / float(half.width),
                                 float(refine_size.height) / float(half.height), refine_size);
        result = &state.quarter_flow;
        result_size = refine_size;
      }
      scale_flow(*result, float(frame_size.width) / float(result_size.width),
                 float(frame_size.height) / float(result_size.height));
      cv::resize(*result, field.flow, frame_size, 0, 0, cv::INTER_LINEAR);
      if (!state.half_confidence.empty())
        cv::resize(state.half_confidence, field.confidence, frame_size, 0, 0, cv::INTER_LINEAR);
    } else if (state.variational) {
      const cv::Size refine_size = quarter_size(frame_size);
      state.refine_variational(gray1, gray2, quarter, cv::INTER_LINEAR,
                               sx * float(refine_size.width) / float(frame_size.width),
                               sy * float(refine_size.height) / float(frame_size.height),
                               refine_size);
      scale_flow(state.quarter_flow, float(frame_size.width) / float(refine_size.width),
                 float(frame_size.height) / float(refine_size.height));
      cv::resize(state.quarter_flow, field.flow, frame_size, 0, 0, cv::INTER_LINEAR);
    } else {
      scale_flow(quarter, sx, sy);  // in place: the network rewrites its output every run
      cv::resize(quarter, field.flow, frame_size, 0, 0, cv::INTER_LINEAR);
    }
    if (state.dis)
      field.flow = detail::dis_calc(*state.dis, gray1, gray2, field.flow, state.padding);
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kInternal, name() + ": OpenCV failed: " + error.what());
  }
  return field;
}

}  // namespace fovea::vision
