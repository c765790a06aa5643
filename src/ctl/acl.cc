// stromctl acl create|list|delete: the Kafka ACLs brokers authorize requests with (CreateAcls,
// DescribeAcls and DeleteAcls, as kafka-acls --add, --list and --remove send them; stromctl
// sends them itself, over the connections its SASL settings authenticate).
#include <fmt/format.h>

#include <algorithm>
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

table binding_table() {
  return table({"principal", "host", "operation", "permission", "resource", "pattern"});
}

void add_binding(table& t, json& j, const acl_binding& b) {
  t.add({b.principal, b.host, acl_operation_label(b.operation), acl_permission_label(b.permission),
         acl_resource_label(b.resource_type, b.resource_name), acl_pattern_label(b.pattern_type)});
  json row = json::make_object();
  row.set("principal", b.principal);
  row.set("host", b.host);
  row.set("operation", acl_operation_label(b.operation));
  row.set("permission", acl_permission_label(b.permission));
  row.set("resource_type", acl_resource_type_label(b.resource_type));
  row.set("resource_name", b.resource_name);
  row.set("pattern", acl_pattern_label(b.pattern_type));
  j.push(std::move(row));
}

/// Fails with one line "acl VERB: <reason>" for the bindings the broker refused (each distinct
/// reason once, joined with "; ": a broker without an authorizer refuses every binding alike);
/// returns when there are none.
void fail_on_refusals(std::string_view verb, const std::vector<acl_outcome>& outcomes) {
  std::vector<std::string> reasons;
  for (const auto& o : outcomes) {
    if (!o.ok() && std::find(reasons.begin(), reasons.end(), o.reason()) == reasons.end())
      reasons.push_back(o.reason());
  }
  if (reasons.empty())
    return;
  std::string line = fmt::format("acl {}: ", verb);
  for (size_t i = 0; i < reasons.size(); ++i)
    line += (i == 0 ? "" : "; ") + reasons[i];
  fail(line);
}

void create(const context& ctx, const std::vector<acl_binding>& bindings) {
  require_table_format(ctx);
  auto r = create_acls(brokers_or_fail(ctx), ctx.timeout_ms, bindings);
  if (!r)
    fail(fmt::format("acl create: {}", r.error().detail()));
  auto t = binding_table();
  json j = json::make_array();
  for (const auto& o : *r) {
    if (o.ok())
      add_binding(t, j, o.binding);
  }
  // Those created are shown also when others were refused.
  if (!t.empty())
    emit(ctx, t, j);
  fail_on_refusals("create", *r);
}

void list(const context& ctx, const acl_filter& filter) {
  require_table_format(ctx);
  auto r = describe_acls(brokers_or_fail(ctx), ctx.timeout_ms, filter);
  if (!r)
    fail(fmt::format("acl list: {}", r.error().detail()));
  if (r->empty() && !ctx.json()) {
    std::cout << "no ACL binding matches\n";
    return;
  }
  auto t = binding_table();
  json j = json::make_array();
  for (const auto& b : *r)
    add_binding(t, j, b);
  emit(ctx, t, j);
}

void remove(const context& ctx, const acl_filter& filter) {
  require_table_format(ctx);
  auto r = delete_acls(brokers_or_fail(ctx), ctx.timeout_ms, filter);
  if (!r)
    fail(fmt::format("acl delete: {}", r.error().detail()));
  auto t = binding_table();
  json j = json::make_array();
  size_t deleted = 0;
  for (const auto& o : *r) {
    if (!o.ok())
      continue;
    add_binding(t, j, o.binding);
    ++deleted;
  }
  if (ctx.json()) {
    std::cout << j.dump() << '\n';
  } else {
    if (!t.empty())
      std::cout << t.render();
    std::cout << fmt::format("{} ACL binding{} deleted\n", deleted, deleted == 1 ? "" : "s");
  }
  fail_on_refusals("delete", *r);
}

CLI::Validator principal_check() {
  return CLI::Validator(
      [](std::string& s) {
        auto r = check_acl_principal(s);
        return r ? std::string() : r.error().detail();
      },
      "TYPE:NAME");
}

CLI::Validator operation_check() {
  return CLI::Validator(
      [](std::string& s) {
        auto r = parse_acl_operation(s);
        return r ? std::string() : r.error().detail();
      },
      "OP");
}

/// --host, --topic, --group, --cluster, --transactional-id and --prefixed, their help worded for
/// a creation or, with `filter`, for a filter.
void add_resource_options(CLI::App* cmd, const std::shared_ptr<acl_options>& o, bool filter) {
  cmd->add_option_function<std::string>(
      "--host", [o](const std::string& s) { o->host = s; },
      filter ? "Only the bindings of this client host ('*': those for every host)"
             : "The client host the bindings apply to (default: *, every host)");
  cmd->add_option_function<std::string>(
      "--topic", [o](const std::string& s) { o->topic = s; },
      filter ? "Only the bindings that apply to this topic" : "The topic (or, --prefixed, prefix)");
  cmd->add_option_function<std::string>(
      "--group", [o](const std::string& s) { o->group = s; },
      filter ? "Only the bindings that apply to this consumer group"
             : "The consumer group (or, --prefixed, prefix)");
  cmd->add_flag("--cluster", o->cluster,
                filter ? "Only the bindings of the cluster (kafka-cluster)"
                       : "The cluster (resource kafka-cluster)");
  cmd->add_option_function<std::string>(
      "--transactional-id", [o](const std::string& s) { o->transactional_id = s; },
      filter ? "Only the bindings that apply to this transactional id"
             : "The transactional id (or, --prefixed, prefix)");
  cmd->add_flag(
      "--prefixed", o->prefixed,
      filter
          ? "Only PREFIXED bindings (of the prefix given, or of any)"
          : "The name is a prefix: the bindings apply to every resource whose name begins with it");
}

}  // namespace

