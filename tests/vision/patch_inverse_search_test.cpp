#include "fovea/vision/patch_inverse_search.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "fovea/vision/flow_metrics.h"
#include "fovea/vision/synthetic_flow.h"

using namespace fovea;
using namespace fovea::vision;

namespace {

struct GrayPair {
  cv::Mat frame1, frame2, flow;
};

GrayPair gray(const SyntheticFlowPair& pair) {
  GrayPair out;
  cv::cvtColor(pair.frame1, out.frame1, cv::COLOR_BGR2GRAY);
  cv::cvtColor(pair.frame2, out.frame2, cv::COLOR_BGR2GRAY);
  out.flow = pair.flow;
  return out;
}

double epe(const cv::Mat& flow, const cv::Mat& truth, cv::Rect region) {
  auto error = flow_error(flow(region), truth(region));
  REQUIRE(error.is_ok());
  return error->epe;
}

// The truth, off by `offset` everywhere and by Gaussian noise of `sigma` px per pixel: what a
// network's flow looks like to the search.
cv::Mat perturbed(const cv::Mat& truth, cv::Point2f offset, float sigma, unsigned seed = 7) {
  cv::Mat noise(truth.size(), CV_32FC2);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, sigma);
  cv::Mat out = truth + noise;
  out += cv::Scalar(offset.x, offset.y);
  return out;
}

}  // namespace

TEST_CASE("patch inverse search recovers translations and rotations from a nearby flow") {
  const cv::Rect inner(16, 16, 256 - 32, 128 - 32);
  struct Case {
    const char* name;
    SyntheticFlowPair pair;
  };
  for (const Case& c : {Case{"translation", make_translated_pair({256, 128}, {3.3f, -2.6f})},
                        Case{"rotation", make_rotated_pair({256, 128}, 2.0f)}}) {
    CAPTURE(c.name);
    const GrayPair pair = gray(c.pair);
    cv::Mat flow = perturbed(pair.flow, {1.2f, -0.8f}, 0.5f);
    const cv::Rect all(0, 0, 256, 128);
    const double before = epe(flow, pair.flow, all);
    for (int iterations : {2, 8}) {
      CAPTURE(iterations);
      PatchInverseSearch search(PatchSearchOptions{.iterations = iterations});
      cv::Mat refined = flow.clone();
      REQUIRE(search.refine(pair.frame1, pair.frame2, refined).is_ok());
      const double after = epe(refined, pair.flow, all), inside = epe(refined, pair.flow, inner);
      MESSAGE(std::string(c.name) << ", " << iterations << " iterations: EPE " << before << " -> "
                                  << after << " px (" << inside << " px 16 px in from the edges)");
      CHECK(before > 1.4);
      // Measured: translation 0.072 / 0.097 px (2 / 8 iterations; 0.021 / 0.019 inside),
      // rotation 0.084 / 0.097 (0.062 / 0.060 inside); the rest is at the frame's edges.
      CHECK(after < 0.15);
      CHECK(inside < 0.1);
    }
  }
}

TEST_CASE("patch inverse search follows motion that leaves the frame") {
  // Frame 1's right and bottom edges move 6 px out of frame 2, where nothing matches them.
  // Frame 2 is read as if extended by its edge pixels, so patches that reach out of it still
  // match on the part that is inside and hold their place; the outermost 8 px can only keep
  // about their start, and the band just inside must be as good as the interior.
  const GrayPair pair = gray(make_translated_pair({192, 96}, {6.0f, 4.0f}));
  const cv::Mat start = perturbed(pair.flow, {-1.0f, 1.0f}, 0.3f);
  cv::Mat flow = start.clone();
  PatchInverseSearch search;
  REQUIRE(search.refine(pair.frame1, pair.frame2, flow).is_ok());
  const cv::Rect outer_right(192 - 8, 0, 8, 96 - 8), outer_bottom(0, 96 - 8, 192, 8);
  const cv::Rect inside_right(192 - 16, 0, 8, 96 - 16), inside_bottom(0, 96 - 16, 192 - 16, 8);
  MESSAGE("EPE, start -> refined: outer 8 px right "
          << epe(start, pair.flow, outer_right) << " -> " << epe(flow, pair.flow, outer_right)
          << ", bottom " << epe(start, pair.flow, outer_bottom) << " -> "
          << epe(flow, pair.flow, outer_bottom) << "; 8-16 px in: right "
          << epe(flow, pair.flow, inside_right) << ", bottom "
          << epe(flow, pair.flow, inside_bottom));
  CHECK(epe(flow, pair.flow, outer_right) < epe(start, pair.flow, outer_right));
  CHECK(epe(flow, pair.flow, outer_bottom) < epe(start, pair.flow, outer_bottom));
  CHECK(epe(flow, pair.flow, inside_right) < 0.25);
  CHECK(epe(flow, pair.flow, inside_bottom) < 0.25);
}

