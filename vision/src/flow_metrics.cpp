#include "fovea/vision/flow_metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include <opencv2/core.hpp>

namespace fovea::vision {
namespace {

Status check_mask(const cv::Mat& mask, const cv::Mat& truth, const char* name) {
  if (mask.empty() || (mask.type() == CV_8UC1 && mask.size() == truth.size())) return Status::ok();
  return Status(ErrorCode::kInvalidArgument,
                std::string("the ") + name + " mask must be CV_8UC1 of the flow's size (" +
                    std::to_string(truth.cols) + "x" + std::to_string(truth.rows) + ")");
}

}  // namespace

Result<FlowError> flow_error(const cv::Mat& estimate, const cv::Mat& truth, const cv::Mat& valid,
                             const cv::Mat& occluded) {
  if (truth.empty() || truth.type() != CV_32FC2 || estimate.type() != CV_32FC2)
    return Status(ErrorCode::kInvalidArgument, "flow_error compares two CV_32FC2 fields");
  if (estimate.size() != truth.size())
    return Status(ErrorCode::kInvalidArgument,
                  "the estimate is " + std::to_string(estimate.cols) + "x" +
                      std::to_string(estimate.rows) + " but the ground truth is " +
                      std::to_string(truth.cols) + "x" + std::to_string(truth.rows));
  FOVEA_RETURN_IF_ERROR(check_mask(valid, truth, "validity"));
  FOVEA_RETURN_IF_ERROR(check_mask(occluded, truth, "occlusion"));

  // Sums in double: a 1024x436 field sums 446k terms.
  double sum = 0.0, sum_occ = 0.0, sum_noc = 0.0;
  long long count = 0, count_occ = 0, outliers = 0;
  for (int y = 0; y < truth.rows; ++y) {
    const auto* e = estimate.ptr<cv::Vec2f>(y);
    const auto* t = truth.ptr<cv::Vec2f>(y);
    const std::uint8_t* v = valid.empty() ? nullptr : valid.ptr(y);
    const std::uint8_t* o = occluded.empty() ? nullptr : occluded.ptr(y);
    for (int x = 0; x < truth.cols; ++x) {
      if (v != nullptr && v[x] == 0) continue;
      const double dx = static_cast<double>(e[x][0]) - t[x][0];
      const double dy = static_cast<double>(e[x][1]) - t[x][1];
      // A non-finite estimate is an infinitely wrong one, not a pixel to skip.
      double error = std::sqrt(dx * dx + dy * dy);
      if (!std::isfinite(error)) error = std::numeric_limits<double>::infinity();
      sum += error;
      ++count;
      if (error > kFlowOutlierPx) ++outliers;
      if (o != nullptr && o[x] != 0) {
        sum_occ += error;
        ++count_occ;
      } else {
        sum_noc += error;
      }
    }
  }
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  FlowError result;
  result.pixels = count;
  result.occluded_pixels = count_occ;
  result.epe = count > 0 ? sum / count : kNan;
  result.epe_occ = count_occ > 0 ? sum_occ / count_occ : kNan;
  const long long visible = count - count_occ;
  result.epe_noc = visible > 0 ? sum_noc / visible : kNan;
  result.outliers = count > 0 ? static_cast<double>(outliers) / count : kNan;
  return result;
}

Result<ConfidenceQuality> confidence_quality(const cv::Mat& estimate, const cv::Mat& confidence,
                                             const cv::Mat& truth, const cv::Mat& valid,
                                             const cv::Mat& occluded, float threshold) {
  if (confidence.type() != CV_32FC1 || confidence.size() != truth.size())
    return Status(ErrorCode::kInvalidArgument,
                  "the confidence must be CV_32FC1 of the flow's size (" +
                      std::to_string(truth.cols) + "x" + std::to_string(truth.rows) + ")");
  // The same checks and the same per-pixel error as flow_error, on each half.
  cv::Mat trusted = confidence >= threshold, doubted = confidence < threshold;
  if (!valid.empty()) {
    FOVEA_RETURN_IF_ERROR(check_mask(valid, truth, "validity"));
    cv::bitwise_and(trusted, valid, trusted);
    cv::bitwise_and(doubted, valid, doubted);
  }
  auto high = flow_error(estimate, truth, trusted);
  if (!high.is_ok()) return high.status();
  auto low = flow_error(estimate, truth, doubted);
  if (!low.is_ok()) return low.status();
  FOVEA_RETURN_IF_ERROR(check_mask(occluded, truth, "occlusion"));

  double sum_noc = 0.0, sum_occ = 0.0;
  long long count_noc = 0, count_occ = 0;
  for (int y = 0; y < truth.rows; ++y) {
    const float* c = confidence.ptr<float>(y);
    const std::uint8_t* v = valid.empty() ? nullptr : valid.ptr(y);
    const std::uint8_t* o = occluded.empty() ? nullptr : occluded.ptr(y);
    for (int x = 0; x < truth.cols; ++x) {
      if (v != nullptr && v[x] == 0) continue;
      if (o != nullptr && o[x] != 0) {
        sum_occ += c[x];
        ++count_occ;
      } else {
        sum_noc += c[x];
        ++count_noc;
      }
    }
  }
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  ConfidenceQuality q;
  q.mean_noc = count_noc > 0 ? sum_noc / count_noc : kNan;
  q.mean_occ = count_occ > 0 ? sum_occ / count_occ : kNan;
  const long long evaluated = high->pixels + low->pixels;
  q.trusted_share = evaluated > 0 ? double(high->pixels) / evaluated : kNan;
  q.epe_trusted = high->epe;
  q.epe_doubted = low->epe;
  return q;
}

}  // namespace fovea::vision
