// stromctl cluster info|health|config|alter-config and broker api-versions (broker
// decommission|recommission|status are in broker.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include "ctl/commands.h"
#include "ctl/decommission.h"
#include "ctl/wire.h"

namespace strom::ctl {

namespace {

/// Exit status of `cluster health` when the cluster is not healthy.
constexpr int unhealthy_exit = 10;

std::string section(std::string_view title) {
  return fmt::format("{}\n{}\n", title, std::string(title.size(), '='));
}

std::string list_text(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += ' ';
    out += items[i];
  }
  return out + "]";
}

json list_json(const std::vector<std::string>& items) {
  json a = json::make_array();
  for (const auto& i : items)
    a.push(i);
  return a;
}

void info(const context& ctx) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  auto md = all_metadata(ctx, rk.get());
  std::string cluster_id = "-";
  if (char* c = rd_kafka_clusterid(rk.get(), ctx.timeout_ms)) {
    cluster_id = c;
    rd_kafka_mem_free(rk.get(), c);
  }
  int32_t controller = rd_kafka_controllerid(rk.get(), ctx.timeout_ms);

  std::vector<const rd_kafka_metadata_broker_t*> brokers;
  for (int i = 0; i < md->broker_cnt; ++i)
    brokers.push_back(&md->brokers[i]);
  std::sort(brokers.begin(), brokers.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::vector<const rd_kafka_metadata_topic_t*> topics;
  for (int i = 0; i < md->topic_cnt; ++i)
    topics.push_back(&md->topics[i]);
  std::sort(topics.begin(), topics.end(),
            [](auto* a, auto* b) { return std::string_view(a->topic) < b->topic; });

  table bt({"id", "host", "port"});
  json jb = json::make_array();
  for (const auto* b : brokers) {
    bt.add({fmt::format("{}{}", b->id, b->id == controller ? "*" : ""), b->host,
            std::to_string(b->port)});
    json r = json::make_object();
    r.set("id", b->id);
    r.set("host", b->host);
    r.set("port", b->port);
    r.set("controller", b->id == controller);
    jb.push(std::move(r));
  }
  table tt({"name", "partitions", "replicas"});
  json jt = json::make_array();
  for (const auto* t : topics) {
    int replicas = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
    tt.add({t->topic, std::to_string(t->partition_cnt), std::to_string(replicas)});
    json r = json::make_object();
    r.set("name", t->topic);
    r.set("partitions", t->partition_cnt);
    r.set("replicas", replicas);
    jt.push(std::move(r));
  }
  if (ctx.json()) {
    json j = json::make_object();
    j.set("cluster_id", cluster_id);
    j.set("controller_id", controller);
    j.set("brokers", std::move(jb));
    j.set("topics", std::move(jt));
    std::cout << j.dump() << '\n';
    return;
  }
  std::cout << section("CLUSTER") << cluster_id << "\n\n"
            << section("BROKERS") << bt.render() << '\n'
            << section("TOPICS") << tt.render();
}

/// What the Kafka protocol alone shows about health: brokers, a controller, and partitions
/// with a leader and their full ISR.
int health_from_kafka(const context& ctx) {
  auto rk = make_client(ctx, client_kind::producer);
  auto md = all_metadata(ctx, rk.get());
  int32_t controller = rd_kafka_controllerid(rk.get(), ctx.timeout_ms);
  std::vector<std::string> nodes, leaderless, under_replicated;
  for (int i = 0; i < md->broker_cnt; ++i)
    nodes.push_back(std::to_string(md->brokers[i].id));
  std::sort(nodes.begin(), nodes.end());
  int partitions = 0;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    for (int k = 0; k < t.partition_cnt; ++k) {
      const auto& p = t.partitions[k];
      ++partitions;
      auto name = fmt::format("{}/{}", t.topic, p.id);
      if (p.leader < 0 || p.err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        leaderless.push_back(name);
      else if (p.isr_cnt < p.replica_cnt)
        under_replicated.push_back(name);
    }
  }
  bool healthy = !nodes.empty() && controller >= 0 && leaderless.empty();
  std::vector<std::string> reasons;
  if (nodes.empty())
    reasons.emplace_back("no_brokers");
  if (controller < 0)
    reasons.emplace_back("no_controller");
  if (!leaderless.empty())
    reasons.emplace_back("leaderless_partitions");
  if (ctx.json()) {
    json j = json::make_object();
    j.set("source", "kafka");
    j.set("healthy", healthy);
    j.set("unhealthy_reasons", list_json(reasons));
    j.set("controller_id", controller);
    j.set("nodes", list_json(nodes));
    j.set("topics", md->topic_cnt);
    j.set("partitions", partitions);
    j.set("leaderless_partitions", list_json(leaderless));
    j.set("under_replicated_partitions", list_json(under_replicated));
    std::cout << j.dump() << '\n';
  } else {
    std::cout << section("CLUSTER HEALTH (Kafka protocol)")
              << render_fields({
                     {"Healthy:", healthy ? "true" : "false"},
                     {"Unhealthy reasons:", list_text(reasons)},
                     {"Controller ID:", controller >= 0 ? std::to_string(controller) : "-"},
                     {"All nodes:", list_text(nodes)},
                     {"Topics:", std::to_string(md->topic_cnt)},
                     {"Partitions:", std::to_string(partitions)},
                     {"Leaderless partitions:", list_text(leaderless)},
                     {"Under-replicated partitions:", list_text(under_replicated)},
                 });
  }
  return healthy ? 0 : unhealthy_exit;
}

int health(const context& ctx) {
  require_table_format(ctx);
  auto url = parse_http_url(ctx.admin_url);
  if (!url)
    fail(fmt::format("--admin-url: {}", url.error().detail()));
  constexpr std::string_view path = "/v1/cluster/health";
  auto res = http_get(*url, path, ctx.timeout_ms);
  std::optional<json> body;
  std::string why;
  if (!res) {
    why = res.error().detail();
  } else if (res->status == 404) {
    why = fmt::format("{} answered 404 for {}", ctx.admin_url, path);
  } else if (res->status >= 400 && res->status < 500) {
    // 401: authorization is enabled and sasl.username / sasl.password are not set (or wrong).
    why = admin_error_text(res->status, res->body);
  } else {
    std::string perr;
    body = json::parse(res->body, &perr);
    if (!body || !body->is_object()) {
      body.reset();
      why =
          fmt::format("HTTP {} without a JSON object from {}{}", res->status, ctx.admin_url, path);
    }
  }
  if (!body) {
    std::cerr << fmt::format(
        "stromctl: admin API at {} not available ({}); showing what the Kafka protocol "
        "reports\n",
        ctx.admin_url, why);
    return health_from_kafka(ctx);
  }
  // The admin API's own answer, shown as it is.
  const json* healthy = body->find("is_healthy");
  if (healthy == nullptr)
    healthy = body->find("healthy");
  bool unhealthy =
      (healthy != nullptr && healthy->is_bool() && !healthy->as_bool()) || res->status >= 500;
  if (ctx.json()) {
    json j = json::make_object();
    j.set("source", "admin");
    j.set("url", ctx.admin_url);
    for (const auto& [k, v] : body->as_object())
      j.set(k, v);
    std::cout << j.dump() << '\n';
  } else {
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& [k, v] : body->as_object()) {
      std::string text;
      if (v.is_array()) {
        std::vector<std::string> items;
        for (const auto& e : v.as_array())
          items.push_back(e.to_text());
        text = list_text(items);
      } else {
        text = v.to_text();
      }
      fields.emplace_back(k + ":", text);
    }
    std::cout << section("CLUSTER HEALTH") << render_fields(fields);
  }
  return unhealthy ? unhealthy_exit : 0;
}

