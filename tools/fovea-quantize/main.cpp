// fovea-quantize: a float model (ONNX or .fvm) and calibration images in, an INT8 .fvm and a
// per-layer report out. Run with --help for the flags.

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fovea/core/model.h"
#include "fovea/core/onnx_import.h"
#include "fovea/core/quantizer.h"

namespace fovea {
namespace {

constexpr const char* kUsage =
    R"(usage: fovea-quantize MODEL.onnx|MODEL.fvm --calibration DIR_OR_IMAGE... --out OUT.fvm
                      [--method mse|minmax|percentile] [--percentile P] [--keep-float NODE]...
                      [--report REPORT.txt] [--float-out FLOAT.fvm] [--max-images N]
                      [--mean R,G,B] [--std R,G,B] [--scale S] [--bgr] [--skip-empty]

Quantizes a float model to INT8 (per-channel weights, per-tensor activations) from calibration
images, writes the INT8 .fvm and prints the per-layer report (range, SQNR, sensitivity).

  MODEL               an ONNX file (opsets 11-17, imported to NHWC) or a float .fvm
  --calibration ...   image files, or directories whose images (png, jpg, jpeg, bmp, ppm, pgm)
                      are all used; any number of them, until the next flag
  --out OUT.fvm       the INT8 model
  --method M          activation ranges: mse (default; clipping that minimises the error),
                      minmax, or percentile (with --percentile, default 99.99)
  --keep-float NODE   keep this node in FP32 (repeatable); node names are in the report
  --report FILE       also write the report to FILE
  --float-out F.fvm   also write the float model (the ONNX import, before quantization)
  --max-images N      use at most N calibration images (default: all)
  --skip-empty        range statistics over non-empty pixels only (sparse inputs, LiDAR grids)

Preprocessing: each image is loaded in colour, converted to RGB (--bgr keeps OpenCV's BGR order),
resized to the model input's height and width (area interpolation when shrinking, bilinear when
enlarging), multiplied by --scale (default 1/255) and normalised per channel as
(x - mean) / std, with ImageNet's mean 0.485,0.456,0.406 and std 0.229,0.224,0.225 by default
(--mean 0,0,0 --std 1,1,1 for none). A one-channel model input takes the image in grey.
The model must have one NHWC input [1, H, W, C] with C 1 or 3.
)";

struct Options {
  std::string model;
  std::vector<std::string> calibration;
  std::string out, report, float_out;
  QuantizeOptions quantize;
  int max_images = 0;
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float stdev[3] = {0.229f, 0.224f, 0.225f};
  float scale = 1.0f / 255.0f;
  bool bgr = false;
};

Status usage_error(const std::string& message) {
  return Status(ErrorCode::kInvalidArgument, message + " (see fovea-quantize --help)");
}

bool parse_triplet(const std::string& text, float out[3]) {
  return std::sscanf(text.c_str(), "%f,%f,%f", &out[0], &out[1], &out[2]) == 3;
}

Result<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string v;
    // The flag's value, the next argument; false when there is none.
    auto take = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    const bool has_value = arg != "--calibration" && arg != "--bgr" && arg != "--skip-empty" &&
                           arg.rfind("--", 0) == 0;
    if (has_value && !take(v)) return usage_error(arg + " needs a value");
    if (arg == "--calibration") {
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0)
        o.calibration.push_back(argv[++i]);
    } else if (arg == "--out") {
      o.out = v;
    } else if (arg == "--report") {
      o.report = v;
    } else if (arg == "--float-out") {
      o.float_out = v;
    } else if (arg == "--method") {
      if (v == "mse") {
        o.quantize.method = RangeMethod::kMseOptimal;
      } else if (v == "minmax") {
        o.quantize.method = RangeMethod::kMinMax;
      } else if (v == "percentile") {
        o.quantize.method = RangeMethod::kPercentile;
      } else {
        return usage_error("unknown --method '" + v + "' (mse, minmax or percentile)");
      }
    } else if (arg == "--percentile") {
      o.quantize.percentile = std::atof(v.c_str());
      if (!(o.quantize.percentile > 50.0 && o.quantize.percentile <= 100.0))
        return usage_error("--percentile must be in (50, 100]");
    } else if (arg == "--keep-float") {
      o.quantize.keep_float.push_back(v);
    } else if (arg == "--max-images") {
      o.max_images = std::atoi(v.c_str());
      if (o.max_images < 1) return usage_error("--max-images must be at least 1");
    } else if (arg == "--mean") {
      if (!parse_triplet(v, o.mean)) return usage_error("--mean takes R,G,B");
    } else if (arg == "--std") {
      if (!parse_triplet(v, o.stdev) || o.stdev[0] == 0 || o.stdev[1] == 0 || o.stdev[2] == 0)
        return usage_error("--std takes three non-zero values R,G,B");
    } else if (arg == "--scale") {
      o.scale = static_cast<float>(std::atof(v.c_str()));
    } else if (arg == "--bgr") {
      o.bgr = true;
    } else if (arg == "--skip-empty") {
      o.quantize.skip_empty_positions = true;
    } else if (has_value) {
      return usage_error("unknown flag '" + arg + "'");
    } else if (o.model.empty()) {
      o.model = arg;
    } else {
      return usage_error("unexpected argument '" + arg + "'");
    }
  }
  if (o.model.empty()) return usage_error("no model given");
  if (o.calibration.empty()) return usage_error("no --calibration images given");
  if (o.out.empty()) return usage_error("no --out file given");
  return o;
}

bool is_image(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm"})
    if (ext == known) return true;
  return false;
}

