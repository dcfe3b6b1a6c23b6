#include "fovea/vision/flow_metrics.h"

#include <cmath>
#include <limits>
#include <string>

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

}  // namespace fovea::vision
