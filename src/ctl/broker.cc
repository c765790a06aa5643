// stromctl broker decommission|recommission|status: a broker's replicas moved off it (or it
// taken back) through the admin HTTP API, which any broker of the cluster serves (--admin-url).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>

#include "ctl/commands.h"
#include "ctl/decommission.h"
#include "ctl/wire.h"

namespace strom::ctl {

namespace {

/// How often `decommission --wait` asks for the status.
constexpr int64_t poll_interval_ms = 500;

http_url admin_url_or_fail(const context& ctx) {
  auto url = parse_http_url(ctx.admin_url);
  if (!url)
    fail(fmt::format("--admin-url: {}", url.error().detail()));
  return *url;
}

enum class verb { get, put };

/// `verb` /v1/brokers/{broker}/{action}, decoded (with the progress fields for GET); fails,
/// naming `doing`, on an answer other than 2xx with the admin API's message.
decommission_status admin_call(const context& ctx, const http_url& url, verb v, int32_t broker,
                               std::string_view action, std::string_view doing) {
  auto path = fmt::format("/v1/brokers/{}/{}", broker, action);
  auto res =
      v == verb::put ? http_put(url, path, ctx.timeout_ms) : http_get(url, path, ctx.timeout_ms);
  if (!res)
    fail(fmt::format("{}: admin API at {}: {}", doing, ctx.admin_url, res.error().detail()));
  if (res->status < 200 || res->status > 299)
    fail(fmt::format("{}: {}", doing, admin_error_text(res->status, res->body)));
  auto s = parse_decommission_status(res->body, v == verb::get);
  if (!s) {
    fail(fmt::format("{}: the answer of {} to {} {} is not understood: {}", doing, ctx.admin_url,
                     v == verb::put ? "PUT" : "GET", path, s.error().detail()));
  }
  return *s;
}

decommission_status read_status(const context& ctx, const http_url& url, int32_t broker) {
  return admin_call(ctx, url, verb::get, broker, "decommission",
                    fmt::format("reading the decommission status of broker {}", broker));
}

json status_json(const decommission_status& s) {
  json j = json::make_object();
  j.set("broker", s.broker);
  j.set("decommissioned", s.decommissioned);
  if (s.replicas)
    j.set("replicas", *s.replicas);
  if (s.moving)
    j.set("moving", *s.moving);
  if (s.stuck)
    j.set("stuck", *s.stuck);
  if (s.done)
    j.set("done", *s.done);
  return j;
}

std::string count_cell(const std::optional<int64_t>& n) {
  return n ? std::to_string(*n) : std::string("-");
}

int32_t broker_id_or_fail(const std::string& text) {
  auto id = parse_broker_id(text);
  if (!id)  // checked while parsing the command line
    fail(id.error().detail());
  return *id;
}

void decommission(const context& ctx, int32_t broker, bool wait) {
  require_table_format(ctx);
  auto url = admin_url_or_fail(ctx);
  auto s = admin_call(ctx, url, verb::put, broker, "decommission",
                      fmt::format("decommissioning broker {}", broker));
  if (!wait) {
    if (ctx.json()) {
      std::cout << status_json(s).dump() << '\n';
    } else {
      std::cout << fmt::format(
          "broker {}: decommissioned; its replicas move to other brokers (see 'stromctl broker "
          "status {}')\n",
          broker, broker);
    }
    return;
  }
  if (!ctx.json()) {
    std::cout << fmt::format(
        "broker {}: decommissioned; waiting until its replicas have moved to other brokers\n",
        broker);
    std::cout.flush();
  }
  auto deadline = now_ms() + ctx.timeout_ms;
  std::optional<decommission_status> last;
  for (;;) {
    auto now = read_status(ctx, url, broker);
    if (!now.decommissioned) {
      fail(fmt::format("broker {} is no longer decommissioned (recommissioned meanwhile)", broker));
    }
    if (!last || std::tie(last->replicas, last->moving, last->stuck) !=
                     std::tie(now.replicas, now.moving, now.stuck)) {
      // Progress: part of the output as text; on stderr (when shown) beside JSON.
      if (!ctx.json()) {
        std::cout << decommission_progress_text(now) << '\n';
        std::cout.flush();
      } else if (ctx.show_progress()) {
        std::cerr << decommission_progress_text(now) << '\n';
      }
    }
    last = now;
    if (now.done.value_or(false)) {
      if (ctx.json())
        std::cout << status_json(now).dump() << '\n';
      else
        std::cout << fmt::format("done: broker {} holds no replica\n", broker);
      return;
    }
    auto left_ms = deadline - now_ms();
    if (left_ms <= 0) {
      auto stuck = now.stuck.value_or(0);
      fail(fmt::format(
          "broker {} still holds {} replica(s) after {} ms ({} moving{}); the decommission goes "
          "on: see 'stromctl broker status {}', or wait longer with --timeout",
          broker, count_cell(now.replicas), ctx.timeout_ms, count_cell(now.moving),
          stuck > 0 ? fmt::format(", {} stuck: no other live broker can take them", stuck) : "",
          broker));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left_ms, poll_interval_ms)));
  }
}

