#include "constant_tensor.h"

#include <cmath>
#include <cstring>

namespace fovea::onnx_import {
namespace {

float half_to_float(std::uint16_t h) {
  const int sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa ? NAN : INFINITY;
  } else {
    value = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  }
  return sign ? -value : value;
}

// Copies little-endian raw_data elements of type T out, converting each with `convert`.
template <typename T, typename Out, typename Convert>
void from_raw(const std::string& raw, std::vector<Out>& out, Convert convert) {
  out.resize(raw.size() / sizeof(T));
  for (size_t k = 0; k < out.size(); ++k) {
    T value;
    std::memcpy(&value, raw.data() + k * sizeof(T), sizeof(T));
    out[k] = convert(value);
  }
}

}  // namespace

std::int64_t checked_elements(const std::vector<std::int64_t>& dims) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) {
    if (d < 0 || (d > 0 && n > (std::int64_t{1} << 40) / d)) return -1;
    n *= d;
  }
  return n;
}

std::int64_t ConstantTensor::elements() const {
  return checked_elements(dims);
}

std::vector<float> ConstantTensor::floats() const {
  if (is_float) return f;
  return {i.begin(), i.end()};
}

std::vector<std::int64_t> ConstantTensor::ints() const {
  if (!is_float) return i;
  std::vector<std::int64_t> out(f.size());
  for (size_t k = 0; k < f.size(); ++k) out[k] = static_cast<std::int64_t>(f[k]);
  return out;
}

