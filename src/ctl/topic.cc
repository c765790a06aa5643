// stromctl topic create|list|describe|delete|alter-config|add-partitions|export, and apply
// (topic alter is in partition.cc, with the other reassignment commands).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "ctl/commands.h"
#include "ctl/topics_file.h"

namespace strom::ctl {

namespace {

std::string join_ids(const int32_t* ids, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i)
      out += ',';
    out += std::to_string(ids[i]);
  }
  return out.empty() ? "-" : out;
}

json ids_json(const int32_t* ids, int n) {
  json a = json::make_array();
  for (int i = 0; i < n; ++i)
    a.push(static_cast<int64_t>(ids[i]));
  return a;
}

bool is_internal(std::string_view name) {
  return name.starts_with("__");
}

/// Prints one TOPIC STATUS row per result; exits 1 when any failed.
void report_results(const context& ctx, const rd_kafka_topic_result_t** res, size_t n,
                    std::string_view verb) {
  table t({"topic", "status"});
  json j = json::make_array();
  size_t failed = 0;
  for (size_t i = 0; i < n; ++i) {
    auto err = rd_kafka_topic_result_error(res[i]);
    const char* msg = rd_kafka_topic_result_error_string(res[i]);
    std::string status =
        err == RD_KAFKA_RESP_ERR_NO_ERROR
            ? "OK"
            : fmt::format("{}: {}", rd_kafka_err2name(err), msg != nullptr ? msg : error_text(err));
    failed += err != RD_KAFKA_RESP_ERR_NO_ERROR;
    t.add({rd_kafka_topic_result_name(res[i]), status});
    json row = json::make_object();
    row.set("topic", rd_kafka_topic_result_name(res[i]));
    row.set("ok", err == RD_KAFKA_RESP_ERR_NO_ERROR);
    row.set("error", err == RD_KAFKA_RESP_ERR_NO_ERROR ? json() : json(status));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
  if (failed > 0)
    fail(fmt::format("{} of {} topics could not be {}", failed, n, verb));
}

struct create_options {
  std::vector<std::string> topics;
  int partitions = -1;
  int replicas = -1;
  std::vector<std::string> configs;
  bool dry_run = false;
};

void create(const context& ctx, const create_options& o) {
  require_table_format(ctx);
  std::vector<std::pair<std::string, std::string>> configs;
  for (const auto& c : o.configs) {
    auto kv = parse_key_value(c);
    if (!kv)
      fail(fmt::format("--config: {}", kv.error().detail()));
    configs.push_back(*kv);
  }
  auto rk = make_client(ctx, client_kind::producer);
  std::vector<rd_kafka_NewTopic_t*> nts;
  char errstr[512];
  for (const auto& name : o.topics) {
    auto* nt = rd_kafka_NewTopic_new(name.c_str(), o.partitions, o.replicas, errstr, sizeof errstr);
    if (nt == nullptr)
      fail(fmt::format("topic {}: {}", name, errstr));
    for (const auto& [k, v] : configs)
      rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    nts.push_back(nt);
  }
  auto ev = run_admin(
      ctx, rk.get(),
      [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
        rd_kafka_CreateTopics(rk.get(), nts.data(), nts.size(), opts, q);
      },
      o.dry_run);
  rd_kafka_NewTopic_destroy_array(nts.data(), nts.size());
  size_t n = 0;
  auto* res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  report_results(ctx, res, n, "created");
}

void list(const context& ctx, bool internal) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  auto md = all_metadata(ctx, rk.get());
  std::vector<const rd_kafka_metadata_topic_t*> topics;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (internal || !is_internal(md->topics[i].topic))
      topics.push_back(&md->topics[i]);
  }
  std::sort(topics.begin(), topics.end(),
            [](auto* a, auto* b) { return std::string_view(a->topic) < b->topic; });
  table t({"name", "partitions", "replicas"});
  json j = json::make_array();
  for (const auto* tp : topics) {
    int replicas = tp->partition_cnt > 0 ? tp->partitions[0].replica_cnt : 0;
    t.add({tp->topic, std::to_string(tp->partition_cnt), std::to_string(replicas)});
    json row = json::make_object();
    row.set("name", tp->topic);
    row.set("partitions", tp->partition_cnt);
    row.set("replicas", replicas);
    row.set("internal", is_internal(tp->topic));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
}

