// The .fvlf loader: round trips, and crafted bad files (truncation at every length, flipped
// bytes, bad offsets, absurd sizes) that must come back as errors naming what is wrong.

#include <doctest/doctest.h>

#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "fovea/render/lightfield_asset.h"

namespace fovea::render {
namespace {

using Bytes = std::vector<std::uint8_t>;

LightFieldAsset small_asset() {
  // 34 triangles, a 27x16 atlas, a 4x4 direction map: a file of a few KB.
  return make_procedural_lightfield_asset(
      {.k = 4, .patch = 2, .direction_resolution = 4, .sphere_subdivisions = 0});
}

Bytes serialize(const LightFieldAsset& asset, bool compress) {
  auto bytes = serialize_lightfield_asset(asset, {.compress = compress});
  REQUIRE_MESSAGE(bytes.is_ok(), bytes.status().to_string());
  return *bytes;
}

std::uint32_t get_u32(const Bytes& b, size_t at) {
  std::uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
std::uint64_t get_u64(const Bytes& b, size_t at) {
  std::uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
void set_u32(Bytes& b, size_t at, std::uint32_t v) {
  std::memcpy(b.data() + at, &v, 4);
}
void set_u64(Bytes& b, size_t at, std::uint64_t v) {
  std::memcpy(b.data() + at, &v, 8);
}
void set_f32(Bytes& b, size_t at, float v) {
  std::memcpy(b.data() + at, &v, 4);
}

// Where things lie in a file this writer wrote (section order metadata, mesh, atlas, dirmap).
struct Layout {
  size_t section_offset[5] = {};
  size_t section_size[5] = {};
  size_t table_entry[5] = {};
  explicit Layout(const Bytes& b) {
    const std::uint32_t count = get_u32(b, 28);
    for (std::uint32_t s = 0; s < count; ++s) {
      const size_t entry = 64 + 24 * s;
      const std::uint32_t kind = get_u32(b, entry);
      if (kind < 1 || kind > 4) continue;
      table_entry[kind] = entry;
      section_offset[kind] = get_u64(b, entry + 8);
      section_size[kind] = get_u64(b, entry + 16);
    }
  }
  size_t section(fvlf::SectionKind kind) const { return section_offset[kind]; }
  // Metadata field offsets after the three strings.
  size_t metadata_field(const Bytes& b, size_t field_after_strings) const {
    size_t at = section(fvlf::kMetadata);
    for (int s = 0; s < 3; ++s) at += 4 + get_u32(b, at);
    return at + field_after_strings;
  }
  // The blob record `index` of the mesh section (3 records after 16 header bytes).
  size_t mesh_record(int index) const { return section(fvlf::kMesh) + 16 + 32 * index; }
  size_t texture_record(const Bytes& b, fvlf::SectionKind kind, int layer) const {
    const size_t at = section(kind);
    const std::uint32_t layers = get_u32(b, at + 8);
    return at + 16 + 32 * layers + 32 * layer;
  }
};

// Metadata offsets after the strings: k 0, flags 4, bias 8, background 20, bounds_min 36,
// bounds_max 48, dir_frame 60, dir_param 96, eye 100, target 112, up 124, fovy 136, near 140,
// far 144, patch 148, reserved 152, end 156.
constexpr size_t kMetaK = 0, kMetaBias = 8, kMetaBoundsMin = 36, kMetaBoundsMax = 48,
                 kMetaFrame = 60, kMetaDirParam = 96, kMetaNear = 140, kMetaFar = 144,
                 kMetaEnd = 156;

Status parse(const Bytes& bytes, const LightFieldLoadOptions& options = {}) {
  return parse_lightfield_asset(bytes, "crafted.fvlf", options).status();
}

// Patches the file with `edit`, reseals its checksum and expects a corrupt-data error whose
// message holds `expected` (and the file name).
void expect_refused(const Bytes& original, const std::function<void(Bytes&)>& edit,
                    const std::string& expected, ErrorCode code = ErrorCode::kCorruptData) {
  Bytes bytes = original;
  edit(bytes);
  reseal_lightfield_asset(bytes);
  const Status status = parse(bytes);
  CAPTURE(status.to_string());
  REQUIRE_FALSE(status.is_ok());
  CHECK(status.code() == code);
  CHECK(status.message().find("crafted.fvlf") != std::string::npos);
  CHECK_MESSAGE(status.message().find(expected) != std::string::npos,
                "expected '" << expected << "' in: " << status.message());
}

void expect_same(const LightFieldAsset& a, const LightFieldAsset& b) {
  CHECK(a.name == b.name);
  CHECK(a.description == b.description);
  CHECK(a.provenance == b.provenance);
  CHECK(a.k == b.k);
  CHECK(a.bias == b.bias);
  CHECK(a.background == b.background);
  CHECK(a.bounds_min == b.bounds_min);
  CHECK(a.bounds_max == b.bounds_max);
  CHECK(a.dir_frame == b.dir_frame);
  CHECK(a.camera.eye == b.camera.eye);
  CHECK(a.camera.far_plane == b.camera.far_plane);
  CHECK(a.patch == b.patch);
  CHECK(a.positions == b.positions);
  CHECK(a.uvs == b.uvs);
  CHECK(a.one_sided_triangles == b.one_sided_triangles);
  CHECK(a.triangles == b.triangles);
  CHECK(a.unshared == b.unshared);
  for (auto [x, y] :
       {std::pair{&a.atlas, &b.atlas}, std::pair{&a.direction_map, &b.direction_map}}) {
    CHECK(x->width == y->width);
    CHECK(x->height == y->height);
    CHECK(x->layers == y->layers);
    CHECK(x->lo == y->lo);
    CHECK(x->hi == y->hi);
    CHECK(x->texels == y->texels);
  }
}

TEST_CASE("lightfield asset: the procedural asset writes and reads back exactly, raw and zlib") {
  const LightFieldAsset asset = make_procedural_lightfield_asset();
  CHECK(asset.k == 8);
  CHECK(asset.atlas.layers == 6);
  CHECK(asset.direction_map.layers == 2);
  CHECK(asset.triangle_count() == 12 + 320 + 2);
  CHECK(asset.unshared);
  LightFieldAsset one_sided = asset;
  one_sided.one_sided_triangles = 12;
  for (bool compress : {false, true}) {
    auto loaded = parse_lightfield_asset(serialize(one_sided, compress), "one_sided.fvlf");
    REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
    expect_same(one_sided, *loaded);
  }
  for (bool compress : {false, true}) {
    CAPTURE(compress);
    const Bytes bytes = serialize(asset, compress);
    auto loaded = parse_lightfield_asset(bytes, "procedural.fvlf");
    REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
    expect_same(asset, *loaded);
    CHECK(loaded->file_bytes == static_cast<std::int64_t>(bytes.size()));
  }
  // zlib and the Sub filter are chosen per blob where they store less.
  CHECK(serialize(asset, true).size() < serialize(asset, false).size());
  CHECK(asset.gpu_bytes() ==
        asset.atlas.bytes() + asset.direction_map.bytes() + 20 * asset.vertex_count());
}

TEST_CASE("lightfield asset: files go through the file system; a missing file is kNotFound") {
  const LightFieldAsset asset = small_asset();
  const std::string path = std::string(FOVEA_TEST_OUTPUT_DIR) + "/lightfield_small.fvlf";
  std::filesystem::create_directories(FOVEA_TEST_OUTPUT_DIR);
  REQUIRE(write_lightfield_asset(path, asset).is_ok());
  auto loaded = load_lightfield_asset(path);
  REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
  expect_same(asset, *loaded);
  auto missing = load_lightfield_asset(path + ".nope");
  CHECK(missing.status().code() == ErrorCode::kNotFound);
}

TEST_CASE("lightfield asset: every truncation of a small file is an error, never a crash") {
  const LightFieldAsset asset = small_asset();
  for (bool compress : {false, true}) {
    const Bytes bytes = serialize(asset, compress);
    CAPTURE(compress);
    CAPTURE(bytes.size());
    for (size_t length = 0; length < bytes.size(); ++length) {
      const Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
      const Status status = parse(cut);
      CAPTURE(length);
      REQUIRE_FALSE(status.is_ok());
      CHECK(status.code() == ErrorCode::kCorruptData);
      // Truncated files whose header is patched to the new size and resealed reach the
      // section checks instead of failing at the size field.
      if (length >= 64) {
        Bytes patched = cut;
        set_u64(patched, 16, length);
        reseal_lightfield_asset(patched);
        const Status deeper = parse(patched);
        REQUIRE_FALSE(deeper.is_ok());
        CHECK(deeper.code() == ErrorCode::kCorruptData);
      }
    }
    // The header's own messages.
    CHECK(parse(Bytes(bytes.begin(), bytes.begin() + 40)).message().find("truncated") !=
          std::string::npos);
    CHECK(parse(Bytes(bytes.begin(), bytes.end() - 64)).message().find("header says") !=
          std::string::npos);
  }
}

TEST_CASE("lightfield asset: every flipped byte fails the checksum; resealed, never crashes") {
  const Bytes bytes = serialize(small_asset(), true);
  int loaded = 0, refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    Bytes flipped = bytes;
    flipped[at] ^= 0x5a;
    CAPTURE(at);
    const Status status = parse(flipped);
    REQUIRE_FALSE(status.is_ok());
    // Past the header fields checked before it, the checksum catches every flip.
    if (at >= 28 || (at >= 24 && at < 28))
      CHECK(status.message().find("checksum") != std::string::npos);
    // Resealed, the structural checks see the damage (or the bytes were texel/vertex data).
    reseal_lightfield_asset(flipped);
    auto asset = parse_lightfield_asset(flipped, "flipped.fvlf");
    if (asset.is_ok()) {
      ++loaded;
    } else {
      ++refused;
      CHECK(asset.status().code() == ErrorCode::kCorruptData);
      CHECK_FALSE(asset.status().message().empty());
    }
  }
  CHECK(refused > 0);
  MESSAGE(loaded << " resealed single-byte flips still load (texel, vertex or string bytes), "
                 << refused << " are refused");
}

TEST_CASE("lightfield asset: bad magic, versions and header fields") {
  const Bytes bytes = serialize(small_asset(), false);
  Bytes png = bytes;
  png[1] = 'P';
  CHECK(parse(png).message().find("not a fovea light-field asset") != std::string::npos);
  CHECK(parse(Bytes{0x89, 'F', 'V'}).message().find("truncated") != std::string::npos);
  CHECK(parse(Bytes{}).message().find("not a fovea light-field asset") != std::string::npos);
  expect_refused(
      bytes, [](Bytes& b) { b[8] = 2; }, "update fovea");
  expect_refused(
      bytes, [](Bytes& b) { b[8] = 0; }, "this reader reads 1.x");
  expect_refused(
      bytes, [](Bytes& b) { set_u32(b, 12, 32); }, "header size");
  Bytes damaged = bytes;
  damaged[bytes.size() - 100] ^= 1;
  CHECK(parse(damaged).message().find("checksum") != std::string::npos);
  // A newer minor version reads (minor versions only add section kinds).
  Bytes minor = bytes;
  minor[10] = 7;
  reseal_lightfield_asset(minor);
  CHECK(parse(minor).is_ok());
}

TEST_CASE("lightfield asset: section table: counts, offsets, overlaps, duplicates, unknown kinds") {
  const Bytes bytes = serialize(small_asset(), false);
  const Layout layout(bytes);
  expect_refused(
      bytes, [](Bytes& b) { set_u32(b, 28, 65); }, "at most 64");
  expect_refused(
      bytes, [](Bytes& b) { set_u32(b, 28, 1000000); }, "at most 64");
  expect_refused(
      bytes, [](Bytes& b) { set_u64(b, 32, 16); }, "does not fit");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, 32, b.size() - 8); }, "does not fit");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, 32, std::uint64_t{1} << 63); }, "does not fit");
  const size_t mesh_entry = layout.table_entry[fvlf::kMesh];
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 8, get_u64(b, mesh_entry + 8) + 8); },
      "not a multiple of 64");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 16, b.size()); }, "leave the file");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 16, ~std::uint64_t{0}); }, "leave the file");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 8, ~std::uint64_t{63}); }, "leave the file");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 8, 0); }, "overlap");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 8, layout.section_offset[fvlf::kMetadata]); },
      "overlap");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, mesh_entry, fvlf::kMetadata); },
      "a second metadata section");
  // An unknown kind in place of a known one: skipped, so the known one is missing.
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, mesh_entry, 99); }, "no mesh section");
  expect_refused(
      bytes, [](Bytes& b) { set_u32(b, 28, 3); }, "no direction map section");
}

