#include "fovea/core/model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "fovea/core/weight_codec.h"

namespace fovea {

const Model::Constant* Model::find(int index) const {
  if (index < 0 || index >= constant_count()) return nullptr;
  return &constants_[static_cast<std::size_t>(index)];
}

std::int64_t Model::constant_decoded_bytes(int index) const {
  const Constant* c = find(index);
  return c ? c->decoded_bytes : -1;
}

std::int64_t Model::constant_stored_bytes(int index) const {
  const Constant* c = find(index);
  return c ? c->stored_bytes : -1;
}

ConstantEncoding Model::constant_encoding(int index) const {
  const Constant* c = find(index);
  return c ? c->encoding : ConstantEncoding::kRaw;
}

std::span<const std::uint8_t> Model::constant_stored(int index) const {
  const Constant* c = find(index);
  if (!c) return {};
  return {c->data, static_cast<std::size_t>(c->stored_bytes)};
}

Status Model::decode_constant(int index, std::span<std::uint8_t> out) const {
  const Constant* c = find(index);
  if (!c)
    return Status(ErrorCode::kInvalidArgument, "constant " + std::to_string(index) +
                                                   " does not exist (the model has " +
                                                   std::to_string(constant_count()) + ")");
  if (static_cast<std::int64_t>(out.size()) != c->decoded_bytes)
    return Status(ErrorCode::kInvalidArgument,
                  "constant " + std::to_string(index) + " decodes to " +
                      std::to_string(c->decoded_bytes) + " bytes, but the output holds " +
                      std::to_string(out.size()));
  if (c->encoding == ConstantEncoding::kRaw) {
    if (!out.empty()) std::memcpy(out.data(), c->data, out.size());
    return Status::ok();
  }
  auto reader = WeightStreamReader::open(constant_stored(index));
  if (!reader) return reader.status().with_context("constant " + std::to_string(index));
  return reader->decode(out).with_context("constant " + std::to_string(index));
}

Status Model::decode_constant(int index, std::span<std::uint8_t> out, pthreadpool_t pool) const {
  const Constant* c = find(index);
  if (pool == nullptr || c == nullptr || c->encoding == ConstantEncoding::kRaw ||
      static_cast<std::int64_t>(out.size()) != c->decoded_bytes)
    return decode_constant(index, out);
  auto reader = WeightStreamReader::open(constant_stored(index));
  if (!reader) return reader.status().with_context("constant " + std::to_string(index));
  if (reader->block_count() < 2) return decode_constant(index, out);
  // Blocks decode on their own; a failed one is decoded again on this thread for its message.
  struct Job {
    const WeightStreamReader* reader;
    std::span<std::uint8_t> out;
    std::atomic<int> failed_block{-1};
  } job{&*reader, out, {}};
  pthreadpool_parallelize_1d(
      pool,
      [](void* context, size_t b) {
        auto* j = static_cast<Job*>(context);
        const int block = static_cast<int>(b);
        const std::size_t begin = b * kWeightBlockBytes;
        const auto bytes = static_cast<std::size_t>(j->reader->block_decoded_bytes(block));
        if (!j->reader->decode_block(block, j->out.subspan(begin, bytes)).is_ok())
          j->failed_block.store(block);
      },
      &job, static_cast<size_t>(reader->block_count()), 0);
  const int failed = job.failed_block.load();
  if (failed < 0) return Status::ok();
  const std::size_t begin = static_cast<std::size_t>(failed) * kWeightBlockBytes;
  return reader
      ->decode_block(
          failed, out.subspan(begin, static_cast<std::size_t>(reader->block_decoded_bytes(failed))))
      .with_context("constant " + std::to_string(index));
}

int Model::add_constant(std::span<const std::uint8_t> bytes, bool entropy_code) {
  if (!entropy_code) {
    auto stored = add_stored_constant(bytes, ConstantEncoding::kRaw, nullptr);
    return *stored;  // raw bytes cannot fail validation
  }
  auto owned = std::make_shared<std::vector<std::uint8_t>>(encode_weight_stream(bytes));
  Constant c;
  c.data = owned->data();
  c.stored_bytes = static_cast<std::int64_t>(owned->size());
  c.decoded_bytes = static_cast<std::int64_t>(bytes.size());
  c.encoding = ConstantEncoding::kEntropyCoded;
  c.keeper = std::move(owned);
  constants_.push_back(std::move(c));
  return constant_count() - 1;
}

Result<int> Model::add_stored_constant(std::span<const std::uint8_t> stored,
                                       ConstantEncoding encoding,
                                       std::shared_ptr<const void> keeper) {
  Constant c;
  c.stored_bytes = static_cast<std::int64_t>(stored.size());
  c.encoding = encoding;
  if (encoding == ConstantEncoding::kRaw) {
    c.decoded_bytes = c.stored_bytes;
  } else if (encoding == ConstantEncoding::kEntropyCoded) {
    auto reader = WeightStreamReader::open(stored);
    if (!reader) return reader.status();
    c.decoded_bytes = reader->decoded_bytes();
  } else {
    return Status(ErrorCode::kInvalidArgument,
                  "unknown constant encoding " + std::to_string(static_cast<int>(encoding)));
  }
  if (keeper) {
    c.data = stored.data();
    c.keeper = std::move(keeper);
    c.file_backed = true;
  } else {
    auto owned = std::make_shared<std::vector<std::uint8_t>>(stored.begin(), stored.end());
    c.data = owned->data();
    c.keeper = std::move(owned);
  }
  constants_.push_back(std::move(c));
  return constant_count() - 1;
}

std::int64_t Model::resident_stored_bytes() const {
  std::int64_t total = 0;
  for (const Constant& c : constants_)
    if (!c.file_backed) total += c.stored_bytes;
  return total;
}

bool Model::constant_is_file_backed(int index) const {
  const Constant* c = find(index);
  return c != nullptr && c->file_backed;
}

void Model::release_file_pages(int index) const {
  const Constant* c = find(index);
  if (c == nullptr || !c->file_backed || c->stored_bytes <= 0) return;
  // The kernel maps the pages around a faulting one too (fault-around, 64 KiB by default), so
  // reading one blob leaves its neighbours' pages resident as well; dropping only the blob's own
  // pages let a model streamed through a tight budget keep most of its file resident. Drop the
  // window around it, within the constants of the same mapping. These are clean pages of a
  // private file mapping: a later read faults them back in from the page cache, also while
  // another kernel is reading a raw constant there.
  constexpr std::uintptr_t kFaultAround = 64 * 1024;
  auto lo = reinterpret_cast<std::uintptr_t>(c->data);
  auto hi = lo + static_cast<std::uintptr_t>(c->stored_bytes);
  std::uintptr_t mapped_lo = lo, mapped_hi = hi;
  for (const Constant& other : constants_) {
    if (!other.file_backed || other.keeper != c->keeper) continue;
    const auto begin = reinterpret_cast<std::uintptr_t>(other.data);
    mapped_lo = std::min(mapped_lo, begin);
    mapped_hi = std::max(mapped_hi, begin + static_cast<std::uintptr_t>(other.stored_bytes));
  }
  lo = lo - mapped_lo > kFaultAround ? lo - kFaultAround : mapped_lo;
  hi = mapped_hi - hi > kFaultAround ? hi + kFaultAround : mapped_hi;
  // Whole pages: the mapping starts on a page and covers the last one, so rounding outwards
  // stays inside it.
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const std::uintptr_t first = lo / page * page;
  const std::uintptr_t last = (hi + page - 1) / page * page;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

std::int64_t Model::stored_bytes() const {
  std::int64_t total = 0;
  for (const Constant& c : constants_) total += c.stored_bytes;
  return total;
}

namespace {

std::string tensor_label(const ModelGraph& graph, std::size_t t) {
  return "tensor " + std::to_string(t) + " '" + graph.tensors[t].info.name + "'";
}

}  // namespace

Status Model::validate() const {
  // Sizes first: shape inference in graph.validate() should never see a hostile 2^48-byte shape.
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const TensorInfo& info = graph.tensors[t].info;
    const std::int64_t bytes = info.byte_size();
    if (bytes > kMaxTensorBytes)
      return Status(ErrorCode::kCorruptData,
                    tensor_label(graph, t) + ": shape " + info.shape.to_string() + " of " +
                        data_type_name(info.type) + " is " + std::to_string(bytes) +
                        " bytes, beyond the 1 TiB any model tensor may have");
  }
  FOVEA_RETURN_IF_ERROR(graph.validate());
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const GraphTensor& tensor = graph.tensors[t];
    if (tensor.constant == -1) continue;
    const std::string where = tensor_label(graph, t);
    const std::int64_t bytes = tensor.info.byte_size();
    if (tensor.constant < -1 || tensor.constant >= constant_count())
      return Status(ErrorCode::kCorruptData, where + ": constant index " +
                                                 std::to_string(tensor.constant) +
                                                 " is out of range (the model has " +
                                                 std::to_string(constant_count()) + " constants)");
    const std::int64_t decoded = constant_decoded_bytes(tensor.constant);
    if (decoded != bytes)
      return Status(ErrorCode::kCorruptData,
                    where + ": constant " + std::to_string(tensor.constant) + " holds " +
                        std::to_string(decoded) + " bytes, but shape " +
                        tensor.info.shape.to_string() + " of " + data_type_name(tensor.info.type) +
                        " needs " + std::to_string(bytes));
  }
  return Status::ok();
}

}  // namespace fovea
