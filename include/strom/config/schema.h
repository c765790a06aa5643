#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strom/config/broker_config.h"

/// The schema: one descriptor per configuration key. It is the single source of truth for
/// parsing and validation (strom/config/loader.h), for the effective configuration printed
/// by to_yaml(), and for the reference tables of docs/configuration.md.
namespace strom::config {

/// The YAML shape a key accepts.
enum class value_kind {
  boolean,           // true | false
  integer,           // a plain integer within [min, max]
  nullable_integer,  // null, or an integer within [min, max]
  string,            // a non-empty string
  nullable_string,   // null, or a non-empty string
  string_list,       // a list of non-empty strings; at least `min` items
  enumeration,       // one of `allowed`
  level_map,         // a mapping from a name in `map_keys` to one of `allowed`
  object_list,       // a list of mappings; their keys are the descriptors "<path>[].<key>"
};

/// Whether a key must be written in the file.
enum class requirement {
  optional,                // a default applies
  required,                // always required (list items: name, bind, ...)
  required_in_production,  // required in mode production; the default applies in mode dev
};

/// One accepted spelling of an enumeration value. The first spelling of each value is the
/// canonical one (used by to_yaml); later ones are synonyms.
struct enum_value {
  std::string_view name;
  int value;
};

struct key_descriptor {
  /// Full YAML path, e.g. "cluster_defaults.log.segment_bytes". The keys of list items
  /// use "[]": "listeners[].bind.port".
  std::string_view path{};
  value_kind kind = value_kind::integer;
  /// Integer range for integer kinds; minimum item count for string_list and object_list.
  int64_t min = 0;
  int64_t max = 0;
  /// Accepted values of enumeration and level_map.
  std::span<const enum_value> allowed{};
  /// Accepted keys of a level_map.
  std::span<const std::string_view> map_keys{};
  /// The Kafka configuration name(s), e.g. "log.segment.bytes (topic: segment.bytes)".
  /// Empty for a Strom-only key.
  std::string_view kafka_name{};
  /// True if the broker reads the key only at startup. False for keys it is designed to
  /// apply at run time (cluster-wide defaults, log levels).
  bool restart_required = true;
  requirement required = requirement::optional;
  /// Replaces the computed default in the docs (e.g. "= bind.host").
  std::string_view default_note{};
  std::string_view description{};
};

/// Every key, in file order (the order of to_yaml() and of the docs).
const std::vector<key_descriptor>& schema();

/// The descriptor of a full path ("node.id", "listeners[].name"), or nullptr.
const key_descriptor* find_key(std::string_view path);

/// Human-readable type, e.g. "integer", "string or null", "list of strings".
std::string type_text(const key_descriptor& key);

/// Range or allowed values, e.g. "1024 .. 2147483647", "delete | compact | compact,delete";
/// empty if the key has none.
std::string constraint_text(const key_descriptor& key);

/// The default of a key as YAML text, e.g. "1073741824", "3 (dev: 1)", "required".
std::string default_text(const key_descriptor& key);

/// The value of a key in `c` as one line of YAML ("1073741824", "null", "[\"./data\"]"),
/// or nullopt for unknown paths, lists of mappings (listeners, seeds) and keys inside them.
std::optional<std::string> value_text(const broker_config& c, std::string_view path);

/// The Markdown reference tables (one per section) that docs/configuration.md embeds
/// between the markers "<!-- BEGIN GENERATED REFERENCE -->" and "<!-- END GENERATED
/// REFERENCE -->". A unit test keeps the file in sync.
std::string reference_markdown();

}  // namespace strom::config
