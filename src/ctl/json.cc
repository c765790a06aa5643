#include "ctl/json.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace strom::ctl {

json& json::push(json v) {
  if (!is_array())
    v_ = array{};
  auto& a = std::get<array>(v_);
  a.push_back(std::move(v));
  return a.back();
}

json& json::set(std::string_view key, json v) {
  if (!is_object())
    v_ = object{};
  auto& o = std::get<object>(v_);
  for (auto& [k, val] : o) {
    if (k == key) {
      val = std::move(v);
      return val;
    }
  }
  o.emplace_back(std::string(key), std::move(v));
  return o.back().second;
}

const json* json::find(std::string_view key) const {
  if (!is_object())
    return nullptr;
  for (const auto& [k, val] : as_object()) {
    if (k == key)
      return &val;
  }
  return nullptr;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

void json::dump_to(std::string& out) const {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out += "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out += fmt::format("{}", v);
        } else if constexpr (std::is_same_v<T, double>) {
          out += std::isfinite(v) ? fmt::format("{}", v) : "null";
        } else if constexpr (std::is_same_v<T, std::string>) {
          append_json_string(out, v);
        } else if constexpr (std::is_same_v<T, array>) {
          out += '[';
          for (size_t i = 0; i < v.size(); ++i) {
            if (i)
              out += ',';
            v[i].dump_to(out);
          }
          out += ']';
        } else {
          out += '{';
          for (size_t i = 0; i < v.size(); ++i) {
            if (i)
              out += ',';
            append_json_string(out, v[i].first);
            out += ':';
            v[i].second.dump_to(out);
          }
          out += '}';
        }
      },
      v_);
}

std::string json::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

std::string json::to_text() const {
  if (is_string())
    return as_string();
  if (is_null())
    return "-";
  return dump();
}

namespace {

class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  std::optional<json> document() {
    auto v = value(0);
    skip_ws();
    if (v && pos_ != s_.size())
      return fail("trailing characters");
    return v;
  }

  std::string error;

 private:
  static constexpr int max_depth = 64;

  std::nullopt_t fail(std::string_view what) {
    if (error.empty())
      error = fmt::format("{} at offset {}", what, pos_);
    return std::nullopt;
  }

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word)
      return false;
    pos_ += word.size();
    return true;
  }

  std::optional<json> value(int depth) {
    if (depth > max_depth)
      return fail("nested too deeply");
    skip_ws();
    if (pos_ >= s_.size())
      return fail("unexpected end");
    char c = s_[pos_];
    if (c == '{')
      return object(depth);
    if (c == '[')
      return array(depth);
    if (c == '"') {
      auto str = string();
      if (!str)
        return std::nullopt;
      return json(std::move(*str));
    }
    if (literal("true"))
      return json(true);
    if (literal("false"))
      return json(false);
    if (literal("null"))
      return json(nullptr);
    return number();
  }

  std::optional<json> object(int depth) {
    ++pos_;
    json out = json::make_object();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return out;
    }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"')
        return fail("expected a member name");
      auto key = string();
      if (!key)
        return std::nullopt;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':')
        return fail("expected ':'");
      ++pos_;
      auto v = value(depth + 1);
      if (!v)
        return std::nullopt;
      out.set(*key, std::move(*v));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return out;
      }
      return fail("expected ',' or '}'");
    }
  }

  std::optional<json> array(int depth) {
    ++pos_;
    json out = json::make_array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return out;
    }
    while (true) {
      auto v = value(depth + 1);
      if (!v)
        return std::nullopt;
      out.push(std::move(*v));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return out;
      }
      return fail("expected ',' or ']'");
    }
  }

  std::optional<uint32_t> hex4() {
    if (pos_ + 4 > s_.size())
      return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string() {
    ++pos_;
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size())
        break;
      char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          auto cp = hex4();
          if (!cp)
            return fail("bad \\u escape");
          if (*cp >= 0xd800 && *cp <= 0xdbff && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            auto lo = hex4();
            if (!lo || *lo < 0xdc00 || *lo > 0xdfff)
              return fail("bad surrogate pair");
            *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*lo - 0xdc00);
          } else if (*cp >= 0xd800 && *cp <= 0xdfff) {
            *cp = 0xfffd;
          }
          append_utf8(out, *cp);
          break;
        }
        default:
          return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  std::optional<json> number() {
    size_t start = pos_;
    bool integral = true;
    if (pos_ < s_.size() && s_[pos_] == '-')
      ++pos_;
    size_t digits = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
      ++pos_;
    if (pos_ == digits)
      return fail("unexpected character");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
        ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-'))
        ++pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
        ++pos_;
    }
    std::string text(s_.substr(start, pos_ - start));
    errno = 0;
    if (integral) {
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0 && end == text.c_str() + text.size())
        return json(static_cast<int64_t>(v));
    }
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size())
      return fail("bad number");
    return json(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<json> json::parse(std::string_view text, std::string* error) {
  parser p(text);
  auto v = p.document();
  if (!v && error)
    *error = p.error;
  return v;
}

}  // namespace strom::ctl
