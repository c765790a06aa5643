#include "ctl/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <system_error>

namespace strom::ctl {

table::table(std::vector<std::string> headers) : headers_(std::move(headers)) {
  for (auto& h : headers_) {
    for (auto& c : h)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
}

void table::add(std::vector<std::string> row) {
  row.resize(std::max(row.size(), headers_.size()), "-");
  rows_.push_back(std::move(row));
}

std::string table::render() const {
  std::vector<size_t> width(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < width.size() && i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(headers_);
  for (const auto& r : rows_)
    measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t i = 0; i < width.size(); ++i) {
      l += row[i];
      if (i + 1 < width.size())
        l.append(width[i] - row[i].size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ')
      l.pop_back();
    out += l;
    out += '\n';
  };
  line(headers_);
  for (const auto& r : rows_)
    line(r);
  return out;
}

std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& f : fields)
    width = std::max(width, f.first.size());
  std::string out;
  for (const auto& [label, value] : fields) {
    out += label;
    if (!value.empty()) {
      out.append(width - label.size() + 2, ' ');
      out += value;
    }
    out += '\n';
  }
  return out;
}

strom::error invalid(std::string message) {
  return strom::error(std::make_error_code(std::errc::invalid_argument), std::move(message));
}

namespace {

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  if (s.empty())
    return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads exactly n digits at s[i...].
std::optional<int> digits(std::string_view s, size_t& i, size_t n) {
  if (i + n > s.size())
    return std::nullopt;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  i += n;
  return v;
}

std::optional<int64_t> parse_iso8601(std::string_view s) {
  size_t i = 0;
  auto y = digits(s, i, 4);
  if (!y || i >= s.size() || s[i++] != '-')
    return std::nullopt;
  auto mo = digits(s, i, 2);
  if (!mo || i >= s.size() || s[i++] != '-')
    return std::nullopt;
  auto d = digits(s, i, 2);
  if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31)
    return std::nullopt;
  int hh = 0, mm = 0, ss = 0, ms = 0, offset_min = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    ++i;
    auto h = digits(s, i, 2);
    if (!h || i >= s.size() || s[i++] != ':')
      return std::nullopt;
    auto mi = digits(s, i, 2);
    if (!mi)
      return std::nullopt;
    hh = *h;
    mm = *mi;
    if (i < s.size() && s[i] == ':') {
      ++i;
      auto se = digits(s, i, 2);
      if (!se)
        return std::nullopt;
      ss = *se;
      if (i < s.size() && s[i] == '.') {
        ++i;
        int scale = 100;
        size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          ms += (s[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
        if (i == start)
          return std::nullopt;
      }
    }
    if (hh > 23 || mm > 59 || ss > 60)
      return std::nullopt;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
      ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i++] == '-' ? -1 : 1;
      auto oh = digits(s, i, 2);
      if (!oh)
        return std::nullopt;
      if (i < s.size() && s[i] == ':')
        ++i;
      auto om = digits(s, i, 2);
      if (!om)
        return std::nullopt;
      offset_min = sign * (*oh * 60 + *om);
    }
  }
  if (i != s.size())
    return std::nullopt;
  int64_t days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset_min * 60;
  return secs * 1000 + ms;
}

}  // namespace

