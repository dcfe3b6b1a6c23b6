#include <doctest/doctest.h>

#include <memory>

#include "fovea/core/status.h"

namespace fovea {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return Status(ErrorCode::kInvalidArgument, "expected a positive number");
  return x;
}

Status chain(int x) {
  auto parsed = parse_positive(x);
  if (!parsed) return parsed.status().with_context("chain");
  FOVEA_RETURN_IF_ERROR(parse_positive(*parsed - 5).status());
  return Status::ok();
}

TEST_CASE("Status and Result carry values, codes and messages with context") {
  CHECK(Status().is_ok());
  CHECK(Status::ok().to_string() == "ok");

  auto good = parse_positive(7);
  REQUIRE(good.is_ok());
  CHECK(*good == 7);
  CHECK(good.status().is_ok());

  auto bad = parse_positive(-1);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.status().to_string() == "invalid argument: expected a positive number");

  const Status chained = chain(-3);
  CHECK(chained.code() == ErrorCode::kInvalidArgument);
  CHECK(chained.message() == "chain: expected a positive number");
  CHECK(chain(3).code() == ErrorCode::kInvalidArgument);  // 3 - 5 fails the second step
  CHECK(chain(9).is_ok());

  // A Result built from an OK status has no value: that is reported, not silently accepted.
  Result<int> misuse{Status::ok()};
  CHECK_FALSE(misuse.is_ok());
  CHECK(misuse.status().code() == ErrorCode::kInternal);

  // Move-only values pass through.
  Result<std::unique_ptr<int>> owned{std::make_unique<int>(4)};
  REQUIRE(owned.is_ok());
  std::unique_ptr<int> taken = std::move(owned).value();
  CHECK(*taken == 4);
}

}  // namespace
}  // namespace fovea
