// stromctl partition move|elect-leaders, reassignments [cancel], and the reassignment steps
// `topic alter --replication-factor` and `apply` share. AlterPartitionReassignments,
// ListPartitionReassignments, ElectLeaders and DescribeLogDirs go over stromctl's own wire client
// (librdkafka has no call for them); brokers, leaders, current replicas and partition counts come
// from Metadata.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "ctl/commands.h"
#include "ctl/wire.h"

namespace strom::ctl {

namespace {

json ids_json(const std::vector<int32_t>& ids) {
  json a = json::make_array();
  for (auto id : ids)
    a.push(static_cast<int64_t>(id));
  return a;
}

std::string outcome_text(const reassignment_outcome& o) {
  if (o.ok())
    return "OK";
  return o.message.empty() ? o.error_name : fmt::format("{}: {}", o.error_name, o.message);
}

std::string partition_name(const std::string& topic, int32_t partition) {
  return fmt::format("{}/{}", topic, partition);
}

}  // namespace

topic_replicas read_topic_replicas(const context& ctx, rd_kafka_t* rk, const std::string& topic) {
  auto md = all_metadata(ctx, rk);
  const auto* tp = find_topic(md.get(), topic);
  if (tp == nullptr || tp->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    fail(fmt::format("topic {} does not exist", topic));
  if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(fmt::format("topic {}: {}", topic, error_text(tp->err)));
  topic_replicas out;
  for (int i = 0; i < md->broker_cnt; ++i)
    out.brokers.push_back(md->brokers[i].id);
  std::sort(out.brokers.begin(), out.brokers.end());
  for (int i = 0; i < tp->partition_cnt; ++i) {
    const auto& p = tp->partitions[i];
    out.partitions.push_back({p.id, std::vector<int32_t>(p.replicas, p.replicas + p.replica_cnt)});
  }
  std::sort(out.partitions.begin(), out.partitions.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
  // A partition being moved counts with the replicas it moves to.
  auto moving = list_partition_reassignments(reachable_brokers(ctx), ctx.timeout_ms);
  if (!moving)
    fail(fmt::format("cannot list the partition moves in flight: {}", moving.error().detail()));
  for (const auto& m : *moving) {
    if (m.topic != topic)
      continue;
    for (auto& p : out.partitions) {
      if (p.partition != m.partition)
        continue;
      p.replicas.clear();
      for (auto b : m.replicas) {
        if (std::find(m.removing.begin(), m.removing.end(), b) == m.removing.end())
          p.replicas.push_back(b);
      }
    }
  }
  return out;
}

std::vector<reassignment_outcome> send_reassignments(
    const context& ctx, const std::vector<reassignment_target>& targets) {
  auto out = alter_partition_reassignments(reachable_brokers(ctx), ctx.timeout_ms, targets);
  if (!out)
    fail(out.error().detail());
  return *out;
}

void wait_reassignments(const context& ctx,
                        const std::vector<std::pair<std::string, int32_t>>& parts,
                        int64_t deadline_ms) {
  if (parts.empty())
    return;
  auto brokers = reachable_brokers(ctx);
  progress_line progress(ctx);
  for (;;) {
    auto moving = list_partition_reassignments(brokers, ctx.timeout_ms, parts);
    if (!moving)
      fail(fmt::format("cannot list the partition moves in flight: {}", moving.error().detail()));
    if (moving->empty()) {
      progress.update(fmt::format("{} partition move(s) done", parts.size()), true);
      return;
    }
    if (now_ms() > deadline_ms) {
      std::vector<std::string> left;
      for (const auto& m : *moving)
        left.push_back(partition_name(m.topic, m.partition));
      if (left.size() > 5) {
        auto more = left.size() - 5;
        left.resize(5);
        left.push_back(fmt::format("and {} more", more));
      }
      std::string names;
      for (const auto& l : left)
        names += (names.empty() ? "" : ", ") + l;
      fail(fmt::format(
          "{} partition move(s) still in flight after {} ms: {} (they go on: see 'stromctl "
          "reassignments', or wait longer with --timeout)",
          moving->size(), ctx.timeout_ms, names));
    }
    progress.update(fmt::format("waiting for partition moves: {} of {} in flight", moving->size(),
                                parts.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

result<std::vector<reassignment_target>> replication_factor_moves(const std::string& topic,
                                                                  const topic_replicas& now,
                                                                  int32_t replication_factor) {
  auto lists = replicas_for_factor(now.partitions, now.brokers, replication_factor);
  if (!lists)
    return invalid(fmt::format("topic {}: {}", topic, lists.error().detail()));
  std::vector<reassignment_target> out;
  for (auto& l : *lists)
    out.push_back({topic, l.partition, std::move(l.replicas)});
  return out;
}

namespace {

/// Fails naming how many of `outcomes` were refused, once they were printed.
void fail_if_refused(const std::vector<reassignment_outcome>& outcomes, std::string_view what) {
  auto refused = std::count_if(outcomes.begin(), outcomes.end(),
                               [](const reassignment_outcome& o) { return !o.ok(); });
  if (refused > 0)
    fail(fmt::format("{} of {} {} refused", refused, outcomes.size(), what));
}

struct move_options {
  std::string target;  // TOPIC/PARTITION
  std::string replicas;
  bool wait = false;
};

void move(const context& ctx, const move_options& o) {
  require_table_format(ctx);
  auto tp = parse_topic_partition(o.target);
  auto replicas = parse_replica_list(o.replicas);
  if (!tp || !replicas)  // checked while parsing the command line
    fail(!tp ? tp.error().detail() : replicas.error().detail());
  auto outcomes = send_reassignments(ctx, {{tp->first, tp->second, *replicas}});
  table t({"topic", "partition", "replicas", "status"});
  json j = json::make_array();
  for (const auto& out : outcomes) {
    t.add({out.topic, std::to_string(out.partition), format_replica_list(*replicas),
           outcome_text(out)});
    json row = json::make_object();
    row.set("topic", out.topic);
    row.set("partition", out.partition);
    row.set("replicas", ids_json(*replicas));
    row.set("ok", out.ok());
    row.set("error", out.ok() ? json() : json(outcome_text(out)));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
  fail_if_refused(outcomes, "partition moves were");
  if (!o.wait)
    return;
  wait_reassignments(ctx, {{tp->first, tp->second}}, now_ms() + ctx.timeout_ms);
  if (!ctx.json())
    std::cout << fmt::format("done: {} is on {}\n", partition_name(tp->first, tp->second),
                             format_replica_list(*replicas));
}

/// The moving partitions' leaders (from Metadata) and the sizes of their logs on each broker
/// that matters, their leader and the replicas being added (DescribeLogDirs, each broker asked
/// once for its partitions only, all at the same time). A broker that does not answer, or is not
/// in Metadata, is left out of the reports: its figures are unknown.
struct move_sizes {
  std::map<std::pair<std::string, int32_t>, int32_t> leaders;
  log_size_reports reports;
};

move_sizes read_move_sizes(const context& ctx, const std::vector<ongoing_reassignment>& moving) {
  move_sizes out;
  auto rk = make_client(ctx, client_kind::producer);
  const rd_kafka_metadata_t* raw = nullptr;
  auto err = rd_kafka_metadata(rk.get(), 1, nullptr, &raw, ctx.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (ctx.verbose)
      std::cerr << fmt::format("stromctl: cannot read cluster metadata: {}; progress unknown\n",
                               error_text(err));
    return out;
  }
  metadata_ptr md(raw);
  std::map<int32_t, host_port> addresses;
  for (int i = 0; i < md->broker_cnt; ++i)
    addresses[md->brokers[i].id] = {md->brokers[i].host,
                                    static_cast<uint16_t>(md->brokers[i].port)};
  std::map<int32_t, std::vector<partition_selector>> asked;  // broker -> its partitions
  for (const auto& m : moving) {
    if (const auto* tp = find_topic(md.get(), m.topic)) {
      for (int i = 0; i < tp->partition_cnt; ++i) {
        if (tp->partitions[i].id == m.partition && tp->partitions[i].leader >= 0) {
          out.leaders[{m.topic, m.partition}] = tp->partitions[i].leader;
          asked[tp->partitions[i].leader].push_back({m.topic, m.partition});
        }
      }
    }
    for (auto b : m.adding)
      asked[b].push_back({m.topic, m.partition});
  }
  std::map<int32_t, std::future<result<broker_log_sizes>>> answers;
  for (const auto& [broker, selectors] : asked) {
    auto address = addresses.find(broker);
    auto partitions = expand_partition_selectors(selectors, {});
    if (address == addresses.end() || !partitions)
      continue;
    answers.emplace(
        broker, std::async(std::launch::async, [host = address->second, timeout = ctx.timeout_ms,
                                                only = std::move(*partitions)] {
          return describe_log_dir_sizes(host, timeout, only);
        }));
  }
  for (auto& [broker, answer] : answers) {
    auto sizes = answer.get();
    if (sizes)
      out.reports.emplace(broker, std::move(*sizes));
    else if (ctx.verbose)
      std::cerr << fmt::format("stromctl: broker {}: {}; its log sizes are unknown\n", broker,
                               sizes.error().detail());
  }
  return out;
}

json optional_json(std::optional<int64_t> v) {
  return v ? json(*v) : json();
}

void list(const context& ctx) {
  require_table_format(ctx);
  auto moving = list_partition_reassignments(reachable_brokers(ctx), ctx.timeout_ms);
  if (!moving)
    fail(moving.error().detail());
  if (!ctx.json() && moving->empty()) {
    std::cout << "no partition move in flight\n";
    return;
  }
  move_sizes sizes;
  if (!moving->empty())
    sizes = read_move_sizes(ctx, *moving);
  table t({"topic", "partition", "replicas", "adding", "removing", "copied", "of", "progress"});
  json j = json::make_array();
  for (const auto& m : *moving) {
    std::optional<int32_t> leader;
    if (auto l = sizes.leaders.find({m.topic, m.partition}); l != sizes.leaders.end())
      leader = l->second;
    auto progress = estimate_move_progress(m.topic, m.partition, leader, m.adding, sizes.reports);
    t.add({m.topic, std::to_string(m.partition), format_replica_list(m.replicas),
           format_replica_list(m.adding), format_replica_list(m.removing),
           format_size(progress.copied_bytes), format_size(progress.leader_bytes),
           format_progress(progress.percent)});
    json row = json::make_object();
    row.set("topic", m.topic);
    row.set("partition", m.partition);
    row.set("replicas", ids_json(m.replicas));
    row.set("adding", ids_json(m.adding));
    row.set("removing", ids_json(m.removing));
    row.set("copied_bytes", optional_json(progress.copied_bytes));
    row.set("leader_bytes", optional_json(progress.leader_bytes));
    row.set("progress_percent", progress.percent ? json(*progress.percent) : json());
    j.push(std::move(row));
  }
  emit(ctx, t, j);
}

void cancel(const context& ctx, const std::vector<std::string>& targets) {
  require_table_format(ctx);
  std::vector<reassignment_target> cancels;
  for (const auto& text : targets) {
    auto tp = parse_topic_partition(text);
    if (!tp)
      fail(tp.error().detail());
    cancels.push_back({tp->first, tp->second, std::nullopt});
  }
  auto outcomes = send_reassignments(ctx, cancels);
  table t({"topic", "partition", "status"});
  json j = json::make_array();
  for (const auto& out : outcomes) {
    t.add({out.topic, std::to_string(out.partition), outcome_text(out)});
    json row = json::make_object();
    row.set("topic", out.topic);
    row.set("partition", out.partition);
    row.set("ok", out.ok());
    row.set("error", out.ok() ? json() : json(outcome_text(out)));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
  fail_if_refused(outcomes, "cancellations were");
}

struct alter_options {
  std::string topic;
  int32_t replication_factor = 0;
  bool dry_run = false;
};

void alter_replication_factor(const context& ctx, const alter_options& o) {
  require_table_format(ctx);
  auto rk = make_client(ctx, client_kind::producer);
  auto now = read_topic_replicas(ctx, rk.get(), o.topic);
  auto moves = replication_factor_moves(o.topic, now, o.replication_factor);
  if (!moves)
    fail(moves.error().detail());
  if (moves->empty()) {
    if (ctx.json())
      std::cout << "[]\n";
    else
      std::cout << fmt::format("nothing to change: every partition of {} has {} replica(s)\n",
                               o.topic, o.replication_factor);
    return;
  }
  std::vector<reassignment_outcome> outcomes;
  if (!o.dry_run) {
    outcomes = send_reassignments(ctx, *moves);
  } else {
    for (const auto& m : *moves)
      outcomes.push_back({m.topic, m.partition, 0, "NONE", ""});
  }
  auto from = [&now](int32_t partition) {
    for (const auto& p : now.partitions) {
      if (p.partition == partition)
        return p.replicas;
    }
    return std::vector<int32_t>{};
  };
  auto to = [&moves](int32_t partition) {
    for (const auto& m : *moves) {
      if (m.partition == partition)
        return *m.replicas;
    }
    return std::vector<int32_t>{};
  };
  table t({"topic", "partition", "replicas", "new-replicas", "status"});
  json j = json::make_array();
  for (const auto& out : outcomes) {
    auto status = o.dry_run ? std::string("dry run") : outcome_text(out);
    t.add({out.topic, std::to_string(out.partition), format_replica_list(from(out.partition)),
           format_replica_list(to(out.partition)), status});
    json row = json::make_object();
    row.set("topic", out.topic);
    row.set("partition", out.partition);
    row.set("replicas", ids_json(from(out.partition)));
    row.set("new_replicas", ids_json(to(out.partition)));
    row.set("ok", out.ok());
    row.set("error", out.ok() ? json() : json(outcome_text(out)));
    j.push(std::move(row));
  }
  emit(ctx, t, j);
  if (o.dry_run) {
    if (!ctx.json())
      std::cout << "dry run: nothing changed\n";
    return;
  }
  fail_if_refused(outcomes, "partition moves were");
  std::vector<std::pair<std::string, int32_t>> parts;
  for (const auto& m : *moves)
    parts.emplace_back(m.topic, m.partition);
  wait_reassignments(ctx, parts, now_ms() + ctx.timeout_ms);
  if (!ctx.json())
    std::cout << fmt::format("done: {} has replication factor {}\n", o.topic, o.replication_factor);
}

void elect(const context& ctx, const std::vector<std::string>& targets) {
  require_table_format(ctx);
  // None named: a null list, which asks the broker for every partition.
  std::optional<std::vector<topic_partitions>> asked;
  if (!targets.empty()) {
    std::vector<partition_selector> selectors;
    bool whole_topics = false;
    for (const auto& text : targets) {
      auto s = parse_partition_selector(text);
      if (!s)  // checked while parsing the command line
        fail(s.error().detail());
      whole_topics = whole_topics || !s->partition;
      selectors.push_back(std::move(*s));
    }
    std::map<std::string, int32_t> counts;
    if (whole_topics) {
      auto rk = make_client(ctx, client_kind::producer);
      auto md = all_metadata(ctx, rk.get());
      for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& t = md->topics[i];
        if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
          counts[t.topic] = t.partition_cnt;
      }
    }
    auto partitions = expand_partition_selectors(selectors, counts);
    if (!partitions)
      fail(partitions.error().detail());
    asked = std::move(*partitions);
  }
  auto outcomes = elect_leaders(reachable_brokers(ctx), ctx.timeout_ms, asked);
  if (!outcomes)
    fail(outcomes.error().detail());
  table t({"topic", "partition", "result"});
  json j = json::make_array();
  for (const auto& o : *outcomes) {
    t.add({o.topic, std::to_string(o.partition), election_result_text(o)});
    json row = json::make_object();
    row.set("topic", o.topic);
    row.set("partition", o.partition);
    row.set("result", election_result_text(o));
    row.set("ok", !o.failed());
    j.push(std::move(row));
  }
  if (!ctx.json() && outcomes->empty()) {
    std::cout << "no partition needed an election\n";
    return;
  }
  emit(ctx, t, j);
  auto failed = std::count_if(outcomes->begin(), outcomes->end(),
                              [](const election_outcome& o) { return o.failed(); });
  if (failed > 0)
    fail(fmt::format("{} of {} leader elections failed", failed, outcomes->size()));
}

/// Checks TOPIC/PARTITION while the command line is parsed (a mistake exits 2).
CLI::Validator topic_partition_check() {
  return CLI::Validator(
      [](std::string& s) {
        auto r = parse_topic_partition(s);
        return r ? std::string() : r.error().detail();
      },
      "TOPIC/PARTITION");
}

/// Checks TOPIC or TOPIC/PARTITION while the command line is parsed (a mistake exits 2).
CLI::Validator partition_selector_check() {
  return CLI::Validator(
      [](std::string& s) {
        auto r = parse_partition_selector(s);
        return r ? std::string() : r.error().detail();
      },
      "TOPIC[/PARTITION]");
}

}  // namespace

void add_partition_commands(CLI::App& app, context& ctx) {
  auto* partition = app.add_subcommand(
      "partition", "Move partitions between brokers, hand them back to their preferred leaders");
  partition->require_subcommand(1);
  partition->footer(
      "Examples:\n  stromctl partition move clicks/0 --replicas 2,3,1 --wait\n"
      "  stromctl partition elect-leaders clicks\n"
      "Run 'stromctl partition COMMAND --help' for each command's options.");

  auto mo = std::make_shared<move_options>();
  auto* m = partition->add_subcommand(
      "move", "Move a partition's replicas to other brokers (AlterPartitionReassignments)");
  m->add_option("partition", mo->target, "The partition, as TOPIC/PARTITION")
      ->required()
      ->check(topic_partition_check());
  m->add_option("--replicas", mo->replicas,
                "The brokers to hold its replicas, the preferred leader first, e.g. 2,3,1")
      ->required()
      ->check(CLI::Validator(
          [](std::string& s) {
            auto r = parse_replica_list(s);
            return r ? std::string() : r.error().detail();
          },
          "IDS"));
  m->add_flag("--wait", mo->wait,
              "Wait until the move is done (at most --timeout; the move goes on after it)");
  m->footer(
      "New replicas copy the partition from its leader, then the replicas left out are removed.\n"
      "The replica count may change. A new move of the same partition replaces one in flight.\n"
      "Examples:\n"
      "  stromctl partition move clicks/0 --replicas 2,3,1\n"
      "  stromctl partition move clicks/4 --replicas 1,2 --wait --timeout 5m");
  on_run(m, ctx, [&ctx, mo] { move(ctx, *mo); });

  auto elected = std::make_shared<std::vector<std::string>>();
  auto* e = partition->add_subcommand(
      "elect-leaders", "Make each partition's preferred replica its leader (ElectLeaders)");
  e->add_option("partitions", *elected,
                "Partitions, as TOPIC/PARTITION, or TOPIC for all of its partitions (default: "
                "every partition)")
      ->check(partition_selector_check());
  e->footer(
      "The preferred replica is the first of a partition's replicas. Prints TOPIC PARTITION\n"
      "RESULT: 'elected', 'not needed' (it leads already) or the broker's error, and exits 1\n"
      "if a partition got an error. Without partitions the broker answers for those that\n"
      "needed an election only. The broker waits at most --timeout for the elections.\n"
      "Examples:\n"
      "  stromctl partition elect-leaders\n"
      "  stromctl partition elect-leaders clicks\n"
      "  stromctl partition elect-leaders clicks/0 payments/3 --timeout 30s");
  on_run(e, ctx, [&ctx, elected] { elect(ctx, *elected); });

  auto* r = app.add_subcommand("reassignments", "List partition moves in flight, or cancel one");
  r->footer(
      "Columns: TOPIC PARTITION REPLICAS (every replica now) ADDING REMOVING COPIED OF\n"
      "PROGRESS. COPIED: bytes of the partition's log on the least advanced replica being\n"
      "added, OF: on its leader (DescribeLogDirs of each broker), PROGRESS: COPIED as a\n"
      "percentage of OF, an estimate (compaction and retention make logs differ); '-' when\n"
      "unknown (a broker did not answer, or Metadata names no leader).\n"
      "Examples:\n  stromctl reassignments\n  stromctl reassignments --format json\n"
      "  stromctl reassignments cancel clicks/0");
  auto cancels = std::make_shared<std::vector<std::string>>();
  auto* c = r->add_subcommand(
      "cancel", "Cancel partition moves in flight (their replicas stay where they were)");
  c->add_option("partitions", *cancels, "Partitions, as TOPIC/PARTITION")
      ->required()
      ->check(topic_partition_check());
  c->footer(
      "NO_REASSIGNMENT_IN_PROGRESS for a partition that is not moving.\n"
      "Examples:\n  stromctl reassignments cancel clicks/0 clicks/3");
  on_run(c, ctx, [&ctx, cancels] { cancel(ctx, *cancels); });
  // Without a subcommand: the list. Parents' callbacks run after their subcommands'.
  r->callback([&ctx, r, c] {
    if (!r->got_subcommand(c))
      ctx.run = [&ctx] { list(ctx); };
  });
}

void add_topic_alter_command(CLI::App& topic, context& ctx) {
  auto ao = std::make_shared<alter_options>();
  auto* a = topic.add_subcommand("alter", "Change a topic's replication factor");
  a->add_option("topic", ao->topic, "Topic name")->required();
  a->add_option("--replication-factor", ao->replication_factor, "The new number of replicas")
      ->required()
      ->check(CLI::Range(1, 32767));
  a->add_flag("--dry-run", ao->dry_run, "Print the new replica lists and change nothing");
  a->footer(
      "Each partition keeps its replicas in order: growing adds the live brokers holding the\n"
      "fewest replicas of the topic, shrinking drops replicas from the end. Sends the moves in\n"
      "one AlterPartitionReassignments request and waits until they are done (at most\n"
      "--timeout; the moves go on after it).\n"
      "Examples:\n"
      "  stromctl topic alter clicks --replication-factor 3\n"
      "  stromctl topic alter clicks --replication-factor 1 --dry-run\n"
      "  stromctl topic alter clicks --replication-factor 3 --timeout 10m");
  on_run(a, ctx, [&ctx, ao] { alter_replication_factor(ctx, *ao); });
}

}  // namespace strom::ctl
