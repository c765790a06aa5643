#include "ctl/properties.h"

#include <fmt/format.h>

#include <cstdint>

#include "ctl/json.h"
#include "ctl/text.h"

namespace strom::ctl {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

/// The physical lines of `text`; "\r\n", "\n" and "\r" each end one.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r')
      continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
      ++i;
    start = i + 1;
  }
  if (start < text.size())
    lines.push_back(text.substr(start));
  return lines;
}

std::string_view skip_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front()))
    s.remove_prefix(1);
  return s;
}

/// Whether `line` ends in an odd number of backslashes: the last one joins the next line.
bool continues(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\')
    ++n;
  return n % 2 == 1;
}

/// The four hex digits of a \u escape at `s` (after the 'u'), or nullopt.
std::optional<uint32_t> hex4(std::string_view s) {
  if (s.size() < 4)
    return std::nullopt;
  uint32_t v = 0;
  for (char c : s.substr(0, 4)) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0)
      return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return v;
}

/// Decodes the escapes of a key or value. With `trim_end`, whitespace at the end that is not
/// escaped is dropped.
result<std::string> unescape(std::string_view raw, bool trim_end) {
  std::string out;
  size_t kept = 0;  // the length up to the last character that is not plain whitespace
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      if (!is_blank(c))
        kept = out.size();
      continue;
    }
    if (++i == raw.size())  // a lone backslash at the very end: nothing to escape
      break;
    c = raw[i];
    switch (c) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        auto cp = hex4(raw.substr(i + 1));
        if (!cp)
          return invalid("a \\u escape needs four hex digits");
        i += 4;
        if (*cp >= 0xd800 && *cp <= 0xdbff) {  // a surrogate pair: the low half must follow
          auto low = raw.substr(i + 1).starts_with("\\u") ? hex4(raw.substr(i + 3)) : std::nullopt;
          if (!low || *low < 0xdc00 || *low > 0xdfff)
            return invalid("a \\u escape of a high surrogate without its low surrogate");
          cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
          i += 6;
        } else if (*cp >= 0xdc00 && *cp <= 0xdfff) {
          return invalid("a \\u escape of a lone low surrogate");
        }
        append_utf8(out, *cp);
        break;
      }
      default:  // \=, \:, \ , \#, \!, \\ and any other character stand for themselves
        out += c;
    }
    kept = out.size();
  }
  if (trim_end)
    out.resize(kept);
  return out;
}

}  // namespace

result<client_properties> parse_properties(std::string_view text) {
  if (text.starts_with("\xef\xbb\xbf"))  // a UTF-8 byte order mark some editors write
    text.remove_prefix(3);
  auto lines = split_lines(text);
  client_properties out;
  for (size_t n = 0; n < lines.size(); ++n) {
    size_t first = n + 1;  // 1-based number of the line the setting starts on
    auto head = skip_blanks(lines[n]);
    if (head.empty() || head.front() == '#' || head.front() == '!')
      continue;
    std::string line(head);
    while (continues(line) && n + 1 < lines.size()) {
      line.pop_back();
      line += skip_blanks(lines[++n]);
    }
    if (continues(line))  // the last line of the file: nothing follows
      line.pop_back();

    // The key ends at the first '=', ':' or whitespace that is not escaped.
    size_t i = 0;
    while (i < line.size() && line[i] != '=' && line[i] != ':' && !is_blank(line[i]))
      i += line[i] == '\\' ? 2 : 1;
    i = std::min(i, line.size());
    std::string_view raw_key = std::string_view(line).substr(0, i);
    std::string_view rest = skip_blanks(std::string_view(line).substr(i));
    bool explicit_separator = !rest.empty() && (rest.front() == '=' || rest.front() == ':');
    if (explicit_separator)
      rest = skip_blanks(rest.substr(1));
    if (raw_key.empty())
      return invalid(fmt::format("line {}: a value without a key", first));
    auto key = unescape(raw_key, false);
    if (!key)
      return invalid(fmt::format("line {}: {}", first, key.error().detail()));
    // Java reads a lone key as an empty value; here it is more likely a mistake (an empty
    // value is still written "key=").
    if (rest.empty() && !explicit_separator)
      return invalid(fmt::format("line {}: '{}' has no value (write {}=VALUE)", first, *key, *key));
    auto value = unescape(rest, true);
    if (!value)
      return invalid(fmt::format("line {}: {}: {}", first, *key, value.error().detail()));
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::optional<std::string> property(const client_properties& props, std::string_view key) {
  for (auto it = props.rbegin(); it != props.rend(); ++it) {
    if (it->first == key)
      return it->second;
  }
  return std::nullopt;
}

bool is_secret_property(std::string_view key) {
  // ssl.key.pem holds a private key itself; sasl.oauthbearer.config may hold a client secret.
  for (std::string_view word :
       {"password", "secret", "passphrase", "key.pem", "oauthbearer.config"}) {
    if (key.find(word) != std::string_view::npos)
      return true;
  }
  return false;
}

std::string describe_property(std::string_view key, std::string_view value) {
  return is_secret_property(key) ? fmt::format("{}=(hidden)", key)
                                 : fmt::format("{}={}", key, value);
}

}  // namespace strom::ctl