TEST_CASE("lightfield asset: an unknown section kind is skipped, but must still fit") {
  // A fifth table entry fits in the padding before the metadata (the table ends at 160, the
  // metadata starts at 192); its section is 64 bytes appended to the file.
  Bytes bytes = serialize(small_asset(), false);
  REQUIRE(Layout(bytes).section(fvlf::kMetadata) >= 64 + 5 * 24);
  const size_t extra = bytes.size();
  bytes.resize(extra + 64, 0xab);
  set_u32(bytes, 64 + 4 * 24, 42);
  set_u64(bytes, 64 + 4 * 24 + 8, extra);
  set_u64(bytes, 64 + 4 * 24 + 16, 64);
  set_u32(bytes, 28, 5);
  set_u64(bytes, 16, bytes.size());
  reseal_lightfield_asset(bytes);
  const Status status = parse(bytes);
  CHECK_MESSAGE(status.is_ok(), status.to_string());
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, 64 + 4 * 24 + 8, extra + 8); }, "not a multiple of 64");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, 64 + 4 * 24 + 8, extra - 64); }, "overlap");
}

TEST_CASE("lightfield asset: metadata values are checked") {
  const Bytes bytes = serialize(small_asset(), false);
  const Layout layout(bytes);
  auto meta = [&](size_t field) { return layout.metadata_field(bytes, field); };
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, meta(kMetaK), 6); }, "k = 6");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, meta(kMetaK), 0); }, "k = 0");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, meta(kMetaK), 68); }, "k = 68");
  // k = 8 is valid for the metadata but the atlas then has the wrong layer count.
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, meta(kMetaK), 8); }, "but k needs");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, meta(kMetaBias + 4), NAN); }, "bias[1]");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, meta(kMetaBias), INFINITY); }, "not finite");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, meta(kMetaBoundsMin), 100.0f); },
      "bounds_min is above bounds_max");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, meta(kMetaFrame), 0.5f); }, "orthonormal");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, meta(kMetaDirParam), 2); }, "direction parametrisation");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, meta(kMetaNear), 0.0f); }, "0 < near < far");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, meta(kMetaFar), 0.05f); }, "0 < near < far");
  // The first string claims more bytes than the section has.
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, layout.section(fvlf::kMetadata), 0xfffffff0u); },
      "scene name");
  // Invalid UTF-8 in the name.
  expect_refused(
      bytes, [&](Bytes& b) { b[layout.section(fvlf::kMetadata) + 4] = 0xff; }, "UTF-8");
  // A longer section than its fields: bytes left over.
  const size_t meta_entry = layout.table_entry[fvlf::kMetadata];
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, meta_entry + 16, get_u64(b, meta_entry + 16) + 4); },
      "left over");
  CHECK(meta(kMetaEnd) == layout.section(fvlf::kMetadata) + layout.section_size[fvlf::kMetadata]);
}

