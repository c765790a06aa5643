// DescribeUserScramCredentials (API 50) and AlterUserScramCredentials (API 51): the users whose
// SCRAM credentials authenticate SASL clients (KIP-554). Salts, keys and salted passwords
// are never answered nor logged.
#include <map>
#include <set>

#include <fmt/format.h>

#include "kafka/server/context.h"
#include "strom/base/logging.h"

namespace strom::kafka::server {

using protocol::error_code;

namespace {
spdlog::logger& lg() {
  return logging::get("kafka");
}

std::optional<security::scram_mechanism> mechanism_of(int8_t code) {
  if (code == 1)
    return security::scram_mechanism::sha256;
  if (code == 2)
    return security::scram_mechanism::sha512;
  return std::nullopt;
}
int8_t code_of(security::scram_mechanism m) {
  return m == security::scram_mechanism::sha256 ? 1 : 2;
}
size_t digest_size(security::scram_mechanism m) {
  return m == security::scram_mechanism::sha256 ? 32 : 64;
}
std::string_view as_text(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
}  // namespace

awaitable<net::handler_result> handle_describe_user_scram_credentials(
    request_context& c, protocol::describe_user_scram_credentials_request& r) {
  protocol::describe_user_scram_credentials_response out;
  if (!c.allowed_on_cluster(security::acl_operation::describe)) {
    out.error_code = error_code::cluster_authorization_failed;
    co_return respond(c, out);
  }
  auto state = c.frontend.security();
  auto describe = [&](const std::string& name) {
    protocol::describe_user_scram_credentials_response::described_user u;
    u.user = name;
    auto it = state->users.find(name);
    if (it == state->users.end()) {
      u.error_code = error_code::resource_not_found;
      u.error_message =
          fmt::format("Attempt to describe a user credential that does not exist: {}", name);
      return u;
    }
    for (const auto& [m, k] : it->second)
      u.credential_infos.push_back({code_of(m), k.iterations});
    return u;
  };
  if (!r.users) {
    for (const auto& [name, creds] : state->users)
      out.results.push_back(describe(name));
    co_return respond(c, out);
  }
  std::map<std::string, int> asked;
  for (const auto& u : *r.users)
    ++asked[u.name];
  for (const auto& [name, n] : asked) {
    if (n > 1) {
      protocol::describe_user_scram_credentials_response::described_user u;
      u.user = name;
      u.error_code = error_code::duplicate_resource;
      u.error_message = fmt::format(
          "Cannot describe SCRAM credentials for the same user twice "
          "in a single request: {}",
          name);
      out.results.push_back(std::move(u));
    } else {
      out.results.push_back(describe(name));
    }
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_alter_user_scram_credentials(
    request_context& c, protocol::alter_user_scram_credentials_request& r) {
  protocol::alter_user_scram_credentials_response out;
  // Kafka answers once per user: a user named twice gets DUPLICATE_RESOURCE for all of it.
  std::map<std::string, int> named;
  for (const auto& d : r.deletions)
    ++named[d.name];
  for (const auto& u : r.upsertions)
    ++named[u.name];
  if (!c.allowed_on_cluster(security::acl_operation::alter)) {
    for (const auto& [name, n] : named)
      out.results.push_back({name, error_code::cluster_authorization_failed, std::nullopt});
    co_return respond(c, out);
  }
  std::map<std::string, protocol::alter_user_scram_credentials_response::altered_user> results;
  auto fail = [&](const std::string& name, error_code e, std::string message) {
    auto& res = results[name];
    res.user = name;
    if (res.error_code == error_code::none) {
      res.error_code = e;
      res.error_message = std::move(message);
    }
  };
  std::vector<std::pair<std::string, cluster::topics_frontend::security_change>> changes;
  for (const auto& d : r.deletions) {
    auto m = mechanism_of(d.mechanism);
    if (d.name.empty())
      fail(d.name, error_code::unacceptable_credential, "Username must not be empty");
    else if (named[d.name] > 1)
      fail(d.name, error_code::duplicate_resource,
           "A user credential cannot be altered twice in the same request");
    else if (!m)
      fail(d.name, error_code::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
    else
      changes.push_back({d.name, cluster::delete_scram_cmd{d.name, *m}});
  }
  for (const auto& u : r.upsertions) {
    auto m = mechanism_of(u.mechanism);
    if (u.name.empty())
      fail(u.name, error_code::unacceptable_credential, "Username must not be empty");
    else if (u.name.size() > cluster::security_state::max_user_name)
      fail(u.name, error_code::unacceptable_credential,
           fmt::format("Username longer than {} bytes", cluster::security_state::max_user_name));
    else if (named[u.name] > 1)
      fail(u.name, error_code::duplicate_resource,
           "A user credential cannot be altered twice in the same request");
    else if (!m)
      fail(u.name, error_code::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
    else if (u.iterations < security::min_iterations || u.iterations > security::max_iterations)
      fail(u.name, error_code::unacceptable_credential,
           fmt::format("Iterations {} not in the range [{}, {}]", u.iterations,
                       security::min_iterations, security::max_iterations));
    else if (u.salt.empty() || u.salt.size() > 1024)
      fail(u.name, error_code::unacceptable_credential, "Salt must hold 1 to 1024 bytes");
    else if (u.salted_password.size() != digest_size(*m))
      fail(u.name, error_code::unacceptable_credential,
           "Salted password does not have the mechanism's digest size");
    else
      changes.push_back(
          {u.name, cluster::upsert_scram_cmd{u.name, security::credential_from_salted_password(
                                                         *m, as_text(u.salted_password),
                                                         as_text(u.salt), u.iterations)}});
  }
  for (auto& [name, change] : changes) {
    bool upsert = std::holds_alternative<cluster::upsert_scram_cmd>(change);
    auto op = c.frontend.alter_security(std::move(change));
    auto s = co_await std::move(op);
    if (!s) {
      auto e = to_kafka_error(s.error());
      if (e == error_code::unknown_server_error &&
          s.error().is(cluster::controller_errc::invalid_command))
        e = error_code::unacceptable_credential;
      fail(name, e, s.error().detail().empty() ? s.error().message() : s.error().detail());
    } else {
      results[name].user = name;
    }
    lg().info("{} ({}): {} of user {}: {}", c.who.peer, c.principal(),
              upsert ? "credential upsert" : "credential deletion", name,
              s ? "done" : s.error().message());
    if (c.audit) {
      c.audit->record({"admin", c.principal(), c.who.peer, "AlterUserScramCredentials",
                       "User:" + name, s ? "success" : "failure", upsert ? "upsert" : "delete"});
    }
  }
  for (auto& [name, res] : results)
    out.results.push_back(std::move(res));
  co_return respond(c, out);
}

}  // namespace strom::kafka::server
