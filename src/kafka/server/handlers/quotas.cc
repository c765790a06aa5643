// DescribeClientQuotas (API 48) and AlterClientQuotas (API 49): the client quotas (KIP-546), byte
// rates and request time. Reading needs DescribeConfigs on the cluster, changing AlterConfigs
// (Kafka's rules).
#include <cmath>

#include <fmt/format.h>

#include "kafka/server/context.h"
#include "strom/base/logging.h"

namespace strom::kafka::server {

using protocol::error_code;

namespace {
spdlog::logger& lg() {
  return logging::get("kafka");
}

constexpr std::string_view user_type = "user";
constexpr std::string_view client_type = "client-id";
constexpr int8_t match_exact = 0;
constexpr int8_t match_default = 1;
constexpr int8_t match_any = 2;

using part = std::optional<std::optional<std::string>>;

std::string describe_entity(const cluster::quota_entity& e) {
  std::string out;
  auto add = [&out](std::string_view type, const part& p) {
    if (!p)
      return;
    if (!out.empty())
      out += ", ";
    out += fmt::format("{}={}", type, *p ? **p : std::string("<default>"));
  };
  add(user_type, e.user);
  add(client_type, e.client_id);
  return out;
}

/// Whether one component of a DescribeClientQuotas filter accepts `p`.
bool accepts(int8_t match_type, const std::optional<std::string>& match, const part& p) {
  if (!p)
    return false;  // the entity has no part of this type
  switch (match_type) {
    case match_exact:
      return *p && match && **p == *match;
    case match_default:
      return !*p;
    default:
      return true;
  }
}
}  // namespace

awaitable<net::handler_result> handle_describe_client_quotas(
    request_context& c, protocol::describe_client_quotas_request& r) {
  protocol::describe_client_quotas_response out;
  if (!c.allowed_on_cluster(security::acl_operation::describe_configs)) {
    out.error_code = error_code::cluster_authorization_failed;
    out.entries.reset();
    co_return respond(c, out);
  }
  // Each entity type at most once, with a known type and match type.
  bool user_asked = false, client_asked = false;
  for (const auto& k : r.components) {
    bool& asked = k.entity_type == user_type ? user_asked : client_asked;
    if ((k.entity_type != user_type && k.entity_type != client_type) || asked ||
        k.match_type < match_exact || k.match_type > match_any ||
        (k.match_type == match_exact && !k.match)) {
      out.error_code = error_code::invalid_request;
      out.error_message =
          fmt::format("invalid quota filter component for entity type {}", k.entity_type);
      out.entries.reset();
      co_return respond(c, out);
    }
    asked = true;
  }
  auto state = c.frontend.security();
  out.entries.emplace();
  for (const auto& [e, values] : state->quotas) {
    bool ok = true;
    for (const auto& k : r.components)
      ok = ok && accepts(k.match_type, k.match, k.entity_type == user_type ? e.user : e.client_id);
    // strict: the entity has no part of a type the filter does not name.
    if (r.strict && ((e.user && !user_asked) || (e.client_id && !client_asked)))
      ok = false;
    if (!ok)
      continue;
    auto& entry = out.entries->emplace_back();
    if (e.user)
      entry.entity.push_back({std::string(user_type), *e.user});
    if (e.client_id)
      entry.entity.push_back({std::string(client_type), *e.client_id});
    for (const auto& [key, value] : values)
      entry.values.push_back({key, value});
  }
  co_return respond(c, out);
}

awaitable<net::handler_result> handle_alter_client_quotas(
    request_context& c, protocol::alter_client_quotas_request& r) {
  protocol::alter_client_quotas_response out;
  bool may = c.allowed_on_cluster(security::acl_operation::alter_configs);
  for (const auto& entry : r.entries) {
    auto& res = out.entries.emplace_back();
    for (const auto& ent : entry.entity)
      res.entity.push_back({ent.entity_type, ent.entity_name});
    if (!may) {
      res.error_code = error_code::cluster_authorization_failed;
      continue;
    }
    cluster::alter_quotas_cmd cmd;
    std::string why;
    for (const auto& ent : entry.entity) {
      auto& slot = ent.entity_type == user_type     ? cmd.entity.user
                   : ent.entity_type == client_type ? cmd.entity.client_id
                                                    : cmd.entity.user;
      if (ent.entity_type != user_type && ent.entity_type != client_type)
        why = fmt::format("unknown quota entity type {}", ent.entity_type);
      else if (slot)
        why = fmt::format("entity type {} given twice", ent.entity_type);
      slot = ent.entity_name;
    }
    if (why.empty() && !cmd.entity.user && !cmd.entity.client_id)
      why = "a quota entity names a user or a client id";
    for (const auto& op : entry.ops) {
      if (op.key != cluster::producer_byte_rate && op.key != cluster::consumer_byte_rate &&
          op.key != cluster::request_percentage) {
        why = fmt::format("unknown quota key {}", op.key);
      } else if (op.remove) {
        cmd.remove.push_back(op.key);
      } else if (!(op.value > 0) || !std::isfinite(op.value)) {
        why = fmt::format("quota {} must be above 0, got {}", op.key, op.value);
      } else {
        cmd.set[op.key] = op.value;
      }
    }
    if (!why.empty()) {
      res.error_code = error_code::invalid_request;
      res.error_message = why;
      continue;
    }
    if (r.validate_only)
      continue;
    auto entity = describe_entity(cmd.entity);
    auto op = c.frontend.alter_security(std::move(cmd));
    auto s = co_await std::move(op);
    if (!s) {
      res.error_code = s.error().is(cluster::controller_errc::invalid_command)
                           ? error_code::invalid_request
                           : to_kafka_error(s.error());
      res.error_message = s.error().detail().empty() ? s.error().message() : s.error().detail();
    }
    lg().info("{} ({}): quotas of {}: {}", c.who.peer, c.principal(), entity,
              s ? "altered" : s.error().message());
    if (c.audit) {
      c.audit->record({"admin", c.principal(), c.who.peer, "AlterClientQuotas", entity,
                       s ? "success" : "failure", ""});
    }
  }
  co_return respond(c, out);
}

}  // namespace strom::kafka::server
