// stromctl quota set|list|delete: Kafka's client quotas, the byte rates brokers hold a user's or
// a client id's producers and consumers to (AlterClientQuotas and DescribeClientQuotas, as
// kafka-configs --alter|--describe --entity-type users|clients sends them; stromctl sends them
// itself, over the connections its SASL settings authenticate).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ctl/commands.h"
#include "ctl/wire.h"

namespace strom::ctl {

namespace {

std::vector<host_port> brokers_or_fail(const context& ctx) {
  auto brokers = parse_brokers(ctx.brokers);
  if (!brokers)
    fail(fmt::format("--brokers: {}", brokers.error().detail()));
  return *brokers;
}

/// {"user": "alice", "client-id": null}: each part by type, a default one as null.
json entity_json(const quota_entity& entity) {
  json j = json::make_object();
  for (const auto& p : entity)
    j.set(p.type, p.name ? json(*p.name) : json());
  return j;
}

table quota_table() {
  return table({"entity", "key", "value"});
}

/// One row: the key's value, or for a removed key (no value) "-" and null.
void add_row(table& t, json& j, const quota_entity& entity, const std::string& key,
             std::optional<double> value) {
  t.add({quota_entity_label(entity), key, value ? format_quota_value(*value) : "-"});
  json row = json::make_object();
  row.set("entity", entity_json(entity));
  row.set("key", key);
  row.set("value", value ? json(*value) : json());
  j.push(std::move(row));
}

/// Sends one alteration; fails with "quota VERB: <reason>" when the request or the entity is
/// refused. On success prints the keys set and removed.
void alter(const context& ctx, std::string_view verb, const quota_alteration& a,
           bool validate_only) {
  require_table_format(ctx);
  auto r = alter_client_quotas(brokers_or_fail(ctx), ctx.timeout_ms, {a}, validate_only);
  if (!r)
    fail(fmt::format("quota {}: {}", verb, r.error().detail()));
  for (const auto& o : *r) {
    if (!o.ok())
      fail(fmt::format("quota {}: {}", verb, o.reason()));
  }
  auto t = quota_table();
  json j = json::make_array();
  for (const auto& op : a.ops)
    add_row(t, j, a.entity, op.key, op.remove ? std::nullopt : std::optional(op.value));
  emit(ctx, t, j);
  if (validate_only && !ctx.json())
    std::cout << "dry run: nothing changed\n";
}

void list(const context& ctx, const quota_filter& filter) {
  require_table_format(ctx);
  auto r = describe_client_quotas(brokers_or_fail(ctx), ctx.timeout_ms, filter);
  if (!r)
    fail(fmt::format("quota list: {}", r.error().detail()));
  auto t = quota_table();
  json j = json::make_array();
  for (const auto& e : *r) {
    for (const auto& v : e.values)
      add_row(t, j, e.entity, v.key, v.value);
  }
  if (t.empty() && !ctx.json()) {
    std::cout << "no client quota matches\n";
    return;
  }
  emit(ctx, t, j);
}

/// --user, --user-default, --client-id and --client-id-default, their help worded for the
/// entity changed or, with `filter`, for a filter.
void add_entity_options(CLI::App* cmd, const std::shared_ptr<quota_options>& o, bool filter) {
  cmd->add_option_function<std::string>(
         "--user", [o](const std::string& s) { o->user = s; },
         filter ? "Only the quotas of this user (with or without a client id)"
                : "The user (the principal's name, e.g. alice for User:alice)")
      ->type_name("NAME");
  cmd->add_flag("--user-default", o->user_default,
                filter ? "Only the quotas of the default user"
                       : "The default user: every user without quotas of their own");
  cmd->add_option_function<std::string>(
         "--client-id", [o](const std::string& s) { o->client_id = s; },
         filter ? "Only the quotas of this client id (with or without a user)"
                : "The client id (the client.id clients connect with)")
      ->type_name("ID");
  cmd->add_flag("--client-id-default", o->client_id_default,
                filter ? "Only the quotas of the default client id"
                       : "The default client id: every client id without quotas of its own");
}

}  // namespace

void add_quota_commands(CLI::App& app, context& ctx) {
  auto* quota = app.add_subcommand("quota", "Client quotas (byte rates): set, list, delete");
  quota->require_subcommand(1);
  quota->footer(
      "An entity is a user, a client id, or both; each part is a name or the default.\n"
      "Examples:\n"
      "  stromctl quota set --user alice --producer-byte-rate 1048576\n"
      "  stromctl quota set --user-default --consumer-byte-rate 10485760\n"
      "  stromctl quota list\n"
      "  stromctl quota delete --user alice --client-id reports\n"
      "Run 'stromctl quota COMMAND --help' for each command's options.");

  auto so = std::make_shared<quota_options>();
  auto* s = quota->add_subcommand("set", "Set or remove an entity's quotas (AlterClientQuotas)");
  add_entity_options(s, so, false);
  s->add_option_function<std::string>(
       "--producer-byte-rate", [so](const std::string& v) { so->producer_byte_rate = v; },
       "Bytes per second the entity's producers may send (a positive number)")
      ->type_name("N");
  s->add_option_function<std::string>(
       "--consumer-byte-rate", [so](const std::string& v) { so->consumer_byte_rate = v; },
       "Bytes per second the entity's consumers may fetch (a positive number)")
      ->type_name("N");
  s->add_option("--quota", so->quotas,
                "Any quota key, KEY=VALUE (repeatable); the broker decides which keys it takes")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  s->add_option("--remove", so->remove, "Remove this key's quota (repeatable)")
      ->type_name("KEY")
      ->allow_extra_args(false);
  s->add_flag("--dry-run", so->dry_run, "Let the broker validate the changes, and make none");
  s->footer(
      "Give the entity (--user NAME or --user-default, and/or --client-id ID or\n"
      "--client-id-default) and at least one key to set or remove. Keys not named keep their\n"
      "values. Prints the keys written: ENTITY KEY VALUE ('-' for a key removed).\n"
      "Examples:\n"
      "  stromctl quota set --user alice --producer-byte-rate 1048576 --consumer-byte-rate "
      "2097152\n"
      "  stromctl quota set --user alice --client-id reports --consumer-byte-rate 524288\n"
      "  stromctl quota set --client-id-default --producer-byte-rate 10485760 --dry-run\n"
      "  stromctl quota set --user alice --remove consumer_byte_rate");
  s->callback([&ctx, so] {
    auto a = quota_set_alteration(*so);
    if (!a)
      throw CLI::ValidationError(a.error().detail());
    ctx.run = [&ctx, a = std::move(*a), dry_run = so->dry_run] { alter(ctx, "set", a, dry_run); };
  });

  auto lo = std::make_shared<quota_options>();
  auto* l = quota->add_subcommand("list", "Client quotas (DescribeClientQuotas)");
  add_entity_options(l, lo, true);
  l->footer(
      "Without options, every quota. A name matches that entity part exactly, a --*-default\n"
      "option the default; an entity with further parts matches too (--user alice also lists\n"
      "alice's quotas per client id). Columns: ENTITY KEY VALUE.\n"
      "Examples:\n"
      "  stromctl quota list\n"
      "  stromctl quota list --user alice\n"
      "  stromctl quota list --client-id-default --format json");
  l->callback([&ctx, lo] {
    auto f = quota_list_filter(*lo);
    if (!f)
      throw CLI::ValidationError(f.error().detail());
    ctx.run = [&ctx, f = std::move(*f)] { list(ctx, f); };
  });

  auto dopt = std::make_shared<quota_options>();
  auto* d = quota->add_subcommand(
      "delete", "Remove an entity's quotas (AlterClientQuotas removing the three keys)");
  add_entity_options(d, dopt, false);
  d->footer(
      "Removes producer_byte_rate, consumer_byte_rate and request_percentage of exactly that\n"
      "entity (not of the entities with further parts); an entity without them is no error.\n"
      "Other keys stay: 'quota set --remove KEY' removes them.\n"
      "Examples:\n"
      "  stromctl quota delete --user alice\n"
      "  stromctl quota delete --user alice --client-id reports\n"
      "  stromctl quota delete --user-default");
  d->callback([&ctx, dopt] {
    auto a = quota_delete_alteration(*dopt);
    if (!a)
      throw CLI::ValidationError(a.error().detail());
    ctx.run = [&ctx, a = std::move(*a)] { alter(ctx, "delete", a, false); };
  });
}

}  // namespace strom::ctl
