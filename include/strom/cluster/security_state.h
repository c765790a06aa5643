#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "strom/base/result.h"
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

/// What authenticates and authorizes clients, the same on every broker: the users and their
/// SCRAM credentials. In a cluster it is part of the controller's state machine (replicated
/// with its log and snapshots); a broker without a controller keeps it in a file of its own.
/// Never logged, never in /v1/config or metrics: it holds the keys that prove a password.
struct security_state {
  std::map<std::string, user_credentials> users;

  /// The longest user name and the most users (each user costs every broker memory).
  static constexpr size_t max_user_name = 255;
  static constexpr size_t max_users = 10000;

  /// Applies a command; refused (nothing changes) when it does not fit: an empty or too long
  /// name, iterations outside Kafka's bounds, keys of the wrong size, too many users
  /// (controller_errc::invalid_command), a deletion of a credential that does not exist
  /// (controller_errc::not_found).
  status apply(const upsert_scram_cmd& c);
  status apply(const delete_scram_cmd& c);

  /// The credential of `user` for `m`, if any.
  [[nodiscard]] const security::scram_credential* credential(const std::string& user,
                                                             security::scram_mechanism m) const;

  void encode(bytes::writer& w) const;
  static security_state decode(bytes::cursor& c);
  friend bool operator==(const security_state&, const security_state&) = default;
};

void put_credential(bytes::writer& w, const security::scram_credential& c);
security::scram_credential get_credential(bytes::cursor& c);

}  // namespace strom::cluster