TEST_CASE("lightfield asset: mesh counts, blob records, indices and bounds are checked") {
  const LightFieldAsset asset = small_asset();
  const Bytes bytes = serialize(asset, false);
  const Layout layout(bytes);
  const size_t mesh = layout.section(fvlf::kMesh);
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, mesh, 0); }, "each must be in [1, 2^26]");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, mesh + 4, (1u << 26) + 1); }, "each must be in [1, 2^26]");
  // An absurd but in-range count: the records' decoded sizes disagree, before any allocation.
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, mesh, 1u << 26); }, "decoded size");
  const size_t positions = layout.mesh_record(0);
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, positions, get_u64(b, positions) + 4); },
      "not a multiple of 64");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, positions, mesh); }, "overlaps the directory");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, positions + 8, get_u64(b, positions + 8) + 1); },
      "raw blob stores");
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, positions + 8, ~std::uint64_t{0} - 8); },
      "leave the section");
  expect_refused(
      bytes, [&](Bytes& b) { b[positions + 24] = 2; }, "unknown encoding 2");
  expect_refused(
      bytes, [&](Bytes& b) { b[positions + 25] = 1; }, "only allowed on texture layers");
  expect_refused(
      bytes, [&](Bytes& b) { b[positions + 25] = 9; }, "unknown filter 9");
  // Non-zero padding between the directory and the first blob.
  expect_refused(
      bytes, [&](Bytes& b) { b[layout.mesh_record(2) + 32] = 1; }, "padding byte");
  // A triangle index past the vertex count.
  const size_t triangles = get_u64(bytes, layout.mesh_record(2));
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, triangles + 4, 100000); }, "vertex index 100000");
  // More one-sided triangles than triangles; as many is fine (format 1.1).
  const std::uint32_t triangle_count = get_u32(bytes, mesh + 4);
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, mesh + 12, triangle_count + 1); },
      "one-sided triangles of");
  Bytes all_one_sided = bytes;
  set_u32(all_one_sided, mesh + 12, triangle_count);
  reseal_lightfield_asset(all_one_sided);
  auto one_sided = parse_lightfield_asset(all_one_sided, "one_sided.fvlf");
  REQUIRE(one_sided.is_ok());
  CHECK(one_sided->one_sided_triangles == triangle_count);
  // The unshared flag with indices that are not 0, 1, 2, ...
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, triangles, 1); }, "flagged unshared");
  // A vertex outside the bounds, a NaN vertex, a NaN uv.
  const size_t position_bytes = get_u64(bytes, positions);
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, position_bytes, 50.0f); }, "outside the metadata bounds");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, position_bytes + 4, NAN); }, "not finite");
  const size_t uv_bytes = get_u64(bytes, layout.mesh_record(1));
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, uv_bytes, INFINITY); }, "uv of vertex 0");
  // A uv outside [0, 1] is allowed (the lookup clamps it).
  Bytes wide_uv = bytes;
  set_f32(wide_uv, uv_bytes, 1.5f);
  reseal_lightfield_asset(wide_uv);
  CHECK(parse(wide_uv).is_ok());
  // The section longer than its last blob.
  const size_t mesh_entry = layout.table_entry[fvlf::kMesh];
  expect_refused(
      bytes, [&](Bytes& b) { set_u64(b, mesh_entry + 16, get_u64(b, mesh_entry + 16) - 4); },
      "leave the section");
}

