#include "strom/security/acl.h"

#include <fmt/format.h>

namespace strom::security {

namespace {
constexpr size_t max_acl_string = 1000;

bool known(resource_type t) {
  return static_cast<int8_t>(t) >= 1 && static_cast<int8_t>(t) <= 5;
}
bool known(pattern_type p) {
  return static_cast<int8_t>(p) >= 1 && static_cast<int8_t>(p) <= 4;
}
bool known(acl_operation o) {
  return static_cast<int8_t>(o) >= 1 && static_cast<int8_t>(o) <= 12;
}
bool known(acl_permission p) {
  return static_cast<int8_t>(p) >= 1 && static_cast<int8_t>(p) <= 3;
}

/// Whether binding `b` (of the resource type asked) applies to the resource named `name`.
bool applies_to(const acl_binding& b, std::string_view name) {
  if (b.pattern == pattern_type::literal)
    return b.name == name || b.name == "*";
  return b.pattern == pattern_type::prefixed && name.starts_with(b.name);
}

bool covers(acl_operation granted, acl_operation asked) {
  if (granted == asked || granted == acl_operation::all)
    return true;
  if (asked == acl_operation::describe) {
    return granted == acl_operation::read || granted == acl_operation::write ||
           granted == acl_operation::remove || granted == acl_operation::alter;
  }
  return asked == acl_operation::describe_configs && granted == acl_operation::alter_configs;
}
}  // namespace

std::optional<std::string> invalid_reason(const acl_binding& b) {
  if (!known(b.type) || b.type == resource_type::any)
    return std::string("the resource type must be TOPIC, GROUP, CLUSTER or TRANSACTIONAL_ID");
  if (b.pattern != pattern_type::literal && b.pattern != pattern_type::prefixed)
    return std::string("the pattern type must be LITERAL or PREFIXED");
  if (!known(b.operation) || b.operation == acl_operation::any)
    return std::string("the operation must not be ANY or unknown");
  if (!known(b.permission) || b.permission == acl_permission::any)
    return std::string("the permission type must be ALLOW or DENY");
  if (b.name.empty() || b.principal.empty() || b.host.empty())
    return std::string("the resource name, the principal and the host must not be empty");
  if (b.name.size() > max_acl_string || b.principal.size() > max_acl_string ||
      b.host.size() > max_acl_string)
    return fmt::format("a string longer than {} bytes", max_acl_string);
  auto colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size())
    return fmt::format("principal {} is not of the form Type:name", b.principal);
  if (b.type == resource_type::cluster &&
      (b.name != cluster_resource || b.pattern != pattern_type::literal))
    return fmt::format("the cluster resource is named {}", cluster_resource);
  if (b.pattern == pattern_type::prefixed && b.name == "*")
    return std::string("a prefixed pattern cannot be the wildcard *");
  return std::nullopt;
}

std::optional<std::string> invalid_reason(const acl_filter& f) {
  if (!known(f.type) || !known(f.pattern) || !known(f.operation) || !known(f.permission))
    return std::string("an unknown resource type, pattern type, operation or permission");
  return std::nullopt;
}

bool matches(const acl_filter& f, const acl_binding& b) {
  if (f.type != resource_type::any && f.type != b.type)
    return false;
  if (f.principal && *f.principal != b.principal)
    return false;
  if (f.host && *f.host != b.host)
    return false;
  if (f.operation != acl_operation::any && f.operation != b.operation)
    return false;
  if (f.permission != acl_permission::any && f.permission != b.permission)
    return false;
  switch (f.pattern) {
    case pattern_type::any:
      return !f.name || *f.name == b.name;
    case pattern_type::match:
      return !f.name || applies_to(b, *f.name);
    default:
      return f.pattern == b.pattern && (!f.name || *f.name == b.name);
  }
}

bool authorized(const std::vector<acl_binding>& acls, const access& a) {
  bool allowed = false;
  for (const auto& b : acls) {
    if (b.type != a.type || !applies_to(b, a.name))
      continue;
    if (b.principal != a.principal && b.principal != "User:*")
      continue;
    if (b.host != "*" && b.host != a.host)
      continue;
    if (b.permission == acl_permission::deny) {
      if (b.operation == acl_operation::all || b.operation == a.operation)
        return false;  // a deny wins, whatever allows
    } else if (covers(b.operation, a.operation)) {
      allowed = true;
    }
  }
  return allowed;
}

bool authorized_on_some(const std::vector<acl_binding>& acls, const access& a) {
  bool allowed = false;
  for (const auto& b : acls) {
    if (b.type != a.type || (b.principal != a.principal && b.principal != "User:*") ||
        (b.host != "*" && b.host != a.host))
      continue;
    if (b.permission == acl_permission::deny) {
      if (b.pattern == pattern_type::literal && b.name == "*" &&
          (b.operation == acl_operation::all || b.operation == a.operation))
        return false;
    } else if (b.operation == acl_operation::all || b.operation == a.operation) {
      allowed = true;
    }
  }
  return allowed;
}

std::string_view name_of(resource_type t) {
  switch (t) {
    case resource_type::any:
      return "Any";
    case resource_type::topic:
      return "Topic";
    case resource_type::group:
      return "Group";
    case resource_type::cluster:
      return "Cluster";
    case resource_type::transactional_id:
      return "TransactionalId";
  }
  return "Unknown";
}

std::string_view name_of(acl_operation o) {
  switch (o) {
    case acl_operation::any:
      return "Any";
    case acl_operation::all:
      return "All";
    case acl_operation::read:
      return "Read";
    case acl_operation::write:
      return "Write";
    case acl_operation::create:
      return "Create";
    case acl_operation::remove:
      return "Delete";
    case acl_operation::alter:
      return "Alter";
    case acl_operation::describe:
      return "Describe";
    case acl_operation::cluster_action:
      return "ClusterAction";
    case acl_operation::describe_configs:
      return "DescribeConfigs";
    case acl_operation::alter_configs:
      return "AlterConfigs";
    case acl_operation::idempotent_write:
      return "IdempotentWrite";
  }
  return "Unknown";
}

std::string_view name_of(acl_permission p) {
  switch (p) {
    case acl_permission::any:
      return "Any";
    case acl_permission::deny:
      return "Deny";
    case acl_permission::allow:
      return "Allow";
  }
  return "Unknown";
}

std::string_view name_of(pattern_type p) {
  switch (p) {
    case pattern_type::any:
      return "Any";
    case pattern_type::match:
      return "Match";
    case pattern_type::literal:
      return "Literal";
    case pattern_type::prefixed:
      return "Prefixed";
  }
  return "Unknown";
}

}  // namespace strom::security
