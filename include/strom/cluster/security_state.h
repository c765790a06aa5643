#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
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

/// What authenticates and authorizes clients, the same on every broker: the users and their
/// SCRAM credentials. In a cluster it is part of the controller's state machine (replicated
/// with its log and snapshots); a broker without a controller keeps it in a file of its own.
/// Never logged, never in /v1/config or metrics: it holds the keys that prove a password.
struct security_state {
  std::map<std::string, user_credentials> users;
  /// The ACL bindings, sorted, each once.
  std::vector<security::acl_binding> acls;

  /// The longest user name and the most users (each user costs every broker memory).
  static constexpr size_t max_user_name = 255;
  static constexpr size_t max_users = 10000;
  /// The most ACL bindings (each one is looked at by every authorization).
  static constexpr size_t max_acls = 10000;

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

}  // namespace strom::cluster
