#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "strom/base/result.h"
#include "strom/net/asio.h"

#include <boost/asio/ssl.hpp>

namespace strom::net {

/// Whether a TLS listener asks its clients for a certificate.
enum class client_auth {
  none,       ///< never
  requested,  ///< asked; a client without one is still served
  required,   ///< a client without a certificate the CA signed fails the handshake
};

/// Which end of a connection a context serves.
enum class tls_role {
  server,  ///< a listener: presents its certificate, asks clients for theirs per `auth`
  client,  ///< a connecting broker: presents its certificate (mutual TLS), verifies the
           ///< server's against `ca_file`
};

struct tls_options {
  std::string cert_file;                 ///< PEM: the certificate chain, the listener's own first
  std::string key_file;                  ///< PEM: its private key
  std::optional<std::string> ca_file;    ///< PEM: CAs trusted for the peer's certificates
  client_auth auth = client_auth::none;  ///< server role only
  tls_role role = tls_role::server;
};

/// The TLS configuration of a listener, or of the connections a broker opens to other
/// brokers (tls_role::client; the server's certificate must chain to `ca_file`, its host name
/// is not checked: the CA of an internal listener signs broker certificates only): TLS 1.2 and
/// 1.3 only, forward-secret AEAD ciphers
/// (ECDHE with AES-GCM or ChaCha20-Poly1305 for 1.2; every 1.3 suite is one). Reloadable: each
/// new connection takes the context current when it is accepted, so reload() (SIGHUP) brings
/// renewed certificates in without a restart and without touching open connections.
/// Thread-safe.
class tls_config {
 public:
  /// Reads the files; an error names the file and OpenSSL's reason.
  static result<std::shared_ptr<tls_config>> load(tls_options o);
  /// Reads the files again; on an error the current context stays.
  status reload();
  [[nodiscard]] std::shared_ptr<asio::ssl::context> current() const;
  [[nodiscard]] const tls_options& options() const { return opts_; }

 private:
  explicit tls_config(tls_options o) : opts_(std::move(o)) {}
  static result<std::shared_ptr<asio::ssl::context>> make(const tls_options& o);

  tls_options opts_;
  mutable std::mutex mu_;  // guards ctx_
  std::shared_ptr<asio::ssl::context> ctx_;
};

/// "CN=alice,O=Example" (RFC 2253 order and escaping) of the peer certificate of `ssl`, when
/// there is one: the name of a client authenticated by its certificate.
std::optional<std::string> peer_subject(SSL* ssl);

}  // namespace strom::net
