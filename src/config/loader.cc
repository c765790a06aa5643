#include "strom/config/loader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/binding.h"

namespace strom::config {
namespace {

using detail::entry;
using detail::field_ref;

constexpr std::string_view int_tag = "tag:yaml.org,2002:int";
constexpr std::string_view bool_tag = "tag:yaml.org,2002:bool";

/// A scalar written without quotes and without a tag (or with the given core tag).
bool is_plain(const YAML::Node& n, std::string_view core_tag = {}) {
  return n.Tag() == "?" || (!core_tag.empty() && n.Tag() == core_tag);
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

enum class int_parse { ok, not_integer, overflow };

int_parse parse_int(std::string_view s, int64_t& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  if (s.empty() || (s.front() == '-' && s.size() == 1)) {
    return int_parse::not_integer;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ptr != s.data() + s.size()) {
    return int_parse::not_integer;
  }
  if (ec == std::errc::result_out_of_range) {
    return int_parse::overflow;
  }
  return ec == std::errc() ? int_parse::ok : int_parse::not_integer;
}

bool looks_like_number(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string shorten(std::string_view s) {
  constexpr std::size_t limit = 60;
  return s.size() <= limit ? std::string(s) : std::string(s.substr(0, limit)) + "...";
}

/// What a node is, for "got ..." in messages.
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (s.empty()) {
        return "an empty string";
      }
      if (!is_plain(n, int_tag) && !is_plain(n, bool_tag)) {
        return "string " + detail::quote(shorten(s));
      }
      int64_t i = 0;
      if (parse_bool(s)) {
        return "boolean " + s;
      }
      if (parse_int(s, i) != int_parse::not_integer) {
        return "integer " + shorten(s);
      }
      if (looks_like_number(s)) {
        return "number " + shorten(s);
      }
      return "string " + detail::quote(shorten(s));
    }
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string join(std::span<const enum_value> values) {
  std::string out;
  for (const auto& v : values) {
    out += (out.empty() ? "" : " | ") + std::string(v.name);
  }
  return out;
}

std::string join(const std::vector<std::string>& names, std::string_view sep) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : std::string(sep)) + n;
  }
  return out;
}

std::optional<int> match_enum(std::span<const enum_value> allowed, std::string_view s) {
  for (const auto& v : allowed) {
    if (v.name == s) {
      return v.value;
    }
  }
  return std::nullopt;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

/// The keys a mapping at `schema_prefix` ("", "cluster_defaults.", "listeners[].") accepts.
std::vector<std::string> children_of(std::string_view schema_prefix) {
  std::vector<std::string> out;
  for (const auto& e : detail::entries()) {
    std::string_view p = e.key.path;
    if (!p.starts_with(schema_prefix)) {
      continue;
    }
    auto rest = p.substr(schema_prefix.size());
    auto child = std::string(rest.substr(0, rest.find('.')));
    if (child.ends_with("[]") || std::find(out.begin(), out.end(), child) != out.end()) {
      continue;
    }
    out.push_back(child);
  }
  return out;
}

/// True if `schema_path` names a section (a mapping of keys) rather than a key.
bool is_section(std::string_view schema_path) {
  for (const auto& e : detail::entries()) {
    std::string_view p = e.key.path;
    if (p.size() > schema_path.size() && p.starts_with(schema_path) &&
        p[schema_path.size()] == '.') {
      return true;
    }
  }
  return false;
}

/// "listeners[2].bind.port" -> "listeners[2].bind"; "node.data_dirs[1]" -> "node.data_dirs".
std::string parent_of(std::string_view path) {
  if (path.ends_with(']')) {
    return std::string(path.substr(0, path.rfind('[')));
  }
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(path.substr(0, dot));
}

bool is_wildcard(std::string_view host) {
  return host == "0.0.0.0" || host == "::" || host == "[::]" || host == "0:0:0:0:0:0:0:0";
}

bool valid_listener_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

bool same_socket(const endpoint& a, const endpoint& b) {
  return a.port == b.port && (a.host == b.host || is_wildcard(a.host) || is_wildcard(b.host));
}

std::string normal_dir(const std::string& dir) {
  auto p = std::filesystem::path(dir).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
  }
  return p;
}

