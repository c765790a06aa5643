// Fetch (API 1): read whole batches from each partition within the byte budgets, long-poll
// until min_bytes arrive or max_wait_ms passes, and send log bytes straight from the segment
// files (sendfile). Fetch sessions are declined (session id 0), so every fetch is full.
//
// Bounds: a partition named several times is read and answered once (the last mention's
// position, the first mention's place, as Kafka's request map does); the response carries at
// most min(max_bytes, fetch_max_bytes) record bytes plus one whole first batch per shard
// (KIP-74); the wait is clamped to fetch_max_wait and ends when the connection closes.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "kafka/server/context.h"
#include "strom/metrics/metrics.h"

namespace strom::kafka::server {

namespace asio = net::asio;

namespace {
using protocol::error_code;

struct partition_read {
  error_code error = error_code::none;
  int64_t high_watermark = -1;
  int64_t log_start = -1;
  protocol::records records;
  int64_t next = -1;  ///< the offset after what was read
  /// The topic's traffic counters; null when the partition does not exist.
  std::shared_ptr<metrics::topic_metrics> traffic;
};

/// One partition to read: where, and the leader epoch the client believes current (-1: none).
struct read_request {
  model::ntp ntp;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  int32_t current_epoch = -1;
};

partition_read read_partition(cluster::partition* p, const read_request& w, size_t max_bytes,
                              bool first) {
  partition_read out;
  if (p == nullptr) {
    out.error = error_code::unknown_topic_or_partition;
    return out;
  }
  const int64_t offset = w.offset;
  if (auto s = p->readable(); !s) {
    out.error = to_kafka_error(s.error());
    return out;
  }
  out.error = check_leader_epoch(w.current_epoch, p->leader_epoch());
  if (out.error != error_code::none)
    return out;
  out.high_watermark = p->high_watermark().value();
  out.log_start = p->log_start().value();
  out.next = offset;
  out.traffic = p->traffic();
  // KIP-74: the first batch of the response always goes out whole.
  auto r = p->read(model::kafka_offset(offset), max_bytes, first);
  if (!r) {
    out.error = to_kafka_error(r.error());
    return out;
  }
  for (const auto& s : r->slices) {
    int fd = s.file->native_handle();
    if (fd >= 0) {
      out.records.append(protocol::file_range{s.file, fd, s.position, s.length});
    } else {
      auto buf = std::make_shared<std::vector<std::byte>>(s.length);
      if (!s.file->read_exact(s.position, *buf)) {
        out.error = error_code::kafka_storage_error;
        return out;
      }
      out.records.append(std::span<const std::byte>(*buf), buf);
    }
  }
  out.next = r->next.value();
  return out;
}

/// Reads partitions of one shard in order, sharing `budget` (KIP-74: the shard's first batch
/// goes out whole). Runs on that shard.
awaitable<std::vector<partition_read>> read_on_shard(cluster::partition_manager* partitions,
                                                     std::vector<read_request> ws, size_t budget) {
  std::vector<partition_read> out;
  size_t total = 0;
  for (const auto& w : ws) {
    size_t b = budget > total ? budget - total : 0;
    b = std::min(b, static_cast<size_t>(std::max<int32_t>(w.max_bytes, 0)));
    out.push_back(read_partition(partitions->local(w.ntp), w, b, total == 0));
    total += out.back().records.size_bytes();
  }
  co_return out;
}

/// Registers `wake` on each partition of one shard (or calls it when data arrived since the
/// read at `next`); returns the waiter ids (0 = none). Runs on that shard.
awaitable<std::vector<uint64_t>> subscribe_on_shard(cluster::partition_manager* partitions,
                                                    std::vector<std::pair<model::ntp, int64_t>> ws,
                                                    std::function<void()> wake) {
  std::vector<uint64_t> ids;
  for (const auto& [n, next] : ws) {
    auto* p = partitions->local(n);
    if (p == nullptr) {
      ids.push_back(0);
    } else if (p->high_watermark().value() > next) {
      wake();
      ids.push_back(0);
    } else {
      ids.push_back(p->add_waiter(wake));
    }
  }
  co_return ids;
}

awaitable<int> unsubscribe_on_shard(cluster::partition_manager* partitions,
                                    std::vector<std::pair<model::ntp, uint64_t>> ws) {
  for (const auto& [n, id] : ws) {
    if (id == 0)
      continue;
    if (auto* p = partitions->local(n))
      p->remove_waiter(id);
  }
  co_return 0;
}

/// Wakes a waiting fetch from the partitions' shards.
struct fetch_wait {
  explicit fetch_wait(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool woken = false;
  bool closed = false;  ///< the connection closed: nobody waits for the answer
};

}  // namespace

awaitable<net::handler_result> handle_fetch(request_context& c, protocol::fetch_request& r) {
  protocol::fetch_response resp;
  if (r.session_id != 0 || r.session_epoch > 0) {
    // Strom never hands out sessions, so a client cannot hold one.
    resp.error_code = error_code::fetch_session_id_not_found;
    co_return respond(c, resp);
  }
  std::vector<read_request> parts;
  // v13+: topics by id. An id no topic has is answered UNKNOWN_TOPIC_ID, partition by partition.
  std::vector<protocol::fetch_request::fetch_topic> unknown_ids;
  auto topics = c.topics.snapshot();
  if (c.version() >= 13) {
    std::vector<protocol::fetch_request::fetch_topic> known;
    for (auto& t : r.topics) {
      if (auto name = cluster::find_topic_by_id(*topics, t.topic_id.bytes)) {
        t.topic = *name;
        known.push_back(std::move(t));
      } else {
        unknown_ids.push_back(std::move(t));
      }
    }
    r.topics = std::move(known);
  }
  // Topics the client may not read: TOPIC_AUTHORIZATION_FAILED, partition by partition.
  std::vector<protocol::fetch_request::fetch_topic> denied;
  if (c.authorizing()) {
    std::vector<protocol::fetch_request::fetch_topic> readable;
    for (auto& t : r.topics) {
      if (c.allowed(security::acl_operation::read, security::resource_type::topic, t.topic))
        readable.push_back(std::move(t));
      else
        denied.push_back(std::move(t));
    }
    r.topics = std::move(readable);
  }
  {
    struct key_hash {
      size_t operator()(const std::pair<std::string_view, int32_t>& k) const {
        return std::hash<std::string_view>{}(k.first) * 31 + static_cast<size_t>(k.second);
      }
    };
    std::unordered_map<std::pair<std::string_view, int32_t>, size_t, key_hash> seen;
    for (const auto& t : r.topics) {
      for (const auto& p : t.partitions) {
        auto [it, fresh] = seen.try_emplace({t.topic, p.partition}, parts.size());
        if (fresh) {
          parts.push_back({model::ntp{t.topic, model::partition_id(p.partition)}, p.fetch_offset,
                           p.partition_max_bytes, p.current_leader_epoch});
        } else {
          parts[it->second].offset = p.fetch_offset;
          parts[it->second].max_bytes = p.partition_max_bytes;
          parts[it->second].current_epoch = p.current_leader_epoch;
        }
      }
    }
  }
  std::vector<protocol::fetch_request::fetch_topic>().swap(r.topics);  // copied: free them
  // Partitions grouped by owner shard: each round visits every shard once, all at once.
  std::map<size_t, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < parts.size(); ++i)
    by_shard[c.partitions.shard_of(parts[i].ntp)].push_back(i);
  std::vector<std::vector<size_t>> groups;
  std::vector<size_t> shards;  // where each group's task runs
  for (auto& [shard, idx] : by_shard) {
    shards.push_back(shard);
    groups.push_back(std::move(idx));
  }
  auto& rt = c.partitions.runtime();
  // The response budget (the client's, within the broker's cap) is shared evenly by the
  // shards read in parallel.
  const size_t budget =
      static_cast<size_t>(std::clamp<int32_t>(r.max_bytes, 0, c.limits.fetch_max_bytes));
  const size_t budget_per_shard = groups.empty() ? 0 : budget / groups.size();
  cluster::partition_manager* partitions = &c.partitions;

