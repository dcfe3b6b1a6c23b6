#include "fovea/core/compiled_model.h"

#include <cstring>
#include <string>

#include "fovea/core/xnnpack_memory.h"
#include "node_kernel.h"
#include "onednn_nodes.h"

namespace fovea {

// ---- InferenceContext ----

InferenceContext::InferenceContext(std::int64_t budget_bytes, int threads, Int8Kernels int8_kernels)
    : budget_(budget_bytes),
      arena_(budget_, budget_.register_owner("activations")),
      threads_(threads),
      int8_kernels_(int8_kernels) {}

Result<std::unique_ptr<InferenceContext>> InferenceContext::create(std::int64_t budget_bytes,
                                                                   int threads,
                                                                   Int8Kernels int8_kernels) {
  if (budget_bytes <= 0)
    return Status(ErrorCode::kInvalidArgument, "a memory budget must be positive");
  if (threads < 1 || threads > 256)
    return Status(ErrorCode::kInvalidArgument,
                  "thread count " + std::to_string(threads) + " is outside 1..256");
  FOVEA_RETURN_IF_ERROR(initialize_xnnpack());
  std::unique_ptr<InferenceContext> context(
      new InferenceContext(budget_bytes, threads, int8_kernels));
  if (threads > 1) {
    context->threadpool_ = pthreadpool_create(static_cast<size_t>(threads));
    if (context->threadpool_ == nullptr)
      return Status(ErrorCode::kUnavailable,
                    "could not start a thread pool of " + std::to_string(threads));
  }
  return context;
}

InferenceContext::~InferenceContext() {
  arena_.release();
  if (threadpool_ != nullptr) pthreadpool_destroy(threadpool_);
}

// ---- CompiledModel ----

CompiledModel::CompiledModel(InferenceContext& context, std::shared_ptr<const Model> model,
                             BudgetOwner owner)
    : context_(context), model_(std::move(model)), owner_(owner) {}

Result<std::unique_ptr<CompiledModel>> CompiledModel::create(InferenceContext& context,
                                                             std::shared_ptr<const Model> model) {
  if (!model) return Status(ErrorCode::kInvalidArgument, "no model given");
  FOVEA_RETURN_IF_ERROR(model->validate());
  const ModelGraph& graph = model->graph;
  MemoryBudget& budget = context.budget();
  const std::string name = model->metadata.name.empty() ? "model" : model->metadata.name;
  std::unique_ptr<CompiledModel> compiled(
      new CompiledModel(context, model, budget.register_owner(name)));
  auto order = graph.topological_order();
  if (!order) return order.status();
  compiled->order_ = std::move(*order);
  auto plan = plan_graph_activations(graph, compiled->order_);
  if (!plan) return plan.status();
  compiled->plan_ = std::move(*plan);
  for (int n : compiled->order_) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(n)];
    // oneDNN takes the INT8 convolutions it runs exactly on this CPU; the rest is XNNPACK's.
    Result<std::unique_ptr<inference::NodeKernel>> kernel{std::unique_ptr<inference::NodeKernel>()};
    if (context.int8_kernels() == Int8Kernels::kOnednn)
      kernel = inference::make_onednn_node_kernel(graph, node,
                                                  {&budget, compiled->owner_, context.threads()});
    if (kernel && !*kernel) kernel = inference::make_node_kernel(graph, node);
    if (!kernel) return kernel.status().with_context("model '" + name + "'");
    compiled->kernels_.push_back(std::move(*kernel));
  }
  compiled->constant_pointers_.assign(graph.tensors.size(), nullptr);
  // Weights at rest stay for the model's life: they are what eviction re-packs from. Held in
  // memory they count against the budget from the start; in a mapped .fvm file they are pages
  // the kernel reads back on demand, released after each packing, so they do not.
  const std::int64_t at_rest = model->resident_stored_bytes();
  FOVEA_RETURN_IF_ERROR(
      budget.reserve(compiled->owner_, MemoryCategory::kCompressedWeights, at_rest));
  compiled->reserved_at_rest_ = at_rest;
  budget.register_evictable(compiled->owner_, compiled.get());
  compiled->registered_ = true;
  return compiled;
}

