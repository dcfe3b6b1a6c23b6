// The .fvlf loader and writer (docs/lightfield-asset.md). The loader checks every claimed size
// against the bytes that are really there, and against dimensions it has already validated,
// before it allocates anything.

#include "fovea/render/lightfield_asset.h"

#include "fovea/core/crc32c.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <utility>

namespace fovea::render {
namespace {

static_assert(std::endian::native == std::endian::little,
              ".fvlf arrays are little-endian in memory; a big-endian port must swap them");
// Blobs decode straight into these arrays: they must be packed floats.
static_assert(sizeof(glm::vec3) == 12 && sizeof(glm::vec2) == 8);

// zlib's deflate expands at most about 1032:1, so a stream claiming more is corrupt before a
// byte of it is inflated (this bounds what a small hostile file can make the loader allocate).
constexpr std::uint64_t kZlibMaxRatio = 1032;
constexpr std::uint64_t kZlibSlack = 4096;

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

Status corrupt(const std::string& message) {
  return Status(ErrorCode::kCorruptData, message);
}

std::uint16_t load_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}
std::uint32_t load_u32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}
std::uint64_t load_u64(const std::uint8_t* p) {
  return std::uint64_t{load_u32(p)} | std::uint64_t{load_u32(p + 4)} << 32;
}
float load_f32(const std::uint8_t* p) {
  return std::bit_cast<float>(load_u32(p));
}

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), as Python's decoder.
bool valid_utf8(std::span<const std::uint8_t> text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::uint8_t c = text[i];
    int extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      code = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      code = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      code = c & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i <= static_cast<std::size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const std::uint8_t next = text[i + k];
      if ((next & 0xc0u) != 0x80u) return false;
      code = code << 6 | (next & 0x3fu);
    }
    if ((extra == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10ffff)))
      return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

// Reads packed little-endian fields from [pos, end) of the file; every read names what it
// wanted and where when the bytes are not there.
class FieldReader {
 public:
  FieldReader(std::span<const std::uint8_t> file, std::uint64_t begin, std::uint64_t end,
              std::string where)
      : file_(file), pos_(begin), end_(end), where_(std::move(where)) {}

  std::uint64_t pos() const noexcept { return pos_; }
  std::uint64_t left() const noexcept { return end_ - pos_; }
  const std::string& where() const noexcept { return where_; }
  Status error(const std::string& what) const { return corrupt(where_ + ": " + what); }

  Status need(std::uint64_t bytes, const char* what) const {
    if (bytes <= left()) return Status::ok();
    return corrupt(where_ + ": " + what + " at " + hex(pos_) + " needs " + std::to_string(bytes) +
                   " bytes, " + std::to_string(left()) + " left in the section");
  }
  Status u32(const char* what, std::uint32_t& out) {
    FOVEA_RETURN_IF_ERROR(need(4, what));
    out = load_u32(file_.data() + pos_);
    pos_ += 4;
    return Status::ok();
  }
  Status u64(const char* what, std::uint64_t& out) {
    FOVEA_RETURN_IF_ERROR(need(8, what));
    out = load_u64(file_.data() + pos_);
    pos_ += 8;
    return Status::ok();
  }
  Status u8(const char* what, std::uint8_t& out) {
    FOVEA_RETURN_IF_ERROR(need(1, what));
    out = file_[pos_++];
    return Status::ok();
  }
  Status skip(std::uint64_t bytes, const char* what) {
    FOVEA_RETURN_IF_ERROR(need(bytes, what));
    pos_ += bytes;
    return Status::ok();
  }
  // `count` finite floats.
  Status f32(const char* what, float* out, std::uint64_t count) {
    const std::uint64_t at = pos_;
    FOVEA_RETURN_IF_ERROR(need(count * 4, what));
    for (std::uint64_t i = 0; i < count; ++i) {
      out[i] = load_f32(file_.data() + pos_ + 4 * i);
      if (!std::isfinite(out[i]))
        return corrupt(where_ + ": " + what + "[" + std::to_string(i) + "] at " + hex(at + 4 * i) +
                       " is not finite");
    }
    pos_ += count * 4;
    return Status::ok();
  }
  Status vec3(const char* what, glm::vec3& out) { return f32(what, &out.x, 3); }
  Status string(const char* what, std::string& out) {
    std::uint32_t length = 0;
    FOVEA_RETURN_IF_ERROR(u32(what, length));
    FOVEA_RETURN_IF_ERROR(need(length, what));
    const std::span<const std::uint8_t> text = file_.subspan(pos_, length);
    if (!valid_utf8(text))
      return corrupt(where_ + ": " + what + " at " + hex(pos_) + " is not valid UTF-8");
    out.assign(reinterpret_cast<const char*>(text.data()), text.size());
    pos_ += length;
    return Status::ok();
  }

 private:
  std::span<const std::uint8_t> file_;
  std::uint64_t pos_;
  std::uint64_t end_;
  std::string where_;
};

struct BlobRecord {
  std::uint64_t offset = 0;
  std::uint64_t stored = 0;
  std::uint64_t decoded = 0;
  std::uint8_t encoding = 0;
  std::uint8_t filter = 0;
};

