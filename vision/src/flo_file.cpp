#include "fovea/vision/flo_file.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "fovea/vision/flow_field.h"

namespace fovea::vision {
namespace {

// .flo is little-endian; every platform fovea targets (x86-64, AArch64) is too, so the payload
// is copied as is.
static_assert(std::endian::native == std::endian::little, ".flo reading assumes little-endian");

constexpr std::size_t kHeaderBytes = 12;

template <typename T>
T load(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

bool is_unknown(float value) {
  return !std::isfinite(value) || std::fabs(value) > kFloUnknownThreshold;
}

}  // namespace

Result<FloData> parse_flo(std::span<const std::byte> bytes, const std::string& name) {
  auto corrupt = [&](const std::string& why) {
    return Status(ErrorCode::kCorruptData, "'" + name + "' is not a valid .flo file: " + why);
  };
  if (bytes.size() < kHeaderBytes)
    return corrupt("it has " + std::to_string(bytes.size()) + " bytes, fewer than the " +
                   std::to_string(kHeaderBytes) + "-byte header");
  const float magic = load<float>(bytes.data());
  if (magic != kFloMagic)
    return corrupt("it does not start with the .flo tag 202021.25 (\"PIEH\")");
  const std::int32_t width = load<std::int32_t>(bytes.data() + 4);
  const std::int32_t height = load<std::int32_t>(bytes.data() + 8);
  if (width < 1 || height < 1 || width > kMaxFlowSide || height > kMaxFlowSide)
    return corrupt("its header says " + std::to_string(width) + "x" + std::to_string(height) +
                   ", outside 1.." + std::to_string(kMaxFlowSide) + " a side");
  const std::size_t pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  const std::size_t expected = kHeaderBytes + pixels * 2 * sizeof(float);
  if (bytes.size() != expected)
    return corrupt("a " + std::to_string(width) + "x" + std::to_string(height) + " field takes " +
                   std::to_string(expected) + " bytes but it has " + std::to_string(bytes.size()) +
                   (bytes.size() < expected ? " (truncated)" : " (trailing bytes)"));

  FloData data;
  data.flow.create(height, width, CV_32FC2);
  data.valid.create(height, width, CV_8UC1);
  std::memcpy(data.flow.data, bytes.data() + kHeaderBytes, pixels * 2 * sizeof(float));
  auto* flow = reinterpret_cast<float*>(data.flow.data);
  std::uint8_t* valid = data.valid.data;
  for (std::size_t i = 0; i < pixels; ++i) {
    const bool unknown = is_unknown(flow[2 * i]) || is_unknown(flow[2 * i + 1]);
    valid[i] = unknown ? 0 : 255;
    if (unknown) {
      flow[2 * i] = 0.0f;
      flow[2 * i + 1] = 0.0f;
      ++data.invalid_pixels;
    }
  }
  return data;
}

Result<FloData> read_flo(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return Status(ErrorCode::kNotFound, "cannot read .flo file '" + path + "'");
  // Bounded before allocating: the largest valid file is a kMaxFlowSide square.
  constexpr std::uintmax_t kLargest =
      kHeaderBytes + std::uintmax_t{kMaxFlowSide} * kMaxFlowSide * 2 * sizeof(float);
  if (size > kLargest)
    return Status(ErrorCode::kCorruptData, "'" + path + "' has " + std::to_string(size) +
                                               " bytes, more than any .flo fovea accepts");
  std::vector<std::byte> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    return Status(ErrorCode::kNotFound, "cannot read .flo file '" + path + "'");
  return parse_flo(bytes, path);
}

Status write_flo(const std::string& path, const cv::Mat& flow, const cv::Mat& valid) {
  if (flow.empty() || flow.type() != CV_32FC2 || flow.dims != 2)
    return Status(ErrorCode::kInvalidArgument, "write_flo takes a non-empty CV_32FC2 field");
  if (flow.cols > kMaxFlowSide || flow.rows > kMaxFlowSide)
    return Status(ErrorCode::kInvalidArgument, "a " + std::to_string(flow.cols) + "x" +
                                                   std::to_string(flow.rows) +
                                                   " field is larger than .flo readers accept");
  if (!valid.empty() && (valid.type() != CV_8UC1 || valid.size() != flow.size()))
    return Status(ErrorCode::kInvalidArgument,
                  "write_flo's validity mask must be CV_8UC1 of the field's size");
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status(ErrorCode::kNotFound, "cannot create .flo file '" + path + "'");
  const std::int32_t header[2] = {flow.cols, flow.rows};
  out.write(reinterpret_cast<const char*>(&kFloMagic), sizeof(kFloMagic));
  out.write(reinterpret_cast<const char*>(header), sizeof(header));
  constexpr float kUnknown = 1e10f;
  std::vector<float> row(static_cast<std::size_t>(flow.cols) * 2);
  for (int y = 0; y < flow.rows; ++y) {
    const auto* in = flow.ptr<cv::Vec2f>(y);
    const std::uint8_t* known = valid.empty() ? nullptr : valid.ptr<std::uint8_t>(y);
    for (int x = 0; x < flow.cols; ++x) {
      const bool ok =
          (known == nullptr || known[x] != 0) && std::isfinite(in[x][0]) && std::isfinite(in[x][1]);
      row[2 * x] = ok ? in[x][0] : kUnknown;
      row[2 * x + 1] = ok ? in[x][1] : kUnknown;
    }
    out.write(reinterpret_cast<const char*>(row.data()),
              static_cast<std::streamsize>(row.size() * sizeof(float)));
  }
  if (!out.flush()) return Status(ErrorCode::kInternal, "writing '" + path + "' failed");
  return Status::ok();
}

}  // namespace fovea::vision