void api_versions(const context& ctx) {
  require_table_format(ctx);
  auto brokers = parse_brokers(ctx.brokers);
  if (!brokers)
    fail(fmt::format("--brokers: {}", brokers.error().detail()));
  auto ranges = fetch_api_versions(*brokers, ctx.timeout_ms);
  if (!ranges)
    fail(ranges.error().detail());
  std::sort(ranges->begin(), ranges->end(), [](auto& a, auto& b) { return a.key < b.key; });
  table t({"key", "name", "min", "max"});
  json j = json::make_array();
  for (const auto& r : *ranges) {
    t.add({std::to_string(r.key), std::string(api_name(r.key)), std::to_string(r.min),
           std::to_string(r.max)});
    json e = json::make_object();
    e.set("key", r.key);
    e.set("name", api_name(r.key));
    e.set("min", r.min);
    e.set("max", r.max);
    j.push(std::move(e));
  }
  emit(ctx, t, j);
}

std::vector<host_port> brokers_or_fail(const context& ctx) {
  auto brokers = parse_brokers(ctx.brokers);
  if (!brokers)
    fail(fmt::format("--brokers: {}", brokers.error().detail()));
  return *brokers;
}

void print_cluster_configs(const context& ctx, const std::map<std::string, std::string>& c) {
  table t({"name", "value"});
  json j = json::make_object();
  for (const auto& [k, v] : c) {
    t.add({k, v});
    j.set(k, v);
  }
  emit(ctx, t, j);
}