CompiledModel::~CompiledModel() {
  if (registered_) context_.budget().unregister_evictable(this);
  std::lock_guard lock(mutex_);
  release_locked();
  context_.budget().unreserve(owner_, MemoryCategory::kCompressedWeights, reserved_at_rest_);
}

void CompiledModel::release_locked() noexcept {
  for (auto& kernel : kernels_) kernel->release();
  resident_constants_.clear();
  std::fill(constant_pointers_.begin(), constant_pointers_.end(), nullptr);
  bound_ = false;
  resident_ = false;
  packed_bytes_ = 0;
}

Status CompiledModel::prepare_locked() {
  if (resident_) return Status::ok();
  MemoryBudget& budget = context_.budget();
  const ModelGraph& graph = model_->graph;
  const std::int64_t before = budget.current_bytes(owner_);
  // Keep packed_bytes_ current while packing, so a failure midway can still be evicted.
  auto fail = [&](const Status& status) {
    release_locked();
    return status;
  };
  for (size_t k = 0; k < kernels_.size(); ++k) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(order_[k])];
    inference::NodeKernel& kernel = *kernels_[k];
    // Decoded weights live only while the kernel packs them.
    std::vector<BudgetBuffer> scratch(node.inputs.size());
    auto constants = [&](size_t input) -> Result<std::span<const std::uint8_t>> {
      const int t = node.inputs[input];
      const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
      const auto bytes = static_cast<size_t>(model_->constant_decoded_bytes(tensor.constant));
      auto buffer = BudgetBuffer::allocate(budget, owner_, MemoryCategory::kScratch, bytes);
      if (!buffer) return buffer.status();
      std::span<std::uint8_t> out(static_cast<std::uint8_t*>(buffer->data()), bytes);
      FOVEA_RETURN_IF_ERROR(model_->decode_constant(tensor.constant, out));
      model_->release_file_pages(tensor.constant);
      scratch[input] = std::move(*buffer);
      return std::span<const std::uint8_t>(out);
    };
    {
      ScopedXnnpackBudget scope(budget, owner_, MemoryCategory::kPackedWeights);
      Status status = kernel.prepare(constants);
      if (!status.is_ok()) {
        if (!scope.last_failure().is_ok()) status = scope.last_failure().with_context(node.name);
        return fail(status);
      }
    }
    // Constant operands of weight-less ops (Add of a constant, ...) stay decoded while packed.
    if (!kernel.has_weights()) {
      for (int t : node.inputs) {
        if (t < 0 || graph.tensors[static_cast<size_t>(t)].constant < 0 ||
            constant_pointers_[static_cast<size_t>(t)] != nullptr)
          continue;
        const GraphTensor& tensor = graph.tensors[static_cast<size_t>(t)];
        const auto bytes = static_cast<size_t>(model_->constant_decoded_bytes(tensor.constant));
        auto buffer = BudgetBuffer::allocate(budget, owner_, MemoryCategory::kPackedWeights, bytes);
        if (!buffer) return fail(buffer.status());
        Status decoded = model_->decode_constant(
            tensor.constant, {static_cast<std::uint8_t*>(buffer->data()), bytes});
        if (!decoded.is_ok()) return fail(decoded);
        model_->release_file_pages(tensor.constant);
        constant_pointers_[static_cast<size_t>(t)] = buffer->data();
        resident_constants_.push_back(std::move(*buffer));
      }
    }
    packed_bytes_ = budget.current_bytes(owner_) - before;
  }
  resident_ = true;
  bound_ = false;
  return Status::ok();
}

