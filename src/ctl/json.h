// A small JSON value: what stromctl prints with `--format json` and reads from the admin HTTP
// API. Objects keep their insertion order so that output is stable and readable.
#pragma once

#include "strom/base/json.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace strom::ctl {

class json {
 public:
  using array = std::vector<json>;
  using object = std::vector<std::pair<std::string, json>>;

  json() = default;  // null
  json(std::nullptr_t) {}
  json(bool b) : v_(b) {}
  json(int v) : v_(static_cast<int64_t>(v)) {}
  json(int64_t v) : v_(v) {}
  json(double v) : v_(v) {}
  json(const char* s) : v_(std::string(s)) {}
  json(std::string s) : v_(std::move(s)) {}
  json(std::string_view s) : v_(std::string(s)) {}
  json(array a) : v_(std::move(a)) {}
  json(object o) : v_(std::move(o)) {}

  static json make_array() { return json(array{}); }
  static json make_object() { return json(object{}); }

  [[nodiscard]] bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  [[nodiscard]] bool is_bool() const { return std::holds_alternative<bool>(v_); }
  [[nodiscard]] bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  [[nodiscard]] bool is_double() const { return std::holds_alternative<double>(v_); }
  [[nodiscard]] bool is_string() const { return std::holds_alternative<std::string>(v_); }
  [[nodiscard]] bool is_array() const { return std::holds_alternative<array>(v_); }
  [[nodiscard]] bool is_object() const { return std::holds_alternative<object>(v_); }

  [[nodiscard]] bool as_bool() const { return std::get<bool>(v_); }
  [[nodiscard]] int64_t as_int() const { return std::get<int64_t>(v_); }
  [[nodiscard]] double as_double() const { return std::get<double>(v_); }
  [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(v_); }
  [[nodiscard]] const array& as_array() const { return std::get<array>(v_); }
  [[nodiscard]] const object& as_object() const { return std::get<object>(v_); }

  /// Appends to an array.
  json& push(json v);
  /// Sets a member of an object (replacing an existing one of that name).
  json& set(std::string_view key, json v);
  /// A member of an object, or nullptr.
  [[nodiscard]] const json* find(std::string_view key) const;

  /// Compact text, one line.
  [[nodiscard]] std::string dump() const;
  /// A scalar as plain text (strings unquoted), anything else as compact JSON.
  [[nodiscard]] std::string to_text() const;

  /// Parses a whole document; nullopt (and `error` set) when it is not valid JSON.
  static std::optional<json> parse(std::string_view text, std::string* error = nullptr);

 private:
  void dump_to(std::string& out) const;
  std::variant<std::monostate, bool, int64_t, double, std::string, array, object> v_;
};

/// Appends `s` as a quoted JSON string (shared with the broker's admin API).
using ::strom::append_json_string;

/// Appends code point `cp` (at most 0x10FFFF) encoded as UTF-8 (JSON and properties escapes).
void append_utf8(std::string& out, uint32_t cp);

}  // namespace strom::ctl
