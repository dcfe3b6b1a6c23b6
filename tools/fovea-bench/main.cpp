// fovea-bench: times fovea's workloads and prints tables. `gl` (the default) times GL work on
// any platform, including an NVIDIA GPU with no display (--platform egl-device).

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "gl_bench.h"
#include "lightfield_bench.h"

namespace {

constexpr const char* kUsage = R"(usage: fovea-bench [gl] [options]
       fovea-bench lightfield ASSET [lightfield options]
       fovea-bench core [options]   (the inference core; see fovea-bench core --help)

Times GL workloads off-screen and prints median and p95 frame times per workload and size.

options:
  --platform NAME   auto (default: a hardware EGL device if present, else surfaceless),
                    egl-surfaceless (Mesa llvmpipe) or egl-device (e.g. NVIDIA, no display)
  --device N        with egl-device: use EGL device N instead of the first hardware one
  --workload NAME   scene, fill, fetchK (K = 1..64); repeatable; default: fill scene fetch8
                    fetch32 fetch64
  --size WxH        repeatable; default: 800x800 and 1920x1080
  --runs N          timed runs per workload and size (default 5)
  --frames N        frames per run (default 20)
  --warmup N        untimed frames first (default 5)
  --json PATH       also write the figures as JSON

lightfield ASSET: times the light-field shader on a .fvlf asset against a plain textured mesh
(the floor) and a MobileNeRF-style deferred renderer (G-buffer of 8 features, full-screen MLP
with weights in a texture), same mesh, interleaved over an orbit of views. Options:
  --platform NAME, --device N   as above
  --size WxH        repeatable; default: 800x800 and 1920x1080
  --shader NAME     lightfield, mobilenerf, textured; repeatable; default: all three
  --views N         orbit views per run, one frame each (default 120)
  --runs N          orbits (default 1)
  --warmup N        untimed frames per shader and size first (default 10)
  --passes NAME     the light field's passes: deferred (default), prepass or forward
  --json PATH       {"renderer","results":[{"shader","width","height","median_ms","p95_ms"}],
                     "gpu_bytes"}
)";

bool parse_int(const char* text, int& out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < -1 || value > 1000000) return false;
  out = static_cast<int>(value);
  return true;
}

bool parse_size(const char* text, fovea::render::DrawableSize& size) {
  int width = 0, height = 0;
  char tail = 0;
  if (std::sscanf(text, "%dx%d%c", &width, &height, &tail) != 2) return false;
  if (width < 1 || height < 1 || width > 16384 || height > 16384) return false;
  size = {width, height};
  return true;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "fovea-bench: %s\n", message.c_str());
  return 2;
}

}  // namespace

// `fovea-bench core ...` runs fovea-bench-core from the same folder: the inference benchmark
// links XNNPACK and OpenCV, which this GL-only binary must not.
int run_core(char** argv) {
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return fail("cannot find this executable's folder");
  self[length] = '\0';
  const std::string core =
      (std::filesystem::path(self).parent_path() / "fovea-bench-core").string();
  argv[1] = const_cast<char*>(core.c_str());
  execv(core.c_str(), argv + 1);
  return fail("cannot run " + core + " (" + std::strerror(errno) +
              "): build it with the rest of fovea (make test builds it)");
}

// `fovea-bench lightfield ASSET [options]`: lightfield_bench.h.
int run_lightfield(int argc, char** argv) {
  fovea::bench::LightFieldBenchOptions options;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.substr(0, 2) != "--") {
      if (!options.asset_path.empty())
        return fail("lightfield takes one ASSET\n" + std::string(kUsage));
      options.asset_path = argv[i];
      continue;
    }
    if (i + 1 >= argc) return fail("missing value after " + std::string(arg) + "\n" + kUsage);
    const char* value = argv[++i];
    if (arg == "--platform") {
      options.platform = value;
    } else if (arg == "--device") {
      if (!parse_int(value, options.device_index)) return fail("--device takes a number");
    } else if (arg == "--size") {
      fovea::render::DrawableSize size;
      if (!parse_size(value, size)) return fail("--size takes WxH, each 1..16384");
      options.sizes.push_back(size);
    } else if (arg == "--shader") {
      options.shaders.emplace_back(value);
    } else if (arg == "--passes") {
      const std::string_view passes = value;
      if (passes == "forward")
        options.passes = fovea::render::LightFieldPasses::kForward;
      else if (passes == "prepass")
        options.passes = fovea::render::LightFieldPasses::kDepthPrepass;
      else if (passes == "deferred")
        options.passes = fovea::render::LightFieldPasses::kDeferred;
      else
        return fail("--passes takes forward, prepass or deferred");
    } else if (arg == "--views") {
      if (!parse_int(value, options.views)) return fail("--views takes a number");
    } else if (arg == "--runs") {
      if (!parse_int(value, options.runs)) return fail("--runs takes a number");
    } else if (arg == "--warmup") {
      if (!parse_int(value, options.warmup_frames)) return fail("--warmup takes a number");
    } else if (arg == "--json") {
      options.json_path = value;
    } else {
      return fail("unknown option " + std::string(arg) + "\n" + kUsage);
    }
  }
  if (options.asset_path.empty())
    return fail("lightfield takes an ASSET (.fvlf)\n" + std::string(kUsage));
  const fovea::Status status = fovea::bench::run_lightfield_bench(options);
  if (!status.is_ok()) return fail(status.to_string());
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "core") return run_core(argv);
  if (argc > 1 && std::string_view(argv[1]) == "lightfield") return run_lightfield(argc, argv);
  fovea::bench::GlBenchOptions options;
  int i = 1;
  if (i < argc && std::string_view(argv[i]) == "gl") ++i;
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) return fail("missing value after " + std::string(arg) + "\n" + kUsage);
    const char* value = argv[++i];
    if (arg == "--platform") {
      options.platform = value;
    } else if (arg == "--device") {
      if (!parse_int(value, options.device_index)) return fail("--device takes a number");
    } else if (arg == "--workload") {
      options.workloads.emplace_back(value);
    } else if (arg == "--size") {
      fovea::render::DrawableSize size;
      if (!parse_size(value, size)) return fail("--size takes WxH, each 1..16384");
      options.sizes.push_back(size);
    } else if (arg == "--runs") {
      if (!parse_int(value, options.runs)) return fail("--runs takes a number");
    } else if (arg == "--frames") {
      if (!parse_int(value, options.frames_per_run)) return fail("--frames takes a number");
    } else if (arg == "--warmup") {
      if (!parse_int(value, options.warmup_frames)) return fail("--warmup takes a number");
    } else if (arg == "--json") {
      options.json_path = value;
    } else {
      return fail("unknown option " + std::string(arg) + "\n" + kUsage);
    }
  }
  const fovea::Status status = fovea::bench::run_gl_bench(options);
  if (!status.is_ok()) return fail(status.to_string());
  return 0;
}
