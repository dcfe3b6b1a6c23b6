// libFuzzer target for fovea's model files: the .fvm loader and the weight-stream decoder must
// turn any input into a model or an error, never a crash, hang, leak or absurd allocation.
// Built with clang by tests/fuzz/CMakeLists.txt; `make test` runs it over corpus/fvm.
//
//   build/tests/fuzz/project/fvm-fuzz -max_total_time=300 CORPUS_DIR tests/fuzz/corpus/fvm

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "fovea/core/fvm_format.h"
#include "fovea/core/model.h"
#include "fovea/core/weight_codec.h"

namespace {

// Claimed sizes above this are skipped, not decoded: the loader accepts them without
// allocating, and decoding megabytes per input would only slow the search down.
constexpr std::int64_t kMaxDecodedBytes = std::int64_t{4} << 20;

void exercise(const fovea::Model& model) {
  for (int c = 0; c < model.constant_count(); ++c) {
    const std::int64_t bytes = model.constant_decoded_bytes(c);
    if (bytes > kMaxDecodedBytes) continue;
    std::vector<std::uint8_t> out(static_cast<std::size_t>(bytes));
    (void)model.decode_constant(c, out);
  }
  // Whatever the loader accepts, the writer must write and the loader read back.
  auto bytes = fovea::serialize_fvm(model);
  if (!bytes) std::abort();
  if (!fovea::parse_fvm(*bytes)) std::abort();
}

void decode_stream(std::span<const std::uint8_t> input) {
  auto reader = fovea::WeightStreamReader::open(input);
  if (!reader || reader->decoded_bytes() > kMaxDecodedBytes) return;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(reader->decoded_bytes()));
  (void)reader->decode(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  if (auto model = fovea::parse_fvm(input)) exercise(*model);
  // Mutations rarely keep the checksum right; resealing lets them reach the structural checks.
  if (size >= fovea::fvm::kHeaderBytes) {
    std::vector<std::uint8_t> sealed(input.begin(), input.end());
    fovea::fvm::reseal(sealed);
    if (auto model = fovea::parse_fvm(sealed)) exercise(*model);
  }
  decode_stream(input);
  // The codec is lossless on any bytes.
  const std::vector<std::uint8_t> stream = fovea::encode_weight_stream(input);
  auto reader = fovea::WeightStreamReader::open(stream);
  std::vector<std::uint8_t> round_trip(size);
  if (!reader || !reader->decode(round_trip) ||
      round_trip != std::vector(input.begin(), input.end()))
    std::abort();
  return 0;
}
