#pragma once

// Private to the config module: ties each schema descriptor to the struct member it fills.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "strom/config/broker_config.h"
#include "strom/config/schema.h"

namespace strom::config::detail {

/// A reference to a member of enum type, type-erased to int.
struct enum_ref {
  void* p = nullptr;
  int (*get)(const void*) = nullptr;
  void (*set)(void*, int) = nullptr;
};

template <typename E>
enum_ref make_enum_ref(E* p) {
  return {p, [](const void* q) { return static_cast<int>(*static_cast<const E*>(q)); },
          [](void* q, int v) { *static_cast<E*>(q) = static_cast<E>(v); }};
}

/// The member a descriptor reads and writes. The alternative must match the key's kind.
using field_ref = std::variant<bool*, int32_t*, int64_t*, std::optional<int64_t>*, std::string*,
                               std::optional<std::string>*, std::vector<std::string>*, enum_ref,
                               std::map<std::string, log_level>*, std::vector<listener_config>*,
                               std::vector<seed_config>*>;

/// Returns the member of `c`; `item` is the list index for keys inside list items.
using accessor = field_ref (*)(broker_config& c, std::size_t item);

struct entry {
  key_descriptor key;
  accessor field;
};

/// The schema table, in file order.
const std::vector<entry>& entries();

/// The entry of a full path ("node.id", "listeners[].name"), or nullptr.
const entry* find_entry(std::string_view path);

/// The canonical name of an enumeration value, or "?" if none.
std::string_view enum_name(std::span<const enum_value> allowed, int value);

/// A string as a double-quoted YAML scalar.
std::string quote(std::string_view s);

/// A value as one line of YAML (flow style for lists and maps).
std::string format_value(const key_descriptor& key, const field_ref& f);

/// Resizes the object list behind `f` to `n` default items; no-op for other kinds.
void resize_list(const field_ref& f, std::size_t n);

/// The number of items of the object list behind `f` (0 for other kinds).
std::size_t list_size(const field_ref& f);

inline constexpr int32_t i32_max = INT32_MAX;
inline constexpr int64_t i64_max = INT64_MAX;

inline constexpr enum_value mode_values[] = {{"production", 0}, {"dev", 1}};
inline constexpr enum_value security_protocol_values[] = {
    {"PLAINTEXT", 0}, {"SSL", 1}, {"SASL_PLAINTEXT", 2}, {"SASL_SSL", 3}};
inline constexpr enum_value tls_client_auth_values[] = {
    {"none", 0}, {"requested", 1}, {"required", 2}};
inline constexpr enum_value cleanup_policy_values[] = {
    {"delete", 0}, {"compact", 1}, {"compact,delete", 2}, {"delete,compact", 2}};
inline constexpr enum_value compression_type_values[] = {
    {"producer", 0}, {"uncompressed", 1}, {"none", 1}, {"gzip", 2},
    {"snappy", 3},   {"lz4", 4},          {"zstd", 5}};
inline constexpr enum_value timestamp_type_values[] = {{"CreateTime", 0}, {"LogAppendTime", 1}};
inline constexpr enum_value log_level_values[] = {{"trace", 0}, {"debug", 1},  {"info", 2},
                                                  {"warn", 3},  {"error", 4},  {"critical", 5},
                                                  {"off", 6},   {"warning", 3}};
inline constexpr enum_value log_format_values[] = {{"text", 0}, {"json", 1}};

}  // namespace strom::config::detail