using config_resource_ptr =
    std::unique_ptr<rd_kafka_ConfigResource_t, rd_deleter<rd_kafka_ConfigResource_destroy>>;

struct config_entry {
  std::string name;
  std::optional<std::string> value;
  rd_kafka_ConfigSource_t source = RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG;
  bool sensitive = false;
};

/// The configs of each topic, in the order asked; fails on any error.
std::vector<std::vector<config_entry>> describe_configs(const context& ctx, rd_kafka_t* rk,
                                                        const std::vector<std::string>& topics) {
  std::vector<rd_kafka_ConfigResource_t*> rs;
  for (const auto& name : topics)
    rs.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_DescribeConfigs(rk, rs.data(), rs.size(), opts, q);
  });
  rd_kafka_ConfigResource_destroy_array(rs.data(), rs.size());
  size_t n = 0;
  auto* res = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  std::map<std::string, std::vector<config_entry>> by_name;
  for (size_t i = 0; i < n; ++i) {
    std::string name = rd_kafka_ConfigResource_name(res[i]);
    auto err = rd_kafka_ConfigResource_error(res[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_ConfigResource_error_string(res[i]);
      fail(fmt::format("configs of topic {}: {}", name, msg != nullptr ? msg : error_text(err)));
    }
    size_t cnt = 0;
    auto* entries = rd_kafka_ConfigResource_configs(res[i], &cnt);
    auto& out = by_name[name];
    for (size_t k = 0; k < cnt; ++k) {
      config_entry e;
      e.name = rd_kafka_ConfigEntry_name(entries[k]);
      if (const char* v = rd_kafka_ConfigEntry_value(entries[k]))
        e.value = v;
      e.source = rd_kafka_ConfigEntry_source(entries[k]);
      e.sensitive = rd_kafka_ConfigEntry_is_sensitive(entries[k]) != 0;
      out.push_back(std::move(e));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  }
  std::vector<std::vector<config_entry>> out;
  for (const auto& name : topics)
    out.push_back(by_name[name]);
  return out;
}

void describe(const context& ctx, const std::vector<std::string>& names) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  auto md = all_metadata(ctx, rk.get());
  for (const auto& name : names) {
    if (find_topic(md.get(), name) == nullptr)
      fail(fmt::format("topic {} does not exist", name));
  }
  auto configs = describe_configs(ctx, rk.get(), names);
  json all = json::make_array();
  for (size_t ti = 0; ti < names.size(); ++ti) {
    const auto* tp = find_topic(md.get(), names[ti]);
    if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail(fmt::format("topic {}: {}", names[ti], error_text(tp->err)));
    std::vector<const rd_kafka_metadata_partition_t*> parts;
    for (int i = 0; i < tp->partition_cnt; ++i)
      parts.push_back(&tp->partitions[i]);
    std::sort(parts.begin(), parts.end(), [](auto* a, auto* b) { return a->id < b->id; });
    int replicas = parts.empty() ? 0 : parts[0]->replica_cnt;

    json j = json::make_object();
    j.set("name", names[ti]);
    j.set("internal", is_internal(names[ti]));
    j.set("partitions", tp->partition_cnt);
    j.set("replicas", replicas);
    auto summary = render_fields({{"NAME", names[ti]},
                                  {"PARTITIONS", std::to_string(tp->partition_cnt)},
                                  {"REPLICAS", std::to_string(replicas)},
                                  {"INTERNAL", is_internal(names[ti]) ? "true" : "false"}});

    table ct({"key", "value", "source"});
    json jc = json::make_array();
    for (const auto& e : configs[ti]) {
      std::string v = e.sensitive ? "(sensitive)" : e.value.value_or("-");
      ct.add({e.name, v, rd_kafka_ConfigSource_name(e.source)});
      json c = json::make_object();
      c.set("name", e.name);
      c.set("value", e.sensitive || !e.value ? json() : json(*e.value));
      c.set("source", rd_kafka_ConfigSource_name(e.source));
      c.set("sensitive", e.sensitive);
      jc.push(std::move(c));
    }
    j.set("configs", std::move(jc));

    table pt({"partition", "leader", "replicas", "isr", "log-start-offset", "high-watermark"});
    json jp = json::make_array();
    for (const auto* p : parts) {
      auto w = query_watermarks(ctx, rk.get(), names[ti], p->id);
      pt.add({std::to_string(p->id), p->leader >= 0 ? std::to_string(p->leader) : "-",
              join_ids(p->replicas, p->replica_cnt), join_ids(p->isrs, p->isr_cnt),
              std::to_string(w.low), std::to_string(w.high)});
      json r = json::make_object();
      r.set("partition", p->id);
      r.set("leader", p->leader);
      r.set("replicas", ids_json(p->replicas, p->replica_cnt));
      r.set("isr", ids_json(p->isrs, p->isr_cnt));
      r.set("log_start_offset", w.low);
      r.set("high_watermark", w.high);
      if (p->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        r.set("error", error_text(p->err));
      jp.push(std::move(r));
    }
    j.set("partition_list", std::move(jp));
    all.push(std::move(j));
    if (!ctx.json()) {
      if (ti > 0)
        std::cout << '\n';
      std::cout << summary << "\nCONFIGS\n" << ct.render() << "\nPARTITIONS\n" << pt.render();
    }
  }
  if (ctx.json())
    std::cout << all.dump() << '\n';
}

void remove(const context& ctx, const std::vector<std::string>& names) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  std::vector<rd_kafka_DeleteTopic_t*> dts;
  for (const auto& name : names)
    dts.push_back(rd_kafka_DeleteTopic_new(name.c_str()));
  auto ev = run_admin(ctx, rk.get(), [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_DeleteTopics(rk.get(), dts.data(), dts.size(), opts, q);
  });
  rd_kafka_DeleteTopic_destroy_array(dts.data(), dts.size());
  size_t n = 0;
  auto* res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  report_results(ctx, res, n, "deleted");
}