TEST_CASE("patch inverse search: AVX2 and portable code agree") {
  const GrayPair pair = gray(make_rotated_pair({200, 104}, 3.0f, 5));
  const cv::Mat start = perturbed(pair.flow, {0.7f, 0.4f}, 0.6f);
  for (int stride : {1, 3, 4, 8}) {
    CAPTURE(stride);
    PatchInverseSearch fast(PatchSearchOptions{.patch_stride = stride, .iterations = 4});
    PatchInverseSearch plain(
        PatchSearchOptions{.patch_stride = stride, .iterations = 4, .simd = false});
    cv::Mat a = start.clone(), b = start.clone();
    REQUIRE(fast.refine(pair.frame1, pair.frame2, a).is_ok());
    REQUIRE(plain.refine(pair.frame1, pair.frame2, b).is_ok());
    // Only the order of the sums differs; a patch on the edge of the 8 px revert test could
    // flip, so compare the typical and the worst difference separately.
    const double mean = cv::norm(a, b, cv::NORM_L1) / double(2 * a.total());
    MESSAGE("stride " << stride << ": mean |difference| " << mean << " px, largest "
                      << cv::norm(a, b, cv::NORM_INF));
    CHECK(mean < 1e-4);
    CHECK(cv::norm(a, b, cv::NORM_INF) < 0.05);
    // And both improved on the start.
    CHECK(epe(a, pair.flow, {0, 0, 200, 104}) < 0.5 * epe(start, pair.flow, {0, 0, 200, 104}));
  }
}

TEST_CASE("patch inverse search keeps the flow where frame 1 has no texture") {
  // No gradient, no step: every patch keeps its start, and densification averages equal
  // vectors.
  const cv::Mat flat1(64, 64, CV_8UC1, cv::Scalar(90)), flat2(64, 64, CV_8UC1, cv::Scalar(140));
  cv::Mat flow(64, 64, CV_32FC2, cv::Scalar(2.5, -1.25));
  PatchInverseSearch search;
  REQUIRE(search.refine(flat1, flat2, flow).is_ok());
  CHECK(cv::norm(flow, cv::Mat(64, 64, CV_32FC2, cv::Scalar(2.5, -1.25)), cv::NORM_INF) < 1e-5);
}

TEST_CASE("patch inverse search: bad inputs are refused and leave the flow alone") {
  const GrayPair pair = gray(make_translated_pair({64, 48}, {1.0f, 1.0f}));
  const cv::Mat start = pair.flow.clone();
  auto refused = [&](PatchSearchOptions options, const cv::Mat& f1, const cv::Mat& f2,
                     cv::Mat flow) {
    const cv::Mat before = flow.clone();
    PatchInverseSearch search(options);
    const Status status = search.refine(f1, f2, flow);
    CHECK(status.code() == ErrorCode::kInvalidArgument);
    CHECK(status.message().find("patch inverse search") != std::string::npos);
    if (!before.empty() && before.size() == flow.size() && before.type() == flow.type())
      CHECK(cv::norm(before, flow, cv::NORM_INF) == 0.0);
    return status.message();
  };
  MESSAGE(refused({}, cv::Mat(), pair.frame2, start.clone()));
  MESSAGE(refused({}, pair.frame1, pair.frame2(cv::Rect(0, 0, 32, 48)).clone(), start.clone()));
  cv::Mat bgr;
  cv::cvtColor(pair.frame1, bgr, cv::COLOR_GRAY2BGR);
  MESSAGE(refused({}, bgr, pair.frame2, start.clone()));
  MESSAGE(refused({}, pair.frame1, pair.frame2, cv::Mat(48, 64, CV_32FC1, cv::Scalar(0))));
  MESSAGE(refused({}, pair.frame1, pair.frame2, cv::Mat(24, 32, CV_32FC2, cv::Scalar(0))));
  MESSAGE(refused({.patch_stride = 0}, pair.frame1, pair.frame2, start.clone()));
  MESSAGE(refused({.patch_stride = 9}, pair.frame1, pair.frame2, start.clone()));
  MESSAGE(refused({.iterations = -1}, pair.frame1, pair.frame2, start.clone()));
}