TEST_CASE("lightfield asset: texture sizes, formats, ranges and layers are checked") {
  const Bytes bytes = serialize(small_asset(), false);
  const Layout layout(bytes);
  const size_t atlas = layout.section(fvlf::kPositionAtlas);
  const size_t dirmap = layout.section(fvlf::kDirectionMap);
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, atlas, 0); }, "outside 1..4096");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, atlas + 4, 4097); }, "outside 1..4096");
  // In range but not what the blobs hold: caught by the decoded size, before allocating.
  expect_refused(
      bytes,
      [&](Bytes& b) {
        set_u32(b, atlas, 4096);
        set_u32(b, atlas + 4, 4096);
      },
      "decoded size");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, atlas + 12, 2); }, "unknown texel format 2");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, atlas + 8, 2); }, "2 layers, but k needs 3");
  expect_refused(
      bytes, [&](Bytes& b) { set_u32(b, dirmap + 4, 2); }, "must be square");
  // lo of channel 0 above its hi; a NaN range.
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, atlas + 16, 1e6f); }, "below lo");
  expect_refused(
      bytes, [&](Bytes& b) { set_f32(b, atlas + 16 + 4 * 12, NAN); }, "hi[0]");
  const size_t layer1 = layout.texture_record(bytes, fvlf::kPositionAtlas, 1);
  expect_refused(
      bytes,
      [&](Bytes& b) {
        set_u64(b, layer1, get_u64(b, layout.texture_record(b, fvlf::kPositionAtlas, 0)));
      },
      "overlaps");
  expect_refused(
      bytes, [&](Bytes& b) { b[layer1 + 24] = 7; }, "unknown encoding 7");
}