// Reads `count` blob records at the reader's position and checks them against the section
// (`section_end`) and the decoded size the validated dimensions imply. Reads no blob bytes
// beyond the padding check.
Status read_blob_directory(FieldReader& reader, std::span<const std::uint8_t> file, int count,
                           std::uint64_t section_end, std::span<const std::uint64_t> expected,
                           bool texture_layers, std::vector<BlobRecord>& records) {
  records.assign(static_cast<size_t>(count), {});
  for (int i = 0; i < count; ++i) {
    BlobRecord& r = records[static_cast<size_t>(i)];
    FOVEA_RETURN_IF_ERROR(reader.u64("blob record offset", r.offset));
    FOVEA_RETURN_IF_ERROR(reader.u64("blob record stored bytes", r.stored));
    FOVEA_RETURN_IF_ERROR(reader.u64("blob record decoded bytes", r.decoded));
    FOVEA_RETURN_IF_ERROR(reader.u8("blob record encoding", r.encoding));
    FOVEA_RETURN_IF_ERROR(reader.u8("blob record filter", r.filter));
    FOVEA_RETURN_IF_ERROR(reader.skip(6, "blob record reserved bytes"));
  }
  std::uint64_t previous_end = reader.pos();
  for (int i = 0; i < count; ++i) {
    const BlobRecord& r = records[static_cast<size_t>(i)];
    const std::string what =
        reader.where() + " " + (texture_layers ? "layer " : "blob ") + std::to_string(i);
    if (r.offset % 64 != 0)
      return corrupt(what + ": offset " + hex(r.offset) + " is not a multiple of 64");
    if (r.offset < previous_end)
      return corrupt(what + ": offset " + hex(r.offset) + " overlaps the directory or the " +
                     "previous blob (which end at " + hex(previous_end) + ")");
    if (r.offset > section_end || r.stored > section_end - r.offset)
      return corrupt(what + ": bytes " + hex(r.offset) + "+" + std::to_string(r.stored) +
                     " leave the section (which ends at " + hex(section_end) + ")");
    for (std::uint64_t at = previous_end; at < r.offset; ++at)
      if (file[at] != 0)
        return corrupt(what + ": padding byte at " + hex(at) + " before the blob is not zero");
    if (r.decoded != expected[static_cast<size_t>(i)])
      return corrupt(what + ": decoded size " + std::to_string(r.decoded) + ", but the section's " +
                     "dimensions make it " + std::to_string(expected[static_cast<size_t>(i)]));
    if (r.encoding > fvlf::kZlib)
      return corrupt(what + ": unknown encoding " + std::to_string(r.encoding) +
                     " (0 raw, 1 zlib)");
    if (r.filter > fvlf::kSubFilter)
      return corrupt(what + ": unknown filter " + std::to_string(r.filter) + " (0 none, 1 sub)");
    if (r.filter == fvlf::kSubFilter && !texture_layers)
      return corrupt(what + ": the sub filter is only allowed on texture layers");
    if (r.encoding == fvlf::kRaw && r.stored != r.decoded)
      return corrupt(what + ": a raw blob stores " + std::to_string(r.stored) + " bytes but " +
                     "decodes to " + std::to_string(r.decoded));
    if (r.encoding == fvlf::kZlib && r.decoded > r.stored * kZlibMaxRatio + kZlibSlack)
      return corrupt(what + ": " + std::to_string(r.stored) + " zlib bytes cannot inflate to " +
                     std::to_string(r.decoded) + " bytes");
    previous_end = r.offset + r.stored;
  }
  if (previous_end != section_end)
    return corrupt(reader.where() + ": the section ends at " + hex(section_end) +
                   " but its last blob at " + hex(previous_end) + " (the section must be used up)");
  return Status::ok();
}

Status inflate_exact(std::span<const std::uint8_t> in, std::span<std::uint8_t> out,
                     const std::string& what) {
  if (in.size() > UINT_MAX || out.size() > UINT_MAX)
    return corrupt(what + ": a zlib blob above 4 GiB is not supported");
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK)
    return Status(ErrorCode::kOutOfMemory, what + ": zlib could not start inflating");
  stream.next_in = const_cast<Bytef*>(in.data());
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = inflate(&stream, Z_FINISH);
  const std::string message = stream.msg != nullptr ? stream.msg : "";
  const uInt input_left = stream.avail_in;
  const uInt output_left = stream.avail_out;
  inflateEnd(&stream);
  if (result == Z_STREAM_END) {
    if (output_left != 0)
      return corrupt(what + ": the zlib stream inflates to " +
                     std::to_string(out.size() - output_left) + " bytes, fewer than " +
                     std::to_string(out.size()));
    if (input_left != 0)
      return corrupt(what + ": " + std::to_string(input_left) +
                     " bytes follow the end of the zlib stream");
    return Status::ok();
  }
  if (result == Z_DATA_ERROR)
    return corrupt(what + ": zlib data error" + (message.empty() ? "" : " (" + message + ")"));
  if (result == Z_MEM_ERROR) return Status(ErrorCode::kOutOfMemory, what + ": zlib out of memory");
  if (output_left == 0)
    return corrupt(what + ": the zlib stream inflates to more than " + std::to_string(out.size()) +
                   " bytes");
  return corrupt(what + ": the zlib stream is truncated (it ends before " +
                 std::to_string(out.size()) + " bytes)");
}

