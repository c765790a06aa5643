#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strom::security {

// Kafka's ACL model (KIP-11, KIP-290 for prefixed patterns), with Kafka's wire codes.

enum class resource_type : int8_t {
  any = 1,
  topic = 2,
  group = 3,
  cluster = 4,
  transactional_id = 5
};
enum class pattern_type : int8_t { any = 1, match = 2, literal = 3, prefixed = 4 };
enum class acl_operation : int8_t {
  any = 1,
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  remove = 6,  ///< Kafka's DELETE
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
};
enum class acl_permission : int8_t { any = 1, deny = 2, allow = 3 };

/// The one name of the cluster resource.
inline constexpr std::string_view cluster_resource = "kafka-cluster";

/// One ACL: `principal` connecting from `host` may (allow) or may not (deny) do `operation` on
/// the resources of `type` named `name` (literal; "*" = every one) or starting with it
/// (prefixed).
struct acl_binding {
  resource_type type = resource_type::topic;
  std::string name;
  pattern_type pattern = pattern_type::literal;
  std::string principal;   ///< "User:alice", or "User:*" for every principal
  std::string host = "*";  ///< a client address, or "*"
  acl_operation operation = acl_operation::read;
  acl_permission permission = acl_permission::allow;
  auto operator<=>(const acl_binding&) const = default;
};

/// What DescribeAcls and DeleteAcls select: "any" codes and null strings match everything;
/// pattern `match` selects the bindings that apply to the named resource (its literal, the
/// wildcard "*", and the prefixes of its name).
struct acl_filter {
  resource_type type = resource_type::any;
  std::optional<std::string> name;
  pattern_type pattern = pattern_type::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  acl_operation operation = acl_operation::any;
  acl_permission permission = acl_permission::any;
  bool operator==(const acl_filter&) const = default;
};

/// Why `b` cannot be stored (Kafka's rules: a concrete resource type, pattern, operation and
/// permission; a principal "Type:name"; a host; a name, "kafka-cluster" for the cluster; at
/// most 1000 bytes per string), or nullopt when it can.
std::optional<std::string> invalid_reason(const acl_binding& b);
/// Why `f` cannot select anything sensible (an unknown code), or nullopt.
std::optional<std::string> invalid_reason(const acl_filter& f);
bool matches(const acl_filter& f, const acl_binding& b);

/// One question to the authorizer.
struct access {
  std::string principal;
  std::string host;  ///< the client's address without its port
  acl_operation operation = acl_operation::read;
  resource_type type = resource_type::topic;
  std::string name;
};

/// Kafka's decision: no binding of the resource for the principal and host allowing the
/// operation, or one denying it, means no; a deny wins over any allow. A binding for every
/// principal ("User:*"), every host ("*") or every resource of the type ("*") applies too; a
/// prefixed binding applies to every name starting with it. ALL covers every operation; READ,
/// WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS.
bool authorized(const std::vector<acl_binding>& acls, const access& a);

/// Whether some resource of `a.type` allows `a.operation` to the principal and host (`a.name`
/// is not looked at), unless a deny on every resource of the type ("*") refuses it: Kafka's
/// check by resource type (KIP-679: an idempotent producer needs Write on some topic).
bool authorized_on_some(const std::vector<acl_binding>& acls, const access& a);

std::string_view name_of(resource_type t);   ///< "Topic", "Group", "Cluster", ...
std::string_view name_of(acl_operation o);   ///< "Read", "IdempotentWrite", ...
std::string_view name_of(acl_permission p);  ///< "Allow", "Deny"
std::string_view name_of(pattern_type p);    ///< "Literal", "Prefixed", ...

}  // namespace strom::security