TEST_CASE("lightfield asset: zlib blobs must inflate to exactly the size, with nothing after") {
  const LightFieldAsset asset = small_asset();
  // Builds a file whose atlas layer 0 is the given zlib stream (other blobs raw), by hand.
  auto with_layer0 = [&](const Bytes& stream, std::uint8_t filter) {
    Bytes bytes = serialize(asset, false);
    const Layout layout(bytes);
    const size_t record = layout.texture_record(bytes, fvlf::kPositionAtlas, 0);
    const size_t offset = get_u64(bytes, record);
    const size_t stored = get_u64(bytes, record + 8);
    // Rebuild the file with the new blob in place of the old one: easiest by re-serialising
    // everything after it. Instead, keep the layout and write the stream only when it fits.
    REQUIRE(stream.size() <= stored);
    std::memcpy(bytes.data() + offset, stream.data(), stream.size());
    std::memset(bytes.data() + offset + stream.size(), 0, stored - stream.size());
    set_u64(bytes, record + 8, stored);
    bytes[record + 24] = fvlf::kZlib;
    bytes[record + 25] = filter;
    return bytes;
  };
  auto deflate = [](const Bytes& raw) {
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    Bytes out(size);
    REQUIRE(compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) == Z_OK);
    out.resize(size);
    return out;
  };
  const size_t layer_bytes = static_cast<size_t>(asset.atlas.layer_bytes());
  const Bytes layer(asset.atlas.texels.begin(),
                    asset.atlas.texels.begin() + static_cast<std::ptrdiff_t>(layer_bytes));
  // The stream followed by zero padding inside the stored bytes: trailing bytes are corrupt.
  auto status = parse([&] {
    Bytes b = with_layer0(deflate(layer), 0);
    reseal_lightfield_asset(b);
    return b;
  }());
  CHECK(status.message().find("follow the end of the zlib stream") != std::string::npos);
  // Fewer bytes than the layer needs.
  const Bytes short_layer(layer.begin(), layer.end() - 4);
  Bytes fewer = with_layer0(deflate(short_layer), 0);
  reseal_lightfield_asset(fewer);
  CHECK(parse(fewer).message().find("fewer than") != std::string::npos);
  // More bytes than the layer needs.
  Bytes longer_layer = layer;
  longer_layer.resize(layer.size() + 16, 0);
  Bytes more = with_layer0(deflate(longer_layer), 0);
  reseal_lightfield_asset(more);
  CHECK(parse(more).message().find("more than") != std::string::npos);
  // Not a zlib stream at all.
  Bytes garbage = with_layer0(Bytes(16, 0x77), 0);
  reseal_lightfield_asset(garbage);
  CHECK(parse(garbage).message().find("zlib") != std::string::npos);
  // A tiny stream claiming a huge decoded size never gets inflated or allocated: the claim is
  // refused from the sizes alone (here through the validated dimensions).
  Bytes bomb = serialize(asset, true);
  const Layout layout(bomb);
  const size_t record = layout.texture_record(bomb, fvlf::kPositionAtlas, 0);
  set_u64(bomb, record + 16, std::uint64_t{1} << 40);
  reseal_lightfield_asset(bomb);
  CHECK(parse(bomb).message().find("decoded size") != std::string::npos);
}