result<int64_t> parse_duration_ms(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    ++i;
  auto n = to_int(text.substr(0, i));
  if (!n)
    return invalid(fmt::format("'{}' is not a duration (e.g. 500ms, 10s, 5m, 2h, 1d)", text));
  auto unit = text.substr(i);
  int64_t mult = 0;
  if (unit.empty() || unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  else if (unit == "d")
    mult = 86'400'000;
  else
    return invalid(fmt::format("'{}' has an unknown unit '{}' (use ms, s, m, h or d)", text, unit));
  if (*n > INT64_MAX / mult)
    return invalid(fmt::format("'{}' is too long a duration", text));
  return *n * mult;
}

result<int64_t> parse_timestamp(std::string_view text, int64_t now_ms) {
  if (text.empty())
    return invalid("an empty timestamp");
  if (text[0] == '-') {
    auto d = parse_duration_ms(text.substr(1));
    if (!d || text.size() == 1 || !(text.back() < '0' || text.back() > '9'))
      return invalid(fmt::format("'{}' is not a relative time (e.g. -15m, -2h, -1d)", text));
    return now_ms - *d;
  }
  if (auto n = to_int(text))
    return *n;
  if (auto t = parse_iso8601(text))
    return *t;
  return invalid(fmt::format(
      "'{}' is not a timestamp (milliseconds, 2026-01-02T03:04:05Z, or -15m relative to now)",
      text));
}

result<position> parse_position(std::string_view text, int64_t now_ms) {
  auto l = lower(text);
  if (l == "beginning" || l == "start" || l == "earliest" || l == "oldest")
    return position{position::kind::beginning, 0};
  if (l == "end" || l == "latest" || l == "newest")
    return position{position::kind::end, 0};
  if (!text.empty() && text[0] == '@') {
    auto t = parse_timestamp(text.substr(1), now_ms);
    if (!t)
      return t.error();
    return position{position::kind::timestamp, *t};
  }
  if (!text.empty() && text[0] == '-') {
    auto n = to_int(text.substr(1));
    if (n && *n >= 0)
      return position{position::kind::from_end, *n};
  } else if (auto n = to_int(text); n && *n >= 0) {
    return position{position::kind::offset, *n};
  }
  return invalid(fmt::format(
      "'{}' is not a position: use beginning, end, an offset N, -N (N before the end) or @TIME",
      text));
}

result<std::pair<std::string, std::string>> parse_key_value(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return invalid(fmt::format("'{}' is not key=value", text));
  return std::pair{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

result<std::vector<host_port>> parse_brokers(std::string_view text) {
  std::vector<host_port> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.empty())
      continue;
    host_port hp;
    std::string_view port;
    if (item.front() == '[') {
      auto close = item.find(']');
      if (close == std::string_view::npos)
        return invalid(fmt::format("'{}' is not host:port", item));
      hp.host = std::string(item.substr(1, close - 1));
      auto rest = item.substr(close + 1);
      if (!rest.empty()) {
        if (rest[0] != ':')
          return invalid(fmt::format("'{}' is not host:port", item));
        port = rest.substr(1);
      }
    } else {
      auto colon = item.rfind(':');
      if (colon != std::string_view::npos && item.find(':') == colon) {
        hp.host = std::string(item.substr(0, colon));
        port = item.substr(colon + 1);
      } else {
        hp.host = std::string(item);
      }
    }
    if (hp.host.empty())
      return invalid(fmt::format("'{}' has no host", item));
    hp.port = 9092;
    if (!port.empty() || (item.back() == ':')) {
      auto p = to_int(port);
      if (!p || *p < 1 || *p > 65535)
        return invalid(fmt::format("'{}' has a bad port", item));
      hp.port = static_cast<uint16_t>(*p);
    }
    out.push_back(std::move(hp));
  }
  if (out.empty())
    return invalid("no broker address given");
  return out;
}

result<std::string> check_template(std::string_view tmpl) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c == '\\' && i + 1 < tmpl.size()) {
      char e = tmpl[++i];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
          out += '\\';
          break;
        default:
          out += '\\';
          out += e;
      }
      continue;
    }
    if (c == '%') {
      if (i + 1 >= tmpl.size())
        return invalid("the output template ends with a lone '%'");
      char d = tmpl[i + 1];
      if (std::string_view("tpoTksKSh%").find(d) == std::string_view::npos)
        return invalid(fmt::format(
            "unknown directive '%{}' in the output template (known: %t %p %o %T %k %s %K %S %h %%)",
            d));
      out += c;
      out += d;
      ++i;
      continue;
    }
    out += c;
  }
  return out;
}

void render_template(std::string& out, std::string_view tmpl, const record_view& r) {
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c != '%' || i + 1 >= tmpl.size()) {
      out += c;
      continue;
    }
    switch (tmpl[++i]) {
      case 't':
        out += r.topic;
        break;
      case 'p':
        out += fmt::format("{}", r.partition);
        break;
      case 'o':
        out += fmt::format("{}", r.offset);
        break;
      case 'T':
        out += fmt::format("{}", r.timestamp_ms);
        break;
      case 'k':
        if (r.key)
          out += *r.key;
        break;
      case 's':
        if (r.value)
          out += *r.value;
        break;
      case 'K':
        out += fmt::format("{}", r.key ? static_cast<int64_t>(r.key->size()) : -1);
        break;
      case 'S':
        out += fmt::format("{}", r.value ? static_cast<int64_t>(r.value->size()) : -1);
        break;
      case 'h':
        for (size_t h = 0; h < r.headers.size(); ++h) {
          if (h)
            out += ',';
          out += r.headers[h].first;
          out += '=';
          if (r.headers[h].second)
            out += *r.headers[h].second;
        }
        break;
      default:
        out += tmpl[i];  // %%
    }
  }
}

std::string format_timestamp(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms - secs * 1000);
}

}  // namespace strom::ctl
