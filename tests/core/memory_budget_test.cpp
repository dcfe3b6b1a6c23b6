#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fovea/core/memory_budget.h"

namespace fovea {
namespace {

constexpr std::int64_t kKiB = 1024;

std::int64_t cost(std::size_t bytes) {
  return MemoryBudget::accounted_bytes(bytes);
}

// Packed weights that are dropped on eviction and re-made (a deterministic pattern) on use.
class FakeWeights final : public Evictable {
 public:
  FakeWeights(MemoryBudget& budget, BudgetOwner owner, std::size_t bytes, std::uint8_t seed,
              std::vector<BudgetOwner>* evicted_log = nullptr)
      : budget_(budget), owner_(owner), bytes_(bytes), seed_(seed), log_(evicted_log) {
    budget_.register_evictable(owner_, this);
  }
  ~FakeWeights() override { budget_.unregister_evictable(this); }

  std::int64_t evictable_bytes() const override {
    return buffer_.empty() ? 0 : cost(buffer_.size());
  }
  bool in_use() const override { return in_use_; }
  void evict() override {
    if (log_ != nullptr && !buffer_.empty()) log_->push_back(owner_);
    buffer_.reset();
  }

  Status ensure_packed() {
    if (!buffer_.empty()) return Status::ok();
    Result<BudgetBuffer> block =
        BudgetBuffer::allocate(budget_, owner_, MemoryCategory::kPackedWeights, bytes_);
    if (!block) return block.status();
    buffer_ = std::move(block).value();
    auto* data = static_cast<std::uint8_t*>(buffer_.data());
    for (std::size_t i = 0; i < bytes_; ++i) data[i] = static_cast<std::uint8_t>(seed_ + i * 7);
    return Status::ok();
  }

  bool packed() const { return !buffer_.empty(); }
  const std::uint8_t* data() const { return static_cast<const std::uint8_t*>(buffer_.data()); }
  void set_in_use(bool value) { in_use_ = value; }

 private:
  MemoryBudget& budget_;
  BudgetOwner owner_;
  std::size_t bytes_;
  std::uint8_t seed_;
  std::vector<BudgetOwner>* log_;
  BudgetBuffer buffer_;
  bool in_use_ = false;
};

// A model as the budget sees it: packed weights kept between runs, plus activations and scratch
// held only while it runs. Its "output" is a checksum over weights and activations.
class FakeModel {
 public:
  FakeModel(MemoryBudget& budget, const std::string& name, std::size_t weights,
            std::size_t activations, std::size_t scratch, std::uint8_t seed)
      : budget_(budget),
        owner_(budget.register_owner(name)),
        weights_(budget, owner_, weights, seed),
        activations_(activations),
        scratch_(scratch) {}

  Result<std::uint64_t> run() {
    weights_.set_in_use(true);
    Result<std::uint64_t> out = run_in_use();
    weights_.set_in_use(false);
    budget_.note_use(owner_);
    return out;
  }

  BudgetOwner owner() const { return owner_; }

 private:
  Result<std::uint64_t> run_in_use() {
    FOVEA_RETURN_IF_ERROR(weights_.ensure_packed());
    Result<BudgetBuffer> activations =
        BudgetBuffer::allocate(budget_, owner_, MemoryCategory::kActivations, activations_);
    if (!activations) return activations.status();
    Result<BudgetBuffer> scratch =
        BudgetBuffer::allocate(budget_, owner_, MemoryCategory::kScratch, scratch_);
    if (!scratch) return scratch.status();
    auto* act = static_cast<std::uint8_t*>(activations->data());
    const std::uint8_t* w = weights_.data();
    std::uint64_t sum = 1469598103934665603ull;
    for (std::size_t i = 0; i < activations_; ++i) {
      act[i] = static_cast<std::uint8_t>(w[i % 97] ^ i);
      sum = (sum ^ act[i]) * 1099511628211ull;
    }
    std::memset(scratch->data(), 0xab, scratch_);
    return sum;
  }

