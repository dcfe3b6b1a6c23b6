#include "photos.h"

#include <algorithm>
#include <filesystem>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fovea::bench {
namespace {

constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};

cv::Mat normalised(const Photo& photo, int width, int height) {
  cv::Mat resized, f;
  cv::resize(photo.rgb, resized, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  resized.convertTo(f, CV_32FC3, 1.0 / 255.0);
  f -= cv::Scalar(kMean[0], kMean[1], kMean[2]);
  cv::divide(f, cv::Scalar(kStd[0], kStd[1], kStd[2]), f);
  return f;
}

}  // namespace

Result<std::vector<Photo>> load_photos(const std::string& dir) {
  std::error_code error;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string extension = entry.path().extension().string();
    if (extension == ".jpg" || extension == ".png" || extension == ".ppm")
      paths.push_back(entry.path());
  }
  if (error)
    return Status(ErrorCode::kNotFound, "cannot list photos in '" + dir + "': " + error.message());
  std::sort(paths.begin(), paths.end());
  std::vector<Photo> photos;
  for (const auto& path : paths) {
    cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
    if (bgr.empty() || bgr.cols < 32 || bgr.rows < 32) continue;  // icons and masks say little
    Photo photo{path.filename().string(), {}};
    cv::cvtColor(bgr, photo.rgb, cv::COLOR_BGR2RGB);
    photos.push_back(std::move(photo));
  }
  if (photos.empty())
    return Status(ErrorCode::kNotFound, "no readable .jpg, .png or .ppm photos in '" + dir +
                                            "' (install opencv-doc, or pass --photos DIR)");
  return photos;
}

std::vector<float> to_nhwc(const Photo& photo, int width, int height) {
  cv::Mat f = normalised(photo, width, height);
  return std::vector<float>(f.ptr<float>(), f.ptr<float>() + f.total() * 3);
}

cv::Mat to_nchw_blob(const Photo& photo, int width, int height) {
  return cv::dnn::blobFromImage(normalised(photo, width, height));
}

}  // namespace fovea::bench
