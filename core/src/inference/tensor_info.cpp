#include "fovea/core/tensor_info.h"

#include <limits>

namespace fovea {

std::size_t data_type_size(DataType type) noexcept {
  switch (type) {
    case DataType::kFloat32:
      return 4;
    case DataType::kInt8:
      return 1;
    case DataType::kInt32:
      return 4;
    case DataType::kUInt8:
      return 1;
  }
  return 0;
}

const char* data_type_name(DataType type) noexcept {
  switch (type) {
    case DataType::kFloat32:
      return "f32";
    case DataType::kInt8:
      return "i8";
    case DataType::kInt32:
      return "i32";
    case DataType::kUInt8:
      return "u8";
  }
  return "invalid";
}

bool is_valid_data_type(std::uint8_t raw) noexcept {
  return raw >= 1 && raw <= 4;
}

Shape::Shape(std::initializer_list<std::int64_t> values) {
  for (std::int64_t value : values) {
    if (rank == kMaxRank) break;
    dims[static_cast<size_t>(rank++)] = value;
  }
}

std::int64_t Shape::elements() const noexcept {
  if (rank < 0 || rank > kMaxRank) return -1;
  std::int64_t product = 1;
  for (int i = 0; i < rank; ++i) {
    const std::int64_t d = dims[static_cast<size_t>(i)];
    if (d < 0 || d > kMaxDimension) return -1;
    if (d != 0 && product > std::numeric_limits<std::int64_t>::max() / 8 / d) return -1;
    product *= d;
  }
  return product;
}

bool Shape::operator==(const Shape& other) const noexcept {
  if (rank != other.rank) return false;
  for (int i = 0; i < rank; ++i)
    if (dims[static_cast<size_t>(i)] != other.dims[static_cast<size_t>(i)]) return false;
  return true;
}

std::string Shape::to_string() const {
  std::string text = "[";
  for (int i = 0; i < rank; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims[static_cast<size_t>(i)]);
  }
  return text + "]";
}

std::int64_t TensorInfo::byte_size() const noexcept {
  const std::int64_t count = shape.elements();
  return count < 0 ? -1 : count * static_cast<std::int64_t>(data_type_size(type));
}

}  // namespace fovea