void alter_config(const context& ctx, const std::string& topic,
                  const std::vector<std::string>& sets, const std::vector<std::string>& deletes) {
  require_table_format(ctx);
  if (sets.empty() && deletes.empty())
    fail("nothing to change: give --set key=value or --delete key");
  auto rk = make_client(ctx, client_kind::producer);
  // AlterConfigs replaces a topic's whole set of overrides (librdkafka 2.0 has no incremental
  // call), so start from the overrides the topic has now.
  auto current = describe_configs(ctx, rk.get(), {topic});
  std::map<std::string, std::string> overrides;
  for (const auto& e : current[0]) {
    if (e.source == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG && e.value)
      overrides[e.name] = *e.value;
  }
  for (const auto& s : sets) {
    auto kv = parse_key_value(s);
    if (!kv)
      fail(fmt::format("--set: {}", kv.error().detail()));
    overrides[kv->first] = kv->second;
  }
  for (const auto& d : deletes)
    overrides.erase(d);
  config_resource_ptr r(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  for (const auto& [k, v] : overrides)
    rd_kafka_ConfigResource_set_config(r.get(), k.c_str(), v.c_str());
  rd_kafka_ConfigResource_t* arr[] = {r.get()};
  auto ev = run_admin(ctx, rk.get(), [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_AlterConfigs(rk.get(), arr, 1, opts, q);
  });
  size_t n = 0;
  auto* res =
      rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev.get()), &n);
  table t({"topic", "status"});
  json j = json::make_array();
  for (size_t i = 0; i < n; ++i) {
    auto err = rd_kafka_ConfigResource_error(res[i]);
    const char* msg = rd_kafka_ConfigResource_error_string(res[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail(fmt::format("topic {}: {}", topic, msg != nullptr ? msg : error_text(err)));
    t.add({rd_kafka_ConfigResource_name(res[i]), "OK"});
    json row = json::make_object();
    row.set("topic", rd_kafka_ConfigResource_name(res[i]));
    row.set("ok", true);
    json ov = json::make_object();
    for (const auto& [k, v] : overrides)
      ov.set(k, v);
    row.set("overrides", std::move(ov));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
}

// --- Topics as YAML ---------------------------------------------------------------------------

/// Every topic of the cluster with its partitions, replication factor and overrides; the
/// number of brokers.
std::pair<std::vector<live_topic>, int32_t> live_state(const context& ctx, rd_kafka_t* rk) {
  auto md = all_metadata(ctx, rk);
  std::vector<live_topic> out;
  std::vector<std::string> names;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& tp = md->topics[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR)
      continue;
    live_topic t;
    t.name = tp.topic;
    t.partitions = tp.partition_cnt;
    t.replication_factor =
        static_cast<int16_t>(tp.partition_cnt > 0 ? tp.partitions[0].replica_cnt : 0);
    t.internal = is_internal(t.name);
    out.push_back(std::move(t));
    names.push_back(tp.topic);
  }
  if (!names.empty()) {
    auto configs = describe_configs(ctx, rk, names);
    for (size_t i = 0; i < out.size(); ++i) {
      for (const auto& e : configs[i]) {
        if (e.source == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG && e.value)
          out[i].configs[e.name] = *e.value;
      }
    }
  }
  return {std::move(out), md->broker_cnt};
}

/// Fails naming the first topic whose result is an error.
template <typename Result>
void check_topic_results(const Result** res, size_t n, std::string_view what) {
  for (size_t i = 0; i < n; ++i) {
    auto err = rd_kafka_topic_result_error(res[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      continue;
    const char* msg = rd_kafka_topic_result_error_string(res[i]);
    fail(fmt::format("{} {}: {}", what, rd_kafka_topic_result_name(res[i]),
                     msg != nullptr ? msg : error_text(err)));
  }
}

void carry_out(const context& ctx, rd_kafka_t* rk, const std::vector<plan_step>& plan) {
  using K = plan_step::kind;
  char errstr[512];
  std::vector<rd_kafka_NewTopic_t*> creates;
  std::vector<rd_kafka_NewPartitions_t*> grows;
  std::vector<rd_kafka_DeleteTopic_t*> deletes;
  for (const auto& s : plan) {
    if (s.what == K::create) {
      auto* nt = rd_kafka_NewTopic_new(s.spec.name.c_str(), s.spec.partitions,
                                       s.spec.replication_factor, errstr, sizeof errstr);
      if (nt == nullptr)
        fail(fmt::format("topic {}: {}", s.spec.name, errstr));
      for (const auto& [k, v] : s.spec.configs)
        rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
      creates.push_back(nt);
    } else if (s.what == K::add_partitions) {
      auto* np = rd_kafka_NewPartitions_new(
          s.spec.name.c_str(), static_cast<size_t>(s.spec.partitions), errstr, sizeof errstr);
      if (np == nullptr)
        fail(fmt::format("topic {}: {}", s.spec.name, errstr));
      grows.push_back(np);
    } else if (s.what == K::remove) {
      deletes.push_back(rd_kafka_DeleteTopic_new(s.spec.name.c_str()));
    }
  }
  if (!creates.empty()) {
    auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
      rd_kafka_CreateTopics(rk, creates.data(), creates.size(), opts, q);
    });
    rd_kafka_NewTopic_destroy_array(creates.data(), creates.size());
    size_t n = 0;
    auto* res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
    check_topic_results(res, n, "creating topic");
  }
  if (!grows.empty()) {
    auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
      rd_kafka_CreatePartitions(rk, grows.data(), grows.size(), opts, q);
    });
    rd_kafka_NewPartitions_destroy_array(grows.data(), grows.size());
    size_t n = 0;
    auto* res = rd_kafka_CreatePartitions_result_topics(
        rd_kafka_event_CreatePartitions_result(ev.get()), &n);
    check_topic_results(res, n, "adding partitions to");
  }
  for (const auto& s : plan) {
    if (s.what != K::alter_configs)
      continue;
    // AlterConfigs replaces the whole set of overrides: the file's.
    config_resource_ptr r(
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, s.spec.name.c_str()));
    for (const auto& [k, v] : s.spec.configs)
      rd_kafka_ConfigResource_set_config(r.get(), k.c_str(), v.c_str());
    rd_kafka_ConfigResource_t* arr[] = {r.get()};
    auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
      rd_kafka_AlterConfigs(rk, arr, 1, opts, q);
    });
    size_t n = 0;
    auto* res =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      auto err = rd_kafka_ConfigResource_error(res[i]);
      const char* msg = rd_kafka_ConfigResource_error_string(res[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fail(fmt::format("altering the configs of topic {}: {}", s.spec.name,
                         msg != nullptr ? msg : error_text(err)));
      }
    }
  }
  if (!deletes.empty()) {
    auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
      rd_kafka_DeleteTopics(rk, deletes.data(), deletes.size(), opts, q);
    });
    rd_kafka_DeleteTopic_destroy_array(deletes.data(), deletes.size());
    size_t n = 0;
    auto* res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
    check_topic_results(res, n, "deleting topic");
  }
}