/// Walks a YAML document along the schema and fills a broker_config. One instance per load.
class loader {
 public:
  explicit loader(std::string_view source) : source_(source) {}

  result<broker_config> run(const YAML::Node& root) {
    if (!root.IsNull() && !root.IsMap()) {
      return make(errc::type_mismatch, "", line_of(root),
                  "expected a mapping of sections at the top level, got " + describe(root));
    }
    cfg_ = default_config(mode_of(root));
    STROM_TRY(walk_map(root, "", "", 0));
    STROM_TRY(finish());
    return std::move(cfg_);
  }

 private:
  [[nodiscard]] strom::error make(errc code, std::string_view path, int line,
                                  std::string_view msg) const {
    std::string where = line > 0 ? fmt::format("{}:{}", source_, line) : source_;
    return {code, path.empty() ? fmt::format("{}: {}", where, msg)
                               : fmt::format("{}: {}: {}", where, path, msg)};
  }

  static int line_of(const YAML::Node& n) {
    auto m = n.Mark();
    return m.is_null() ? 0 : m.line + 1;
  }

  /// The line of `path` in the file, or of its nearest ancestor present; 0 if none.
  [[nodiscard]] int locate(std::string path) const {
    while (!path.empty()) {
      if (auto it = lines_.find(path); it != lines_.end()) {
        return it->second;
      }
      path = parent_of(path);
    }
    return 0;
  }

  /// The line of exactly `path`, 0 if the file does not set it.
  [[nodiscard]] int line_if_set(const std::string& path) const {
    auto it = lines_.find(path);
    return it == lines_.end() ? 0 : it->second;
  }

