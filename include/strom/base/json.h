#pragma once

#include <string>
#include <string_view>

namespace strom {

/// Appends `s` to `out` as a quoted JSON string: quotes, backslashes and control characters
/// escaped, valid UTF-8 kept, and each byte that is not valid UTF-8 written as U+FFFD.
void append_json_string(std::string& out, std::string_view s);

/// `s` as a quoted JSON string.
inline std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace strom
