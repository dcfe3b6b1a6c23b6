#include "support/op_fixture.h"

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace fovea::testing {
namespace {

class Cursor {
 public:
  explicit Cursor(std::vector<char> bytes) : bytes_(std::move(bytes)) {}
  template <typename T>
  T read() {
    T value{};
    REQUIRE_MESSAGE(position_ + sizeof(T) <= bytes_.size(), "fixture truncated");
    std::memcpy(&value, bytes_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }
  std::string read_name() {
    const auto length = read<std::uint16_t>();
    REQUIRE(position_ + length <= bytes_.size());
    std::string text(bytes_.data() + position_, length);
    position_ += length;
    return text;
  }
  void read_into(void* out, size_t size) {
    if (size == 0) return;  // an empty array's data() may be null, which memcpy must not see
    REQUIRE_MESSAGE(position_ + size <= bytes_.size(), "fixture truncated");
    std::memcpy(out, bytes_.data() + position_, size);
    position_ += size;
  }

 private:
  std::vector<char> bytes_;
  size_t position_ = 0;
};

}  // namespace

const FixtureArray& FixtureCase::at(const std::string& name) const {
  auto found = arrays.find(name);
  REQUIRE_MESSAGE(found != arrays.end(), "fixture case lacks array '" << name << "'");
  return found->second;
}

std::vector<int> FixtureCase::attrs() const {
  const FixtureArray& a = at("attrs");
  return {a.i32.begin(), a.i32.end()};
}

std::map<std::string, FixtureCase> load_fixture(const std::string& name) {
  const std::string path = std::string(FOVEA_FIXTURE_DIR) + "/" + name + ".fxt";
  std::ifstream file(path, std::ios::binary);
  REQUIRE_MESSAGE(file.good(), "cannot open " << path);
  Cursor cursor(std::vector<char>(std::istreambuf_iterator<char>(file), {}));
  char magic[4];
  cursor.read_into(magic, 4);
  REQUIRE(std::memcmp(magic, "FXT1", 4) == 0);
  std::map<std::string, FixtureCase> cases;
  const auto count = cursor.read<std::uint32_t>();
  for (std::uint32_t i = 0; i < count; ++i) {
    FixtureCase& c = cases[cursor.read_name()];
    const auto arrays = cursor.read<std::uint16_t>();
    for (std::uint16_t j = 0; j < arrays; ++j) {
      FixtureArray& array = c.arrays[cursor.read_name()];
      const auto type = cursor.read<std::uint8_t>();
      const auto rank = cursor.read<std::uint8_t>();
      REQUIRE(rank <= kMaxRank);
      array.shape.rank = rank;
      for (int d = 0; d < rank; ++d) array.shape[d] = cursor.read<std::int64_t>();
      const std::int64_t elements = array.shape.elements();
      REQUIRE(elements >= 0);
      if (type == 1) {
        array.f32.resize(static_cast<size_t>(elements));
        cursor.read_into(array.f32.data(), array.f32.size() * 4);
      } else {
        REQUIRE(type == 3);
        array.i32.resize(static_cast<size_t>(elements));
        cursor.read_into(array.i32.data(), array.i32.size() * 4);
      }
    }
  }
  return cases;
}

}  // namespace fovea::testing
