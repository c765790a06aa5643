#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "strom/base/assert.h"

namespace strom {

/// An error: a code from a module's error category plus a human-readable detail
/// (file, offset, what was expected). Cheap to move; not meant for hot loops.
class error {
 public:
  error(std::error_code code, std::string detail = {})  // NOLINT: implicit by design
      : code_(code), detail_(std::move(detail)) {}
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  error(E e, std::string detail = {})  // NOLINT: implicit by design
      : code_(make_error_code(e)), detail_(std::move(detail)) {}

  [[nodiscard]] std::error_code code() const { return code_; }
  [[nodiscard]] const std::string& detail() const { return detail_; }
  /// "<category message>: <detail>".
  [[nodiscard]] std::string message() const {
    return detail_.empty() ? code_.message() : code_.message() + ": " + detail_;
  }
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  [[nodiscard]] bool is(E e) const {
    return code_ == make_error_code(e);
  }

 private:
  std::error_code code_;
  std::string detail_;
};

/// Value or error. Fallible functions return it; callers must look at it.
template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}         // NOLINT
  result(strom::error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e, std::string detail = {})  // NOLINT
      : v_(std::in_place_index<1>, strom::error(e, std::move(detail))) {}

  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    STROM_ASSERT(has_value(), "result holds an error: {}", std::get<1>(v_).message());
    return std::get<0>(v_);
  }
  const T& value() const& {
    STROM_ASSERT(has_value(), "result holds an error: {}", std::get<1>(v_).message());
    return std::get<0>(v_);
  }
  T&& value() && {
    STROM_ASSERT(has_value(), "result holds an error: {}", std::get<1>(v_).message());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const strom::error& error() const {
    STROM_ASSERT(!has_value(), "result holds a value");
    return std::get<1>(v_);
  }

 private:
  std::variant<T, strom::error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(strom::error err) : err_(std::move(err)) {}  // NOLINT
  template <typename E, typename = std::enable_if_t<std::is_error_code_enum_v<E>>>
  result(E e, std::string detail = {}) : err_(strom::error(e, std::move(detail))) {}  // NOLINT

  [[nodiscard]] bool has_value() const { return !err_.has_value(); }
  explicit operator bool() const { return has_value(); }
  [[nodiscard]] const strom::error& error() const {
    STROM_ASSERT(err_.has_value(), "result holds no error");
    return *err_;
  }

 private:
  std::optional<strom::error> err_;
};

using status = result<void>;

inline status ok() {
  return {};
}

}  // namespace strom

/// Evaluates a result expression; on error returns the error from the enclosing function.
#define STROM_TRY(expr)                            \
  do {                                             \
    auto strom_try_r_ = (expr);                    \
    if (!strom_try_r_.has_value()) {               \
      return ::strom::error(strom_try_r_.error()); \
    }                                              \
  } while (false)

/// Declares `var` holding the value of a result, or returns its error from the enclosing
/// function.
#define STROM_TRY_ASSIGN(var, expr)              \
  auto var##_try_r_ = (expr);                    \
  if (!var##_try_r_.has_value()) {               \
    return ::strom::error(var##_try_r_.error()); \
  }                                              \
  auto var = std::move(*var##_try_r_)
