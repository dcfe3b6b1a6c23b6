#include "fovea/core/weight_codec.h"

#include <algorithm>
#include <array>
#include <string>

#include "byte_io.h"

namespace fovea {
namespace {

using detail::hex;
using detail::load_u16le;
using detail::load_u32le;
using detail::load_u64le;

// 14-bit probabilities: fine enough that the rounding of rare INT8 values costs under 0.1% of
// the ratio, while the slot -> symbol table (16 KiB) still fits in L1 during decoding.
constexpr int kScaleBits = 14;
constexpr std::uint32_t kScale = 1u << kScaleBits;
// Byte-wise renormalisation keeps each state in [kStateLow, kStateLow << 8).
constexpr std::uint32_t kStateLow = 1u << 23;
// Four interleaved states: independent dependency chains the CPU overlaps while decoding.
constexpr int kLanes = 4;

constexpr std::array<std::uint8_t, 4> kMagic = {'F', 'W', 'C', '1'};
constexpr std::size_t kHeaderBytes = 16;  // magic, u32 block count, u64 decoded bytes
constexpr std::size_t kBitmapBytes = 32;  // which of the 256 byte values occur in a block
constexpr std::uint64_t kMaxDecodedBytes = std::uint64_t{1} << 48;

enum BlockMode : std::uint8_t { kStoredBlock = 0, kRansBlock = 1 };

Status corrupt(const std::string& message) {
  return Status(ErrorCode::kCorruptData, "weight stream: " + message);
}

struct FrequencyTable {
  std::array<std::uint32_t, 256> freq{};
  std::array<std::uint32_t, 256> cum{};
};

// Reads a block's frequency table (bitmap + u16 per present symbol); the frequencies must be
// positive and sum to exactly kScale, which is what makes every decoder state map to a symbol.
// Returns the table's size in bytes, or 0 with `error` set.
std::size_t parse_table(std::span<const std::uint8_t> bytes, FrequencyTable& table,
                        std::string& error) {
  if (bytes.size() < kBitmapBytes) {
    error = "frequency table cut short";
    return 0;
  }
  std::size_t pos = kBitmapBytes;
  std::uint32_t sum = 0;
  for (std::size_t s = 0; s < 256; ++s) {
    table.cum[s] = sum;
    table.freq[s] = 0;
    if (!(bytes[s / 8] & (1u << (s % 8)))) continue;
    if (bytes.size() - pos < 2) {
      error = "frequency table cut short";
      return 0;
    }
    const std::uint32_t f = load_u16le(bytes.data() + pos);
    pos += 2;
    if (f == 0 || f > kScale - sum) {
      error = "frequency table does not sum to " + std::to_string(kScale);
      return 0;
    }
    table.freq[s] = f;
    sum += f;
  }
  if (sum != kScale) {
    error = "frequency table sums to " + std::to_string(sum) + ", not " + std::to_string(kScale);
    return 0;
  }
  return pos;
}

// Counts scaled to kScale; every present symbol keeps a frequency of at least 1. The rounding
// error is taken from (or given to) the most frequent symbols, where it costs the fewest bits.
std::array<std::uint32_t, 256> normalize(const std::array<std::uint32_t, 256>& counts,
                                         std::uint64_t total) {
  std::array<std::uint32_t, 256> freq{};
  std::uint32_t sum = 0;
  for (std::size_t s = 0; s < 256; ++s) {
    if (counts[s] == 0) continue;
    const std::uint64_t f = (std::uint64_t{counts[s]} * kScale + total / 2) / total;
    freq[s] = static_cast<std::uint32_t>(std::max<std::uint64_t>(f, 1));
    sum += freq[s];
  }
  auto most_frequent = [&] {
    return static_cast<std::size_t>(std::max_element(freq.begin(), freq.end()) - freq.begin());
  };
  while (sum > kScale) {
    --freq[most_frequent()];
    --sum;
  }
  freq[most_frequent()] += kScale - sum;
  return freq;
}

void encode_block(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& scratch,
                  detail::ByteWriter& out) {
  std::array<std::uint32_t, 256> counts{};
  for (std::uint8_t b : in) ++counts[b];
  const std::array<std::uint32_t, 256> freq = normalize(counts, in.size());
  std::array<std::uint32_t, 256> cum{};
  for (std::size_t s = 1; s < 256; ++s) cum[s] = cum[s - 1] + freq[s - 1];

  // Encode backwards into the end of `scratch` so the decoder reads forwards. Each symbol emits
  // at most 2 bytes (x < 2^31, and x stops being emitted below 2^17 * freq), the states 16.
  scratch.resize(2 * in.size() + 4 * kLanes);
  std::uint8_t* const end = scratch.data() + scratch.size();
  std::uint8_t* p = end;
  std::array<std::uint32_t, kLanes> state;
  state.fill(kStateLow);
  for (std::size_t i = in.size(); i-- > 0;) {
    std::uint32_t& x = state[i % kLanes];
    const std::uint32_t f = freq[in[i]];
    const std::uint32_t x_max = ((kStateLow >> kScaleBits) << 8) * f;
    while (x >= x_max) {
      *--p = static_cast<std::uint8_t>(x);
      x >>= 8;
    }
    x = ((x / f) << kScaleBits) + (x % f) + cum[in[i]];
  }
  for (int lane = kLanes - 1; lane >= 0; --lane) {
    p -= 4;
    detail::store_u32le(p, state[static_cast<std::size_t>(lane)]);
  }

  std::size_t present = 0;
  for (std::uint32_t f : freq) present += f != 0;
  const std::size_t payload = static_cast<std::size_t>(end - p);
  if (kBitmapBytes + 2 * present + payload >= in.size()) {
    out.u8(kStoredBlock);
    out.append(in);
    return;
  }
  out.u8(kRansBlock);
  std::array<std::uint8_t, kBitmapBytes> bitmap{};
  for (std::size_t s = 0; s < 256; ++s)
    if (freq[s]) bitmap[s / 8] = static_cast<std::uint8_t>(bitmap[s / 8] | (1u << (s % 8)));
  out.append(bitmap);
  for (std::uint32_t f : freq)
    if (f) out.u16(static_cast<std::uint16_t>(f));
  out.append(std::span<const std::uint8_t>(p, payload));
}

Status decode_rans(std::span<const std::uint8_t> block, std::span<std::uint8_t> out,
                   const std::string& where) {
  FrequencyTable table;
  std::string error;
  const std::size_t table_bytes = parse_table(block, table, error);
  if (table_bytes == 0) return corrupt(where + ": " + error);
  std::array<std::uint8_t, kScale> symbol;
  for (std::size_t s = 0; s < 256; ++s)
    std::fill_n(symbol.begin() + table.cum[s], table.freq[s], static_cast<std::uint8_t>(s));

  const std::uint8_t* p = block.data() + table_bytes;
  const std::uint8_t* const end = block.data() + block.size();
  if (static_cast<std::size_t>(end - p) < 4 * kLanes)
    return corrupt(where + ": coder states cut short");
  std::array<std::uint32_t, kLanes> x;
  for (std::uint32_t& state : x) {
    state = load_u32le(p);
    p += 4;
    if (state < kStateLow || state >= (kStateLow << 8))
      return corrupt(where + ": coder state " + hex(state) + " out of range");
  }

  // States stay in [kStateLow, 2^31) and each decode step leaves at least 2^9, so at most two
  // bytes are read per symbol and every loop below ends.
  const std::uint8_t* const sym = symbol.data();
  const std::uint32_t* const freq = table.freq.data();
  const std::uint32_t* const cum = table.cum.data();
  auto decode = [&](std::uint32_t& state) {
    const std::uint32_t slot = state & (kScale - 1);
    const std::uint8_t s = sym[slot];
    state = freq[s] * (state >> kScaleBits) + slot - cum[s];
    return s;
  };
  // While two bytes per lane remain, renormalise without branches: the bytes needed (0, 1 or
  // 2) depend on the data, and mispredicted branches would cost more than the shifts.
  auto refill = [&](std::uint32_t& state) {
    const std::uint32_t k = (state < kStateLow) + (state < (kStateLow >> 8));
    const std::uint32_t next = (std::uint32_t{p[0]} << 8) | p[1];
    state = (state << (8 * k)) | (next >> (8 * (2 - k)));
    p += k;
  };
  bool short_read = false;
  auto refill_checked = [&](std::uint32_t& state) {
    while (state < kStateLow) {
      if (p == end) {
        short_read = true;
        state = kStateLow;
        return;
      }
      state = (state << 8) | *p++;
    }
  };
  const std::size_t n = out.size();
  std::uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  std::size_t i = 0;
  for (; i + kLanes <= n && end - p >= 2 * kLanes; i += kLanes) {
    out[i] = decode(x0);
    out[i + 1] = decode(x1);
    out[i + 2] = decode(x2);
    out[i + 3] = decode(x3);
    refill(x0);
    refill(x1);
    refill(x2);
    refill(x3);
  }
  x = {x0, x1, x2, x3};
  for (; i < n && !short_read; ++i) {
    std::uint32_t& state = x[i % kLanes];
    out[i] = decode(state);
    refill_checked(state);
  }

  if (short_read) return corrupt(where + ": payload ends early (truncated or corrupt)");
  if (p != end)
    return corrupt(where + ": " + std::to_string(end - p) + " payload bytes left over after " +
                   std::to_string(n) + " symbols");
  for (std::uint32_t state : x)
    if (state != kStateLow)
      return corrupt(where + ": coder ends in state " + hex(state) + ", not the initial " +
                     hex(kStateLow) + " (corrupt payload)");
  return Status::ok();
}

}  // namespace

std::vector<std::uint8_t> encode_weight_stream(std::span<const std::uint8_t> data) {
  const std::size_t blocks = (data.size() + kWeightBlockBytes - 1) / kWeightBlockBytes;
  detail::ByteWriter out;
  out.append(kMagic);
  out.u32(static_cast<std::uint32_t>(blocks));
  out.u64(data.size());
  const std::size_t directory = out.size();
  out.zeros(4 * blocks);
  std::vector<std::uint8_t> scratch;
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t begin = b * kWeightBlockBytes;
    const std::size_t start = out.size();
    encode_block(data.subspan(begin, std::min(kWeightBlockBytes, data.size() - begin)), scratch,
                 out);
    out.patch_u32(directory + 4 * b, static_cast<std::uint32_t>(out.size() - start));
  }
  return std::move(out.bytes());
}