Status CompiledModel::bind_locked() {
  SharedArena& arena = context_.arena();
  if (bound_ && bound_generation_ == arena.generation()) return Status::ok();
  MemoryBudget& budget = context_.budget();
  const ModelGraph& graph = model_->graph;
  const std::int64_t before = budget.current_bytes(owner_);
  ScopedXnnpackBudget scope(budget, owner_, MemoryCategory::kKernelInternal);
  for (size_t k = 0; k < kernels_.size(); ++k) {
    const GraphNode& node = graph.nodes[static_cast<size_t>(order_[k])];
    inference::NodeBinding binding;
    for (int t : node.inputs) {
      if (t < 0) {
        binding.inputs.push_back(nullptr);
      } else if (graph.tensors[static_cast<size_t>(t)].constant >= 0) {
        binding.inputs.push_back(constant_pointers_[static_cast<size_t>(t)]);
      } else {
        binding.inputs.push_back(arena.data() + plan_.offsets[static_cast<size_t>(t)]);
      }
    }
    for (int t : node.outputs)
      binding.outputs.push_back(arena.data() + plan_.offsets[static_cast<size_t>(t)]);
    Status status = kernels_[k]->bind(binding, context_.threadpool());
    if (!status.is_ok()) {
      if (!scope.last_failure().is_ok()) status = scope.last_failure().with_context(node.name);
      release_locked();
      return status;
    }
  }
  packed_bytes_ = packed_bytes_.load() + (budget.current_bytes(owner_) - before);
  bound_ = true;
  bound_generation_ = arena.generation();
  return Status::ok();
}

Status CompiledModel::prefetch() {
  std::lock_guard lock(mutex_);
  return prepare_locked();
}

void CompiledModel::evict() {
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || running_) return;  // running or packing: not now
  release_locked();
}

Status CompiledModel::run(std::span<const std::span<const std::uint8_t>> inputs,
                          std::span<const std::span<std::uint8_t>> outputs) {
  const ModelGraph& graph = model_->graph;
  if (inputs.size() != graph.inputs.size() || outputs.size() != graph.outputs.size())
    return Status(ErrorCode::kInvalidArgument,
                  "model '" + model_->metadata.name + "' takes " +
                      std::to_string(graph.inputs.size()) + " inputs and " +
                      std::to_string(graph.outputs.size()) + " outputs, got " +
                      std::to_string(inputs.size()) + " and " + std::to_string(outputs.size()));
  auto check_size = [&](int t, size_t got) {
    const TensorInfo& info = graph.tensors[static_cast<size_t>(t)].info;
    if (static_cast<std::int64_t>(got) == info.byte_size()) return Status::ok();
    return Status(ErrorCode::kInvalidArgument,
                  "tensor '" + info.name + "' (" + data_type_name(info.type) + " " +
                      info.shape.to_string() + ") needs " + std::to_string(info.byte_size()) +
                      " bytes, got " + std::to_string(got));
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    FOVEA_RETURN_IF_ERROR(check_size(graph.inputs[i], inputs[i].size()));
  for (size_t i = 0; i < outputs.size(); ++i)
    FOVEA_RETURN_IF_ERROR(check_size(graph.outputs[i], outputs[i].size()));

  std::lock_guard lock(mutex_);
  running_ = true;
  struct ClearRunning {
    std::atomic<bool>& flag;
    ~ClearRunning() { flag = false; }
  } clear{running_};
  context_.budget().note_use(owner_);
  FOVEA_RETURN_IF_ERROR(prepare_locked());
  FOVEA_RETURN_IF_ERROR(context_.arena().ensure(plan_.arena_bytes));
  FOVEA_RETURN_IF_ERROR(bind_locked());
  std::uint8_t* arena = context_.arena().data();
  for (size_t i = 0; i < inputs.size(); ++i)
    std::memcpy(arena + plan_.offsets[static_cast<size_t>(graph.inputs[i])], inputs[i].data(),
                inputs[i].size());
  for (auto& kernel : kernels_) FOVEA_RETURN_IF_ERROR(kernel->run(context_.threadpool()));
  for (size_t i = 0; i < outputs.size(); ++i)
    std::memcpy(outputs[i].data(), arena + plan_.offsets[static_cast<size_t>(graph.outputs[i])],
                outputs[i].size());
  return Status::ok();
}

}  // namespace fovea
