// stromctl user create|delete|list: the SCRAM credentials brokers authenticate users with
// (AlterUserScramCredentials and DescribeUserScramCredentials, as kafka-configs --alter
// --add-config 'SCRAM-SHA-256=[...]' --entity-type users sends them; librdkafka 2.0 has no
// call for them, so stromctl sends them itself).
#include <openssl/rand.h>

#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "ctl/commands.h"
#include "ctl/wire.h"

namespace strom::ctl {

namespace {

/// The length of a new credential's random salt: more than enough that no two credentials
/// share one.
constexpr size_t salt_bytes = 32;

std::vector<host_port> brokers_or_fail(const context& ctx) {
  auto brokers = parse_brokers(ctx.brokers);
  if (!brokers)
    fail(fmt::format("--brokers: {}", brokers.error().detail()));
  return *brokers;
}

std::string random_salt() {
  std::string salt(salt_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1)
    fail("the random generator failed: no salt for the credential");
  return salt;
}

/// Fails with one line for the users the broker refused ("user NAME: <the broker's message>",
/// joined with "; "); returns when there are none.
template <typename Outcome>
void fail_on_refusals(const std::vector<Outcome>& outcomes) {
  std::string line;
  for (const auto& o : outcomes) {
    if (o.ok())
      continue;
    if (!line.empty())
      line += "; ";
    line += fmt::format("user {}: {}", o.user, o.reason());
  }
  if (!line.empty())
    fail(line);
}

/// The outcome for `user` in an AlterUserScramCredentials answer; fails when it is refused or
/// missing.
void require_altered(const std::vector<user_outcome>& outcomes, const std::string& user) {
  fail_on_refusals(outcomes);
  for (const auto& o : outcomes) {
    if (o.user == user)
      return;
  }
  fail(fmt::format("user {}: the broker's answer does not name the user", user));
}

std::vector<user_outcome> alter_or_fail(const context& ctx,
                                        const std::vector<scram_deletion>& deletions,
                                        const std::vector<scram_upsertion>& upsertions) {
  auto r =
      alter_user_scram_credentials(brokers_or_fail(ctx), ctx.timeout_ms, deletions, upsertions);
  if (!r)
    fail(r.error().detail());
  return *r;
}

std::vector<user_scram_credentials> describe_or_fail(
    const context& ctx, const std::optional<std::vector<std::string>>& users) {
  auto r = describe_user_scram_credentials(brokers_or_fail(ctx), ctx.timeout_ms, users);
  if (!r)
    fail(r.error().detail());
  return *r;
}

struct create_options {
  std::string name;
  std::string password;
  std::string mechanism = "SCRAM-SHA-256";
  int32_t iterations = 4096;
};

void create_user(const context& ctx, const create_options& o) {
  require_table_format(ctx);
  auto m = security::parse_scram_mechanism(o.mechanism);
  if (!m)  // checked while parsing the command line
    fail(fmt::format("--mechanism: '{}' is not SCRAM-SHA-256 or SCRAM-SHA-512", o.mechanism));
  auto upsertion = make_scram_upsertion(o.name, *m, o.password, random_salt(), o.iterations);
  require_altered(alter_or_fail(ctx, {}, {upsertion}), o.name);
  if (ctx.json()) {
    json j = json::make_object();
    j.set("user", o.name);
    j.set("mechanism", o.mechanism);
    j.set("iterations", o.iterations);
    std::cout << j.dump() << '\n';
  } else {
    std::cout << fmt::format("user {}: {} credential set ({} iterations)\n", o.name, o.mechanism,
                             o.iterations);
  }
}

void delete_user(const context& ctx, const std::string& name, const std::string& mechanism) {
  require_table_format(ctx);
  std::vector<scram_deletion> deletions;
  if (!mechanism.empty()) {
    auto m = security::parse_scram_mechanism(mechanism);
    if (!m)  // checked while parsing the command line
      fail(fmt::format("--mechanism: '{}' is not SCRAM-SHA-256 or SCRAM-SHA-512", mechanism));
    deletions.push_back({name, scram_mechanism_code(*m)});
  } else {
    // Every mechanism the user has.
    auto described = describe_or_fail(ctx, std::vector<std::string>{name});
    fail_on_refusals(described);
    for (const auto& u : described) {
      if (u.user != name)
        continue;
      for (const auto& c : u.credentials)
        deletions.push_back({name, c.mechanism});
    }
    if (deletions.empty())
      fail(fmt::format("user {}: no SCRAM credential", name));
  }
  // One request per mechanism: Kafka refuses a request that names a user twice
  // (DUPLICATE_RESOURCE), even for two mechanisms.
  json deleted = json::make_array();
  for (const auto& d : deletions) {
    require_altered(alter_or_fail(ctx, {d}, {}), name);
    if (!ctx.json()) {
      std::cout << fmt::format("user {}: {} credential deleted\n", name,
                               scram_mechanism_label(d.mechanism));
      std::cout.flush();
    }
    deleted.push(scram_mechanism_label(d.mechanism));
  }
  if (ctx.json()) {
    json j = json::make_object();
    j.set("user", name);
    j.set("deleted", std::move(deleted));
    std::cout << j.dump() << '\n';
  }
}

void list_users(const context& ctx, const std::vector<std::string>& names) {
  require_table_format(ctx);
  auto described = describe_or_fail(ctx, names.empty() ? std::nullopt : std::optional(names));
  table t({"user", "mechanism", "iterations"});
  json j = json::make_array();
  bool refused = false;
  for (const auto& u : described) {
    refused = refused || !u.ok();
    if (!u.ok())
      continue;
    for (const auto& c : u.credentials) {
      t.add({u.user, scram_mechanism_label(c.mechanism), std::to_string(c.iterations)});
      json row = json::make_object();
      row.set("user", u.user);
      row.set("mechanism", scram_mechanism_label(c.mechanism));
      row.set("iterations", c.iterations);
      j.push(std::move(row));
    }
  }
  // Those found are shown also when others were refused, as commands on several items do.
  if (!refused || !t.empty()) {
    if (t.empty() && !ctx.json())
      std::cout << "no user has a SCRAM credential\n";
    else
      emit(ctx, t, j);
  }
  fail_on_refusals(described);
}

CLI::Validator mechanism_check() {
  return CLI::Validator(
      [](std::string& s) {
        return security::parse_scram_mechanism(s)
                   ? std::string()
                   : fmt::format("'{}' is not SCRAM-SHA-256 or SCRAM-SHA-512", s);
      },
      "MECHANISM");
}

CLI::Validator user_name_check() {
  return CLI::Validator(
      [](std::string& s) { return s.empty() ? "a user name cannot be empty" : ""; }, "NAME");
}

}  // namespace

void add_user_commands(CLI::App& app, context& ctx) {
  auto* user = app.add_subcommand("user", "SCRAM users: create, delete, list");
  user->require_subcommand(1);

  auto co = std::make_shared<create_options>();
  auto* c = user->add_subcommand(
      "create", "Give a user a SCRAM credential (or replace the one of that mechanism)");
  c->add_option("name", co->name, "The user's name")->required()->check(user_name_check());
  c->add_option("--password", co->password,
                "The password (better: $STROM_USER_PASSWORD, which ps and shell history do not "
                "show)")
      ->envname("STROM_USER_PASSWORD");
  c->add_option("--mechanism", co->mechanism, "SCRAM-SHA-256 or SCRAM-SHA-512")
      ->check(mechanism_check())
      ->capture_default_str();
  c->add_option("--iterations", co->iterations, "SCRAM iteration count")
      ->check(CLI::Range(security::min_iterations, security::max_iterations))
      ->capture_default_str();
  c->footer(
      "Sends AlterUserScramCredentials: the password is salted (32 random bytes) and iterated\n"
      "here, and only the result reaches the broker. Run it once per mechanism the user needs;\n"
      "a second run replaces the credential of that mechanism. Kafka clients then log in with\n"
      "sasl.mechanism=SCRAM-SHA-256 (or -512), sasl.username and sasl.password.\n"
      "Examples:\n"
      "  STROM_USER_PASSWORD=s3cret stromctl user create alice\n"
      "  stromctl user create bob --password s3cret --mechanism SCRAM-SHA-512 --iterations 8192");
  c->callback([&ctx, co] {
    // Required, but possibly from the environment: checked here so that the message says so.
    if (co->password.empty())
      throw CLI::RequiredError("--password (or STROM_USER_PASSWORD)");
    ctx.run = [&ctx, co] { create_user(ctx, *co); };
  });

  struct delete_options {
    std::string name;
    std::string mechanism;
  };
  auto dopt = std::make_shared<delete_options>();
  auto* d = user->add_subcommand("delete", "Remove a user's SCRAM credentials");
  d->add_option("name", dopt->name, "The user's name")->required()->check(user_name_check());
  d->add_option("--mechanism", dopt->mechanism,
                "Remove only this one: SCRAM-SHA-256 or SCRAM-SHA-512 (default: every one)")
      ->check(mechanism_check());
  d->footer(
      "Without --mechanism, asks which credentials the user has (DescribeUserScramCredentials)\n"
      "and removes each. Connections already authenticated stay open.\n"
      "Examples:\n  stromctl user delete alice\n  stromctl user delete bob --mechanism "
      "SCRAM-SHA-512");
  on_run(d, ctx, [&ctx, dopt] { delete_user(ctx, dopt->name, dopt->mechanism); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* l = user->add_subcommand("list", "Users with SCRAM credentials");
  l->add_option("names", *names, "Only these users (default: every one)")->check(user_name_check());
  l->footer(
      "Columns: USER MECHANISM ITERATIONS, one row per credential. A user named that has no\n"
      "credential is an error ('stromctl: user NAME: ...', exit status 1).\n"
      "Examples:\n  stromctl user list\n  stromctl user list alice bob --format json");
  on_run(l, ctx, [&ctx, names] { list_users(ctx, *names); });
}

}  // namespace strom::ctl
