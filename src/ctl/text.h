// Pure text helpers of stromctl: aligned tables, and parsing of the values operators type
// (start positions, timestamps, durations, key=value pairs, broker lists) and of the consume
// output template. Nothing here talks to a broker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strom/base/result.h"

namespace strom::ctl {

/// Columns separated by at least two spaces, headers upper-cased; the last column is not
/// padded. Rows shorter than the header are padded with "-".
class table {
 public:
  explicit table(std::vector<std::string> headers);
  void add(std::vector<std::string> row);
  [[nodiscard]] bool empty() const { return rows_.empty(); }
  [[nodiscard]] std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

/// "LABEL   value" lines, the values aligned after the longest label plus two spaces.
std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields);

/// `error` with std::errc::invalid_argument and the given one-line message.
strom::error invalid(std::string message);

/// Where to start reading a partition, or where to move a group's offsets.
struct position {
  enum class kind { beginning, end, offset, from_end, timestamp };
  kind k = kind::beginning;
  int64_t value = 0;  // offset, count back from the end, or timestamp in ms
  friend bool operator==(const position&, const position&) = default;
};

/// "beginning" (also start, earliest, oldest), "end" (latest, newest), "N" (an offset),
/// "-N" (N records before the end) or "@TIME" (the first record at or after TIME, see
/// parse_timestamp).
result<position> parse_position(std::string_view text, int64_t now_ms);

/// Milliseconds since the epoch from "1700000000000" (ms), an ISO 8601 date or time
/// ("2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02 03:04:05.250+01:00"; UTC when no zone is
/// given) or a time relative to now ("-15m", "-2h", "-1d").
result<int64_t> parse_timestamp(std::string_view text, int64_t now_ms);

/// "250ms", "10s", "5m", "2h", "1d", or a plain number of milliseconds.
result<int64_t> parse_duration_ms(std::string_view text);

/// "key=value" (the value may be empty or contain '=').
result<std::pair<std::string, std::string>> parse_key_value(std::string_view text);

struct host_port {
  std::string host;
  uint16_t port = 0;
  friend bool operator==(const host_port&, const host_port&) = default;
};

/// "host:port,host2,[::1]:9093"; a missing port is 9092.
result<std::vector<host_port>> parse_brokers(std::string_view text);

/// One consumed record, as the output template sees it.
struct record_view {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  std::optional<std::string_view> key;    // nullopt: a null key
  std::optional<std::string_view> value;  // nullopt: a null value (tombstone)
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
};

/// kcat-style template: %t topic, %p partition, %o offset, %T timestamp (ms), %k key, %s value,
/// %K key length, %S value length (-1 when null), %h headers (k=v,k=v), %% a percent sign;
/// \n, \t, \r and \\ escapes. Returns an error naming an unknown directive.
result<std::string> check_template(std::string_view tmpl);
void render_template(std::string& out, std::string_view tmpl, const record_view& r);

/// ISO 8601 UTC with milliseconds, e.g. 2026-01-02T03:04:05.250Z.
std::string format_timestamp(int64_t ms);

}  // namespace strom::ctl
