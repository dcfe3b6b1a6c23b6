#pragma once
// What the inference core knows about a tensor: element type, NHWC shape, quantization.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace fovea {

enum class DataType : std::uint8_t {
  kFloat32 = 1,
  kInt8 = 2,   // signed, asymmetric activations or symmetric weights (XNNPACK qs8 / qc8)
  kInt32 = 3,  // convolution and fully-connected biases of INT8 layers
  kUInt8 = 4,
};

std::size_t data_type_size(DataType type) noexcept;
const char* data_type_name(DataType type) noexcept;
bool is_valid_data_type(std::uint8_t raw) noexcept;

inline constexpr int kMaxRank = 6;
// Any one dimension above this is refused; products are checked against overflow separately.
inline constexpr std::int64_t kMaxDimension = std::int64_t{1} << 24;

struct Shape {
  std::array<std::int64_t, kMaxRank> dims{};
  int rank = 0;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> values);

  std::int64_t operator[](int axis) const { return dims[static_cast<size_t>(axis)]; }
  std::int64_t& operator[](int axis) { return dims[static_cast<size_t>(axis)]; }
  // Element count, or -1 when a dimension is out of range or the product would overflow.
  std::int64_t elements() const noexcept;
  bool operator==(const Shape& other) const noexcept;
  std::string to_string() const;  // "[1, 224, 224, 3]"
};

// Per-tensor when `scales` has one entry; per-channel along `channel_axis` otherwise.
// real = scale * (quantized - zero_point).
struct Quantization {
  std::vector<float> scales;
  std::int32_t zero_point = 0;
  int channel_axis = -1;

  bool is_quantized() const noexcept { return !scales.empty(); }
  bool is_per_channel() const noexcept { return scales.size() > 1; }
};

struct TensorInfo {
  std::string name;
  DataType type = DataType::kFloat32;
  Shape shape;
  Quantization quantization;

  // Bytes of the dense tensor, or -1 when the shape is invalid.
  std::int64_t byte_size() const noexcept;
};

}  // namespace fovea
