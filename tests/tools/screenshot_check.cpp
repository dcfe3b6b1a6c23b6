// Checks a screenshot of the window demo: Dear ImGui's panel drawn over the scene.
// usage: fovea-screenshot-check PNG

#include <cstdio>
#include <cstdlib>
#include <set>

#include "fovea/render/png_file.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PNG\n", argv[0]);
    return 2;
  }
  auto image = fovea::render::read_png(argv[1]);
  if (!image) {
    std::fprintf(stderr, "%s\n", image.status().to_string().c_str());
    return 1;
  }
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
  };
  // The panel's active title bar in ImGui's dark style is (41, 74, 122); it sits at the
  // window's top left, where the demo places the panel.
  const std::uint8_t* title = image->pixel(60, 20);
  expect(
      std::abs(title[0] - 41) < 12 && std::abs(title[1] - 74) < 12 && std::abs(title[2] - 122) < 12,
      "ImGui title bar colour at (60, 20)");
  // The scene fills the rest: many distinct colours, not one cleared colour.
  std::set<int> colours;
  for (int y = image->height / 2; y < image->height; y += 5)
    for (int x = image->width / 2; x < image->width; x += 5) {
      const std::uint8_t* p = image->pixel(x, y);
      colours.insert((p[0] << 16) | (p[1] << 8) | p[2]);
    }
  expect(colours.size() > 50, "the scene shows in the lower right (many colours)");
  return failures == 0 ? 0 : 1;
}
