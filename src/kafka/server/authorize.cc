// Authorization of Kafka requests against the ACLs (security::authorized).
#include <algorithm>

#include "kafka/server/context.h"
#include "strom/base/logging.h"

namespace strom::kafka::server {

namespace {
spdlog::logger& lg() {
  return logging::get("kafka");
}

/// "10.0.0.1:5000" -> "10.0.0.1"; "[::1]:5000" -> "::1".
std::string host_of(std::string_view peer) {
  auto colon = peer.rfind(':');
  auto host = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string(host);
}
}  // namespace

bool request_context::allowed(security::acl_operation op, security::resource_type type,
                              std::string_view name, bool audit_denial) const {
  if (!authorizing())
    return true;
  auto who_is = principal();
  if (std::find(auth->superusers.begin(), auth->superusers.end(), who_is) != auth->superusers.end())
    return true;
  security::access a{who_is, host_of(who.peer), op, type, std::string(name)};
  auto state = frontend.security();
  if (security::authorized(state->acls, a))
    return true;
  if (!audit_denial)
    return false;
  STROM_LOG_LIMITED(lg(), info, "{} ({}): {} on {}:{} denied to {}", who.peer,
                    protocol::api_name(header.key), security::name_of(op), security::name_of(type),
                    name, who_is);
  if (audit) {
    audit->record({"authorization", who_is, who.peer, std::string(protocol::api_name(header.key)),
                   fmt::format("{}:{}", security::name_of(type), name), "denied",
                   std::string(security::name_of(op))});
  }
  return false;
}

void request_context::audit_admin(std::string_view resource, protocol::error_code e,
                                  std::string_view detail) const {
  if (audit == nullptr)
    return;
  bool ok = e == protocol::error_code::none;
  std::string why(detail);
  if (!ok)
    why = why.empty() ? std::string(protocol::error_name(e))
                      : fmt::format("{}: {}", protocol::error_name(e), why);
  audit->record({"admin", principal(), who.peer, std::string(protocol::api_name(header.key)),
                 std::string(resource), ok ? "success" : "failure", std::move(why)});
}

std::string request_context::quota_user() const {
  auto p = principal();
  return p.starts_with("User:") ? p.substr(5) : p;
}

std::chrono::milliseconds request_context::throttle(quota_manager::kind k, int64_t bytes) const {
  if (auth == nullptr || !auth->quotas || bytes <= 0)
    return std::chrono::milliseconds(0);
  if (!quota_state)
    quota_state = frontend.security();
  if (quota_state->quotas.empty())
    return std::chrono::milliseconds(0);
  return auth->quotas->record(k, quota_user(), header.client_id.value_or(""), bytes, *quota_state);
}

namespace {
/// Whether `s` has some request_percentage quota, remembered per shard for the last state
/// seen (a new state is a new object: the weak pointer tells them apart).
bool has_request_quota(const std::shared_ptr<const cluster::security_state>& s) {
  thread_local std::weak_ptr<const cluster::security_state> seen;
  thread_local bool has = false;
  if (seen.owner_before(s) || s.owner_before(seen) || seen.expired()) {
    seen = s;
    has = std::any_of(s->quotas.begin(), s->quotas.end(), [](const auto& e) {
      return e.second.contains(std::string(cluster::request_percentage));
    });
  }
  return has;
}
}  // namespace

std::chrono::milliseconds request_context::request_time_throttle() const {
  if (!who.run_time)
    return std::chrono::milliseconds(0);
  auto& meter = *who.run_time;
  if (auth == nullptr || !auth->quotas) {
    meter.skip();
    return std::chrono::milliseconds(0);
  }
  if (!quota_state)
    quota_state = frontend.security();
  bool timing = !quota_state->quotas.empty() && has_request_quota(quota_state);
  auth->quotas->set_timing_requests(timing);  // the next requests run timed, or not
  if (!timing) {
    meter.skip();  // nothing counts while no such quota exists
    return std::chrono::milliseconds(0);
  }
  auto ns = meter.take();
  return auth->quotas->record(quota_manager::kind::request_time, quota_user(),
                              header.client_id.value_or(""), static_cast<int64_t>(ns),
                              *quota_state);
}

bool request_context::may_produce_idempotently() const {
  if (allowed(security::acl_operation::idempotent_write, security::resource_type::cluster,
              security::cluster_resource, false))
    return true;
  auto state = frontend.security();
  security::access a{principal(), host_of(who.peer), security::acl_operation::write,
                     security::resource_type::topic, ""};
  if (security::authorized_on_some(state->acls, a))
    return true;
  // Audited as a denial of IdempotentWrite on the cluster.
  return allowed(security::acl_operation::idempotent_write, security::resource_type::cluster,
                 security::cluster_resource);
}

}  // namespace strom::kafka::server
