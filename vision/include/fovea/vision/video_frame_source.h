#pragma once
// Camera frames from a video file or an image sequence, as the loop's default input when no
// engine texture or live camera is attached.

#include <memory>
#include <string>

#include <opencv2/core/mat.hpp>

#include "fovea/core/status.h"

namespace fovea::vision {

struct VideoInfo {
  int width = 0;
  int height = 0;
  double frames_per_second = 0.0;
  int frame_count = 0;  // 0 when the container does not say
};

class VideoFrameSource {
 public:
  // Opens a video file (anything OpenCV's FFmpeg backend reads) or an image sequence pattern
  // such as "frames/%04d.png". Refuses streams whose frames exceed `max_side` pixels a side.
  static Result<VideoFrameSource> open(const std::string& path, int max_side = 8192);

  VideoFrameSource(VideoFrameSource&&) noexcept;
  VideoFrameSource& operator=(VideoFrameSource&&) noexcept;
  ~VideoFrameSource();

  const VideoInfo& info() const noexcept { return info_; }

  // The next frame as 8-bit BGR; when the stream ends, starts again from the first frame if
  // `loop` is set, otherwise returns kNotFound.
  Result<cv::Mat> next(bool loop = false);

 private:
  struct Capture;
  VideoFrameSource(std::unique_ptr<Capture> capture, std::string path, VideoInfo info);
  std::unique_ptr<Capture> capture_;
  std::string path_;
  VideoInfo info_;
};

}  // namespace fovea::vision