  auto home = co_await asio::this_coro::executor;
  const auto wait_for = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(std::max(r.max_wait_ms, 0)), c.limits.fetch_max_wait);
  const auto deadline = std::chrono::steady_clock::now() + wait_for;
  bool connection_closed = false;
  std::vector<partition_read> reads(parts.size());
  for (;;) {
    auto read_group = [&](size_t g) -> awaitable<std::vector<partition_read>> {
      std::vector<read_request> ws;
      for (auto i : groups[g])
        ws.push_back(parts[i]);
      return read_on_shard(partitions, std::move(ws), budget_per_shard);
    };
    auto op = rt.invoke_on_each(shards, read_group);
    auto got = co_await std::move(op);
    size_t total = 0;
    bool any_error = false;
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t k = 0; k < groups[g].size() && k < got[g].size(); ++k) {
        auto& pr = got[g][k];
        total += pr.records.size_bytes();
        any_error |= pr.error != error_code::none;
        reads[groups[g][k]] = std::move(pr);
      }
    }
    if (any_error || total >= static_cast<size_t>(std::max<int32_t>(r.min_bytes, 1)) ||
        std::chrono::steady_clock::now() >= deadline || parts.empty()) {
      break;
    }
    // Long poll: wait for an append on any of the partitions, or the deadline.
    auto wait = std::make_shared<fetch_wait>(home);
    auto wake = [wait, home] {
      asio::post(home, [wait] {
        wait->woken = true;
        wait->timer.cancel();
      });
    };
    auto subscribe_group = [&](size_t g) -> awaitable<std::vector<uint64_t>> {
      std::vector<std::pair<model::ntp, int64_t>> ws;
      for (auto i : groups[g])
        ws.push_back({parts[i].ntp, reads[i].next});
      return subscribe_on_shard(partitions, std::move(ws), wake);
    };
    auto sub = rt.invoke_on_each(shards, subscribe_group);
    auto ids = co_await std::move(sub);
    // The connection's closing ends the wait too (on this shard, the connection's).
    auto closing = c.who.closing;
    uint64_t close_id = closing->on_close([wait] {
      wait->closed = true;
      wait->timer.cancel();
    });
    if (!wait->woken && !wait->closed) {
      wait->timer.expires_at(deadline);
      boost::system::error_code ec;
      co_await wait->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    closing->forget(close_id);
    connection_closed = wait->closed;
    auto unsubscribe_group = [&](size_t g) -> awaitable<int> {
      std::vector<std::pair<model::ntp, uint64_t>> ws;
      for (size_t k = 0; k < groups[g].size() && k < ids[g].size(); ++k)
        ws.push_back({parts[groups[g][k]].ntp, ids[g][k]});
      return unsubscribe_on_shard(partitions, std::move(ws));
    };
    auto unsub = rt.invoke_on_each(shards, unsubscribe_group);
    co_await std::move(unsub);
    if (connection_closed)
      co_return close_connection();  // nothing to answer: the client is gone
  }

  // One topic entry per run of partitions of the same topic, in the request's order.
  int64_t sent = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& want = parts[i];
    if (resp.responses.empty() || resp.responses.back().topic != want.ntp.topic) {
      auto& tr = resp.responses.emplace_back();
      tr.topic = want.ntp.topic;
      if (auto it = topics->find(tr.topic); it != topics->end())
        tr.topic_id.bytes = it->second.id;
    }
    auto& rd = reads[i];
    auto& pd = resp.responses.back().partitions.emplace_back();
    pd.partition_index = want.ntp.partition.value();
    pd.error_code = missing_partition(c.topics, want.ntp, rd.error);
    pd.high_watermark = rd.high_watermark;
    pd.last_stable_offset = rd.high_watermark;  // no transactions: LSO = HW
    pd.log_start_offset = rd.log_start;
    if (rd.error == error_code::none && rd.traffic && rd.next > want.offset) {
      rd.traffic->bytes_out->Increment(static_cast<double>(rd.records.size_bytes()));
      rd.traffic->records_out->Increment(static_cast<double>(rd.next - want.offset));
    }
    sent += static_cast<int64_t>(rd.records.size_bytes());
    pd.records = std::move(rd.records);
  }
  // Over its consumer_byte_rate the client waits (KIP-219's throttle time, and the response
  // held back for it).
  if (auto wait = c.throttle(quota_manager::kind::fetch, sent); wait.count() > 0) {
    resp.throttle_time_ms = static_cast<int32_t>(wait.count());
    c.hold_back(wait);
  }
  for (const auto& t : denied) {
    auto& tr = resp.responses.emplace_back();
    tr.topic = t.topic;
    tr.topic_id = t.topic_id;
    for (const auto& p : t.partitions) {
      auto& pd = tr.partitions.emplace_back();
      pd.partition_index = p.partition;
      pd.error_code = error_code::topic_authorization_failed;
      pd.high_watermark = -1;
    }
  }
  for (const auto& t : unknown_ids) {
    auto& tr = resp.responses.emplace_back();
    tr.topic_id = t.topic_id;
    for (const auto& p : t.partitions) {
      auto& pd = tr.partitions.emplace_back();
      pd.partition_index = p.partition;
      pd.error_code = error_code::unknown_topic_id;
      pd.high_watermark = -1;
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
