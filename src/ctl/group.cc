// stromctl group list|describe|seek|delete
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "ctl/commands.h"

namespace strom::ctl {

namespace {

using topic_partition = std::pair<std::string, int32_t>;

struct member_info {
  std::string consumer_id, host, client_id;
};

struct group_info {
  std::string id;
  std::string state;
  std::string assignor;
  std::vector<member_info> members;
  std::map<topic_partition, size_t> owner;  // partition -> index into members
  std::vector<size_t> idle_members;         // members without partitions
};

std::string error_message(const rd_kafka_error_t* e) {
  return fmt::format("{}", rd_kafka_error_string(e));
}

std::vector<group_info> describe_groups(const context& ctx, rd_kafka_t* rk,
                                        const std::vector<std::string>& ids) {
  std::vector<const char*> names;
  for (const auto& g : ids)
    names.push_back(g.c_str());
  auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_DescribeConsumerGroups(rk, names.data(), names.size(), opts, q);
  });
  size_t n = 0;
  auto* res = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  std::map<std::string, group_info> by_id;
  for (size_t i = 0; i < n; ++i) {
    group_info g;
    g.id = rd_kafka_ConsumerGroupDescription_group_id(res[i]);
    if (const auto* err = rd_kafka_ConsumerGroupDescription_error(res[i]))
      fail(fmt::format("group {}: {}", g.id, error_message(err)));
    g.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(res[i]));
    if (const char* a = rd_kafka_ConsumerGroupDescription_partition_assignor(res[i]))
      g.assignor = a;
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(res[i]);
    for (size_t m = 0; m < members; ++m) {
      const auto* md = rd_kafka_ConsumerGroupDescription_member(res[i], m);
      auto str = [](const char* s) { return std::string(s != nullptr ? s : ""); };
      g.members.push_back({str(rd_kafka_MemberDescription_consumer_id(md)),
                           str(rd_kafka_MemberDescription_host(md)),
                           str(rd_kafka_MemberDescription_client_id(md))});
      const auto* parts =
          rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
      if (parts == nullptr || parts->cnt == 0) {
        g.idle_members.push_back(m);
        continue;
      }
      for (int k = 0; k < parts->cnt; ++k)
        g.owner[{parts->elems[k].topic, parts->elems[k].partition}] = m;
    }
    by_id[g.id] = std::move(g);
  }
  std::vector<group_info> out;
  for (const auto& id : ids) {
    auto it = by_id.find(id);
    if (it == by_id.end())
      fail(fmt::format("group {} was not described by the broker", id));
    out.push_back(std::move(it->second));
  }
  return out;
}

/// Committed offsets of a group: every partition it has an offset for.
std::map<topic_partition, int64_t> committed_offsets(const context& ctx, rd_kafka_t* rk,
                                                     const std::string& group) {
  auto* req = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  auto ev = run_admin(ctx, rk, [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, opts, q);
  });
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  size_t n = 0;
  auto* res = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  std::map<topic_partition, int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (const auto* err = rd_kafka_group_result_error(res[i]))
      fail(fmt::format("offsets of group {}: {}", group, error_message(err)));
    const auto* parts = rd_kafka_group_result_partitions(res[i]);
    for (int k = 0; parts != nullptr && k < parts->cnt; ++k) {
      const auto& e = parts->elems[k];
      if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0)
        out[{e.topic, e.partition}] = e.offset;
    }
  }
  return out;
}

void list(const context& ctx) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  auto ev = run_admin(ctx, rk.get(), [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_ListConsumerGroups(rk.get(), opts, q);
  });
  const auto* result = rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t n = 0, errs = 0;
  auto* valid = rd_kafka_ListConsumerGroups_result_valid(result, &n);
  auto* errors = rd_kafka_ListConsumerGroups_result_errors(result, &errs);
  if (errs > 0)
    fail(fmt::format("listing groups: {}", error_message(errors[0])));
  std::vector<std::pair<std::string, std::string>> groups;
  for (size_t i = 0; i < n; ++i)
    groups.emplace_back(
        rd_kafka_ConsumerGroupListing_group_id(valid[i]),
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(valid[i])));
  std::sort(groups.begin(), groups.end());
  table t({"group", "state"});
  json j = json::make_array();
  for (const auto& [g, state] : groups) {
    t.add({g, state});
    json row = json::make_object();
    row.set("group", g);
    row.set("state", state);
    j.push(std::move(row));
  }
  emit(ctx, t, j);
}