void cluster_configs(const context& ctx) {
  auto c = describe_cluster_configs(brokers_or_fail(ctx), ctx.timeout_ms);
  if (!c)
    fail(c.error().detail());
  print_cluster_configs(ctx, *c);
}

void alter_cluster_config(const context& ctx, const std::vector<std::string>& sets,
                          const std::vector<std::string>& deletes) {
  if (sets.empty() && deletes.empty())
    fail("nothing to change: give --set key=value or --delete key");
  auto brokers = brokers_or_fail(ctx);
  std::map<std::string, std::string> set;
  for (const auto& s : sets) {
    auto kv = parse_key_value(s);
    if (!kv)
      fail(fmt::format("--set: {}", kv.error().detail()));
    set[kv->first] = kv->second;
  }
  if (auto s = alter_cluster_configs(brokers, ctx.timeout_ms, set, deletes); !s)
    fail(fmt::format("cluster-wide configs not changed: {}", s.error().detail()));
  auto c = describe_cluster_configs(brokers, ctx.timeout_ms);
  if (!c)
    fail(c.error().detail());
  print_cluster_configs(ctx, *c);
}

}  // namespace

void add_cluster_commands(CLI::App& app, context& ctx) {
  auto* cluster = app.add_subcommand("cluster", "Cluster metadata and health");
  cluster->require_subcommand(1);
  cluster->footer("Examples:\n  stromctl cluster info\n  stromctl cluster health");
  auto* i = cluster->add_subcommand("info", "Cluster id, brokers (controller marked *) and topics");
  i->footer("Examples:\n  stromctl cluster info\n  stromctl cluster info -b broker-1:9092");
  on_run(i, ctx, [&ctx] { info(ctx); });

  auto* h = cluster->add_subcommand(
      "health", "Cluster health from the admin API, or from Kafka metadata when it is down");
  h->footer(
      "Asks GET /v1/cluster/health on --admin-url (default http://localhost:9644). When that\n"
      "cannot be reached, says so in one line on stderr and reports what the Kafka protocol\n"
      "shows: brokers, controller, and partitions without a leader. Exit status 0 when healthy,\n"
      "10 when not.\n"
      "Examples:\n"
      "  stromctl cluster health\n"
      "  stromctl cluster health --admin-url http://broker-1:9644 --format json");
  on_run(h, ctx, [&ctx] {
    int rc = health(ctx);
    if (rc != 0) {
      std::cout.flush();
      std::exit(rc);
    }
  });

  auto* cc = cluster->add_subcommand(
      "config", "The cluster-wide config defaults set at run time (none: the nodes' YAML rules)");
  cc->footer(
      "Asks DescribeConfigs of the broker resource without a name (kafka-configs\n"
      "--entity-type brokers --entity-default).\n"
      "Examples:\n  stromctl cluster config\n  stromctl cluster config --format json");
  on_run(cc, ctx, [&ctx] { cluster_configs(ctx); });
  struct alter_options {
    std::vector<std::string> sets, deletes;
  };
  auto ao = std::make_shared<alter_options>();
  auto* ac = cluster->add_subcommand(
      "alter-config",
      "Set or remove cluster-wide config defaults (log.retention.ms, message.max.bytes, ...)");
  ac->add_option("-s,--set", ao->sets, "broker-level name=value to set (repeatable)");
  ac->add_option("-d,--delete", ao->deletes,
                 "Default to remove, back to each node's YAML (repeatable)");
  ac->footer(
      "Every topic without its own value takes the new default at once, on every broker.\n"
      "Examples:\n"
      "  stromctl cluster alter-config --set log.retention.ms=86400000\n"
      "  stromctl cluster alter-config --delete log.retention.ms --set message.max.bytes=2097152");
  on_run(ac, ctx, [&ctx, ao] { alter_cluster_config(ctx, ao->sets, ao->deletes); });

  auto* broker = app.add_subcommand("broker", "Per-broker information and decommissioning");
  broker->require_subcommand(1);
  broker->footer(
      "Examples:\n  stromctl broker api-versions\n  stromctl broker decommission 4 --wait\n"
      "  stromctl broker status");
  auto* v = broker->add_subcommand(
      "api-versions", "The Kafka APIs and version ranges the broker advertises (ApiVersions)");
  v->footer(
      "Asks the first reachable address of --brokers.\n"
      "Examples:\n  stromctl broker api-versions\n"
      "  stromctl broker api-versions -b 127.0.0.1:9092 --format json");
  on_run(v, ctx, [&ctx] { api_versions(ctx); });

  add_broker_decommission_commands(*broker, ctx);
}

}  // namespace strom::ctl
