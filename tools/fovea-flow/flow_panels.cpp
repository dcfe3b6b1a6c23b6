#include "flow_panels.h"

#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fovea/vision/flow_color.h"

namespace fovea::flow_tool {
namespace {

constexpr int kColumns = 3;

void label(cv::Mat& panel, const std::string& text) {
  const double scale = std::max(0.4, panel.cols / 1200.0);
  const int thickness = scale > 0.6 ? 2 : 1;
  int baseline = 0;
  const cv::Size size =
      cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  cv::rectangle(panel, cv::Rect(0, 0, size.width + 8, size.height + baseline + 8),
                cv::Scalar(0, 0, 0), cv::FILLED);
  cv::putText(panel, text, cv::Point(4, size.height + 4), cv::FONT_HERSHEY_SIMPLEX, scale,
              cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
}

}  // namespace

Status write_flow_panels(const std::string& path, const FlowPair& pair,
                         const std::vector<FlowPanel>& methods) {
  vision::FlowColorOptions colors;
  colors.max_radius = vision::max_flow_radius(pair.truth, pair.valid);
  std::vector<cv::Mat> panels;
  panels.push_back(pair.frame1.clone());
  label(panels.back(), "frame 1");
  {
    vision::FlowColorOptions truth_colors = colors;
    truth_colors.valid = pair.valid;  // invalid ground truth shows black
    auto truth = vision::flow_to_bgr(pair.truth, truth_colors);
    if (!truth.is_ok()) return truth.status();
    panels.push_back(*truth);
    char text[64];
    std::snprintf(text, sizeof(text), "ground truth (max %.1f px)", colors.max_radius);
    label(panels.back(), text);
  }
  for (const FlowPanel& method : methods) {
    auto image = vision::flow_to_bgr(method.flow, colors);
    if (!image.is_ok()) return image.status().with_context(method.label);
    panels.push_back(*image);
    label(panels.back(), method.label);
  }
  // A grid rather than one row: six 1024-px panels in a row make an unreadable strip.
  const int rows = (static_cast<int>(panels.size()) + kColumns - 1) / kColumns;
  const int w = pair.frame1.cols, h = pair.frame1.rows;
  cv::Mat grid(rows * h, kColumns * w, CV_8UC3, cv::Scalar(255, 255, 255));
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const int r = static_cast<int>(i) / kColumns, c = static_cast<int>(i) % kColumns;
    panels[i].copyTo(grid(cv::Rect(c * w, r * h, w, h)));
  }
  try {
    if (!cv::imwrite(path, grid))
      return Status(ErrorCode::kNotFound, "cannot write '" + path + "'");
  } catch (const cv::Exception& error) {
    return Status(ErrorCode::kInternal, "writing '" + path + "': " + error.what());
  }
  return Status::ok();
}

}  // namespace fovea::flow_tool
