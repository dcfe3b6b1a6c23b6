#pragma once
// A model in memory: metadata, the graph, and the constant blobs its constant tensors point to.
// Constants stay as they are at rest (raw, or entropy-coded by weight_codec.h) and are decoded
// on demand into memory the caller owns (a budgeted packing buffer), so the resident cost of a
// model that is not running is its stored bytes. Loaded with load_fvm, the blobs are views into
// the mapped file and the Model keeps the mapping alive; copies of a Model share them.
//
// The .fvm file format is specified in docs/fvm.md.

#include <pthreadpool.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fovea/core/model_graph.h"
#include "fovea/core/status.h"

namespace fovea {

struct ModelMetadata {
  std::string name;
  std::string description;
  // Free-form, one "key: value" per line by convention: source (the ONNX file), recipe
  // (quantization settings), date, tool versions.
  std::string provenance;
};

enum class ConstantEncoding : std::uint8_t { kRaw = 0, kEntropyCoded = 1 };

class Model {
 public:
  ModelMetadata metadata;
  ModelGraph graph;

  int constant_count() const { return static_cast<int>(constants_.size()); }
  // These return -1 (bytes) or kRaw for an index out of range.
  std::int64_t constant_decoded_bytes(int index) const;
  std::int64_t constant_stored_bytes(int index) const;
  ConstantEncoding constant_encoding(int index) const;
  // The bytes at rest: for a raw constant of a loaded file, a 64-byte aligned view into the
  // mapping that kernels may read directly. Empty for an index out of range.
  std::span<const std::uint8_t> constant_stored(int index) const;

  // Writes the decoded constant into `out`, whose size must be constant_decoded_bytes(index).
  // A corrupt entropy-coded blob is a kCorruptData error, never a read out of bounds.
  Status decode_constant(int index, std::span<std::uint8_t> out) const;
  // The same, with the stream's blocks decoded in parallel on `pool` (nullptr: this thread).
  Status decode_constant(int index, std::span<std::uint8_t> out, pthreadpool_t pool) const;

  // Copies `bytes` in, entropy-coding them when asked, and returns the new constant's index.
  int add_constant(std::span<const std::uint8_t> bytes, bool entropy_code);

  // For loaders: adopts bytes already at rest. With `keeper` the bytes are a view it keeps
  // alive (an mmap'ed file); without, they are copied. Entropy-coded bytes are validated.
  Result<int> add_stored_constant(std::span<const std::uint8_t> stored, ConstantEncoding encoding,
                                  std::shared_ptr<const void> keeper);

  // Sum of constant bytes at rest.
  std::int64_t stored_bytes() const;
  // The part of stored_bytes() held in memory: what a memory budget counts as compressed
  // weights. Constants of a loaded file live in its mapping instead, pages the kernel can drop
  // and read again, so the budget does not count them.
  std::int64_t resident_stored_bytes() const;
  bool constant_is_file_backed(int index) const;
  // Hints that a file-backed constant will not be read again soon (it has been packed): its
  // pages leave this process's resident set until the next read. A no-op for other constants.
  void release_file_pages(int index) const;

  // The graph's own checks (ModelGraph::validate), then that every constant tensor names an
  // existing constant whose decoded size is the tensor's byte size, and that no tensor is
  // absurdly large. Both the .fvm writer and loader run it.
  Status validate() const;

 private:
  struct Constant {
    const std::uint8_t* data = nullptr;
    std::int64_t stored_bytes = 0;
    std::int64_t decoded_bytes = 0;
    ConstantEncoding encoding = ConstantEncoding::kRaw;
    std::shared_ptr<const void> keeper;  // owns `data` (a vector, or the file mapping)
    bool file_backed = false;            // `data` points into a mapped file
  };
  const Constant* find(int index) const;
  std::vector<Constant> constants_;
};

// No tensor of a model may exceed this many bytes (1 TiB): beyond it a shape is hostile, not big.
inline constexpr std::int64_t kMaxTensorBytes = std::int64_t{1} << 40;

// Maps the file, validates all of it (see docs/fvm.md, "Validation") and returns a Model whose
// constants are views into the mapping. Errors name the file and, where it applies, the
// section, tensor or node and the offending offset.
Result<Model> load_fvm(const std::string& path);
// The same validation over bytes in memory; the constants are copied out of `bytes`.
Result<Model> parse_fvm(std::span<const std::uint8_t> bytes);

// Validates the model (Model::validate) and writes it; save_fvm replaces `path` atomically.
Status save_fvm(const Model& model, const std::string& path);
Result<std::vector<std::uint8_t>> serialize_fvm(const Model& model);

}  // namespace fovea
