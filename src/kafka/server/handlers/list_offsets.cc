// ListOffsets (API 2): latest (-1), earliest (-2), max timestamp (-3), or the first offset
// whose record timestamp is at or after a time.
#include "kafka/server/context.h"
#include "kafka/server/lists.h"

namespace strom::kafka::server {

namespace {
using protocol::error_code;
constexpr int64_t latest = -1;
constexpr int64_t earliest = -2;

struct lookup {
  lookup() = default;
  explicit lookup(error_code e, int64_t ts = -1, int64_t off = -1)
      : error(e), timestamp(ts), offset(off) {}
  error_code error = error_code::none;
  int64_t timestamp = -1;
  int64_t offset = -1;
  int32_t epoch = -1;
};

lookup find_offset(cluster::partition* p, int64_t ts) {
  if (ts == latest)
    return lookup(error_code::none, -1, p->high_watermark().value());
  if (ts == earliest)
    return lookup(error_code::none, -1, p->log_start().value());
  auto r = p->offset_for_timestamp(ts);  // -3 (max timestamp) included
  if (!r)
    return lookup(to_kafka_error(r.error()));
  // Nothing at or past the high watermark is visible: a record there is not committed yet.
  if (!*r || (*r)->offset.value() >= p->high_watermark().value())
    return lookup(error_code::none);
  return lookup(error_code::none, (*r)->timestamp, (*r)->offset.value());
}

lookup find(cluster::partition* p, int64_t ts, int32_t current_epoch) {
  if (p == nullptr)
    return lookup(error_code::unknown_topic_or_partition);
  if (auto s = p->readable(); !s)
    return lookup(to_kafka_error(s.error()));
  if (auto e = check_leader_epoch(current_epoch, p->leader_epoch()); e != error_code::none)
    return lookup(e);
  auto out = find_offset(p, ts);
  if (out.error == error_code::none)
    out.epoch = p->leader_epoch().value();
  return out;
}
}  // namespace

awaitable<net::handler_result> handle_list_offsets(request_context& c,
                                                   protocol::list_offsets_request& r) {
  protocol::list_offsets_response resp;
  // A partition named twice is answered INVALID_REQUEST at each mention, as Kafka does.
  std::vector<std::pair<std::string, int32_t>> all;
  for (const auto& t : r.topics) {
    for (const auto& p : t.partitions)
      all.emplace_back(t.name, p.partition_index);
  }
  auto dup = repeated_keys(all, [](const auto& k) { return k; });
  all.clear();
  for (const auto& t : r.topics) {
    auto& out = resp.topics.emplace_back();
    out.name = t.name;
    bool described =
        c.allowed(security::acl_operation::describe, security::resource_type::topic, t.name);
    for (const auto& p : t.partitions) {
      if (!described) {
        auto& po = out.partitions.emplace_back();
        po.partition_index = p.partition_index;
        po.error_code = error_code::topic_authorization_failed;
        continue;
      }
      auto ts = p.timestamp;
      auto cur = p.current_leader_epoch;
      const model::ntp n{t.name, model::partition_id(p.partition_index)};
      lookup res(error_code::invalid_request);
      if (!dup.contains({t.name, p.partition_index})) {
        res = co_await c.partitions.on_partition(
            n, [ts, cur](cluster::partition* part) { return find(part, ts, cur); });
      }
      auto& po = out.partitions.emplace_back();
      po.partition_index = p.partition_index;
      po.error_code = missing_partition(c.topics, n, res.error);
      po.timestamp = res.timestamp;
      po.offset = res.offset;
      po.leader_epoch = res.epoch;
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