TEST_CASE("lightfield asset: a claimed size far beyond what zlib can inflate is refused") {
  // A file whose atlas is 4096 x 4096 with one zlib blob of a few bytes: 64 MiB claimed from
  // a stream that can hold at most ~1032x its size.
  LightFieldAsset asset = small_asset();
  Bytes bytes = serialize(asset, true);
  const Layout layout(bytes);
  const size_t atlas = layout.section(fvlf::kPositionAtlas);
  set_u32(bytes, atlas, 4096);
  set_u32(bytes, atlas + 4, 4096);
  for (int l = 0; l < 3; ++l) {
    const size_t record = layout.texture_record(bytes, fvlf::kPositionAtlas, l);
    set_u64(bytes, record + 16, std::uint64_t{4096} * 4096 * 4);
    bytes[record + 24] = fvlf::kZlib;
  }
  reseal_lightfield_asset(bytes);
  const Status status = parse(bytes);
  CHECK(status.code() == ErrorCode::kCorruptData);
  CHECK(status.message().find("cannot inflate to") != std::string::npos);
}

TEST_CASE("lightfield asset: the loader's memory cap refuses before allocating") {
  const Bytes bytes = serialize(small_asset(), true);
  auto capped = parse_lightfield_asset(bytes, "capped.fvlf", {.max_decoded_bytes = 1000});
  CHECK(capped.status().code() == ErrorCode::kOutOfMemory);
  CHECK(capped.status().message().find("cap") != std::string::npos);
  CHECK(parse_lightfield_asset(bytes, "roomy.fvlf", {.max_decoded_bytes = 1 << 20}).is_ok());
}

