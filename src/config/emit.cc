// to_yaml(): the effective configuration, written along the schema.

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/binding.h"
#include "strom/config/loader.h"

namespace strom::config {
namespace {

constexpr std::size_t comment_column = 48;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(pos + 1);
  }
}

void add_line(std::string& out, std::size_t indent, std::string_view text,
              std::string_view comment = {}) {
  std::string line(indent, ' ');
  line += text;
  if (!comment.empty()) {
    line.resize(std::max(line.size() + 2, comment_column), ' ');
    line += "# ";
    line += comment;
  }
  out += line;
  out += '\n';
}

/// Writes the keys under `schema_prefix` ("" or "listeners[]."), of list item `item`.
void emit(std::string& out, broker_config& c, std::string_view schema_prefix, std::size_t item,
          std::size_t indent) {
  std::vector<std::string_view> open;  // open sections below schema_prefix
  bool first = true;
  for (const auto& e : detail::entries()) {
    std::string_view path = e.key.path;
    if (!path.starts_with(schema_prefix)) {
      continue;
    }
    auto rest = path.substr(schema_prefix.size());
    if (rest.find("[]") != std::string_view::npos) {
      continue;  // written with its list
    }
    auto parts = split(rest, '.');
    std::size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) {
      ++common;
    }
    open.resize(common);
    bool new_top_level = common == 0 && (parts.size() > 1 || open.empty());
    if (schema_prefix.empty() && new_top_level && !first) {
      out += '\n';
    }
    first = false;
    for (std::size_t d = common; d + 1 < parts.size(); ++d) {
      add_line(out, indent + 2 * d, std::string(parts[d]) + ":");
      open.push_back(parts[d]);
    }

    std::size_t key_indent = indent + 2 * (parts.size() - 1);
    std::string name(parts.back());
    // Items after the first repeat the first one's comments; leave them out.
    std::string_view comment = item == 0 ? e.key.kafka_name : std::string_view();
    detail::field_ref f = e.field(c, item);
    switch (e.key.kind) {
      case value_kind::object_list: {
        std::size_t n = detail::list_size(f);
        if (n == 0) {
          add_line(out, key_indent, name + ": []", comment);
          break;
        }
        add_line(out, key_indent, name + ":", comment);
        for (std::size_t i = 0; i < n; ++i) {
          std::string block;
          emit(block, c, std::string(path) + "[].", i, key_indent + 4);
          block.replace(key_indent + 2, 2, "- ");
          out += block;
        }
        break;
      }
      case value_kind::level_map: {
        const auto& levels = *std::get<std::map<std::string, log_level>*>(f);
        if (levels.empty()) {
          add_line(out, key_indent, name + ": {}", comment);
          break;
        }
        add_line(out, key_indent, name + ":", comment);
        for (const auto& [component, level] : levels) {
          add_line(out, key_indent + 2,
                   fmt::format("{}: {}", component,
                               detail::enum_name(e.key.allowed, static_cast<int>(level))));
        }
        break;
      }
      default:
        add_line(out, key_indent, name + ": " + detail::format_value(e.key, f), comment);
    }
  }
}

}  // namespace

std::string to_yaml(const broker_config& c) {
  std::string out =
      "# Strom broker configuration: the effective values of every key, defaults included.\n"
      "# Comments give the Kafka name of each key (docs/configuration.md has the reference).\n";
  broker_config copy = c;
  emit(out, copy, "", 0, 0);
  return out;
}

}  // namespace strom::config
