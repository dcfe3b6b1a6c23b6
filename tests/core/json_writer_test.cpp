#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fovea/core/json_writer.h"
#include "support/golden_image.h"

namespace fovea {
namespace {

TEST_CASE("JsonWriter nests, separates and escapes") {
  JsonWriter json;
  json.begin_object();
  json.key("name").value("a \"quoted\"\tname\n");
  json.key("frames").value(3);
  json.key("ok").value(true);
  json.key("ms").value(1.5);
  json.key("bad").value(std::nan(""));
  json.key("list").begin_array().value(1).value(2).begin_object().key("x").value(-4).end_object();
  json.end_array();
  json.key("empty").begin_array().end_array();
  json.end_object();
  CHECK(json.text() == R"({"name":"a \"quoted\"\tname\n","frames":3,"ok":true,"ms":1.5,"bad":null,)"
                       R"("list":[1,2,{"x":-4}],"empty":[]})");

  const std::string path = testing::test_output_dir("json") + "/report.json";
  REQUIRE(json.write_file(path).is_ok());
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  CHECK(text.str() == json.text() + "\n");
  CHECK(json.write_file("/nonexistent-folder/x.json").code() == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fovea