void describe(const context& ctx, const std::vector<std::string>& ids) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  auto groups = describe_groups(ctx, rk.get(), ids);
  json all = json::make_array();
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = groups[gi];
    auto committed = committed_offsets(ctx, rk.get(), g.id);
    if (g.state == "Dead" && committed.empty())
      fail(fmt::format("group {} does not exist", g.id));
    std::map<topic_partition, bool> rows;
    for (const auto& [tp, _] : committed)
      rows[tp] = true;
    for (const auto& [tp, _] : g.owner)
      rows[tp] = true;
    table t({"group", "topic", "partition", "current-offset", "log-end-offset", "lag",
             "consumer-id", "host", "client-id"});
    json parts = json::make_array();
    int64_t total_lag = 0;
    for (const auto& [tp, _] : rows) {
      // A committed offset can outlive its topic: its log end is then unknown ("-").
      auto w = try_watermarks(ctx, rk.get(), tp.first, tp.second);
      auto c = committed.find(tp);
      std::optional<int64_t> current;
      if (c != committed.end())
        current = c->second;
      std::optional<int64_t> lag;
      if (current && w)
        lag = std::max<int64_t>(0, w->high - *current);
      total_lag += lag.value_or(0);
      auto o = g.owner.find(tp);
      const member_info* m = o == g.owner.end() ? nullptr : &g.members[o->second];
      t.add({g.id, tp.first, std::to_string(tp.second), current ? std::to_string(*current) : "-",
             w ? std::to_string(w->high) : "-", lag ? std::to_string(*lag) : "-",
             m ? m->consumer_id : "-", m ? m->host : "-", m ? m->client_id : "-"});
      json r = json::make_object();
      r.set("topic", tp.first);
      r.set("partition", tp.second);
      r.set("current_offset", current ? json(*current) : json());
      r.set("log_end_offset", w ? json(w->high) : json());
      r.set("lag", lag ? json(*lag) : json());
      r.set("consumer_id", m ? json(m->consumer_id) : json());
      r.set("host", m ? json(m->host) : json());
      r.set("client_id", m ? json(m->client_id) : json());
      parts.push(std::move(r));
    }
    for (size_t idx : g.idle_members) {
      const auto& m = g.members[idx];
      t.add({g.id, "-", "-", "-", "-", "-", m.consumer_id, m.host, m.client_id});
    }
    json members = json::make_array();
    for (const auto& m : g.members) {
      json e = json::make_object();
      e.set("consumer_id", m.consumer_id);
      e.set("host", m.host);
      e.set("client_id", m.client_id);
      members.push(std::move(e));
    }
    json j = json::make_object();
    j.set("group", g.id);
    j.set("state", g.state);
    j.set("assignor", g.assignor);
    j.set("members", std::move(members));
    j.set("total_lag", total_lag);
    j.set("partitions", std::move(parts));
    all.push(std::move(j));
    if (!ctx.json()) {
      if (gi > 0)
        std::cout << '\n';
      if (g.members.empty())
        std::cerr << fmt::format("Consumer group '{}' has no active members.\n", g.id);
      std::cout << t.render();
    }
  }
  if (ctx.json())
    std::cout << all.dump() << '\n';
}

struct seek_options {
  std::string group;
  std::string to;
  std::vector<std::string> topics;
  bool dry_run = false;
};

