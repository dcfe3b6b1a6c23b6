#include <doctest/doctest.h>

#include <fstream>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "fovea/vision/video_frame_source.h"
#include "support/golden_image.h"

namespace fovea::vision {
namespace {

TEST_CASE("video frames are read in order, loop on request, and bad files are errors") {
  const std::string dir = testing::test_output_dir("video");
  const std::string path = dir + "/moving_square.avi";
  {
    cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0,
                           cv::Size(64, 48));
    REQUIRE(writer.isOpened());
    for (int i = 0; i < 5; ++i) {
      cv::Mat frame(48, 64, CV_8UC3, cv::Scalar(20, 20, 20));
      cv::rectangle(frame, cv::Rect(i * 10, 10, 12, 12), cv::Scalar(255, 255, 255), cv::FILLED);
      writer.write(frame);
    }
  }
  auto source = VideoFrameSource::open(path);
  REQUIRE_MESSAGE(source.is_ok(), source.status().to_string());
  CHECK(source->info().width == 64);
  CHECK(source->info().height == 48);
  CHECK(source->info().frame_count == 5);
  for (int i = 0; i < 5; ++i) {
    auto frame = source->next();
    REQUIRE(frame.is_ok());
    // The square moves right by 10 px a frame; JPEG blurs edges, so look at its centre.
    CHECK(frame->at<cv::Vec3b>(16, i * 10 + 6)[0] > 200);
    CHECK(frame->at<cv::Vec3b>(40, 60)[0] < 60);
  }
  CHECK(source->next().status().code() == ErrorCode::kNotFound);
  auto looped = source->next(/*loop=*/true);
  REQUIRE(looped.is_ok());
  CHECK(looped->at<cv::Vec3b>(16, 6)[0] > 200);  // back at frame 0

  CHECK(VideoFrameSource::open(dir + "/missing.avi").status().code() == ErrorCode::kNotFound);
  std::ofstream(dir + "/garbage.avi") << "this is not a video container at all";
  CHECK(VideoFrameSource::open(dir + "/garbage.avi").status().code() == ErrorCode::kCorruptData);
  auto too_small_limit = VideoFrameSource::open(path, 32);
  CHECK(too_small_limit.status().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fovea::vision
