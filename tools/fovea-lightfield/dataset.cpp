#include "dataset.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include <glm/geometric.hpp>
#include <glm/matrix.hpp>

namespace fovea::lightfield {
namespace {

namespace fs = std::filesystem;

Status corrupt(const std::string& message) {
  return Status(ErrorCode::kCorruptData, message);
}

Result<Dataset> load_blender(const std::string& root, const std::string& split) {
  const std::string path = root + "/transforms_" + split + ".json";
  if (!fs::exists(path)) return Status(ErrorCode::kNotFound, path + " does not exist");
  Dataset dataset;
  dataset.layout = "blender";
  dataset.composite_over_white = true;
  try {
    cv::FileStorage file(path, cv::FileStorage::READ | cv::FileStorage::FORMAT_JSON);
    if (!file.isOpened()) return Status(ErrorCode::kNotFound, "cannot read " + path);
    const double angle_x = file["camera_angle_x"].real();
    if (!(angle_x > 0.0 && angle_x < 3.14))
      return corrupt(path + ": camera_angle_x is missing or out of range");
    const cv::FileNode frames = file["frames"];
    if (!frames.isSeq() || frames.size() == 0) return corrupt(path + ": no frames");
    dataset.camera_angle_x = angle_x;
    for (const cv::FileNode& frame : frames) {
      std::string relative = frame["file_path"].string();
      if (relative.rfind("./", 0) == 0) relative = relative.substr(2);
      if (relative.size() < 4 || relative.substr(relative.size() - 4) != ".png") relative += ".png";
      const cv::FileNode matrix = frame["transform_matrix"];
      if (!matrix.isSeq() || matrix.size() < 3) return corrupt(path + ": a frame lacks its matrix");
      DatasetView view;
      view.name = fs::path(relative).filename().string();
      view.image_path = root + "/" + relative;
      for (int row = 0; row < 4 && row < static_cast<int>(matrix.size()); ++row) {
        const cv::FileNode values = matrix[row];
        if (!values.isSeq() || values.size() != 4)
          return corrupt(path + ": a matrix row is not 4 numbers");
        for (int col = 0; col < 4; ++col) view.camera_to_world[col][row] = values[col].real();
      }
      dataset.views.push_back(std::move(view));
    }
  } catch (const cv::Exception& error) {
    return corrupt(path + ": " + error.what());
  }
  return dataset;
}

// poses_bounds.npy: a little-endian float64 (or float32) C-order N x 17 array.
Result<std::vector<double>> read_npy_rows17(const std::string& path, int& rows) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status(ErrorCode::kNotFound, "cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    return corrupt(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_length = 0, data_start = 0;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9])
                                                               << 8;
    data_start = 10 + header_length;
  } else {
    if (bytes.size() < 12) return corrupt(path + ": truncated .npy header");
    for (int i = 0; i < 4; ++i)
      header_length |= size_t{static_cast<unsigned char>(bytes[8 + i])} << (8 * i);
    data_start = 12 + header_length;
  }
  if (data_start > bytes.size()) return corrupt(path + ": truncated .npy header");
  const std::string header(bytes.data() + (major == 1 ? 10 : 12), header_length);
  const bool f8 = header.find("'<f8'") != std::string::npos;
  const bool f4 = header.find("'<f4'") != std::string::npos;
  if ((!f8 && !f4) || header.find("'fortran_order': False") == std::string::npos)
    return corrupt(path + ": expected a C-order float64 or float32 array, header " + header);
  std::smatch shape;
  if (!std::regex_search(header, shape, std::regex(R"('shape':\s*\((\d+),\s*(\d+)\))")) ||
      std::stoi(shape[2]) != 17)
    return corrupt(path + ": expected an N x 17 array, header " + header);
  rows = std::stoi(shape[1]);
  const size_t element = f8 ? 8 : 4;
  if (rows < 1 || bytes.size() - data_start < size_t(rows) * 17 * element)
    return corrupt(path + ": fewer values than its shape says");
  std::vector<double> values(size_t(rows) * 17);
  for (size_t i = 0; i < values.size(); ++i) {
    if (f8) {
      std::memcpy(&values[i], bytes.data() + data_start + 8 * i, 8);
    } else {
      float v;
      std::memcpy(&v, bytes.data() + data_start + 4 * i, 4);
      values[i] = v;
    }
  }
  return values;
}

Result<Dataset> load_llff(const std::string& root, const std::string& split) {
  int rows = 0;
  auto values = read_npy_rows17(root + "/poses_bounds.npy", rows);
  if (!values) return values.status();
  // The images present and their pose rows: imageNNN.png is row NNN (0-based).
  std::string image_dir = root + "/images_8";
  if (!fs::is_directory(image_dir)) image_dir = root + "/images";
  if (!fs::is_directory(image_dir))
    return Status(ErrorCode::kNotFound, root + " has neither images_8/ nor images/");
  std::vector<std::pair<int, std::string>> files;
  const std::regex digits(R"((\d+))");
  for (const auto& entry : fs::directory_iterator(image_dir)) {
    std::string name = entry.path().filename().string();
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.size() < 4 || lower.substr(lower.size() - 4) != ".png") continue;
    std::smatch match;
    if (!std::regex_search(name, match, digits))
      return corrupt(name + ": cannot read a pose index from the file name");
    files.emplace_back(std::stoi(match[1]), name);
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status(ErrorCode::kNotFound, image_dir + " holds no PNG images");
  for (size_t i = 0; i < files.size(); ++i)
    if (files[i].first >= rows || (i > 0 && files[i].first == files[i - 1].first))
      return corrupt("image indices do not map onto the " + std::to_string(rows) + " pose rows");

  // Rows: 3x5 [R | t | hwf] row-major, then near and far bounds.
  auto at = [&](int row, int r, int c) { return (*values)[size_t(row) * 17 + r * 5 + c]; };
  double min_bound = 1e300;
  for (int row = 0; row < rows; ++row)
    min_bound =
        std::min({min_bound, (*values)[size_t(row) * 17 + 15], (*values)[size_t(row) * 17 + 16]});
  const double scale = 1.0 / (min_bound * 0.75);
  // LLFF's columns (down, right, back) become OpenGL's (right, up, back); t is rescaled.
  std::vector<glm::dmat4> poses(static_cast<size_t>(rows), glm::dmat4(1.0));
  for (int row = 0; row < rows; ++row)
    for (int r = 0; r < 3; ++r) {
      poses[row][0][r] = at(row, r, 1);
      poses[row][1][r] = -at(row, r, 0);
      poses[row][2][r] = at(row, r, 2);
      poses[row][3][r] = at(row, r, 3) * scale;
    }
  // Recentre on the average pose of all rows (NeRF's poses_avg).
  glm::dvec3 centre(0.0), back(0.0), up(0.0);
  for (const glm::dmat4& pose : poses) {
    centre += glm::dvec3(pose[3]);
    back += glm::dvec3(pose[2]);
    up += glm::dvec3(pose[1]);
  }
  centre /= double(rows);
  back = glm::normalize(back);
  const glm::dvec3 right = glm::normalize(glm::cross(up, back));
  up = glm::normalize(glm::cross(back, right));
  glm::dmat4 average(1.0);
  average[0] = glm::dvec4(right, 0.0);
  average[1] = glm::dvec4(up, 0.0);
  average[2] = glm::dvec4(back, 0.0);
  average[3] = glm::dvec4(centre, 1.0);
  const glm::dmat4 recentre = glm::inverse(average);

  Dataset dataset;
  dataset.layout = "llff";
  dataset.pose_height = at(0, 0, 4);
  dataset.pose_width = at(0, 1, 4);
  dataset.pose_focal = at(0, 2, 4);
  if (!(dataset.pose_width > 0 && dataset.pose_height > 0 && dataset.pose_focal > 0))
    return corrupt(root + "/poses_bounds.npy: row 0's height, width and focal are not positive");
  const bool held_out = split != "train";
  for (size_t position = 0; position < files.size(); ++position) {
    if ((position % 8 == 0) != held_out) continue;
    DatasetView view;
    view.name = files[position].second;
    view.image_path = image_dir + "/" + view.name;
    view.camera_to_world = recentre * poses[files[position].first];
    dataset.views.push_back(std::move(view));
  }
  return dataset;
}

}  // namespace

Result<double> Dataset::focal_for(int width, int height) const {
  if (layout == "blender") return 0.5 * width / std::tan(0.5 * camera_angle_x);
  if (std::abs(pose_height / pose_width - double(height) / width) > 0.01)
    return Status(ErrorCode::kInvalidArgument, "images are " + std::to_string(width) + "x" +
                                                   std::to_string(height) + " but the poses say " +
                                                   std::to_string(int(pose_width)) + "x" +
                                                   std::to_string(int(pose_height)));
  return pose_focal * width / pose_width;
}

Result<Dataset> load_dataset(const std::string& root, const std::string& split) {
  if (split != "train" && split != "val" && split != "test")
    return Status(ErrorCode::kInvalidArgument, "--split takes train, val or test, not " + split);
  if (fs::exists(root + "/transforms_" + split + ".json") ||
      fs::exists(root + "/transforms_train.json"))
    return load_blender(root, split);
  if (fs::exists(root + "/poses_bounds.npy")) return load_llff(root, split);
  return Status(ErrorCode::kNotFound, root +
                                          " holds neither transforms_*.json (nerf_synthetic) "
                                          "nor poses_bounds.npy (LLFF)");
}

}  // namespace fovea::lightfield