Result<WeightStreamReader> WeightStreamReader::open(std::span<const std::uint8_t> stream) {
  if (stream.size() < kHeaderBytes)
    return corrupt(std::to_string(stream.size()) + " bytes, shorter than its " +
                   std::to_string(kHeaderBytes) + "-byte header");
  if (!std::equal(kMagic.begin(), kMagic.end(), stream.begin()))
    return corrupt("bad magic (not an entropy-coded weight stream)");
  const std::uint64_t blocks = load_u32le(stream.data() + 4);
  const std::uint64_t decoded = load_u64le(stream.data() + 8);
  if (decoded > kMaxDecodedBytes)
    return corrupt("claims " + std::to_string(decoded) + " decoded bytes, beyond the 2^48 limit");
  const std::uint64_t expected_blocks =
      decoded / kWeightBlockBytes + (decoded % kWeightBlockBytes != 0);
  if (blocks != expected_blocks)
    return corrupt("has " + std::to_string(blocks) + " blocks but " + std::to_string(decoded) +
                   " decoded bytes need " + std::to_string(expected_blocks));
  const std::uint64_t body = stream.size() - kHeaderBytes;
  if (blocks * 4 > body)
    return corrupt("block directory of " + std::to_string(blocks) + " entries runs past the " +
                   std::to_string(stream.size()) + "-byte stream");

  WeightStreamReader reader;
  reader.stream_ = stream;
  reader.decoded_bytes_ = static_cast<std::int64_t>(decoded);
  reader.block_offsets_.reserve(static_cast<std::size_t>(blocks) + 1);
  std::uint64_t offset = kHeaderBytes + blocks * 4;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::uint64_t size = load_u32le(stream.data() + kHeaderBytes + 4 * b);
    const std::string where = "block " + std::to_string(b) + " at " + hex(offset);
    if (size == 0 || size > stream.size() - offset)
      return corrupt(where + ": size " + std::to_string(size) + " runs past the " +
                     std::to_string(stream.size()) + "-byte stream");
    reader.block_offsets_.push_back(offset);
    const std::span<const std::uint8_t> block = stream.subspan(offset, size);
    const std::uint64_t block_decoded =
        std::min<std::uint64_t>(kWeightBlockBytes, decoded - b * kWeightBlockBytes);
    if (block[0] == kStoredBlock) {
      if (size - 1 != block_decoded)
        return corrupt(where + ": stored block holds " + std::to_string(size - 1) + " bytes, not " +
                       std::to_string(block_decoded));
    } else if (block[0] == kRansBlock) {
      FrequencyTable table;
      std::string error;
      const std::size_t table_bytes = parse_table(block.subspan(1), table, error);
      if (table_bytes == 0) return corrupt(where + ": " + error);
      if (size - 1 - table_bytes < 4 * kLanes) return corrupt(where + ": coder states cut short");
    } else {
      return corrupt(where + ": unknown block mode " + std::to_string(block[0]));
    }
    offset += size;
  }
  if (offset != stream.size())
    return corrupt(std::to_string(stream.size() - offset) + " bytes after the last block");
  reader.block_offsets_.push_back(offset);
  return reader;
}

