#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "strom/base/result.h"
#include "strom/config/broker_config.h"
#include "strom/config/errc.h"

/// Loading, validating and printing a broker's YAML configuration.
///
/// Loading is strict: an unknown key at any depth, a duplicate key, a value of the wrong
/// type, a value out of range or not allowed, a missing required key, or a broken rule
/// across keys fails with one strom::error whose code is a strom::config::errc and whose
/// detail() reads "<file>:<line>: <key.path>: <what was expected>, got <what was found>"
/// (line is 1-based; it is omitted when the offending value is a default not in the file).
/// Safe to call from any thread; no global state.
namespace strom::config {

/// Reads and validates the file at `path`. Messages name the file as given.
result<broker_config> load_file(const std::filesystem::path& path);

/// Validates YAML text; `source_name` stands for the file name in messages.
result<broker_config> load_string(std::string_view yaml, std::string_view source_name);

/// A value given outside the file: `path` is a key path ("node.id", "admin.bind.port") and
/// `value` YAML text ("3", "[\"/data\"]"); `origin` names it in messages (an environment
/// variable). Keys inside lists (listeners) cannot be overridden.
struct override_value {
  std::string path;
  std::string value;
  std::string origin;
};
/// Like load_file, with each override replacing (or adding) its key before validation.
result<broker_config> load_file(const std::filesystem::path& path,
                                const std::vector<override_value>& overrides);
/// The overrides found in an environment: every `STROM_<PATH>` variable whose path, lower
/// case with `__` for `.`, is a configuration key (`STROM_NODE__ID`,
/// `STROM_CLUSTER_DEFAULTS__LOG__RETENTION_MS`). A `STROM_` variable containing `__` that names
/// no key is an error. `env` is a null-terminated array like `environ`.
result<std::vector<override_value>> environment_overrides(const char* const* env);

/// The effective configuration as YAML: every key, defaults included, in the file layout,
/// each line annotated with its Kafka name. load_string(to_yaml(c)) == c for every config
/// the loader accepted.
std::string to_yaml(const broker_config& c);

}  // namespace strom::config