void undo_sub_filter(std::span<std::uint8_t> layer, int width, int height) {
  for (int j = 0; j < height; ++j) {
    std::uint8_t* row = layer.data() + static_cast<size_t>(j) * width * 4;
    for (int i = 4; i < width * 4; ++i) row[i] = static_cast<std::uint8_t>(row[i] + row[i - 4]);
  }
}

Status decode_blob(std::span<const std::uint8_t> file, const BlobRecord& record,
                   std::span<std::uint8_t> out, int width, int height, const std::string& what) {
  const std::span<const std::uint8_t> stored = file.subspan(record.offset, record.stored);
  if (record.encoding == fvlf::kRaw) {
    if (!out.empty()) std::memcpy(out.data(), stored.data(), out.size());
  } else {
    FOVEA_RETURN_IF_ERROR(inflate_exact(stored, out, what));
  }
  if (record.filter == fvlf::kSubFilter) undo_sub_filter(out, width, height);
  return Status::ok();
}

struct Span {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Status check_budget(std::int64_t& used, std::int64_t more, const LightFieldLoadOptions& options,
                    const std::string& where) {
  if (more > options.max_decoded_bytes - used)
    return Status(ErrorCode::kOutOfMemory,
                  where + ": the asset needs more than this loader's cap of " +
                      std::to_string(options.max_decoded_bytes) + " decoded bytes (" +
                      std::to_string(used) + " so far, " + std::to_string(more) + " more)");
  used += more;
  return Status::ok();
}

Status parse_metadata(std::span<const std::uint8_t> file, Span section, const std::string& name,
                      LightFieldAsset& asset) {
  FieldReader r(file, section.begin, section.end, name + ": metadata section");
  FOVEA_RETURN_IF_ERROR(r.string("scene name", asset.name));
  FOVEA_RETURN_IF_ERROR(r.string("description", asset.description));
  FOVEA_RETURN_IF_ERROR(r.string("provenance", asset.provenance));
  std::uint32_t k = 0, flags = 0;
  const std::uint64_t k_at = r.pos();
  FOVEA_RETURN_IF_ERROR(r.u32("k", k));
  if (k % 4 != 0 || k < 4 || k > 64)
    return r.error("k = " + std::to_string(k) + " at " + hex(k_at) +
                   " is not a multiple of 4 in [4, 64]");
  asset.k = static_cast<int>(k);
  FOVEA_RETURN_IF_ERROR(r.u32("flags", flags));
  FOVEA_RETURN_IF_ERROR(r.vec3("bias", asset.bias));
  FOVEA_RETURN_IF_ERROR(r.f32("background", &asset.background.x, 4));
  FOVEA_RETURN_IF_ERROR(r.vec3("bounds_min", asset.bounds_min));
  FOVEA_RETURN_IF_ERROR(r.vec3("bounds_max", asset.bounds_max));
  for (int a = 0; a < 3; ++a)
    if (asset.bounds_min[a] > asset.bounds_max[a])
      return r.error("bounds_min is above bounds_max on axis " + std::to_string(a));
  const std::uint64_t frame_at = r.pos();
  FOVEA_RETURN_IF_ERROR(r.f32("dir_frame", asset.dir_frame.data(), 9));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double dot = 0.0;
      for (int c = 0; c < 3; ++c)
        dot += double(asset.dir_frame[i * 3 + c]) * double(asset.dir_frame[j * 3 + c]);
      if (std::abs(dot - (i == j ? 1.0 : 0.0)) >= 1e-3)
        return r.error("dir_frame at " + hex(frame_at) + " is not orthonormal (R R^T [" +
                       std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(dot) +
                       ")");
    }
  std::uint32_t dir_param = 0;
  FOVEA_RETURN_IF_ERROR(r.u32("dir_param", dir_param));
  if (dir_param != fvlf::kDirOctahedral)
    return r.error("unknown direction parametrisation " + std::to_string(dir_param) +
                   " (version 1 knows 1, octahedral)");
  LightFieldCamera& camera = asset.camera;
  FOVEA_RETURN_IF_ERROR(r.vec3("camera eye", camera.eye));
  FOVEA_RETURN_IF_ERROR(r.vec3("camera target", camera.target));
  FOVEA_RETURN_IF_ERROR(r.vec3("camera up", camera.up));
  float lens[3];
  FOVEA_RETURN_IF_ERROR(r.f32("camera fovy/near/far", lens, 3));
  camera.fovy = lens[0];
  camera.near_plane = lens[1];
  camera.far_plane = lens[2];
  if (!(camera.near_plane > 0.0f && camera.far_plane > camera.near_plane))
    return r.error("camera near " + std::to_string(camera.near_plane) + " and far " +
                   std::to_string(camera.far_plane) + " must satisfy 0 < near < far");
  std::uint32_t reserved = 0;
  FOVEA_RETURN_IF_ERROR(r.u32("patch", asset.patch));
  FOVEA_RETURN_IF_ERROR(r.u32("reserved", reserved));
  if (r.left() != 0)
    return r.error(std::to_string(r.left()) + " bytes left over after the last field at " +
                   hex(r.pos()));
  return Status::ok();
}

