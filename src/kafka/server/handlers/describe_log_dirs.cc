// DescribeLogDirs (API 35): each data directory, its state, space, and the size of every
// partition log it holds (all partitions, or the ones asked for).
#include <filesystem>
#include <map>

#include "kafka/server/context.h"
#include "kafka/server/lists.h"

namespace strom::kafka::server {

using protocol::error_code;

awaitable<net::handler_result> handle_describe_log_dirs(request_context& c,
                                                        protocol::describe_log_dirs_request& r) {
  if (!c.allowed_on_cluster(security::acl_operation::describe)) {
    // v3+ says why; earlier versions get no directory (as Kafka answers them).
    protocol::describe_log_dirs_response denied;
    denied.error_code = error_code::cluster_authorization_failed;
    co_return respond(c, denied);
  }
  std::vector<model::ntp> wanted;
  auto topics = c.topics.snapshot();
  if (!r.topics) {
    for (const auto& [name, t] : *topics) {
      for (int32_t p = 0; p < t.partitions; ++p)
        wanted.push_back({name, model::partition_id(p)});
    }
  } else {
    for (const auto& t : *r.topics) {
      for (auto p : t.partitions)
        wanted.push_back({t.topic, model::partition_id(p)});
    }
    // Each partition is reported once, however often it is asked for.
    keep_first(wanted, [](const model::ntp& n) {
      return std::pair<std::string, int32_t>(n.topic, n.partition.value());
    });
  }
  struct located {
    std::string dir;
    int64_t size = -1;
  };
  // dir -> topic -> [(partition, size)]
  std::map<std::string, std::map<std::string, std::vector<std::pair<int32_t, int64_t>>>> by_dir;
  for (const auto& n : wanted) {
    auto where = co_await c.partitions.on_partition(n, [](cluster::partition* p) {
      if (p == nullptr)
        return located{};
      return located{p->data_dir(), static_cast<int64_t>(p->size_bytes())};
    });
    if (where.size < 0)
      continue;  // unknown partitions are left out, as Kafka does
    by_dir[where.dir][n.topic].emplace_back(n.partition.value(), where.size);
  }

  protocol::describe_log_dirs_response resp;
  for (const auto& d : c.partitions.logs().dirs()) {
    auto& out = resp.results.emplace_back();
    out.log_dir = d->path().string();
    out.error_code = d->offline() ? error_code::kafka_storage_error : error_code::none;
    std::error_code ec;
    auto space = std::filesystem::space(d->path(), ec);
    if (!ec) {
      out.total_bytes = static_cast<int64_t>(space.capacity);
      out.usable_bytes = static_cast<int64_t>(space.available);
    }
    for (const auto& [topic, parts] : by_dir[d->path().string()]) {
      auto& t = out.topics.emplace_back();
      t.name = topic;
      for (const auto& [index, size] : parts) {
        auto& p = t.partitions.emplace_back();
        p.partition_index = index;
        p.partition_size = size;
        p.offset_lag = 0;
      }
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
