#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "fovea/core/memory_budget.h"
#include "fovea/core/xnnpack_memory.h"

extern char** environ;

namespace fovea {
namespace {

// A 3x3, pad 1, stride 1 convolution from kIn to kOut channels over kH x kW, NHWC, batch 1.
constexpr int kIn = 8, kOut = 16, kK = 3;

template <typename T>
std::vector<std::int64_t> reference_accumulators(const std::vector<T>& input, int h, int w,
                                                 const std::vector<T>& kernel, int input_zero) {
  std::vector<std::int64_t> acc(static_cast<size_t>(h * w * kOut), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int o = 0; o < kOut; ++o) {
        std::int64_t sum = 0;
        for (int ky = 0; ky < kK; ++ky)
          for (int kx = 0; kx < kK; ++kx) {
            const int iy = y + ky - 1, ix = x + kx - 1;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (int c = 0; c < kIn; ++c)
              sum +=
                  (static_cast<std::int64_t>(input[static_cast<size_t>((iy * w + ix) * kIn + c)]) -
                   input_zero) *
                  kernel[static_cast<size_t>(((o * kK + ky) * kK + kx) * kIn + c)];
          }
        acc[static_cast<size_t>((y * w + x) * kOut + o)] = sum;
      }
  return acc;
}

struct Qs8Conv {
  static constexpr std::int8_t kInputZero = 1, kOutputZero = -3;
  static constexpr float kInputScale = 0.5f, kKernelScale = 0.25f, kOutputScale = 2.0f;
  std::vector<std::int8_t> kernel;
  std::vector<std::int32_t> bias;

  Qs8Conv() {
    std::mt19937 rng(3);
    for (int i = 0; i < kOut * kK * kK * kIn; ++i)
      kernel.push_back(static_cast<std::int8_t>(static_cast<int>(rng() % 255) - 127));
    for (int i = 0; i < kOut; ++i) bias.push_back(static_cast<std::int32_t>(rng() % 2001) - 1000);
  }
  xnn_status create(xnn_operator_t* op) const {
    return xnn_create_convolution2d_nhwc_qs8(
        1, 1, 1, 1, kK, kK, 1, 1, 1, 1, 1, kIn, kOut, kIn, kOut, kInputZero, kInputScale,
        kKernelScale, kernel.data(), bias.data(), kOutputZero, kOutputScale, -128, 127, 0, op);
  }
};

TEST_CASE("XNNPACK qs8 and f32 convolutions are charged to their owner until deleted") {
  REQUIRE(initialize_xnnpack().is_ok());
  REQUIRE(initialize_xnnpack().is_ok());  // idempotent
  const std::int64_t unscoped_bytes = xnnpack_unscoped_bytes();
  const std::int64_t unscoped_allocations = xnnpack_unscoped_allocations();

  MemoryBudget budget(64 << 20);
  const BudgetOwner int8_model = budget.register_owner("int8_model");
  const BudgetOwner fp32_model = budget.register_owner("fp32_model");
  constexpr int kH = 10, kW = 12;
  std::mt19937 rng(5);

  // INT8.
  const Qs8Conv conv;
  std::vector<std::int8_t> input(kH * kW * kIn), output(kH * kW * kOut);
  for (auto& v : input) v = static_cast<std::int8_t>(static_cast<int>(rng() % 256) - 128);
  xnn_operator_t qs8 = nullptr;
  std::int64_t after_create = 0;
  {
    ScopedXnnpackBudget scope(budget, int8_model);
    REQUIRE(conv.create(&qs8) == xnn_status_success);
    after_create = budget.current_bytes(int8_model);
    REQUIRE(xnn_setup_convolution2d_nhwc_qs8(qs8, 1, kH, kW, input.data(), output.data(),
                                             nullptr) == xnn_status_success);
    CHECK(scope.last_failure().is_ok());
  }
  // Packed weights (one byte per kernel element at least) and the operator are accounted...
  CHECK(after_create >= kOut * kK * kK * kIn);
  CHECK(budget.current_bytes(MemoryCategory::kKernelInternal) == budget.current_bytes(int8_model));
  // ...and setup adds the indirection buffer: one pointer per kernel tap and output pixel.
  CHECK(budget.current_bytes(int8_model) - after_create >=
        static_cast<std::int64_t>(kH * kW * kK * kK * sizeof(void*)));
  const std::int64_t allocations_before_run = budget.allocation_count();
  REQUIRE(xnn_run_operator(qs8, nullptr) == xnn_status_success);
  CHECK(budget.allocation_count() == allocations_before_run);  // running allocates nothing

  const std::vector<std::int64_t> acc =
      reference_accumulators(input, kH, kW, conv.kernel, Qs8Conv::kInputZero);
  int max_difference = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    const double real = static_cast<double>(acc[i] + conv.bias[i % kOut]) * Qs8Conv::kInputScale *
                        Qs8Conv::kKernelScale / Qs8Conv::kOutputScale;
    const long expected = std::clamp(std::lround(real) + Qs8Conv::kOutputZero, -128L, 127L);
    max_difference = std::max(max_difference, std::abs(static_cast<int>(expected - output[i])));
  }
  CHECK(max_difference <= 1);  // rounding of exact halves may differ by one

