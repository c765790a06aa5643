// The inter-broker RPC over TLS on real loopback sockets: mutual TLS between a server and a
// client whose certificates one CA signed; a plaintext client, a client certificate of another
// CA and a server certificate the client does not trust all fail, and the server keeps serving.
// The certificates are made here with OpenSSL (EC P-256) and written to a temporary directory.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include "strom/net/tls.h"
#include "strom/rpc/errc.h"
#include "strom/rpc/rpc.h"

namespace strom::rpc {
namespace {

namespace asio = net::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using net::awaitable;
using net::tcp;

struct key_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

/// A key and its certificate, written as <dir>/<name>.pem and <dir>/<name>.key.
struct identity {
  key_ptr key;
  cert_ptr cert;
  std::string pem;
  std::string key_file;
};

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `cn`, signed by `issuer` (self-signed, a CA, when null).
identity make_identity(const fs::path& dir, const std::string& name, const std::string& cn,
                       const identity* issuer) {
  static long serial = 1;
  identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : subject);
  if (issuer == nullptr) {
    add_extension(x, x, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(x, issuer->cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  }
  X509_sign(x, issuer ? issuer->key.get() : id.key.get(), EVP_sha256());
  id.pem = (dir / (name + ".pem")).string();
  id.key_file = (dir / (name + ".key")).string();
  FILE* f = std::fopen(id.pem.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(id.key_file.c_str(), "w");
  PEM_write_PrivateKey(f, id.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return id;
}

class RpcTlsTest : public ::testing::Test {
 protected:
  fs::path dir;
  identity ca, rogue_ca, broker_1, broker_2, rogue;
  asio::io_context io;
  std::optional<server> srv;
  uint16_t port = 0;

  void SetUp() override {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("strom-rpc-tls-" + std::to_string(rd()));
    fs::create_directories(dir);
    ca = make_identity(dir, "ca", "brokers-ca", nullptr);
    rogue_ca = make_identity(dir, "rogue-ca", "rogue-ca", nullptr);
    broker_1 = make_identity(dir, "broker-1", "broker-1", &ca);
    broker_2 = make_identity(dir, "broker-2", "broker-2", &ca);
    rogue = make_identity(dir, "rogue", "broker-2", &rogue_ca);

    server::options so;
    so.tls = config(broker_1, ca, net::tls_role::server);
    so.handshake_timeout = 2s;
    srv.emplace(io, so);
    srv->handle(1, [](bytes_t p) -> awaitable<result<bytes_t>> { co_return p; });
    auto p = srv->listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    ASSERT_TRUE(p.has_value()) << p.error().message();
    port = *p;
  }

  void TearDown() override {
    srv.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  static std::shared_ptr<net::tls_config> config(const identity& me, const identity& trusted,
                                                 net::tls_role role) {
    net::tls_options o;
    o.cert_file = me.pem;
    o.key_file = me.key_file;
    o.ca_file = trusted.pem;
    o.auth = net::client_auth::required;
    o.role = role;
    auto c = net::tls_config::load(o);
    EXPECT_TRUE(c.has_value()) << c.error().message();
    return c ? *c : nullptr;
  }

  /// The outcome of an echo call through a new client with `tls` (plaintext when null).
  result<bytes_t> echo(std::shared_ptr<net::tls_config> tls) {
    client::options co;
    co.tls = std::move(tls);
    client c(io, {asio::ip::address_v4::loopback(), port}, co);
    std::optional<result<bytes_t>> out;
    asio::co_spawn(
        io,
        [&c, &out]() -> awaitable<void> {
          bytes_t payload{std::byte{'h'}, std::byte{'i'}};
          auto op = c.call(1, payload, 1500ms);  // no temporaries inside co_await (GCC 12)
          out.emplace(co_await std::move(op));
        },
        asio::detached);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!out && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
    c.stop();
    io.restart();
    io.run_for(20ms);  // what the stopped client still had under way ends
    if (!out)
      return error(errc::timed_out, "no outcome");
    return std::move(*out);
  }
};

TEST_F(RpcTlsTest, BrokersWhoseCertificatesTheCaSignedTalkOverMutualTls) {
  auto r = echo(config(broker_2, ca, net::tls_role::client));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->size(), 2u);
}

TEST_F(RpcTlsTest, ThePeersThatCannotProveThemselvesAreRefusedAndTheServerGoesOn) {
  // Plaintext to a TLS listener.
  EXPECT_FALSE(echo(nullptr).has_value());
  // A client certificate another CA signed.
  EXPECT_FALSE(echo(config(rogue, ca, net::tls_role::client)).has_value());
  // A client that does not trust the server's CA (it would refuse whoever answers there).
  EXPECT_FALSE(echo(config(broker_2, rogue_ca, net::tls_role::client)).has_value());
  // A client without a certificate at all.
  net::tls_options anonymous;
  anonymous.ca_file = ca.pem;
  anonymous.role = net::tls_role::client;
  auto no_cert = net::tls_config::load(anonymous);
  ASSERT_TRUE(no_cert.has_value()) << no_cert.error().message();
  EXPECT_FALSE(echo(*no_cert).has_value());
  // The server still serves the brokers.
  auto r = echo(config(broker_2, ca, net::tls_role::client));
  ASSERT_TRUE(r.has_value()) << r.error().message();
}

TEST_F(RpcTlsTest, AClientContextNeedsACaFile) {
  net::tls_options o;
  o.cert_file = broker_2.pem;
  o.key_file = broker_2.key_file;
  o.role = net::tls_role::client;
  auto c = net::tls_config::load(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("CA file"), std::string::npos) << c.error().message();
}

}  // namespace
}  // namespace strom::rpc
