#include <doctest/doctest.h>

#include <xnnpack.h>

#include <array>
#include <cstddef>
#include <cstdlib>

namespace {

// The inference core will route every XNNPACK allocation through its memory budget via this
// hook; this test pins down that Debian's build honours a custom allocator and runs an INT8
// operator with it.
struct CountingAllocator {
  static inline int calls = 0;
  static void* allocate(void*, size_t size) {
    ++calls;
    return std::malloc(size);
  }
  static void* reallocate(void*, void* pointer, size_t size) {
    ++calls;
    return std::realloc(pointer, size);
  }
  static void deallocate(void*, void* pointer) { std::free(pointer); }
  static void* aligned_allocate(void*, size_t alignment, size_t size) {
    ++calls;
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  }
  static void aligned_deallocate(void*, void* pointer) { std::free(pointer); }
};

TEST_CASE("XNNPACK initialises with fovea's allocator and runs an INT8 add through it") {
  const xnn_allocator allocator{nullptr,
                                CountingAllocator::allocate,
                                CountingAllocator::reallocate,
                                CountingAllocator::deallocate,
                                CountingAllocator::aligned_allocate,
                                CountingAllocator::aligned_deallocate};
  REQUIRE(xnn_initialize(&allocator) == xnn_status_success);

  // qs8 add with unit scales and zero points 0: plain saturating integer addition.
  xnn_operator_t add = nullptr;
  REQUIRE(xnn_create_add_nd_qs8(0, 1.0f, 0, 1.0f, 0, 1.0f, -128, 127, 0, &add) ==
          xnn_status_success);
  CHECK(CountingAllocator::calls > 0);
  const std::array<int8_t, 4> a = {1, -5, 100, -128};
  const std::array<int8_t, 4> b = {2, 5, 100, -10};
  std::array<int8_t, 4> sum{};
  const size_t shape[1] = {4};
  REQUIRE(xnn_setup_add_nd_qs8(add, 1, shape, 1, shape, a.data(), b.data(), sum.data(), nullptr) ==
          xnn_status_success);
  REQUIRE(xnn_run_operator(add, nullptr) == xnn_status_success);
  CHECK(sum == std::array<int8_t, 4>{3, 0, 127, -128});
  CHECK(xnn_delete_operator(add) == xnn_status_success);
}

}  // namespace
