#pragma once
// Reads tests/fixtures/*.fxt: named arrays written by the Python reference scripts in
// tests/reference/ (format described in make_op_fixtures.py).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fovea/core/tensor_info.h"

namespace fovea::testing {

struct FixtureArray {
  Shape shape;
  std::vector<float> f32;
  std::vector<std::int32_t> i32;
};

struct FixtureCase {
  std::map<std::string, FixtureArray> arrays;
  const FixtureArray& at(const std::string& name) const;
  std::vector<int> attrs() const;
};

// All cases of tests/fixtures/NAME.fxt by case name; fails the test if unreadable.
std::map<std::string, FixtureCase> load_fixture(const std::string& name);

}  // namespace fovea::testing