Status parse_mesh(std::span<const std::uint8_t> file, Span section, const std::string& name,
                  const LightFieldLoadOptions& options, std::int64_t& budget,
                  LightFieldAsset& asset) {
  FieldReader r(file, section.begin, section.end, name + ": mesh section");
  std::uint32_t vertices = 0, triangles = 0, flags = 0, one_sided = 0;
  FOVEA_RETURN_IF_ERROR(r.u32("vertex count", vertices));
  FOVEA_RETURN_IF_ERROR(r.u32("triangle count", triangles));
  FOVEA_RETURN_IF_ERROR(r.u32("flags", flags));
  FOVEA_RETURN_IF_ERROR(r.u32("one-sided triangle count", one_sided));
  if (vertices < 1 || vertices > fvlf::kMaxMeshElements || triangles < 1 ||
      triangles > fvlf::kMaxMeshElements)
    return r.error(std::to_string(vertices) + " vertices and " + std::to_string(triangles) +
                   " triangles: each must be in [1, 2^26]");
  const std::uint64_t V = vertices, T = triangles;
  const std::uint64_t expected[3] = {12 * V, 8 * V, 12 * T};
  std::vector<BlobRecord> blobs;
  FOVEA_RETURN_IF_ERROR(
      read_blob_directory(r, file, 3, section.end, expected, /*texture_layers=*/false, blobs));
  FOVEA_RETURN_IF_ERROR(
      check_budget(budget, static_cast<std::int64_t>(expected[0] + expected[1] + expected[2]),
                   options, r.where()));

  asset.positions.resize(V);
  asset.uvs.resize(V);
  asset.triangles.resize(3 * T);
  const char* names[3] = {"positions", "uvs", "triangles"};
  std::span<std::uint8_t> outs[3] = {
      {reinterpret_cast<std::uint8_t*>(asset.positions.data()), expected[0]},
      {reinterpret_cast<std::uint8_t*>(asset.uvs.data()), expected[1]},
      {reinterpret_cast<std::uint8_t*>(asset.triangles.data()), expected[2]}};
  for (int b = 0; b < 3; ++b)
    FOVEA_RETURN_IF_ERROR(
        decode_blob(file, blobs[b], outs[b], 0, 0,
                    r.where() + " blob " + std::to_string(b) + " (" + names[b] + ")"));
  asset.unshared = (flags & fvlf::kMeshUnshared) != 0;
  if (one_sided > triangles)
    return r.error(std::to_string(one_sided) + " one-sided triangles of " +
                   std::to_string(triangles));
  asset.one_sided_triangles = one_sided;

  for (std::uint64_t i = 0; i < 3 * T; ++i)
    if (asset.triangles[i] >= vertices)
      return r.error("triangle " + std::to_string(i / 3) + " has vertex index " +
                     std::to_string(asset.triangles[i]) + ", not below the vertex count " +
                     std::to_string(vertices));
  if (asset.unshared) {
    bool sequential = V == 3 * T;
    for (std::uint64_t i = 0; sequential && i < 3 * T; ++i) sequential = asset.triangles[i] == i;
    if (!sequential)
      return r.error("flagged unshared (flags bit 0) but the triangles are not 0, 1, 2, ...");
  }
  float largest = 1.0f;
  for (int a = 0; a < 3; ++a)
    largest = std::max({largest, std::abs(asset.bounds_min[a]), std::abs(asset.bounds_max[a])});
  const float tolerance = 1e-4f * largest;
  for (std::uint64_t v = 0; v < V; ++v) {
    const glm::vec3 p = asset.positions[v];
    for (int a = 0; a < 3; ++a) {
      if (!std::isfinite(p[a])) return r.error("vertex " + std::to_string(v) + " is not finite");
      if (p[a] < asset.bounds_min[a] - tolerance || p[a] > asset.bounds_max[a] + tolerance)
        return r.error("vertex " + std::to_string(v) + " lies outside the metadata bounds");
    }
    if (!std::isfinite(asset.uvs[v].x) || !std::isfinite(asset.uvs[v].y))
      return r.error("the uv of vertex " + std::to_string(v) + " is not finite");
  }
  return Status::ok();
}

