#include "strom/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/format.h>

namespace strom::net {

namespace {
/// OpenSSL's reason for the last failure, or `fallback`.
std::string openssl_reason(const boost::system::error_code& ec) {
  return ec.message();
}

constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
}  // namespace

result<std::shared_ptr<asio::ssl::context>> tls_config::make(const tls_options& o) {
  bool server = o.role == tls_role::server;
  auto ctx = std::make_shared<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                         : asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                   ec);
  auto* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1)
    return error(std::make_error_code(std::errc::invalid_argument), "no usable TLS 1.2 cipher");
  // Renegotiation is a denial-of-service lever and no Kafka client needs it.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!server && !o.ca_file) {
    return error(std::make_error_code(std::errc::invalid_argument),
                 "a TLS client needs a CA file to verify the server's certificate");
  }
  // A server always presents a certificate; a client only when it has one (mutual TLS).
  bool own_certificate = server || !o.cert_file.empty();
  if (own_certificate) {
    ctx->use_certificate_chain_file(o.cert_file, ec);
    if (ec)
      return error(ec, fmt::format("TLS certificate {}: {}", o.cert_file, openssl_reason(ec)));
    ctx->use_private_key_file(o.key_file, asio::ssl::context::pem, ec);
    if (ec)
      return error(ec, fmt::format("TLS private key {}: {}", o.key_file, openssl_reason(ec)));
  }
  if (own_certificate && SSL_CTX_check_private_key(native) != 1) {
    return error(std::make_error_code(std::errc::invalid_argument),
                 fmt::format("TLS private key {} does not match the certificate {}", o.key_file,
                             o.cert_file));
  }
  if (o.ca_file) {
    ctx->load_verify_file(*o.ca_file, ec);
    if (ec)
      return error(ec, fmt::format("TLS CA file {}: {}", *o.ca_file, openssl_reason(ec)));
    // The CAs a client may choose its certificate by.
    if (server) {
      if (auto* names = SSL_load_client_CA_file(o.ca_file->c_str()))
        SSL_CTX_set_client_CA_list(native, names);
    }
  }
  if (!server) {
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    return ctx;
  }
  switch (o.auth) {
    case client_auth::none:
      ctx->set_verify_mode(asio::ssl::verify_none);
      break;
    case client_auth::requested:
      ctx->set_verify_mode(asio::ssl::verify_peer);
      break;
    case client_auth::required:
      ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
      break;
  }
  return ctx;
}

result<std::shared_ptr<tls_config>> tls_config::load(tls_options o) {
  auto ctx = make(o);
  if (!ctx)
    return ctx.error();
  std::shared_ptr<tls_config> c(new tls_config(std::move(o)));
  c->ctx_ = std::move(*ctx);
  return c;
}

status tls_config::reload() {
  auto ctx = make(opts_);
  if (!ctx)
    return ctx.error();
  std::lock_guard lock(mu_);
  ctx_ = std::move(*ctx);
  return ok();
}

std::shared_ptr<asio::ssl::context> tls_config::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

std::optional<std::string> peer_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr)
    return std::nullopt;
  std::optional<std::string> out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      if (n >= 0)
        out = std::string(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

}  // namespace strom::net