void add_acl_commands(CLI::App& app, context& ctx) {
  auto* acl = app.add_subcommand("acl", "Kafka ACLs: create, list, delete");
  acl->require_subcommand(1);
  acl->footer(
      "Examples:\n"
      "  stromctl acl create --principal User:alice --operation Read --operation Describe "
      "--topic clicks\n"
      "  stromctl acl list --principal User:alice\n"
      "  stromctl acl delete --principal User:alice --topic clicks\n"
      "Run 'stromctl acl COMMAND --help' for each command's options.");

  auto co = std::make_shared<acl_options>();
  auto* c = acl->add_subcommand("create", "Add ACL bindings, one per operation (CreateAcls)");
  c->add_option_function<std::string>(
       "--principal", [co](const std::string& s) { co->principal = s; },
       "The principal, TYPE:NAME: User:alice, or User:* for every user")
      ->required()
      ->check(principal_check());
  c->add_option("--operation", co->operations,
                "An operation (repeatable, or comma-separated): All, Read, Write, Create, Delete, "
                "Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite")
      ->required()
      ->delimiter(',')
      ->allow_extra_args(false)
      ->check(operation_check());
  add_resource_options(c, co, false);
  c->add_flag("--deny", co->deny, "Deny the operations (default: allow them)");
  c->footer(
      "Give one resource: --topic, --group, --cluster or --transactional-id. A name is LITERAL\n"
      "('*' is every resource of the type), or with --prefixed a prefix. Operation names match\n"
      "in any case. Prints the bindings added: PRINCIPAL HOST OPERATION PERMISSION RESOURCE\n"
      "PATTERN.\n"
      "Examples:\n"
      "  stromctl acl create --principal User:alice --operation Read --operation Describe "
      "--topic clicks\n"
      "  stromctl acl create --principal User:alice --operation Read --group billing- --prefixed\n"
      "  stromctl acl create --principal User:bob --operation Write --topic clicks --deny\n"
      "  stromctl acl create --principal User:admin --operation All --cluster");
  c->callback([&ctx, co] {
    auto bindings = acl_bindings_of(*co);
    if (!bindings)
      throw CLI::ValidationError(bindings.error().detail());
    ctx.run = [&ctx, b = std::move(*bindings)] { create(ctx, b); };
  });

  auto lo = std::make_shared<acl_options>();
  auto* l = acl->add_subcommand("list", "ACL bindings (DescribeAcls)");
  l->add_option_function<std::string>(
       "--principal", [lo](const std::string& s) { lo->principal = s; },
       "Only the bindings of this principal, TYPE:NAME (User:* is the binding for every user)")
      ->check(principal_check());
  add_resource_options(l, lo, true);
  l->footer(
      "Without options, every binding. With a resource, every binding that applies to it: its\n"
      "own, the wildcard '*' of its type and the prefixes its name begins with (with --prefixed\n"
      "only the bindings of that prefix). Columns: PRINCIPAL HOST OPERATION PERMISSION RESOURCE\n"
      "PATTERN.\n"
      "Examples:\n"
      "  stromctl acl list\n"
      "  stromctl acl list --topic clicks\n"
      "  stromctl acl list --principal User:alice --format json");
  l->callback([&ctx, lo] {
    auto filter = acl_list_filter(*lo);
    if (!filter)
      throw CLI::ValidationError(filter.error().detail());
    ctx.run = [&ctx, f = std::move(*filter)] { list(ctx, f); };
  });

  auto dopt = std::make_shared<acl_options>();
  auto* d = acl->add_subcommand("delete", "Remove the ACL bindings a filter matches (DeleteAcls)");
  d->add_option_function<std::string>(
       "--principal", [dopt](const std::string& s) { dopt->principal = s; },
       "Only the bindings of this principal, TYPE:NAME")
      ->check(principal_check());
  d->add_option("--operation", dopt->operations, "Only the bindings of this operation")
      ->allow_extra_args(false)
      ->check(operation_check());
  add_resource_options(d, dopt, true);
  d->add_flag("--deny", dopt->deny, "Only the bindings that deny");
  d->add_flag("--allow", dopt->allow, "Only the bindings that allow");
  d->footer(
      "Needs --principal or a resource. A resource is matched exactly: --topic clicks removes\n"
      "the LITERAL bindings of clicks, not those of '*' or of a prefix (--prefixed: the\n"
      "PREFIXED bindings of that prefix). Prints the bindings removed and their count.\n"
      "Examples:\n"
      "  stromctl acl delete --principal User:alice --topic clicks\n"
      "  stromctl acl delete --principal User:bob --deny\n"
      "  stromctl acl delete --group billing- --prefixed --operation Read");
  d->callback([&ctx, dopt] {
    auto filter = acl_delete_filter(*dopt);
    if (!filter)
      throw CLI::ValidationError(filter.error().detail());
    ctx.run = [&ctx, f = std::move(*filter)] { remove(ctx, f); };
  });
}

}  // namespace strom::ctl