void apply(const context& ctx, const std::string& file, bool dry_run, bool prune) {
  require_table_format(ctx);
  std::ifstream in(file);
  if (!in)
    fail(fmt::format("cannot read {}", file));
  std::stringstream text;
  text << in.rdbuf();
  auto want = parse_topics_file(text.str());
  if (!want)
    fail(fmt::format("{}: {}", file, want.error().detail()));
  auto rk = make_client(ctx, client_kind::producer);
  auto [have, brokers] = live_state(ctx, rk.get());
  auto plan = make_plan(*want, have, prune, brokers);
  if (!plan)
    fail(fmt::format("{}: {}", file, plan.error().detail()));
  table t({"change"});
  json j = json::make_array();
  for (const auto& s : *plan) {
    t.add({s.text});
    j.push(json(s.text));
  }
  if (plan->empty()) {
    if (!ctx.json())
      std::cout << "nothing to change: the cluster matches " << file << '\n';
    else
      emit(ctx, t, j);
    return;
  }
  emit(ctx, t, j);
  if (dry_run) {
    if (!ctx.json())
      std::cout << "dry run: nothing changed\n";
    return;
  }
  // Replication factor changes are partition moves: checked before anything changes, and
  // computed again once the other steps are done (new partitions move too).
  std::vector<const plan_step*> factor_steps;
  for (const auto& s : *plan) {
    if (s.what != plan_step::kind::change_replication_factor)
      continue;
    factor_steps.push_back(&s);
    auto moves = replication_factor_moves(
        s.spec.name, read_topic_replicas(ctx, rk.get(), s.spec.name), s.spec.replication_factor);
    if (!moves)
      fail(fmt::format("{}; nothing was changed", moves.error().detail()));
  }
  carry_out(ctx, rk.get(), *plan);
  auto deadline = now_ms() + ctx.timeout_ms;
  std::vector<std::pair<std::string, int32_t>> moved;
  if (!factor_steps.empty()) {
    std::vector<reassignment_target> moves;
    for (const auto* s : factor_steps) {
      auto now = read_topic_replicas(ctx, rk.get(), s->spec.name);
      while (static_cast<int32_t>(now.partitions.size()) < s->spec.partitions) {
        if (now_ms() > deadline) {
          fail(fmt::format("topic {} does not show its {} partitions after {} ms", s->spec.name,
                           s->spec.partitions, ctx.timeout_ms));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = read_topic_replicas(ctx, rk.get(), s->spec.name);
      }
      auto m = replication_factor_moves(s->spec.name, now, s->spec.replication_factor);
      if (!m)
        fail(m.error().detail());
      moves.insert(moves.end(), m->begin(), m->end());
    }
    if (!moves.empty()) {
      for (const auto& out : send_reassignments(ctx, moves)) {
        if (!out.ok()) {
          fail(fmt::format("moving {}/{}: {}{}{}", out.topic, out.partition, out.error_name,
                           out.message.empty() ? "" : ": ", out.message));
        }
      }
    }
    for (const auto& m : moves)
      moved.emplace_back(m.topic, m.partition);
  }
  // Done when the moves ended and the cluster, as read back, needs no change.
  wait_reassignments(ctx, moved, deadline);
  for (;;) {
    auto [now_have, now_brokers] = live_state(ctx, rk.get());
    auto left = make_plan(*want, now_have, prune, now_brokers);
    if (!left)
      fail(fmt::format("{}: {}", file, left.error().detail()));
    if (left->empty())
      break;
    if (now_ms() > deadline) {
      fail(fmt::format("the cluster does not match {} yet after {} ms: {}", file, ctx.timeout_ms,
                       left->front().text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!ctx.json())
    std::cout << "applied: the cluster matches " << file << '\n';
}

void export_topics(const context& ctx, const std::vector<std::string>& names) {
  auto rk = make_client(ctx, client_kind::producer);
  auto [have, brokers] = live_state(ctx, rk.get());
  std::vector<topic_spec> out;
  for (const auto& name : names) {
    if (std::none_of(have.begin(), have.end(), [&](auto& h) { return h.name == name; }))
      fail(fmt::format("topic {} does not exist", name));
  }
  for (const auto& h : have) {
    bool asked = std::find(names.begin(), names.end(), h.name) != names.end();
    if (names.empty() ? h.internal : !asked)
      continue;
    out.push_back({h.name, h.partitions, h.replication_factor, h.configs});
  }
  std::cout << format_topics_file(out);
}

void add_partitions(const context& ctx, const std::string& topic, int add, int total) {
  require_table_format(ctx);
  if ((add > 0) == (total > 0))
    fail("give either --num N (partitions to add) or --total N (the new partition count)");
  auto rk = make_client(ctx, client_kind::producer);
  if (add > 0) {
    auto md = all_metadata(ctx, rk.get());
    const auto* tp = find_topic(md.get(), topic);
    if (tp == nullptr)
      fail(fmt::format("topic {} does not exist", topic));
    total = tp->partition_cnt + add;
  }
  char errstr[512];
  auto* np =
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(total), errstr, sizeof errstr);
  if (np == nullptr)
    fail(errstr);
  auto ev = run_admin(ctx, rk.get(), [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_CreatePartitions(rk.get(), &np, 1, opts, q);
  });
  rd_kafka_NewPartitions_destroy(np);
  size_t n = 0;
  auto* res =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  report_results(ctx, res, n, "given more partitions");
}

}  // namespace

void add_topic_commands(CLI::App& app, context& ctx) {
  auto* topic = app.add_subcommand("topic", "Create, list, describe, change and delete topics");
  topic->require_subcommand(1);
  topic->footer(
      "Examples:\n  stromctl topic list\n  stromctl topic describe clicks\n"
      "Run 'stromctl topic COMMAND --help' for each command's options.");

  auto co = std::make_shared<create_options>();
  auto* c = topic->add_subcommand("create", "Create topics");
  c->add_option("topics", co->topics, "Topic names")->required();
  c->add_option("-p,--partitions", co->partitions, "Partitions (default: the broker's)");
  c->add_option("-r,--replicas", co->replicas, "Replication factor (default: the broker's)");
  c->add_option("-c,--config", co->configs, "Topic config key=value (repeatable)");
  c->add_flag("--dry-run", co->dry_run, "Validate only, create nothing");
  c->footer(
      "Examples:\n"
      "  stromctl topic create clicks -p 6\n"
      "  stromctl topic create orders -p 3 -c retention.ms=86400000 -c cleanup.policy=compact");
  on_run(c, ctx, [&ctx, co] { create(ctx, *co); });

  auto internal = std::make_shared<bool>(false);
  auto* l = topic->add_subcommand("list", "List topics with their partition and replica counts");
  l->alias("ls");
  l->add_flag("-i,--internal", *internal, "Include internal topics (__consumer_offsets)");
  l->footer("Examples:\n  stromctl topic list\n  stromctl topic list --format json");
  on_run(l, ctx, [&ctx, internal] { list(ctx, *internal); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* d = topic->add_subcommand(
      "describe", "Show a topic's configs and partitions (leader, replicas, offsets)");
  d->add_option("topics", *names, "Topic names")->required();
  d->footer(
      "Examples:\n  stromctl topic describe clicks\n  stromctl topic describe clicks -b "
      "broker-1:9092 --format json");
  on_run(d, ctx, [&ctx, names] { describe(ctx, *names); });

  auto del = std::make_shared<std::vector<std::string>>();
  auto* rm = topic->add_subcommand("delete", "Delete topics");
  rm->add_option("topics", *del, "Topic names")->required();
  rm->footer("Examples:\n  stromctl topic delete clicks");
  on_run(rm, ctx, [&ctx, del] { remove(ctx, *del); });

  struct alter_options {
    std::string topic;
    std::vector<std::string> sets, deletes;
  };
  auto ao = std::make_shared<alter_options>();
  auto* a = topic->add_subcommand("alter-config", "Set or remove topic config overrides");
  a->add_option("topic", ao->topic, "Topic name")->required();
  a->add_option("-s,--set", ao->sets, "key=value to set (repeatable)");
  a->add_option("-d,--delete", ao->deletes, "Override to remove, back to the default (repeatable)");
  a->footer(
      "Examples:\n"
      "  stromctl topic alter-config clicks --set retention.ms=3600000\n"
      "  stromctl topic alter-config clicks --delete retention.ms --set segment.bytes=67108864");
  on_run(a, ctx, [&ctx, ao] { alter_config(ctx, ao->topic, ao->sets, ao->deletes); });

  struct partitions_options {
    std::string topic;
    int add = 0;
    int total = 0;
  };
  auto po = std::make_shared<partitions_options>();
  auto* p = topic->add_subcommand("add-partitions", "Raise a topic's partition count");
  p->add_option("topic", po->topic, "Topic name")->required();
  p->add_option("-n,--num", po->add, "Partitions to add")->check(CLI::PositiveNumber);
  p->add_option("--total", po->total, "The new partition count")->check(CLI::PositiveNumber);
  p->footer(
      "Examples:\n  stromctl topic add-partitions clicks -n 2\n"
      "  stromctl topic add-partitions clicks --total 12");
  on_run(p, ctx, [&ctx, po] { add_partitions(ctx, po->topic, po->add, po->total); });

  add_topic_alter_command(*topic, ctx);

  auto exported = std::make_shared<std::vector<std::string>>();
  auto* x = topic->add_subcommand("export", "Write topics as a stromctl apply file");
  x->add_option("topics", *exported, "Topics (default: every topic but the internal ones)");
  x->footer(
      "Partitions, replication factor and config overrides, in the format of 'stromctl apply'.\n"
      "Examples:\n  stromctl topic export > topics.yaml\n  stromctl topic export clicks "
      "payments");
  on_run(x, ctx, [&ctx, exported] { export_topics(ctx, *exported); });

  struct apply_options {
    std::string file;
    bool dry_run = false;
    bool prune = false;
  };
  auto apo = std::make_shared<apply_options>();
  auto* ap = app.add_subcommand("apply", "Make the cluster's topics what a YAML file declares");
  ap->add_option("-f,--file", apo->file, "The topics file")->required();
  ap->add_flag("--dry-run", apo->dry_run, "Print the plan and change nothing");
  ap->add_flag("--prune", apo->prune, "Also delete topics the file does not name (not '__' ones)");
  ap->footer(
      "The file: a top-level 'topics' list; each entry has name, partitions, optionally\n"
      "replication_factor and configs (Kafka's dotted names; the whole set of overrides).\n"
      "Prints the plan (create, add partitions, change the replication factor, alter configs,\n"
      "delete with --prune), carries it out and waits until the cluster matches (a replication\n"
      "factor change moves partitions as 'topic alter' does, and waits until the moves are\n"
      "done). Applying the same file again changes nothing. Waits at most --timeout.\n"
      "Examples:\n  stromctl apply -f topics.yaml --dry-run\n  stromctl apply -f topics.yaml\n"
      "  stromctl apply -f topics.yaml --prune");
  on_run(ap, ctx, [&ctx, apo] { apply(ctx, apo->file, apo->dry_run, apo->prune); });
}

}  // namespace strom::ctl
