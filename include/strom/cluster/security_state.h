#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strom/base/result.h"
#include "strom/security/acl.h"
#include "strom/security/scram.h"

namespace strom::bytes {
class writer;
class cursor;
}  // namespace strom::bytes

namespace strom::cluster {

/// The SCRAM credentials of one user, by mechanism.
using user_credentials = std::map<security::scram_mechanism, security::scram_credential>;

/// Adds or replaces the credential of `user` for the credential's mechanism
/// (AlterUserScramCredentials upsertion, `stromctl user create`).
struct upsert_scram_cmd {
  std::string user;
  security::scram_credential credential;
  friend bool operator==(const upsert_scram_cmd&, const upsert_scram_cmd&) = default;
};
/// Removes the credential of `user` for `mechanism`; a user without credentials is gone.
struct delete_scram_cmd {
  std::string user;
  security::scram_mechanism mechanism = security::scram_mechanism::sha256;
  friend bool operator==(const delete_scram_cmd&, const delete_scram_cmd&) = default;
};

/// Adds ACL bindings (CreateAcls); one already stored is not stored twice.
struct create_acls_cmd {
  std::vector<security::acl_binding> bindings;
  friend bool operator==(const create_acls_cmd&, const create_acls_cmd&) = default;
};
/// Removes every ACL binding one of `filters` selects (DeleteAcls).
struct delete_acls_cmd {
  std::vector<security::acl_filter> filters;
  friend bool operator==(const delete_acls_cmd&, const delete_acls_cmd&) = default;
};

/// A client-quota entity (Kafka's): a user and/or a client id, each part a name or the default
/// of its type (nullopt); a part left out (the outer nullopt) is not part of the entity.
struct quota_entity {
  std::optional<std::optional<std::string>> user;
  std::optional<std::optional<std::string>> client_id;
  auto operator<=>(const quota_entity&) const = default;
  bool operator==(const quota_entity&) const = default;
};
/// The quota keys Strom enforces.
inline constexpr std::string_view producer_byte_rate = "producer_byte_rate";
inline constexpr std::string_view consumer_byte_rate = "consumer_byte_rate";
/// The share of one thread's time a client's requests may take, in percent (100 = one thread).
inline constexpr std::string_view request_percentage = "request_percentage";

/// Sets the quotas `set` of `entity` and removes those named in `remove` (AlterClientQuotas);
/// an entity without quotas left is gone.
struct alter_quotas_cmd {
  quota_entity entity;
  std::map<std::string, double> set;
  std::vector<std::string> remove;
  friend bool operator==(const alter_quotas_cmd&, const alter_quotas_cmd&) = default;
};

/// What authenticates and authorizes clients, the same on every broker: the users and their
/// SCRAM credentials. In a cluster it is part of the controller's state machine (replicated
/// with its log and snapshots); a broker without a controller keeps it in a file of its own.
/// Never logged, never in /v1/config or metrics: it holds the keys that prove a password.
struct security_state {
  std::map<std::string, user_credentials> users;
  /// The ACL bindings, sorted, each once.
  std::vector<security::acl_binding> acls;
  /// The client quotas, by entity.
  std::map<quota_entity, std::map<std::string, double>> quotas;

  /// The longest user name and the most users (each user costs every broker memory).
  static constexpr size_t max_user_name = 255;
  static constexpr size_t max_users = 10000;
  /// The most ACL bindings (each one is looked at by every authorization).
  static constexpr size_t max_acls = 10000;
  /// The most quota entities.
  static constexpr size_t max_quota_entities = 10000;

  /// Applies a command; refused (nothing changes) when it does not fit: an empty or too long
  /// name, iterations outside Kafka's bounds, keys of the wrong size, too many users
  /// (controller_errc::invalid_command), a deletion of a credential that does not exist
  /// (controller_errc::not_found).
  status apply(const upsert_scram_cmd& c);
  status apply(const delete_scram_cmd& c);
  /// Refused as a whole (controller_errc::invalid_command) when a binding is invalid
  /// (security::invalid_reason) or the bindings would pass max_acls.
  status apply(const create_acls_cmd& c);
  /// Refused when a filter is invalid; removing nothing is not an error.
  status apply(const delete_acls_cmd& c);
  /// Refused (controller_errc::invalid_command) for an empty entity, a name longer than
  /// max_user_name, a key other than producer_byte_rate, consumer_byte_rate or
  /// request_percentage, a value not above 0 or not finite, or too many entities.
  status apply(const alter_quotas_cmd& c);

  /// The quota `key` that applies to `user` connecting as `client_id`, and the entity it comes
  /// from, in Kafka's order of precedence: user and client id, user and default client, user,
  /// default user and client id, default user and default client, default user, client id,
  /// default client.
  struct applicable_quota {
    quota_entity entity;
    double value = 0;
  };
  [[nodiscard]] std::optional<applicable_quota> quota_for(std::string_view key,
                                                          const std::string& user,
                                                          const std::string& client_id) const;

  /// The credential of `user` for `m`, if any.
  [[nodiscard]] const security::scram_credential* credential(const std::string& user,
                                                             security::scram_mechanism m) const;

  void encode(bytes::writer& w) const;
  static security_state decode(bytes::cursor& c);
  friend bool operator==(const security_state&, const security_state&) = default;
};

void put_credential(bytes::writer& w, const security::scram_credential& c);
security::scram_credential get_credential(bytes::cursor& c);
void put_acl(bytes::writer& w, const security::acl_binding& b);
security::acl_binding get_acl(bytes::cursor& c);
void put_acl_filter(bytes::writer& w, const security::acl_filter& f);
security::acl_filter get_acl_filter(bytes::cursor& c);
void put_quota_entity(bytes::writer& w, const quota_entity& e);
quota_entity get_quota_entity(bytes::cursor& c);
void put_quota_values(bytes::writer& w, const std::map<std::string, double>& values);
std::map<std::string, double> get_quota_values(bytes::cursor& c);

}  // namespace strom::cluster