  /// The profile named by a valid top-level `mode`, else production. Errors in `mode` are
  /// reported by the walk.
  static mode mode_of(const YAML::Node& root) {
    if (!root.IsMap()) {
      return mode::production;
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "mode" && it->second.IsScalar()) {
        if (auto v = match_enum(detail::mode_values, it->second.Scalar())) {
          return static_cast<mode>(*v);
        }
      }
    }
    return mode::production;
  }

  /// Reads the keys of a mapping (or null, an empty section) whose schema paths start with
  /// `schema_prefix`; `prefix` is the same with list indexes, for messages.
  status walk_map(const YAML::Node& map, const std::string& schema_prefix,
                  const std::string& prefix, std::size_t item) {
    if (map.IsNull()) {
      return ok();
    }
    std::map<std::string, int> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      YAML::Node key = it->first;
      YAML::Node value = it->second;
      int line = line_of(key);
      if (!key.IsScalar()) {
        return make(errc::type_mismatch, prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1),
                    line, "expected a key name, got " + describe(key));
      }
      const std::string& name = key.Scalar();
      std::string path = prefix + name;
      if (auto [pos, inserted] = seen.emplace(name, line); !inserted) {
        return make(errc::duplicate_key, path, line,
                    fmt::format("duplicate key (first at line {})", pos->second));
      }
      bool plain_name = name.find_first_of(".[]") == std::string::npos && !name.empty();
      std::string schema_path = schema_prefix + name;
      if (const entry* e = plain_name ? detail::find_entry(schema_path) : nullptr) {
        lines_[path] = line;
        STROM_TRY(parse_value(*e, value, schema_path, path, line, item));
      } else if (plain_name && is_section(schema_path)) {
        lines_[path] = line;
        if (!value.IsMap() && !value.IsNull()) {
          return make(errc::type_mismatch, path, line,
                      "expected a mapping (section), got " + describe(value));
        }
        STROM_TRY(walk_map(value, schema_path + ".", path + ".", item));
      } else {
        return unknown_key(schema_prefix, prefix, name, line);
      }
    }
    return ok();
  }

  [[nodiscard]] strom::error unknown_key(const std::string& schema_prefix,
                                         const std::string& prefix, const std::string& name,
                                         int line) const {
    auto children = children_of(schema_prefix);
    std::string hint;
    std::size_t best = std::max<std::size_t>(2, name.size() / 4) + 1;
    for (const auto& c : children) {
      if (auto d = edit_distance(name, c); d < best) {
        best = d;
        hint = fmt::format(" (did you mean '{}'?)", c);
      }
    }
    if (hint.empty()) {
      // A key of another section, or a section in the wrong place?
      for (const auto& e : detail::entries()) {
        std::string_view p = e.key.path;
        for (auto pos = p.find(name); pos != std::string_view::npos; pos = p.find(name, pos + 1)) {
          bool starts = pos == 0 || p[pos - 1] == '.';
          bool ends = pos + name.size() == p.size() || p[pos + name.size()] == '.';
          if (starts && ends && p.find("[]") == std::string_view::npos) {
            hint = fmt::format(" (did you mean {}?)", p.substr(0, pos + name.size()));
            break;
          }
        }
        if (!hint.empty()) {
          break;
        }
      }
    }
    if (hint.empty()) {
      // A Kafka name?
      for (const auto& e : detail::entries()) {
        std::string_view k = e.key.kafka_name;
        auto pos = k.find(name);
        auto is_name_char = [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.';
        };
        if (pos != std::string_view::npos && (pos == 0 || !is_name_char(k[pos - 1])) &&
            (pos + name.size() == k.size() || !is_name_char(k[pos + name.size()]))) {
          hint = fmt::format(" ({} is the Kafka name of {})", name, e.key.path);
          break;
        }
      }
    }
    std::string where = prefix.empty() ? "the top level" : prefix.substr(0, prefix.size() - 1);
    return make(errc::unknown_key, prefix + name, line,
                fmt::format("unknown key{}; {} accepts: {}", hint, where, join(children, ", ")));
  }

  /// Parses `value` into the member of `e`. `path` has list indexes; `line` is the key's.
  status parse_value(const entry& e, const YAML::Node& value, const std::string& schema_path,
                     const std::string& path, int line, std::size_t item) {
    const key_descriptor& key = e.key;
    field_ref f = e.field(cfg_, item);
    switch (key.kind) {
      case value_kind::boolean: {
        std::optional<bool> b;
        if (value.IsScalar() && is_plain(value, bool_tag)) {
          b = parse_bool(value.Scalar());
        }
        if (!b) {
          return make(errc::type_mismatch, path, line,
                      "expected a boolean (true or false), got " + describe(value));
        }
        *std::get<bool*>(f) = *b;
        return ok();
      }
      case value_kind::integer:
      case value_kind::nullable_integer: {
        bool nullable = key.kind == value_kind::nullable_integer;
        std::string expected = fmt::format("expected {}an integer in {} .. {}",
                                           nullable ? "null or " : "", key.min, key.max);
        if (nullable && value.IsNull()) {
          *std::get<std::optional<int64_t>*>(f) = std::nullopt;
          return ok();
        }
        int64_t v = 0;
        auto parsed = int_parse::not_integer;
        if (value.IsScalar() && is_plain(value, int_tag)) {
          parsed = parse_int(value.Scalar(), v);
        }
        if (parsed == int_parse::not_integer) {
          return make(errc::type_mismatch, path, line, expected + ", got " + describe(value));
        }
        if (parsed == int_parse::overflow || v < key.min || v > key.max) {
          return make(errc::out_of_range, path, line,
                      expected + ", got " + shorten(value.Scalar()));
        }
        if (auto* p32 = std::get_if<int32_t*>(&f)) {
          **p32 = static_cast<int32_t>(v);
        } else if (auto* p64 = std::get_if<int64_t*>(&f)) {
          **p64 = v;
        } else {
          *std::get<std::optional<int64_t>*>(f) = v;
        }
        return ok();
      }
      case value_kind::string:
      case value_kind::nullable_string: {
        bool nullable = key.kind == value_kind::nullable_string;
        if (nullable && value.IsNull()) {
          *std::get<std::optional<std::string>*>(f) = std::nullopt;
          return ok();
        }
        std::string expected =
            nullable ? "expected null or a non-empty string" : "expected a non-empty string";
        if (!value.IsScalar()) {
          return make(errc::type_mismatch, path, line, expected + ", got " + describe(value));
        }
        if (value.Scalar().empty()) {
          return make(errc::invalid_value, path, line, expected + ", got an empty string");
        }
        if (nullable) {
          *std::get<std::optional<std::string>*>(f) = value.Scalar();
        } else {
          *std::get<std::string*>(f) = value.Scalar();
        }
        return ok();
      }
      case value_kind::string_list: {
        std::string expected = "expected a list of non-empty strings";
        if (key.min > 0) {
          expected += fmt::format(" (at least {})", key.min);
        }
        if (!value.IsSequence()) {
          return make(errc::type_mismatch, path, line, expected + ", got " + describe(value));
        }
        if (static_cast<int64_t>(value.size()) < key.min) {
          return make(errc::out_of_range, path, line, expected + ", got an empty list");
        }
        auto& out = *std::get<std::vector<std::string>*>(f);
        out.clear();
        for (std::size_t i = 0; i < value.size(); ++i) {
          const YAML::Node& v = value[i];
          std::string item_path = fmt::format("{}[{}]", path, i);
          int item_line = line_of(v);
          lines_[item_path] = item_line;
          if (!v.IsScalar()) {
            return make(errc::type_mismatch, item_path, item_line,
                        "expected a non-empty string, got " + describe(v));
          }
          if (v.Scalar().empty()) {
            return make(errc::invalid_value, item_path, item_line,
                        "expected a non-empty string, got an empty string");
          }
          out.push_back(v.Scalar());
        }
        return ok();
      }
      case value_kind::enumeration: {
        std::string expected = "expected one of " + join(key.allowed);
        if (!value.IsScalar()) {
          return make(errc::type_mismatch, path, line, expected + ", got " + describe(value));
        }
        auto v = match_enum(key.allowed, value.Scalar());
        if (!v) {
          return make(errc::invalid_value, path, line, expected + ", got " + describe(value));
        }
        const auto& ref = std::get<detail::enum_ref>(f);
        ref.set(ref.p, *v);
        return ok();
      }
      case value_kind::level_map:
        return parse_level_map(key, value, path, line,
                               *std::get<std::map<std::string, log_level>*>(f));
      case value_kind::object_list:
        return parse_object_list(e, value, schema_path, path, line);
    }
    return ok();
  }

  status parse_level_map(const key_descriptor& key, const YAML::Node& value,
                         const std::string& path, int line, std::map<std::string, log_level>& out) {
    std::vector<std::string> components(key.map_keys.begin(), key.map_keys.end());
    if (!value.IsMap() && !value.IsNull()) {
      return make(errc::type_mismatch, path, line,
                  fmt::format("expected a mapping from component ({}) to level ({}), got {}",
                              join(components, " | "), join(key.allowed), describe(value)));
    }
    out.clear();
    if (value.IsNull()) {
      return ok();
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      int item_line = line_of(it->first);
      if (!it->first.IsScalar()) {
        return make(errc::type_mismatch, path, item_line,
                    "expected a component name, got " + describe(it->first));
      }
      std::string name = it->first.Scalar();
      std::string item_path = path + "." + name;
      if (std::find(components.begin(), components.end(), name) == components.end()) {
        return make(errc::unknown_key, item_path, item_line,
                    "unknown component; expected one of " + join(components, " | "));
      }
      if (out.contains(name)) {
        return make(errc::duplicate_key, item_path, item_line,
                    fmt::format("duplicate key (first at line {})", line_if_set(item_path)));
      }
      lines_[item_path] = item_line;
      std::string expected = "expected a level, one of " + join(key.allowed);
      YAML::Node v = it->second;
      if (!v.IsScalar()) {
        return make(errc::type_mismatch, item_path, item_line, expected + ", got " + describe(v));
      }
      auto level = match_enum(key.allowed, v.Scalar());
      if (!level) {
        return make(errc::invalid_value, item_path, item_line, expected + ", got " + describe(v));
      }
      out.emplace(name, static_cast<log_level>(*level));
    }
    return ok();
  }

  status parse_object_list(const entry& e, const YAML::Node& value, const std::string& schema_path,
                           const std::string& path, int line) {
    const key_descriptor& key = e.key;
    std::string expected = "expected a list of mappings";
    if (key.min > 0) {
      expected += fmt::format(" (at least {})", key.min);
    }
    if (!value.IsSequence()) {
      return make(errc::type_mismatch, path, line, expected + ", got " + describe(value));
    }
    if (static_cast<int64_t>(value.size()) < key.min) {
      return make(errc::out_of_range, path, line, expected + ", got an empty list");
    }
    detail::resize_list(e.field(cfg_, 0), value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
      const YAML::Node& v = value[i];
      std::string item_path = fmt::format("{}[{}]", path, i);
      int item_line = line_of(v);
      lines_[item_path] = item_line;
      if (!v.IsMap()) {
        return make(errc::type_mismatch, item_path, item_line,
                    "expected a mapping, got " + describe(v));
      }
      STROM_TRY(walk_map(v, schema_path + "[].", item_path + ".", i));
      // Required keys of the item.
      std::string item_schema = schema_path + "[].";
      for (const auto& child : detail::entries()) {
        std::string_view p = child.key.path;
        if (child.key.required != requirement::required || !p.starts_with(item_schema)) {
          continue;
        }
        std::string child_path = item_path + "." + std::string(p.substr(item_schema.size()));
        if (!lines_.contains(child_path)) {
          return make(errc::missing_key, child_path, locate(child_path), "required key missing");
        }
      }
    }
    return ok();
  }

  /// Defaults that depend on other keys, and every rule across keys.
  status finish() {
    auto& c = cfg_;
    if (c.mode == mode::production && !lines_.contains("node.id")) {
      return make(errc::missing_key, "node.id", locate("node.id"),
                  "required in production mode (a unique integer in 0 .. 2147483647; "
                  "mode: dev defaults it to 0)");
    }

    for (std::size_t i = 0; i < c.authorization.superusers.size(); ++i) {
      const auto& p = c.authorization.superusers[i];
      auto colon = p.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == p.size()) {
        return make(errc::invalid_value, fmt::format("authorization.superusers[{}]", i),
                    locate("authorization.superusers"),
                    "expected a principal Type:name (User:admin), got " + detail::quote(p));
      }
    }
    for (std::size_t i = 0; i < c.listeners.size(); ++i) {
      auto& l = c.listeners[i];
      std::string p = fmt::format("listeners[{}]", i);
      if (!valid_listener_name(l.name)) {
        return make(
            errc::invalid_value, p + ".name", locate(p + ".name"),
            "expected a name made of letters, digits, '_' and '-', got " + detail::quote(l.name));
      }
      for (std::size_t m = 0; m < l.sasl_mechanisms.size(); ++m) {
        const auto& name = l.sasl_mechanisms[m];
        std::string path = fmt::format("{}.sasl_mechanisms[{}]", p, m);
        if (name != "SCRAM-SHA-256" && name != "SCRAM-SHA-512" && name != "PLAIN") {
          return make(
              errc::invalid_value, path, locate(p + ".sasl_mechanisms"),
              "expected one of SCRAM-SHA-256, SCRAM-SHA-512, PLAIN, got " + detail::quote(name));
        }
        for (std::size_t n = 0; n < m; ++n) {
          if (l.sasl_mechanisms[n] == name) {
            return make(errc::invalid_value, path, locate(p + ".sasl_mechanisms"),
                        "duplicate mechanism " + detail::quote(name));
          }
        }
      }
      bool tls = l.protocol == security_protocol::ssl || l.protocol == security_protocol::sasl_ssl;
      if (tls && (!l.tls.cert_file || !l.tls.key_file)) {
        std::string path = p + (l.tls.cert_file ? ".tls.key_file" : ".tls.cert_file");
        return make(errc::invalid_value, path, locate(p + ".security_protocol"),
                    fmt::format("required by security_protocol {}", to_string(l.protocol)));
      }
      if (tls && l.tls.client_auth != tls_client_auth::none && !l.tls.ca_file) {
        std::string path = p + ".tls.ca_file";
        return make(errc::invalid_value, path, locate(p + ".tls.client_auth"),
                    fmt::format("required by client_auth {}", to_string(l.tls.client_auth)));
      }
      bool host_set = lines_.contains(p + ".advertise.host");
      if (!host_set) {
        l.advertise.host = l.bind.host;
      }
      if (!lines_.contains(p + ".advertise.port")) {
        l.advertise.port = l.bind.port;
      }
      if (is_wildcard(l.advertise.host)) {
        std::string path = p + ".advertise.host";
        return make(errc::invalid_value, path, locate(path),
                    host_set
                        ? fmt::format("expected a host name or address that clients can reach, got "
                                      "the wildcard address {}",
                                      detail::quote(l.advertise.host))
                        : fmt::format("defaults to bind.host {}, a wildcard address that cannot be "
                                      "advertised; set {} to a host name or address that clients "
                                      "can reach",
                                      detail::quote(l.bind.host), path));
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (c.listeners[j].name == l.name) {
          return make(errc::invalid_combination, p + ".name", locate(p + ".name"),
                      fmt::format("duplicate listener name {} (also listeners[{}])",
                                  detail::quote(l.name), j));
        }
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (same_socket(c.listeners[j].bind, l.bind)) {
          return make(
              errc::invalid_combination, p + ".bind", locate(p + ".bind"),
              fmt::format("{}:{} is already bound by listeners[{}] ({}:{})", l.bind.host,
                          l.bind.port, j, c.listeners[j].bind.host, c.listeners[j].bind.port));
        }
      }
    }
    for (std::size_t j = 0; j < c.listeners.size(); ++j) {
      if (same_socket(c.listeners[j].bind, c.admin.bind)) {
        return make(
            errc::invalid_combination, "admin.bind", locate("admin.bind"),
            fmt::format("{}:{} is already bound by listeners[{}] ({}:{})", c.admin.bind.host,
                        c.admin.bind.port, j, c.listeners[j].bind.host, c.listeners[j].bind.port));
      }
    }
    if (const auto& t = c.admin.tls; t.cert_file.has_value() != t.key_file.has_value()) {
      std::string path = t.cert_file ? "admin.tls.key_file" : "admin.tls.cert_file";
      return make(
          errc::invalid_value, path,
          locate(t.cert_file ? "admin.tls.cert_file" : "admin.tls.key_file"),
          t.cert_file ? "required with admin.tls.cert_file" : "required with admin.tls.key_file");
    }
    if (const auto& t = c.admin.tls; t.client_auth != tls_client_auth::none) {
      if (!t.cert_file) {
        return make(errc::invalid_value, "admin.tls.cert_file", locate("admin.tls.client_auth"),
                    fmt::format("required by client_auth {}", to_string(t.client_auth)));
      }
      if (!t.ca_file) {
        return make(errc::invalid_value, "admin.tls.ca_file", locate("admin.tls.client_auth"),
                    fmt::format("required by client_auth {}", to_string(t.client_auth)));
      }
    }
    if (c.inter_broker_listener) {
      bool found = std::any_of(c.listeners.begin(), c.listeners.end(),
                               [&](const auto& l) { return l.name == *c.inter_broker_listener; });
      if (!found) {
        std::vector<std::string> names;
        for (const auto& l : c.listeners) {
          names.push_back(l.name);
        }
        return make(errc::invalid_value, "inter_broker_listener", locate("inter_broker_listener"),
                    fmt::format("expected the name of a listener ({}), got {}", join(names, " | "),
                                detail::quote(*c.inter_broker_listener)));
      }
      for (std::size_t i = 0; i < c.listeners.size(); ++i) {
        const auto& l = c.listeners[i];
        if (l.name != *c.inter_broker_listener || c.listeners.size() < 2)
          continue;
        std::string p = fmt::format("listeners[{}]", i);
        // Brokers authenticate each other by certificate: SASL between brokers is not offered.
        if (l.protocol == security_protocol::sasl_plaintext ||
            l.protocol == security_protocol::sasl_ssl) {
          return make(errc::invalid_value, p + ".security_protocol",
                      locate(p + ".security_protocol"),
                      fmt::format("the inter-broker listener takes PLAINTEXT or SSL (mutual TLS), "
                                  "got {}",
                                  to_string(l.protocol)));
        }
        if (l.protocol == security_protocol::ssl && !l.tls.ca_file) {
          return make(errc::invalid_value, p + ".tls.ca_file", locate(p + ".security_protocol"),
                      "required on the inter-broker listener: brokers verify each other's "
                      "certificates against it");
        }
      }
    }

    for (std::size_t i = 0; i < c.node.data_dirs.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (normal_dir(c.node.data_dirs[i]) == normal_dir(c.node.data_dirs[j])) {
          std::string p = fmt::format("node.data_dirs[{}]", i);
          return make(errc::invalid_combination, p, locate(p),
                      fmt::format("duplicate data directory {} (also node.data_dirs[{}])",
                                  detail::quote(c.node.data_dirs[i]), j));
        }
      }
    }
    for (std::size_t i = 0; i < c.cluster.seeds.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (c.cluster.seeds[i].node_id == c.cluster.seeds[j].node_id) {
          std::string p = fmt::format("cluster.seeds[{}].node_id", i);
          return make(errc::invalid_combination, p, locate(p),
                      fmt::format("duplicate node id {} (also cluster.seeds[{}])",
                                  c.cluster.seeds[i].node_id, j));
        }
      }
    }

    const auto& d = c.cluster_defaults;
    STROM_TRY(check_order("cluster_defaults.topics.default_partitions", d.topics.default_partitions,
                          "cluster_defaults.topics.max_partitions_per_topic",
                          d.topics.max_partitions_per_topic, false));
    STROM_TRY(check_order("cluster_defaults.topics.max_partitions_per_topic",
                          d.topics.max_partitions_per_topic,
                          "cluster_defaults.topics.max_partitions_per_broker",
                          d.topics.max_partitions_per_broker, false));
    STROM_TRY(check_order("cluster_defaults.topics.min_insync_replicas",
                          d.topics.min_insync_replicas,
                          "cluster_defaults.topics.default_replication_factor",
                          d.topics.default_replication_factor, false));
    STROM_TRY(check_order(
        "cluster_defaults.groups.min_session_timeout_ms", d.groups.min_session_timeout_ms,
        "cluster_defaults.groups.max_session_timeout_ms", d.groups.max_session_timeout_ms, false));
    STROM_TRY(check_order("cluster_defaults.replication.heartbeat_interval_ms",
                          d.replication.heartbeat_interval_ms,
                          "cluster_defaults.replication.election_timeout_ms",
                          d.replication.election_timeout_ms, true));
    STROM_TRY(check_order("cluster_defaults.log.message_max_bytes", d.log.message_max_bytes,
                          "network.socket_request_max_bytes", c.network.socket_request_max_bytes,
                          false));
    return ok();
  }

  /// Checks a <= b (strict: a < b). Reports the key of the two written last in the file.
  status check_order(const std::string& a_path, int64_t a, const std::string& b_path, int64_t b,
                     bool strict) {
    if (strict ? a < b : a <= b) {
      return ok();
    }
    if (line_if_set(b_path) > line_if_set(a_path)) {
      return make(errc::invalid_combination, b_path, locate(b_path),
                  fmt::format("must be {} {} ({} {} {})", strict ? "greater than" : "at least",
                              a_path, b, strict ? "<=" : "<", a));
    }
    return make(errc::invalid_combination, a_path, locate(a_path),
                fmt::format("must be {} {} ({} {} {})", strict ? "less than" : "at most", b_path, a,
                            strict ? ">=" : ">", b));
  }

  std::string source_;
  broker_config cfg_;
  /// Line (1-based) of every key, section and list item read, by path with list indexes.
  std::map<std::string, int> lines_;
};

}  // namespace

