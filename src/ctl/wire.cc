#include "ctl/wire.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <span>
#include <system_error>
#include <tuple>

#include "strom/kafka/protocol/codec.h"
#include "strom/security/scram.h"

namespace strom::ctl {

namespace {

strom::error net_error(std::string message) {
  return strom::error(std::make_error_code(std::errc::connection_refused), std::move(message));
}

strom::error protocol_error(std::string message) {
  return strom::error(std::make_error_code(std::errc::protocol_error), std::move(message));
}

}  // namespace

sigpipe_guard::sigpipe_guard() {
  sigemptyset(&pipe_);
  sigaddset(&pipe_, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
}

sigpipe_guard::~sigpipe_guard() {
  int saved = errno;  // the caller reads why the call failed after the guard
  if (!was_pending_) {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  errno = saved;
}

tcp_connection::~tcp_connection() {
  if (ssl_ != nullptr)
    SSL_free(ssl_);
  if (fd_ >= 0)
    ::close(fd_);
}

namespace {

/// OpenSSL's reasons for the last failures of this thread, oldest first; clears them.
std::string openssl_errors() {
  std::string out;
  while (auto e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty())
      out += "; ";
    out += buf.data();
  }
  return out;
}

bool is_ip_address(const std::string& host) {
  std::array<unsigned char, 16> addr{};
  return ::inet_pton(AF_INET, host.c_str(), addr.data()) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), addr.data()) == 1;
}

}  // namespace

status tcp_connection::start_tls(const tls_settings& t, const std::string& host) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr)
    return net_error(fmt::format("TLS: {}", openssl_errors()));
  auto fail = [&](std::string what) {
    SSL_CTX_free(ctx);
    auto why = openssl_errors();
    return net_error(why.empty() ? what : fmt::format("{}: {}", what, why));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A peer that closes without a TLS close_notify (the end of an HTTP answer) ends the stream.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  if (t.ca_file ? SSL_CTX_load_verify_locations(ctx, t.ca_file->c_str(), nullptr) != 1
                : SSL_CTX_set_default_verify_paths(ctx) != 1)
    return fail(fmt::format("ssl.ca.location {}", t.ca_file.value_or("(the system's)")));
  if (t.cert_file && SSL_CTX_use_certificate_chain_file(ctx, t.cert_file->c_str()) != 1)
    return fail(fmt::format("ssl.certificate.location {}", *t.cert_file));
  if (t.key_file && SSL_CTX_use_PrivateKey_file(ctx, t.key_file->c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(fmt::format("ssl.key.location {}", *t.key_file));
  SSL_CTX_set_verify(ctx, t.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ctx);
  SSL_CTX_free(ctx);  // the connection holds its own reference
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1)
    return net_error(fmt::format("TLS: {}", openssl_errors()));
  bool ip = is_ip_address(host);
  if (!ip)
    SSL_set_tlsext_host_name(ssl_, host.c_str());  // SNI
  if (t.verify && t.verify_host) {
    auto* param = SSL_get0_param(ssl_);
    bool set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                  : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
    if (!set)
      return net_error(fmt::format("TLS: cannot check the certificate against {}", host));
  }
  for (;;) {
    int rc = 0;
    {
      sigpipe_guard guard;
      rc = SSL_connect(ssl_);
    }
    if (rc == 1)
      return ok();
    int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      STROM_TRY(wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT));
      continue;
    }
    auto verified = SSL_get_verify_result(ssl_);
    std::string why = verified != X509_V_OK ? fmt::format("certificate verify failed: {}",
                                                          X509_verify_cert_error_string(verified))
                                            : openssl_errors();
    if (why.empty())
      why = "the peer closed the connection";
    return net_error(fmt::format("TLS handshake with {} failed: {}", host, why));
  }
}

status tcp_connection::tls_retry(int rc, std::string_view what) {
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ)
    return wait(POLLIN);
  if (e == SSL_ERROR_WANT_WRITE)
    return wait(POLLOUT);
  auto why = openssl_errors();
  return net_error(fmt::format("TLS {} failed: {}", what,
                               why.empty() ? std::string(std::strerror(errno)) : why));
}

result<size_t> tcp_connection::read_some(char* out, size_t n) {
  for (;;) {
    if (ssl_ != nullptr) {
      size_t got = 0;
      int rc = 0;
      {
        sigpipe_guard guard;  // a read may write (a TLS 1.3 key update)
        rc = SSL_read_ex(ssl_, out, n, &got);
      }
      if (rc == 1)
        return got;
      int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_ZERO_RETURN)
        return size_t{0};
      STROM_TRY(tls_retry(rc, "read"));
      continue;
    }
    auto r = ::recv(fd_, out, n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      STROM_TRY(wait(POLLIN));
      continue;
    }
    if (r < 0)
      return net_error(fmt::format("read failed: {}", std::strerror(errno)));
    return static_cast<size_t>(r);
  }
}

result<tcp_connection> tcp_connection::connect(const std::string& host, uint16_t port,
                                               int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0)
    return net_error(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
  std::string reason = "no address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return tcp_connection(fd, timeout_ms);
    }
    if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, timeout_ms);
      int err = 0;
      socklen_t len = sizeof err;
      if (n == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        ::freeaddrinfo(res);
        return tcp_connection(fd, timeout_ms);
      }
      reason = n == 0 ? "timed out" : std::strerror(err != 0 ? err : errno);
    } else {
      reason = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return net_error(fmt::format("cannot connect to {}:{}: {}", host, port, reason));
}

status tcp_connection::wait(short events) {
  pollfd p{fd_, events, 0};
  int n = ::poll(&p, 1, timeout_ms_);
  if (n == 0)
    return net_error(fmt::format("no answer within {} ms", timeout_ms_));
  if (n < 0)
    return net_error(std::strerror(errno));
  return ok();
}

status tcp_connection::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    if (ssl_ != nullptr) {
      size_t written = 0;
      int rc = 0;
      {
        sigpipe_guard guard;
        rc = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
      }
      if (rc == 1)
        bytes.remove_prefix(written);
      else
        STROM_TRY(tls_retry(rc, "write"));
      continue;
    }
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      STROM_TRY(wait(POLLOUT));
      continue;
    }
    if (n < 0)
      return net_error(fmt::format("write failed: {}", std::strerror(errno)));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

result<std::string> tcp_connection::read_exact(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    auto r = read_some(out.data() + got, n - got);
    if (!r)
      return r.error();
    if (*r == 0)
      return net_error("the connection was closed before a whole answer arrived");
    got += *r;
  }
  return out;
}

result<std::string> tcp_connection::read_to_end(size_t limit) {
  std::string out;
  std::array<char, 16384> buf{};
  while (true) {
    auto r = read_some(buf.data(), buf.size());
    if (!r)
      return r.error();
    if (*r == 0)
      return out;
    out.append(buf.data(), *r);
    if (out.size() > limit)
      return protocol_error(fmt::format("the answer is larger than {} bytes", limit));
  }
}

result<tcp_connection> connect_any_unauthenticated(const std::vector<host_port>& brokers,
                                                   int timeout_ms) {
  std::string reasons;
  for (const auto& b : brokers) {
    auto c = tcp_connection::connect(b.host, b.port, timeout_ms);
    if (c)
      return c;
    if (!reasons.empty())
      reasons += "; ";
    reasons += c.error().detail();
  }
  return net_error(reasons);
}

// --- ApiVersions ------------------------------------------------------------------------------

namespace {

namespace kp = ::strom::kafka::protocol;

constexpr size_t max_api_versions_frame = 1 << 20;

}  // namespace