  // FP32.
  std::vector<float> f_input(kH * kW * kIn), f_kernel(kOut * kK * kK * kIn), f_bias(kOut),
      f_output(kH * kW * kOut);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (auto* v : {&f_input, &f_kernel, &f_bias})
    for (float& x : *v) x = uniform(rng);
  xnn_operator_t f32 = nullptr;
  {
    ScopedXnnpackBudget scope(budget, fp32_model, MemoryCategory::kPackedWeights);
    REQUIRE(xnn_create_convolution2d_nhwc_f32(1, 1, 1, 1, kK, kK, 1, 1, 1, 1, 1, kIn, kOut, kIn,
                                              kOut, f_kernel.data(), f_bias.data(), -INFINITY,
                                              INFINITY, 0, &f32) == xnn_status_success);
    REQUIRE(xnn_setup_convolution2d_nhwc_f32(f32, 1, kH, kW, f_input.data(), f_output.data(),
                                             nullptr) == xnn_status_success);
  }
  CHECK(budget.current_bytes(fp32_model) >=
        static_cast<std::int64_t>(kOut * kK * kK * kIn * sizeof(float)));
  CHECK(budget.current_bytes(MemoryCategory::kPackedWeights) == budget.current_bytes(fp32_model));
  REQUIRE(xnn_run_operator(f32, nullptr) == xnn_status_success);
  double worst = 0.0;
  {
    // Reference in double over the same taps.
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x)
        for (int o = 0; o < kOut; ++o) {
          double sum = f_bias[static_cast<size_t>(o)];
          for (int ky = 0; ky < kK; ++ky)
            for (int kx = 0; kx < kK; ++kx) {
              const int iy = y + ky - 1, ix = x + kx - 1;
              if (iy < 0 || iy >= kH || ix < 0 || ix >= kW) continue;
              for (int c = 0; c < kIn; ++c)
                sum += static_cast<double>(f_input[static_cast<size_t>((iy * kW + ix) * kIn + c)]) *
                       f_kernel[static_cast<size_t>(((o * kK + ky) * kK + kx) * kIn + c)];
            }
          worst = std::max(worst,
                           std::abs(sum - f_output[static_cast<size_t>((y * kW + x) * kOut + o)]));
        }
  }
  CHECK(worst < 1e-4);

  CHECK(xnn_delete_operator(qs8) == xnn_status_success);
  CHECK(budget.current_bytes(int8_model) == 0);
  CHECK(budget.peak_bytes(int8_model) > after_create);
  CHECK(xnn_delete_operator(f32) == xnn_status_success);
  CHECK(budget.current_bytes() == 0);
  CHECK(xnnpack_unscoped_bytes() == unscoped_bytes);
  CHECK(xnnpack_unscoped_allocations() == unscoped_allocations);
}

TEST_CASE("An XNNPACK re-setup outside any scope reallocates within the operator's own budget") {
  REQUIRE(initialize_xnnpack().is_ok());
  const std::int64_t unscoped_allocations = xnnpack_unscoped_allocations();
  MemoryBudget budget(64 << 20);
  const BudgetOwner owner = budget.register_owner("resizing_model");
  const Qs8Conv conv;
  std::vector<std::int8_t> input(40 * 40 * kIn), output(40 * 40 * kOut);
  xnn_operator_t op = nullptr;
  {
    ScopedXnnpackBudget scope(budget, owner);
    REQUIRE(conv.create(&op) == xnn_status_success);
    REQUIRE(xnn_setup_convolution2d_nhwc_qs8(op, 1, 8, 8, input.data(), output.data(), nullptr) ==
            xnn_status_success);
  }
  const std::int64_t small = budget.current_bytes(owner);
  // A larger input grows the indirection buffer through reallocate.
  REQUIRE(xnn_setup_convolution2d_nhwc_qs8(op, 1, 40, 40, input.data(), output.data(), nullptr) ==
          xnn_status_success);
  REQUIRE(xnn_run_operator(op, nullptr) == xnn_status_success);
  CHECK(budget.current_bytes(owner) - small >=
        static_cast<std::int64_t>((40 * 40 - 8 * 8) * kK * kK * sizeof(void*)));
  CHECK(xnnpack_unscoped_allocations() == unscoped_allocations);
  CHECK(xnn_delete_operator(op) == xnn_status_success);
  CHECK(budget.current_bytes() == 0);
}

