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

std::vector<float> to_flow_pair(const Photo& photo, int width, int height, float dx, float dy) {
  cv::Mat resized, grey, moved;
  cv::resize(photo.rgb, resized, cv::Size(width, height), 0, 0, cv::INTER_AREA);
  cv::cvtColor(resized, grey, cv::COLOR_RGB2GRAY);
  const cv::Matx23f shift(1, 0, dx, 0, 1, dy);
  cv::warpAffine(grey, moved, shift, grey.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  std::vector<float> pair(static_cast<size_t>(width) * height * 3, 0.0f);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      float* px = &pair[(static_cast<size_t>(y) * width + x) * 3];
      px[0] = float(grey.at<std::uint8_t>(y, x)) / 255.0f;
      px[1] = float(moved.at<std::uint8_t>(y, x)) / 255.0f;
    }
  return pair;
}

}  // namespace fovea::bench
