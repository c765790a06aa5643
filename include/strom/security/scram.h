#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace strom::security {

/// The SCRAM mechanisms Kafka offers (RFC 5802 with the hashes of RFC 7677 and Kafka's
/// SCRAM-SHA-512).
enum class scram_mechanism { sha256, sha512 };

/// "SCRAM-SHA-256" or "SCRAM-SHA-512", matched exactly (SASL mechanism names are upper case
/// on the wire; Kafka compares them exactly too).
std::optional<scram_mechanism> parse_scram_mechanism(std::string_view name);
std::string_view mechanism_name(scram_mechanism m);

/// Kafka's bounds on the iteration count of a stored credential (KIP-554). The lower one is
/// also what a client demands of a server, so that a rogue server cannot make it reveal a
/// cheaply attacked proof.
inline constexpr int32_t min_iterations = 4096, max_iterations = 16384;

/// What the broker stores for one user and mechanism: enough to verify a proof and to prove
/// itself to the client, not enough to authenticate as the user (RFC 5802 section 3).
struct scram_credential {
  scram_mechanism mechanism = scram_mechanism::sha256;
  std::string salt;  ///< raw bytes
  int32_t iterations = 4096;
  std::string stored_key;  ///< raw bytes, H(ClientKey)
  std::string server_key;  ///< raw bytes, HMAC(SaltedPassword, "Server Key")
  bool operator==(const scram_credential&) const = default;
};

/// The credential of `password` with `salt` (32 random bytes when empty) and `iterations`
/// (at least 1; callers enforce Kafka's bounds on what users submit). The password is used as
/// its bytes, without SASLprep, as Kafka does: both ends must agree, and Kafka clients do not
/// normalise.
scram_credential make_credential(scram_mechanism m, std::string_view password,
                                 std::string_view salt, int32_t iterations);

/// The credential from Kafka's AlterUserScramCredentials upsertion, in which the client sends
/// salted_password = Hi(password, salt, iterations) rather than the password itself.
scram_credential credential_from_salted_password(scram_mechanism m,
                                                 std::string_view salted_password,
                                                 std::string_view salt, int32_t iterations);

/// Hi(password, salt, iterations) of RFC 5802 (PBKDF2 with the mechanism's HMAC, one block):
/// what a client sends in AlterUserScramCredentials instead of the password. `iterations` is
/// at least 1.
std::string salted_password(scram_mechanism m, std::string_view password, std::string_view salt,
                            int32_t iterations);

/// Whether `password` is the one `c` was made from (SASL PLAIN, HTTP basic auth): derives the
/// keys again and compares them in constant time. False for a credential whose iteration
/// count or key sizes are unusable.
bool password_matches(const scram_credential& c, std::string_view password);

/// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view raw);
/// The bytes of `text`, or nullopt when it is not canonical padded base64: a length that is
/// not a multiple of 4, a character outside the alphabet, misplaced padding, or non-zero
/// unused bits in the last group (so that each byte string has exactly one accepted text).
std::optional<std::string> base64_decode(std::string_view text);

/// A SASL PLAIN message (RFC 4616).
struct plain_message {
  std::string authzid, user, password;
};
/// Splits "authzid\0user\0password". Nullopt when there are not exactly two NULs, the user or
/// the password is empty, or a field is longer than 255 bytes (the RFC's limit). Whether an
/// authzid is acceptable is for the caller to decide (Kafka accepts only none or the user).
std::optional<plain_message> parse_plain(std::string_view token);

/// The server side of one SCRAM exchange: client-first, server-first, client-final,
/// server-final.
///
/// Only what Kafka clients send is accepted: no channel binding (the gs2 flag is "n" or "y"),
/// an authzid only when it names the user, no mandatory extension, no delegation token
/// (tokenauth=true); other extensions are ignored. Every failure ends the exchange. An unknown
/// user is refused at the first message with the same error as a wrong proof, so that the
/// error does not tell which users exist.
class scram_server {
 public:
  /// The credential of `user` for this server's mechanism, or nullopt when there is none.
  using lookup_fn = std::function<std::optional<scram_credential>(const std::string& user)>;
  /// `nonce` is the server's part of the nonce, printable ASCII without ','; empty: 24 random
  /// bytes, base64-encoded. Tests pass a fixed one.
  scram_server(scram_mechanism m, lookup_fn lookup, std::string nonce = {});

  /// The outcome of one client message.
  struct step {
    /// The server-first-message, the server-final-message "v=...", or "e=..." when the
    /// client-final-message is refused (the RFC defines no error reply to the first message:
    /// then this is empty).
    std::string response;
    bool done = false;    ///< authenticated: user() is valid
    bool failed = false;  ///< the exchange is over, authentication refused
    /// A short reason for logs and the Kafka error message. Never holds a password, a key or
    /// a proof.
    std::string error;
  };
  /// Takes the next client message; each is at most 4096 bytes.
  step next(std::string_view client_message);

  /// The authenticated user once a step was done; empty before.
  [[nodiscard]] const std::string& user() const { return authenticated_user_; }
  [[nodiscard]] scram_mechanism mechanism() const { return mechanism_; }

 private:
  enum class state { initial, sent_first, finished };

  step on_client_first(std::string_view message);
  step on_client_final(std::string_view message);
  step fail(std::string error, std::string response = {});

  scram_mechanism mechanism_;
  lookup_fn lookup_;
  std::string server_nonce_;
  state state_ = state::initial;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string client_nonce_;
  std::string nonce_;  // client nonce followed by server nonce
  std::string user_;   // named in client-first, not yet authenticated
  scram_credential credential_;
  std::string authenticated_user_;
};

/// The client side of one SCRAM exchange, for tests and Strom's own tools. It sends no authzid
/// and asks for no channel binding.
class scram_client {
 public:
  /// `nonce`: the client nonce, printable ASCII without ','; empty: 24 random bytes,
  /// base64-encoded.
  scram_client(scram_mechanism m, std::string user, std::string password, std::string nonce = {});

  /// The client-first-message.
  std::string first();
  /// The client-final-message answering `server_first`; nullopt when that is malformed, does
  /// not extend the client nonce, or asks for fewer than min_iterations.
  std::optional<std::string> final(std::string_view server_first);
  /// Whether `server_final` carries the signature of a server that knows the credential (only
  /// after final() answered).
  bool verify(std::string_view server_final);

 private:
  scram_mechanism mechanism_;
  std::string user_;
  std::string password_;
  std::string nonce_;
  std::string client_first_bare_;
  std::string expected_server_signature_;  // empty until final() answered
};

}  // namespace strom::security