void seek(const context& ctx, const seek_options& o) {
  require_table_format(ctx);
  auto pos = parse_position(o.to, now_ms());
  if (!pos)
    fail(fmt::format("--to: {}", pos.error().detail()));
  auto rk = make_client(ctx, client_kind::producer);
  auto g = describe_groups(ctx, rk.get(), {o.group}).front();
  if (!g.members.empty())
    fail(
        fmt::format("group {} has {} active member{} (state {}); stop its consumers before "
                    "moving its offsets",
                    g.id, g.members.size(), g.members.size() == 1 ? "" : "s", g.state));
  auto committed = committed_offsets(ctx, rk.get(), g.id);
  std::vector<std::string> topics = o.topics;
  if (topics.empty()) {
    for (const auto& [tp, _] : committed) {
      if (std::find(topics.begin(), topics.end(), tp.first) == topics.end())
        topics.push_back(tp.first);
    }
    if (topics.empty())
      fail(fmt::format("group {} has no committed offsets; name the topics with --topic", g.id));
  }
  auto md = all_metadata(ctx, rk.get());
  std::vector<topic_partition> targets;
  for (const auto& t : topics) {
    const auto* tp = find_topic(md.get(), t);
    if (tp == nullptr)
      fail(fmt::format("topic {} does not exist", t));
    for (int i = 0; i < tp->partition_cnt; ++i)
      targets.emplace_back(t, tp->partitions[i].id);
  }
  std::sort(targets.begin(), targets.end());

  progress_line progress(ctx);
  std::map<topic_partition, int64_t> by_time;
  if (pos->k == position::kind::timestamp) {
    partitions_ptr q(rd_kafka_topic_partition_list_new(static_cast<int>(targets.size())));
    for (const auto& [t, p] : targets)
      rd_kafka_topic_partition_list_add(q.get(), t.c_str(), p)->offset = pos->value;
    progress.update(fmt::format("looking up offsets by time for {} partitions", targets.size()));
    auto err = rd_kafka_offsets_for_times(rk.get(), q.get(), ctx.timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail(fmt::format("cannot look up offsets by time: {}", error_text(err)));
    for (int i = 0; i < q->cnt; ++i)
      by_time[{q->elems[i].topic, q->elems[i].partition}] = q->elems[i].offset;
  }
  partitions_ptr moves(rd_kafka_topic_partition_list_new(static_cast<int>(targets.size())));
  table t({"group", "topic", "partition", "previous-offset", "new-offset"});
  json rows = json::make_array();
  size_t done = 0;
  for (const auto& tp : targets) {
    auto w = query_watermarks(ctx, rk.get(), tp.first, tp.second);
    int64_t next = w.high;
    switch (pos->k) {
      case position::kind::beginning:
        next = w.low;
        break;
      case position::kind::end:
        next = w.high;
        break;
      case position::kind::offset:
        next = std::clamp(pos->value, w.low, w.high);
        break;
      case position::kind::from_end:
        next = std::max(w.low, w.high - pos->value);
        break;
      case position::kind::timestamp: {
        auto it = by_time.find(tp);
        next = it == by_time.end() || it->second < 0 ? w.high : it->second;
        break;
      }
    }
    rd_kafka_topic_partition_list_add(moves.get(), tp.first.c_str(), tp.second)->offset = next;
    auto c = committed.find(tp);
    t.add({g.id, tp.first, std::to_string(tp.second),
           c == committed.end() ? "-" : std::to_string(c->second), std::to_string(next)});
    json r = json::make_object();
    r.set("topic", tp.first);
    r.set("partition", tp.second);
    r.set("previous_offset", c == committed.end() ? json() : json(c->second));
    r.set("new_offset", next);
    rows.push(std::move(r));
    progress.update(fmt::format("resolved {}/{} partitions", ++done, targets.size()));
  }
  progress.update(fmt::format("resolved {}/{} partitions", done, targets.size()), true);
  if (!o.dry_run) {
    auto* req = rd_kafka_AlterConsumerGroupOffsets_new(g.id.c_str(), moves.get());
    auto ev = run_admin(ctx, rk.get(), [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
      rd_kafka_AlterConsumerGroupOffsets(rk.get(), &req, 1, opts, q);
    });
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    size_t n = 0;
    auto* res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      if (const auto* err = rd_kafka_group_result_error(res[i]))
        fail(fmt::format("moving the offsets of group {}: {}", g.id, error_message(err)));
      const auto* parts = rd_kafka_group_result_partitions(res[i]);
      for (int k = 0; parts != nullptr && k < parts->cnt; ++k) {
        if (parts->elems[k].err != RD_KAFKA_RESP_ERR_NO_ERROR)
          fail(fmt::format("moving the offset of group {} on {}/{}: {}", g.id,
                           parts->elems[k].topic, parts->elems[k].partition,
                           error_text(parts->elems[k].err)));
      }
    }
  }
  json j = json::make_object();
  j.set("group", g.id);
  j.set("dry_run", o.dry_run);
  j.set("partitions", std::move(rows));
  emit(ctx, t, j);
}

