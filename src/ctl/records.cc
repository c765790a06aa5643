// stromctl produce and consume.
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "ctl/commands.h"

namespace strom::ctl {

namespace {

std::atomic<bool> stop_requested{false};

void on_stop_signal(int) {
  stop_requested = true;
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

// --- produce ----------------------------------------------------------------------------------

struct produce_options {
  std::string topic;
  std::string key_separator;
  int partition = -1;
  std::vector<std::string> headers;
  std::string acks = "all";
};

struct partition_tally {
  int64_t records = 0;
  int64_t first = -1;
  int64_t last = -1;
};

struct delivery_state {
  std::map<int32_t, partition_tally> partitions;
  int64_t delivered = 0;
  int64_t failed = 0;
  std::string first_error;
};

// Runs inside rd_kafka_poll; each record carries the tally as its opaque.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* st = static_cast<delivery_state*>(m->_private);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (st->failed++ == 0)
      st->first_error = rd_kafka_err2str(m->err);
    return;
  }
  auto& t = st->partitions[m->partition];
  ++t.records;
  if (t.first < 0 || m->offset < t.first)
    t.first = m->offset;
  t.last = std::max(t.last, m->offset);
  ++st->delivered;
}

void produce(const context& ctx, const produce_options& o) {
  require_table_format(ctx);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& h : o.headers) {
    auto kv = parse_key_value(h);
    if (!kv)
      fail(fmt::format("--header: {}", kv.error().detail()));
    headers.push_back(*kv);
  }
  delivery_state st;
  auto rk = make_client(ctx, client_kind::producer,
                        {{"acks", o.acks},
                         {"linger.ms", "5"},
                         {"message.timeout.ms", std::to_string(std::max(ctx.timeout_ms, 1000))}},
                        on_delivery);
  progress_line progress(ctx);
  int64_t sent = 0;
  std::string line;
  install_stop_handlers();
  while (!stop_requested && std::getline(std::cin, line)) {
    std::optional<std::string_view> key;
    std::string_view value = line;
    if (!o.key_separator.empty()) {
      auto at = line.find(o.key_separator);
      if (at != std::string::npos) {
        key = std::string_view(line).substr(0, at);
        value = std::string_view(line).substr(at + o.key_separator.size());
      }
    }
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [k, v] : headers)
        rd_kafka_header_add(hdrs, k.c_str(), static_cast<ssize_t>(k.size()), v.data(),
                            static_cast<ssize_t>(v.size()));
    }
    const char* key_data = key ? key->data() : nullptr;
    size_t key_size = key ? key->size() : 0;
    while (true) {
      auto err = rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(o.topic.c_str()),
                                   RD_KAFKA_V_PARTITION(o.partition),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                   RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_HEADERS(hdrs),
                                   RD_KAFKA_V_OPAQUE(&st), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk.get(), 50);
        continue;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (hdrs != nullptr)
          rd_kafka_headers_destroy(hdrs);
        fail(fmt::format("cannot produce to {}: {}", o.topic, error_text(err)));
      }
      break;
    }
    ++sent;
    rd_kafka_poll(rk.get(), 0);
    progress.update(fmt::format("produced {} records ({} acknowledged)", sent, st.delivered));
  }
  while (rd_kafka_outq_len(rk.get()) > 0 && !stop_requested) {
    rd_kafka_poll(rk.get(), 100);
    progress.update(fmt::format("produced {} records ({} acknowledged)", sent, st.delivered));
  }
  rd_kafka_flush(rk.get(), 100);
  progress.update(fmt::format("produced {} records ({} acknowledged)", sent, st.delivered), true);
  if (st.failed > 0)
    fail(fmt::format("{} of {} records were not delivered to {}: {}", st.failed, sent, o.topic,
                     st.first_error));
  if (st.delivered < sent)
    fail(fmt::format("{} of {} records were not acknowledged", sent - st.delivered, sent));
  table t({"partition", "records", "first-offset", "last-offset"});
  json parts = json::make_array();
  for (const auto& [p, tally] : st.partitions) {
    t.add({std::to_string(p), std::to_string(tally.records), std::to_string(tally.first),
           std::to_string(tally.last)});
    json r = json::make_object();
    r.set("partition", p);
    r.set("records", tally.records);
    r.set("first_offset", tally.first);
    r.set("last_offset", tally.last);
    parts.push(std::move(r));
  }
  json j = json::make_object();
  j.set("topic", o.topic);
  j.set("records", st.delivered);
  j.set("partitions", std::move(parts));
  emit(ctx, t, j);
}

// --- consume ----------------------------------------------------------------------------------

struct consume_options {
  std::string topic;
  std::string offset = "beginning";
  std::vector<int> partitions;
  int64_t count = 0;
  bool exit_at_end = false;
  std::string group;
};