TEST_CASE("patch inverse search leaves frames too small for a patch as they are") {
  for (cv::Size size : {cv::Size(9, 40), cv::Size(40, 9), cv::Size(1, 1)}) {
    CAPTURE(size);
    const cv::Mat f1(size, CV_8UC1, cv::Scalar(10)), f2(size, CV_8UC1, cv::Scalar(20));
    cv::Mat flow(size, CV_32FC2, cv::Scalar(1, 2));
    PatchInverseSearch search;
    REQUIRE(search.refine(f1, f2, flow).is_ok());
    CHECK(cv::norm(flow, cv::Mat(size, CV_32FC2, cv::Scalar(1, 2)), cv::NORM_INF) == 0.0);
  }
  // 10 px, the smallest searched, works.
  const GrayPair pair = gray(make_translated_pair({10, 10}, {0.5f, 0.25f}));
  cv::Mat flow = pair.flow.clone();
  PatchInverseSearch search;
  REQUIRE(search.refine(pair.frame1, pair.frame2, flow).is_ok());
  CHECK(cv::norm(flow, pair.flow, cv::NORM_INF) < 1.0);
}

TEST_CASE("patch inverse search runs on the threads it is given") {
  const GrayPair pair = gray(make_translated_pair({128, 64}, {2.0f, 1.0f}));
  const cv::Mat start = perturbed(pair.flow, {0.5f, 0.5f}, 0.2f);
  PatchInverseSearch opencv_threads, caller;
  int calls = 0;
  caller.set_parallel_for([&](int count, const std::function<void(int, int)>& body) {
    ++calls;
    body(0, count / 2);
    body(count / 2, count);
  });
  cv::Mat a = start.clone(), b = start.clone();
  REQUIRE(opencv_threads.refine(pair.frame1, pair.frame2, a).is_ok());
  REQUIRE(caller.refine(pair.frame1, pair.frame2, b).is_ok());
  CHECK(calls >= 3);  // the search, the densification's phases and the division
  CHECK(cv::norm(a, b, cv::NORM_INF) == 0.0);
}

TEST_CASE(
    "patch inverse search's confidence is high where frame 2 matches and low where it cannot") {
  // A 6 px shift: the 6 columns and 4 rows that leave the frame have nothing to match.
  const SyntheticFlowPair synthetic = make_translated_pair({192, 96}, {6.0f, 4.0f});
  const GrayPair pair = gray(synthetic);
  cv::Mat flow = perturbed(pair.flow, {0.6f, -0.4f}, 0.3f), confidence;
  PatchInverseSearch search;
  REQUIRE(search.refine(pair.frame1, pair.frame2, flow, &confidence).is_ok());
  REQUIRE(confidence.type() == CV_32FC1);
  REQUIRE(confidence.size() == pair.frame1.size());
  double lowest, highest;
  cv::minMaxLoc(confidence, &lowest, &highest);
  CHECK(lowest > 0.0);
  CHECK(highest <= 1.0);
  const double seen = cv::mean(confidence, synthetic.occluded == 0)[0];
  const double gone = cv::mean(confidence, synthetic.occluded != 0)[0];
  MESSAGE("mean confidence: " << seen << " where the pixel stays in frame 2, " << gone
                              << " where it leaves");
  CHECK(seen > 0.8);
  CHECK(gone < seen - 0.2);

  // Too small to search: released, as the flow is left alone.
  cv::Mat tiny_flow(8, 8, CV_32FC2, cv::Scalar(0, 0));
  REQUIRE(search
              .refine(cv::Mat(8, 8, CV_8UC1, cv::Scalar(1)), cv::Mat(8, 8, CV_8UC1), tiny_flow,
                      &confidence)
              .is_ok());
  CHECK(confidence.empty());
}
