#include "fovea/vision/video_frame_source.h"

#include <filesystem>

#include <opencv2/videoio.hpp>

namespace fovea::vision {

struct VideoFrameSource::Capture {
  cv::VideoCapture capture;
};

VideoFrameSource::VideoFrameSource(std::unique_ptr<Capture> capture, std::string path,
                                   VideoInfo info)
    : capture_(std::move(capture)), path_(std::move(path)), info_(info) {}
VideoFrameSource::VideoFrameSource(VideoFrameSource&&) noexcept = default;
VideoFrameSource& VideoFrameSource::operator=(VideoFrameSource&&) noexcept = default;
VideoFrameSource::~VideoFrameSource() = default;

Result<VideoFrameSource> VideoFrameSource::open(const std::string& path, int max_side) {
  const bool is_pattern = path.find('%') != std::string::npos;
  if (!is_pattern && !std::filesystem::exists(path))
    return Status(ErrorCode::kNotFound, "no video at '" + path + "'");
  auto capture = std::make_unique<Capture>();
  try {
    // Name the backend: CAP_ANY would also try GStreamer, whose plugin scan is slow, noisy and
    // leaks (libusb), for files FFmpeg reads anyway.
    if (!capture->capture.open(path, is_pattern ? cv::CAP_IMAGES : cv::CAP_FFMPEG))
      return Status(ErrorCode::kCorruptData,
                    "OpenCV cannot read '" + path + "' as a video or image sequence");
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kCorruptData, "opening '" + path + "': " + error.what());
  }
  VideoInfo info;
  info.width = static_cast<int>(capture->capture.get(cv::CAP_PROP_FRAME_WIDTH));
  info.height = static_cast<int>(capture->capture.get(cv::CAP_PROP_FRAME_HEIGHT));
  info.frames_per_second = capture->capture.get(cv::CAP_PROP_FPS);
  info.frame_count = std::max(0, static_cast<int>(capture->capture.get(cv::CAP_PROP_FRAME_COUNT)));
  if (info.width <= 0 || info.height <= 0 || info.width > max_side || info.height > max_side)
    return Status(ErrorCode::kInvalidArgument,
                  "'" + path + "' has frames of " + std::to_string(info.width) + "x" +
                      std::to_string(info.height) + ", outside 1.." + std::to_string(max_side));
  return VideoFrameSource(std::move(capture), path, info);
}

Result<cv::Mat> VideoFrameSource::next(bool loop) {
  cv::Mat frame;
  try {
    if (!capture_->capture.read(frame) && loop) {
      capture_->capture.set(cv::CAP_PROP_POS_FRAMES, 0);
      capture_->capture.read(frame);
    }
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kCorruptData, "reading '" + path_ + "': " + error.what());
  }
  if (frame.empty()) return Status(ErrorCode::kNotFound, "'" + path_ + "' has no more frames");
  if (frame.cols != info_.width || frame.rows != info_.height || frame.type() != CV_8UC3)
    return Status(ErrorCode::kCorruptData,
                  "'" + path_ + "' changed frame size or format mid-stream");
  return frame;
}

}  // namespace fovea::vision
