#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "fovea/render/png_file.h"
#include "support/golden_image.h"

namespace fovea::render {
namespace {

std::vector<char> file_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), {}};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST_CASE("PNG files round-trip exactly, and bad files are errors, not crashes") {
  const std::string dir = testing::test_output_dir("png");
  ImageRgba8 image(37, 21);  // odd sizes catch row-stride mistakes
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<std::uint8_t>((i * 37) ^ (i >> 3));
  const std::string path = dir + "/pattern.png";
  REQUIRE(write_png(path, image).is_ok());
  auto read = read_png(path);
  REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
  CHECK(read->width == 37);
  CHECK(read->height == 21);
  CHECK(read->pixels == image.pixels);

  CHECK(read_png(dir + "/missing.png").status().code() == ErrorCode::kNotFound);

  std::vector<char> bytes = file_bytes(path);
  REQUIRE(bytes.size() > 100);
  write_bytes(dir + "/truncated.png", {bytes.begin(), bytes.begin() + 60});
  CHECK(read_png(dir + "/truncated.png").status().code() == ErrorCode::kCorruptData);

  write_bytes(dir + "/garbage.png", std::vector<char>(500, '\x7f'));
  CHECK(read_png(dir + "/garbage.png").status().code() == ErrorCode::kCorruptData);

  // An IHDR claiming 20000 pixels a row: refused from the header, before any allocation.
  // (stb alone refuses only images over 1 GiB decoded.)
  std::vector<char> huge = bytes;
  const unsigned char width[4] = {0x00, 0x00, 0x4e, 0x20};
  for (int i = 0; i < 4; ++i) huge[16 + i] = static_cast<char>(width[i]);
  write_bytes(dir + "/huge.png", huge);
  auto refused = read_png(dir + "/huge.png");
  REQUIRE_FALSE(refused.is_ok());
  CHECK_MESSAGE(refused.status().message().find("16384") != std::string::npos,
                refused.status().message());

  CHECK(write_png(dir + "/no/such/folder/x.png", image).code() == ErrorCode::kNotFound);
  CHECK(write_png(dir + "/empty.png", ImageRgba8()).code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fovea::render