void remove(const context& ctx, const std::vector<std::string>& ids) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  std::vector<rd_kafka_DeleteGroup_t*> dgs;
  for (const auto& g : ids)
    dgs.push_back(rd_kafka_DeleteGroup_new(g.c_str()));
  auto ev = run_admin(ctx, rk.get(), [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
    rd_kafka_DeleteGroups(rk.get(), dgs.data(), dgs.size(), opts, q);
  });
  rd_kafka_DeleteGroup_destroy_array(dgs.data(), dgs.size());
  size_t n = 0;
  auto* res = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
  table t({"group", "status"});
  json j = json::make_array();
  size_t failed = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto* err = rd_kafka_group_result_error(res[i]);
    std::string status = "OK";
    if (err != nullptr) {
      ++failed;
      status = fmt::format("{}: {}", rd_kafka_error_name(err), rd_kafka_error_string(err));
    }
    t.add({rd_kafka_group_result_name(res[i]), status});
    json row = json::make_object();
    row.set("group", rd_kafka_group_result_name(res[i]));
    row.set("ok", err == nullptr);
    row.set("error", err == nullptr ? json() : json(status));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
  if (failed > 0)
    fail(fmt::format("{} of {} groups could not be deleted", failed, n));
}

}  // namespace

void add_group_commands(CLI::App& app, context& ctx) {
  auto* group = app.add_subcommand("group", "List, describe, move and delete consumer groups");
  group->require_subcommand(1);
  group->footer(
      "Examples:\n  stromctl group list\n  stromctl group describe billing\n"
      "Run 'stromctl group COMMAND --help' for each command's options.");

  auto* l = group->add_subcommand("list", "List consumer groups and their states");
  l->alias("ls");
  l->footer("Examples:\n  stromctl group list\n  stromctl group list --format json");
  on_run(l, ctx, [&ctx] { list(ctx); });

  auto ids = std::make_shared<std::vector<std::string>>();
  auto* d = group->add_subcommand(
      "describe", "Committed offsets, log end offsets, lag and owners of a group's partitions");
  d->add_option("groups", *ids, "Group ids")->required();
  d->footer(
      "Columns as kafka-consumer-groups --describe: GROUP TOPIC PARTITION CURRENT-OFFSET\n"
      "LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID; '-' when nothing is committed or no member\n"
      "owns the partition.\n"
      "Examples:\n"
      "  stromctl group describe billing\n"
      "  stromctl group describe billing --format json");
  on_run(d, ctx, [&ctx, ids] { describe(ctx, *ids); });

  auto so = std::make_shared<seek_options>();
  auto* s = group->add_subcommand(
      "seek", "Move an inactive group's committed offsets (refused while it has members)");
  s->add_option("group", so->group, "Group id")->required();
  s->add_option("--to", so->to,
                "earliest (beginning), latest (end), an offset N, -N (N before the end) or @TIME "
                "(ms, 2026-01-02T03:04:05Z, or -1h)")
      ->required();
  s->add_option("-t,--topic", so->topics,
                "Topics to move, all partitions (repeatable; default: the topics the group has "
                "offsets for)");
  s->add_flag("--dry-run", so->dry_run, "Show the new offsets without committing them");
  s->footer(
      "An offset outside a partition's range is moved to its nearest end.\n"
      "Examples:\n"
      "  stromctl group seek billing --to earliest\n"
      "  stromctl group seek billing --to 1200 --topic clicks\n"
      "  stromctl group seek billing --to @2026-01-02T00:00:00Z --dry-run");
  on_run(s, ctx, [&ctx, so] { seek(ctx, *so); });

  auto del = std::make_shared<std::vector<std::string>>();
  auto* rm = group->add_subcommand("delete", "Delete empty groups and their committed offsets");
  rm->add_option("groups", *del, "Group ids")->required();
  rm->footer("Examples:\n  stromctl group delete billing");
  on_run(rm, ctx, [&ctx, del] { remove(ctx, *del); });
}

}  // namespace strom::ctl