std::string encode_api_versions_request(int32_t correlation_id, std::string_view client_id) {
  kp::request_header h;
  h.key = kp::api_key::api_versions;
  h.version = 0;
  h.correlation_id = correlation_id;
  h.client_id = std::string(client_id);
  auto frame = kp::encode_request_frame(h, kp::api_versions_request{});
  STROM_ASSERT(frame.has_value(), "an ApiVersions request is a few bytes");
  auto bytes = frame->flatten();
  STROM_ASSERT(bytes.has_value(), "an ApiVersions request is all in memory");
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

result<std::vector<api_version_range>> decode_api_versions_response(std::string_view frame,
                                                                    int32_t correlation_id) {
  int32_t corr = 0;
  auto r =
      kp::decode_response<kp::api_versions_response>(std::as_bytes(std::span(frame)), 0, &corr);
  if (!r)
    return protocol_error(
        fmt::format("the ApiVersions answer is malformed: {}", r.error().message()));
  if (corr != correlation_id)
    return protocol_error(
        fmt::format("the ApiVersions answer has correlation id {}, not {}", corr, correlation_id));
  // UNSUPPORTED_VERSION still lists the ranges; any other error is fatal.
  if (r->error_code != kp::error_code::none &&
      r->error_code != kp::error_code::unsupported_version) {
    return protocol_error(fmt::format("the broker answered ApiVersions with error {}",
                                      static_cast<int16_t>(r->error_code)));
  }
  std::vector<api_version_range> out;
  out.reserve(r->api_keys.size());
  for (const auto& a : r->api_keys)
    out.push_back({a.api_key, a.min_version, a.max_version});
  return out;
}

std::string_view api_name(int16_t key) {
  return kp::api_name(static_cast<kp::api_key>(key));
}

namespace {

/// Reads one size-prefixed answer of at most `limit` bytes and returns it without the prefix.
result<std::string> read_frame(tcp_connection& conn, size_t limit, std::string_view api) {
  auto size_bytes = conn.read_exact(4);
  if (!size_bytes)
    return size_bytes.error();
  auto prefix = std::as_bytes(std::span(*size_bytes)).first<4>();
  auto size = kp::decode_frame_size(prefix, limit);
  if (!size)
    return protocol_error(fmt::format("the {} answer: {}", api, size.error().message()));
  return conn.read_exact(*size);
}

/// The bytes of a size-prefixed request frame.
template <typename Req>
result<std::string> encode_request_bytes(int32_t correlation_id, int16_t version, const Req& req) {
  kp::request_header h;
  h.key = Req::api;
  h.version = version;
  h.correlation_id = correlation_id;
  h.client_id = "stromctl";
  auto frame = kp::encode_request_frame(h, req);
  if (!frame)
    return frame.error();
  auto bytes = frame->flatten();
  if (!bytes)
    return bytes.error();
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

/// ApiVersions over an open connection.
result<std::vector<api_version_range>> api_versions_on(tcp_connection& conn,
                                                       int32_t correlation_id) {
  STROM_TRY(conn.write_all(encode_api_versions_request(correlation_id, "stromctl")));
  auto frame = read_frame(conn, max_api_versions_frame, "ApiVersions");
  if (!frame)
    return frame.error();
  return decode_api_versions_response(*frame, correlation_id);
}

}  // namespace

// --- Authentication ---------------------------------------------------------------------------

namespace {

strom::error auth_error(std::string message) {
  return strom::error(std::make_error_code(std::errc::permission_denied), std::move(message));
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// The largest SASL answer accepted: SCRAM messages are a few hundred bytes.
constexpr size_t max_sasl_frame = 1 << 16;

/// SaslHandshake and SaslAuthenticate go as version 1: the tokens travel in SaslAuthenticate
/// requests (not as bare frames, as after a v0 handshake), and an answer carries the broker's
/// error message.
constexpr int16_t sasl_version = 1;

std::vector<std::byte> to_bytes(std::string_view s) {
  auto b = std::as_bytes(std::span(s));
  return {b.begin(), b.end()};
}

std::string_view to_text(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// One SASL request and its decoded answer.
template <typename Resp, typename Req>
result<Resp> sasl_round(const frame_exchange& exchange, std::string_view broker,
                        int32_t correlation_id, const Req& req) {
  auto bytes = encode_request_bytes(correlation_id, sasl_version, req);
  if (!bytes)
    return bytes.error();
  auto answer = exchange(*bytes);
  if (!answer) {
    return strom::error(answer.error().code(), fmt::format("SASL authentication at broker {}: {}",
                                                           broker, answer.error().detail()));
  }
  int32_t corr = 0;
  auto r = kp::decode_response<Resp>(std::as_bytes(std::span(*answer)), sasl_version, &corr);
  if (!r || corr != correlation_id)
    return protocol_error(
        fmt::format("broker {}: the {} answer is malformed", broker, kp::api_name(Req::api)));
  return r;
}

/// The process-wide settings of configure_wire; PLAINTEXT until it is called.
result<std::optional<sasl_settings>>& wire_settings() {
  static result<std::optional<sasl_settings>> settings = std::optional<sasl_settings>();
  return settings;
}
result<std::optional<tls_settings>>& wire_tls_settings() {
  static result<std::optional<tls_settings>> settings = std::optional<tls_settings>();
  return settings;
}
/// The admin API's: TLS for https:// URLs, and the basic authentication header's value.
struct http_settings {
  result<tls_settings> tls = tls_settings{};
  std::string authorization;
};
http_settings& admin_http_settings() {
  static http_settings settings;
  return settings;
}

/// TLS on a fresh connection to `broker` when configure_wire asked for it.
status secure(tcp_connection& conn, const host_port& broker) {
  const auto& t = wire_tls_settings();
  if (!t)
    return t.error();
  if (!t->has_value())
    return ok();
  return conn.start_tls(**t, broker.host);
}

/// Authenticates a fresh connection to `broker` as configure_wire set up.
status authenticate(tcp_connection& conn, const host_port& broker) {
  const auto& settings = wire_settings();
  if (!settings)
    return settings.error();
  if (!settings->has_value())
    return ok();
  auto exchange = [&conn](std::string_view request) -> result<std::string> {
    STROM_TRY(conn.write_all(request));
    return read_frame(conn, max_sasl_frame, "SASL");
  };
  return sasl_authenticate(exchange, **settings, fmt::format("{}:{}", broker.host, broker.port));
}

}  // namespace

result<std::optional<sasl_settings>> wire_security(const client_properties& props) {
  auto protocol = property(props, "security.protocol");
  auto p = lower_ascii(protocol.value_or("plaintext"));
  if (p == "plaintext" || p == "ssl")
    return std::optional<sasl_settings>();
  if (p != "sasl_plaintext" && p != "sasl_ssl") {
    return invalid(fmt::format(
        "security.protocol={}: not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", *protocol));
  }
  // librdkafka also takes the older name sasl.mechanisms.
  auto mechanism = property(props, "sasl.mechanism");
  if (!mechanism)
    mechanism = property(props, "sasl.mechanisms");
  if (!mechanism || (*mechanism != "PLAIN" && !security::parse_scram_mechanism(*mechanism))) {
    return invalid(fmt::format(
        "security.protocol={}: stromctl's own requests need sasl.mechanism PLAIN, "
        "SCRAM-SHA-256 or SCRAM-SHA-512, not {}",
        *protocol,
        mechanism ? fmt::format("'{}'", *mechanism) : std::string("the default GSSAPI")));
  }
  sasl_settings out;
  out.mechanism = *mechanism;
  auto user = property(props, "sasl.username");
  auto password = property(props, "sasl.password");
  if (!user || user->empty() || !password || password->empty()) {
    return invalid(
        fmt::format("sasl.mechanism={} needs sasl.username and sasl.password", out.mechanism));
  }
  out.username = std::move(*user);
  out.password = std::move(*password);
  return std::optional<sasl_settings>(std::move(out));
}

result<tls_settings> tls_properties(const client_properties& props) {
  tls_settings out;
  out.ca_file = property(props, "ssl.ca.location");
  out.cert_file = property(props, "ssl.certificate.location");
  out.key_file = property(props, "ssl.key.location");
  if (out.cert_file.has_value() != out.key_file.has_value()) {
    return invalid(out.cert_file ? "ssl.certificate.location needs ssl.key.location"
                                 : "ssl.key.location needs ssl.certificate.location");
  }
  if (auto v = property(props, "enable.ssl.certificate.verification")) {
    auto b = lower_ascii(*v);
    if (b != "true" && b != "false")
      return invalid(fmt::format("enable.ssl.certificate.verification={}: true or false", *v));
    out.verify = b == "true";
  }
  if (auto v = property(props, "ssl.endpoint.identification.algorithm")) {
    auto a = lower_ascii(*v);
    if (a != "https" && a != "none")
      return invalid(fmt::format("ssl.endpoint.identification.algorithm={}: https or none", *v));
    out.verify_host = a == "https";
  }
  return out;
}

result<std::optional<tls_settings>> wire_tls(const client_properties& props) {
  auto p = lower_ascii(property(props, "security.protocol").value_or("plaintext"));
  if (p != "ssl" && p != "sasl_ssl")
    return std::optional<tls_settings>();
  auto t = tls_properties(props);
  if (!t)
    return t.error();
  return std::optional(std::move(*t));
}

void configure_wire(const client_properties& props) {
  wire_settings() = wire_security(props);
  wire_tls_settings() = wire_tls(props);
  auto& http = admin_http_settings();
  http.tls = tls_properties(props);
  auto user = property(props, "sasl.username");
  auto password = property(props, "sasl.password");
  if (user && password) {
    http.authorization = "Basic " + security::base64_encode(fmt::format("{}:{}", *user, *password));
  }
}

std::string sasl_plain_token(std::string_view user, std::string_view password) {
  std::string out;
  out += '\0';
  out += user;
  out += '\0';
  out += password;
  return out;
}

status sasl_authenticate(const frame_exchange& exchange, const sasl_settings& settings,
                         std::string_view broker, std::string scram_nonce) {
  int32_t correlation_id = 1;
  kp::sasl_handshake_request handshake;
  handshake.mechanism = settings.mechanism;
  auto h = sasl_round<kp::sasl_handshake_response>(exchange, broker, correlation_id++, handshake);
  if (!h)
    return h.error();
  if (h->error_code == kp::error_code::unsupported_sasl_mechanism) {
    std::string offered;
    for (const auto& m : h->mechanisms)
      offered += (offered.empty() ? "" : ", ") + m;
    return auth_error(fmt::format("broker {} refused SASL mechanism {}: {}{}", broker,
                                  settings.mechanism, kp::error_name(h->error_code),
                                  offered.empty() ? "" : fmt::format(" (it offers {})", offered)));
  }
  if (h->error_code != kp::error_code::none) {
    // ILLEGAL_SASL_STATE: this is the first request of the connection, so the listener does
    // not take SASL at all.
    return auth_error(fmt::format(
        "broker {} refused the SASL handshake: {}{}", broker, kp::error_name(h->error_code),
        h->error_code == kp::error_code::illegal_sasl_state
            ? " (a listener without SASL? check security.protocol and the port)"
            : ""));
  }

  // One SaslAuthenticate round; a refusal carries the broker's reason.
  auto step = [&](std::string_view token) -> result<kp::sasl_authenticate_response> {
    kp::sasl_authenticate_request req;
    req.auth_bytes = to_bytes(token);
    auto r = sasl_round<kp::sasl_authenticate_response>(exchange, broker, correlation_id++, req);
    if (!r)
      return r.error();
    if (r->error_code != kp::error_code::none) {
      auto message = r->error_message.value_or("");
      return auth_error(fmt::format("broker {} refused SASL authentication as {}: {}{}{}", broker,
                                    settings.username, kp::error_name(r->error_code),
                                    message.empty() ? "" : ": ", message));
    }
    return r;
  };

  if (settings.mechanism == "PLAIN") {
    auto r = step(sasl_plain_token(settings.username, settings.password));
    if (!r)
      return r.error();
    return ok();
  }
  auto mechanism = security::parse_scram_mechanism(settings.mechanism);
  if (!mechanism)
    return invalid(fmt::format("SASL mechanism {} is not supported", settings.mechanism));
  security::scram_client client(*mechanism, settings.username, settings.password,
                                std::move(scram_nonce));
  auto server_first = step(client.first());
  if (!server_first)
    return server_first.error();
  auto client_final = client.final(to_text(server_first->auth_bytes));
  if (!client_final) {
    return auth_error(fmt::format(
        "broker {} sent a {} challenge stromctl does not answer (malformed, not extending "
        "stromctl's nonce, or fewer than {} iterations)",
        broker, settings.mechanism, security::min_iterations));
  }
  auto server_final = step(*client_final);
  if (!server_final)
    return server_final.error();
  if (!client.verify(to_text(server_final->auth_bytes))) {
    return auth_error(fmt::format(
        "broker {} accepted {} authentication as {} without proving that it knows the "
        "credential (the server signature does not verify); not sending it anything else",
        broker, settings.mechanism, settings.username));
  }
  return ok();
}

result<tcp_connection> connect_broker(const host_port& broker, int timeout_ms) {
  // Settings that cannot work fail before anything reaches the broker.
  if (!wire_settings())
    return wire_settings().error();
  if (!wire_tls_settings())
    return wire_tls_settings().error();
  auto conn = tcp_connection::connect(broker.host, broker.port, timeout_ms);
  if (!conn)
    return conn.error();
  STROM_TRY(secure(*conn, broker));
  STROM_TRY(authenticate(*conn, broker));
  return conn;
}

result<tcp_connection> connect_any(const std::vector<host_port>& brokers, int timeout_ms) {
  if (!wire_settings())
    return wire_settings().error();
  if (!wire_tls_settings())
    return wire_tls_settings().error();
  std::string reasons;
  for (const auto& b : brokers) {
    auto c = tcp_connection::connect(b.host, b.port, timeout_ms);
    if (!c) {
      if (!reasons.empty())
        reasons += "; ";
      reasons += c.error().detail();
      continue;
    }
    // A certificate refused here would be refused by every broker of the cluster too.
    STROM_TRY(secure(*c, b));
    STROM_TRY(authenticate(*c, b));
    return c;
  }
  return net_error(reasons);
}

result<std::vector<api_version_range>> fetch_api_versions(const std::vector<host_port>& brokers,
                                                          int timeout_ms) {
  auto conn = connect_any(brokers, timeout_ms);
  if (!conn)
    return conn.error();
  return api_versions_on(*conn, 1);
}

// --- Config requests --------------------------------------------------------------------------

namespace {

constexpr size_t max_config_frame = 16 << 20;
constexpr int8_t broker_resource = 4;

/// Sends `req` as `version` over `conn` and returns the answer frame without its size prefix.
template <typename Req>
result<std::string> send_request(tcp_connection& conn, int32_t correlation_id, int16_t version,
                                 const Req& req) {
  auto bytes = encode_request_bytes(correlation_id, version, req);
  if (!bytes)
    return bytes.error();
  STROM_TRY(conn.write_all(*bytes));
  return read_frame(conn, max_config_frame, kp::api_name(Req::api));
}

/// Sends `req` as `version` to the first reachable broker and decodes its answer.
template <typename Resp, typename Req>
result<Resp> exchange(const std::vector<host_port>& brokers, int timeout_ms, int16_t version,
                      const Req& req) {
  auto conn = connect_any(brokers, timeout_ms);
  if (!conn)
    return conn.error();
  constexpr int32_t correlation_id = 1;
  auto answer = send_request(*conn, correlation_id, version, req);
  if (!answer)
    return answer.error();
  int32_t corr = 0;
  auto r = kp::decode_response<Resp>(std::as_bytes(std::span(*answer)), version, &corr);
  if (!r || corr != correlation_id)
    return protocol_error(fmt::format("the {} answer is malformed", kp::api_name(Req::api)));
  return r;
}

}  // namespace

result<std::map<std::string, std::string>> describe_cluster_configs(
    const std::vector<host_port>& brokers, int timeout_ms) {
  kp::describe_configs_request req;
  auto& res = req.resources.emplace_back();
  res.resource_type = broker_resource;
  res.resource_name = "";
  res.configuration_keys = std::nullopt;
  auto r = exchange<kp::describe_configs_response>(brokers, timeout_ms, 1, req);
  if (!r)
    return r.error();
  if (r->results.size() != 1)
    return protocol_error("the DescribeConfigs answer names no resource");
  const auto& out = r->results.front();
  if (out.error_code != kp::error_code::none)
    return protocol_error(fmt::format("the broker refused: {} (error {})",
                                      out.error_message.value_or(""),
                                      static_cast<int16_t>(out.error_code)));
  std::map<std::string, std::string> configs;
  for (const auto& c : out.configs)
    configs[c.name] = c.value.value_or("");
  return configs;
}

status alter_cluster_configs(const std::vector<host_port>& brokers, int timeout_ms,
                             const std::map<std::string, std::string>& set,
                             const std::vector<std::string>& remove) {
  constexpr int8_t op_set = 0;
  constexpr int8_t op_delete = 1;
  kp::incremental_alter_configs_request req;
  auto& res = req.resources.emplace_back();
  res.resource_type = broker_resource;
  res.resource_name = "";
  for (const auto& [k, v] : set)
    res.configs.push_back({k, op_set, v});
  for (const auto& k : remove)
    res.configs.push_back({k, op_delete, std::nullopt});
  auto r = exchange<kp::incremental_alter_configs_response>(brokers, timeout_ms, 0, req);
  if (!r)
    return r.error();
  if (r->responses.size() != 1)
    return protocol_error("the IncrementalAlterConfigs answer names no resource");
  const auto& out = r->responses.front();
  if (out.error_code != kp::error_code::none)
    return invalid(fmt::format("{} (error {})", out.error_message.value_or("refused"),
                               static_cast<int16_t>(out.error_code)));
  return {};
}

// --- Partition reassignment -------------------------------------------------------------------

namespace {

std::string broker_refusal(std::string_view api, kp::error_code code,
                           const std::optional<std::string>& message) {
  return fmt::format("the broker refused {}: {}{}{}", api, kp::error_name(code),
                     message && !message->empty() ? ": " : "", message.value_or(""));
}

}  // namespace

result<std::vector<reassignment_outcome>> alter_partition_reassignments(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::vector<reassignment_target>& targets) {
  kp::alter_partition_reassignments_request req;
  req.timeout_ms = timeout_ms;
  for (const auto& t : targets) {
    if (req.topics.empty() || req.topics.back().name != t.topic)
      req.topics.emplace_back().name = t.topic;
    req.topics.back().partitions.push_back({t.partition, t.replicas});
  }
  auto r = exchange<kp::alter_partition_reassignments_response>(brokers, timeout_ms, 0, req);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return protocol_error(
        broker_refusal("AlterPartitionReassignments", r->error_code, r->error_message));
  std::vector<reassignment_outcome> out;
  for (const auto& t : r->responses) {
    for (const auto& p : t.partitions) {
      reassignment_outcome o;
      o.topic = t.name;
      o.partition = p.partition_index;
      o.error_code = static_cast<int16_t>(p.error_code);
      o.error_name = std::string(kp::error_name(p.error_code));
      o.message = p.error_message.value_or("");
      out.push_back(std::move(o));
    }
  }
  return out;
}

result<std::vector<ongoing_reassignment>> list_partition_reassignments(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<std::pair<std::string, int32_t>>>& only) {
  kp::list_partition_reassignments_request req;
  req.timeout_ms = timeout_ms;
  if (only) {
    req.topics.emplace();
    for (const auto& [topic, partition] : *only) {
      auto it = std::find_if(req.topics->begin(), req.topics->end(),
                             [&](const auto& t) { return t.name == topic; });
      if (it == req.topics->end()) {
        it = req.topics->emplace(req.topics->end());
        it->name = topic;
      }
      it->partition_indexes.push_back(partition);
    }
  }
  auto r = exchange<kp::list_partition_reassignments_response>(brokers, timeout_ms, 0, req);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return protocol_error(
        broker_refusal("ListPartitionReassignments", r->error_code, r->error_message));
  std::vector<ongoing_reassignment> out;
  for (const auto& t : r->topics) {
    for (const auto& p : t.partitions)
      out.push_back(
          {t.name, p.partition_index, p.replicas, p.adding_replicas, p.removing_replicas});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

// --- Leader elections -------------------------------------------------------------------------

result<int16_t> elect_leaders_version(const std::vector<api_version_range>& ranges) {
  constexpr auto key = static_cast<int16_t>(kp::api_key::elect_leaders);
  auto it = std::find_if(ranges.begin(), ranges.end(),
                         [](const api_version_range& r) { return r.key == key; });
  if (it == ranges.end())
    return protocol_error("the broker does not offer ElectLeaders (API key 43)");
  for (int16_t v : {int16_t{2}, int16_t{1}}) {
    if (it->min <= v && v <= it->max)
      return v;
  }
  return protocol_error(
      fmt::format("the broker offers ElectLeaders versions {} to {}; stromctl sends version 1 or 2",
                  it->min, it->max));
}

result<std::vector<election_outcome>> elect_leaders(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<topic_partitions>>& partitions) {
  auto ranges = fetch_api_versions(brokers, timeout_ms);
  if (!ranges)
    return ranges.error();
  auto version = elect_leaders_version(*ranges);
  if (!version)
    return version.error();
  constexpr int8_t preferred = 0;
  kp::elect_leaders_request req;
  req.election_type = preferred;
  req.timeout_ms = timeout_ms;
  if (partitions) {
    req.topic_partitions.emplace();
    for (const auto& t : *partitions) {
      auto& out = req.topic_partitions->emplace_back();
      out.topic = t.topic;
      out.partitions = t.partitions;
    }
  }
  // The broker may take the whole timeout for the elections: the answer gets a second more.
  auto r = exchange<kp::elect_leaders_response>(brokers, timeout_ms + 1000, *version, req);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return protocol_error(broker_refusal("ElectLeaders", r->error_code, std::nullopt));
  std::vector<election_outcome> out;
  for (const auto& t : r->replica_election_results) {
    for (const auto& p : t.partition_result) {
      election_outcome o;
      o.topic = t.topic;
      o.partition = p.partition_id;
      o.error_code = static_cast<int16_t>(p.error_code);
      o.error_name = std::string(kp::error_name(p.error_code));
      o.message = p.error_message.value_or("");
      out.push_back(std::move(o));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

// --- Log directory sizes ----------------------------------------------------------------------

result<int16_t> describe_log_dirs_version(const std::vector<api_version_range>& ranges) {
  constexpr auto key = static_cast<int16_t>(kp::api_key::describe_log_dirs);
  auto it = std::find_if(ranges.begin(), ranges.end(),
                         [](const api_version_range& r) { return r.key == key; });
  if (it == ranges.end())
    return protocol_error("the broker does not offer DescribeLogDirs (API key 35)");
  auto low = std::max(it->min, kp::describe_log_dirs_request::min_version);
  auto high = std::min(it->max, kp::describe_log_dirs_request::max_version);
  if (low > high) {
    return protocol_error(fmt::format(
        "the broker offers DescribeLogDirs versions {} to {}; stromctl sends version {} to {}",
        it->min, it->max, kp::describe_log_dirs_request::min_version,
        kp::describe_log_dirs_request::max_version));
  }
  return high;
}

result<broker_log_sizes> decode_describe_log_dirs_response(std::string_view frame, int16_t version,
                                                           int32_t correlation_id) {
  int32_t corr = 0;
  auto r = kp::decode_response<kp::describe_log_dirs_response>(std::as_bytes(std::span(frame)),
                                                               version, &corr);
  if (!r || corr != correlation_id)
    return protocol_error("the DescribeLogDirs answer is malformed");
  if (r->error_code != kp::error_code::none)
    return protocol_error(broker_refusal("DescribeLogDirs", r->error_code, std::nullopt));
  broker_log_sizes out;
  for (const auto& dir : r->results) {
    if (dir.error_code != kp::error_code::none) {
      out.complete = false;
      continue;
    }
    for (const auto& t : dir.topics) {
      for (const auto& p : t.partitions) {
        if (!p.is_future_key)  // a copy to another directory of the broker, not yet in use
          out.sizes[{t.name, p.partition_index}] = p.partition_size;
      }
    }
  }
  return out;
}

result<broker_log_sizes> describe_log_dir_sizes(const host_port& broker, int timeout_ms,
                                                const std::vector<topic_partitions>& only) {
  auto conn = connect_broker(broker, timeout_ms);
  if (!conn)
    return conn.error();
  auto ranges = api_versions_on(*conn, 1);
  if (!ranges)
    return ranges.error();
  auto version = describe_log_dirs_version(*ranges);
  if (!version)
    return version.error();
  kp::describe_log_dirs_request req;
  req.topics.emplace();
  for (const auto& t : only)
    req.topics->push_back({t.topic, t.partitions});
  constexpr int32_t correlation_id = 2;
  auto answer = send_request(*conn, correlation_id, *version, req);
  if (!answer)
    return answer.error();
  return decode_describe_log_dirs_response(*answer, *version, correlation_id);
}

// --- SCRAM credentials ------------------------------------------------------------------------

namespace {

/// Mechanism codes of the SCRAM credential APIs (KIP-554).
constexpr int8_t scram_sha256_code = 1;
constexpr int8_t scram_sha512_code = 2;

constexpr size_t max_users_frame = 16 << 20;

template <typename Req>
std::string encode_small_request(int32_t correlation_id, const Req& req) {
  auto bytes = encode_request_bytes(correlation_id, 0, req);
  STROM_ASSERT(bytes.has_value(), "a SCRAM credential request is far below the frame limit");
  return std::move(*bytes);
}

user_outcome outcome_of(std::string user, kp::error_code code,
                        const std::optional<std::string>& message) {
  user_outcome o;
  o.user = std::move(user);
  o.error_code = static_cast<int16_t>(code);
  o.error_name = std::string(kp::error_name(code));
  o.message = message.value_or("");
  return o;
}

/// Whether the broker offers `key` at version 0, which stromctl sends.
status offers_v0(const std::vector<api_version_range>& ranges, kp::api_key key) {
  auto it = std::find_if(ranges.begin(), ranges.end(), [&](const api_version_range& r) {
    return r.key == static_cast<int16_t>(key);
  });
  if (it == ranges.end() || it->min > 0) {
    return protocol_error(
        fmt::format("the broker does not offer {} version 0 (API key {}); it may not support SCRAM "
                    "credentials",
                    kp::api_name(key), static_cast<int16_t>(key)));
  }
  return ok();
}

/// ApiVersions, then `request` (of API `key`), over one connection to the first reachable
/// broker; the answer without its size prefix.
result<std::string> users_round_trip(const std::vector<host_port>& brokers, int timeout_ms,
                                     kp::api_key key, std::string_view request) {
  auto conn = connect_any(brokers, timeout_ms);
  if (!conn)
    return conn.error();
  auto ranges = api_versions_on(*conn, 1);
  if (!ranges)
    return ranges.error();
  STROM_TRY(offers_v0(*ranges, key));
  STROM_TRY(conn->write_all(request));
  return read_frame(*conn, max_users_frame, kp::api_name(key));
}

}  // namespace

int8_t scram_mechanism_code(security::scram_mechanism m) {
  return m == security::scram_mechanism::sha512 ? scram_sha512_code : scram_sha256_code;
}

std::string scram_mechanism_label(int8_t code) {
  if (code == scram_sha256_code)
    return std::string(security::mechanism_name(security::scram_mechanism::sha256));
  if (code == scram_sha512_code)
    return std::string(security::mechanism_name(security::scram_mechanism::sha512));
  return fmt::format("UNKNOWN({})", code);
}

std::string encode_describe_user_scram_credentials_request(
    int32_t correlation_id, const std::optional<std::vector<std::string>>& users) {
  kp::describe_user_scram_credentials_request req;
  req.users.reset();  // null: every user
  if (users) {
    req.users.emplace();
    for (const auto& u : *users)
      req.users->push_back({u});
  }
  return encode_small_request(correlation_id, req);
}

result<std::vector<user_scram_credentials>> decode_describe_user_scram_credentials_response(
    std::string_view frame, int32_t correlation_id) {
  int32_t corr = 0;
  auto r = kp::decode_response<kp::describe_user_scram_credentials_response>(
      std::as_bytes(std::span(frame)), 0, &corr);
  if (!r || corr != correlation_id)
    return protocol_error("the DescribeUserScramCredentials answer is malformed");
  if (r->error_code != kp::error_code::none) {
    return protocol_error(
        broker_refusal("DescribeUserScramCredentials", r->error_code, r->error_message));
  }
  std::vector<user_scram_credentials> out;
  for (auto& u : r->results) {
    user_scram_credentials c;
    static_cast<user_outcome&>(c) = outcome_of(u.user, u.error_code, u.error_message);
    for (const auto& info : u.credential_infos)
      c.credentials.push_back({info.mechanism, info.iterations});
    std::sort(c.credentials.begin(), c.credentials.end(),
              [](const auto& a, const auto& b) { return a.mechanism < b.mechanism; });
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.user < b.user; });
  return out;
}

scram_upsertion make_scram_upsertion(std::string user, security::scram_mechanism m,
                                     std::string_view password, std::string salt,
                                     int32_t iterations) {
  scram_upsertion u;
  u.user = std::move(user);
  u.mechanism = scram_mechanism_code(m);
  u.iterations = iterations;
  u.salted_password = security::salted_password(m, password, salt, iterations);
  u.salt = std::move(salt);
  return u;
}

std::string encode_alter_user_scram_credentials_request(
    int32_t correlation_id, const std::vector<scram_deletion>& deletions,
    const std::vector<scram_upsertion>& upsertions) {
  kp::alter_user_scram_credentials_request req;
  for (const auto& d : deletions)
    req.deletions.push_back({d.user, d.mechanism});
  for (const auto& u : upsertions)
    req.upsertions.push_back(
        {u.user, u.mechanism, u.iterations, to_bytes(u.salt), to_bytes(u.salted_password)});
  return encode_small_request(correlation_id, req);
}

result<std::vector<user_outcome>> decode_alter_user_scram_credentials_response(
    std::string_view frame, int32_t correlation_id) {
  int32_t corr = 0;
  auto r = kp::decode_response<kp::alter_user_scram_credentials_response>(
      std::as_bytes(std::span(frame)), 0, &corr);
  if (!r || corr != correlation_id)
    return protocol_error("the AlterUserScramCredentials answer is malformed");
  std::vector<user_outcome> out;
  for (const auto& u : r->results)
    out.push_back(outcome_of(u.user, u.error_code, u.error_message));
  return out;
}

result<std::vector<user_scram_credentials>> describe_user_scram_credentials(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<std::string>>& users) {
  constexpr int32_t correlation_id = 2;
  auto answer =
      users_round_trip(brokers, timeout_ms, kp::api_key::describe_user_scram_credentials,
                       encode_describe_user_scram_credentials_request(correlation_id, users));
  if (!answer)
    return answer.error();
  return decode_describe_user_scram_credentials_response(*answer, correlation_id);
}

result<std::vector<user_outcome>> alter_user_scram_credentials(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::vector<scram_deletion>& deletions, const std::vector<scram_upsertion>& upsertions) {
  constexpr int32_t correlation_id = 2;
  auto answer = users_round_trip(
      brokers, timeout_ms, kp::api_key::alter_user_scram_credentials,
      encode_alter_user_scram_credentials_request(correlation_id, deletions, upsertions));
  if (!answer)
    return answer.error();
  return decode_alter_user_scram_credentials_response(*answer, correlation_id);
}

// --- ACLs -------------------------------------------------------------------------------------

namespace {

/// Versions 1 to 3: version 0 has no pattern types (every binding is LITERAL, and a filter
/// cannot ask for MATCH or ANY).
constexpr int16_t min_acl_version = 1;
static_assert(kp::create_acls_request::max_version == kp::describe_acls_request::max_version &&
              kp::create_acls_request::max_version == kp::delete_acls_request::max_version);
constexpr int16_t max_acl_version = kp::create_acls_request::max_version;

/// Kafka's operation names by code, from 1 (ANY); 13 and 14 (delegation tokens) only for
/// the bindings another broker may list.
constexpr std::array<std::string_view, 14> acl_operation_names = {
    "Any",           "All",
    "Read",          "Write",
    "Create",        "Delete",
    "Alter",         "Describe",
    "ClusterAction", "DescribeConfigs",
    "AlterConfigs",  "IdempotentWrite",
    "CreateTokens",  "DescribeTokens"};
/// The operations a binding (and `--operation`) may name: All to IdempotentWrite.
constexpr int8_t first_named_operation = 2;
constexpr int8_t last_named_operation = 12;

/// Resource type names by code, from 1 (ANY).
constexpr std::array<std::string_view, 7> acl_resource_type_names = {
    "Any", "Topic", "Group", "Cluster", "TransactionalId", "DelegationToken", "User"};

std::string label_of(std::span<const std::string_view> names, int8_t code) {
  if (code >= 1 && static_cast<size_t>(code) <= names.size())
    return std::string(names[static_cast<size_t>(code - 1)]);
  return fmt::format("UNKNOWN({})", code);
}

/// The error "NAME: message" (the name alone without a message) of an answer's error code.
strom::error refusal_error(kp::error_code code, const std::optional<std::string>& message) {
  return protocol_error(fmt::format("{}{}{}", kp::error_name(code),
                                    message && !message->empty() ? ": " : "",
                                    message.value_or("")));
}

acl_outcome acl_outcome_of(acl_binding binding, kp::error_code code,
                           const std::optional<std::string>& message) {
  acl_outcome o;
  o.binding = std::move(binding);
  o.error_code = static_cast<int16_t>(code);
  o.error_name = std::string(kp::error_name(code));
  o.message = message.value_or("");
  return o;
}

/// The one resource the options name: its type and name; nullopt for none; an error when
/// they name several.
result<std::optional<std::pair<int8_t, std::string>>> acl_resource_of(const acl_options& o) {
  std::optional<std::pair<int8_t, std::string>> out;
  int given = 0;
  auto take = [&](const std::optional<std::string>& name, int8_t type) {
    if (name) {
      ++given;
      out.emplace(type, *name);
    }
  };
  take(o.topic, acl_resource_topic);
  take(o.group, acl_resource_group);
  take(o.transactional_id, acl_resource_transactional_id);
  if (o.cluster) {
    ++given;
    out.emplace(acl_resource_cluster, std::string(acl_cluster_name));
  }
  if (given > 1)
    return invalid("give one resource: --topic, --group, --cluster or --transactional-id");
  if (out && out->second.empty())
    return invalid(fmt::format("the {} name cannot be empty",
                               out->first == acl_resource_topic   ? "--topic"
                               : out->first == acl_resource_group ? "--group"
                                                                  : "--transactional-id"));
  if (out && out->first == acl_resource_cluster && o.prefixed)
    return invalid("--prefixed does not go with --cluster: there is one cluster resource");
  return out;
}

/// The filter of the principal, host and resource options of `acl list` and `acl delete`; a
/// resource named is matched with `named_pattern` unless --prefixed.
result<acl_filter> acl_filter_of(const acl_options& o, int8_t named_pattern) {
  acl_filter f;
  if (o.principal) {
    if (auto checked = check_acl_principal(*o.principal); !checked)
      return invalid(fmt::format("--principal: {}", checked.error().detail()));
    f.principal = *o.principal;
  }
  if (o.host) {
    if (o.host->empty())
      return invalid("--host cannot be empty ('*' is every host)");
    f.host = *o.host;
  }
  auto resource = acl_resource_of(o);
  if (!resource)
    return resource.error();
  if (*resource) {
    f.resource_type = (*resource)->first;
    f.resource_name = std::move((*resource)->second);
    f.pattern_type = o.prefixed ? acl_pattern_prefixed : named_pattern;
  } else if (o.prefixed) {
    f.pattern_type = acl_pattern_prefixed;  // every prefixed binding
  }
  return f;
}

template <typename Req>
result<std::string> encode_acl_request(int32_t correlation_id, int16_t version, const Req& req) {
  if (version < min_acl_version || version > max_acl_version)
    return invalid(fmt::format("{} version {}: stromctl sends version {} to {}",
                               kp::api_name(Req::api), version, min_acl_version, max_acl_version));
  return encode_request_bytes(correlation_id, version, req);
}

/// Decodes an answer of `version` (ACLs, client quotas); a malformed one or one of another
/// correlation id is an error naming the API.
template <typename Resp>
result<Resp> decode_versioned_response(std::string_view frame, int16_t version,
                                       int32_t correlation_id) {
  int32_t corr = 0;
  auto r = kp::decode_response<Resp>(std::as_bytes(std::span(frame)), version, &corr);
  if (!r || corr != correlation_id)
    return protocol_error(fmt::format("the {} answer is malformed", kp::api_name(Resp::api)));
  return r;
}

/// The correlation id of a request that follows ApiVersions (1) on its connection.
constexpr int32_t versioned_correlation_id = 2;

/// ApiVersions, then the request `make` encodes (with versioned_correlation_id) at the version
/// `pick` chooses for API `key` from the broker's ranges, over one connection to the first
/// reachable broker; the answer without its size prefix and the version it has.
result<std::pair<std::string, int16_t>> versioned_round_trip(
    const std::vector<host_port>& brokers, int timeout_ms, kp::api_key key,
    const std::function<result<int16_t>(const std::vector<api_version_range>&, int16_t)>& pick,
    const std::function<result<std::string>(int32_t, int16_t)>& make) {
  auto conn = connect_any(brokers, timeout_ms);
  if (!conn)
    return conn.error();
  auto ranges = api_versions_on(*conn, 1);
  if (!ranges)
    return ranges.error();
  auto version = pick(*ranges, static_cast<int16_t>(key));
  if (!version)
    return version.error();
  auto request = make(versioned_correlation_id, *version);
  if (!request)
    return request.error();
  STROM_TRY(conn->write_all(*request));
  auto answer = read_frame(*conn, max_config_frame, kp::api_name(key));
  if (!answer)
    return answer.error();
  return std::pair(std::move(*answer), *version);
}

/// ApiVersions, then the ACL request `make` encodes at the version acl_api_version picks for
/// `key`: as versioned_round_trip.
result<std::pair<std::string, int16_t>> acl_round_trip(
    const std::vector<host_port>& brokers, int timeout_ms, kp::api_key key,
    const std::function<result<std::string>(int32_t, int16_t)>& make) {
  return versioned_round_trip(brokers, timeout_ms, key, acl_api_version, make);
}

}  // namespace

std::string acl_outcome::reason() const {
  return message.empty() ? error_name : fmt::format("{}: {}", error_name, message);
}

result<int8_t> parse_acl_operation(std::string_view name) {
  std::string wanted;
  for (char c : lower_ascii(name)) {
    if (c != '_' && c != '-')
      wanted += c;
  }
  for (int8_t code = first_named_operation; code <= last_named_operation; ++code) {
    if (lower_ascii(acl_operation_names[static_cast<size_t>(code - 1)]) == wanted)
      return code;
  }
  std::string known;
  for (int8_t code = first_named_operation; code <= last_named_operation; ++code)
    known += fmt::format("{}{}", known.empty() ? "" : ", ",
                         acl_operation_names[static_cast<size_t>(code - 1)]);
  return invalid(fmt::format("'{}' is not an ACL operation ({})", name, known));
}

std::string acl_operation_label(int8_t code) {
  return label_of(acl_operation_names, code);
}

std::string acl_permission_label(int8_t code) {
  constexpr std::array<std::string_view, 3> names = {"Any", "Deny", "Allow"};
  return label_of(names, code);
}

std::string acl_resource_type_label(int8_t code) {
  return label_of(acl_resource_type_names, code);
}

std::string acl_pattern_label(int8_t code) {
  constexpr std::array<std::string_view, 4> names = {"ANY", "MATCH", "LITERAL", "PREFIXED"};
  return label_of(names, code);
}

std::string acl_resource_label(int8_t type, std::string_view name) {
  return fmt::format("{}:{}", acl_resource_type_label(type), name);
}

status check_acl_principal(std::string_view principal) {
  auto colon = principal.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == principal.size())
    return invalid(fmt::format("'{}' is not TYPE:NAME (e.g. User:alice, User:*)", principal));
  return ok();
}

result<std::vector<acl_binding>> acl_bindings_of(const acl_options& o) {
  if (!o.principal)
    return invalid("--principal is required (e.g. User:alice)");
  if (auto checked = check_acl_principal(*o.principal); !checked)
    return invalid(fmt::format("--principal: {}", checked.error().detail()));
  if (o.host && o.host->empty())
    return invalid("--host cannot be empty ('*' is every host)");
  if (o.operations.empty())
    return invalid("--operation is required (one binding per operation)");
  if (o.allow)
    return invalid("--allow is for acl delete: bindings allow unless --deny");
  auto resource = acl_resource_of(o);
  if (!resource)
    return resource.error();
  if (!*resource)
    return invalid("a resource is required: --topic, --group, --cluster or --transactional-id");
  std::vector<acl_binding> out;
  for (const auto& name : o.operations) {
    auto op = parse_acl_operation(name);
    if (!op)
      return invalid(fmt::format("--operation: {}", op.error().detail()));
    acl_binding b;
    b.resource_type = (*resource)->first;
    b.resource_name = (*resource)->second;
    b.pattern_type = o.prefixed ? acl_pattern_prefixed : acl_pattern_literal;
    b.principal = *o.principal;
    b.host = o.host.value_or("*");
    b.operation = *op;
    b.permission = o.deny ? acl_permission_deny : acl_permission_allow;
    // Kafka refuses nothing for a repeated operation, but it would be one binding twice.
    if (std::find(out.begin(), out.end(), b) == out.end())
      out.push_back(std::move(b));
  }
  return out;
}

result<acl_filter> acl_list_filter(const acl_options& o) {
  if (!o.operations.empty() || o.deny || o.allow)
    return invalid("acl list takes no --operation, --deny or --allow");
  return acl_filter_of(o, acl_pattern_match);
}

result<acl_filter> acl_delete_filter(const acl_options& o) {
  if (o.deny && o.allow)
    return invalid("--deny and --allow exclude each other (neither: both kinds)");
  if (o.operations.size() > 1)
    return invalid("acl delete takes at most one --operation");
  auto f = acl_filter_of(o, acl_pattern_literal);
  if (!f)
    return f.error();
  if (!f->principal && !f->resource_name)
    return invalid(
        "acl delete needs --principal or a resource (--topic, --group, --cluster, "
        "--transactional-id)");
  if (!o.operations.empty()) {
    auto op = parse_acl_operation(o.operations.front());
    if (!op)
      return invalid(fmt::format("--operation: {}", op.error().detail()));
    f->operation = *op;
  }
  if (o.deny)
    f->permission = acl_permission_deny;
  if (o.allow)
    f->permission = acl_permission_allow;
  return f;
}

result<int16_t> acl_api_version(const std::vector<api_version_range>& ranges, int16_t key) {
  auto it = std::find_if(ranges.begin(), ranges.end(),
                         [&](const api_version_range& r) { return r.key == key; });
  if (it == ranges.end()) {
    return protocol_error(fmt::format(
        "the broker does not offer {} (API key {}); it may not support ACLs", api_name(key), key));
  }
  auto low = std::max(it->min, min_acl_version);
  auto high = std::min(it->max, max_acl_version);
  if (low > high) {
    return protocol_error(
        fmt::format("the broker offers {} versions {} to {}; stromctl sends version {} to {}",
                    api_name(key), it->min, it->max, min_acl_version, max_acl_version));
  }
  return high;
}

result<std::string> encode_create_acls_request(int32_t correlation_id, int16_t version,
                                               const std::vector<acl_binding>& bindings) {
  kp::create_acls_request req;
  for (const auto& b : bindings) {
    auto& c = req.creations.emplace_back();
    c.resource_type = b.resource_type;
    c.resource_name = b.resource_name;
    c.resource_pattern_type = b.pattern_type;
    c.principal = b.principal;
    c.host = b.host;
    c.operation = b.operation;
    c.permission_type = b.permission;
  }
  return encode_acl_request(correlation_id, version, req);
}

result<std::vector<acl_outcome>> decode_create_acls_response(
    std::string_view frame, int16_t version, int32_t correlation_id,
    const std::vector<acl_binding>& bindings) {
  auto r = decode_versioned_response<kp::create_acls_response>(frame, version, correlation_id);
  if (!r)
    return r.error();
  if (r->results.size() != bindings.size()) {
    return protocol_error(fmt::format("the CreateAcls answer has {} results for {} bindings",
                                      r->results.size(), bindings.size()));
  }
  std::vector<acl_outcome> out;
  for (size_t i = 0; i < bindings.size(); ++i)
    out.push_back(
        acl_outcome_of(bindings[i], r->results[i].error_code, r->results[i].error_message));
  return out;
}

namespace {
/// A DescribeAcls request or a DeleteAcls filter, which carry the same filter fields.
template <typename F>
void fill_filter(F& f, const acl_filter& filter) {
  f.resource_type_filter = filter.resource_type;
  f.resource_name_filter = filter.resource_name;
  f.pattern_type_filter = filter.pattern_type;
  f.principal_filter = filter.principal;
  f.host_filter = filter.host;
  f.operation = filter.operation;
  f.permission_type = filter.permission;
}
}  // namespace

result<std::string> encode_describe_acls_request(int32_t correlation_id, int16_t version,
                                                 const acl_filter& filter) {
  kp::describe_acls_request req;
  fill_filter(req, filter);
  return encode_acl_request(correlation_id, version, req);
}

result<std::vector<acl_binding>> decode_describe_acls_response(std::string_view frame,
                                                               int16_t version,
                                                               int32_t correlation_id) {
  auto r = decode_versioned_response<kp::describe_acls_response>(frame, version, correlation_id);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return refusal_error(r->error_code, r->error_message);
  std::vector<acl_binding> out;
  for (const auto& res : r->resources) {
    for (const auto& a : res.acls) {
      out.push_back({res.resource_type, res.resource_name, res.pattern_type, a.principal, a.host,
                     a.operation, a.permission_type});
    }
  }
  std::sort(out.begin(), out.end(), [](const acl_binding& a, const acl_binding& b) {
    return std::tie(a.resource_type, a.resource_name, a.pattern_type, a.principal, a.host,
                    a.operation, a.permission) < std::tie(b.resource_type, b.resource_name,
                                                          b.pattern_type, b.principal, b.host,
                                                          b.operation, b.permission);
  });
  return out;
}

result<std::string> encode_delete_acls_request(int32_t correlation_id, int16_t version,
                                               const acl_filter& filter) {
  kp::delete_acls_request req;
  fill_filter(req.filters.emplace_back(), filter);
  return encode_acl_request(correlation_id, version, req);
}

result<std::vector<acl_outcome>> decode_delete_acls_response(std::string_view frame,
                                                             int16_t version,
                                                             int32_t correlation_id) {
  auto r = decode_versioned_response<kp::delete_acls_response>(frame, version, correlation_id);
  if (!r)
    return r.error();
  if (r->filter_results.size() != 1) {
    return protocol_error(fmt::format("the DeleteAcls answer has {} results for one filter",
                                      r->filter_results.size()));
  }
  const auto& matched = r->filter_results.front();
  if (matched.error_code != kp::error_code::none)
    return refusal_error(matched.error_code, matched.error_message);
  std::vector<acl_outcome> out;
  for (const auto& m : matched.matching_acls) {
    acl_binding b{m.resource_type, m.resource_name, m.pattern_type,   m.principal,
                  m.host,          m.operation,     m.permission_type};
    out.push_back(acl_outcome_of(std::move(b), m.error_code, m.error_message));
  }
  return out;
}

result<std::vector<acl_outcome>> create_acls(const std::vector<host_port>& brokers, int timeout_ms,
                                             const std::vector<acl_binding>& bindings) {
  auto answer = acl_round_trip(
      brokers, timeout_ms, kp::api_key::create_acls, [&](int32_t correlation_id, int16_t version) {
        return encode_create_acls_request(correlation_id, version, bindings);
      });
  if (!answer)
    return answer.error();
  return decode_create_acls_response(answer->first, answer->second, versioned_correlation_id,
                                     bindings);
}

result<std::vector<acl_binding>> describe_acls(const std::vector<host_port>& brokers,
                                               int timeout_ms, const acl_filter& filter) {
  auto answer =
      acl_round_trip(brokers, timeout_ms, kp::api_key::describe_acls,
                     [&](int32_t correlation_id, int16_t version) {
                       return encode_describe_acls_request(correlation_id, version, filter);
                     });
  if (!answer)
    return answer.error();
  return decode_describe_acls_response(answer->first, answer->second, versioned_correlation_id);
}

result<std::vector<acl_outcome>> delete_acls(const std::vector<host_port>& brokers, int timeout_ms,
                                             const acl_filter& filter) {
  auto answer = acl_round_trip(brokers, timeout_ms, kp::api_key::delete_acls,
                               [&](int32_t correlation_id, int16_t version) {
                                 return encode_delete_acls_request(correlation_id, version, filter);
                               });
  if (!answer)
    return answer.error();
  return decode_delete_acls_response(answer->first, answer->second, versioned_correlation_id);
}

// --- Client quotas ----------------------------------------------------------------------------

namespace {

/// Versions 0 and 1, the same fields (1 is flexible).
constexpr int16_t max_quota_version = 1;
static_assert(kp::describe_client_quotas_request::max_version == max_quota_version &&
              kp::alter_client_quotas_request::max_version == max_quota_version);

/// Where a part of `type` stands in an entity: users, client ids, then the others.
int quota_type_rank(std::string_view type) {
  if (type == quota_user)
    return 0;
  if (type == quota_client_id)
    return 1;
  return 2;
}

bool part_before(const quota_entity_part& a, const quota_entity_part& b) {
  auto ra = quota_type_rank(a.type);
  auto rb = quota_type_rank(b.type);
  // A default part (no name) before the named ones.
  return std::tie(ra, a.type, a.name) < std::tie(rb, b.type, b.name);
}

/// The parts of an answer's entity in quota_entity order.
template <typename Parts>
quota_entity entity_of(const Parts& parts) {
  quota_entity out;
  for (const auto& p : parts)
    out.push_back({p.entity_type, p.entity_name});
  std::sort(out.begin(), out.end(), part_before);
  return out;
}

/// The entity part of --NAME or --NAME-default; nullopt for neither.
result<std::optional<quota_entity_part>> quota_part_of(std::string_view type,
                                                       std::string_view option,
                                                       const std::optional<std::string>& name,
                                                       bool is_default) {
  if (name && is_default)
    return invalid(fmt::format("--{} and --{}-default exclude each other", option, option));
  if (name && name->empty())
    return invalid(fmt::format("--{}: the name cannot be empty (--{}-default is the default)",
                               option, option));
  if (!name && !is_default)
    return std::optional<quota_entity_part>();
  return std::optional<quota_entity_part>(quota_entity_part{std::string(type), name});
}

/// The entity of `set` and `delete`, which need one.
result<quota_entity> required_entity(const quota_options& o) {
  auto entity = quota_entity_of(o);
  if (!entity)
    return entity.error();
  if (entity->empty())
    return invalid(
        "give the entity: --user NAME, --user-default, --client-id ID and/or "
        "--client-id-default");
  return entity;
}

/// Fails when one of `set`'s own options is given to `list` or `delete`.
status no_set_options(const quota_options& o, std::string_view verb) {
  if (o.producer_byte_rate || o.consumer_byte_rate || !o.quotas.empty() || !o.remove.empty() ||
      o.dry_run)
    return invalid(fmt::format(
        "quota {} takes no --producer-byte-rate, --consumer-byte-rate, --quota, --remove or "
        "--dry-run",
        verb));
  return ok();
}

template <typename Req>
result<std::string> encode_quota_request(int32_t correlation_id, int16_t version, const Req& req) {
  if (version < 0 || version > max_quota_version)
    return invalid(fmt::format("{} version {}: stromctl sends version 0 to {}",
                               kp::api_name(Req::api), version, max_quota_version));
  return encode_request_bytes(correlation_id, version, req);
}

}  // namespace

std::string quota_entity_label(const quota_entity& entity) {
  std::string out;
  for (const auto& p : entity) {
    if (!out.empty())
      out += ", ";
    out += fmt::format("{}={}", p.type, p.name.value_or("<default>"));
  }
  return out;
}

std::string quota_outcome::reason() const {
  return message.empty() ? error_name : fmt::format("{}: {}", error_name, message);
}

result<double> parse_quota_value(std::string_view text) {
  auto refused = [&] { return invalid(fmt::format("'{}' is not a positive number", text)); };
  if (text.empty())
    return refused();
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v) || v <= 0)
    return refused();
  return v;
}

std::string format_quota_value(double value) {
  return fmt::format("{}", value);
}

result<quota_entity> quota_entity_of(const quota_options& o) {
  auto user = quota_part_of(quota_user, "user", o.user, o.user_default);
  if (!user)
    return user.error();
  auto client = quota_part_of(quota_client_id, "client-id", o.client_id, o.client_id_default);
  if (!client)
    return client.error();
  quota_entity out;
  if (*user)
    out.push_back(std::move(**user));
  if (*client)
    out.push_back(std::move(**client));
  return out;
}

result<quota_alteration> quota_set_alteration(const quota_options& o) {
  auto entity = required_entity(o);
  if (!entity)
    return entity.error();
  quota_alteration out;
  out.entity = std::move(*entity);
  auto add = [&](quota_op op) -> status {
    for (const auto& other : out.ops) {
      if (other.key != op.key)
        continue;
      return invalid(other.remove == op.remove ? fmt::format("{} is given twice", op.key)
                                               : fmt::format("{} is both set and removed", op.key));
    }
    out.ops.push_back(std::move(op));
    return ok();
  };
  auto add_rate = [&](std::string_view key, std::string_view option,
                      const std::optional<std::string>& text) -> status {
    if (!text)
      return ok();
    auto v = parse_quota_value(*text);
    if (!v)
      return invalid(fmt::format("--{}: {}", option, v.error().detail()));
    return add({std::string(key), *v, false});
  };
  STROM_TRY(add_rate(quota_producer_byte_rate, "producer-byte-rate", o.producer_byte_rate));
  STROM_TRY(add_rate(quota_consumer_byte_rate, "consumer-byte-rate", o.consumer_byte_rate));
  for (const auto& q : o.quotas) {
    auto kv = parse_key_value(q);
    if (!kv)
      return invalid(fmt::format("--quota: {}", kv.error().detail()));
    auto v = parse_quota_value(kv->second);
    if (!v)
      return invalid(fmt::format("--quota {}: {}", kv->first, v.error().detail()));
    STROM_TRY(add({kv->first, *v, false}));
  }
  for (const auto& key : o.remove) {
    if (key.empty())
      return invalid("--remove: the key cannot be empty");
    STROM_TRY(add({key, 0, true}));
  }
  if (out.ops.empty())
    return invalid(
        "give a quota to set or remove: --producer-byte-rate, --consumer-byte-rate, --quota "
        "KEY=VALUE or --remove KEY");
  return out;
}

result<quota_alteration> quota_delete_alteration(const quota_options& o) {
  STROM_TRY(no_set_options(o, "delete"));
  auto entity = required_entity(o);
  if (!entity)
    return entity.error();
  quota_alteration out;
  out.entity = std::move(*entity);
  out.ops.push_back({std::string(quota_producer_byte_rate), 0, true});
  out.ops.push_back({std::string(quota_consumer_byte_rate), 0, true});
  out.ops.push_back({std::string(quota_request_percentage), 0, true});
  return out;
}

result<quota_filter> quota_list_filter(const quota_options& o) {
  STROM_TRY(no_set_options(o, "list"));
  auto entity = quota_entity_of(o);
  if (!entity)
    return entity.error();
  quota_filter f;
  for (const auto& p : *entity) {
    if (p.name)
      f.components.push_back({p.type, quota_match_exact, p.name});
    else
      f.components.push_back({p.type, quota_match_default, std::nullopt});
  }
  return f;
}

result<int16_t> client_quotas_api_version(const std::vector<api_version_range>& ranges,
                                          int16_t key) {
  auto it = std::find_if(ranges.begin(), ranges.end(),
                         [&](const api_version_range& r) { return r.key == key; });
  if (it == ranges.end()) {
    return protocol_error(
        fmt::format("the broker does not offer {} (API key {}); it may not support client quotas",
                    api_name(key), key));
  }
  auto low = std::max<int16_t>(it->min, 0);
  auto high = std::min(it->max, max_quota_version);
  if (low > high) {
    return protocol_error(
        fmt::format("the broker offers {} versions {} to {}; stromctl sends version 0 to {}",
                    api_name(key), it->min, it->max, max_quota_version));
  }
  return high;
}

result<std::string> encode_describe_client_quotas_request(int32_t correlation_id, int16_t version,
                                                          const quota_filter& filter) {
  kp::describe_client_quotas_request req;
  for (const auto& c : filter.components)
    req.components.push_back({c.entity_type, c.match_type, c.match});
  req.strict = filter.strict;
  return encode_quota_request(correlation_id, version, req);
}

result<std::vector<quota_entry>> decode_describe_client_quotas_response(std::string_view frame,
                                                                        int16_t version,
                                                                        int32_t correlation_id) {
  auto r = decode_versioned_response<kp::describe_client_quotas_response>(frame, version,
                                                                          correlation_id);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return refusal_error(r->error_code, r->error_message);
  std::vector<quota_entry> out;
  if (!r->entries)  // null: none
    return out;
  for (const auto& e : *r->entries) {
    quota_entry entry;
    entry.entity = entity_of(e.entity);
    for (const auto& v : e.values)
      entry.values.push_back({v.key, v.value});
    std::sort(entry.values.begin(), entry.values.end(),
              [](const quota_value& a, const quota_value& b) { return a.key < b.key; });
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(), [](const quota_entry& a, const quota_entry& b) {
    return std::lexicographical_compare(a.entity.begin(), a.entity.end(), b.entity.begin(),
                                        b.entity.end(), part_before);
  });
  return out;
}

result<std::string> encode_alter_client_quotas_request(int32_t correlation_id, int16_t version,
                                                       const std::vector<quota_alteration>& entries,
                                                       bool validate_only) {
  kp::alter_client_quotas_request req;
  for (const auto& a : entries) {
    auto& e = req.entries.emplace_back();
    for (const auto& p : a.entity)
      e.entity.push_back({p.type, p.name});
    for (const auto& op : a.ops)
      e.ops.push_back({op.key, op.remove ? 0.0 : op.value, op.remove});
  }
  req.validate_only = validate_only;
  return encode_quota_request(correlation_id, version, req);
}

result<std::vector<quota_outcome>> decode_alter_client_quotas_response(std::string_view frame,
                                                                       int16_t version,
                                                                       int32_t correlation_id,
                                                                       size_t entries) {
  auto r =
      decode_versioned_response<kp::alter_client_quotas_response>(frame, version, correlation_id);
  if (!r)
    return r.error();
  if (r->entries.size() != entries) {
    return protocol_error(fmt::format("the AlterClientQuotas answer has {} results for {} entities",
                                      r->entries.size(), entries));
  }
  std::vector<quota_outcome> out;
  for (const auto& e : r->entries) {
    quota_outcome o;
    o.entity = entity_of(e.entity);
    o.error_code = static_cast<int16_t>(e.error_code);
    o.error_name = std::string(kp::error_name(e.error_code));
    o.message = e.error_message.value_or("");
    out.push_back(std::move(o));
  }
  return out;
}

result<std::vector<quota_entry>> describe_client_quotas(const std::vector<host_port>& brokers,
                                                        int timeout_ms,
                                                        const quota_filter& filter) {
  auto answer = versioned_round_trip(
      brokers, timeout_ms, kp::api_key::describe_client_quotas, client_quotas_api_version,
      [&](int32_t correlation_id, int16_t version) {
        return encode_describe_client_quotas_request(correlation_id, version, filter);
      });
  if (!answer)
    return answer.error();
  return decode_describe_client_quotas_response(answer->first, answer->second,
                                                versioned_correlation_id);
}

result<std::vector<quota_outcome>> alter_client_quotas(const std::vector<host_port>& brokers,
                                                       int timeout_ms,
                                                       const std::vector<quota_alteration>& entries,
                                                       bool validate_only) {
  auto answer = versioned_round_trip(
      brokers, timeout_ms, kp::api_key::alter_client_quotas, client_quotas_api_version,
      [&](int32_t correlation_id, int16_t version) {
        return encode_alter_client_quotas_request(correlation_id, version, entries, validate_only);
      });
  if (!answer)
    return answer.error();
  return decode_alter_client_quotas_response(answer->first, answer->second,
                                             versioned_correlation_id, entries.size());
}

// --- HTTP -------------------------------------------------------------------------------------

result<http_url> parse_http_url(std::string_view url) {
  http_url out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  }
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  if (slash != std::string_view::npos)
    out.path = std::string(url.substr(slash));
  while (!out.path.empty() && out.path.back() == '/')
    out.path.pop_back();
  auto hosts = parse_brokers(authority);
  if (!hosts || hosts->size() != 1)
    return invalid(fmt::format("'{}' is not an http://host:port URL", url));
  out.host = hosts->front().host;
  bool explicit_port = authority.find(':') != std::string_view::npos &&
                       (authority.front() != '[' || authority.find("]:") != std::string_view::npos);
  out.port = explicit_port ? hosts->front().port : out.tls ? 443 : 80;
  return out;
}

result<http_response> parse_http_response(std::string_view raw) {
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos)
    return protocol_error("the HTTP answer has no end of headers");
  auto head = raw.substr(0, head_end);
  auto body = raw.substr(head_end + 4);
  auto line_end = head.find("\r\n");
  auto status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
    return protocol_error(fmt::format("not an HTTP answer: '{}'", status_line.substr(0, 40)));
  http_response out;
  for (size_t i = 9; i < 12; ++i) {
    char c = status_line[i];
    if (c < '0' || c > '9')
      return protocol_error(fmt::format("bad HTTP status line: '{}'", status_line));
    out.status = out.status * 10 + (c - '0');
  }
  bool chunked = false;
  std::optional<size_t> length;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    auto line = head.substr(pos, e == std::string_view::npos ? head.npos : e - pos);
    pos = e == std::string_view::npos ? head.size() : e + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    auto name = lower_ascii(line.substr(0, colon));
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    if (name == "transfer-encoding" && lower_ascii(value).find("chunked") != std::string::npos)
      chunked = true;
    if (name == "content-length") {
      size_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9')
          break;
        n = n * 10 + static_cast<size_t>(c - '0');
      }
      length = n;
    }
  }
  if (chunked) {
    std::string decoded;
    while (true) {
      auto e = body.find("\r\n");
      if (e == std::string_view::npos)
        return protocol_error("truncated chunked HTTP body");
      size_t n = 0;
      size_t digits = 0;
      for (char c : body.substr(0, e)) {
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
          break;
        if (++digits > 8)
          return protocol_error("bad HTTP chunk size");
        n = n * 16 + static_cast<size_t>(d);
      }
      body.remove_prefix(e + 2);
      if (n == 0)
        break;
      if (body.size() < n)
        return protocol_error("truncated chunked HTTP body");
      decoded.append(body.substr(0, n));
      body.remove_prefix(std::min(body.size(), n + 2));
    }
    out.body = std::move(decoded);
  } else if (length) {
    if (body.size() < *length)
      return protocol_error("the HTTP body is shorter than its Content-Length");
    out.body = std::string(body.substr(0, *length));
  } else {
    out.body = std::string(body);
  }
  return out;
}

std::string http_request_text(std::string_view method, const http_url& base, std::string_view path,
                              std::string_view authorization) {
  bool v6 = base.host.find(':') != std::string::npos;
  return fmt::format(
      "{} {}{} HTTP/1.1\r\nHost: {}{}{}:{}\r\nAccept: application/json\r\nUser-Agent: "
      "stromctl\r\n{}{}{}{}Connection: close\r\n\r\n",
      method, base.path, path, v6 ? "[" : "", base.host, v6 ? "]" : "", base.port,
      method == "GET" ? "" : "Content-Length: 0\r\n",
      authorization.empty() ? "" : "Authorization: ", authorization,
      authorization.empty() ? "" : "\r\n");
}

namespace {

result<http_response> http_exchange(std::string_view method, const http_url& base,
                                    std::string_view path, int timeout_ms) {
  const auto& settings = admin_http_settings();
  if (base.tls && !settings.tls)
    return settings.tls.error();
  auto conn = tcp_connection::connect(base.host, base.port, timeout_ms);
  if (!conn)
    return conn.error();
  if (base.tls)
    STROM_TRY(conn->start_tls(*settings.tls, base.host));
  STROM_TRY(conn->write_all(http_request_text(method, base, path, settings.authorization)));
  auto raw = conn->read_to_end(4 << 20);
  if (!raw)
    return raw.error();
  return parse_http_response(*raw);
}

}  // namespace

result<http_response> http_get(const http_url& base, std::string_view path, int timeout_ms) {
  return http_exchange("GET", base, path, timeout_ms);
}

result<http_response> http_put(const http_url& base, std::string_view path, int timeout_ms) {
  return http_exchange("PUT", base, path, timeout_ms);
}

}  // namespace strom::ctl