  MemoryBudget& budget_;
  BudgetOwner owner_;
  FakeWeights weights_;
  std::size_t activations_;
  std::size_t scratch_;
};

TEST_CASE("MemoryBudget accounts current and peak bytes per owner, category and in total") {
  MemoryBudget budget(1024 * kKiB);
  const BudgetOwner a = budget.register_owner("detector");
  const BudgetOwner b = budget.register_owner("segmenter");
  CHECK(budget.owner_name(b) == "segmenter");
  CHECK(budget.cap_bytes() == 1024 * kKiB);

  Result<void*> weights = budget.allocate(a, MemoryCategory::kPackedWeights, 1000);
  Result<void*> activations = budget.allocate(a, MemoryCategory::kActivations, 5000, 256);
  Result<void*> scratch = budget.allocate(b, MemoryCategory::kScratch, 300);
  REQUIRE(weights.is_ok());
  REQUIRE(activations.is_ok());
  REQUIRE(scratch.is_ok());
  CHECK(reinterpret_cast<std::uintptr_t>(*weights) % 64 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(*activations) % 256 == 0);
  std::memset(*activations, 1, 5000);  // the whole block is usable (ASan checks the bounds)

  // Per-block overhead (header, alignment slack, malloc's chunk) is counted, and stays small.
  CHECK(cost(1000) >= 1000 + 64);
  CHECK(cost(1000) <= 1000 + 160);
  CHECK(MemoryBudget::accounted_bytes(5000, 256) >= 5000 + 256);
  CHECK(cost(1 << 20) >= (1 << 20) + 4096);  // mmap'd chunks are whole pages

  const std::int64_t a_bytes = cost(1000) + MemoryBudget::accounted_bytes(5000, 256);
  CHECK(budget.current_bytes(a) == a_bytes);
  CHECK(budget.current_bytes(b) == cost(300));
  CHECK(budget.current_bytes() == a_bytes + cost(300));
  CHECK(budget.current_bytes(MemoryCategory::kPackedWeights) == cost(1000));
  CHECK(budget.current_bytes(MemoryCategory::kScratch) == cost(300));
  CHECK(budget.allocation_count() == 3);

  budget.deallocate(*activations);
  budget.deallocate(nullptr);
  CHECK(budget.current_bytes(a) == cost(1000));
  CHECK(budget.peak_bytes(a) == a_bytes);
  CHECK(budget.current_bytes(MemoryCategory::kActivations) == 0);
  CHECK(budget.peak_bytes(MemoryCategory::kActivations) ==
        MemoryBudget::accounted_bytes(5000, 256));
  CHECK(budget.peak_bytes() == a_bytes + cost(300));

  // Reservations count like blocks, and come back.
  REQUIRE(budget.reserve(b, MemoryCategory::kCompressedWeights, 700 * kKiB).is_ok());
  CHECK(budget.current_bytes(MemoryCategory::kCompressedWeights) == 700 * kKiB);
  CHECK(budget.reserve(b, MemoryCategory::kCompressedWeights, 400 * kKiB).code() ==
        ErrorCode::kOutOfMemory);
  budget.unreserve(b, MemoryCategory::kCompressedWeights, 700 * kKiB);
  CHECK(budget.current_bytes(b) == cost(300));
  CHECK(budget.peak_bytes(b) == cost(300) + 700 * kKiB);

  const std::string holders = budget.describe_holders();
  CHECK(holders.find("'detector' packed_weights") != std::string::npos);
  CHECK(holders.find("'segmenter' compressed_weights") != std::string::npos);

  CHECK(budget.allocate(a, MemoryCategory::kScratch, 10, 48).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(budget.allocate(7, MemoryCategory::kScratch, 10).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(budget.allocation_count() == 3);

  // BudgetBuffer: moves own the block once; reset gives it back.
  Result<BudgetBuffer> buffer = BudgetBuffer::allocate(budget, b, MemoryCategory::kScratch, 128);
  REQUIRE(buffer.is_ok());
  BudgetBuffer moved = std::move(buffer).value();
  CHECK(moved.size() == 128);
  BudgetBuffer target;
  target = std::move(moved);
  CHECK(moved.empty());
  CHECK(budget.current_bytes(b) == 2 * cost(300) - cost(300) + cost(128));
  target.reset();
  CHECK(budget.current_bytes(b) == cost(300));

  budget.deallocate(*weights);
  budget.deallocate(*scratch);
  CHECK(budget.current_bytes() == 0);
}

TEST_CASE("MemoryBudget evicts the least recently used weights first, the requester's own last") {
  const std::size_t w = 10 * kKiB;
  MemoryBudget budget(3 * cost(w) + cost(100));
  std::vector<BudgetOwner> evicted;
  const BudgetOwner a = budget.register_owner("a");
  const BudgetOwner b = budget.register_owner("b");
  const BudgetOwner c = budget.register_owner("c");
  FakeWeights wa(budget, a, w, 1, &evicted), wb(budget, b, w, 2, &evicted),
      wc(budget, c, w, 3, &evicted);
  REQUIRE(wa.ensure_packed().is_ok());
  REQUIRE(wb.ensure_packed().is_ok());
  REQUIRE(wc.ensure_packed().is_ok());
  budget.note_use(b);
  budget.note_use(a);
  budget.note_use(c);  // LRU order now: b, a, c

  // c asks for room: b (least recently used) goes, a stays.
  Result<BudgetBuffer> first = BudgetBuffer::allocate(budget, c, MemoryCategory::kScratch, w);
  REQUIRE(first.is_ok());
  CHECK(evicted == std::vector<BudgetOwner>{b});
  CHECK_FALSE(wb.packed());
  CHECK(wa.packed());
  CHECK(budget.eviction_count() == 1);

  // a asks: the only other owner's weights (c, idle) go before a's own, although a is older.
  budget.note_use(a);
  budget.note_use(c);
  Result<BudgetBuffer> second = BudgetBuffer::allocate(budget, a, MemoryCategory::kScratch, w);
  REQUIRE(second.is_ok());
  CHECK(evicted == std::vector<BudgetOwner>{b, c});
  // a asks again: its own idle weights are all that is left.
  Result<BudgetBuffer> third = BudgetBuffer::allocate(budget, a, MemoryCategory::kScratch, w);
  REQUIRE(third.is_ok());
  CHECK(evicted == std::vector<BudgetOwner>{b, c, a});
  CHECK(budget.peak_bytes() <= budget.cap_bytes());
}

TEST_CASE("MemoryBudget with a known schedule evicts the weights needed furthest in the future") {
  const std::size_t w = 10 * kKiB;
  MemoryBudget budget(3 * cost(w));
  std::vector<BudgetOwner> evicted;
  const BudgetOwner a = budget.register_owner("a");
  const BudgetOwner b = budget.register_owner("b");
  const BudgetOwner c = budget.register_owner("c");
  const BudgetOwner d = budget.register_owner("d");
  FakeWeights wa(budget, a, w, 1, &evicted), wb(budget, b, w, 2, &evicted),
      wc(budget, c, w, 3, &evicted), wd(budget, d, w, 4, &evicted);
  REQUIRE(wa.ensure_packed().is_ok());
  REQUIRE(wb.ensure_packed().is_ok());
  REQUIRE(wc.ensure_packed().is_ok());
  budget.note_use(a);
  budget.note_use(b);
  budget.note_use(c);  // LRU would evict a

  budget.set_next_uses({d, a, b, a, c});  // c is needed furthest away
  REQUIRE(wd.ensure_packed().is_ok());
  CHECK(evicted == std::vector<BudgetOwner>{c});

  // d runs (consumes its entry); then c comes back: b is the furthest of a, b, d (d absent).
  budget.note_use(d);
  budget.set_next_uses({c, a, b, d});
  REQUIRE(wc.ensure_packed().is_ok());
  CHECK(evicted == std::vector<BudgetOwner>{c, d});
  // Owners absent from the schedule go first: with c running, b (absent) goes before a.
  budget.set_next_uses({c, a});
  wc.set_in_use(true);
  REQUIRE(wd.ensure_packed().is_ok());
  CHECK(evicted == std::vector<BudgetOwner>{c, d, b});
  wc.set_in_use(false);

  // note_use consumes the schedule: after a and c ran only [d] is left, so a and c are both
  // absent, and the least recently used of them (a) goes.
  budget.set_next_uses({a, c, d});
  budget.note_use(a);
  budget.note_use(c);
  REQUIRE(wb.ensure_packed().is_ok());
  CHECK(evicted.back() == a);
}

TEST_CASE("A known round-robin schedule evicts less than LRU for three alternating models") {
  const std::size_t w = 8 * kKiB;
  auto evictions_for = [&](bool with_schedule) {
    MemoryBudget budget(2 * cost(w));  // room for two models' weights of three
    const BudgetOwner owners[3] = {budget.register_owner("a"), budget.register_owner("b"),
                                   budget.register_owner("c")};
    std::vector<std::unique_ptr<FakeWeights>> weights;
    for (int m = 0; m < 3; ++m)
      weights.push_back(std::make_unique<FakeWeights>(budget, owners[m], w, 1));
    constexpr int kRuns = 30;
    if (with_schedule) {
      std::vector<BudgetOwner> schedule;
      for (int r = 0; r < kRuns; ++r) schedule.push_back(owners[r % 3]);
      budget.set_next_uses(schedule);
    }
    for (int r = 0; r < kRuns; ++r) {
      FakeWeights& mine = *weights[static_cast<size_t>(r % 3)];
      mine.set_in_use(true);
      REQUIRE(mine.ensure_packed().is_ok());
      mine.set_in_use(false);
      budget.note_use(owners[r % 3]);
      CHECK(budget.current_bytes() <= budget.cap_bytes());
    }
    return budget.eviction_count();
  };
  const std::int64_t lru = evictions_for(false);
  const std::int64_t furthest = evictions_for(true);
  MESSAGE("round robin, 30 runs, room for 2 of 3: LRU evicts "
          << lru << ", furthest next use evicts " << furthest);
  CHECK(lru == 28);  // LRU always evicts exactly the weights needed next
  CHECK(furthest <= 15);
}

TEST_CASE("MemoryBudget never evicts weights in use and its errors name budget, request, holders") {
  const std::size_t w = 10 * kKiB;
  // Room for one model's weights and the 2w request, not for both models' weights too.
  MemoryBudget budget(cost(w) + cost(2 * w));
  const BudgetOwner a = budget.register_owner("depth_net");
  const BudgetOwner b = budget.register_owner("flow_net");
  const BudgetOwner c = budget.register_owner("pillar_net");
  FakeWeights wa(budget, a, w, 1), wb(budget, b, w, 2);
  REQUIRE(wa.ensure_packed().is_ok());
  REQUIRE(wb.ensure_packed().is_ok());
  wa.set_in_use(true);
  wb.set_in_use(true);

  Result<void*> refused = budget.allocate(c, MemoryCategory::kActivations, 2 * w);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == ErrorCode::kOutOfMemory);
  CHECK(wa.packed());
  CHECK(wb.packed());
  CHECK(budget.eviction_count() == 0);
  const std::string& message = refused.status().message();
  CHECK(message.find(std::to_string(budget.cap_bytes()) + " bytes") != std::string::npos);
  CHECK(message.find("holds " + std::to_string(2 * cost(w)) + " bytes") != std::string::npos);
  CHECK(message.find("'pillar_net' asked to allocate " + std::to_string(cost(2 * w)) + " bytes") !=
        std::string::npos);
  CHECK(message.find("activations") != std::string::npos);
  CHECK(message.find("'depth_net' packed_weights") != std::string::npos);
  CHECK(message.find("'flow_net' evictable") != std::string::npos);
  CHECK(message.find("in use") != std::string::npos);
  CHECK(message.find("Raise the budget") != std::string::npos);

  // Doomed requests do not throw other models' weights away for nothing.
  wb.set_in_use(false);
  CHECK(budget.allocate(c, MemoryCategory::kActivations, 3 * w).status().code() ==
        ErrorCode::kOutOfMemory);
  CHECK(wb.packed());
  CHECK(budget.eviction_count() == 0);
  // A request larger than the whole cap says so.
  Result<void*> huge = budget.allocate(c, MemoryCategory::kScratch, 10 * w);
  CHECK(huge.status().message().find("larger than the whole budget") != std::string::npos);

  // Idle weights do make room.
  Result<void*> fits = budget.allocate(c, MemoryCategory::kActivations, 2 * w);
  REQUIRE(fits.is_ok());
  CHECK_FALSE(wb.packed());
  CHECK(wa.packed());
  budget.deallocate(*fits);
  CHECK(budget.current_bytes() == cost(w));
}

TEST_CASE("Three models under budgets from generous to impossible: cap held, outputs identical") {
  struct Spec {
    const char* name;
    std::size_t weights, activations, scratch;
  };
  const Spec specs[3] = {{"a", 40 * kKiB, 30 * kKiB, 4 * kKiB},
                         {"b", 25 * kKiB, 50 * kKiB, 1 * kKiB},
                         {"c", 60 * kKiB, 10 * kKiB, 8 * kKiB}};
  auto need = [&](const Spec& s) {
    return cost(s.weights) + cost(s.activations) + cost(s.scratch);
  };
  std::int64_t largest_need = 0, smallest_need = INT64_MAX, footprint = 0;
  for (const Spec& s : specs) {
    largest_need = std::max(largest_need, need(s));
    smallest_need = std::min(smallest_need, need(s));
    footprint += need(s);  // all weights kept plus everyone's activations: the uncapped total
  }

  std::mt19937 rng(1234);
  std::vector<int> schedule(120);
  for (int& m : schedule) m = static_cast<int>(rng() % 3);

  // Reference outputs, uncapped.
  std::vector<std::uint64_t> reference;
  {
    MemoryBudget budget(std::int64_t{1} << 40);
    std::vector<std::unique_ptr<FakeModel>> models;
    for (int m = 0; m < 3; ++m)
      models.push_back(std::make_unique<FakeModel>(budget, specs[m].name, specs[m].weights,
                                                   specs[m].activations, specs[m].scratch,
                                                   static_cast<std::uint8_t>(m * 31)));
    for (int m : schedule) {
      Result<std::uint64_t> out = models[static_cast<size_t>(m)]->run();
      REQUIRE(out.is_ok());
      reference.push_back(*out);
    }
    CHECK(budget.eviction_count() == 0);
  }

  for (double fraction : {2.0, 1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.05}) {
    for (bool known_schedule : {false, true}) {
      CAPTURE(fraction);
      CAPTURE(known_schedule);
      const auto cap = static_cast<std::int64_t>(static_cast<double>(footprint) * fraction);
      MemoryBudget budget(cap);
      std::vector<std::unique_ptr<FakeModel>> models;
      for (int m = 0; m < 3; ++m)
        models.push_back(std::make_unique<FakeModel>(budget, specs[m].name, specs[m].weights,
                                                     specs[m].activations, specs[m].scratch,
                                                     static_cast<std::uint8_t>(m * 31)));
      if (known_schedule) {
        std::vector<BudgetOwner> owners;
        for (int m : schedule) owners.push_back(models[static_cast<size_t>(m)]->owner());
        budget.set_next_uses(owners);
      }
      int failures = 0;
      for (size_t r = 0; r < schedule.size(); ++r) {
        Result<std::uint64_t> out = models[static_cast<size_t>(schedule[r])]->run();
        CHECK(budget.current_bytes() <= cap);
        if (out.is_ok()) {
          CHECK(*out == reference[r]);
        } else {
          CHECK(out.status().code() == ErrorCode::kOutOfMemory);
          ++failures;
        }
      }
      CHECK(budget.peak_bytes() <= cap);
      if (cap >= largest_need) CHECK(failures == 0);  // every model fits alone: all runs succeed
      if (cap < smallest_need) CHECK(failures == static_cast<int>(schedule.size()));
      if (fraction == 0.6)
        MESSAGE("60% budget, known schedule " << known_schedule << ": " << budget.eviction_count()
                                              << " evictions in " << schedule.size() << " runs");
      models.clear();
      CHECK(budget.current_bytes() == 0);
    }
  }
}

// Weights whose eviction may come from any thread: evict() only try_locks the model.
class SharedWeights final : public Evictable {
 public:
  SharedWeights(MemoryBudget& budget, BudgetOwner owner, std::size_t bytes)
      : budget_(budget), owner_(owner), bytes_(bytes) {
    budget_.register_evictable(owner_, this);
  }
  ~SharedWeights() override { budget_.unregister_evictable(this); }
  std::int64_t evictable_bytes() const override { return held_.load(); }
  bool in_use() const override { return busy_.load() > 0; }
  void evict() override {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || busy_.load() > 0) return;
    buffer_.reset();
    held_ = 0;
  }
  // Packs (if needed) and uses the weights; busy_ is raised first so the budget skips them.
  Status use(bool touch) {
    ++busy_;
    Status status;
    {
      std::lock_guard lock(mutex_);
      if (buffer_.empty()) {
        Result<BudgetBuffer> block =
            BudgetBuffer::allocate(budget_, owner_, MemoryCategory::kPackedWeights, bytes_);
        if (block) {
          buffer_ = std::move(block).value();
          held_ = cost(bytes_);
        } else {
          status = block.status();
        }
      }
      if (status.is_ok() && touch) std::memset(buffer_.data(), 0x5a, bytes_);
    }
    --busy_;
    return status;
  }

 private:
  MemoryBudget& budget_;
  BudgetOwner owner_;
  std::size_t bytes_;
  std::mutex mutex_;
  BudgetBuffer buffer_;
  std::atomic<int> busy_{0};  // a count: the worker and the main thread may both use it
  std::atomic<std::int64_t> held_{0};
};

TEST_CASE("MemoryBudget holds its cap while a worker re-packs weights and the main thread runs") {
  const std::size_t w = 16 * kKiB;
  MemoryBudget budget(3 * cost(w) + 2 * cost(8 * kKiB));
  std::vector<BudgetOwner> owners;
  std::vector<std::unique_ptr<SharedWeights>> weights;
  for (int m = 0; m < 4; ++m) {
    owners.push_back(budget.register_owner("model" + std::to_string(m)));
    weights.push_back(std::make_unique<SharedWeights>(budget, owners.back(), w));
  }
  const BudgetOwner activations = budget.register_owner("activations");

  std::atomic<bool> stop{false};
  std::atomic<int> worker_uses{0};
  std::thread worker([&] {
    std::mt19937 rng(7);
    while (!stop.load()) {
      if (weights[rng() % 4]->use(false).is_ok()) ++worker_uses;
      budget.note_use(owners[rng() % 4]);
    }
  });
  std::mt19937 rng(11);
  int main_failures = 0;
  // Until both threads did real work (a fast build may finish 3000 rounds before the worker
  // starts), within a bound.
  for (int i = 0; i < 3000 || (worker_uses.load() < 300 && i < 3'000'000); ++i) {
    const int m = static_cast<int>(rng() % 4);
    if (!weights[static_cast<size_t>(m)]->use(true).is_ok()) ++main_failures;
    Result<BudgetBuffer> a =
        BudgetBuffer::allocate(budget, activations, MemoryCategory::kActivations, 8 * kKiB);
    Result<BudgetBuffer> b =
        BudgetBuffer::allocate(budget, activations, MemoryCategory::kScratch, rng() % (8 * kKiB));
    if (!a.is_ok() || !b.is_ok()) ++main_failures;
    REQUIRE(budget.current_bytes() <= budget.cap_bytes());
  }
  stop = true;
  worker.join();
  MESSAGE("worker uses: " << worker_uses.load() << ", evictions: " << budget.eviction_count()
                          << ", main-thread failures: " << main_failures);
  CHECK(budget.peak_bytes() <= budget.cap_bytes());
  CHECK(budget.eviction_count() > 0);
  CHECK(worker_uses.load() >= 300);
  weights.clear();
  CHECK(budget.current_bytes() == 0);
}

// Three models, each packing weights and running twice; stops at the first error.
Status oom_scenario(MemoryBudget& budget) {
  std::vector<std::unique_ptr<FakeModel>> models;
  models.push_back(std::make_unique<FakeModel>(budget, "a", 20 * kKiB, 10 * kKiB, 1 * kKiB, 1));
  models.push_back(std::make_unique<FakeModel>(budget, "b", 10 * kKiB, 30 * kKiB, 2 * kKiB, 2));
  models.push_back(std::make_unique<FakeModel>(budget, "c", 30 * kKiB, 5 * kKiB, 0, 3));
  for (int round = 0; round < 2; ++round)
    for (auto& model : models) FOVEA_RETURN_IF_ERROR(model->run().status());
  return Status::ok();
}

TEST_CASE("Out-of-memory injection: failing allocation i, for every i, ends in a clean error") {
  std::int64_t total = 0;
  {
    MemoryBudget budget(70 * kKiB);  // tight: the scenario evicts as it goes
    REQUIRE(oom_scenario(budget).is_ok());
    total = budget.allocation_count();
    CHECK(budget.eviction_count() > 0);
  }
  REQUIRE(total >= 12);
  for (std::int64_t i = 0; i < total; ++i) {
    CAPTURE(i);
    MemoryBudget budget(70 * kKiB);
    budget.fail_allocation_number(i);
    const Status status = oom_scenario(budget);
    REQUIRE_FALSE(status.is_ok());
    CHECK(status.code() == ErrorCode::kOutOfMemory);
    CHECK(status.message().find("injected") != std::string::npos);
    CHECK(budget.allocation_count() == i);
    CHECK(budget.current_bytes() == 0);  // models torn down: everything returned
  }
  MemoryBudget budget(70 * kKiB);
  budget.fail_allocation_number(total);  // past the last allocation: nothing fails
  CHECK(oom_scenario(budget).is_ok());
}

}  // namespace
}  // namespace fovea
