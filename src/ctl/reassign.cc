#include "ctl/reassign.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include "ctl/text.h"

namespace strom::ctl {

namespace {

/// A whole decimal number from 0 to INT32_MAX.
std::optional<int32_t> to_id(std::string_view s) {
  int32_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || out < 0)
    return std::nullopt;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

}  // namespace

result<std::pair<std::string, int32_t>> parse_topic_partition(std::string_view text) {
  auto slash = text.rfind('/');
  if (slash == std::string_view::npos || slash == 0) {
    return invalid(
        fmt::format("'{}' is not TOPIC/PARTITION (a topic name, '/', a partition number)", text));
  }
  auto p = to_id(text.substr(slash + 1));
  if (!p) {
    return invalid(
        fmt::format("'{}': the partition must be a whole number from 0 to {}", text, INT32_MAX));
  }
  return std::pair{std::string(text.substr(0, slash)), *p};
}

result<int32_t> parse_broker_id(std::string_view text) {
  auto id = to_id(text);
  if (!id) {
    return invalid(
        fmt::format("'{}' is not a broker id (a whole number from 0 to {})", text, INT32_MAX));
  }
  return *id;
}

result<partition_selector> parse_partition_selector(std::string_view text) {
  if (text.empty())
    return invalid("no topic given: name it as TOPIC or TOPIC/PARTITION");
  if (text.find('/') == std::string_view::npos)
    return partition_selector{std::string(text), std::nullopt};
  auto tp = parse_topic_partition(text);
  if (!tp)
    return tp.error();
  return partition_selector{std::move(tp->first), tp->second};
}

result<std::vector<topic_partitions>> expand_partition_selectors(
    const std::vector<partition_selector>& selectors,
    const std::map<std::string, int32_t>& partition_counts) {
  std::vector<topic_partitions> out;
  auto add = [&out](const std::string& topic, int32_t partition) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&topic](const topic_partitions& t) { return t.topic == topic; });
    if (it == out.end()) {
      it = out.emplace(out.end());
      it->topic = topic;
    }
    if (std::find(it->partitions.begin(), it->partitions.end(), partition) == it->partitions.end())
      it->partitions.push_back(partition);
  };
  for (const auto& s : selectors) {
    if (s.partition) {
      add(s.topic, *s.partition);
      continue;
    }
    auto count = partition_counts.find(s.topic);
    if (count == partition_counts.end())
      return invalid(fmt::format("topic {} does not exist", s.topic));
    for (int32_t p = 0; p < count->second; ++p)
      add(s.topic, p);
  }
  return out;
}

std::string election_result_text(const election_outcome& o) {
  if (o.error_code == 0)
    return "elected";
  if (o.error_code == election_outcome::election_not_needed)
    return "not needed";
  return o.message.empty() ? o.error_name : fmt::format("{}: {}", o.error_name, o.message);
}

result<std::vector<int32_t>> parse_replica_list(std::string_view text) {
  std::vector<int32_t> out;
  if (trim(text).empty())
    return invalid("no broker id given: list them as 1,2,3");
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item =
        trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    auto id = to_id(item);
    if (!id) {
      return invalid(fmt::format("'{}' in '{}' is not a broker id (a whole number from 0 to {})",
                                 item, text, INT32_MAX));
    }
    if (std::find(out.begin(), out.end(), *id) != out.end())
      return invalid(fmt::format("broker {} is named twice in '{}'", *id, text));
    out.push_back(*id);
  }
  return out;
}

std::string format_replica_list(const std::vector<int32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i)
      out += ',';
    out += std::to_string(ids[i]);
  }
  return out.empty() ? "-" : out;
}

result<std::vector<partition_replicas>> replicas_for_factor(
    const std::vector<partition_replicas>& current, const std::vector<int32_t>& live_brokers,
    int32_t replication_factor) {
  if (replication_factor < 1) {
    return invalid(
        fmt::format("the replication factor must be at least 1, not {}", replication_factor));
  }
  auto rf = static_cast<size_t>(replication_factor);
  // Replicas of the topic on each live broker, kept up to date as lists change.
  std::map<int32_t, int64_t> held;
  for (auto b : live_brokers)
    held.emplace(b, 0);
  auto count = [&held](int32_t broker, int64_t delta) {
    if (auto it = held.find(broker); it != held.end())
      it->second += delta;
  };
  for (const auto& p : current) {
    for (auto b : p.replicas)
      count(b, 1);
  }
  std::vector<partition_replicas> out;
  for (const auto& p : current) {
    auto next = p.replicas;
    while (next.size() > rf) {
      count(next.back(), -1);
      next.pop_back();
    }
    while (next.size() < rf) {
      std::optional<int32_t> best;
      int64_t fewest = 0;
      for (const auto& [b, n] : held) {  // in id order: the lowest id wins a tie
        if (std::find(next.begin(), next.end(), b) != next.end())
          continue;
        if (!best || n < fewest) {
          best = b;
          fewest = n;
        }
      }
      if (!best) {
        return invalid(
            fmt::format("partition {} needs {} replicas but only {} live broker(s) can hold one "
                        "(brokers: {})",
                        p.partition, rf, held.size(), format_replica_list(live_brokers)));
      }
      next.push_back(*best);
      count(*best, 1);
    }
    if (next != p.replicas)
      out.push_back({p.partition, std::move(next)});
  }
  return out;
}

double progress_percent(int64_t copied, int64_t leader) {
  if (leader <= 0 || copied >= leader)
    return 100.0;
  if (copied <= 0)
    return 0.0;
  auto tenths = std::floor(static_cast<double>(copied) * 1000.0 / static_cast<double>(leader));
  // Below the leader's size is below 100 %, whatever the rounding of very large sizes.
  return std::min(tenths, 999.0) / 10.0;
}

std::optional<int64_t> added_replica_size(const log_size_reports& reports, int32_t broker,
                                          const std::string& topic, int32_t partition) {
  auto b = reports.find(broker);
  if (b == reports.end())
    return std::nullopt;
  auto s = b->second.sizes.find({topic, partition});
  if (s != b->second.sizes.end())
    return s->second;
  if (!b->second.complete)
    return std::nullopt;
  return 0;
}

move_progress estimate_move_progress(const std::string& topic, int32_t partition,
                                     std::optional<int32_t> leader,
                                     const std::vector<int32_t>& adding,
                                     const log_size_reports& reports) {
  move_progress out;
  if (leader) {
    if (auto b = reports.find(*leader); b != reports.end()) {
      if (auto s = b->second.sizes.find({topic, partition}); s != b->second.sizes.end())
        out.leader_bytes = s->second;
    }
  }
  if (adding.empty()) {
    out.copied_bytes = out.leader_bytes;
    out.percent = 100.0;
    return out;
  }
  std::optional<int64_t> least;
  for (auto b : adding) {
    auto size = added_replica_size(reports, b, topic, partition);
    if (!size)
      return {std::nullopt, out.leader_bytes, std::nullopt};
    if (!least || *size < *least)
      least = size;
  }
  out.copied_bytes = least;
  if (out.leader_bytes)
    out.percent = progress_percent(*out.copied_bytes, *out.leader_bytes);
  return out;
}

std::string format_progress(std::optional<double> percent) {
  return percent ? fmt::format("{:.1f}%", *percent) : "-";
}

std::string format_size(std::optional<int64_t> bytes) {
  return bytes ? std::to_string(*bytes) : "-";
}

}  // namespace strom::ctl
