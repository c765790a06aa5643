// Consumer-group APIs: each request is carried to the group coordinator (module groups).

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "kafka/server/context.h"
#include "kafka/server/lists.h"
#include "strom/cluster/controller.h"

namespace strom::kafka::server {

namespace {

using groups::errc;
using protocol::error_code;

error_code kerr(errc e) {
  return to_kafka_error(e);
}

/// The peer's host as Kafka shows it ("/127.0.0.1").
std::string client_host(const net::connection_info& who) {
  auto colon = who.peer.rfind(':');
  return "/" + (colon == std::string::npos ? who.peer : who.peer.substr(0, colon));
}

std::vector<groups::protocol_entry> to_protocols(
    std::vector<protocol::join_group_request::join_group_request_protocol>& in) {
  std::vector<groups::protocol_entry> out;
  out.reserve(in.size());
  for (auto& p : in)
    out.push_back({std::move(p.name), std::move(p.metadata)});
  return out;
}

bool partition_exists(const cluster::topic_map& topics, const std::string& topic, int32_t p) {
  auto it = topics.find(topic);
  return it != topics.end() && p >= 0 && p < it->second.partitions;
}

}  // namespace

awaitable<net::handler_result> handle_find_coordinator(request_context& c,
                                                       protocol::find_coordinator_request& r) {
  protocol::find_coordinator_response out;
  std::vector<std::string> keys;
  if (c.version() >= 4)
    keys = r.coordinator_keys;
  else
    keys.push_back(r.key);
  errc topic_err = errc::none;
  if (r.key_type == 0) {
    auto op = c.groups.ensure_topic();
    topic_err = co_await std::move(op);
  }
  for (const auto& key : keys) {
    protocol::find_coordinator_response::coordinator k;
    k.key = key;
    if (r.key_type == 1) {
      // No transaction coordinator yet. A retriable error would make initTransactions() wait
      // for max.block.ms; this one fails it at once in librdkafka, the Java client and
      // kafka-python.
      k.error_code = error_code::transactional_id_authorization_failed;
      k.error_message = "transactions are not supported yet";
    } else if (r.key_type != 0) {
      k.error_code = error_code::invalid_request;
      k.error_message = "unknown coordinator key type " + std::to_string(r.key_type);
    } else if (key.empty()) {
      k.error_code = error_code::invalid_group_id;
    } else if (!c.allowed(security::acl_operation::describe, security::resource_type::group, key)) {
      k.error_code = error_code::group_authorization_failed;
    } else if (topic_err != errc::none) {
      k.error_code = kerr(topic_err);
    }
    if (k.error_code == error_code::none) {
      // The broker that leads the group's offsets partition (this one on a single node; the
      // leader its Raft group elected when it has replicas elsewhere).
      auto topics = c.topics.snapshot();
      auto t = topics->find(groups::offsets_topic);
      auto partition = c.groups.partition_of(key);
      auto leader = t == topics->end() ? std::nullopt : t->second.leader_of(partition);
      if (leader) {
        auto view = c.id.cluster ? c.id.cluster() : nullptr;
        auto elected = view ? view->elected_leader(std::string(groups::offsets_topic), partition)
                            : std::nullopt;
        if (elected || t->second.replicated(partition))
          leader = elected ? elected->leader : -1;
      }
      k.node_id = c.id.node_id;
      k.host = c.id.host;
      k.port = c.id.port;
      if (leader && *leader != c.id.node_id) {
        k.error_code = error_code::coordinator_not_available;  // unless it is live
        for (const auto& b : describe_cluster(c.id).brokers) {
          if (b.node_id == *leader) {
            k.node_id = b.node_id;
            k.host = b.host;
            k.port = b.port;
            k.error_code = error_code::none;
          }
        }
      }
    }
    if (k.error_code != error_code::none) {
      k.node_id = -1;
      k.port = -1;
      if (!k.error_message)
        k.error_message = std::string(protocol::error_name(k.error_code));
    }
    out.coordinators.push_back(std::move(k));
  }
  if (c.version() < 4 && !out.coordinators.empty()) {
    auto& k = out.coordinators.front();
    out.error_code = k.error_code;
    out.error_message = k.error_code == error_code::none ? std::nullopt : k.error_message;
    out.node_id = k.node_id;
    out.host = k.host;
    out.port = k.port;
    out.coordinators.clear();
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_join_group(request_context& c,
                                                 protocol::join_group_request& r) {
  protocol::join_group_response out;
  bool denied = !r.group_id.empty() && !c.allowed(security::acl_operation::read,
                                                  security::resource_type::group, r.group_id);
  if (r.group_id.empty() || denied) {
    out.error_code = denied ? error_code::group_authorization_failed : error_code::invalid_group_id;
    out.member_id = r.member_id;
    if (c.version() < 7)
      out.protocol_name = "";
    co_return respond(c, out);
  }
  groups::join_request j;
  j.member_id = std::move(r.member_id);
  j.instance_id = std::move(r.group_instance_id);
  j.client_id = c.header.client_id.value_or("");
  j.client_host = client_host(c.who);
  j.session_timeout_ms = r.session_timeout_ms;
  j.rebalance_timeout_ms = c.version() >= 1 ? r.rebalance_timeout_ms : -1;
  j.protocol_type = std::move(r.protocol_type);
  j.protocols = to_protocols(r.protocols);
  j.require_known_member_id = c.version() >= 4;
  j.can_skip_assignment = c.version() >= 9;
  // Arguments are bound before the co_await (see net/await.h).
  auto op = c.groups.join(std::move(r.group_id), std::move(j));
  auto res = co_await std::move(op);
  out.error_code = kerr(res.error);
  out.generation_id = res.generation;
  out.protocol_type = res.protocol_type;
  out.protocol_name = res.protocol_name;
  if (c.version() < 7 && !out.protocol_name)
    out.protocol_name = "";
  out.leader = res.leader;
  out.skip_assignment = res.skip_assignment;
  out.member_id = res.member_id;
  for (auto& m : res.members)
    out.members.push_back(
        {std::move(m.member_id), std::move(m.instance_id), std::move(m.metadata)});
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_sync_group(request_context& c,
                                                 protocol::sync_group_request& r) {
  groups::sync_request s;
  s.member_id = std::move(r.member_id);
  s.instance_id = std::move(r.group_instance_id);
  s.generation = r.generation_id;
  s.protocol_type = std::move(r.protocol_type);
  s.protocol_name = std::move(r.protocol_name);
  for (auto& a : r.assignments)
    s.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  protocol::sync_group_response out;
  if (r.group_id.empty()) {
    out.error_code = error_code::invalid_group_id;
    co_return respond(c, out);
  }
  if (!c.allowed(security::acl_operation::read, security::resource_type::group, r.group_id)) {
    out.error_code = error_code::group_authorization_failed;
    co_return respond(c, out);
  }
  auto op = c.groups.sync(std::move(r.group_id), std::move(s));
  auto res = co_await std::move(op);
  out.error_code = kerr(res.error);
  out.protocol_type = res.protocol_type;
  out.protocol_name = res.protocol_name;
  out.assignment = std::move(res.assignment);
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_heartbeat(request_context& c,
                                                protocol::heartbeat_request& r) {
  protocol::heartbeat_response out;
  if (r.group_id.empty()) {
    out.error_code = error_code::invalid_group_id;
    co_return respond(c, out);
  }
  if (!c.allowed(security::acl_operation::read, security::resource_type::group, r.group_id)) {
    out.error_code = error_code::group_authorization_failed;
    co_return respond(c, out);
  }
  auto op = c.groups.heartbeat(std::move(r.group_id), std::move(r.member_id),
                               std::move(r.group_instance_id), r.generation_id);
  auto e = co_await std::move(op);
  out.error_code = kerr(e);
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_leave_group(request_context& c,
                                                  protocol::leave_group_request& r) {
  protocol::leave_group_response out;
  if (r.group_id.empty()) {
    out.error_code = error_code::invalid_group_id;
    co_return respond(c, out);
  }
  if (!c.allowed(security::acl_operation::read, security::resource_type::group, r.group_id)) {
    out.error_code = error_code::group_authorization_failed;
    co_return respond(c, out);
  }
  std::vector<groups::group::leaving> who;
  if (c.version() < 3) {
    who.push_back({r.member_id, std::nullopt});
  } else {
    for (const auto& m : r.members)
      who.push_back({m.member_id, m.group_instance_id});
  }
  auto op = c.groups.leave(std::move(r.group_id), who);
  auto res = co_await std::move(op);
  out.error_code = kerr(res.error);
  if (c.version() < 3) {
    if (res.error == errc::none && !res.members.empty())
      out.error_code = kerr(res.members.front());
  } else if (res.error == errc::none) {
    for (size_t i = 0; i < who.size() && i < res.members.size(); ++i)
      out.members.push_back({who[i].member_id, who[i].instance_id, kerr(res.members[i])});
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_offset_commit(request_context& c,
                                                    protocol::offset_commit_request& r) {
  std::vector<std::string> named;
  for (const auto& t : r.topics)
    named.push_back(t.name);
  auto known = topics_for(c, std::move(named));
  auto topics = co_await std::move(known);
  groups::coordinator::commit_request req;
  req.member_id = r.member_id;
  req.instance_id = r.group_instance_id;
  req.generation = r.generation_id_or_member_epoch;
  // One entry per partition, however often it is named: the last mention's offset, the first
  // mention's place (Kafka keeps a map).
  std::unordered_map<std::pair<std::string, int32_t>, size_t, pair_hash> seen;
  // Committing needs Read on the group and on each topic (Kafka's rules).
  bool group_denied = !r.group_id.empty() && !c.allowed(security::acl_operation::read,
                                                        security::resource_type::group, r.group_id);
  std::set<std::string> topics_denied;
  for (auto& t : r.topics) {
    if (!group_denied &&
        !c.allowed(security::acl_operation::read, security::resource_type::topic, t.name))
      topics_denied.insert(t.name);
    for (auto& p : t.partitions) {
      groups::coordinator::commit_entry e;
      e.topic = t.name;
      e.partition = p.partition_index;
      e.value.offset = p.committed_offset;
      e.value.leader_epoch = p.committed_leader_epoch;
      e.value.metadata = p.committed_metadata.value_or("");
      if (r.group_id.empty())
        e.error = errc::invalid_group_id;
      else if (group_denied || topics_denied.contains(t.name))
        e.error = errc::unknown_topic_or_partition;  // not committed; answered below
      else if (!partition_exists(*topics, t.name, p.partition_index))
        e.error = errc::unknown_topic_or_partition;
      auto [it, fresh] = seen.try_emplace({t.name, p.partition_index}, req.entries.size());
      if (fresh)
        req.entries.push_back(std::move(e));
      else
        req.entries[it->second] = std::move(e);
    }
  }
  seen.clear();
  r.topics.clear();
  std::vector<groups::coordinator::commit_entry> done;
  if (r.group_id.empty() || group_denied)
    done = std::move(req.entries);
  else {
    auto op = c.groups.commit(std::move(r.group_id), std::move(req));
    done = co_await std::move(op);
  }
  protocol::offset_commit_response out;
  for (const auto& e : done) {
    if (out.topics.empty() || out.topics.back().name != e.topic)
      out.topics.emplace_back().name = e.topic;
    auto code = group_denied                      ? error_code::group_authorization_failed
                : topics_denied.contains(e.topic) ? error_code::topic_authorization_failed
                                                  : kerr(e.error);
    out.topics.back().partitions.push_back({e.partition, code});
  }
  co_return respond(c, out);
}

namespace {

struct fetched_partition {
  int32_t partition;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  error_code error = error_code::none;
};
using fetched_topics = std::vector<std::pair<std::string, std::vector<fetched_partition>>>;

/// One group's OffsetFetch answer: the named partitions, or every committed one.
awaitable<std::pair<error_code, fetched_topics>> fetch_group(
    request_context& c, std::string group_id,
    std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> wanted) {
  fetched_topics out;
  if (group_id.empty())
    co_return std::pair{error_code::invalid_group_id, std::move(out)};
  std::optional<std::vector<groups::topic_partition>> which;
  if (wanted) {
    // Each partition answered once, however often it is named.
    std::unordered_set<std::pair<std::string, int32_t>, pair_hash> seen;
    for (auto& [t, ps] : *wanted) {
      std::erase_if(ps, [&](int32_t p) { return !seen.emplace(t, p).second; });
    }
    std::erase_if(*wanted, [](const auto& tp) { return tp.second.empty(); });
    which.emplace();
    for (const auto& [t, ps] : *wanted) {
      for (auto p : ps)
        which->emplace_back(t, p);
    }
  }
  auto op = c.groups.fetch_offsets(std::move(group_id), which);
  auto got = co_await std::move(op);
  if (got.error != errc::none) {
    auto e = kerr(got.error);
    if (wanted) {
      for (const auto& [t, ps] : *wanted) {
        std::vector<fetched_partition> parts;
        for (auto p : ps)
          parts.push_back({p, -1, -1, "", e});
        out.emplace_back(t, std::move(parts));
      }
    }
    co_return std::pair{e, std::move(out)};
  }
  std::map<groups::topic_partition, groups::offset_entry> have(got.offsets.begin(),
                                                               got.offsets.end());
  if (wanted) {
    for (const auto& [t, ps] : *wanted) {
      std::vector<fetched_partition> parts;
      for (auto p : ps) {
        fetched_partition f{p, -1, -1, "", error_code::none};
        if (auto it = have.find({t, p}); it != have.end()) {
          f.offset = it->second.offset;
          f.leader_epoch = it->second.leader_epoch;
          f.metadata = it->second.metadata;
        }
        parts.push_back(std::move(f));
      }
      out.emplace_back(t, std::move(parts));
    }
  } else {
    for (const auto& [tp, e] : have) {
      if (out.empty() || out.back().first != tp.first)
        out.emplace_back(tp.first, std::vector<fetched_partition>{});
      out.back().second.push_back(
          {tp.second, e.offset, e.leader_epoch, e.metadata, error_code::none});
    }
  }
  co_return std::pair{error_code::none, std::move(out)};
}

}  // namespace

awaitable<net::handler_result> handle_offset_fetch(request_context& c,
                                                   protocol::offset_fetch_request& r) {
  protocol::offset_fetch_response out;
  if (c.version() < 8) {
    std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> wanted;
    if (r.topics) {
      wanted.emplace();
      for (auto& t : *r.topics)
        wanted->emplace_back(t.name, t.partition_indexes);
    }
    if (!c.allowed(security::acl_operation::describe, security::resource_type::group, r.group_id)) {
      out.error_code = error_code::group_authorization_failed;
      if (r.topics) {  // v1 has no group-level error: every partition says it
        for (auto& t : *r.topics) {
          auto& ot = out.topics.emplace_back();
          ot.name = t.name;
          for (auto p : t.partition_indexes)
            ot.partitions.push_back({p, -1, -1, "", error_code::group_authorization_failed});
        }
      }
      co_return respond(c, out);
    }
    bool named = r.topics.has_value();
    auto op = fetch_group(c, r.group_id, std::move(wanted));
    auto [err, topics] = co_await std::move(op);
    out.error_code = err;
    for (auto& [name, parts] : topics) {
      // Topics the client may not describe: refused when named, left out otherwise.
      bool described =
          c.allowed(security::acl_operation::describe, security::resource_type::topic, name, named);
      if (!described && !named)
        continue;
      protocol::offset_fetch_response::offset_fetch_response_topic t;
      t.name = name;
      for (auto& p : parts) {
        // v1 has no group-level error: coordinator errors go to every partition.
        auto e = described ? p.error : error_code::topic_authorization_failed;
        if (!described) {
          p.offset = -1;
          p.metadata.clear();
        }
        t.partitions.push_back({p.partition, p.offset, p.leader_epoch, std::move(p.metadata), e});
      }
      out.topics.push_back(std::move(t));
    }
    co_return respond(c, out);
  }
  keep_first(r.groups, [](const auto& g) { return g.group_id; });  // each group answered once
  for (auto& g : r.groups) {
    std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> wanted;
    if (g.topics) {
      wanted.emplace();
      for (auto& t : *g.topics)
        wanted->emplace_back(t.name, t.partition_indexes);
    }
    protocol::offset_fetch_response::offset_fetch_response_group og;
    og.group_id = g.group_id;
    if (!c.allowed(security::acl_operation::describe, security::resource_type::group, g.group_id)) {
      og.error_code = error_code::group_authorization_failed;
      out.groups.push_back(std::move(og));
      continue;
    }
    bool named = g.topics.has_value();
    auto op = fetch_group(c, g.group_id, std::move(wanted));
    auto [err, topics] = co_await std::move(op);
    og.error_code = err;
    for (auto& [name, parts] : topics) {
      bool described =
          c.allowed(security::acl_operation::describe, security::resource_type::topic, name, named);
      if (!described && !named)
        continue;
      protocol::offset_fetch_response::offset_fetch_response_topics t;
      t.name = name;
      for (auto& p : parts) {
        if (!described) {
          t.partitions.push_back({p.partition, -1, -1, "", error_code::topic_authorization_failed});
          continue;
        }
        t.partitions.push_back({p.partition, p.offset, p.leader_epoch, std::move(p.metadata),
                                err == error_code::none ? p.error : error_code::none});
      }
      og.topics.push_back(std::move(t));
    }
    out.groups.push_back(std::move(og));
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_list_groups(request_context& c,
                                                  protocol::list_groups_request& r) {
  auto op = c.groups.list();
  auto listing = co_await std::move(op);
  protocol::list_groups_response out;
  out.error_code = kerr(listing.error);
  // Describe on the cluster lists every group; otherwise the groups the client may describe.
  bool all = c.allowed(security::acl_operation::describe, security::resource_type::cluster,
                       security::cluster_resource, false);
  auto lower = [](std::string_view s) {
    std::string o(s);
    std::transform(o.begin(), o.end(), o.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    return o;
  };
  for (const auto& g : listing.groups) {
    auto state = std::string(groups::to_string(g.state));
    if (!r.states_filter.empty() &&
        std::none_of(r.states_filter.begin(), r.states_filter.end(),
                     [&](const std::string& f) { return lower(f) == lower(state); }))
      continue;
    if (!r.types_filter.empty() &&
        std::none_of(r.types_filter.begin(), r.types_filter.end(),
                     [&](const std::string& f) { return lower(f) == "classic"; }))
      continue;
    if (!all && !c.allowed(security::acl_operation::describe, security::resource_type::group,
                           g.group_id, false))
      continue;
    out.groups.push_back({g.group_id, g.protocol_type, state, "classic"});
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_describe_groups(request_context& c,
                                                      protocol::describe_groups_request& r) {
  protocol::describe_groups_response out;
  keep_first(r.groups, [](const std::string& id) { return id; });  // each group described once
  for (const auto& id : r.groups) {
    protocol::describe_groups_response::described_group g;
    g.group_id = id;
    if (id.empty()) {
      g.error_code = error_code::invalid_group_id;
      g.group_state = "Dead";
      out.groups.push_back(std::move(g));
      continue;
    }
    if (!c.allowed(security::acl_operation::describe, security::resource_type::group, id)) {
      g.error_code = error_code::group_authorization_failed;
      g.group_state = "";
      out.groups.push_back(std::move(g));
      continue;
    }
    auto op = c.groups.describe(id);
    auto d = co_await std::move(op);
    g.error_code = kerr(d.error);
    g.group_state = std::string(groups::to_string(d.state));
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol;
    for (auto& m : d.members) {
      protocol::describe_groups_response::described_group_member dm;
      dm.member_id = std::move(m.id);
      dm.group_instance_id = std::move(m.instance_id);
      dm.client_id = std::move(m.client_id);
      dm.client_host = std::move(m.client_host);
      dm.member_metadata = std::move(m.subscription);
      dm.member_assignment = std::move(m.assignment);
      g.members.push_back(std::move(dm));
    }
    out.groups.push_back(std::move(g));
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_delete_groups(request_context& c,
                                                    protocol::delete_groups_request& r) {
  protocol::delete_groups_response out;
  keep_first(r.groups_names, [](const std::string& id) { return id; });
  for (const auto& id : r.groups_names) {
    auto e = errc::invalid_group_id;
    if (!id.empty() &&
        !c.allowed(security::acl_operation::remove, security::resource_type::group, id)) {
      out.results.push_back({id, error_code::group_authorization_failed});
      continue;
    }
    if (!id.empty()) {
      auto op = c.groups.delete_group(id);
      e = co_await std::move(op);
    }
    out.results.push_back({id, kerr(e)});
  }
  for (const auto& g : out.results)
    c.audit_admin("Group:" + g.group_id, g.error_code);
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_offset_delete(request_context& c,
                                                    protocol::offset_delete_request& r) {
  protocol::offset_delete_response out;
  auto topics = c.topics.snapshot();
  {
    // Each partition answered once, however often it is named.
    std::unordered_set<std::pair<std::string, int32_t>, pair_hash> seen;
    for (auto& t : r.topics) {
      std::erase_if(t.partitions,
                    [&](const auto& p) { return !seen.emplace(t.name, p.partition_index).second; });
    }
    std::erase_if(r.topics, [](const auto& t) { return t.partitions.empty(); });
  }
  std::vector<groups::topic_partition> which;
  for (const auto& t : r.topics) {
    for (const auto& p : t.partitions)
      which.emplace_back(t.name, p.partition_index);
  }
  if (r.group_id.empty()) {
    out.error_code = error_code::invalid_group_id;
    co_return respond(c, out);
  }
  if (!c.allowed(security::acl_operation::remove, security::resource_type::group, r.group_id)) {
    out.error_code = error_code::group_authorization_failed;
    co_return respond(c, out);
  }
  // Partitions of topics the client may not read are answered, not deleted.
  std::set<std::string> topics_denied;
  for (const auto& t : r.topics) {
    if (!c.allowed(security::acl_operation::read, security::resource_type::topic, t.name))
      topics_denied.insert(t.name);
  }
  std::erase_if(which, [&](const auto& tp) { return topics_denied.contains(tp.first); });
  auto op = c.groups.delete_offsets(r.group_id, which);
  auto res = co_await std::move(op);
  out.error_code = kerr(res.error);
  c.audit_admin("Group:" + r.group_id, out.error_code,
                fmt::format("offsets of {} partition(s)", which.size()));
  if (res.error != errc::none)
    co_return respond(c, out);
  size_t i = 0;
  for (const auto& t : r.topics) {
    protocol::offset_delete_response::offset_delete_response_topic ot;
    ot.name = t.name;
    if (topics_denied.contains(t.name)) {
      for (const auto& p : t.partitions)
        ot.partitions.push_back({p.partition_index, error_code::topic_authorization_failed});
      out.topics.push_back(std::move(ot));
      continue;
    }
    for (const auto& p : t.partitions) {
      auto e = i < res.partitions.size() ? res.partitions[i] : errc::none;
      if (!partition_exists(*topics, t.name, p.partition_index))
        e = errc::unknown_topic_or_partition;
      ot.partitions.push_back({p.partition_index, kerr(e)});
      ++i;
    }
    out.topics.push_back(std::move(ot));
  }
  co_return respond(c, out);
}

}  // namespace strom::kafka::server
