#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "byte_io.h"
#include "fovea/core/crc32c.h"
#include "fovea/core/fvm_format.h"
#include "fovea/core/model.h"

namespace fovea {
namespace fvm {
namespace {

void write_shape_dims(detail::ByteWriter& w, const Shape& shape) {
  // Clamped so a corrupt in-memory rank cannot read past the dims (the loader rejects the rank).
  for (int i = 0; i < std::min(shape.rank, kMaxRank); ++i) w.i64(shape[i]);
}

void write_tensor(detail::ByteWriter& w, const GraphTensor& tensor) {
  const TensorInfo& info = tensor.info;
  w.string(info.name);
  w.u8(static_cast<std::uint8_t>(info.type));
  w.u8(static_cast<std::uint8_t>(info.shape.rank));
  w.u16(0);
  w.i32(tensor.constant);
  write_shape_dims(w, info.shape);
  w.i32(info.quantization.zero_point);
  w.i32(info.quantization.channel_axis);
  w.u32(static_cast<std::uint32_t>(info.quantization.scales.size()));
  for (float scale : info.quantization.scales) w.f32(scale);
}

void write_attributes(detail::ByteWriter& w, OpType op, const OpAttributes& a) {
  const std::size_t start = w.size();
  for (int v : {a.kernel_h, a.kernel_w, a.stride_h, a.stride_w, a.dilation_h, a.dilation_w,
                a.pad_top, a.pad_left, a.pad_bottom, a.pad_right, a.groups})
    w.i32(v);
  // LeakyRelu takes no fused clamp; its alpha rides in the clamp-min slot.
  w.f32(op == OpType::kLeakyRelu ? a.alpha : a.clamp_min);
  w.f32(a.clamp_max);
  for (int v : {a.axis, a.output_h, a.output_w, a.max_displacement}) w.i32(v);
  w.u8(a.align_corners ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(a.new_shape.rank));
  w.u16(0);
  for (int i = 0; i < kMaxRank; ++i) w.i64(i < a.new_shape.rank ? a.new_shape[i] : 0);
  w.zeros(kAttributeBytes - (w.size() - start));
}

void write_node(detail::ByteWriter& w, const GraphNode& node) {
  w.string(node.name);
  w.u16(static_cast<std::uint16_t>(node.op));
  w.u16(0);
  w.u32(static_cast<std::uint32_t>(node.inputs.size()));
  w.u32(static_cast<std::uint32_t>(node.outputs.size()));
  write_attributes(w, node.op, node.attributes);
  for (int t : node.inputs) w.i32(t);
  for (int t : node.outputs) w.i32(t);
}

void write_graph(detail::ByteWriter& w, const ModelGraph& graph) {
  w.u32(static_cast<std::uint32_t>(graph.tensors.size()));
  w.u32(static_cast<std::uint32_t>(graph.nodes.size()));
  w.u32(static_cast<std::uint32_t>(graph.inputs.size()));
  w.u32(static_cast<std::uint32_t>(graph.outputs.size()));
  for (const GraphTensor& tensor : graph.tensors) write_tensor(w, tensor);
  for (const GraphNode& node : graph.nodes) write_node(w, node);
  for (int t : graph.inputs) w.i32(t);
  for (int t : graph.outputs) w.i32(t);
}

}  // namespace

std::uint32_t checksum(std::span<const std::uint8_t> file) {
  if (file.size() < kHeaderBytes) return crc32c(file);
  const std::array<std::uint8_t, 4> zero{};
  std::uint32_t crc = crc32c(file.first(kChecksumOffset));
  crc = crc32c(zero, crc);
  return crc32c(file.subspan(kChecksumOffset + 4), crc);
}

void reseal(std::span<std::uint8_t> file) {
  if (file.size() < kHeaderBytes) return;
  detail::store_u32le(file.data() + kChecksumOffset, checksum(file));
}

std::vector<std::uint8_t> serialize_unchecked(const Model& model) {
  constexpr std::uint32_t kSections = 4;
  detail::ByteWriter w;
  w.zeros(kHeaderBytes + kSections * kSectionEntryBytes);
  struct Placed {
    SectionKind kind;
    std::size_t offset, size;
  };
  std::vector<Placed> sections;
  auto section = [&](SectionKind kind, auto&& body) {
    const std::size_t start = w.size();
    body();
    sections.push_back({kind, start, w.size() - start});
  };

  section(SectionKind::kMetadata, [&] {
    w.string(model.metadata.name);
    w.string(model.metadata.description);
    w.string(model.metadata.provenance);
  });
  section(SectionKind::kGraph, [&] { write_graph(w, model.graph); });
  std::size_t constant_table = 0;
  section(SectionKind::kConstantTable, [&] {
    w.u32(static_cast<std::uint32_t>(model.constant_count()));
    w.u32(0);
    constant_table = w.size();
    w.zeros(kConstantEntryBytes * static_cast<std::size_t>(model.constant_count()));
  });
  w.pad_to(kConstantAlignment);
  section(SectionKind::kConstantData, [&] {
    for (int c = 0; c < model.constant_count(); ++c) {
      w.pad_to(kConstantAlignment);
      const std::size_t entry = constant_table + kConstantEntryBytes * static_cast<std::size_t>(c);
      w.patch_u64(entry, w.size());
      w.patch_u64(entry + 8, static_cast<std::uint64_t>(model.constant_stored_bytes(c)));
      w.patch_u64(entry + 16, static_cast<std::uint64_t>(model.constant_decoded_bytes(c)));
      w.bytes()[entry + 24] = static_cast<std::uint8_t>(model.constant_encoding(c));
      w.append(model.constant_stored(c));
    }
  });

  std::vector<std::uint8_t>& bytes = w.bytes();
  std::copy(kMagic.begin(), kMagic.end(), bytes.begin());
  bytes[kVersionMajorOffset] = static_cast<std::uint8_t>(kVersionMajor);
  bytes[kVersionMajorOffset + 1] = static_cast<std::uint8_t>(kVersionMajor >> 8);
  bytes[kVersionMinorOffset] = static_cast<std::uint8_t>(kVersionMinor);
  bytes[kVersionMinorOffset + 1] = static_cast<std::uint8_t>(kVersionMinor >> 8);
  w.patch_u32(kHeaderBytesOffset, kHeaderBytes);
  w.patch_u64(kFileBytesOffset, bytes.size());
  w.patch_u32(kSectionCountOffset, kSections);
  w.patch_u64(kSectionTableOffset, kHeaderBytes);
  for (std::size_t s = 0; s < sections.size(); ++s) {
    const std::size_t entry = kHeaderBytes + s * kSectionEntryBytes;
    w.patch_u32(entry, static_cast<std::uint32_t>(sections[s].kind));
    w.patch_u64(entry + 8, sections[s].offset);
    w.patch_u64(entry + 16, sections[s].size);
  }
  reseal(bytes);
  return std::move(bytes);
}

}  // namespace fvm

Result<std::vector<std::uint8_t>> serialize_fvm(const Model& model) {
  Status valid = model.validate();
  if (!valid)
    return Status(ErrorCode::kInvalidArgument,
                  "refusing to write an invalid model: " + valid.message());
  return fvm::serialize_unchecked(model);
}

Status save_fvm(const Model& model, const std::string& path) {
  auto bytes = serialize_fvm(model);
  if (!bytes) return bytes.status().with_context(path);
  // Written beside the target and renamed over it, so a reader never maps a half-written file.
  const std::string partial = path + ".partial";
  std::FILE* file = std::fopen(partial.c_str(), "wb");
  if (!file)
    return Status(ErrorCode::kInvalidArgument,
                  path + ": cannot open for writing: " + std::strerror(errno));
  const bool written = std::fwrite(bytes->data(), 1, bytes->size(), file) == bytes->size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(partial.c_str());
    return Status(ErrorCode::kInternal, path + ": write failed: " + std::strerror(errno));
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(partial.c_str());
    return Status(ErrorCode::kInternal, path + ": rename failed: " + std::strerror(error));
  }
  return Status::ok();
}

}  // namespace fovea