Result<ConstantPtr> decode_tensor(const onnx::TensorProto& proto, const std::string& what) {
  auto fail = [&](const std::string& message) -> Result<ConstantPtr> {
    return Status(ErrorCode::kCorruptData, "tensor '" + what + "': " + message);
  };
  if (proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    return Status(ErrorCode::kInvalidArgument,
                  "tensor '" + what +
                      "' is stored in an external data file, which the importer does not read; "
                      "export with the weights inside the .onnx file");
  if (proto.has_segment()) return fail("segmented tensors are not supported");
  auto tensor = std::make_shared<ConstantTensor>();
  tensor->dims.assign(proto.dims().begin(), proto.dims().end());
  const std::int64_t n = tensor->elements();
  if (n < 0) return fail("has a negative or absurd shape");
  const std::string& raw = proto.raw_data();
  const bool use_raw = proto.has_raw_data();
  const auto count = static_cast<size_t>(n);
  auto check_raw = [&](size_t element) { return raw.size() == count * element; };
  auto as_int = [](auto v) { return static_cast<std::int64_t>(v); };
  switch (proto.data_type()) {
    case onnx::TensorProto_DataType_FLOAT:
      if (use_raw) {
        if (!check_raw(4)) return fail("raw data size does not match its shape");
        from_raw<float>(raw, tensor->f, [](float v) { return v; });
      } else {
        tensor->f.assign(proto.float_data().begin(), proto.float_data().end());
      }
      break;
    case onnx::TensorProto_DataType_DOUBLE:
      if (use_raw) {
        if (!check_raw(8)) return fail("raw data size does not match its shape");
        from_raw<double>(raw, tensor->f, [](double v) { return static_cast<float>(v); });
      } else {
        for (double v : proto.double_data()) tensor->f.push_back(static_cast<float>(v));
      }
      break;
    case onnx::TensorProto_DataType_FLOAT16:
      if (use_raw) {
        if (!check_raw(2)) return fail("raw data size does not match its shape");
        from_raw<std::uint16_t>(raw, tensor->f, half_to_float);
      } else {
        for (int v : proto.int32_data())
          tensor->f.push_back(half_to_float(static_cast<std::uint16_t>(v)));
      }
      break;
    case onnx::TensorProto_DataType_INT64:
      tensor->is_float = false;
      if (use_raw) {
        if (!check_raw(8)) return fail("raw data size does not match its shape");
        from_raw<std::int64_t>(raw, tensor->i, as_int);
      } else {
        tensor->i.assign(proto.int64_data().begin(), proto.int64_data().end());
      }
      break;
    case onnx::TensorProto_DataType_UINT64:
    case onnx::TensorProto_DataType_UINT32:
      tensor->is_float = false;
      if (use_raw) {
        const bool wide = proto.data_type() == onnx::TensorProto_DataType_UINT64;
        if (!check_raw(wide ? 8 : 4)) return fail("raw data size does not match its shape");
        if (wide)
          from_raw<std::uint64_t>(raw, tensor->i, as_int);
        else
          from_raw<std::uint32_t>(raw, tensor->i, as_int);
      } else {
        for (auto v : proto.uint64_data()) tensor->i.push_back(static_cast<std::int64_t>(v));
      }
      break;
    case onnx::TensorProto_DataType_INT32:
    case onnx::TensorProto_DataType_INT16:
    case onnx::TensorProto_DataType_INT8:
    case onnx::TensorProto_DataType_UINT16:
    case onnx::TensorProto_DataType_UINT8:
    case onnx::TensorProto_DataType_BOOL:
      tensor->is_float = false;
      if (use_raw) {
        switch (proto.data_type()) {
          case onnx::TensorProto_DataType_INT32:
            if (!check_raw(4)) return fail("raw data size does not match its shape");
            from_raw<std::int32_t>(raw, tensor->i, as_int);
            break;
          case onnx::TensorProto_DataType_INT16:
            if (!check_raw(2)) return fail("raw data size does not match its shape");
            from_raw<std::int16_t>(raw, tensor->i, as_int);
            break;
          case onnx::TensorProto_DataType_UINT16:
            if (!check_raw(2)) return fail("raw data size does not match its shape");
            from_raw<std::uint16_t>(raw, tensor->i, as_int);
            break;
          case onnx::TensorProto_DataType_INT8:
            if (!check_raw(1)) return fail("raw data size does not match its shape");
            from_raw<std::int8_t>(raw, tensor->i, as_int);
            break;
          default:  // UINT8, BOOL
            if (!check_raw(1)) return fail("raw data size does not match its shape");
            from_raw<std::uint8_t>(raw, tensor->i, as_int);
            break;
        }
      } else {
        tensor->i.assign(proto.int32_data().begin(), proto.int32_data().end());
      }
      break;
    default:
      return Status(ErrorCode::kInvalidArgument,
                    "tensor '" + what + "' has ONNX data type " +
                        std::to_string(proto.data_type()) +
                        ", which the importer does not read (float, double, float16 and integer "
                        "types are supported)");
  }
  const size_t got = tensor->is_float ? tensor->f.size() : tensor->i.size();
  if (got != count)
    return fail("holds " + std::to_string(got) + " values for shape of " + std::to_string(n));
  return ConstantPtr(std::move(tensor));
}

}  // namespace fovea::onnx_import

namespace fovea::onnx_import {

ConstantTensor transpose(const ConstantTensor& tensor, const std::vector<int>& perm) {
  const size_t rank = tensor.dims.size();
  ConstantTensor out;
  out.is_float = tensor.is_float;
  out.dims.resize(rank);
  for (size_t j = 0; j < rank; ++j) out.dims[j] = tensor.dims[perm[j]];
  std::vector<std::int64_t> in_stride(rank, 1);
  for (size_t d = rank; d-- > 1;) in_stride[d - 1] = in_stride[d] * tensor.dims[d];
  const auto n = static_cast<size_t>(tensor.elements());
  if (out.is_float)
    out.f.resize(n);
  else
    out.i.resize(n);
  // Walks the output in order, tracking its multi-index to find each source element.
  std::vector<std::int64_t> index(rank, 0);
  for (size_t k = 0; k < n; ++k) {
    std::int64_t source = 0;
    for (size_t j = 0; j < rank; ++j) source += index[j] * in_stride[perm[j]];
    if (out.is_float)
      out.f[k] = tensor.f[source];
    else
      out.i[k] = tensor.i[source];
    for (size_t j = rank; j-- > 0;) {
      if (++index[j] < out.dims[j]) break;
      index[j] = 0;
    }
  }
  return out;
}

}  // namespace fovea::onnx_import