Result<std::vector<std::string>> list_images(const Options& o) {
  std::vector<std::string> files;
  for (const std::string& entry : o.calibration) {
    std::error_code error;
    if (std::filesystem::is_directory(entry, error)) {
      std::vector<std::string> found;
      for (const auto& file : std::filesystem::directory_iterator(entry, error))
        if (file.is_regular_file() && is_image(file.path())) found.push_back(file.path().string());
      if (error)
        return Status(ErrorCode::kNotFound, "cannot list '" + entry + "': " + error.message());
      std::sort(found.begin(), found.end());  // the same directory gives the same model
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::is_regular_file(entry, error)) {
      files.push_back(entry);
    } else {
      return Status(ErrorCode::kNotFound, "calibration input '" + entry + "' does not exist");
    }
  }
  if (o.max_images > 0 && files.size() > static_cast<size_t>(o.max_images))
    files.resize(static_cast<size_t>(o.max_images));
  if (files.empty()) return Status(ErrorCode::kNotFound, "no calibration images found");
  return files;
}

// One image as the model's NHWC float input.
Result<FloatTensor> load_image(const std::string& path, const Shape& shape, const Options& o) {
  const std::int64_t h = shape[1], w = shape[2], c = shape[3];
  cv::Mat image = cv::imread(path, c == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (image.empty())
    return Status(ErrorCode::kCorruptData, "cannot read image '" + path + "' (not an image?)");
  if (c == 3 && !o.bgr) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  const bool shrink = image.rows > h || image.cols > w;
  cv::resize(image, image, cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0,
             shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  FloatTensor t{shape, std::vector<float>(static_cast<size_t>(shape.elements()))};
  for (int y = 0; y < image.rows; ++y) {
    const std::uint8_t* row = image.ptr<std::uint8_t>(y);
    for (int x = 0; x < image.cols * c; ++x) {
      const int k = static_cast<int>(x % c);
      t.values[static_cast<size_t>(y * image.cols * c + x)] =
          (row[x] * o.scale - o.mean[k]) / o.stdev[k];
    }
  }
  return t;
}

Result<Model> load_model(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".onnx") return import_onnx(path);
  if (ext == ".fvm") return load_fvm(path);
  return Status(ErrorCode::kInvalidArgument,
                "model '" + path + "' is neither .onnx nor .fvm (name it by its format)");
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (!file) return Status(ErrorCode::kNotFound, "cannot write '" + path + "'");
  return Status::ok();
}

Status run(const Options& o) {
  auto model = load_model(o.model);
  if (!model) return model.status();
  const ModelGraph& graph = model->graph;
  if (graph.inputs.size() != 1)
    return Status(ErrorCode::kInvalidArgument, "the model has " +
                                                   std::to_string(graph.inputs.size()) +
                                                   " inputs; fovea-quantize feeds one image input");
  const Shape shape = graph.tensors[static_cast<size_t>(graph.inputs[0])].info.shape;
  if (shape.rank != 4 || shape[0] != 1 || (shape[3] != 1 && shape[3] != 3))
    return Status(ErrorCode::kInvalidArgument, "the model input is " + shape.to_string() +
                                                   "; fovea-quantize needs [1, H, W, 1 or 3]");
  if (!o.float_out.empty()) {
    FOVEA_RETURN_IF_ERROR(save_fvm(*model, o.float_out));
    std::printf("wrote float model %s (%lld bytes of weights)\n", o.float_out.c_str(),
                static_cast<long long>(model->stored_bytes()));
  }
  auto files = list_images(o);
  if (!files) return files.status();
  std::vector<std::vector<FloatTensor>> calibration;
  for (const std::string& file : *files) {
    auto image = load_image(file, shape, o);
    if (!image) return image.status();
    calibration.push_back({std::move(*image)});
  }
  std::printf("calibrating %s (input %s) on %zu images\n", o.model.c_str(),
              shape.to_string().c_str(), calibration.size());
  QuantizeReport report;
  auto quantized = quantize_model(*model, calibration, o.quantize, &report);
  if (!quantized) return quantized.status();
  for (const std::string& name : o.quantize.keep_float)
    if (std::none_of(graph.nodes.begin(), graph.nodes.end(),
                     [&](const GraphNode& n) { return n.name == name; }))
      std::fprintf(stderr, "warning: --keep-float '%s' names no node of the model\n", name.c_str());
  FOVEA_RETURN_IF_ERROR(save_fvm(*quantized, o.out));
  // Read it back: what was written must load.
  auto reloaded = load_fvm(o.out);
  if (!reloaded) return reloaded.status().with_context("reloading " + o.out);
  const std::string table = report.to_table();
  std::fputs(table.c_str(), stdout);
  int int8 = 0;
  for (const LayerReport& layer : report.layers) int8 += layer.int8;
  std::printf("wrote %s: %d of %zu layers INT8, weights %lld -> %lld bytes at rest\n",
              o.out.c_str(), int8, report.layers.size(),
              static_cast<long long>(model->stored_bytes()),
              static_cast<long long>(reloaded->stored_bytes()));
  if (!o.report.empty()) FOVEA_RETURN_IF_ERROR(write_text(o.report, table));
  return Status::ok();
}

}  // namespace
}  // namespace fovea

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::fputs(fovea::kUsage, stdout);
      return 0;
    }
  auto options = fovea::parse(argc, argv);
  if (!options) {
    std::fprintf(stderr, "fovea-quantize: %s\n", options.status().message().c_str());
    return 2;
  }
  const fovea::Status status = fovea::run(*options);
  if (!status) {
    std::fprintf(stderr, "fovea-quantize: %s\n", status.to_string().c_str());
    return 1;
  }
  return 0;
}
