// OffsetForLeaderEpoch (API 23, KIP-320): the end offset of a leader epoch, with which a
// consumer checks its position after a leader change (an end below its position means the log
// was truncated under it).
#include "kafka/server/context.h"

namespace strom::kafka::server {

namespace {
using protocol::error_code;

struct epoch_end {
  error_code error = error_code::none;
  int32_t epoch = -1;
  int64_t end_offset = -1;
};

/// The answer for `requested` on partition `p` (raft-design §2.6, Kafka's
/// LeaderEpochFileCache.endOffsetFor): the current epoch ends at the log end; an older one at
/// the start of the next epoch that wrote data, named by the largest epoch at or below it; an
/// epoch below every known one gets itself and the first known start; nothing known: -1, -1.
/// A consumer (replica id < 0) is never told an offset beyond the high watermark.
epoch_end end_of(cluster::partition* p, int32_t current, int32_t requested, bool consumer) {
  epoch_end out;
  if (p == nullptr) {
    out.error = error_code::unknown_topic_or_partition;
    return out;
  }
  if (auto s = p->readable(); !s) {
    out.error = to_kafka_error(s.error());
    return out;
  }
  out.error = check_leader_epoch(current, p->leader_epoch());
  if (out.error != error_code::none || requested < 0)
    return out;
  auto& log = p->log();
  auto cap = [&](int64_t o) { return consumer ? std::min(o, p->high_watermark().value()) : o; };
  if (requested == p->leader_epoch().value()) {
    out.epoch = requested;
    out.end_offset = cap(log.log_end().value());
    return out;
  }
  if (requested > p->leader_epoch().value())
    return out;  // an epoch this partition has not reached: undefined
  if (auto e = log.epochs().end_offset_for(model::leader_epoch(requested), log.log_end())) {
    out.epoch = e->epoch.value();
    out.end_offset = cap(e->start.value());
    return out;
  }
  const auto& known = log.epochs().entries();
  if (!known.empty()) {
    out.epoch = requested;
    out.end_offset = cap(known.front().start.value());
  }
  return out;
}
}  // namespace

awaitable<net::handler_result> handle_offset_for_leader_epoch(
    request_context& c, protocol::offset_for_leader_epoch_request& r) {
  protocol::offset_for_leader_epoch_response resp;
  const bool consumer = r.replica_id < 0;
  for (const auto& t : r.topics) {
    auto& out = resp.topics.emplace_back();
    out.topic = t.topic;
    bool described =
        c.allowed(security::acl_operation::describe, security::resource_type::topic, t.topic);
    for (const auto& p : t.partitions) {
      if (!described) {
        auto& po = out.partitions.emplace_back();
        po.partition = p.partition;
        po.error_code = error_code::topic_authorization_failed;
        continue;
      }
      const model::ntp n{t.topic, model::partition_id(p.partition)};
      auto cur = p.current_leader_epoch;
      auto want = p.leader_epoch;
      auto op = c.partitions.on_partition(n, [cur, want, consumer](cluster::partition* part) {
        return end_of(part, cur, want, consumer);
      });
      auto res = co_await std::move(op);
      auto& po = out.partitions.emplace_back();
      po.partition = p.partition;
      po.error_code = missing_partition(c.topics, n, res.error);
      po.leader_epoch = res.epoch;
      po.end_offset = res.end_offset;
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