namespace {
result<broker_config> load_with(std::string_view yaml, std::string_view source_name,
                                const std::vector<override_value>& overrides);
}

result<broker_config> load_string(std::string_view yaml, std::string_view source_name) {
  return load_with(yaml, source_name, {});
}

result<std::vector<override_value>> environment_overrides(const char* const* env) {
  std::vector<override_value> out;
  for (; env && *env; ++env) {
    std::string_view entry(*env);
    if (!entry.starts_with("STROM_"))
      continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos)
      continue;
    auto name = entry.substr(0, eq);
    std::string path;
    for (size_t i = 6; i < name.size(); ++i) {
      if (name[i] == '_' && i + 1 < name.size() && name[i + 1] == '_') {
        path += '.';
        ++i;
      } else {
        path += static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
      }
    }
    const auto* key = find_key(path);
    if (!key || path.find("[]") != std::string::npos) {
      if (name.find("__") != std::string_view::npos) {
        return strom::error(
            errc::unknown_key,
            fmt::format("environment {}: {} is not a configuration key", name, path));
      }
      continue;  // e.g. STROM_BROKERS, read by stromctl
    }
    out.push_back({path, std::string(entry.substr(eq + 1)), fmt::format("environment {}", name)});
  }
  return out;
}

result<broker_config> load_file(const std::filesystem::path& path) {
  return load_file(path, {});
}

