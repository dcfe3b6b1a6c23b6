#include <doctest/doctest.h>

#include <cmath>

#include <opencv2/core.hpp>

#include "fovea/vision/flow_metrics.h"

namespace fovea::vision {
namespace {

TEST_CASE("EPE is split into non-occluded and occluded pixels and skips invalid ones") {
  const cv::Mat truth(1, 4, CV_32FC2, cv::Scalar(0, 0));
  cv::Mat estimate(1, 4, CV_32FC2, cv::Scalar(0, 0));
  estimate.at<cv::Vec2f>(0, 0) = {3.0f, 4.0f};    // error 5, occluded
  estimate.at<cv::Vec2f>(0, 1) = {1.0f, 0.0f};    // error 1
  estimate.at<cv::Vec2f>(0, 3) = {100.0f, 0.0f};  // invalid ground truth: ignored
  cv::Mat occluded(1, 4, CV_8UC1, cv::Scalar(0));
  occluded.at<std::uint8_t>(0, 0) = 255;
  cv::Mat valid(1, 4, CV_8UC1, cv::Scalar(255));
  valid.at<std::uint8_t>(0, 3) = 0;

  auto error = flow_error(estimate, truth, valid, occluded);
  REQUIRE(error.is_ok());
  CHECK(error->pixels == 3);
  CHECK(error->occluded_pixels == 1);
  CHECK(error->epe == doctest::Approx(2.0));  // (5 + 1 + 0) / 3
  CHECK(error->epe_occ == doctest::Approx(5.0));
  CHECK(error->epe_noc == doctest::Approx(0.5));  // (1 + 0) / 2
  CHECK(error->outliers == doctest::Approx(1.0 / 3.0));

  auto unmasked = flow_error(estimate, truth);
  REQUIRE(unmasked.is_ok());
  CHECK(unmasked->pixels == 4);
  CHECK(std::isnan(unmasked->epe_occ));  // no occlusion mask: no occluded EPE
  CHECK(unmasked->epe_noc == doctest::Approx(unmasked->epe));
}

TEST_CASE("flow_error refuses mismatched fields and masks") {
  const cv::Mat truth(4, 4, CV_32FC2, cv::Scalar(0, 0));
  CHECK(flow_error(cv::Mat(4, 5, CV_32FC2), truth).status().message().find("ground truth is 4x4") !=
        std::string::npos);
  CHECK_FALSE(flow_error(cv::Mat(4, 4, CV_32FC1), truth).is_ok());
  CHECK_FALSE(flow_error(truth, truth, cv::Mat(4, 4, CV_32FC1)).is_ok());
  CHECK_FALSE(flow_error(truth, truth, {}, cv::Mat(2, 2, CV_8UC1)).is_ok());
}

TEST_CASE(
    "confidence_quality: means over visible and occluded pixels, EPE of trusted and doubted") {
  const cv::Mat truth(1, 4, CV_32FC2, cv::Scalar(0, 0));
  cv::Mat estimate(1, 4, CV_32FC2, cv::Scalar(0, 0));
  estimate.at<cv::Vec2f>(0, 0) = {3.0f, 4.0f};    // error 5, occluded, doubted (0.1)
  estimate.at<cv::Vec2f>(0, 1) = {1.0f, 0.0f};    // error 1, trusted (0.9)
  estimate.at<cv::Vec2f>(0, 3) = {100.0f, 0.0f};  // invalid ground truth: ignored
  cv::Mat confidence = (cv::Mat_<float>(1, 4) << 0.1f, 0.9f, 0.5f, 0.0f);  // pixel 2: error 0
  cv::Mat occluded(1, 4, CV_8UC1, cv::Scalar(0));
  occluded.at<std::uint8_t>(0, 0) = 255;
  cv::Mat valid(1, 4, CV_8UC1, cv::Scalar(255));
  valid.at<std::uint8_t>(0, 3) = 0;

  auto q = confidence_quality(estimate, confidence, truth, valid, occluded);
  REQUIRE(q.is_ok());
  CHECK(q->mean_occ == doctest::Approx(0.1));
  CHECK(q->mean_noc == doctest::Approx(0.7));           // (0.9 + 0.5) / 2
  CHECK(q->trusted_share == doctest::Approx(2.0 / 3));  // pixels 1 and 2 (0.5 counts as trusted)
  CHECK(q->epe_trusted == doctest::Approx(0.5));        // (1 + 0) / 2
  CHECK(q->epe_doubted == doctest::Approx(5.0));

  CHECK_FALSE(confidence_quality(estimate, cv::Mat(1, 4, CV_8UC1), truth).is_ok());
  CHECK_FALSE(confidence_quality(estimate, cv::Mat(2, 4, CV_32FC1), truth).is_ok());
  CHECK_FALSE(confidence_quality(estimate, confidence, truth, cv::Mat(1, 4, CV_32FC1)).is_ok());
}

}  // namespace
}  // namespace fovea::vision
