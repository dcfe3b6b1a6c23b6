// The validating .fvm loader. Every count, offset and size is checked against the bytes that
// actually remain before it is used or anything is allocated from it, so a truncated, damaged
// or hostile file becomes an error value naming what is wrong and where; see docs/fvm.md.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "byte_io.h"
#include "fovea/core/crc32c.h"
#include "fovea/core/fvm_format.h"
#include "fovea/core/model.h"

namespace fovea {
namespace {

using detail::ByteReader;
using detail::hex;
using namespace fvm;

// Smallest encodings of a tensor and a node record, to bound counts before reserving.
constexpr std::uint64_t kMinTensorBytes = 4 + 4 + 4 + 12;
constexpr std::uint64_t kMinNodeBytes = 4 + 4 + 8 + kAttributeBytes;
constexpr std::uint32_t kMaxGraphItems = 1u << 24;

Status corrupt(const std::string& message) {
  return Status(ErrorCode::kCorruptData, message);
}

const char* section_name(std::uint32_t kind) {
  switch (static_cast<SectionKind>(kind)) {
    case SectionKind::kMetadata:
      return "metadata";
    case SectionKind::kGraph:
      return "graph";
    case SectionKind::kConstantTable:
      return "constant table";
    case SectionKind::kConstantData:
      return "constant data";
  }
  return "unknown";
}

struct Section {
  std::uint32_t kind = 0;
  std::uint64_t offset = 0, size = 0;
  int entry = -1;  // -1: the header or the section table itself
};

std::string describe(const Section& s) {
  if (s.entry < 0) return s.kind == 0 ? "the header" : "the section table";
  return "section " + std::to_string(s.entry) + " (" + section_name(s.kind) + ")";
}

std::string tensor_label(const ModelGraph& graph, int index) {
  return "tensor " + std::to_string(index) + " '" +
         graph.tensors[static_cast<std::size_t>(index)].info.name + "'";
}

// Reads the section table and returns the four sections in SectionKind order.
Result<std::vector<Section>> read_sections(std::span<const std::uint8_t> file,
                                           std::uint64_t header_bytes) {
  const std::uint64_t size = file.size();
  const std::uint32_t count = detail::load_u32le(file.data() + kSectionCountOffset);
  const std::uint64_t table = detail::load_u64le(file.data() + kSectionTableOffset);
  if (count > kMaxSections)
    return corrupt("section count " + std::to_string(count) + " is above the maximum " +
                   std::to_string(kMaxSections));
  const std::uint64_t table_bytes = std::uint64_t{count} * kSectionEntryBytes;
  if (table < header_bytes || table > size || table_bytes > size - table)
    return corrupt("section table at " + hex(table) + " (" + std::to_string(table_bytes) +
                   " bytes) lies outside the " + std::to_string(size) +
                   "-byte file or overlaps the header");

  std::vector<Section> all = {{0, 0, header_bytes, -1}, {1, table, table_bytes, -1}};
  std::vector<Section> found(4);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint8_t* entry = file.data() + table + std::uint64_t{i} * kSectionEntryBytes;
    Section s{detail::load_u32le(entry), detail::load_u64le(entry + 8),
              detail::load_u64le(entry + 16), static_cast<int>(i)};
    if (s.offset > size || s.size > size - s.offset)
      return corrupt(describe(s) + ": offset " + hex(s.offset) + " + " + std::to_string(s.size) +
                     " bytes runs past the end of the file (size " + std::to_string(size) + ")");
    all.push_back(s);
    if (s.kind < 1 || s.kind > 4) continue;  // added by a newer minor version: skipped
    Section& slot = found[s.kind - 1];
    if (slot.entry >= 0)
      return corrupt("two " + std::string(section_name(s.kind)) + " sections (entries " +
                     std::to_string(slot.entry) + " and " + std::to_string(i) + ")");
    slot = s;
  }
  for (std::uint32_t kind = 1; kind <= 4; ++kind)
    if (found[kind - 1].entry < 0)
      return corrupt("the required " + std::string(section_name(kind)) + " section is missing");
  std::sort(all.begin(), all.end(), [](const Section& a, const Section& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.size < b.size;
  });
  // Compared with the furthest-reaching earlier range, so an empty section in between cannot
  // hide an overlap.
  std::size_t reach = 0;
  for (std::size_t i = 1; i < all.size(); ++i) {
    if (all[i].size > 0 && all[reach].offset + all[reach].size > all[i].offset)
      return corrupt(describe(all[i]) + " at " + hex(all[i].offset) + " overlaps " +
                     describe(all[reach]) + " at " + hex(all[reach].offset));
    if (all[i].offset + all[i].size > all[reach].offset + all[reach].size) reach = i;
  }
  return found;
}

Status read_metadata(std::span<const std::uint8_t> file, const Section& s, ModelMetadata& out) {
  ByteReader r(file.subspan(s.offset, s.size), s.offset);
  out.name = r.string();
  out.description = r.string();
  out.provenance = r.string();
  if (r.failed()) return corrupt("metadata section: " + r.failure());
  if (r.remaining() != 0)
    return corrupt("metadata section: " + std::to_string(r.remaining()) +
                   " bytes left over after its three strings");
  return Status::ok();
}

Status read_index_list(ByteReader& r, std::uint32_t count, std::vector<int>& out) {
  if (std::uint64_t{count} * 4 > r.remaining())
    return corrupt(std::to_string(count) + " indices need " + std::to_string(count * 4ull) +
                   " bytes at " + hex(r.offset()) + " but only " + std::to_string(r.remaining()) +
                   " remain in the graph section");
  out.resize(count);
  for (int& index : out) index = r.i32();
  return Status::ok();
}

Status read_tensor(ByteReader& r, int index, GraphTensor& tensor) {
  TensorInfo& info = tensor.info;
  info.name = r.string();
  const std::uint8_t type = r.u8();
  const std::uint8_t rank = r.u8();
  r.u16();
  tensor.constant = r.i32();
  const std::string where = "tensor " + std::to_string(index) + " '" + info.name + "'";
  if (r.failed()) return corrupt(where + ": " + r.failure());
  if (!is_valid_data_type(type))
    return corrupt(where + ": unknown data type " + std::to_string(type));
  if (rank > kMaxRank)
    return corrupt(where + ": rank " + std::to_string(rank) + " is above the maximum " +
                   std::to_string(kMaxRank));
  info.type = static_cast<DataType>(type);
  info.shape.rank = rank;
  for (int i = 0; i < rank; ++i) info.shape[i] = r.i64();
  Quantization& q = info.quantization;
  q.zero_point = r.i32();
  q.channel_axis = r.i32();
  const std::uint32_t scales = r.u32();
  if (r.failed()) return corrupt(where + ": " + r.failure());
  if (std::uint64_t{scales} * 4 > r.remaining())
    return corrupt(where + ": " + std::to_string(scales) + " scales need " +
                   std::to_string(scales * 4ull) + " bytes at " + hex(r.offset()) + " but only " +
                   std::to_string(r.remaining()) + " remain in the graph section");
  q.scales.resize(scales);
  for (float& scale : q.scales) scale = r.f32();
  return Status::ok();
}

Status read_node(ByteReader& r, int index, GraphNode& node) {
  node.name = r.string();
  node.op = static_cast<OpType>(r.u16());
  r.u16();
  const std::uint32_t inputs = r.u32();
  const std::uint32_t outputs = r.u32();
  const std::string where = "node " + std::to_string(index) + " '" + node.name + "'";
  OpAttributes& a = node.attributes;
  for (int* v : {&a.kernel_h, &a.kernel_w, &a.stride_h, &a.stride_w, &a.dilation_h, &a.dilation_w,
                 &a.pad_top, &a.pad_left, &a.pad_bottom, &a.pad_right, &a.groups})
    *v = r.i32();
  a.clamp_min = r.f32();
  a.clamp_max = r.f32();
  if (node.op == OpType::kLeakyRelu) {  // its alpha rides in the clamp-min slot
    a.alpha = a.clamp_min;
    a.clamp_min = -std::numeric_limits<float>::infinity();
  }
  for (int* v : {&a.axis, &a.output_h, &a.output_w, &a.max_displacement}) *v = r.i32();
  a.align_corners = r.u8() != 0;
  const std::uint8_t new_rank = r.u8();
  r.u16();
  for (int i = 0; i < kMaxRank; ++i) a.new_shape.dims[static_cast<std::size_t>(i)] = r.i64();
  if (r.failed()) return corrupt(where + ": " + r.failure());
  if (new_rank > kMaxRank)
    return corrupt(where + ": reshape rank " + std::to_string(new_rank) + " is above the maximum " +
                   std::to_string(kMaxRank));
  a.new_shape.rank = new_rank;
  for (int i = new_rank; i < kMaxRank; ++i) a.new_shape.dims[static_cast<std::size_t>(i)] = 0;
  Status lists = read_index_list(r, inputs, node.inputs);
  if (lists) lists = read_index_list(r, outputs, node.outputs);
  return lists.with_context(where);
}

Status read_graph(std::span<const std::uint8_t> file, const Section& s, ModelGraph& graph) {
  ByteReader r(file.subspan(s.offset, s.size), s.offset);
  const std::uint32_t tensors = r.u32();
  const std::uint32_t nodes = r.u32();
  const std::uint32_t inputs = r.u32();
  const std::uint32_t outputs = r.u32();
  if (r.failed()) return corrupt("graph section: " + r.failure());
  const std::uint64_t least =
      tensors * kMinTensorBytes + nodes * kMinNodeBytes + (std::uint64_t{inputs} + outputs) * 4;
  if (tensors > kMaxGraphItems || nodes > kMaxGraphItems || least > r.remaining())
    return corrupt("graph section: " + std::to_string(tensors) + " tensors, " +
                   std::to_string(nodes) + " nodes, " + std::to_string(inputs) + " inputs and " +
                   std::to_string(outputs) + " outputs cannot fit in its " +
                   std::to_string(s.size) + " bytes");
  graph.tensors.resize(tensors);
  for (std::uint32_t t = 0; t < tensors; ++t)
    FOVEA_RETURN_IF_ERROR(read_tensor(r, static_cast<int>(t), graph.tensors[t]));
  graph.nodes.resize(nodes);
  for (std::uint32_t n = 0; n < nodes; ++n)
    FOVEA_RETURN_IF_ERROR(read_node(r, static_cast<int>(n), graph.nodes[n]));
  FOVEA_RETURN_IF_ERROR(read_index_list(r, inputs, graph.inputs).with_context("graph inputs"));
  FOVEA_RETURN_IF_ERROR(read_index_list(r, outputs, graph.outputs).with_context("graph outputs"));
  if (r.remaining() != 0)
    return corrupt("graph section: " + std::to_string(r.remaining()) +
                   " bytes left over after the graph");
  return Status::ok();
}

Status read_constants(std::span<const std::uint8_t> file, const Section& table, const Section& data,
                      const std::shared_ptr<const void>& keeper, Model& model) {
  ByteReader r(file.subspan(table.offset, table.size), table.offset);
  const std::uint32_t count = r.u32();
  r.u32();
  if (r.failed()) return corrupt("constant table: " + r.failure());
  if (std::uint64_t{count} * kConstantEntryBytes != r.remaining())
    return corrupt("constant table: " + std::to_string(count) + " entries need " +
                   std::to_string(count * std::uint64_t{kConstantEntryBytes}) + " bytes, but " +
                   std::to_string(r.remaining()) + " follow its count");
  // The first tensor naming each constant, so errors say which weights are broken.
  std::vector<int> owner(count, -1);
  for (std::size_t t = model.graph.tensors.size(); t-- > 0;) {
    const int c = model.graph.tensors[t].constant;
    if (c >= 0 && static_cast<std::uint32_t>(c) < count)
      owner[static_cast<std::size_t>(c)] = static_cast<int>(t);
  }
  const std::uint64_t data_end = data.offset + data.size;
  std::uint64_t previous_end = data.offset;
  for (std::uint32_t c = 0; c < count; ++c) {
    const std::uint64_t offset = r.u64();
    const std::uint64_t stored = r.u64();
    const std::uint64_t decoded = r.u64();
    const std::uint8_t encoding = r.u8();
    r.take(7);
    std::string where = "constant " + std::to_string(c);
    if (owner[c] >= 0) where = tensor_label(model.graph, owner[c]) + " (" + where + ")";
    if (encoding > static_cast<std::uint8_t>(ConstantEncoding::kEntropyCoded))
      return corrupt(where + ": unknown encoding " + std::to_string(encoding));
    if (offset % kConstantAlignment != 0)
      return corrupt(where + ": offset " + hex(offset) + " is not " +
                     std::to_string(kConstantAlignment) + "-byte aligned");
    if (offset < data.offset || offset > data_end || stored > data_end - offset)
      return corrupt(where + ": offset " + hex(offset) + " + " + std::to_string(stored) +
                     " bytes lies outside the constant data section [" + hex(data.offset) + ", " +
                     hex(data_end) + ") of the " + std::to_string(file.size()) + "-byte file");
    if (offset < previous_end)
      return corrupt(where + ": offset " + hex(offset) +
                     " overlaps the previous constant, which ends at " + hex(previous_end));
    previous_end = offset + stored;
    if (encoding == static_cast<std::uint8_t>(ConstantEncoding::kRaw) && stored != decoded)
      return corrupt(where + ": a raw constant stores " + std::to_string(stored) +
                     " bytes but its table entry says " + std::to_string(decoded) + " decoded");
    auto added = model.add_stored_constant(file.subspan(offset, stored),
                                           static_cast<ConstantEncoding>(encoding), keeper);
    if (!added) return added.status().with_context(where);
    if (static_cast<std::uint64_t>(model.constant_decoded_bytes(*added)) != decoded)
      return corrupt(where + ": its weight stream decodes to " +
                     std::to_string(model.constant_decoded_bytes(*added)) +
                     " bytes but its table entry says " + std::to_string(decoded));
  }
  return Status::ok();
}

// checksum() over a mapped file, a chunk at a time, each chunk's pages dropped once summed:
// loading a model then never holds more than a chunk of its file resident. Weights are read
// back from the mapping when they are packed.
std::uint32_t checksum_dropping_pages(std::span<const std::uint8_t> file) {
  if (file.size() < kHeaderBytes) return checksum(file);
  constexpr std::size_t kChunk = 256 * 1024;  // a multiple of the page size
  const std::array<std::uint8_t, 4> zero{};
  std::uint32_t crc = crc32c(file.first(kChecksumOffset));
  crc = crc32c(zero, crc);
  std::size_t at = kChecksumOffset + 4;
  while (at < file.size()) {
    const std::size_t end = std::min(file.size(), (at / kChunk + 1) * kChunk);
    crc = crc32c(file.subspan(at, end - at), crc);
    const std::size_t chunk_start = at / kChunk * kChunk;  // the mapping starts on a page
    if (end - chunk_start == kChunk)
      madvise(const_cast<std::uint8_t*>(file.data()) + chunk_start, kChunk, MADV_DONTNEED);
    at = end;
  }
  return crc;
}

Result<Model> parse(std::span<const std::uint8_t> file, const std::shared_ptr<const void>& keeper) {
  const std::uint64_t size = file.size();
  if (size == 0) return corrupt("empty (0 bytes); an .fvm file starts with a 64-byte header");
  // The magic is checked first, even on a short file, so a file of another kind is told apart
  // from a truncated model.
  const std::size_t seen = static_cast<std::size_t>(std::min<std::uint64_t>(size, kMagic.size()));
  if (!std::equal(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(seen), kMagic.begin())) {
    std::string start;
    for (std::size_t i = 0; i < seen; ++i) start += hex(file[i]) + (i + 1 < seen ? " " : "");
    return Status(ErrorCode::kInvalidArgument,
                  "not an .fvm model file: it starts with " + start +
                      " where an .fvm starts with 0x89 'FVM' 0xd 0xa 0x1a 0xa");
  }
  if (size < kHeaderBytes)
    return corrupt("truncated: " + std::to_string(size) + " bytes, shorter than the " +
                   std::to_string(kHeaderBytes) + "-byte header");
  const std::uint16_t major = detail::load_u16le(file.data() + kVersionMajorOffset);
  const std::uint16_t minor = detail::load_u16le(file.data() + kVersionMinorOffset);
  const std::string version = std::to_string(major) + "." + std::to_string(minor);
  if (major > kVersionMajor)
    return Status(ErrorCode::kInvalidArgument,
                  "format version " + version + " is newer than this build of fovea reads (" +
                      std::to_string(kVersionMajor) +
                      ".x): update fovea, or re-export the model with this version");
  if (major == 0) return corrupt("format version " + version + " does not exist");
  const std::uint64_t header_bytes = detail::load_u32le(file.data() + kHeaderBytesOffset);
  if (header_bytes < kHeaderBytes || header_bytes > size)
    return corrupt("header size " + std::to_string(header_bytes) + " is below " +
                   std::to_string(kHeaderBytes) + " or past the end of the " +
                   std::to_string(size) + "-byte file");
  const std::uint64_t recorded = detail::load_u64le(file.data() + kFileBytesOffset);
  if (recorded > size)
    return corrupt("truncated: the header records " + std::to_string(recorded) +
                   " bytes but the file has " + std::to_string(size));
  if (recorded < size)
    return corrupt(std::to_string(size - recorded) + " bytes of trailing data after the " +
                   std::to_string(recorded) + " bytes the header records");
  const std::uint32_t stored_crc = detail::load_u32le(file.data() + kChecksumOffset);
  const std::uint32_t crc = keeper ? checksum_dropping_pages(file) : checksum(file);
  if (stored_crc != crc)
    return corrupt("checksum mismatch: the header records CRC-32C " + hex(stored_crc) +
                   " but the contents give " + hex(crc) +
                   "; the file is damaged (copy or export it again)");

  auto sections = read_sections(file, header_bytes);
  if (!sections) return sections.status();
  const std::vector<Section>& s = *sections;
  Model model;
  FOVEA_RETURN_IF_ERROR(read_metadata(file, s[0], model.metadata));
  FOVEA_RETURN_IF_ERROR(read_graph(file, s[1], model.graph));
  FOVEA_RETURN_IF_ERROR(read_constants(file, s[2], s[3], keeper, model));
  FOVEA_RETURN_IF_ERROR(model.validate());
  return model;
}

// An mmap'ed file, unmapped when the last Model (or copy) using its constants goes away.
struct Mapping {
  void* address = nullptr;
  std::size_t size = 0;
  Mapping(void* a, std::size_t s) : address(a), size(s) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { munmap(address, size); }
};

}  // namespace

Result<Model> parse_fvm(std::span<const std::uint8_t> bytes) {
  auto model = parse(bytes, nullptr);
  if (!model) return model.status().with_context(".fvm");
  return model;
}

Result<Model> load_fvm(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
                  path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status(ErrorCode::kInvalidArgument, path + ": not a regular file");
  }
  const std::size_t size = static_cast<std::size_t>(info.st_size);
  std::shared_ptr<const Mapping> mapping;
  if (size > 0) {
    void* address = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      return Status(ErrorCode::kInternal, path + ": mmap failed: " + std::strerror(error));
    }
    mapping = std::make_shared<const Mapping>(address, size);
  }
  ::close(fd);
  const std::span<const std::uint8_t> bytes =
      mapping ? std::span(static_cast<const std::uint8_t*>(mapping->address), size)
              : std::span<const std::uint8_t>();
  auto model = parse(bytes, mapping);
  if (!model) return model.status().with_context(path);
  // Parsing read the sections it copies and each weight stream's tables; none of that needs
  // to stay resident.
  if (mapping) madvise(mapping->address, mapping->size, MADV_DONTNEED);
  return model;
}

}  // namespace fovea
