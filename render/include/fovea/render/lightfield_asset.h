#pragma once
// `.fvlf` light-field assets (docs/lightfield-asset.md, issue 4 "Re-ReND"): a validating loader,
// a writer (tests, tools) and a small procedural asset that golden and reference tests build
// themselves. Nothing here touches GL, so the loader also builds into the fuzz target alone.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <glm/mat3x3.hpp>
#include <glm/vec2.hpp>
#include <glm/vec3.hpp>
#include <glm/vec4.hpp>

#include "fovea/core/status.h"

namespace fovea::render {

namespace fvlf {
inline constexpr std::uint8_t kMagic[8] = {0x89, 'F', 'V', 'L', '\r', '\n', 0x1a, '\n'};
inline constexpr std::uint16_t kVersionMajor = 1;
// 1.1: the mesh section's fourth field counts one-sided triangles (0, and ignored, in 1.0).
inline constexpr std::uint16_t kVersionMinor = 1;
inline constexpr int kHeaderBytes = 64;
inline constexpr int kSectionRecordBytes = 24;
inline constexpr int kBlobRecordBytes = 32;
inline constexpr int kMaxSections = 64;
inline constexpr int kMaxTextureSide = 4096;
inline constexpr std::uint32_t kMaxMeshElements = 1u << 26;  // vertices or triangles
enum SectionKind : std::uint32_t {
  kMetadata = 1,
  kMesh = 2,
  kPositionAtlas = 3,
  kDirectionMap = 4
};
enum BlobEncoding : std::uint8_t { kRaw = 0, kZlib = 1 };
enum BlobFilter : std::uint8_t { kNoFilter = 0, kSubFilter = 1 };
inline constexpr std::uint32_t kFormatRgba8 = 1;
inline constexpr std::uint32_t kDirOctahedral = 1;
inline constexpr std::uint32_t kMeshUnshared = 1;  // mesh flag bit 0
}  // namespace fvlf

// An array of RGBA8 layers of one size with per-channel dequantisation ranges:
// value(q) = lo[q] + (hi[q] - lo[q]) * byte / 255, channel q = 4 * layer + (R, G, B, A).
struct LightFieldTexture {
  int width = 0;
  int height = 0;
  int layers = 0;
  std::vector<float> lo;  // 4 * layers
  std::vector<float> hi;  // 4 * layers, hi >= lo
  // layers x height x width x RGBA; layer 0 first, row 0 (texel row j = 0) first, no flipping.
  std::vector<std::uint8_t> texels;

  std::int64_t layer_bytes() const noexcept { return std::int64_t{width} * height * 4; }
  std::int64_t bytes() const noexcept { return layer_bytes() * layers; }
  const std::uint8_t* texel(int layer, int i, int j) const {
    return texels.data() + static_cast<size_t>(layer) * static_cast<size_t>(layer_bytes()) +
           (static_cast<size_t>(j) * width + i) * 4;
  }
  std::uint8_t* texel(int layer, int i, int j) {
    return texels.data() + static_cast<size_t>(layer) * static_cast<size_t>(layer_bytes()) +
           (static_cast<size_t>(j) * width + i) * 4;
  }
};

// The asset's suggested camera (OpenGL look-at; vertical field of view in radians).
struct LightFieldCamera {
  glm::vec3 eye{0.0f, -3.0f, 1.5f};
  glm::vec3 target{0.0f};
  glm::vec3 up{0.0f, 0.0f, 1.0f};
  float fovy = 0.69f;
  float near_plane = 0.05f;
  float far_plane = 20.0f;
};

struct LightFieldAsset {
  std::string name;
  std::string description;
  std::string provenance;
  int k = 0;  // components per colour channel: a multiple of 4 in [4, 64]
  glm::vec3 bias{0.0f};
  glm::vec4 background{1.0f};
  glm::vec3 bounds_min{0.0f};
  glm::vec3 bounds_max{0.0f};
  // Row-major rotation R: d_local = R * d_world (the octahedral map's frame).
  std::array<float, 9> dir_frame{1, 0, 0, 0, 1, 0, 0, 0, 1};
  LightFieldCamera camera;
  std::uint32_t patch = 0;  // informative: the bake's atlas patch size (0 = general UVs)

