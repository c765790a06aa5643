// Fetch (API 1): read whole batches from each partition within the byte budgets, long-poll
// until min_bytes arrive or max_wait_ms passes, and send log bytes straight from the segment
// files (sendfile). Fetch sessions are declined (session id 0), so every fetch is full.
#include <chrono>

#include "kafka/server/context.h"
#include "kafka/server/fanout.h"
#include "strom/metrics/metrics.h"

namespace strom::kafka::server {

namespace {
using protocol::error_code;

struct partition_read {
  error_code error = error_code::none;
  int64_t high_watermark = -1;
  int64_t log_start = -1;
  protocol::records records;
  int64_t next = -1;  ///< the offset after what was read
};

partition_read read_partition(cluster::partition* p, int64_t offset, size_t max_bytes, bool first) {
  partition_read out;
  if (p == nullptr) {
    out.error = error_code::unknown_topic_or_partition;
    return out;
  }
  out.high_watermark = p->high_watermark().value();
  out.log_start = p->log_start().value();
  out.next = offset;
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

/// Wakes a waiting fetch from the partitions' shards.
struct fetch_wait {
  explicit fetch_wait(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool woken = false;
};

}  // namespace

awaitable<net::handler_result> handle_fetch(request_context& c, protocol::fetch_request& r) {
  protocol::fetch_response resp;
  if (r.session_id != 0 || r.session_epoch > 0) {
    // Strom never hands out sessions, so a client cannot hold one.
    resp.error_code = error_code::fetch_session_id_not_found;
    co_return respond(c, resp);
  }
  struct wanted {
    model::ntp ntp;
    int64_t offset;
    int32_t max_bytes;
  };
  std::vector<wanted> parts;
  for (const auto& t : r.topics) {
    for (const auto& p : t.partitions) {
      parts.push_back({model::ntp{t.topic, model::partition_id(p.partition)}, p.fetch_offset,
                       p.partition_max_bytes});
    }
  }
  auto home = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max<int32_t>(r.max_wait_ms, 0));
  std::vector<partition_read> reads;
  for (;;) {
    reads.clear();
    size_t total = 0;
    bool any_error = false;
    for (const auto& w : parts) {
      size_t budget = static_cast<size_t>(std::max<int32_t>(r.max_bytes, 0));
      budget = budget > total ? budget - total : 0;
      budget = std::min(budget, static_cast<size_t>(std::max<int32_t>(w.max_bytes, 0)));
      bool first = total == 0;
      auto pr = co_await c.ctl.on_partition(
          w.ntp, [&](cluster::partition* p) { return read_partition(p, w.offset, budget, first); });
      total += pr.records.size_bytes();
      any_error |= pr.error != error_code::none;
      reads.push_back(std::move(pr));
    }
    if (any_error || total >= static_cast<size_t>(std::max<int32_t>(r.min_bytes, 1)) ||
        std::chrono::steady_clock::now() >= deadline || parts.empty()) {
      break;
    }
    // Long poll: wait for an append on any of the partitions, or the deadline.
    auto wait = std::make_shared<fetch_wait>(home);
    std::vector<uint64_t> ids(parts.size(), 0);
    for (size_t i = 0; i < parts.size(); ++i) {
      auto next = reads[i].next;
      auto subscribe = [wait, home, next](cluster::partition* p) {
        auto wake = [wait, home] {
          asio::post(home, [wait] {
            wait->woken = true;
            wait->timer.cancel();
          });
        };
        if (p == nullptr)
          return uint64_t{0};
        if (p->high_watermark().value() > next) {  // data arrived since the read
          wake();
          return uint64_t{0};
        }
        return p->add_waiter(wake);
      };
      ids[i] = co_await c.ctl.on_partition(parts[i].ntp, std::move(subscribe));
    }
    if (!wait->woken) {
      wait->timer.expires_at(deadline);
      boost::system::error_code ec;
      co_await wait->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      if (ids[i] == 0)
        continue;
      auto id = ids[i];
      co_await c.ctl.on_partition(parts[i].ntp, [id](cluster::partition* p) {
        if (p != nullptr)
          p->remove_waiter(id);
        return 0;
      });
    }
  }

  size_t i = 0;
  for (const auto& t : r.topics) {
    auto& out = resp.responses.emplace_back();
    out.topic = t.topic;
    auto& m = metrics::topic(t.topic);
    for (const auto& p : t.partitions) {
      auto& rd = reads[i++];
      auto& pd = out.partitions.emplace_back();
      pd.partition_index = p.partition;
      pd.error_code = rd.error;
      pd.high_watermark = rd.high_watermark;
      pd.last_stable_offset = rd.high_watermark;  // no transactions: LSO = HW
      pd.log_start_offset = rd.log_start;
      if (rd.error == error_code::none && rd.next > p.fetch_offset) {
        m.bytes_out->Increment(static_cast<double>(rd.records.size_bytes()));
        m.records_out->Increment(static_cast<double>(rd.next - p.fetch_offset));
      }
      pd.records = std::move(rd.records);
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
