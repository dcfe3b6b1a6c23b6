// libFuzzer target for light-field assets (.fvlf): the loader must turn any input into an asset
// or an error, never a crash, hang, leak or absurd allocation; what it accepts must write and
// read back unchanged. Built with clang by tests/fuzz/CMakeLists.txt from render's loader
// sources alone (no GL); `make test` runs it over corpus/lightfield.
//
//   build/tests/fuzz/lightfield-fuzz -max_total_time=300 CORPUS_DIR tests/fuzz/corpus/lightfield

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "fovea/render/lightfield_asset.h"

namespace {

// Far below run_fuzz.cmake's -malloc_limit_mb: a hostile size must be refused, not tried.
constexpr fovea::render::LightFieldLoadOptions kOptions{.max_decoded_bytes = std::int64_t{64}
                                                                             << 20};

void round_trip(const fovea::render::LightFieldAsset& asset) {
  for (bool compress : {false, true}) {
    auto bytes = fovea::render::serialize_lightfield_asset(asset, {.compress = compress});
    if (!bytes) std::abort();
    auto again = fovea::render::parse_lightfield_asset(*bytes, "round trip", kOptions);
    if (!again || again->positions != asset.positions || again->triangles != asset.triangles ||
        again->atlas.texels != asset.atlas.texels ||
        again->direction_map.texels != asset.direction_map.texels ||
        again->atlas.lo != asset.atlas.lo || again->name != asset.name)
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  if (auto asset = fovea::render::parse_lightfield_asset(input, "fuzz", kOptions)) {
    round_trip(*asset);
  } else if (asset.status().message().empty()) {
    std::abort();
  }
  // Mutations rarely keep the checksum right; resealing lets them reach the structural checks.
  if (size >= fovea::render::fvlf::kHeaderBytes) {
    std::vector<std::uint8_t> sealed(input.begin(), input.end());
    fovea::render::reseal_lightfield_asset(sealed);
    if (auto asset = fovea::render::parse_lightfield_asset(sealed, "fuzz", kOptions))
      round_trip(*asset);
  }
  return 0;
}