  std::vector<glm::vec3> positions;      // world space, V
  std::vector<glm::vec2> uvs;            // normalised atlas coordinates (s, t), V
  std::vector<std::uint32_t> triangles;  // 3 T vertex indices
  bool unshared = false;                 // vertex 3t+i is corner i of triangle t
  // Triangles [0, one_sided_triangles) are seen from their counter-clockwise side only
  // (orient_faces.py checked it from a sphere of views), so a renderer may cull their back
  // faces; the rest are drawn from both sides. The meshes' winding is not consistent.
  std::uint32_t one_sided_triangles = 0;
  LightFieldTexture atlas;          // f_{c,j}: 3k/4 layers
  LightFieldTexture direction_map;  // beta_j: k/4 layers, square, octahedral
  std::int64_t file_bytes = 0;      // the size of the file it was read from (0: built)

  int vertex_count() const noexcept { return static_cast<int>(positions.size()); }
  int triangle_count() const noexcept { return static_cast<int>(triangles.size() / 3); }
  // R as a glm matrix (so that R * d == direction_frame() * d with glm's column vectors).
  glm::mat3 direction_frame() const;
  // GPU bytes as the format counts them: textures 4WHL per section, a 20 V vertex buffer and
  // a 12 T index buffer (none when `unshared` lets a renderer use glDrawArrays).
  std::int64_t gpu_bytes() const noexcept;
};

struct LightFieldLoadOptions {
  // Refuses assets whose decoded textures and buffers together would exceed this many bytes,
  // before allocating them.
  std::int64_t max_decoded_bytes = std::int64_t{2} << 30;
};

// Validates everything docs/lightfield-asset.md lists ("Validation, in order") before it
// returns an asset or allocates from a claimed size. Errors are kCorruptData (kOutOfMemory for
// the cap) and name the file (`name`), section, blob or layer and the offset.
Result<LightFieldAsset> parse_lightfield_asset(std::span<const std::uint8_t> bytes,
                                               const std::string& name = "<memory>",
                                               const LightFieldLoadOptions& options = {});
Result<LightFieldAsset> load_lightfield_asset(const std::string& path,
                                              const LightFieldLoadOptions& options = {});

struct LightFieldWriteOptions {
  // zlib-compress every blob (texture layers also try the Sub filter), keeping whichever of
  // raw / zlib / zlib+Sub is smallest, as export_asset.py does. false: every blob raw.
  bool compress = true;
  // Parse the written bytes back and refuse an asset the loader would refuse. Tests that craft
  // bad files on purpose turn it off.
  bool validate = true;
};

// The asset as a version-1.0 file, laid out as export_asset.py lays it out.
Result<std::vector<std::uint8_t>> serialize_lightfield_asset(
    const LightFieldAsset& asset, const LightFieldWriteOptions& options = {});
Status write_lightfield_asset(const std::string& path, const LightFieldAsset& asset,
                              const LightFieldWriteOptions& options = {});

// Rewrites the header's checksum of a file patched on purpose (tests, the fuzz target). Files
// shorter than the header are left alone.
void reseal_lightfield_asset(std::span<std::uint8_t> file) noexcept;

// A small deterministic asset for golden and reference tests: a cube, an icosphere and a
// ground square (three components, unshared vertices, the bake's patch atlas layout), with
// analytic position features (checkers, bands, smooth waves) and a view-dependent sheen from
// beta = (1, d_local, smooth terms) on an octahedral map. A few tens of KB.
struct ProceduralLightFieldOptions {
  int k = 8;                      // a multiple of 4 in [4, 64]
  int patch = 8;                  // atlas patch size P (texels)
  int direction_resolution = 32;  // N of the N x N direction map
  int sphere_subdivisions = 2;    // 20 * 4^s triangles
  bool indexed = false;           // store `unshared = false` (draws through an index buffer)
};
LightFieldAsset make_procedural_lightfield_asset(const ProceduralLightFieldOptions& options = {});

}  // namespace fovea::render
