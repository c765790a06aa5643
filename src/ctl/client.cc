#include "ctl/client.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "ctl/wire.h"

namespace strom::ctl {

bool context::show_progress() const {
  return progress || ::isatty(STDERR_FILENO) == 1;
}

void fail(const std::string& message) {
  std::cout.flush();
  auto line = message;
  for (auto& c : line) {
    if (c == '\n' || c == '\r')
      c = ' ';
  }
  std::fprintf(stderr, "stromctl: %s\n", line.c_str());
  // Kafka client threads may still run: leave without running static destructors under them.
  std::fflush(nullptr);
  std::_Exit(1);
}

void emit(const context& ctx, const table& t, const json& j) {
  if (ctx.json())
    std::cout << j.dump() << '\n';
  else
    std::cout << t.render();
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

progress_line::progress_line(const context& ctx)
    : enabled_(ctx.show_progress()), tty_(::isatty(STDERR_FILENO) == 1) {}

progress_line::~progress_line() {
  if (enabled_ && tty_ && dirty_)
    std::fputc('\n', stderr);
}

void progress_line::update(const std::string& text, bool final) {
  if (!enabled_)
    return;
  auto now = now_ms();
  if (!final && now - last_ms_ < 100)
    return;
  last_ms_ = now;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    dirty_ = true;
    if (final) {
      std::fputc('\n', stderr);
      dirty_ = false;
    }
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

namespace {

void log_to_stderr(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  std::fprintf(stderr, "librdkafka %d %s: %s\n", level, fac, buf);
}

void log_nowhere(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

std::vector<host_port> reachable_brokers(const context& ctx) {
  auto brokers = parse_brokers(ctx.brokers);
  if (!brokers)
    fail(fmt::format("--brokers: {}", brokers.error().detail()));
  auto conn = connect_any_unauthenticated(*brokers, ctx.timeout_ms);
  if (!conn)
    fail(conn.error().detail());
  return *brokers;
}

handle_ptr make_client(const context& ctx, client_kind kind,
                       const std::vector<std::pair<std::string, std::string>>& conf,
                       delivery_callback on_delivery) {
  reachable_brokers(ctx);
  char errstr[512];
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(c, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(c);
      fail(fmt::format("client setting {}: {}", describe_property(k, v), errstr));
    }
  };
  set("bootstrap.servers", ctx.brokers);
  set("client.id", "stromctl");
  set("socket.timeout.ms", std::to_string(std::max(ctx.timeout_ms, 10)));
  for (const auto& [k, v] : ctx.properties) {
    if (k != "bootstrap.servers")  // already in ctx.brokers, unless --brokers overrides it
      set(k, v);
  }
  for (const auto& [k, v] : conf)
    set(k, v);
  rd_kafka_conf_set_log_cb(c, ctx.verbose ? log_to_stderr : log_nowhere);
  if (on_delivery != nullptr)
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
  rd_kafka_t* rk =
      rd_kafka_new(kind == client_kind::producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, c, errstr,
                   sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(c);
    fail(fmt::format("cannot create a Kafka client: {}", errstr));
  }
  return handle_ptr(rk);
}

std::string error_text(rd_kafka_resp_err_t err) {
  return rd_kafka_err2str(err);
}

metadata_ptr all_metadata(const context& ctx, rd_kafka_t* rk) {
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 1, nullptr, &md, ctx.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(fmt::format("cannot read cluster metadata from {}: {}", ctx.brokers, error_text(err)));
  return metadata_ptr(md);
}

const rd_kafka_metadata_topic_t* find_topic(const rd_kafka_metadata_t* md, std::string_view name) {
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (name == md->topics[i].topic)
      return &md->topics[i];
  }
  return nullptr;
}

event_ptr run_admin(const context& ctx, rd_kafka_t* rk,
                    const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& start,
                    bool validate_only) {
  char errstr[512];
  queue_ptr q(rd_kafka_queue_new(rk));
  std::unique_ptr<rd_kafka_AdminOptions_t, rd_deleter<rd_kafka_AdminOptions_destroy>> o(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY));
  rd_kafka_AdminOptions_set_request_timeout(o.get(), ctx.timeout_ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(o.get(), ctx.timeout_ms, errstr, sizeof errstr);
  if (validate_only && rd_kafka_AdminOptions_set_validate_only(o.get(), 1, errstr, sizeof errstr) !=
                           RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(errstr);
  start(o.get(), q.get());
  event_ptr ev(rd_kafka_queue_poll(q.get(), ctx.timeout_ms + 2000));
  if (!ev)
    fail(fmt::format("no answer from {} within {} ms", ctx.brokers, ctx.timeout_ms));
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(rd_kafka_event_error_string(ev.get()));
  return ev;
}

watermarks query_watermarks(const context& ctx, rd_kafka_t* rk, const std::string& topic,
                            int32_t partition) {
  watermarks w;
  auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &w.low, &w.high,
                                              ctx.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fail(fmt::format("cannot read the offsets of {}/{}: {}", topic, partition, error_text(err)));
  return w;
}

std::optional<watermarks> try_watermarks(const context& ctx, rd_kafka_t* rk,
                                         const std::string& topic, int32_t partition) {
  watermarks w;
  auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &w.low, &w.high,
                                              ctx.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  return w;
}

}  // namespace strom::ctl