std::int64_t WeightStreamReader::block_decoded_bytes(int block) const {
  if (block < 0 || block >= block_count()) return -1;
  const std::int64_t begin = static_cast<std::int64_t>(block) * kWeightBlockBytes;
  return std::min<std::int64_t>(kWeightBlockBytes, decoded_bytes_ - begin);
}

Status WeightStreamReader::decode_block(int block, std::span<std::uint8_t> out) const {
  if (block < 0 || block >= block_count())
    return Status(ErrorCode::kInvalidArgument, "weight stream: block " + std::to_string(block) +
                                                   " of " + std::to_string(block_count()));
  if (static_cast<std::int64_t>(out.size()) != block_decoded_bytes(block))
    return Status(ErrorCode::kInvalidArgument, "weight stream: block " + std::to_string(block) +
                                                   " decodes to " +
                                                   std::to_string(block_decoded_bytes(block)) +
                                                   " bytes, not " + std::to_string(out.size()));
  const std::size_t begin = static_cast<std::size_t>(block_offsets_[static_cast<size_t>(block)]);
  const std::size_t end = static_cast<std::size_t>(block_offsets_[static_cast<size_t>(block) + 1]);
  const std::span<const std::uint8_t> bytes = stream_.subspan(begin, end - begin);
  if (bytes[0] == kStoredBlock) {
    std::copy(bytes.begin() + 1, bytes.end(), out.begin());
    return Status::ok();
  }
  return decode_rans(bytes.subspan(1), out, "block " + std::to_string(block) + " at " + hex(begin));
}

Status WeightStreamReader::decode(std::span<std::uint8_t> out) const {
  if (static_cast<std::int64_t>(out.size()) != decoded_bytes_)
    return Status(ErrorCode::kInvalidArgument, "weight stream: decodes to " +
                                                   std::to_string(decoded_bytes_) + " bytes, not " +
                                                   std::to_string(out.size()));
  for (int b = 0; b < block_count(); ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * kWeightBlockBytes;
    FOVEA_RETURN_IF_ERROR(
        decode_block(b, out.subspan(begin, static_cast<std::size_t>(block_decoded_bytes(b)))));
  }
  return Status::ok();
}

}  // namespace fovea