Status parse_texture(std::span<const std::uint8_t> file, Span section, const std::string& where,
                     int expected_layers, bool square, const LightFieldLoadOptions& options,
                     std::int64_t& budget, LightFieldTexture& texture) {
  FieldReader r(file, section.begin, section.end, where);
  std::uint32_t width = 0, height = 0, layers = 0, format = 0;
  FOVEA_RETURN_IF_ERROR(r.u32("width", width));
  FOVEA_RETURN_IF_ERROR(r.u32("height", height));
  FOVEA_RETURN_IF_ERROR(r.u32("layers", layers));
  FOVEA_RETURN_IF_ERROR(r.u32("format", format));
  if (width < 1 || height < 1 || width > fvlf::kMaxTextureSide || height > fvlf::kMaxTextureSide)
    return r.error("size " + std::to_string(width) + "x" + std::to_string(height) +
                   " is outside 1..4096");
  if (format != fvlf::kFormatRgba8)
    return r.error("unknown texel format " + std::to_string(format) + " (1 is RGBA8)");
  if (layers != static_cast<std::uint32_t>(expected_layers))
    return r.error(std::to_string(layers) + " layers, but k needs " +
                   std::to_string(expected_layers));
  if (square && width != height)
    return r.error("the direction map must be square, got " + std::to_string(width) + "x" +
                   std::to_string(height));
  texture.width = static_cast<int>(width);
  texture.height = static_cast<int>(height);
  texture.layers = static_cast<int>(layers);
  texture.lo.resize(4 * layers);
  texture.hi.resize(4 * layers);
  FOVEA_RETURN_IF_ERROR(r.f32("lo", texture.lo.data(), 4 * layers));
  FOVEA_RETURN_IF_ERROR(r.f32("hi", texture.hi.data(), 4 * layers));
  for (std::uint32_t q = 0; q < 4 * layers; ++q)
    if (texture.hi[q] < texture.lo[q])
      return r.error("channel " + std::to_string(q) + " has hi " + std::to_string(texture.hi[q]) +
                     " below lo " + std::to_string(texture.lo[q]));
  const std::uint64_t layer_bytes = std::uint64_t{width} * height * 4;
  const std::vector<std::uint64_t> expected(layers, layer_bytes);
  std::vector<BlobRecord> blobs;
  FOVEA_RETURN_IF_ERROR(read_blob_directory(r, file, static_cast<int>(layers), section.end,
                                            expected, /*texture_layers=*/true, blobs));
  FOVEA_RETURN_IF_ERROR(
      check_budget(budget, static_cast<std::int64_t>(layer_bytes * layers), options, where));
  texture.texels.resize(layer_bytes * layers);
  for (std::uint32_t l = 0; l < layers; ++l)
    FOVEA_RETURN_IF_ERROR(
        decode_blob(file, blobs[l],
                    std::span<std::uint8_t>(texture.texels).subspan(l * layer_bytes, layer_bytes),
                    texture.width, texture.height, where + " layer " + std::to_string(l)));
  return Status::ok();
}

