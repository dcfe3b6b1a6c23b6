#include "fovea/render/png_file.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace fovea::render {

Status write_png(const std::string& path, const ImageRgba8& image) {
  if (image.empty() || image.pixels.size() != static_cast<size_t>(image.width) * image.height * 4)
    return Status(ErrorCode::kInvalidArgument, "cannot write '" + path +
                                                   "': the image is empty or "
                                                   "its pixel buffer does not match its size");
  if (!stbi_write_png(path.c_str(), image.width, image.height, 4, image.pixels.data(),
                      image.width * 4))
    return Status(ErrorCode::kNotFound,
                  "cannot write PNG '" + path + "' (does the folder exist and is it writable?)");
  return Status::ok();
}

Result<ImageRgba8> read_png(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status(ErrorCode::kNotFound, "cannot open '" + path + "'");
  int width = 0, height = 0, channels = 0;
  // Read the header first so an absurd size is refused before any allocation.
  if (!stbi_info_from_file(file.get(), &width, &height, &channels))
    return Status(ErrorCode::kCorruptData,
                  "'" + path + "' is not a readable image: " + stbi_failure_reason());
  if (width <= 0 || height <= 0 || width > kMaxPngSide || height > kMaxPngSide)
    return Status(ErrorCode::kInvalidArgument,
                  "'" + path + "' is " + std::to_string(width) + "x" + std::to_string(height) +
                      ", outside fovea's limit of " + std::to_string(kMaxPngSide) + " per side");
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_file(file.get(), &width, &height, &channels, 4), &stbi_image_free);
  if (!decoded)
    return Status(ErrorCode::kCorruptData,
                  "'" + path + "' could not be decoded: " + stbi_failure_reason());
  ImageRgba8 image(width, height);
  std::copy_n(decoded.get(), image.pixels.size(), image.pixels.data());
  return image;
}

}  // namespace fovea::render
