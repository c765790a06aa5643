#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "kafka/server/context.h"
#include "strom/security/scram.h"

namespace strom::kafka::server {

/// One connection's authentication (SASL, KIP-43 and KIP-152), kept in
/// net::connection_info::session. Touched only on the connection's shard.
struct sasl_session {
  enum class stage {
    start,       ///< no handshake yet (or the last authentication is complete)
    raw_tokens,  ///< SaslHandshake v0 done: the tokens come as bare frames
    tokens,      ///< SaslHandshake v1 done: the tokens come in SaslAuthenticate requests
  };
  stage at = stage::start;
  std::string mechanism;
  std::unique_ptr<security::scram_server> scram;
  /// The authenticated user, once an authentication succeeded.
  std::optional<std::string> user;
  /// When the session expires (connections.max.reauth.ms, KIP-368): past it, any request but
  /// the SASL ones closes the connection.
  std::chrono::steady_clock::time_point expires = std::chrono::steady_clock::time_point::max();
  /// The client certificate of the connection is in the audit log.
  bool certificate_audited = false;

  /// "User:<name>" once authenticated, else "User:ANONYMOUS" (Kafka's principal names).
  [[nodiscard]] std::string principal() const {
    return user ? "User:" + *user : std::string("User:ANONYMOUS");
  }
};

/// The session of the connection `who` (created empty on first use).
sasl_session& session_of(const net::connection_info& who);

/// Authenticates the clients of one listener. Stateless but for its settings: each
/// connection's progress lives in its sasl_session.
class sasl_authenticator {
 public:
  sasl_authenticator(listener_auth auth, cluster::topics_frontend& frontend, metrics::registry& m)
      : auth_(std::move(auth)), frontend_(frontend), metrics_(m) {}

  [[nodiscard]] bool enabled() const { return auth_.sasl; }
  /// Whether a request of `key` may run now on the connection of `s`: always on a listener
  /// without SASL; else ApiVersions and the SASL APIs always, other APIs once the session is
  /// authenticated and not expired.
  [[nodiscard]] bool admits(const sasl_session& s, protocol::api_key key) const;

  net::handler_result handshake(const request_context& c, sasl_session& s,
                                const protocol::sasl_handshake_request& r);
  net::handler_result authenticate(const request_context& c, sasl_session& s,
                                   const protocol::sasl_authenticate_request& r);
  /// A bare token frame after SaslHandshake v0: answered with a bare frame (empty for PLAIN's
  /// success), or the connection closes when the authentication fails.
  net::handler_result raw_token(const net::connection_info& who, sasl_session& s,
                                std::span<const std::byte> token);

 private:
  struct outcome {
    bool done = false;
    bool failed = false;
    std::string response;
    std::string error;
  };
  /// Feeds one token to the session's mechanism.
  outcome step(const net::connection_info& who, sasl_session& s, std::string_view token);
  std::optional<security::scram_credential> lookup(const std::string& user,
                                                   security::scram_mechanism m) const;
  /// Ends the exchange as a success for `user`: false (and a failure) when a re-authentication
  /// names another user than the session's.
  /// (`user` by value: the mechanism that names it is destroyed here.)
  bool note_success(const net::connection_info& who, sasl_session& s, std::string user);
  void note_failure(const net::connection_info& who, sasl_session& s, std::string_view mechanism,
                    std::string_view why);

  listener_auth auth_;
  cluster::topics_frontend& frontend_;
  metrics::registry& metrics_;
};

}  // namespace strom::kafka::server
