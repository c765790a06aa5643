#pragma once

#include <system_error>
#include <type_traits>

namespace strom::config {

/// Why loading a configuration failed. The error's detail() is one self-contained line:
/// "<file>:<line>: <key.path>: <what was expected>, got <what was found>".
enum class errc {
  file_not_found = 1,   // the file does not exist
  io_error,             // the file exists but cannot be read
  syntax_error,         // not valid YAML
  unknown_key,          // a key the schema does not know, at any depth
  duplicate_key,        // the same key twice in one mapping
  type_mismatch,        // e.g. a string where an integer is expected, a list where a map is
  out_of_range,         // an integer outside its range, a list that must not be empty
  invalid_value,        // a value not in the allowed set (enums, component names)
  missing_key,          // a required key is absent
  invalid_combination,  // a rule across keys (unique names, min <= max, ...) is broken
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace strom::config

template <>
struct std::is_error_code_enum<strom::config::errc> : std::true_type {};
