#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fovea/core/weight_codec.h"

namespace fovea {
namespace {

std::vector<std::uint8_t> round_trip(const std::vector<std::uint8_t>& data) {
  const std::vector<std::uint8_t> stream = encode_weight_stream(data);
  auto reader = WeightStreamReader::open(stream);
  REQUIRE_MESSAGE(reader.is_ok(), reader.status().to_string());
  REQUIRE(reader->decoded_bytes() == static_cast<std::int64_t>(data.size()));
  std::vector<std::uint8_t> out(data.size(), 0xAB);
  const Status decoded = reader->decode(out);
  REQUIRE_MESSAGE(decoded.is_ok(), decoded.to_string());
  // Chunked decoding gives the same bytes block by block.
  for (int b = 0; b < reader->block_count(); ++b) {
    std::vector<std::uint8_t> block(static_cast<std::size_t>(reader->block_decoded_bytes(b)));
    REQUIRE(reader->decode_block(b, block).is_ok());
    CHECK(std::equal(block.begin(), block.end(),
                     out.begin() + static_cast<std::ptrdiff_t>(b * kWeightBlockBytes)));
  }
  return out;
}

// A trained conv's weights, as per-channel symmetric INT8 quantization leaves them: each
// output channel has its own spread (log-normal), values are Laplacian (or Gaussian) around
// zero, and the channel's largest magnitude maps to 127. Layout [O, KH, KW, I].
std::vector<std::uint8_t> quantized_conv_weights(int out_channels, int per_channel, bool laplacian,
                                                 std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> spread(0.0f, 0.5f);
  std::exponential_distribution<float> magnitude(1.0f);
  std::normal_distribution<float> gaussian(0.0f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<std::uint8_t> out;
  std::vector<float> channel(static_cast<std::size_t>(per_channel));
  for (int o = 0; o < out_channels; ++o) {
    const float b = spread(rng);
    float max_abs = 0.0f;
    for (float& w : channel) {
      w = laplacian ? b * magnitude(rng) * (negative(rng) ? -1.0f : 1.0f) : b * gaussian(rng);
      max_abs = std::max(max_abs, std::abs(w));
    }
    const float scale = max_abs / 127.0f;
    for (float w : channel) {
      const int q = std::clamp(static_cast<int>(std::lround(w / scale)), -127, 127);
      out.push_back(static_cast<std::uint8_t>(static_cast<std::int8_t>(q)));
    }
  }
  return out;
}

TEST_CASE("weight codec round-trips empty, tiny, constant, random and weight-like data exactly") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  auto random_bytes = [&](std::size_t n) {
    std::vector<std::uint8_t> data(n);
    for (std::uint8_t& b : data) b = static_cast<std::uint8_t>(byte(rng));
    return data;
  };

  const std::vector<std::uint8_t> empty;
  CHECK(round_trip(empty).empty());
  CHECK(encode_weight_stream(empty).size() == 16);

  for (std::size_t n : {1u, 2u, 3u, 5u, 17u, 255u, 65535u, 65536u, 65537u, 200003u}) {
    const std::vector<std::uint8_t> data = random_bytes(n);
    CHECK(round_trip(data) == data);
  }

  const std::vector<std::uint8_t> all_equal(300000, 0x5A);
  CHECK(round_trip(all_equal) == all_equal);
  // One symbol: each block is a frequency table and four coder states.
  CHECK(encode_weight_stream(all_equal).size() < 400);

  const std::vector<std::uint8_t> random = random_bytes(300000);
  CHECK(round_trip(random) == random);
  // Incompressible blocks are stored: one mode byte and a directory entry per block.
  CHECK(encode_weight_stream(random).size() <= random.size() + 16 + 5 * 5);

  std::vector<std::uint8_t> ramp(100000);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<std::uint8_t>(i * i % 251);
  CHECK(round_trip(ramp) == ramp);

  std::vector<std::uint8_t> skewed(70000);  // two symbols, one rare: exercises frequency 1
  for (std::size_t i = 0; i < skewed.size(); ++i) skewed[i] = i % 40000 == 3 ? 1 : 0;
  CHECK(round_trip(skewed) == skewed);

  const std::vector<std::uint8_t> laplacian = quantized_conv_weights(64, 3 * 3 * 64, true, 1);
  CHECK(round_trip(laplacian) == laplacian);
}

TEST_CASE("weight codec rejects corrupt and hostile streams") {
  // Small and low-entropy (a narrow Laplacian), so its one block is rANS-coded yet every
  // damaged copy decodes quickly.
  std::mt19937 rng(2);
  std::exponential_distribution<float> magnitude(0.4f);
  std::vector<std::uint8_t> weights(1500);
  for (std::uint8_t& w : weights) w = static_cast<std::uint8_t>(std::min(magnitude(rng), 60.0f));
  const std::vector<std::uint8_t> stream = encode_weight_stream(weights);
  REQUIRE(stream[20] == 1);  // the one block is rANS-coded, not stored
  std::vector<std::uint8_t> out(weights.size());

  auto fails = [&](const std::vector<std::uint8_t>& bytes) -> Status {
    auto reader = WeightStreamReader::open(bytes);
    if (!reader) return reader.status();
    if (reader->decoded_bytes() != static_cast<std::int64_t>(out.size()))
      return Status(ErrorCode::kCorruptData, "size changed");
    const Status decoded = reader->decode(out);
    if (decoded) return Status(ErrorCode::kOk, "");
    return decoded;
  };

  SUBCASE("every truncation") {
    for (std::size_t n = 0; n < stream.size(); ++n) {
      const Status s = fails(std::vector<std::uint8_t>(stream.begin(), stream.begin() + n));
      CHECK_MESSAGE(s.code() == ErrorCode::kCorruptData, "prefix of " << n << " bytes");
    }
  }
  SUBCASE("every flipped byte") {
    // Without a checksum of its own, a rANS stream still catches damage: the table must sum
    // to the scale, the payload must be used up exactly and the coder must end where it began.
    for (std::size_t i = 0; i < stream.size(); ++i) {
      std::vector<std::uint8_t> damaged = stream;
      damaged[i] ^= 0x10;
      const Status s = fails(damaged);
      CHECK_MESSAGE(s.code() == ErrorCode::kCorruptData, "byte " << i << " flipped");
    }
  }
  SUBCASE("named failures") {
    std::vector<std::uint8_t> bad = stream;
    bad[0] = 'X';
    CHECK(WeightStreamReader::open(bad).status().message().find("bad magic") != std::string::npos);

    bad = stream;
    bad[15] = 0x7f;  // decoded size near 2^63
    CHECK(WeightStreamReader::open(bad).status().message().find("beyond the 2^48") !=
          std::string::npos);

    bad = stream;
    bad[8] = static_cast<std::uint8_t>(bad[8] + 1);  // one symbol more than the payload holds
    auto longer = WeightStreamReader::open(bad);
    REQUIRE(longer.is_ok());  // the structure is still consistent; the payload is not
    std::vector<std::uint8_t> one_more(weights.size() + 1);
    CHECK(longer->decode(one_more).code() == ErrorCode::kCorruptData);

    bad = stream;
    bad[4] = 9;  // block count disagrees with the decoded size
    CHECK(WeightStreamReader::open(bad).status().message().find("blocks but") != std::string::npos);

    bad = stream;
    bad[20] = 7;  // block mode
    CHECK(WeightStreamReader::open(bad).status().message().find("unknown block mode") !=
          std::string::npos);

    bad = stream;
    bad[21 + 32] ^= 0x01;  // first frequency
    CHECK(WeightStreamReader::open(bad).status().message().find("frequency table") !=
          std::string::npos);

    bad = stream;
    bad.push_back(0);
    CHECK(WeightStreamReader::open(bad).status().code() == ErrorCode::kCorruptData);

    auto reader = WeightStreamReader::open(stream);
    REQUIRE(reader.is_ok());
    std::vector<std::uint8_t> wrong_size(weights.size() + 1);
    CHECK(reader->decode(wrong_size).code() == ErrorCode::kInvalidArgument);
    CHECK(reader->decode_block(1, out).code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("weight codec ratio and speed on per-channel INT8 conv weights") {
  // A ResNet-ish stack of 3x3 convs: 2.5 MB of weights.
  std::vector<std::uint8_t> laplacian, gaussian;
  std::uint32_t seed = 10;
  for (int channels : {64, 128, 256}) {
    for (int layer = 0; layer < 2; ++layer) {
      auto l = quantized_conv_weights(channels, 9 * channels, true, ++seed);
      auto g = quantized_conv_weights(channels, 9 * channels, false, ++seed);
      laplacian.insert(laplacian.end(), l.begin(), l.end());
      gaussian.insert(gaussian.end(), g.begin(), g.end());
    }
  }
  const auto encode_start = std::chrono::steady_clock::now();
  const std::vector<std::uint8_t> coded = encode_weight_stream(laplacian);
  const double encode_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - encode_start).count();
  const double laplacian_ratio = static_cast<double>(laplacian.size()) / coded.size();
  const double gaussian_ratio =
      static_cast<double>(gaussian.size()) / encode_weight_stream(gaussian).size();

  auto reader = WeightStreamReader::open(coded);
  REQUIRE(reader.is_ok());
  std::vector<std::uint8_t> out(laplacian.size());
  double best_seconds = 1e9;
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(reader->decode(out).is_ok());
    best_seconds =
        std::min(best_seconds,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  CHECK(out == laplacian);
  MESSAGE("INT8 conv weights, " << laplacian.size() << " bytes: Laplacian ratio " << laplacian_ratio
                                << "x, Gaussian ratio " << gaussian_ratio << "x; decode "
                                << laplacian.size() / best_seconds / 1e6 << " MB/s, encode "
                                << laplacian.size() / encode_seconds / 1e6 << " MB/s (this build)");
  CHECK(laplacian_ratio > 1.1);
  CHECK(gaussian_ratio > 1.0);
}

}  // namespace
}  // namespace fovea
