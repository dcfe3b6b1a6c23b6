#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "fovea/vision/flo_file.h"
#include "fovea/vision/flow_field.h"
#include "support/golden_image.h"

namespace fovea::vision {
namespace {

std::vector<std::byte> flo_bytes(float magic, std::int32_t width, std::int32_t height,
                                 std::size_t floats) {
  std::vector<std::byte> bytes(12 + floats * 4);
  std::memcpy(bytes.data(), &magic, 4);
  std::memcpy(bytes.data() + 4, &width, 4);
  std::memcpy(bytes.data() + 8, &height, 4);
  for (std::size_t i = 0; i < floats; ++i) {
    const float value = 0.25f * static_cast<float>(i);
    std::memcpy(bytes.data() + 12 + 4 * i, &value, 4);
  }
  return bytes;
}

void expect_corrupt(const std::vector<std::byte>& bytes, const std::string& words) {
  auto result = parse_flo(bytes, "crafted.flo");
  REQUIRE_FALSE(result.is_ok());
  CHECK(result.status().code() == ErrorCode::kCorruptData);
  CHECK_MESSAGE(result.status().message().find(words) != std::string::npos,
                result.status().message());
  CHECK(result.status().message().find("crafted.flo") != std::string::npos);
}

TEST_CASE(".flo files round-trip exactly and keep Middlebury's layout") {
  cv::Mat flow(3, 5, CV_32FC2);
  cv::randu(flow, cv::Scalar(-40.0, -40.0), cv::Scalar(40.0, 40.0));
  const std::string path = testing::test_output_dir("flo") + "/round_trip.flo";
  REQUIRE(write_flo(path, flow).is_ok());

  std::ifstream in(path, std::ios::binary | std::ios::ate);
  CHECK(static_cast<long>(in.tellg()) == 12 + 3 * 5 * 8);
  in.seekg(0);
  char tag[4];
  in.read(tag, 4);
  CHECK(std::string(tag, 4) == "PIEH");  // 202021.25 as little-endian bytes

  auto read = read_flo(path);
  REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
  CHECK(read->flow.size() == flow.size());
  CHECK(cv::norm(read->flow, flow, cv::NORM_INF) == 0.0);
  CHECK(read->invalid_pixels == 0);
  CHECK(cv::countNonZero(read->valid) == 15);
}

TEST_CASE(".flo unknown flow (> 1e9, NaN, inf) becomes invalid pixels with zero flow") {
  cv::Mat flow(2, 3, CV_32FC2, cv::Scalar(1.5, -2.5));
  flow.at<cv::Vec2f>(0, 1) = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  flow.at<cv::Vec2f>(1, 2) = {0.0f, std::numeric_limits<float>::infinity()};
  cv::Mat valid(2, 3, CV_8UC1, cv::Scalar(255));
  valid.at<std::uint8_t>(1, 0) = 0;
  const std::string path = testing::test_output_dir("flo") + "/unknown.flo";
  REQUIRE(write_flo(path, flow, valid).is_ok());
  auto read = read_flo(path);
  REQUIRE(read.is_ok());
  CHECK(read->invalid_pixels == 3);
  CHECK(read->valid.at<std::uint8_t>(0, 0) == 255);
  CHECK(read->valid.at<std::uint8_t>(0, 1) == 0);
  CHECK(read->valid.at<std::uint8_t>(1, 0) == 0);
  CHECK(read->valid.at<std::uint8_t>(1, 2) == 0);
  CHECK(read->flow.at<cv::Vec2f>(0, 1) == cv::Vec2f(0.0f, 0.0f));
  CHECK(read->flow.at<cv::Vec2f>(0, 0) == cv::Vec2f(1.5f, -2.5f));
  CHECK(cv::checkRange(read->flow));

  // Middlebury writes 1e10 for unknown; a finite 2e9 read from another tool is unknown too.
  auto bytes = flo_bytes(kFloMagic, 1, 1, 2);
  const float huge = 2e9f;
  std::memcpy(bytes.data() + 12, &huge, 4);
  auto parsed = parse_flo(bytes);
  REQUIRE(parsed.is_ok());
  CHECK(parsed->invalid_pixels == 1);
}

TEST_CASE("corrupt .flo files are refused with a message, never read past their end") {
  expect_corrupt({}, "fewer than the 12-byte header");
  expect_corrupt(std::vector<std::byte>(7), "fewer than the 12-byte header");
  expect_corrupt(flo_bytes(1.0f, 2, 2, 8), "does not start with the .flo tag");
  expect_corrupt(flo_bytes(kFloMagic, 0, 2, 0), "outside 1..16384");
  expect_corrupt(flo_bytes(kFloMagic, 2, -1, 0), "outside 1..16384");
  expect_corrupt(flo_bytes(kFloMagic, 16385, 1, 0), "outside 1..16384");
  // A header whose width*height*8 overflows 32 bits must not wrap to a small size.
  expect_corrupt(flo_bytes(kFloMagic, 16384, 16384, 4), "truncated");
  expect_corrupt(flo_bytes(kFloMagic, 4, 3, 23), "truncated");
  expect_corrupt(flo_bytes(kFloMagic, 4, 3, 25), "trailing bytes");
  CHECK(parse_flo(flo_bytes(kFloMagic, 4, 3, 24)).is_ok());

  CHECK(read_flo("/nonexistent/fovea.flo").status().code() == ErrorCode::kNotFound);
  const std::string path = testing::test_output_dir("flo") + "/text.flo";
  std::ofstream(path) << "this is not a flow file at all";
  CHECK(read_flo(path).status().code() == ErrorCode::kCorruptData);
}

TEST_CASE("write_flo refuses what it cannot write") {
  const std::string dir = testing::test_output_dir("flo");
  CHECK(write_flo(dir + "/a.flo", cv::Mat()).code() == ErrorCode::kInvalidArgument);
  CHECK(write_flo(dir + "/a.flo", cv::Mat(2, 2, CV_32FC1)).code() == ErrorCode::kInvalidArgument);
  CHECK(write_flo(dir + "/a.flo", cv::Mat(2, 2, CV_32FC2), cv::Mat(3, 2, CV_8UC1)).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(write_flo("/nonexistent/dir/a.flo", cv::Mat(2, 2, CV_32FC2, cv::Scalar(0, 0))).code() ==
        ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fovea::vision