// ---- writer ----

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_f32(std::vector<std::uint8_t>& out, const float* v, int count) {
  for (int i = 0; i < count; ++i) put_u32(out, std::bit_cast<std::uint32_t>(v[i]));
}
void put_string(std::vector<std::uint8_t>& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void store_u32(std::vector<std::uint8_t>& out, size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void store_u64(std::vector<std::uint8_t>& out, size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void align64(std::vector<std::uint8_t>& out) {
  out.resize((out.size() + 63) / 64 * 64, 0);
}

struct EncodedBlob {
  std::vector<std::uint8_t> stored;
  std::uint64_t decoded = 0;
  std::uint8_t encoding = fvlf::kRaw;
  std::uint8_t filter = fvlf::kNoFilter;
};

std::vector<std::uint8_t> deflate_bytes(std::span<const std::uint8_t> raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> out(size);
  if (compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK)
    return {};
  out.resize(size);
  return out;
}

// Raw, zlib, or (texture layers) zlib over the Sub filter: whichever stores fewest bytes.
EncodedBlob encode_blob(std::span<const std::uint8_t> raw, bool compress, int layer_width) {
  EncodedBlob blob;
  blob.decoded = raw.size();
  blob.stored.assign(raw.begin(), raw.end());
  if (!compress) return blob;
  std::vector<std::uint8_t> zipped = deflate_bytes(raw);
  if (!zipped.empty() && zipped.size() < blob.stored.size()) {
    blob.stored = std::move(zipped);
    blob.encoding = fvlf::kZlib;
  }
  if (layer_width > 0) {
    std::vector<std::uint8_t> sub(raw.begin(), raw.end());
    const size_t row = static_cast<size_t>(layer_width) * 4;
    for (size_t start = 0; start < sub.size(); start += row)
      for (size_t i = row - 1; i >= 4; --i)
        sub[start + i] = static_cast<std::uint8_t>(raw[start + i] - raw[start + i - 4]);
    std::vector<std::uint8_t> sub_zipped = deflate_bytes(sub);
    if (!sub_zipped.empty() && sub_zipped.size() < blob.stored.size()) {
      blob.stored = std::move(sub_zipped);
      blob.encoding = fvlf::kZlib;
      blob.filter = fvlf::kSubFilter;
    }
  }
  return blob;
}

// Appends a section of `head` bytes, a blob directory and the blobs; returns where it lies.
Span append_blob_section(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& head,
                         const std::vector<EncodedBlob>& blobs) {
  align64(out);
  const size_t start = out.size();
  out.insert(out.end(), head.begin(), head.end());
  const size_t directory = out.size();
  out.resize(out.size() + fvlf::kBlobRecordBytes * blobs.size(), 0);
  for (size_t b = 0; b < blobs.size(); ++b) {
    align64(out);
    const size_t at = out.size();
    out.insert(out.end(), blobs[b].stored.begin(), blobs[b].stored.end());
    const size_t record = directory + b * fvlf::kBlobRecordBytes;
    store_u64(out, record, at);
    store_u64(out, record + 8, blobs[b].stored.size());
    store_u64(out, record + 16, blobs[b].decoded);
    out[record + 24] = blobs[b].encoding;
    out[record + 25] = blobs[b].filter;
  }
  return {start, out.size()};
}

std::vector<std::uint8_t> texture_head(const LightFieldTexture& texture) {
  std::vector<std::uint8_t> head;
  put_u32(head, static_cast<std::uint32_t>(texture.width));
  put_u32(head, static_cast<std::uint32_t>(texture.height));
  put_u32(head, static_cast<std::uint32_t>(texture.layers));
  put_u32(head, fvlf::kFormatRgba8);
  put_f32(head, texture.lo.data(), static_cast<int>(texture.lo.size()));
  put_f32(head, texture.hi.data(), static_cast<int>(texture.hi.size()));
  return head;
}

Status check_shapes(const LightFieldAsset& asset) {
  auto invalid = [](const std::string& what) {
    return Status(ErrorCode::kInvalidArgument, "cannot write the light-field asset: " + what);
  };
  if (asset.positions.size() != asset.uvs.size())
    return invalid("positions and uvs differ in count");
  if (asset.positions.empty() || asset.triangles.empty() || asset.triangles.size() % 3 != 0)
    return invalid("the mesh needs vertices and a multiple of 3 indices");
  if (asset.positions.size() > fvlf::kMaxMeshElements ||
      asset.triangles.size() / 3 > fvlf::kMaxMeshElements)
    return invalid("more than 2^26 vertices or triangles");
  if (asset.one_sided_triangles > asset.triangles.size() / 3)
    return invalid("more one-sided triangles than triangles");
  for (const LightFieldTexture* t : {&asset.atlas, &asset.direction_map}) {
    if (t->width < 1 || t->height < 1 || t->layers < 1 || t->width > fvlf::kMaxTextureSide ||
        t->height > fvlf::kMaxTextureSide)
      return invalid("a texture of " + std::to_string(t->width) + "x" + std::to_string(t->height) +
                     "x" + std::to_string(t->layers));
    if (t->lo.size() != static_cast<size_t>(4 * t->layers) || t->hi.size() != t->lo.size())
      return invalid("a texture's ranges are not 4 per layer");
    if (static_cast<std::int64_t>(t->texels.size()) != t->bytes())
      return invalid("a texture's texels are not 4 W H L bytes");
  }
  return Status::ok();
}

}  // namespace

glm::mat3 LightFieldAsset::direction_frame() const {
  glm::mat3 m(1.0f);
  for (int row = 0; row < 3; ++row)
    for (int col = 0; col < 3; ++col) m[col][row] = dir_frame[row * 3 + col];
  return m;
}

std::int64_t LightFieldAsset::gpu_bytes() const noexcept {
  const std::int64_t vertex_buffer = std::int64_t{20} * vertex_count();
  const std::int64_t index_buffer = unshared ? 0 : std::int64_t{12} * triangle_count();
  return atlas.bytes() + direction_map.bytes() + vertex_buffer + index_buffer;
}

Result<LightFieldAsset> parse_lightfield_asset(std::span<const std::uint8_t> bytes,
                                               const std::string& name,
                                               const LightFieldLoadOptions& options) {
  const std::uint64_t n = bytes.size();
  // 1. Magic, first even on a short file.
  if (n == 0 || std::memcmp(bytes.data(), fvlf::kMagic, std::min<std::uint64_t>(n, 8)) != 0)
    return corrupt(name +
                   ": not a fovea light-field asset (its first bytes are not the .fvlf "
                   "magic 89 46 56 4C 0D 0A 1A 0A)");
  // 2. Header.
  if (n < fvlf::kHeaderBytes)
    return corrupt(name + ": truncated: " + std::to_string(n) +
                   " bytes, but the header alone is 64");
  const std::uint8_t* h = bytes.data();
  const std::uint16_t major = load_u16(h + 8), minor = load_u16(h + 10);
  const std::uint32_t header_bytes = load_u32(h + 12);
  const std::uint64_t file_bytes = load_u64(h + 16);
  const std::uint32_t checksum = load_u32(h + 24);
  const std::uint32_t section_count = load_u32(h + 28);
  const std::uint64_t table = load_u64(h + 32);
  if (major != fvlf::kVersionMajor)
    return corrupt(name + ": format version " + std::to_string(major) + "." +
                   std::to_string(minor) + "; this reader reads 1.x" +
                   (major > fvlf::kVersionMajor ? " (a newer fovea wrote it: update fovea)" : ""));
  if (header_bytes < fvlf::kHeaderBytes || header_bytes > n)
    return corrupt(name + ": header size " + std::to_string(header_bytes) +
                   " at 0xc is outside [64, file size]");
  if (file_bytes != n)
    return corrupt(name + ": the file is " + std::to_string(n) + " bytes but its header says " +
                   std::to_string(file_bytes) + " (truncated or extended)");
  // 3. Checksum, with its own four bytes read as zero.
  static constexpr std::uint8_t kZeros[4] = {};
  std::uint32_t crc = crc32c(bytes.first(24));
  crc = crc32c(kZeros, crc);
  crc = crc32c(bytes.subspan(28), crc);
  if (crc != checksum) {
    char text[96];
    std::snprintf(text, sizeof text, "checksum 0x%08x, computed 0x%08x: the file is damaged",
                  checksum, crc);
    return corrupt(name + ": " + text);
  }
  // 4. Section table.
  if (section_count > fvlf::kMaxSections)
    return corrupt(name + ": " + std::to_string(section_count) +
                   " sections; a file holds at most 64");
  if (table < header_bytes || table > n ||
      std::uint64_t{section_count} * fvlf::kSectionRecordBytes > n - table)
    return corrupt(name + ": the section table (" + std::to_string(section_count) + " entries at " +
                   hex(table) + ") does not fit between the header and the " + "end of the file");
  // Sections may not overlap each other, the header or the section table.
  std::vector<Span> used = {{0, header_bytes}, {table, table + std::uint64_t{section_count} * 24}};
  Span sections[5];
  bool present[5] = {};
  static constexpr const char* kNames[5] = {"", "metadata", "mesh", "position atlas",
                                            "direction map"};
  for (std::uint32_t s = 0; s < section_count; ++s) {
    const std::uint8_t* e = h + table + std::uint64_t{s} * 24;
    const std::uint32_t kind = load_u32(e);
    const std::uint64_t offset = load_u64(e + 8), size = load_u64(e + 16);
    const std::string what =
        name + ": section " + std::to_string(s) + " (kind " + std::to_string(kind) + ")";
    if (offset % 64 != 0)
      return corrupt(what + ": offset " + hex(offset) + " is not a multiple of 64");
    if (offset > n || size > n - offset)
      return corrupt(what + ": bytes " + hex(offset) + "+" + std::to_string(size) +
                     " leave the file (" + std::to_string(n) + " bytes)");
    for (const Span& other : used)
      if (offset < other.end && other.begin < offset + size)
        return corrupt(what + ": bytes " + hex(offset) + "+" + std::to_string(size) +
                       " overlap the header, the section table or another section");
    used.push_back({offset, offset + size});
    if (kind >= fvlf::kMetadata && kind <= fvlf::kDirectionMap) {
      if (present[kind]) return corrupt(what + ": a second " + kNames[kind] + " section");
      present[kind] = true;
      sections[kind] = {offset, offset + size};
    }
  }
  for (std::uint32_t kind = fvlf::kMetadata; kind <= fvlf::kDirectionMap; ++kind)
    if (!present[kind]) return corrupt(name + ": the file has no " + kNames[kind] + " section");

  LightFieldAsset asset;
  asset.file_bytes = static_cast<std::int64_t>(n);
  std::int64_t budget = 0;
  // 5-8. Metadata, mesh, textures; each must use its section up exactly.
  FOVEA_RETURN_IF_ERROR(parse_metadata(bytes, sections[fvlf::kMetadata], name, asset));
  FOVEA_RETURN_IF_ERROR(parse_mesh(bytes, sections[fvlf::kMesh], name, options, budget, asset));
  FOVEA_RETURN_IF_ERROR(parse_texture(bytes, sections[fvlf::kPositionAtlas],
                                      name + ": position atlas section", 3 * asset.k / 4,
                                      /*square=*/false, options, budget, asset.atlas));
  FOVEA_RETURN_IF_ERROR(parse_texture(bytes, sections[fvlf::kDirectionMap],
                                      name + ": direction map section", asset.k / 4,
                                      /*square=*/true, options, budget, asset.direction_map));
  return asset;
}

Result<LightFieldAsset> load_lightfield_asset(const std::string& path,
                                              const LightFieldLoadOptions& options) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return Status(ErrorCode::kNotFound, path + ": cannot open the light-field asset");
  const std::streamoff size = file.tellg();
  if (size < 0) return Status(ErrorCode::kNotFound, path + ": cannot read its size");
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  file.seekg(0);
  if (!bytes.empty() && !file.read(reinterpret_cast<char*>(bytes.data()), size))
    return Status(ErrorCode::kNotFound, path + ": reading failed");
  return parse_lightfield_asset(bytes, path, options);
}

void reseal_lightfield_asset(std::span<std::uint8_t> file) noexcept {
  if (file.size() < fvlf::kHeaderBytes) return;
  std::memset(file.data() + 24, 0, 4);
  const std::uint32_t crc = crc32c(file);
  for (int i = 0; i < 4; ++i) file[24 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

Result<std::vector<std::uint8_t>> serialize_lightfield_asset(
    const LightFieldAsset& asset, const LightFieldWriteOptions& options) {
  FOVEA_RETURN_IF_ERROR(check_shapes(asset));
  std::vector<std::uint8_t> out(fvlf::kHeaderBytes + 4 * fvlf::kSectionRecordBytes, 0);
  std::vector<std::pair<std::uint32_t, Span>> sections;

  // Metadata.
  std::vector<std::uint8_t> meta;
  put_string(meta, asset.name);
  put_string(meta, asset.description);
  put_string(meta, asset.provenance);
  put_u32(meta, static_cast<std::uint32_t>(asset.k));
  put_u32(meta, 0);
  put_f32(meta, &asset.bias.x, 3);
  put_f32(meta, &asset.background.x, 4);
  put_f32(meta, &asset.bounds_min.x, 3);
  put_f32(meta, &asset.bounds_max.x, 3);
  put_f32(meta, asset.dir_frame.data(), 9);
  put_u32(meta, fvlf::kDirOctahedral);
  put_f32(meta, &asset.camera.eye.x, 3);
  put_f32(meta, &asset.camera.target.x, 3);
  put_f32(meta, &asset.camera.up.x, 3);
  const float lens[3] = {asset.camera.fovy, asset.camera.near_plane, asset.camera.far_plane};
  put_f32(meta, lens, 3);
  put_u32(meta, asset.patch);
  put_u32(meta, 0);
  align64(out);
  sections.push_back({fvlf::kMetadata, {out.size(), out.size() + meta.size()}});
  out.insert(out.end(), meta.begin(), meta.end());

  // Mesh.
  std::vector<std::uint8_t> head;
  put_u32(head, static_cast<std::uint32_t>(asset.vertex_count()));
  put_u32(head, static_cast<std::uint32_t>(asset.triangle_count()));
  put_u32(head, asset.unshared ? fvlf::kMeshUnshared : 0u);
  put_u32(head, asset.one_sided_triangles);
  auto as_bytes = [](const auto& v) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(v.data()),
                                         v.size() * sizeof(v[0]));
  };
  std::vector<EncodedBlob> blobs;
  blobs.push_back(encode_blob(as_bytes(asset.positions), options.compress, 0));
  blobs.push_back(encode_blob(as_bytes(asset.uvs), options.compress, 0));
  blobs.push_back(encode_blob(as_bytes(asset.triangles), options.compress, 0));
  sections.push_back({fvlf::kMesh, append_blob_section(out, head, blobs)});

  // Textures.
  const std::pair<std::uint32_t, const LightFieldTexture*> textures[2] = {
      {fvlf::kPositionAtlas, &asset.atlas}, {fvlf::kDirectionMap, &asset.direction_map}};
  for (const auto& [kind, texture] : textures) {
    blobs.clear();
    const size_t layer_bytes = static_cast<size_t>(texture->layer_bytes());
    for (int l = 0; l < texture->layers; ++l)
      blobs.push_back(encode_blob(
          std::span<const std::uint8_t>(texture->texels).subspan(l * layer_bytes, layer_bytes),
          options.compress, texture->width));
    sections.push_back({kind, append_blob_section(out, texture_head(*texture), blobs)});
  }

  // Header and section table.
  std::vector<std::uint8_t> header(fvlf::kMagic, fvlf::kMagic + 8);
  put_u16(header, fvlf::kVersionMajor);
  put_u16(header, fvlf::kVersionMinor);
  put_u32(header, fvlf::kHeaderBytes);
  put_u64(header, out.size());
  put_u32(header, 0);
  put_u32(header, static_cast<std::uint32_t>(sections.size()));
  put_u64(header, fvlf::kHeaderBytes);
  header.resize(fvlf::kHeaderBytes, 0);
  std::copy(header.begin(), header.end(), out.begin());
  for (size_t s = 0; s < sections.size(); ++s) {
    const size_t at = fvlf::kHeaderBytes + s * fvlf::kSectionRecordBytes;
    store_u32(out, at, sections[s].first);
    store_u32(out, at + 4, 0);
    store_u64(out, at + 8, sections[s].second.begin);
    store_u64(out, at + 16, sections[s].second.end - sections[s].second.begin);
  }
  reseal_lightfield_asset(out);
  if (options.validate) {
    // The writer never hands out a file its own loader refuses.
    auto check = parse_lightfield_asset(
        out, "the written asset", {.max_decoded_bytes = std::numeric_limits<std::int64_t>::max()});
    if (!check)
      return Status(ErrorCode::kInvalidArgument,
                    "cannot write the light-field asset: " + check.status().message());
  }
  return out;
}

Status write_lightfield_asset(const std::string& path, const LightFieldAsset& asset,
                              const LightFieldWriteOptions& options) {
  auto bytes = serialize_lightfield_asset(asset, options);
  if (!bytes) return bytes.status();
  const std::string partial = path + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) return Status(ErrorCode::kNotFound, partial + ": cannot create the file");
    file.write(reinterpret_cast<const char*>(bytes->data()),
               static_cast<std::streamsize>(bytes->size()));
    if (!file) return Status(ErrorCode::kInternal, partial + ": writing failed");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0)
    return Status(ErrorCode::kInternal, "cannot rename " + partial + " to " + path);
  return Status::ok();
}

}  // namespace fovea::render