std::optional<std::string_view> bytes_of(const void* p, size_t n) {
  if (p == nullptr)
    return std::nullopt;
  return std::string_view(static_cast<const char*>(p), n);
}

json optional_json(std::optional<std::string_view> s) {
  return s ? json(*s) : json();
}

void consume(const context& ctx, const consume_options& o) {
  std::string tmpl = "%s\\n";
  if (ctx.format != "text" && !ctx.json())
    tmpl = ctx.format;
  auto checked = check_template(tmpl);
  if (!checked)
    fail(fmt::format("--format: {}", checked.error().detail()));
  auto pos = parse_position(o.offset, now_ms());
  if (!pos)
    fail(fmt::format("--offset: {}", pos.error().detail()));
  bool grouped = !o.group.empty();
  if (grouped && !o.partitions.empty())
    fail("--partition cannot be combined with --group (the group assigns partitions)");
  if (grouped && pos->k != position::kind::beginning && pos->k != position::kind::end)
    fail("with --group, --offset is where to start without a committed offset: beginning or end");

  std::vector<std::pair<std::string, std::string>> conf = {
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", pos->k == position::kind::end ? "latest" : "earliest"},
  };
  if (grouped) {
    conf.emplace_back("group.id", o.group);
    conf.emplace_back("enable.auto.commit", "true");
  } else {
    // librdkafka wants a group id even for a consumer that assigns partitions itself; this one
    // never joins the group nor commits to it.
    conf.emplace_back("group.id", fmt::format("stromctl-{}", ::getpid()));
    conf.emplace_back("enable.auto.commit", "false");
    conf.emplace_back("enable.auto.offset.store", "false");
  }
  auto rk = make_client(ctx, client_kind::consumer, conf);
  rd_kafka_poll_set_consumer(rk.get());
  auto md = all_metadata(ctx, rk.get());
  const auto* tp = find_topic(md.get(), o.topic);
  if (tp == nullptr || tp->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    fail(fmt::format("topic {} does not exist", o.topic));

  if (grouped) {
    partitions_ptr sub(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(sub.get(), o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    auto err = rd_kafka_subscribe(rk.get(), sub.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail(fmt::format("cannot subscribe to {}: {}", o.topic, error_text(err)));
  } else {
    std::vector<int32_t> ids;
    if (o.partitions.empty()) {
      for (int i = 0; i < tp->partition_cnt; ++i)
        ids.push_back(tp->partitions[i].id);
    } else {
      for (int p : o.partitions) {
        if (p < 0 || p >= tp->partition_cnt)
          fail(fmt::format("topic {} has no partition {} (it has {})", o.topic, p,
                           tp->partition_cnt));
        ids.push_back(p);
      }
    }
    partitions_ptr assign(rd_kafka_topic_partition_list_new(static_cast<int>(ids.size())));
    for (int32_t id : ids) {
      auto* e = rd_kafka_topic_partition_list_add(assign.get(), o.topic.c_str(), id);
      switch (pos->k) {
        case position::kind::beginning:
          e->offset = RD_KAFKA_OFFSET_BEGINNING;
          break;
        case position::kind::end:
          e->offset = RD_KAFKA_OFFSET_END;
          break;
        case position::kind::offset:
          e->offset = pos->value;
          break;
        case position::kind::from_end:
          e->offset = RD_KAFKA_OFFSET_TAIL(pos->value);
          break;
        case position::kind::timestamp:
          e->offset = pos->value;
          break;
      }
    }
    if (pos->k == position::kind::timestamp) {
      auto err = rd_kafka_offsets_for_times(rk.get(), assign.get(), ctx.timeout_ms);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fail(fmt::format("cannot look up offsets by time: {}", error_text(err)));
      for (int i = 0; i < assign->cnt; ++i) {
        if (assign->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
          fail(fmt::format("partition {}: {}", assign->elems[i].partition,
                           error_text(assign->elems[i].err)));
        if (assign->elems[i].offset < 0)
          assign->elems[i].offset = RD_KAFKA_OFFSET_END;  // nothing at or after that time
      }
    }
    auto err = rd_kafka_assign(rk.get(), assign.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail(fmt::format("cannot assign partitions: {}", error_text(err)));
  }

  install_stop_handlers();
  progress_line progress(ctx);
  auto progress_text = [&](int64_t n) {
    return o.count > 0 ? fmt::format("consumed {}/{} records", n, o.count)
                       : fmt::format("consumed {} records", n);
  };
  std::set<int32_t> at_end;
  int64_t consumed = 0;
  std::string out;
  while (!stop_requested && (o.count == 0 || consumed < o.count)) {
    message_ptr m(rd_kafka_consumer_poll(rk.get(), 100));
    if (!m) {
      progress.update(progress_text(consumed));
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      if (o.exit_at_end) {
        partitions_ptr assigned;
        rd_kafka_topic_partition_list_t* a = nullptr;
        if (rd_kafka_assignment(rk.get(), &a) == RD_KAFKA_RESP_ERR_NO_ERROR)
          assigned.reset(a);
        if (assigned && assigned->cnt > 0 && static_cast<int>(at_end.size()) >= assigned->cnt)
          break;
      }
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
          m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        fail(fmt::format("consuming {}: {}", o.topic, rd_kafka_message_errstr(m.get())));
      if (ctx.verbose)
        std::fprintf(stderr, "stromctl: %s\n", rd_kafka_message_errstr(m.get()));
      continue;
    }
    at_end.erase(m->partition);
    ++consumed;
    rd_kafka_timestamp_type_t tstype;
    record_view r;
    r.topic = o.topic;
    r.partition = m->partition;
    r.offset = m->offset;
    r.timestamp_ms = rd_kafka_message_timestamp(m.get(), &tstype);
    r.key = bytes_of(m->key, m->key_len);
    r.value = bytes_of(m->payload, m->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* val = nullptr;
      size_t size = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        r.headers.emplace_back(name, bytes_of(val, size));
    }
    out.clear();
    if (ctx.json()) {
      json j = json::make_object();
      j.set("topic", r.topic);
      j.set("partition", r.partition);
      j.set("offset", r.offset);
      j.set("timestamp", r.timestamp_ms);
      j.set("key", optional_json(r.key));
      j.set("value", optional_json(r.value));
      json h = json::make_array();
      for (const auto& [k, v] : r.headers) {
        json e = json::make_object();
        e.set("key", k);
        e.set("value", optional_json(v));
        h.push(std::move(e));
      }
      j.set("headers", std::move(h));
      out = j.dump();
      out += '\n';
    } else {
      render_template(out, *checked, r);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    progress.update(progress_text(consumed));
  }
  std::fflush(stdout);
  progress.update(progress_text(consumed), true);
  if (grouped)
    rd_kafka_consumer_close(rk.get());
}

}  // namespace

void add_record_commands(CLI::App& app, context& ctx) {
  auto po = std::make_shared<produce_options>();
  auto* p = app.add_subcommand("produce", "Produce one record per line of standard input");
  p->add_option("topic", po->topic, "Topic name")->required();
  p->add_option("-k,--key-separator", po->key_separator,
                "Split each line at the first SEP into key and value (a line without SEP has no "
                "key)");
  p->add_option("-p,--partition", po->partition,
                "Partition to write to (default: chosen by the key's hash, or spread)")
      ->check(CLI::NonNegativeNumber);
  p->add_option("-H,--header", po->headers, "Header key=value on every record (repeatable)");
  p->add_option("--acks", po->acks, "Acknowledgements: 0, 1 or all")
      ->check(CLI::IsMember({"0", "1", "all", "-1"}));
  p->footer(
      "Prints, per partition, how many records were written and their first and last offsets.\n"
      "Examples:\n"
      "  echo hello | stromctl produce clicks\n"
      "  printf 'user-1:click\\nuser-2:view\\n' | stromctl produce clicks -k :\n"
      "  stromctl produce clicks -p 0 -H source=backfill < events.txt");
  on_run(p, ctx, [&ctx, po] { produce(ctx, *po); });

  auto co = std::make_shared<consume_options>();
  auto* c = app.add_subcommand("consume", "Print records of a topic");
  c->add_option("topic", co->topic, "Topic name")->required();
  c->add_option("-o,--offset", co->offset,
                "Where to start: beginning (default), end, an offset N, -N (N records before the "
                "end of each partition), or @TIME (ms, 2026-01-02T03:04:05Z, or -15m)");
  c->add_option("-p,--partition", co->partitions, "Partitions to read (repeatable; default: all)");
  c->add_option("-n,--num", co->count, "Stop after N records")->check(CLI::NonNegativeNumber);
  c->add_flag("-e,--exit-at-end", co->exit_at_end, "Stop when every partition has been read");
  c->add_option("-g,--group", co->group,
                "Consume as a member of this group, starting from its committed offsets and "
                "committing what was read");
  c->footer(
      "Output: --format json prints one JSON object per record (topic, partition, offset,\n"
      "timestamp, key, value, headers); any other --format is a template: %t topic,\n"
      "%p partition, %o offset, %T timestamp (ms), %k key, %s value, %K/%S key/value length,\n"
      "%h headers (k=v,...), %% percent; \\n \\t escapes. Default: '%s\\n'.\n"
      "Progress goes to stderr when it is a terminal, or with --progress.\n"
      "Examples:\n"
      "  stromctl consume clicks -n 10\n"
      "  stromctl consume clicks -e --format '%p/%o %k=%s\\n'\n"
      "  stromctl consume clicks -o @-15m -e --format json\n"
      "  stromctl consume clicks -g audit -n 100");
  on_run(c, ctx, [&ctx, co] { consume(ctx, *co); });
}

}  // namespace strom::ctl
