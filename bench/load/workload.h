#pragma once

// Workload files: one `key: value` (or `key = value`) per line, `#` starts a comment, blank
// lines are ignored, values may be quoted. Keys are strom-bench's long option names. This is
// deliberately not YAML: no nesting, no lists, nothing to learn.
//
//   # 1 topic, 100 partitions, 1 KiB, 4 producers, 4 consumers, 50k msgs/s
//   mode: e2e
//   partitions: 100
//   message-size: 1024

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace strom::bench {

struct workload_entry {
  std::string key;
  std::string value;
  int line = 0;
};

namespace detail {
inline std::string trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])) != 0) {
    ++b;
  }
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])) != 0) {
    --e;
  }
  return s.substr(b, e - b);
}
}  // namespace detail

/// Parses workload text. Throws std::runtime_error naming `origin` and the line on a line
/// without a separator, an empty or malformed key, an unterminated quote or a repeated key.
inline std::vector<workload_entry> parse_workload(const std::string& text,
                                                  const std::string& origin = "workload") {
  std::vector<workload_entry> out;
  std::istringstream in(text);
  std::string raw;
  int n = 0;
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(origin + ":" + std::to_string(n) + ": " + what);
  };
  while (std::getline(in, raw)) {
    ++n;
    std::string line = detail::trim(raw);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    size_t sep = line.find_first_of(":=");
    if (sep == std::string::npos) {
      fail("expected 'key: value'");
    }
    std::string key = detail::trim(line.substr(0, sep));
    std::string value = detail::trim(line.substr(sep + 1));
    if (key.empty()) {
      fail("empty key");
    }
    for (char c : key) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
        fail("bad key '" + key + "'");
      }
    }
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      size_t close = value.find(value[0], 1);
      if (close == std::string::npos) {
        fail("unterminated quote");
      }
      std::string rest = detail::trim(value.substr(close + 1));
      if (!rest.empty() && rest[0] != '#') {
        fail("text after the quoted value");
      }
      value = value.substr(1, close - 1);
    } else if (size_t hash = value.find(" #"); hash != std::string::npos) {
      value = detail::trim(value.substr(0, hash));
    }
    for (char& c : key) {
      if (c == '_') {
        c = '-';
      }
    }
    for (const auto& e : out) {
      if (e.key == key) {
        fail("'" + key + "' repeated (first on line " + std::to_string(e.line) + ")");
      }
    }
    out.push_back({std::move(key), std::move(value), n});
  }
  return out;
}

/// Reads and parses a workload file; throws std::runtime_error when it cannot be read.
inline std::vector<workload_entry> load_workload(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    throw std::runtime_error(path + ": cannot open");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_workload(ss.str(), path);
}

}  // namespace strom::bench
