// Client properties: the librdkafka settings an operator gives stromctl (`-X key=value`,
// `--command-config FILE`), as kcat and the Kafka tools take them. Pure: no I/O; unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strom/base/result.h"

namespace strom::ctl {

/// Settings in the order given; a later one of the same key replaces an earlier one.
using client_properties = std::vector<std::pair<std::string, std::string>>;

/// Parses a Java properties file as the Kafka tools' --command-config reads it: one `key=value`
/// (or `key: value`, or `key value`) a line; `#` or `!` first on a line starts a comment;
/// blank lines are skipped; a line ending in an odd number of backslashes goes on on the next
/// line; `\t`, `\n`, `\r`, `\f`, `\uXXXX` and a backslash before any other character (`\=`,
/// `\:`, `\ `, `\\`, `\#`) are escapes. Whitespace around the key and the separator is not
/// part of either. Unlike Java, whitespace at the end of a value is dropped too (write `\ `
/// to keep it): a trailing space nobody sees must not become part of a password. The file's
/// bytes are kept as they are (UTF-8 stays UTF-8). An error names the line: a line without a
/// key, a key without a value or separator, a malformed `\u` escape.
result<client_properties> parse_properties(std::string_view text);

/// The value of `key` (the last setting of it), or nullopt.
std::optional<std::string> property(const client_properties& props, std::string_view key);

/// Whether the value of `key` is a secret that messages must not show (a password, a secret,
/// a private key or its passphrase).
bool is_secret_property(std::string_view key);

/// "key=value", or "key=(hidden)" for a secret: for error messages.
std::string describe_property(std::string_view key, std::string_view value);

}  // namespace strom::ctl