TEST_CASE("A too-small budget makes XNNPACK operator creation fail cleanly, at every allocation") {
  REQUIRE(initialize_xnnpack().is_ok());
  const std::int64_t unscoped_bytes = xnnpack_unscoped_bytes();
  const Qs8Conv conv;
  std::vector<std::int8_t> input(6 * 6 * kIn), output(6 * 6 * kOut);
  {
    MemoryBudget budget(1024);
    const BudgetOwner owner = budget.register_owner("tiny_model");
    ScopedXnnpackBudget scope(budget, owner);
    xnn_operator_t op = nullptr;
    CHECK(conv.create(&op) == xnn_status_out_of_memory);
    CHECK(op == nullptr);
    CHECK(scope.last_failure().code() == ErrorCode::kOutOfMemory);
    CHECK(scope.last_failure().message().find("'tiny_model' asked to allocate") !=
          std::string::npos);
    CHECK(budget.current_bytes() == 0);
  }

  // Fail XNNPACK's i-th allocation, for every i, through create and setup.
  int failures = 0;
  for (std::int64_t i = 0;; ++i) {
    CAPTURE(i);
    REQUIRE(i < 100);
    MemoryBudget budget(64 << 20);
    const BudgetOwner owner = budget.register_owner("injected_model");
    budget.fail_allocation_number(i);
    xnn_operator_t op = nullptr;
    xnn_status status;
    {
      ScopedXnnpackBudget scope(budget, owner);
      status = conv.create(&op);
      if (status == xnn_status_success)
        status =
            xnn_setup_convolution2d_nhwc_qs8(op, 1, 6, 6, input.data(), output.data(), nullptr);
      if (status != xnn_status_success) {
        CHECK(status == xnn_status_out_of_memory);
        CHECK(scope.last_failure().message().find("injected") != std::string::npos);
      }
    }
    if (op != nullptr) CHECK(xnn_delete_operator(op) == xnn_status_success);
    CHECK(budget.current_bytes() == 0);
    if (status == xnn_status_success) {
      CHECK(budget.allocation_count() <= i);  // the injected failure lay past the last call
      break;
    }
    ++failures;
  }
  CHECK(failures >= 3);  // operator, packed weights, indirection buffer at least
  CHECK(xnnpack_unscoped_bytes() == unscoped_bytes);
}

// Run as a child process by the case below, in a fresh process where XNNPACK is still
// uninitialised; skipped (and not listed) in normal runs.
TEST_CASE("xnnpack_memory child: XNNPACK initialised first elsewhere" * doctest::skip()) {
  if (std::getenv("FOVEA_XNNPACK_FOREIGN_CHILD") == nullptr) return;
  REQUIRE(xnn_initialize(nullptr) == xnn_status_success);  // XNNPACK's own malloc-based allocator
  const Status status = initialize_xnnpack();
  std::fprintf(stderr, "child: %s\n", status.to_string().c_str());
  const bool detected = status.code() == ErrorCode::kInternal &&
                        status.message().find("another allocator") != std::string::npos &&
                        initialize_xnnpack().code() == ErrorCode::kInternal;
  std::_Exit(detected ? 42 : 1);
}

TEST_CASE("initialize_xnnpack reports an XNNPACK initialised first with another allocator") {
  std::vector<std::string> arguments = {"fovea-tests", "--no-skip", "--no-version",
                                        "-tc=xnnpack_memory child*"};
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string marker = "FOVEA_XNNPACK_FOREIGN_CHILD=1";
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(marker.data());
  envp.push_back(nullptr);
  // The child's doctest summary would only clutter this log; its stderr (what it found) stays.
  posix_spawn_file_actions_t actions;
  REQUIRE(posix_spawn_file_actions_init(&actions) == 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int wait_status = 0;
  REQUIRE(waitpid(pid, &wait_status, 0) == pid);
  REQUIRE(WIFEXITED(wait_status));
  CHECK(WEXITSTATUS(wait_status) == 42);
}

}  // namespace
}  // namespace fovea
