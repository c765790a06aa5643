// DescribeAcls (API 29), CreateAcls (API 30) and DeleteAcls (API 31): the ACL bindings the
// authorizer checks requests against (KIP-11, KIP-290). They need `authorization.enabled`
// (SECURITY_DISABLED otherwise, as Kafka without an authorizer answers), Describe on the
// cluster to read and Alter on the cluster to change.
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "kafka/server/context.h"
#include "strom/base/logging.h"

namespace strom::kafka::server {

using protocol::error_code;
using security::acl_binding;
using security::acl_filter;

namespace {
spdlog::logger& lg() {
  return logging::get("kafka");
}

constexpr const char* no_authorizer = "No Authorizer is configured on the broker";

template <typename F>
acl_filter filter_of(const F& f) {
  acl_filter out;
  out.type = static_cast<security::resource_type>(f.resource_type_filter);
  out.name = f.resource_name_filter;
  out.pattern = static_cast<security::pattern_type>(f.pattern_type_filter);
  out.principal = f.principal_filter;
  out.host = f.host_filter;
  out.operation = static_cast<security::acl_operation>(f.operation);
  out.permission = static_cast<security::acl_permission>(f.permission_type);
  return out;
}

std::string describe_binding(const acl_binding& b) {
  return fmt::format("{} {} {} {}:{} ({}) from {}", b.principal, security::name_of(b.permission),
                     security::name_of(b.operation), security::name_of(b.type), b.name,
                     security::name_of(b.pattern), b.host);
}

/// The refusal every change of the ACLs gets before anything else: SECURITY_DISABLED without
/// an authorizer, CLUSTER_AUTHORIZATION_FAILED without Alter on the cluster; set on each of
/// `results`. False when the change may go on.
template <typename Results>
bool refused_change(const request_context& c, Results& results) {
  std::optional<error_code> e;
  const char* message = nullptr;
  if (!c.authorizing()) {
    e = error_code::security_disabled;
    message = no_authorizer;
  } else if (!c.allowed_on_cluster(security::acl_operation::alter)) {
    e = error_code::cluster_authorization_failed;
  }
  if (!e)
    return false;
  for (auto& res : results) {
    res.error_code = *e;
    if (message)
      res.error_message = message;
  }
  return true;
}

void audit_change(const request_context& c, std::string_view api, const acl_binding& b, bool ok) {
  if (c.audit) {
    c.audit->record({"admin", c.principal(), c.who.peer, std::string(api),
                     fmt::format("{}:{}", security::name_of(b.type), b.name),
                     ok ? "success" : "failure", describe_binding(b)});
  }
}
}  // namespace

awaitable<net::handler_result> handle_describe_acls(request_context& c,
                                                    protocol::describe_acls_request& r) {
  protocol::describe_acls_response out;
  if (!c.authorizing()) {
    out.error_code = error_code::security_disabled;
    out.error_message = no_authorizer;
    co_return respond(c, out);
  }
  if (!c.allowed_on_cluster(security::acl_operation::describe)) {
    out.error_code = error_code::cluster_authorization_failed;
    co_return respond(c, out);
  }
  auto f = filter_of(r);
  if (auto why = security::invalid_reason(f)) {
    out.error_code = error_code::invalid_request;
    out.error_message = *why;
    co_return respond(c, out);
  }
  auto state = c.frontend.security();
  // One entry per resource pattern, its bindings under it.
  std::map<std::tuple<int8_t, std::string, int8_t>, size_t> index;
  for (const auto& b : state->acls) {
    if (!security::matches(f, b))
      continue;
    auto key = std::tuple(static_cast<int8_t>(b.type), b.name, static_cast<int8_t>(b.pattern));
    auto [it, fresh] = index.try_emplace(key, out.resources.size());
    if (fresh) {
      auto& res = out.resources.emplace_back();
      res.resource_type = static_cast<int8_t>(b.type);
      res.resource_name = b.name;
      res.pattern_type = static_cast<int8_t>(b.pattern);
    }
    auto& acl = out.resources[it->second].acls.emplace_back();
    acl.principal = b.principal;
    acl.host = b.host;
    acl.operation = static_cast<int8_t>(b.operation);
    acl.permission_type = static_cast<int8_t>(b.permission);
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_create_acls(request_context& c,
                                                  protocol::create_acls_request& r) {
  protocol::create_acls_response out;
  out.results.resize(r.creations.size());
  if (refused_change(c, out.results))
    co_return respond(c, out);
  cluster::create_acls_cmd cmd;
  std::vector<size_t> submitted;
  for (size_t i = 0; i < r.creations.size(); ++i) {
    const auto& k = r.creations[i];
    acl_binding b{static_cast<security::resource_type>(k.resource_type),
                  k.resource_name,
                  static_cast<security::pattern_type>(k.resource_pattern_type),
                  k.principal,
                  k.host,
                  static_cast<security::acl_operation>(k.operation),
                  static_cast<security::acl_permission>(k.permission_type)};
    if (auto why = security::invalid_reason(b)) {
      out.results[i].error_code = error_code::invalid_request;
      out.results[i].error_message = *why;
      continue;
    }
    cmd.bindings.push_back(std::move(b));
    submitted.push_back(i);
  }
  if (!cmd.bindings.empty()) {
    auto bindings = cmd.bindings;
    auto op = c.frontend.alter_security(std::move(cmd));
    auto s = co_await std::move(op);
    for (auto i : submitted) {
      if (!s) {
        out.results[i].error_code = s.error().is(cluster::controller_errc::invalid_command)
                                        ? error_code::invalid_request
                                        : to_kafka_error(s.error());
        out.results[i].error_message =
            s.error().detail().empty() ? s.error().message() : s.error().detail();
      }
    }
    for (const auto& b : bindings) {
      lg().info("{} ({}): ACL {}: {}", c.who.peer, c.principal(), describe_binding(b),
                s ? "created" : s.error().message());
      audit_change(c, "CreateAcls", b, static_cast<bool>(s));
    }
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_delete_acls(request_context& c,
                                                  protocol::delete_acls_request& r) {
  protocol::delete_acls_response out;
  out.filter_results.resize(r.filters.size());
  if (refused_change(c, out.filter_results))
    co_return respond(c, out);
  cluster::delete_acls_cmd cmd;
  std::vector<size_t> submitted;
  for (size_t i = 0; i < r.filters.size(); ++i) {
    auto f = filter_of(r.filters[i]);
    if (auto why = security::invalid_reason(f)) {
      out.filter_results[i].error_code = error_code::invalid_request;
      out.filter_results[i].error_message = *why;
      continue;
    }
    cmd.filters.push_back(std::move(f));
    submitted.push_back(i);
  }
  if (cmd.filters.empty())
    co_return respond(c, out);
  // What each filter removes, as the bindings stand when the deletion is submitted.
  auto state = c.frontend.security();
  std::vector<std::vector<acl_binding>> matched(cmd.filters.size());
  for (size_t j = 0; j < cmd.filters.size(); ++j) {
    for (const auto& b : state->acls) {
      if (security::matches(cmd.filters[j], b))
        matched[j].push_back(b);
    }
  }
  auto op = c.frontend.alter_security(std::move(cmd));
  auto s = co_await std::move(op);
  for (size_t j = 0; j < submitted.size(); ++j) {
    auto& res = out.filter_results[submitted[j]];
    if (!s) {
      res.error_code = to_kafka_error(s.error());
      res.error_message = s.error().detail().empty() ? s.error().message() : s.error().detail();
      continue;
    }
    for (const auto& b : matched[j]) {
      auto& m = res.matching_acls.emplace_back();
      m.resource_type = static_cast<int8_t>(b.type);
      m.resource_name = b.name;
      m.pattern_type = static_cast<int8_t>(b.pattern);
      m.principal = b.principal;
      m.host = b.host;
      m.operation = static_cast<int8_t>(b.operation);
      m.permission_type = static_cast<int8_t>(b.permission);
      lg().info("{} ({}): ACL {}: deleted", c.who.peer, c.principal(), describe_binding(b));
      audit_change(c, "DeleteAcls", b, true);
    }
  }
  co_return respond(c, out);
}

}  // namespace strom::kafka::server
