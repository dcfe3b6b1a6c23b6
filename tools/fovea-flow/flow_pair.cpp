#include "flow_pair.h"

#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fovea/vision/flo_file.h"

namespace fovea::flow_tool {
namespace {

namespace fs = std::filesystem;

std::string size_text(cv::Size size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}
std::string size_text(const cv::Mat& image) {
  return size_text(image.size());
}

Result<cv::Mat> read_png(const fs::path& path, int flags) {
  if (!fs::exists(path))
    return Status(ErrorCode::kNotFound, "missing " + path.filename().string() + " in '" +
                                            path.parent_path().string() + "'");
  cv::Mat image = cv::imread(path.string(), flags);
  if (image.empty())
    return Status(ErrorCode::kCorruptData, "OpenCV cannot decode '" + path.string() + "'");
  return image;
}

// Sintel's masks are 0/255 PNGs; anything above mid-grey counts as set.
Result<cv::Mat> read_mask(const fs::path& path, const cv::Size& size) {
  auto image = read_png(path, cv::IMREAD_GRAYSCALE);
  if (!image.is_ok()) return image.status();
  if (image->size() != size)
    return Status(ErrorCode::kCorruptData, std::string("'").append(path.string()) + "' is " +
                                               size_text(*image) + ", not the frames' " +
                                               size_text(size));
  cv::Mat mask;
  cv::threshold(*image, mask, 127, 255, cv::THRESH_BINARY);
  return mask;
}

}  // namespace

Result<FlowPair> load_flow_pair(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::is_directory(dir))
    return Status(ErrorCode::kNotFound, "'" + folder + "' is not a folder");
  FlowPair pair;
  pair.folder = folder;
  fs::path normal = fs::absolute(dir).lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();  // "pair/" names "pair"
  pair.name = normal.filename().string();

  auto frame1 = read_png(dir / "frame1.png", cv::IMREAD_COLOR);
  if (!frame1.is_ok()) return frame1.status();
  auto frame2 = read_png(dir / "frame2.png", cv::IMREAD_COLOR);
  if (!frame2.is_ok()) return frame2.status();
  if (frame1->size() != frame2->size())
    return Status(ErrorCode::kCorruptData, "'" + folder + "': frame1.png is " + size_text(*frame1) +
                                               " but frame2.png is " + size_text(*frame2));
  pair.frame1 = std::move(*frame1);
  pair.frame2 = std::move(*frame2);

  const fs::path flo = dir / "flow_gt.flo";
  if (!fs::exists(flo))
    return Status(ErrorCode::kNotFound, "missing flow_gt.flo in '" + folder + "'");
  auto truth = vision::read_flo(flo.string());
  if (!truth.is_ok()) return truth.status();
  if (truth->flow.size() != pair.frame1.size())
    return Status(ErrorCode::kCorruptData, "'" + folder + "': flow_gt.flo is " +
                                               size_text(truth->flow) + " but the frames are " +
                                               size_text(pair.frame1));
  pair.truth = std::move(truth->flow);
  pair.valid = std::move(truth->valid);

  if (fs::exists(dir / "invalid.png")) {
    auto invalid = read_mask(dir / "invalid.png", pair.frame1.size());
    if (!invalid.is_ok()) return invalid.status();
    pair.valid.setTo(0, *invalid);
    pair.has_invalid_png = true;
  }
  if (fs::exists(dir / "occlusions.png")) {
    auto occluded = read_mask(dir / "occlusions.png", pair.frame1.size());
    if (!occluded.is_ok()) return occluded.status();
    pair.occluded = std::move(*occluded);
  }
  return pair;
}

}  // namespace fovea::flow_tool