TEST_CASE("lightfield asset: the writer refuses what the loader would refuse") {
  LightFieldAsset asset = small_asset();
  asset.triangles[5] = 1000000;
  auto bytes = serialize_lightfield_asset(asset);
  CHECK(bytes.status().code() == ErrorCode::kInvalidArgument);
  CHECK(bytes.status().message().find("vertex index") != std::string::npos);
  asset = small_asset();
  asset.atlas.texels.pop_back();
  CHECK(serialize_lightfield_asset(asset).status().code() == ErrorCode::kInvalidArgument);
  asset = small_asset();
  asset.k = 6;
  CHECK_FALSE(serialize_lightfield_asset(asset).is_ok());
  asset = small_asset();
  asset.one_sided_triangles = static_cast<std::uint32_t>(asset.triangle_count() + 1);
  CHECK(serialize_lightfield_asset(asset).status().message().find("one-sided") !=
        std::string::npos);
}

TEST_CASE("lightfield asset: the procedural asset's atlas follows the bake's patch layout") {
  const LightFieldAsset asset = make_procedural_lightfield_asset({.k = 8, .patch = 8});
  const int P = 8;
  const int C = asset.atlas.width / (P + 1);
  CHECK(asset.atlas.width == C * (P + 1));
  CHECK(asset.atlas.height % P == 0);
  // Each triangle's uv corners lie inside its own pair's block, so nearest lookups stay there.
  for (int t = 0; t < asset.triangle_count(); ++t) {
    const int p = t / 2;
    const double x0 = (p % C) * (P + 1.0), y0 = (p / C) * double(P);
    for (int c = 0; c < 3; ++c) {
      const glm::vec2 uv = asset.uvs[asset.triangles[3 * t + c]];
      const double x = uv.x * asset.atlas.width - x0, y = uv.y * asset.atlas.height - y0;
      CHECK(x > 0.0);
      CHECK(x < P + 1.0);
      CHECK(y > 0.0);
      CHECK(y < double(P));
    }
  }
}

}  // namespace
}  // namespace fovea::render
