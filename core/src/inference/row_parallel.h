#pragma once
// Rows of an output spread over the pthreadpool (or run in order without one, or for a single
// row): the split the FP32 flow and narrow-conv kernels use.

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

namespace fovea::inference {

// Calls row_body(row) for row in [0, rows). Each row must write only its own outputs.
template <class RowBody>
void for_each_row(pthreadpool_t pool, std::int64_t rows, const RowBody& row_body) {
  if (pool == nullptr || rows == 1) {
    for (std::int64_t row = 0; row < rows; ++row) row_body(row);
    return;
  }
  pthreadpool_parallelize_1d(
      pool,
      [](void* context, size_t row) {
        (*static_cast<const RowBody*>(context))(static_cast<std::int64_t>(row));
      },
      const_cast<RowBody*>(&row_body), static_cast<size_t>(rows), 0);
}

}  // namespace fovea::inference
