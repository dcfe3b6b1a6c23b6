#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fovea/core/fvm_format.h"
#include "fovea/core/model.h"

namespace fovea {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> as_bytes(const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<std::uint8_t> as_bytes(const std::vector<std::int32_t>& values) {
  std::vector<std::uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

int add_tensor(ModelGraph& graph, std::string name, DataType type, Shape shape,
               Quantization quantization = {}, int constant = -1) {
  graph.tensors.push_back({{std::move(name), type, shape, std::move(quantization)}, constant});
  return static_cast<int>(graph.tensors.size()) - 1;
}

// x (i8) -> conv (per-channel i8 weights, i32 bias) -> relu -> add (i8 skip constant)
//   -> dequantize -> multiply by an f32 gain -> y (f32).
// Weights and skip are entropy-coded, bias and gain raw.
Model make_test_model(int out_channels, int in_channels) {
  const int oc = out_channels, ic = in_channels;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.01f, 0.1f);
  std::exponential_distribution<float> laplace(0.08f);
  std::bernoulli_distribution negative(0.5);

  Model model;
  model.metadata = {"tiny-conv", "conv + relu + add, for the .fvm tests",
                    "source: hand-built in fvm_file_test.cpp\nrecipe: per-channel symmetric int8\n"
                    "date: 2024-05-01"};
  std::vector<std::uint8_t> weights(static_cast<std::size_t>(oc * 3 * 3 * ic));
  for (std::uint8_t& w : weights) {
    const int q = std::min(127, static_cast<int>(laplace(rng)));
    w = static_cast<std::uint8_t>(static_cast<std::int8_t>(negative(rng) ? -q : q));
  }
  std::vector<float> scales(static_cast<std::size_t>(oc));
  for (float& s : scales) s = uniform(rng);
  std::vector<std::int32_t> bias(static_cast<std::size_t>(oc));
  for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<std::int32_t>(i * 37) - 100;
  std::vector<std::uint8_t> skip(static_cast<std::size_t>(8 * 8 * oc), 0);  // mostly zeros
  for (std::size_t i = 0; i < skip.size(); i += 11) skip[i] = static_cast<std::uint8_t>(i % 5);
  std::vector<float> gain(static_cast<std::size_t>(oc));
  for (std::size_t i = 0; i < gain.size(); ++i) gain[i] = 0.5f + static_cast<float>(i);

  const int c_weights = model.add_constant(weights, true);
  const int c_bias = model.add_constant(as_bytes(bias), false);
  const int c_skip = model.add_constant(skip, true);
  const int c_gain = model.add_constant(as_bytes(gain), false);

  ModelGraph& g = model.graph;
  const Quantization act{{0.05f}, -3, -1};
  const int x = add_tensor(g, "x", DataType::kInt8, {1, 8, 8, ic}, act);
  const int w =
      add_tensor(g, "conv.weight", DataType::kInt8, {oc, 3, 3, ic}, {scales, 0, 0}, c_weights);
  const int b = add_tensor(g, "conv.bias", DataType::kInt32, {oc}, {}, c_bias);
  const int conv = add_tensor(g, "conv.out", DataType::kInt8, {1, 8, 8, oc}, act);
  const int relu = add_tensor(g, "relu.out", DataType::kInt8, {1, 8, 8, oc}, act);
  const int s = add_tensor(g, "add.skip", DataType::kInt8, {1, 8, 8, oc}, act, c_skip);
  const int sum = add_tensor(g, "add.out", DataType::kInt8, {1, 8, 8, oc}, act);
  const int deq = add_tensor(g, "dequantize.out", DataType::kFloat32, {1, 8, 8, oc});
  const int k = add_tensor(g, "output.gain", DataType::kFloat32, {oc}, {}, c_gain);
  const int y = add_tensor(g, "y", DataType::kFloat32, {1, 8, 8, oc});

  GraphNode conv_node{"conv", OpType::kConv2d, {}, {x, w, b}, {conv}};
  conv_node.attributes.kernel_h = conv_node.attributes.kernel_w = 3;
  conv_node.attributes.pad_top = conv_node.attributes.pad_left = 1;
  conv_node.attributes.pad_bottom = conv_node.attributes.pad_right = 1;
  GraphNode relu_node{"relu", OpType::kClamp, {}, {conv}, {relu}};
  relu_node.attributes.clamp_min = 0.0f;
  GraphNode add_node{"add", OpType::kAdd, {}, {relu, s}, {sum}};
  add_node.attributes.new_shape = {1, 8, 8, oc};  // not used by Add: checks that shapes persist
  add_node.attributes.align_corners = true;
  g.nodes = {conv_node, relu_node, add_node,
             GraphNode{"dequantize", OpType::kDequantize, {}, {sum}, {deq}},
             GraphNode{"scale", OpType::kMultiply, {}, {deq, k}, {y}}};
  g.inputs = {x};
  g.outputs = {y};
  REQUIRE(model.validate().is_ok());
  return model;
}

std::vector<std::uint8_t> serialize(const Model& model) {
  auto bytes = serialize_fvm(model);
  REQUIRE_MESSAGE(bytes.is_ok(), bytes.status().to_string());
  return *bytes;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void check_same_model(const Model& a, const Model& b) {
  CHECK(a.metadata.name == b.metadata.name);
  CHECK(a.metadata.description == b.metadata.description);
  CHECK(a.metadata.provenance == b.metadata.provenance);
  const ModelGraph& ga = a.graph;
  const ModelGraph& gb = b.graph;
  REQUIRE(ga.tensors.size() == gb.tensors.size());
  for (std::size_t t = 0; t < ga.tensors.size(); ++t) {
    const TensorInfo& ta = ga.tensors[t].info;
    const TensorInfo& tb = gb.tensors[t].info;
    CAPTURE(ta.name);
    CHECK(ta.name == tb.name);
    CHECK(ta.type == tb.type);
    CHECK(ta.shape == tb.shape);
    CHECK(ga.tensors[t].constant == gb.tensors[t].constant);
    CHECK(ta.quantization.zero_point == tb.quantization.zero_point);
    CHECK(ta.quantization.channel_axis == tb.quantization.channel_axis);
    REQUIRE(ta.quantization.scales.size() == tb.quantization.scales.size());
    for (std::size_t i = 0; i < ta.quantization.scales.size(); ++i)
      CHECK(same_bits(ta.quantization.scales[i], tb.quantization.scales[i]));
  }
  REQUIRE(ga.nodes.size() == gb.nodes.size());
  for (std::size_t n = 0; n < ga.nodes.size(); ++n) {
    const GraphNode& na = ga.nodes[n];
    const GraphNode& nb = gb.nodes[n];
    CAPTURE(na.name);
    CHECK(na.name == nb.name);
    CHECK(na.op == nb.op);
    CHECK(na.inputs == nb.inputs);
    CHECK(na.outputs == nb.outputs);
    const OpAttributes& x = na.attributes;
    const OpAttributes& y = nb.attributes;
    CHECK(std::vector{x.kernel_h, x.kernel_w, x.stride_h, x.stride_w, x.dilation_h, x.dilation_w,
                      x.pad_top, x.pad_left, x.pad_bottom, x.pad_right, x.groups, x.axis,
                      x.output_h, x.output_w, x.max_displacement} ==
          std::vector{y.kernel_h, y.kernel_w, y.stride_h, y.stride_w, y.dilation_h, y.dilation_w,
                      y.pad_top, y.pad_left, y.pad_bottom, y.pad_right, y.groups, y.axis,
                      y.output_h, y.output_w, y.max_displacement});
    CHECK(same_bits(x.clamp_min, y.clamp_min));
    CHECK(same_bits(x.clamp_max, y.clamp_max));
    CHECK(same_bits(x.alpha, y.alpha));
    CHECK(x.align_corners == y.align_corners);
    CHECK(x.new_shape == y.new_shape);
  }
  CHECK(ga.inputs == gb.inputs);
  CHECK(ga.outputs == gb.outputs);

  REQUIRE(a.constant_count() == b.constant_count());
  CHECK(a.stored_bytes() == b.stored_bytes());
  for (int c = 0; c < a.constant_count(); ++c) {
    CAPTURE(c);
    CHECK(a.constant_encoding(c) == b.constant_encoding(c));
    CHECK(a.constant_stored_bytes(c) == b.constant_stored_bytes(c));
    REQUIRE(a.constant_decoded_bytes(c) == b.constant_decoded_bytes(c));
    std::vector<std::uint8_t> da(static_cast<std::size_t>(a.constant_decoded_bytes(c)));
    std::vector<std::uint8_t> db(da.size());
    REQUIRE(a.decode_constant(c, da).is_ok());
    REQUIRE(b.decode_constant(c, db).is_ok());
    CHECK(da == db);
  }
}

fs::path output_dir() {
  const fs::path dir = fs::path(FOVEA_TEST_OUTPUT_DIR) / "fvm";
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::uint64_t get_u64(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
  return v;
}

void put_u32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

void put_u64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// File offset of the section table entry for `kind` (the writer puts them in kind order).
std::size_t section_entry(fvm::SectionKind kind) {
  return fvm::kHeaderBytes + (static_cast<std::size_t>(kind) - 1) * fvm::kSectionEntryBytes;
}

std::size_t section_offset(const std::vector<std::uint8_t>& file, fvm::SectionKind kind) {
  return static_cast<std::size_t>(get_u64(file, section_entry(kind) + 8));
}

std::size_t constant_entry(const std::vector<std::uint8_t>& file, int constant) {
  return section_offset(file, fvm::SectionKind::kConstantTable) + 8 +
         fvm::kConstantEntryBytes * static_cast<std::size_t>(constant);
}

// Expects parse_fvm to fail with `code` and a message containing `fragment`.
void expect_error(const std::vector<std::uint8_t>& file, ErrorCode code,
                  const std::string& fragment) {
  auto model = parse_fvm(file);
  REQUIRE_FALSE(model.is_ok());
  INFO(model.status().to_string());
  CHECK(model.status().code() == code);
  CHECK(model.status().message().find(fragment) != std::string::npos);
}

TEST_CASE("fvm round trip keeps graph, metadata and constants; constants are 64-byte aligned") {
  const Model model = make_test_model(16, 8);
  CHECK(model.constant_encoding(0) == ConstantEncoding::kEntropyCoded);
  CHECK(model.constant_stored_bytes(0) < model.constant_decoded_bytes(0));
  CHECK(model.constant_encoding(1) == ConstantEncoding::kRaw);

  const fs::path path = output_dir() / "round_trip.fvm";
  REQUIRE(save_fvm(model, path.string()).is_ok());
  auto loaded = load_fvm(path.string());
  REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
  check_same_model(model, *loaded);

  // The mapping is page-aligned, so 64-byte file offsets are 64-byte addresses.
  for (int c = 0; c < loaded->constant_count(); ++c)
    CHECK(reinterpret_cast<std::uintptr_t>(loaded->constant_stored(c).data()) % 64 == 0);
  const std::vector<std::uint8_t> file = serialize(model);
  for (int c = 0; c < model.constant_count(); ++c)
    CHECK(get_u64(file, constant_entry(file, c)) % fvm::kConstantAlignment == 0);

  // Writing what was read gives the same bytes; parsing from memory gives the same model.
  CHECK(serialize(*loaded) == file);
  auto parsed = parse_fvm(file);
  REQUIRE(parsed.is_ok());
  check_same_model(model, *parsed);

  // Copies share the mapped constants, which outlive the Model they were loaded into.
  Model copy = *loaded;
  loaded = Status(ErrorCode::kInternal, "dropped");
  std::vector<std::uint8_t> weights(static_cast<std::size_t>(copy.constant_decoded_bytes(0)));
  CHECK(copy.decode_constant(0, weights).is_ok());

  auto missing = load_fvm((output_dir() / "no_such_model.fvm").string());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("no_such_model.fvm") != std::string::npos);
}

// LeakyRelu's alpha is stored in its attribute record's clamp-min slot (docs/fvm.md).
TEST_CASE("fvm round trip keeps LeakyRelu's alpha") {
  for (const float alpha : {0.1f, 0.01f, 0.0f, 1.5f, -0.25f}) {
    CAPTURE(alpha);
    Model model;
    model.metadata = {"leaky", "one LeakyRelu", "source: fvm_file_test.cpp"};
    add_tensor(model.graph, "x", DataType::kFloat32, {1, 2, 3, 4});
    add_tensor(model.graph, "y", DataType::kFloat32, {1, 2, 3, 4});
    GraphNode node{"leaky_relu", OpType::kLeakyRelu, {}, {0}, {1}};
    node.attributes.alpha = alpha;
    model.graph.nodes = {node};
    model.graph.inputs = {0};
    model.graph.outputs = {1};
    REQUIRE(model.validate().is_ok());

    const std::vector<std::uint8_t> file = serialize(model);
    auto parsed = parse_fvm(file);
    REQUIRE_MESSAGE(parsed.is_ok(), parsed.status().to_string());
    check_same_model(model, *parsed);
    const OpAttributes& a = parsed->graph.nodes[0].attributes;
    CHECK(same_bits(a.alpha, alpha));
    CHECK(a.clamp_min == -std::numeric_limits<float>::infinity());
    CHECK(a.clamp_max == std::numeric_limits<float>::infinity());
    CHECK(serialize(*parsed) == file);

    // On disk: op code 22, alpha at attribute offset 44, +inf at 48.
    const std::string name = "leaky_relu";
    const auto at = std::search(file.begin(), file.end(), name.begin(), name.end());
    REQUIRE(at != file.end());
    const auto record = static_cast<std::size_t>(at - file.begin()) + name.size();
    CHECK((file[record] | file[record + 1] << 8) == 22);
    const std::size_t attributes = record + 12;
    float stored_alpha = 0.0f, stored_max = 0.0f;
    std::memcpy(&stored_alpha, &file[attributes + 44], 4);
    std::memcpy(&stored_max, &file[attributes + 48], 4);
    CHECK(same_bits(stored_alpha, alpha));
    CHECK(stored_max == std::numeric_limits<float>::infinity());

    // A non-finite alpha behind a valid checksum is refused by validation.
    std::vector<std::uint8_t> patched = file;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&patched[attributes + 44], &nan, 4);
    fvm::reseal(patched);
    auto refused = parse_fvm(patched);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().message().find("alpha") != std::string::npos);
  }
}

TEST_CASE("fvm loader fails cleanly on every truncation of a valid file") {
  const std::vector<std::uint8_t> file = serialize(make_test_model(4, 2));
  for (std::size_t n = 0; n < file.size(); ++n) {
    auto model = parse_fvm(std::span(file.data(), n));
    REQUIRE_FALSE_MESSAGE(model.is_ok(), "prefix of " << n << " bytes");
    CHECK(model.status().code() == ErrorCode::kCorruptData);
    const std::string& message = model.status().message();
    CHECK_MESSAGE((message.find("truncated") != std::string::npos ||
                   message.find("empty") != std::string::npos),
                  message);
  }
  const fs::path path = output_dir() / "truncated.fvm";
  write_file(path, std::vector<std::uint8_t>(file.begin(), file.begin() + 100));
  auto loaded = load_fvm(path.string());
  CHECK(loaded.status().message().rfind(path.string() + ": truncated", 0) == 0);
  CHECK(loaded.status().message().find("truncated: the header records " +
                                       std::to_string(file.size()) +
                                       " bytes but the file has 100") != std::string::npos);
}

TEST_CASE("fvm loader detects every flipped byte") {
  const std::vector<std::uint8_t> file = serialize(make_test_model(4, 2));
  for (std::size_t i = 0; i < file.size(); ++i) {
    std::vector<std::uint8_t> damaged = file;
    damaged[i] ^= 0x04;
    auto model = parse_fvm(damaged);
    REQUIRE_FALSE_MESSAGE(model.is_ok(), "byte " << i << " flipped");
    // From the checksum on, every change is the checksum's to catch.
    if (i >= fvm::kChecksumOffset) {
      CHECK(model.status().code() == ErrorCode::kCorruptData);
      CHECK_MESSAGE(model.status().message().find("checksum mismatch") != std::string::npos,
                    model.status().message());
    }
  }
}

TEST_CASE("fvm loader refuses other kinds of files and newer versions") {
  const std::vector<std::uint8_t> file = serialize(make_test_model(4, 2));

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
  expect_error(png, ErrorCode::kInvalidArgument, "not an .fvm model file");
  expect_error({'F'}, ErrorCode::kInvalidArgument, "not an .fvm model file");

  std::vector<std::uint8_t> newer = file;
  newer[fvm::kVersionMajorOffset] = 2;
  fvm::reseal(newer);
  expect_error(newer, ErrorCode::kInvalidArgument, "format version 2.0 is newer");

  // A newer minor version only adds sections, which this reader skips.
  std::vector<std::uint8_t> minor = file;
  minor[fvm::kVersionMinorOffset] = 7;
  fvm::reseal(minor);
  CHECK(parse_fvm(minor).is_ok());

  std::vector<std::uint8_t> zero = file;
  zero[fvm::kVersionMajorOffset] = 0;
  fvm::reseal(zero);
  expect_error(zero, ErrorCode::kCorruptData, "format version 0.0 does not exist");

  std::vector<std::uint8_t> longer = file;
  longer.push_back(0);
  expect_error(longer, ErrorCode::kCorruptData, "1 bytes of trailing data");
}

TEST_CASE("fvm loader catches hostile contents behind a valid checksum") {
  const Model good = make_test_model(4, 2);
  const std::vector<std::uint8_t> file = serialize(good);
  auto crafted = [](const Model& model) { return fvm::serialize_unchecked(model); };
  auto patched = [&](auto&& patch) {
    std::vector<std::uint8_t> bytes = file;
    patch(bytes);
    fvm::reseal(bytes);
    return bytes;
  };

  SUBCASE("absurd shapes") {
    Model overflow = good;
    overflow.graph.tensors[3].info.shape = {1 << 24, 1 << 24, 1 << 24, 1 << 24};
    expect_error(crafted(overflow), ErrorCode::kCorruptData, "'conv.out' has an invalid shape");

    Model negative = good;
    negative.graph.tensors[3].info.shape = {1, -8, 8, 4};
    expect_error(crafted(negative), ErrorCode::kCorruptData, "invalid shape [1, -8, 8, 4]");

    Model huge = good;  // no overflow, but 2^48 bytes of activations
    huge.graph.tensors[3].info.shape = {1 << 16, 1 << 16, 1 << 16};
    expect_error(crafted(huge), ErrorCode::kCorruptData, "beyond the 1 TiB");

    Model rank = good;
    rank.graph.tensors[3].info.shape.rank = 7;
    expect_error(crafted(rank), ErrorCode::kCorruptData, "tensor 3 'conv.out': rank 7");

    Model type = good;
    type.graph.tensors[3].info.type = static_cast<DataType>(9);
    expect_error(crafted(type), ErrorCode::kCorruptData, "unknown data type 9");
  }
  SUBCASE("offsets and sizes out of range") {
    const std::size_t weights = constant_entry(file, 0);
    expect_error(patched([&](auto& b) { put_u64(b, weights, 0x7fff0000'00000000ull); }),
                 ErrorCode::kCorruptData,
                 "tensor 1 'conv.weight' (constant 0): offset 0x7fff000000000000 + ");
    expect_error(patched([&](auto& b) { put_u64(b, weights + 8, 1ull << 40); }),
                 ErrorCode::kCorruptData, "lies outside the constant data section");
    expect_error(patched([&](auto& b) { put_u64(b, weights, get_u64(b, weights) + 8); }),
                 ErrorCode::kCorruptData, "is not 64-byte aligned");
    expect_error(patched([&](auto& b) { put_u64(b, constant_entry(b, 1), get_u64(b, weights)); }),
                 ErrorCode::kCorruptData, "overlaps the previous constant");
    expect_error(patched([&](auto& b) { put_u64(b, constant_entry(b, 1) + 16, 3); }),
                 ErrorCode::kCorruptData, "'conv.bias' (constant 1): a raw constant stores 16");
    expect_error(patched([&](auto& b) { b[constant_entry(b, 1) + 24] = 5; }),
                 ErrorCode::kCorruptData, "unknown encoding 5");

    const std::size_t graph = section_offset(file, fvm::SectionKind::kGraph);
    expect_error(patched([&](auto& b) { put_u32(b, graph, 0xffffffffu); }), ErrorCode::kCorruptData,
                 "4294967295 tensors");
    expect_error(patched([&](auto& b) {
                   put_u64(b, section_entry(fvm::SectionKind::kGraph) + 16, 1ull << 62);
                 }),
                 ErrorCode::kCorruptData, "section 1 (graph): offset");
    expect_error(patched([&](auto& b) {
                   put_u64(b, section_entry(fvm::SectionKind::kMetadata) + 8, graph);
                 }),
                 ErrorCode::kCorruptData, "overlaps");
    expect_error(patched([&](auto& b) { put_u32(b, fvm::kSectionCountOffset, 1000); }),
                 ErrorCode::kCorruptData, "section count 1000");
    expect_error(patched([&](auto& b) { put_u32(b, fvm::kSectionCountOffset, 3); }),
                 ErrorCode::kCorruptData, "constant data section is missing");

    Model scales = good;  // a billion scales promised, a few bytes present
    std::vector<std::uint8_t> bytes = crafted(scales);
    const std::size_t first_tensor = section_offset(bytes, fvm::SectionKind::kGraph) + 16;
    // tensor 0 "x": name (4 + 1), type, rank, reserved, constant, 4 dims, zero point, axis
    put_u32(bytes, first_tensor + 5 + 8 + 32 + 8, 1'000'000'000u);
    fvm::reseal(bytes);
    expect_error(bytes, ErrorCode::kCorruptData, "tensor 0 'x': 1000000000 scales need");
  }
  SUBCASE("graph structure") {
    Model cycle = good;  // relu reads add's output, add reads relu's: a loop
    cycle.graph.nodes[1].inputs = {6};
    expect_error(crafted(cycle), ErrorCode::kCorruptData, "is on a cycle");
    CHECK(serialize_fvm(cycle).status().code() == ErrorCode::kInvalidArgument);

    Model scales = good;
    scales.graph.tensors[1].info.quantization.scales.pop_back();
    expect_error(crafted(scales), ErrorCode::kCorruptData,
                 "'conv.weight' has 3 scales that do not match its channel axis");

    Model index = good;
    index.graph.nodes[2].inputs[1] = 99;
    expect_error(crafted(index), ErrorCode::kCorruptData, "node 'add' reads tensor 99");

    Model constant = good;
    constant.graph.tensors[2].constant = 9;
    expect_error(crafted(constant), ErrorCode::kCorruptData,
                 "tensor 2 'conv.bias': constant index 9 is out of range");

    Model size = good;  // a tensor no node reads, so only the constant check sees it
    add_tensor(size.graph, "unused.table", DataType::kInt32, {5}, {}, 1);
    expect_error(crafted(size), ErrorCode::kCorruptData,
                 "tensor 10 'unused.table': constant 1 holds 16 bytes, but shape [5] of i32 "
                 "needs 20");
  }
  SUBCASE("corrupt entropy-coded constants") {
    const std::size_t blob = static_cast<std::size_t>(get_u64(file, constant_entry(file, 2)));
    REQUIRE(good.constant_encoding(2) == ConstantEncoding::kEntropyCoded);
    REQUIRE(file[blob + 20] == 1);  // "add.skip": one rANS-coded block
    expect_error(
        patched([&](auto& b) { b[blob + 21 + 32] ^= 1; }), ErrorCode::kCorruptData,
        "tensor 5 'add.skip' (constant 2): weight stream: block 0 at 0x14: frequency table");
    expect_error(patched([&](auto& b) { b[blob + 8] = 0xff; }), ErrorCode::kCorruptData,
                 "'add.skip' (constant 2): its weight stream decodes to 511 bytes but its table "
                 "entry says 256");
    expect_error(patched([&](auto& b) { b[blob + 10] = 1; }), ErrorCode::kCorruptData,
                 "weight stream: has 1 blocks but 65792 decoded bytes need 2");

    // Damage in the payload passes the structural checks at load; decoding reports it.
    const std::size_t end = blob + static_cast<std::size_t>(good.constant_stored_bytes(2));
    auto model = parse_fvm(patched([&](auto& b) { b[end - 1] ^= 0x40; }));
    REQUIRE(model.is_ok());
    std::vector<std::uint8_t> out(static_cast<std::size_t>(good.constant_decoded_bytes(2)));
    const Status decoded = model->decode_constant(2, out);
    CHECK(decoded.code() == ErrorCode::kCorruptData);
    CHECK(decoded.message().find("constant 2: weight stream: block 0") != std::string::npos);
  }
}

// The fuzz target's seed corpus (tests/fuzz/corpus/fvm) is written by this test when
// FOVEA_WRITE_FVM_SEEDS names a folder, and otherwise checked to still load, so a format change
// that forgets the seeds fails here.
TEST_CASE("fvm fuzz seeds are valid files") {
  Model minimal;
  minimal.metadata.name = "sigmoid";
  add_tensor(minimal.graph, "in", DataType::kFloat32, {1, 4});
  add_tensor(minimal.graph, "out", DataType::kFloat32, {1, 4});
  minimal.graph.nodes = {GraphNode{"sigmoid", OpType::kSigmoid, {}, {0}, {1}}};
  minimal.graph.inputs = {0};
  minimal.graph.outputs = {1};

  Model fc;  // pruned INT8 weights: mostly zeros, so the stream has a rANS block
  fc.metadata = {"fc", "fully connected, pruned", "source: seeds"};
  std::vector<std::uint8_t> weights(16 * 24, 0);
  for (std::size_t i = 0; i < weights.size(); i += 7) weights[i] = static_cast<std::uint8_t>(i);
  const int cw = fc.add_constant(weights, true);
  const int cb = fc.add_constant(as_bytes(std::vector<std::int32_t>(16, 3)), false);
  add_tensor(fc.graph, "in", DataType::kInt8, {1, 24}, {{0.1f}, 0, -1});
  add_tensor(fc.graph, "w", DataType::kInt8, {16, 24}, {std::vector<float>(16, 0.02f), 0, 0}, cw);
  add_tensor(fc.graph, "b", DataType::kInt32, {16}, {}, cb);
  add_tensor(fc.graph, "out", DataType::kInt8, {1, 16}, {{0.2f}, 1, -1});
  fc.graph.nodes = {GraphNode{"fc", OpType::kFullyConnected, {}, {0, 1, 2}, {3}}};
  fc.graph.inputs = {0};
  fc.graph.outputs = {3};

  const std::vector<std::pair<std::string, Model>> seeds = {
      {"minimal.fvm", minimal},
      {"fc_pruned.fvm", fc},
      {"conv_relu_add.fvm", make_test_model(4, 2)}};
  const fs::path corpus = fs::path(FOVEA_GOLDEN_DIR) / ".." / "fuzz" / "corpus" / "fvm";
  if (const char* out = std::getenv("FOVEA_WRITE_FVM_SEEDS")) {
    for (const auto& [name, model] : seeds) write_file(fs::path(out) / name, serialize(model));
    MESSAGE("wrote " << seeds.size() << " seeds to " << std::string(out));
  }
  for (const auto& [name, model] : seeds) {
    CAPTURE(name);
    auto loaded = load_fvm((corpus / name).string());
    REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
    check_same_model(model, *loaded);
    CHECK(fs::file_size(corpus / name) < 4096);
  }
}

}  // namespace
}  // namespace fovea
