#pragma once
// Errors are values at fovea's API boundaries: every fallible call returns a Status or a
// Result<T> whose message tells a user what went wrong and what to do about it.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace fovea {

enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable (a bad size, an unknown name)
  kNotFound,         // a file, device or named resource does not exist
  kUnavailable,      // the platform lacks something (no display, no GLES 3, no GPU)
  kCorruptData,      // a file or buffer failed validation
  kOutOfMemory,      // an allocation failed or would pass a budget
  kInternal,         // a driver or library call failed unexpectedly
};

const char* error_code_name(ErrorCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool is_ok() const noexcept { return code_ == ErrorCode::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // "<code name>: <message>", for logs and command-line tools.
  std::string to_string() const;

  // Prefixes context so an error read far from its origin still says where it came from.
  Status with_context(const std::string& context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Status error) : state_(std::move(error)) {  // NOLINT
    // A successful Status carries no value; treat it as a programming error made visible.
    if (std::get<Status>(state_).is_ok())
      state_ = Status(ErrorCode::kInternal, "Result constructed from an OK status without a value");
  }

  bool is_ok() const noexcept { return std::holds_alternative<T>(state_); }
  explicit operator bool() const noexcept { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace fovea

// Returns early from a function returning Status or Result<T> when `expr` fails.
#define FOVEA_RETURN_IF_ERROR(expr)                   \
  do {                                                \
    ::fovea::Status fovea_status_ = (expr);           \
    if (!fovea_status_.is_ok()) return fovea_status_; \
  } while (false)
