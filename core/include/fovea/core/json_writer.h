#pragma once
// A small streaming JSON writer for reports and benchmark results: enough structure to be read
// by any JSON parser, no dependency to install.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fovea/core/status.h"

namespace fovea {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // Inside an object: the next value's key.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);  // NaN and infinities become null
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(bool flag);

  const std::string& text() const noexcept { return out_; }
  Status write_file(const std::string& path) const;

 private:
  void before_value();
  void append_string(std::string_view text);
  std::string out_;
  // One entry per open container: whether it already holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace fovea
