// Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
// AlterConfigs, IncrementalAlterConfigs, DeleteRecords, AlterPartitionReassignments,
// ListPartitionReassignments, DescribeCluster.
#include <fmt/format.h>

#include <charconv>
#include <unordered_map>
#include <unordered_set>

#include "kafka/server/context.h"
#include "kafka/server/lists.h"
#include "strom/cluster/controller.h"
#include "strom/cluster/topic_config.h"

namespace strom::kafka::server {

namespace {
using protocol::error_code;

constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;

/// The names of the topic resources among `resources`.
template <typename Resources>
std::vector<std::string> topic_resources(const Resources& resources) {
  std::vector<std::string> out;
  for (const auto& res : resources) {
    if (res.resource_type == resource_topic)
      out.push_back(res.resource_name);
  }
  return out;
}

/// The audit log's name of a config resource: "Topic:clicks", "Broker:4", "Cluster:kafka-cluster"
/// for the cluster-wide defaults (the broker resource without a name).
std::string config_resource_name(int8_t type, const std::string& name) {
  if (type == resource_topic)
    return "Topic:" + name;
  if (type == resource_broker)
    return name.empty() ? std::string("Cluster:kafka-cluster") : "Broker:" + name;
  return fmt::format("Resource{}:{}", type, name);
}

/// Whether the client may do `op` (DescribeConfigs, AlterConfigs) on a config resource: a
/// topic's on the topic, a broker's (or the cluster-wide defaults) on the cluster; else `e`
/// holds Kafka's error.
bool config_allowed(const request_context& c, security::acl_operation op, int8_t type,
                    const std::string& name, error_code& e) {
  if (type == resource_topic) {
    if (c.allowed(op, security::resource_type::topic, name))
      return true;
    e = error_code::topic_authorization_failed;
    return false;
  }
  if (c.allowed_on_cluster(op))
    return true;
  e = error_code::cluster_authorization_failed;
  return false;
}
// DescribeConfigs config_source values.
constexpr int8_t source_dynamic_topic = 1;
constexpr int8_t source_dynamic_default_broker = 3;
constexpr int8_t source_static_broker = 4;
constexpr int8_t source_default = 5;
// config_type values (v3+).
constexpr int8_t type_boolean = 1;
constexpr int8_t type_string = 2;
constexpr int8_t type_int = 3;
constexpr int8_t type_long = 5;
constexpr int8_t type_double = 6;

int8_t config_type(const cluster::topic_config_key* k) {
  if (k == nullptr)
    return type_string;
  switch (k->type) {
    case cluster::topic_config_key::kind::boolean:
      return type_boolean;
    case cluster::topic_config_key::kind::int_:
      return type_int;
    case cluster::topic_config_key::kind::long_:
      return type_long;
    case cluster::topic_config_key::kind::string:
      return type_string;
    case cluster::topic_config_key::kind::double_:
      return type_double;
  }
  return type_string;
}

/// Where a topic's effective value of `name` comes from: its own override, the cluster-wide
/// default, or the broker's.
int8_t topic_config_source(const std::string& name, const cluster::topic_configs& overrides,
                           const cluster::topic_configs& cluster_defaults) {
  if (overrides.contains(name))
    return source_dynamic_topic;
  if (cluster_defaults.contains(name))
    return source_dynamic_default_broker;
  return source_default;
}

/// Fills a per-resource result's error code and message from `s`.
template <typename Result>
void set_outcome(Result& out, const status& s) {
  out.error_code = s ? error_code::none : to_kafka_error(s.error());
  if (!s)
    out.error_message = s.error().message();
}

}  // namespace

awaitable<net::handler_result> handle_create_topics(request_context& c,
                                                    protocol::create_topics_request& r) {
  protocol::create_topics_response resp;
  // A name given twice is refused, once, and neither entry is created (as Kafka does).
  auto dup = repeated_keys(r.topics, [](const auto& t) { return t.name; });
  auto repeat = later_repeats(r.topics, [](const auto& t) { return t.name; });
  for (size_t i = 0; i < r.topics.size(); ++i) {
    const auto& t = r.topics[i];
    if (repeat[i])
      continue;
    auto& out = resp.topics.emplace_back();
    out.name = t.name;
    if (dup.contains(t.name)) {
      out.error_code = error_code::invalid_request;
      out.error_message = "Duplicate topic name.";
      continue;
    }
    if (!c.may_create_topic(t.name)) {
      out.error_code = error_code::topic_authorization_failed;
      continue;
    }
    cluster::topic_metadata m;
    m.name = t.name;
    m.partitions = t.num_partitions;
    m.replication_factor = t.replication_factor;
    status s = ok();
    if (!t.assignments.empty()) {
      if (t.num_partitions != -1 || t.replication_factor != -1) {
        s = error(cluster::topic_errc::invalid_partitions,
                  "give either assignments or partitions and replication factor");
      }
      m.partitions = static_cast<int32_t>(t.assignments.size());
      m.replication_factor = static_cast<int16_t>(t.assignments.front().broker_ids.size());
      // Partition i is assignments[i]: by index, as Kafka requires them (0..n-1 in any order).
      m.replicas.resize(t.assignments.size());
      for (const auto& a : t.assignments) {
        if (a.broker_ids.empty()) {
          // Refused here: the replication factor taken from an empty first list would be 0,
          // an invalid replication factor rather than the bad assignment it is.
          s = error(cluster::topic_errc::invalid_replica_assignment,
                    fmt::format("partition {}: no replica", a.partition_index));
        } else if (a.partition_index < 0 ||
                   static_cast<size_t>(a.partition_index) >= t.assignments.size() ||
                   !m.replicas[static_cast<size_t>(a.partition_index)].empty()) {
          s = error(cluster::topic_errc::invalid_partitions,
                    "assignments must name partitions "
                    "0 to n-1 once each");
        } else {
          m.replicas[static_cast<size_t>(a.partition_index)] = a.broker_ids;
        }
      }
    }
    for (const auto& cfg : t.configs) {
      if (cfg.value)
        m.configs[cfg.name] = *cfg.value;
    }
    if (s)
      s = co_await c.frontend.create_topic(m, r.validate_only);
    if (!s) {
      out.error_code = to_kafka_error(s.error());
      out.error_message = s.error().message();
      continue;
    }
    out.error_code = error_code::none;
    auto topics = c.topics.snapshot();
    auto it = topics->find(t.name);
    const auto& created = it != topics->end() ? it->second : m;
    out.topic_id.bytes = created.id;  // v7+; zero on a single node
    out.num_partitions =
        created.partitions == -1 ? c.frontend.opts().default_partitions : created.partitions;
    out.replication_factor = created.replication_factor == -1
                                 ? c.frontend.opts().default_replication_factor
                                 : created.replication_factor;
    out.configs.emplace();
    auto cluster_defaults = c.partitions.cluster_defaults();
    for (const auto& e : cluster::effective_configs(
             c.partitions.defaults(), c.partitions.with_cluster_defaults(created.configs))) {
      auto& cf = out.configs->emplace_back();
      cf.name = e.name;
      cf.value = e.value;
      cf.config_source = topic_config_source(e.name, created.configs, cluster_defaults);
    }
  }
  for (const auto& t : resp.topics) {
    c.audit_admin("Topic:" + t.name, t.error_code,
                  r.validate_only ? "validate only"
                                  : fmt::format("{} partitions, replication factor {}",
                                                t.num_partitions, t.replication_factor));
  }
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_delete_topics(request_context& c,
                                                    protocol::delete_topics_request& r) {
  protocol::delete_topics_response resp;
  std::vector<std::string> names = r.topic_names;
  auto topics = c.topics.snapshot();
  bool unknown = std::any_of(r.topics.begin(), r.topics.end(), [&](const auto& t) {
    return !t.name && !cluster::find_topic_by_id(*topics, t.topic_id.bytes);
  });
  auto known = topics_after_catch_up(c, std::move(topics), unknown);
  topics = co_await std::move(known);
  for (const auto& t : r.topics) {
    if (t.name) {
      names.push_back(*t.name);
      continue;
    }
    // v6: a topic named by its id alone.
    if (auto found = cluster::find_topic_by_id(*topics, t.topic_id.bytes)) {
      names.push_back(*found);
    } else {
      auto& out = resp.responses.emplace_back();
      out.name.reset();
      out.topic_id = t.topic_id;
      out.error_code = error_code::unknown_topic_id;
    }
  }
  // A name given twice is refused, once, and not deleted (as Kafka does).
  auto dup = repeated_keys(names, [](const std::string& n) { return n; });
  keep_first(names, [](const std::string& n) { return n; });
  for (const auto& name : names) {
    auto& out = resp.responses.emplace_back();
    out.name = name;
    if (dup.contains(name)) {
      out.error_code = error_code::invalid_request;
      out.error_message = "Duplicate topic name.";
      continue;
    }
    if (!c.allowed(security::acl_operation::remove, security::resource_type::topic, name)) {
      out.error_code = error_code::topic_authorization_failed;
      continue;
    }
    if (!c.frontend.opts().delete_topic_enable) {
      out.error_code = error_code::topic_deletion_disabled;
      continue;
    }
    if (auto it = topics->find(name); it != topics->end())
      out.topic_id.bytes = it->second.id;
    auto s = co_await c.frontend.delete_topic(name);
    set_outcome(out, s);
  }
  for (const auto& t : resp.responses)
    c.audit_admin("Topic:" + t.name.value_or("<unknown id>"), t.error_code);
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_create_partitions(request_context& c,
                                                        protocol::create_partitions_request& r) {
  protocol::create_partitions_response resp;
  auto dup = repeated_keys(r.topics, [](const auto& t) { return t.name; });
  auto repeat = later_repeats(r.topics, [](const auto& t) { return t.name; });
  for (size_t i = 0; i < r.topics.size(); ++i) {
    const auto& t = r.topics[i];
    if (repeat[i])
      continue;
    auto& out = resp.results.emplace_back();
    out.name = t.name;
    if (dup.contains(t.name)) {
      out.error_code = error_code::invalid_request;
      out.error_message = "Duplicate topic name.";
      continue;
    }
    if (!c.allowed(security::acl_operation::alter, security::resource_type::topic, t.name)) {
      out.error_code = error_code::topic_authorization_failed;
      continue;
    }
    std::optional<std::vector<std::vector<int32_t>>> assignment;
    if (t.assignments) {
      assignment.emplace();
      for (const auto& a : *t.assignments)
        assignment->push_back(a.broker_ids);
    }
    auto s = co_await c.frontend.create_partitions(t.name, t.count, r.validate_only,
                                                   std::move(assignment));
    set_outcome(out, s);
  }
  for (const auto& t : resp.results)
    c.audit_admin("Topic:" + t.name, t.error_code, r.validate_only ? "validate only" : "");
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_describe_configs(request_context& c,
                                                       protocol::describe_configs_request& r) {
  protocol::describe_configs_response resp;
  auto known = topics_for(c, topic_resources(r.resources));
  auto topics = co_await std::move(known);
  // Each resource is described once, however often it is named.
  keep_first(r.resources, [](const auto& res) {
    return std::pair<std::string, int>(res.resource_name, res.resource_type);
  });
  for (const auto& res : r.resources) {
    auto& out = resp.results.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (!config_allowed(c, security::acl_operation::describe_configs, res.resource_type,
                        res.resource_name, out.error_code)) {
      continue;
    }
    auto wanted = [&](const std::string& name) {
      return !res.configuration_keys || res.configuration_keys->empty() ||
             std::find(res.configuration_keys->begin(), res.configuration_keys->end(), name) !=
                 res.configuration_keys->end();
    };
    if (res.resource_type == resource_topic) {
      auto it = topics->find(res.resource_name);
      if (it == topics->end()) {
        out.error_code = error_code::unknown_topic_or_partition;
        out.error_message = "unknown topic " + res.resource_name;
        continue;
      }
      const auto& overrides = it->second.configs;
      auto cluster_defaults = c.partitions.cluster_defaults();
      auto defaults = cluster::effective_configs(c.partitions.defaults(), {});
      for (const auto& e : cluster::effective_configs(
               c.partitions.defaults(), c.partitions.with_cluster_defaults(overrides))) {
        if (!wanted(e.name))
          continue;
        auto& cf = out.configs.emplace_back();
        cf.name = e.name;
        cf.value = e.value;
        cf.config_source = topic_config_source(e.name, overrides, cluster_defaults);
        const auto* key = cluster::find_topic_config_key(e.name);
        cf.config_type = config_type(key);
        if (key != nullptr)
          cf.documentation = std::string(key->doc);
        if (r.include_synonyms) {
          if (auto o = overrides.find(e.name); o != overrides.end())
            cf.synonyms.push_back({e.name, o->second, source_dynamic_topic});
          if (auto d = cluster_defaults.find(e.name); d != cluster_defaults.end()) {
            cf.synonyms.push_back(
                {std::string(e.broker_synonym), d->second, source_dynamic_default_broker});
          }
          for (const auto& d : defaults) {
            if (d.name == e.name) {
              cf.synonyms.push_back({std::string(e.broker_synonym), d.value, source_static_broker});
            }
          }
        }
      }
    } else if (res.resource_type == resource_broker) {
      auto cluster_configs = c.frontend.cluster_configs();
      auto describe_dynamic =
          [&](const std::string& name, const std::string& value,
              protocol::describe_configs_response::describe_configs_resource_result& cf) {
            cf.name = name;
            cf.value = value;
            cf.read_only = false;
            cf.config_source = source_dynamic_default_broker;
            const auto* key = cluster::find_cluster_config_key(name);
            cf.config_type = config_type(key);
            if (key != nullptr)
              cf.documentation = std::string(key->doc);
            if (r.include_synonyms)
              cf.synonyms.push_back({name, value, source_dynamic_default_broker});
          };
      if (res.resource_name.empty()) {
        // The cluster-wide defaults (kafka-configs --entity-default): only what is set.
        for (const auto& [name, value] : cluster_configs) {
          if (wanted(name))
            describe_dynamic(name, value, out.configs.emplace_back());
        }
        continue;
      }
      if (res.resource_name != std::to_string(c.id.node_id)) {
        out.error_code = error_code::invalid_request;
        out.error_message = "unknown broker " + res.resource_name;
        continue;
      }
      for (const auto& [name, value] : c.id.broker_configs) {
        if (!wanted(name))
          continue;
        auto& cf = out.configs.emplace_back();
        if (auto d = cluster_configs.find(name); d != cluster_configs.end()) {
          describe_dynamic(name, d->second, cf);
          if (r.include_synonyms)
            cf.synonyms.push_back({name, value, source_static_broker});
          continue;
        }
        cf.name = name;
        cf.value = value;
        cf.read_only = cluster::find_cluster_config_key(name) == nullptr;
        cf.config_source = source_static_broker;
        cf.config_type = type_string;
        if (r.include_synonyms)
          cf.synonyms.push_back({name, value, source_static_broker});
      }
      // Cluster-wide defaults of configs the YAML does not list.
      for (const auto& [name, value] : cluster_configs) {
        bool listed = std::any_of(c.id.broker_configs.begin(), c.id.broker_configs.end(),
                                  [&](const auto& kv) { return kv.first == name; });
        if (!listed && wanted(name))
          describe_dynamic(name, value, out.configs.emplace_back());
      }
    } else {
      out.error_code = error_code::invalid_request;
      out.error_message = "unsupported resource type " + std::to_string(res.resource_type);
    }
  }
  co_return respond(c, resp);
}

namespace {
/// What makes a config resource the same resource twice in one request.
auto resource_key = [](const auto& res) {
  return std::pair<std::string, int>(res.resource_name, res.resource_type);
};

/// Checks a resource of an alter request; returns the current configs of the topic, or the
/// cluster-wide defaults (a broker resource without a name), when valid.
std::optional<cluster::topic_configs> alter_target(request_context& c, int8_t type,
                                                   const std::string& name, error_code& err,
                                                   std::optional<std::string>& msg) {
  if (type == resource_broker) {
    if (name.empty())
      return c.frontend.cluster_configs();
    err = error_code::invalid_config;
    msg =
        "per-broker configs are static: change the node's YAML file, or set a cluster-wide "
        "default (a broker resource without a name: kafka-configs --entity-default)";
    return std::nullopt;
  }
  if (type != resource_topic) {
    err = error_code::invalid_request;
    msg = "unsupported resource type " + std::to_string(type);
    return std::nullopt;
  }
  auto topics = c.topics.snapshot();
  auto it = topics->find(name);
  if (it == topics->end()) {
    err = error_code::unknown_topic_or_partition;
    msg = "unknown topic " + name;
    return std::nullopt;
  }
  return it->second.configs;
}
}  // namespace

awaitable<net::handler_result> handle_alter_configs(request_context& c,
                                                    protocol::alter_configs_request& r) {
  protocol::alter_configs_response resp;
  // A topic made through another broker a moment ago is known here first (the checks below
  // take a new snapshot for each resource).
  auto known = topics_for(c, topic_resources(r.resources));
  co_await std::move(known);
  auto dup = repeated_keys(r.resources, resource_key);
  for (const auto& res : r.resources) {
    auto& out = resp.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (dup.contains(resource_key(res))) {
      out.error_code = error_code::invalid_request;
      out.error_message = "Duplicate resource.";
      continue;
    }
    if (!config_allowed(c, security::acl_operation::alter_configs, res.resource_type,
                        res.resource_name, out.error_code)) {
      continue;
    }
    auto current =
        alter_target(c, res.resource_type, res.resource_name, out.error_code, out.error_message);
    if (!current)
      continue;
    cluster::topic_configs next;  // AlterConfigs replaces the whole set
    for (const auto& cfg : res.configs) {
      if (cfg.value)
        next[cfg.name] = *cfg.value;
    }
    status s = ok();
    if (res.resource_type == resource_broker) {
      auto op = c.frontend.set_cluster_configs(next, {}, true, r.validate_only);
      s = co_await std::move(op);
    } else {
      auto op = c.frontend.set_topic_configs(res.resource_name, next, r.validate_only);
      s = co_await std::move(op);
    }
    set_outcome(out, s);
  }
  for (const auto& res : resp.responses) {
    c.audit_admin(config_resource_name(res.resource_type, res.resource_name), res.error_code,
                  r.validate_only ? "validate only" : "");
  }
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_incremental_alter_configs(
    request_context& c, protocol::incremental_alter_configs_request& r) {
  protocol::incremental_alter_configs_response resp;
  // A topic made through another broker a moment ago is known here first (the checks below
  // take a new snapshot for each resource).
  auto known = topics_for(c, topic_resources(r.resources));
  co_await std::move(known);
  auto dup = repeated_keys(r.resources, resource_key);
  for (const auto& res : r.resources) {
    auto& out = resp.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (dup.contains(resource_key(res))) {
      out.error_code = error_code::invalid_request;
      out.error_message = "Duplicate resource.";
      continue;
    }
    if (!config_allowed(c, security::acl_operation::alter_configs, res.resource_type,
                        res.resource_name, out.error_code)) {
      continue;
    }
    auto current =
        alter_target(c, res.resource_type, res.resource_name, out.error_code, out.error_message);
    if (!current)
      continue;
    auto next = *current;
    // The cluster-wide defaults change by name on the controller (concurrent changes of other
    // names stay); a topic's overrides are replaced as a set.
    cluster::topic_configs set;
    std::vector<std::string> removed;
    status s = ok();
    for (const auto& cfg : res.configs) {
      switch (cfg.config_operation) {
        case 0:  // SET
          if (cfg.value) {
            next[cfg.name] = *cfg.value;
            set[cfg.name] = *cfg.value;
          }
          break;
        case 1:  // DELETE: back to the broker default
          next.erase(cfg.name);
          set.erase(cfg.name);
          removed.push_back(cfg.name);
          break;
        default:  // APPEND / SUBTRACT apply to list configs; Strom's dynamic configs have none
          s = error(cluster::config_errc::invalid_value,
                    cfg.name + ": APPEND and SUBTRACT need a list-valued config");
      }
    }
    if (s && res.resource_type == resource_broker) {
      auto op = c.frontend.set_cluster_configs(set, removed, false, r.validate_only);
      s = co_await std::move(op);
    } else if (s) {
      auto op = c.frontend.set_topic_configs(res.resource_name, next, r.validate_only);
      s = co_await std::move(op);
    }
    set_outcome(out, s);
  }
  for (const auto& res : resp.responses) {
    c.audit_admin(config_resource_name(res.resource_type, res.resource_name), res.error_code,
                  r.validate_only ? "validate only" : "");
  }
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_delete_records(request_context& c,
                                                     protocol::delete_records_request& r) {
  protocol::delete_records_response resp;
  // One entry per partition, however often it is named: the last mention's offset, the first
  // mention's place (Kafka keeps a map).
  struct wanted {
    model::ntp ntp;
    int64_t offset;
  };
  std::vector<wanted> parts;
  {
    std::unordered_map<std::pair<std::string, int32_t>, size_t, pair_hash> seen;
    for (const auto& t : r.topics) {
      for (const auto& p : t.partitions) {
        auto [it, fresh] = seen.try_emplace({t.name, p.partition_index}, parts.size());
        if (fresh)
          parts.push_back({model::ntp{t.name, model::partition_id(p.partition_index)}, p.offset});
        else
          parts[it->second].offset = p.offset;
      }
    }
  }
  for (const auto& want : parts) {
    if (resp.topics.empty() || resp.topics.back().name != want.ntp.topic)
      resp.topics.emplace_back().name = want.ntp.topic;
    auto& out = resp.topics.back();
    if (!c.allowed(security::acl_operation::remove, security::resource_type::topic,
                   want.ntp.topic)) {
      auto& po = out.partitions.emplace_back();
      po.partition_index = want.ntp.partition.value();
      po.error_code = error_code::topic_authorization_failed;
      po.low_watermark = -1;
      continue;
    }
    {
      auto offset = want.offset;
      const model::ntp& n = want.ntp;
      // On the partition's shard; a replicated one answers once its group committed it.
      auto* pm = &c.partitions;
      auto work = [pm, n, offset]() -> awaitable<std::pair<error_code, int64_t>> {
        auto* part = pm->local(n);
        if (part == nullptr)
          co_return std::pair{error_code::unknown_topic_or_partition, int64_t{-1}};
        auto op = part->delete_records(offset);
        auto start = co_await std::move(op);
        if (!start)
          co_return std::pair{to_kafka_error(start.error()), int64_t{-1}};
        co_return std::pair{error_code::none, start->value()};
      };
      auto op = c.partitions.runtime().invoke_on(c.partitions.shard_of(n), work);
      auto res = co_await std::move(op);
      auto& po = out.partitions.emplace_back();
      po.partition_index = n.partition.value();
      po.error_code = res.first;
      po.low_watermark = res.second;
    }
  }
  for (const auto& t : resp.topics) {
    for (const auto& p : t.partitions) {
      c.audit_admin(fmt::format("Topic:{}-{}", t.name, p.partition_index), p.error_code,
                    p.error_code == error_code::none ? fmt::format("log start {}", p.low_watermark)
                                                     : std::string());
    }
  }
  co_return respond(c, resp);
}

namespace {

/// Most bytes of per-partition error messages one AlterPartitionReassignments answer carries;
/// past it the codes go alone, so that an answer stays within a small multiple of its request
/// (a message may name a topic of 249 characters, a partition entry takes 6 bytes).
constexpr size_t reassignment_messages_budget = 64 << 10;

/// The replicas partition `p` of `topic` has now (those a move in flight started from), as the
/// front end sees them; nullopt when there is no such partition (the front end answers that).
std::optional<size_t> replica_count(const request_context& c, const std::string& topic, int32_t p) {
  auto view = c.id.cluster ? c.id.cluster() : nullptr;
  auto topics = view ? view->topics : c.topics.snapshot();
  auto it = topics->find(topic);
  if (it == topics->end() || p < 0 || p >= it->second.partitions)
    return std::nullopt;
  const auto& t = it->second;
  if (t.replicas.empty())
    return size_t{1};  // a single-node broker: every partition is here, once
  if (static_cast<size_t>(p) >= t.replicas.size())
    return std::nullopt;
  return t.replicas[static_cast<size_t>(p)].size();
}

}  // namespace

awaitable<net::handler_result> handle_alter_partition_reassignments(
    request_context& c, protocol::alter_partition_reassignments_request& r) {
  protocol::alter_partition_reassignments_response resp;
  resp.allow_replication_factor_change = r.allow_replication_factor_change;
  using key = std::pair<std::string, int32_t>;
  struct wanted {
    key k;
    const std::optional<std::vector<int32_t>>* replicas;
  };
  // Each partition is answered once, in the order first named, under its topic's entry. A
  // partition named twice is refused (INVALID_REQUEST) and not moved.
  std::vector<wanted> parts;
  std::unordered_set<key, pair_hash> repeated;
  {
    std::unordered_set<key, pair_hash> seen;
    for (const auto& t : r.topics) {
      for (const auto& p : t.partitions) {
        key k{t.name, p.partition_index};
        if (seen.insert(k).second)
          parts.push_back({k, &p.replicas});
        else
          repeated.insert(k);
      }
    }
  }
  if (!c.allowed_on_cluster(security::acl_operation::alter)) {
    resp.error_code = error_code::cluster_authorization_failed;
    co_return respond(c, resp);
  }
  std::unordered_map<std::string, size_t> topic_index;
  size_t budget = reassignment_messages_budget;
  auto set_message = [&budget](auto& out, std::string message) {
    if (message.size() > budget)
      return;
    budget -= message.size();
    out.error_message = std::move(message);
  };
  // timeout_ms bounds the whole request: the moves are recorded one after another (each
  // within the controller's own request timeout), and those not begun by the deadline are
  // answered REQUEST_TIMED_OUT and not made. 0 or less: no bound but the controller's.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (r.timeout_ms > 0)
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.timeout_ms);
  for (const auto& want : parts) {
    const auto& [topic, partition] = want.k;
    auto [ti, fresh] = topic_index.try_emplace(topic, resp.responses.size());
    if (fresh)
      resp.responses.emplace_back().name = topic;
    auto& po = resp.responses[ti->second].partitions.emplace_back();
    po.partition_index = partition;
    if (repeated.contains(want.k)) {
      po.error_code = error_code::invalid_request;
      set_message(po, "Duplicate partition in the request.");
      continue;
    }
    const auto& replicas = *want.replicas;
    if (replicas && !r.allow_replication_factor_change) {
      // v1 (KIP-860): a move that would change the replica count is refused.
      auto now = replica_count(c, topic, partition);
      if (now && *now != replicas->size()) {
        po.error_code = error_code::invalid_replication_factor;
        set_message(po, fmt::format("The replication factor is changed from {} to {}", *now,
                                    replicas->size()));
        continue;
      }
    }
    if (deadline && std::chrono::steady_clock::now() >= *deadline) {
      po.error_code = error_code::request_timed_out;
      set_message(po, "The request's timeout_ms ran out before this move was begun.");
      continue;
    }
    auto op = c.frontend.reassign_partition(topic, partition, replicas);
    auto s = co_await std::move(op);
    if (s)
      continue;
    po.error_code = to_kafka_error(s.error());
    set_message(po, s.error().message());
  }
  for (const auto& t : resp.responses) {
    for (const auto& p : t.partitions)
      c.audit_admin(fmt::format("Topic:{}-{}", t.name, p.partition_index), p.error_code);
  }
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_list_partition_reassignments(
    request_context& c, protocol::list_partition_reassignments_request& r) {
  protocol::list_partition_reassignments_response resp;
  if (!c.allowed_on_cluster(security::acl_operation::describe)) {
    resp.error_code = error_code::cluster_authorization_failed;
    co_return respond(c, resp);
  }
  // Null topics: every move in flight; else the partitions named that are moving (each once).
  std::optional<std::unordered_set<std::pair<std::string, int32_t>, pair_hash>> asked;
  if (r.topics) {
    asked.emplace();
    for (const auto& t : *r.topics) {
      for (auto p : t.partition_indexes)
        asked->insert({t.name, p});
    }
  }
  std::unordered_map<std::string, size_t> topic_index;
  for (auto& m : c.frontend.reassignments()) {
    if (asked && !asked->contains({m.topic, m.partition}))
      continue;
    auto [ti, fresh] = topic_index.try_emplace(m.topic, resp.topics.size());
    if (fresh)
      resp.topics.emplace_back().name = m.topic;
    auto& out = resp.topics[ti->second].partitions.emplace_back();
    out.partition_index = m.partition;
    out.replicas = std::move(m.replicas);
    out.adding_replicas = std::move(m.adding);
    out.removing_replicas = std::move(m.removing);
  }
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_elect_leaders(request_context& c,
                                                    protocol::elect_leaders_request& r) {
  protocol::elect_leaders_response resp;
  constexpr int8_t preferred = 0;
  constexpr int8_t unclean = 1;
  if (r.election_type != preferred && r.election_type != unclean) {
    resp.error_code = error_code::invalid_request;
    co_return respond(c, resp);
  }
  if (!c.allowed_on_cluster(security::acl_operation::alter)) {
    resp.error_code = error_code::cluster_authorization_failed;  // v0: an empty answer
    co_return respond(c, resp);
  }
  // Each topic's partitions, in the order first named; null: every partition of every topic,
  // and only those that needed an election are answered.
  std::vector<std::pair<std::string, std::vector<int32_t>>> asked;
  bool all = !r.topic_partitions.has_value();
  if (all) {
    auto view = c.id.cluster ? c.id.cluster() : nullptr;
    auto topics = view ? view->topics : c.topics.snapshot();
    for (const auto& [name, t] : *topics) {
      auto& a = asked.emplace_back(name, std::vector<int32_t>{});
      for (int32_t p = 0; p < t.partitions; ++p)
        a.second.push_back(p);
    }
  } else {
    std::map<std::string, size_t> index;
    for (const auto& tp : *r.topic_partitions) {
      auto [it, fresh] = index.try_emplace(tp.topic, asked.size());
      if (fresh)
        asked.emplace_back(tp.topic, std::vector<int32_t>{});
      auto& ps = asked[it->second].second;
      for (auto p : tp.partitions) {
        if (std::find(ps.begin(), ps.end(), p) == ps.end())
          ps.push_back(p);
      }
    }
  }
  auto timeout = std::chrono::milliseconds(std::clamp(r.timeout_ms, 0, 60000));
  for (auto& [topic, partitions] : asked) {
    std::vector<std::pair<int32_t, status>> outcomes;
    if (r.election_type == unclean) {
      // A Raft group elects only a replica holding every committed write: an unclean election
      // is never needed where the partition has a leader, and never possible where it has none.
      auto view = c.id.cluster ? c.id.cluster() : nullptr;
      for (auto p : partitions) {
        auto leader = view ? view->elected_leader(topic, p) : std::nullopt;
        bool led = !view || (leader && leader->leader >= 0);
        outcomes.emplace_back(p, error(led ? cluster::topic_errc::election_not_needed
                                           : cluster::topic_errc::unclean_election));
      }
    } else {
      auto op = c.frontend.elect_preferred(topic, partitions, timeout);
      outcomes = co_await std::move(op);
    }
    protocol::elect_leaders_response::replica_election_result* out = nullptr;
    for (auto& [p, s] : outcomes) {
      if (all && !s && s.error().is(cluster::topic_errc::election_not_needed))
        continue;
      if (out == nullptr) {
        out = &resp.replica_election_results.emplace_back();
        out->topic = topic;
      }
      auto& pr = out->partition_result.emplace_back();
      pr.partition_id = p;
      if (!s) {
        pr.error_code = to_kafka_error(s.error());
        pr.error_message = s.error().message();
      }
    }
  }
  for (const auto& t : resp.replica_election_results) {
    for (const auto& p : t.partition_result)
      c.audit_admin(fmt::format("Topic:{}-{}", t.topic, p.partition_id), p.error_code);
  }
  co_return respond(c, resp);
}

awaitable<net::handler_result> handle_describe_cluster(request_context& c,
                                                       protocol::describe_cluster_request& r) {
  protocol::describe_cluster_response resp;
  resp.endpoint_type = r.endpoint_type;
  auto cluster = describe_cluster(c.id);
  if (cluster.cluster_id.empty()) {
    // Not reached a controller yet: a retriable error, not an id that changes later.
    resp.error_code = protocol::error_code::request_timed_out;
    resp.error_message = "the cluster id is not known yet: no controller reached";
    co_return respond(c, resp);
  }
  resp.cluster_id = cluster.cluster_id;
  resp.controller_id = cluster.controller_id;
  for (const auto& d : cluster.brokers) {
    auto& b = resp.brokers.emplace_back();
    b.broker_id = d.node_id;
    b.host = d.host;
    b.port = d.port;
    b.rack = d.rack;
  }
  co_return respond(c, resp);
}

}  // namespace strom::kafka::server