namespace {

/// Sets `path` (dotted) in a YAML mapping tree to `value` parsed as YAML.
status apply_override(YAML::Node root, const override_value& o) {
  YAML::Node value;
  try {
    value = YAML::Load(o.value);
  } catch (const YAML::Exception& e) {
    return strom::error(errc::syntax_error, fmt::format("{}: {}", o.origin, e.msg));
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto dot = o.path.find('.', start);
    parts.push_back(o.path.substr(start, dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto child = chain.back()[parts[i]];
    if (child.IsDefined() && !child.IsNull() && !child.IsMap()) {
      return strom::error(errc::type_mismatch,
                          fmt::format("{}: {} is not a section", o.origin, parts[i]));
    }
    chain.push_back(child);
  }
  chain.back()[parts.back()] = value;
  return ok();
}

result<broker_config> load_with(std::string_view yaml, std::string_view source_name,
                                const std::vector<override_value>& overrides) {
  std::string source(source_name);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return strom::error(errc::syntax_error, fmt::format("{}: {}", source, e.msg));
    }
    return strom::error(errc::syntax_error, fmt::format("{}:{}:{}: {}", source, e.mark.line + 1,
                                                        e.mark.column + 1, e.msg));
  }
  if (docs.size() > 1) {
    auto mark = docs[1].Mark();
    return strom::error(errc::syntax_error,
                        fmt::format("{}:{}: expected one YAML document, found {}", source,
                                    mark.is_null() ? 0 : mark.line + 1, docs.size()));
  }
  if (!overrides.empty()) {
    if (docs.empty() || docs.front().IsNull())
      docs.assign(1, YAML::Node(YAML::NodeType::Map));
    if (!docs.front().IsMap())
      return strom::error(errc::type_mismatch, fmt::format("{}: expected a mapping", source));
    for (const auto& o : overrides)
      STROM_TRY(apply_override(docs.front(), o));
  }
  try {
    return loader(source).run(docs.empty() ? YAML::Node() : docs.front());
  } catch (const YAML::Exception& e) {
    return strom::error(errc::syntax_error, fmt::format("{}: {}", source, e.what()));
  }
}

}  // namespace

result<broker_config> load_file(const std::filesystem::path& path,
                                const std::vector<override_value>& overrides) {
  namespace fs = std::filesystem;
  std::string name = path.string();
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    return strom::error(errc::file_not_found, fmt::format("{}: no such file", name));
  }
  if (ec) {
    return strom::error(errc::io_error, fmt::format("{}: {}", name, ec.message()));
  }
  if (fs::is_directory(st)) {
    return strom::error(errc::io_error,
                        fmt::format("{}: is a directory, expected a YAML file", name));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return strom::error(errc::io_error,
                        fmt::format("{}: cannot open: {}", name, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return strom::error(errc::io_error,
                        fmt::format("{}: read failed: {}", name, std::strerror(errno)));
  }
  return load_with(text.str(), name, overrides);
}

}  // namespace strom::config
