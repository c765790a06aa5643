// Metadata (API 3): this broker, and the requested topics (all when none are named), creating
// unknown topics when the request and the broker allow it.
#include <algorithm>
#include <optional>
#include <set>

#include "kafka/server/context.h"
#include "kafka/server/lists.h"
#include "strom/cluster/controller.h"
#include "strom/cluster/topic_table.h"

namespace strom::kafka::server {

using protocol::error_code;

awaitable<net::handler_result> handle_metadata(request_context& c, protocol::metadata_request& r) {
  protocol::metadata_response resp;
  auto cluster = describe_cluster(c.id);
  for (const auto& d : cluster.brokers) {
    auto& b = resp.brokers.emplace_back();
    b.node_id = d.node_id;
    b.host = d.host;
    b.port = d.port;
    b.rack = d.rack;
  }
  if (!cluster.cluster_id.empty())
    resp.cluster_id = cluster.cluster_id;  // null until the controller's id is known
  resp.controller_id = cluster.controller_id;
  std::set<int32_t> live;
  for (const auto& d : cluster.brokers)
    live.insert(d.node_id);
  // The elected leaders of replicated partitions, with their epochs (a cluster only).
  auto view = c.id.cluster ? c.id.cluster() : nullptr;

  // v0: an empty list means every topic; v1+: null means every topic.
  bool all = !r.topics.has_value() || (c.version() == 0 && r.topics->empty());
  std::vector<std::string> names;
  auto topics = c.topics.snapshot();
  if (!all) {
    bool unknown = std::any_of(r.topics->begin(), r.topics->end(), [&](const auto& t) {
      return t.name ? !topics->contains(*t.name)
                    : !cluster::find_topic_by_id(*topics, t.topic_id.bytes).has_value();
    });
    auto known = topics_after_catch_up(c, std::move(topics), unknown);
    topics = co_await std::move(known);
  }
  if (all) {
    // Only the topics the client may describe (quietly: listing is not asking).
    for (const auto& [name, t] : *topics) {
      if (c.allowed(security::acl_operation::describe, security::resource_type::topic, name, false))
        names.push_back(name);
    }
  } else {
    for (const auto& t : *r.topics) {
      if (t.name) {
        names.push_back(*t.name);
        continue;
      }
      // v10+: a topic asked for by id alone.
      if (auto found = cluster::find_topic_by_id(*topics, t.topic_id.bytes)) {
        names.push_back(*found);
      } else {
        auto& out = resp.topics.emplace_back();
        out.name.reset();
        out.topic_id = t.topic_id;
        out.error_code = error_code::unknown_topic_id;
      }
    }
    keep_first(names, [](const std::string& n) { return n; });  // each topic answered once
  }

  for (const auto& name : names) {
    auto& out = resp.topics.emplace_back();
    out.name = name;
    out.is_internal = cluster::is_internal_topic(name);
    if (!all &&
        !c.allowed(security::acl_operation::describe, security::resource_type::topic, name)) {
      out.error_code = error_code::topic_authorization_failed;
      continue;
    }
    auto it = topics->find(name);
    if (it == topics->end()) {
      if (!cluster::validate_topic_name(name)) {
        out.error_code = error_code::invalid_topic_exception;
        continue;
      }
      if (!(r.allow_auto_topic_creation && c.frontend.opts().auto_create_topics) ||
          cluster::is_internal_topic(name) || !c.may_create_topic(name)) {
        out.error_code = error_code::unknown_topic_or_partition;
        continue;
      }
      cluster::topic_metadata t;
      t.name = name;
      t.partitions = -1;
      t.replication_factor = -1;
      auto s = co_await c.frontend.create_topic(t, false);
      if (!s && !s.error().is(cluster::topic_errc::exists)) {
        out.error_code = to_kafka_error(s.error());
        continue;
      }
      topics = c.topics.snapshot();
      it = topics->find(name);
      if (it == topics->end()) {
        out.error_code = error_code::leader_not_available;
        continue;
      }
    }
    out.topic_id.bytes = it->second.id;
    for (int32_t p = 0; p < it->second.partitions; ++p) {
      auto& pm = out.partitions.emplace_back();
      pm.error_code = error_code::none;
      pm.partition_index = p;
      pm.leader_epoch = 0;
      auto leader = it->second.leader_of(p);
      if (!leader) {  // a single node: every partition is here
        pm.leader_id = c.id.node_id;
        pm.replica_nodes = {c.id.node_id};
        pm.isr_nodes = {c.id.node_id};
        continue;
      }
      // During a move: the replicas it moves to and those it moves from.
      const auto replicas = it->second.all_replicas(p);
      pm.replica_nodes = replicas;
      auto elected = view ? view->elected_leader(name, p) : std::nullopt;
      // In sync: as the leader last reported (Kafka's ISR); until it has, every live replica.
      const std::vector<int32_t>* isr =
          elected && !elected->isr.empty() && live.contains(elected->leader) ? &elected->isr
                                                                             : nullptr;
      for (auto id : replicas) {
        if (!live.contains(id))
          pm.offline_replicas.push_back(id);
        else if (!isr || std::binary_search(isr->begin(), isr->end(), id))
          pm.isr_nodes.push_back(id);
      }
      if (it->second.replicated(p) || elected) {
        // A Raft group: the leader it elected, and its term as the leader epoch.
        if (elected && live.contains(elected->leader)) {
          pm.leader_id = elected->leader;
          pm.leader_epoch = static_cast<int32_t>(elected->term);
        } else {
          pm.leader_id = -1;
          pm.leader_epoch = -1;
          pm.error_code = error_code::leader_not_available;
        }
      } else if (live.contains(*leader)) {
        pm.leader_id = *leader;
      } else {
        pm.leader_id = -1;
        pm.leader_epoch = -1;
        pm.error_code = error_code::leader_not_available;
      }
    }
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