void recommission(const context& ctx, int32_t broker) {
  require_table_format(ctx);
  auto url = admin_url_or_fail(ctx);
  auto s = admin_call(ctx, url, verb::put, broker, "recommission",
                      fmt::format("recommissioning broker {}", broker));
  if (ctx.json())
    std::cout << status_json(s).dump() << '\n';
  else
    std::cout << fmt::format("broker {}: no longer decommissioned\n", broker);
}

void show_status(const context& ctx, const std::optional<int32_t>& broker) {
  require_table_format(ctx);
  auto url = admin_url_or_fail(ctx);
  std::vector<int32_t> ids;
  if (broker) {
    ids.push_back(*broker);
  } else {
    auto rk = make_client(ctx, client_kind::producer);
    auto md = all_metadata(ctx, rk.get());
    for (int i = 0; i < md->broker_cnt; ++i)
      ids.push_back(md->brokers[i].id);
    std::sort(ids.begin(), ids.end());
  }
  table t({"broker", "decommissioned", "replicas", "moving", "stuck", "done"});
  json j = json::make_array();
  for (auto id : ids) {
    auto s = read_status(ctx, url, id);
    t.add({std::to_string(s.broker), s.decommissioned ? "true" : "false", count_cell(s.replicas),
           count_cell(s.moving), count_cell(s.stuck), s.done ? (*s.done ? "true" : "false") : "-"});
    j.push(status_json(s));
  }
  emit(ctx, t, j);
}

/// Checks a broker id while the command line is parsed (a mistake exits 2).
CLI::Validator broker_id_check() {
  return CLI::Validator(
      [](std::string& s) {
        auto r = parse_broker_id(s);
        return r ? std::string() : r.error().detail();
      },
      "ID");
}

}  // namespace

void add_broker_decommission_commands(CLI::App& broker, context& ctx) {
  struct decommission_options {
    std::string id;
    bool wait = false;
  };
  auto dopt = std::make_shared<decommission_options>();
  auto* d = broker.add_subcommand("decommission",
                                  "Move every replica off a broker, to take it out of the cluster");
  d->add_option("id", dopt->id, "The broker's id")->required()->check(broker_id_check());
  d->add_flag("--wait", dopt->wait,
              "Wait until the broker holds no replica (at most --timeout; the moves go on after "
              "it)");
  d->footer(
      "Sends PUT /v1/brokers/ID/decommission to --admin-url (any broker of the cluster): the\n"
      "broker takes no new replicas and the controller moves its replicas to other live\n"
      "brokers. With --wait, asks for the status every 500 ms and prints a line when the\n"
      "numbers change ('broker 4: 12 replica(s) left, 4 moving'); exit status 1 when the\n"
      "broker still holds replicas at --timeout. An error of the admin API exits 1 with its\n"
      "message.\n"
      "Examples:\n"
      "  stromctl broker decommission 4 --admin-url http://broker-1:9644\n"
      "  stromctl broker decommission 4 --wait --timeout 30m");
  on_run(d, ctx, [&ctx, dopt] { decommission(ctx, broker_id_or_fail(dopt->id), dopt->wait); });

  auto rid = std::make_shared<std::string>();
  auto* r = broker.add_subcommand("recommission",
                                  "Take a decommissioned broker back (it may hold replicas again)");
  r->add_option("id", *rid, "The broker's id")->required()->check(broker_id_check());
  r->footer(
      "Sends PUT /v1/brokers/ID/recommission to --admin-url: the moves off the broker still\n"
      "in flight are cancelled (it keeps those replicas), and it may get new replicas again.\n"
      "Examples:\n  stromctl broker recommission 4");
  on_run(r, ctx, [&ctx, rid] { recommission(ctx, broker_id_or_fail(*rid)); });

  auto sid = std::make_shared<std::string>();
  auto* s = broker.add_subcommand(
      "status", "Whether brokers are decommissioned, and how many replicas they still hold");
  s->add_option("id", *sid, "The broker's id (default: every broker Metadata lists)")
      ->check(broker_id_check());
  s->footer(
      "Asks GET /v1/brokers/ID/decommission of --admin-url for the broker, or for each broker of\n"
      "Metadata. Columns: BROKER DECOMMISSIONED REPLICAS (partitions with a replica on it)\n"
      "MOVING (moves in flight taking one off it) STUCK (partitions no other live broker can\n"
      "take) DONE (decommissioned and no replica left).\n"
      "Examples:\n  stromctl broker status\n  stromctl broker status 4 --format json");
  on_run(s, ctx, [&ctx, sid] {
    show_status(ctx, sid->empty() ? std::nullopt : std::optional<int32_t>(broker_id_or_fail(*sid)));
  });
}

}  // namespace strom::ctl
