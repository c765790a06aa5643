// SASL authentication of stromctl's own Kafka connections: which client properties ask for it,
// and the SaslHandshake / SaslAuthenticate conversation, driven against a scripted broker whose
// answers are encoded by the protocol codec (for SCRAM, the security module's server side).
#include <gtest/gtest.h>

#include <functional>

#include "ctl/wire.h"
#include "strom/kafka/protocol/codec.h"
#include "strom/security/scram.h"

namespace strom::ctl {
namespace {

namespace kp = ::strom::kafka::protocol;
namespace sec = ::strom::security;

std::string error_of(const client_properties& props) {
  auto r = wire_security(props);
  return r ? std::string() : r.error().detail();
}

TEST(WireSecurity, PlaintextUnlessSaslPlaintextIsAsked) {
  auto r = wire_security({});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  r = wire_security({{"security.protocol", "PLAINTEXT"}, {"sasl.mechanism", "GSSAPI"}});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());

  r = wire_security({{"security.protocol", "sasl_plaintext"},
                     {"sasl.mechanism", "PLAIN"},
                     {"sasl.username", "alice"},
                     {"sasl.password", "first"},
                     {"sasl.password", "second"}});
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->mechanism, "PLAIN");
  EXPECT_EQ((*r)->username, "alice");
  EXPECT_EQ((*r)->password, "second");  // the last setting wins

  // librdkafka's older name of the mechanism setting.
  r = wire_security({{"security.protocol", "SASL_PLAINTEXT"},
                     {"sasl.mechanisms", "SCRAM-SHA-512"},
                     {"sasl.username", "alice"},
                     {"sasl.password", "pw"}});
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ((*r)->mechanism, "SCRAM-SHA-512");
}

TEST(WireSecurity, TlsProtocolsTakeTheSslProperties) {
  auto r = wire_security({{"security.protocol", "ssl"}});
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_FALSE(r->has_value());  // TLS without SASL
  r = wire_security({{"security.protocol", "SASL_SSL"},
                     {"sasl.mechanism", "SCRAM-SHA-256"},
                     {"sasl.username", "alice"},
                     {"sasl.password", "pw"}});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->mechanism, "SCRAM-SHA-256");

  auto t = wire_tls({{"security.protocol", "SASL_PLAINTEXT"}});
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->has_value());
  t = wire_tls({{"security.protocol", "SSL"},
                {"ssl.ca.location", "/ca.pem"},
                {"ssl.certificate.location", "/me.pem"},
                {"ssl.key.location", "/me.key"},
                {"ssl.endpoint.identification.algorithm", "none"}});
  ASSERT_TRUE(t && t->has_value()) << (t ? "" : t.error().detail());
  EXPECT_EQ((*t)->ca_file, "/ca.pem");
  EXPECT_EQ((*t)->cert_file, "/me.pem");
  EXPECT_EQ((*t)->key_file, "/me.key");
  EXPECT_TRUE((*t)->verify);
  EXPECT_FALSE((*t)->verify_host);
  t = wire_tls({{"security.protocol", "sasl_ssl"}});
  ASSERT_TRUE(t && t->has_value());
  EXPECT_FALSE((*t)->ca_file);     // the system's CAs
  EXPECT_TRUE((*t)->verify_host);  // librdkafka's default

  auto tls_error = [](client_properties p) {
    p.emplace_back("security.protocol", "SSL");
    auto settings = wire_tls(p);
    return settings ? std::string() : settings.error().detail();
  };
  EXPECT_EQ(tls_error({{"ssl.certificate.location", "/me.pem"}}),
            "ssl.certificate.location needs ssl.key.location");
  EXPECT_EQ(tls_error({{"ssl.key.location", "/me.key"}}),
            "ssl.key.location needs ssl.certificate.location");
  EXPECT_NE(tls_error({{"enable.ssl.certificate.verification", "maybe"}}).find("true or false"),
            std::string::npos);
  EXPECT_NE(tls_error({{"ssl.endpoint.identification.algorithm", "dns"}}).find("https or none"),
            std::string::npos);
}

TEST(WireSecurity, WhatStromctlCannotDoIsOneClearError) {
  EXPECT_NE(error_of({{"security.protocol", "KERBEROS"}}).find("security.protocol=KERBEROS"),
            std::string::npos);
  client_properties sasl = {
      {"security.protocol", "SASL_PLAINTEXT"}, {"sasl.username", "alice"}, {"sasl.password", "pw"}};
  auto e = error_of(sasl);  // librdkafka would use GSSAPI
  EXPECT_NE(e.find("need sasl.mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not the default "
                   "GSSAPI"),
            std::string::npos)
      << e;
  auto with = [&](std::string mechanism) {
    auto p = sasl;
    p.emplace_back("sasl.mechanism", std::move(mechanism));
    return error_of(p);
  };
  EXPECT_NE(with("OAUTHBEARER").find("not 'OAUTHBEARER'"), std::string::npos);
  EXPECT_NE(with("scram-sha-256").find("not 'scram-sha-256'"), std::string::npos);
  EXPECT_EQ(with("SCRAM-SHA-256"), "");
  e = error_of({{"security.protocol", "SASL_PLAINTEXT"},
                {"sasl.mechanism", "PLAIN"},
                {"sasl.username", "alice"}});
  EXPECT_EQ(e, "sasl.mechanism=PLAIN needs sasl.username and sasl.password");
}

/// An answer frame without its size prefix.
template <typename M>
std::string answer(int32_t correlation_id, int16_t version, const M& body) {
  auto f = kp::encode_response_frame(correlation_id, version, body);
  EXPECT_TRUE(f.has_value());
  auto b = f->flatten();
  EXPECT_TRUE(b.has_value());
  return std::string(reinterpret_cast<const char*>(b->data()), b->size()).substr(4);
}

std::string text_of(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::vector<std::byte> bytes_of(std::string_view s) {
  auto b = std::as_bytes(std::span(s));
  return {b.begin(), b.end()};
}

/// A broker's side of the conversation: decodes each request frame with the codec, keeps it,
/// and answers what the script says.
class scripted_broker {
 public:
  std::function<kp::sasl_handshake_response(const kp::sasl_handshake_request&)> on_handshake =
      [](const kp::sasl_handshake_request&) {
        kp::sasl_handshake_response r;
        r.mechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
        return r;
      };
  std::function<kp::sasl_authenticate_response(const std::string& token)> on_authenticate;

  std::vector<kp::request_header> headers;
  std::vector<std::string> tokens;      ///< auth_bytes of each SaslAuthenticate
  std::vector<std::string> mechanisms;  ///< of each SaslHandshake

  frame_exchange exchange() {
    return [this](std::string_view frame) -> result<std::string> {
      EXPECT_GE(frame.size(), 4u);
      auto size = (static_cast<uint32_t>(static_cast<uint8_t>(frame[0])) << 24) |
                  (static_cast<uint32_t>(static_cast<uint8_t>(frame[1])) << 16) |
                  (static_cast<uint32_t>(static_cast<uint8_t>(frame[2])) << 8) |
                  static_cast<uint32_t>(static_cast<uint8_t>(frame[3]));
      EXPECT_EQ(size, frame.size() - 4);
      auto req = kp::decode_request(std::as_bytes(std::span(frame.substr(4))));
      EXPECT_TRUE(req.has_value());
      if (!req)
        return strom::error(std::make_error_code(std::errc::protocol_error), "undecodable");
      headers.push_back(req->header);
      const auto& h = req->header;
      if (const auto* hs = std::get_if<kp::sasl_handshake_request>(&req->body)) {
        mechanisms.push_back(hs->mechanism);
        return answer(h.correlation_id, h.version, on_handshake(*hs));
      }
      const auto& auth = std::get<kp::sasl_authenticate_request>(req->body);
      tokens.push_back(text_of(auth.auth_bytes));
      return answer(h.correlation_id, h.version, on_authenticate(tokens.back()));
    };
  }
};

kp::sasl_authenticate_response accepted(std::string_view auth_bytes = {}) {
  kp::sasl_authenticate_response r;
  r.auth_bytes = bytes_of(auth_bytes);
  return r;
}

kp::sasl_authenticate_response refused(std::string message) {
  kp::sasl_authenticate_response r;
  r.error_code = kp::error_code::sasl_authentication_failed;
  r.error_message = std::move(message);
  return r;
}

TEST(SaslPlain, TokenIsUserAndPasswordWithoutAuthzid) {
  auto token = sasl_plain_token("alice", "s3cret");
  EXPECT_EQ(token, std::string("\0alice\0s3cret", 13));
  auto parsed = sec::parse_plain(token);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->authzid, "");
  EXPECT_EQ(parsed->user, "alice");
  EXPECT_EQ(parsed->password, "s3cret");
}

TEST(SaslPlain, HandshakeThenOneAuthenticateOfVersionOne) {
  scripted_broker broker;
  broker.on_authenticate = [](const std::string&) { return accepted(); };
  auto s = sasl_authenticate(broker.exchange(), {"PLAIN", "alice", "s3cret"}, "b1:9092");
  ASSERT_TRUE(s) << s.error().detail();
  EXPECT_EQ(broker.mechanisms, std::vector<std::string>{"PLAIN"});
  EXPECT_EQ(broker.tokens, std::vector<std::string>{sasl_plain_token("alice", "s3cret")});
  ASSERT_EQ(broker.headers.size(), 2u);
  EXPECT_EQ(broker.headers[0].key, kp::api_key::sasl_handshake);
  EXPECT_EQ(broker.headers[1].key, kp::api_key::sasl_authenticate);
  for (const auto& h : broker.headers) {
    EXPECT_EQ(h.version, 1);
    EXPECT_EQ(h.client_id, "stromctl");
  }
  EXPECT_NE(broker.headers[0].correlation_id, broker.headers[1].correlation_id);
}

TEST(SaslPlain, RefusalNamesTheBrokerAndCarriesItsMessage) {
  scripted_broker broker;
  broker.on_authenticate = [](const std::string&) {
    return refused("Authentication failed: Invalid username or password");
  };
  auto s = sasl_authenticate(broker.exchange(), {"PLAIN", "alice", "s3cret"}, "b1:9092");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail(),
            "broker b1:9092 refused SASL authentication as alice: SASL_AUTHENTICATION_FAILED: "
            "Authentication failed: Invalid username or password");
}

TEST(SaslHandshake, MechanismTheBrokerDoesNotOfferIsRefusedBeforeAnyToken) {
  scripted_broker broker;
  broker.on_handshake = [](const kp::sasl_handshake_request&) {
    kp::sasl_handshake_response r;
    r.error_code = kp::error_code::unsupported_sasl_mechanism;
    r.mechanisms = {"PLAIN", "SCRAM-SHA-256"};
    return r;
  };
  auto s = sasl_authenticate(broker.exchange(), {"SCRAM-SHA-512", "alice", "pw"}, "b2:9093");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail(),
            "broker b2:9093 refused SASL mechanism SCRAM-SHA-512: UNSUPPORTED_SASL_MECHANISM (it "
            "offers PLAIN, SCRAM-SHA-256)");
  EXPECT_TRUE(broker.tokens.empty());
}

TEST(SaslHandshake, ListenerWithoutSaslIsNamedAsTheLikelyCause) {
  scripted_broker broker;
  broker.on_handshake = [](const kp::sasl_handshake_request&) {
    kp::sasl_handshake_response r;
    r.error_code = kp::error_code::illegal_sasl_state;
    r.mechanisms = {"PLAIN"};
    return r;
  };
  auto s = sasl_authenticate(broker.exchange(), {"PLAIN", "alice", "pw"}, "b1:9092");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail(),
            "broker b1:9092 refused the SASL handshake: ILLEGAL_SASL_STATE (a listener without "
            "SASL? check security.protocol and the port)");
  EXPECT_TRUE(broker.tokens.empty());
}

TEST(SaslHandshake, BrokenTransportAndMalformedAnswersNameTheBroker) {
  frame_exchange broken = [](std::string_view) -> result<std::string> {
    return strom::error(std::make_error_code(std::errc::connection_reset),
                        "the connection was closed before a whole answer arrived");
  };
  auto s = sasl_authenticate(broken, {"PLAIN", "alice", "pw"}, "b1:9092");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail(),
            "SASL authentication at broker b1:9092: the connection was closed before a whole "
            "answer arrived");

  frame_exchange garbage = [](std::string_view) -> result<std::string> {
    return std::string("\0\0", 2);
  };
  s = sasl_authenticate(garbage, {"PLAIN", "alice", "pw"}, "b1:9092");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail(), "broker b1:9092: the SaslHandshake answer is malformed");
}

/// A broker that authenticates with the security module's SCRAM server, for a user `alice`
/// whose credential was made from `password` with `iterations`.
struct scram_broker : scripted_broker {
  scram_broker(sec::scram_mechanism m, std::string password, int32_t iterations = 4096)
      : server(
            m,
            [m, password,
             iterations](const std::string& user) -> std::optional<sec::scram_credential> {
              if (user != "alice")
                return std::nullopt;
              return sec::make_credential(m, password, "0123456789abcdef", iterations);
            },
            "server-nonce") {
    on_authenticate = [this](const std::string& token) {
      auto step = server.next(token);
      if (step.failed)
        return refused(step.error);
      return accepted(step.response);
    };
  }
  sec::scram_server server;
};

TEST(SaslScram, BothMechanismsAuthenticateAndTheServerProvesItself) {
  for (auto m : {sec::scram_mechanism::sha256, sec::scram_mechanism::sha512}) {
    std::string name(sec::mechanism_name(m));
    SCOPED_TRACE(name);
    scram_broker broker(m, "s3cret");
    auto s =
        sasl_authenticate(broker.exchange(), {name, "alice", "s3cret"}, "b1:9092", "client-nonce");
    ASSERT_TRUE(s) << s.error().detail();
    EXPECT_EQ(broker.mechanisms, std::vector<std::string>{name});
    ASSERT_EQ(broker.tokens.size(), 2u);
    EXPECT_EQ(broker.tokens[0], "n,,n=alice,r=client-nonce");
    EXPECT_TRUE(broker.tokens[1].starts_with("c=biws,r=client-nonceserver-nonce,p="))
        << broker.tokens[1];
    EXPECT_EQ(broker.server.user(), "alice");
    ASSERT_EQ(broker.headers.size(), 3u);
    EXPECT_EQ(broker.headers[2].version, 1);
  }
}

TEST(SaslScram, WrongPasswordCarriesTheBrokersMessage) {
  scram_broker broker(sec::scram_mechanism::sha256, "s3cret");
  auto s = sasl_authenticate(broker.exchange(), {"SCRAM-SHA-256", "alice", "wrong-pw"}, "b1:9092");
  ASSERT_FALSE(s);
  const auto& e = s.error().detail();
  EXPECT_TRUE(e.starts_with(
      "broker b1:9092 refused SASL authentication as alice: SASL_AUTHENTICATION_FAILED"))
      << e;
  EXPECT_EQ(e.find("wrong-pw"), std::string::npos) << e;
}

TEST(SaslScram, ServerThatDoesNotKnowTheCredentialIsNotTrusted) {
  // The broker accepts the proof but answers with a signature it could make without the
  // credential.
  scram_broker broker(sec::scram_mechanism::sha256, "s3cret");
  broker.on_authenticate = [&broker](const std::string& token) {
    auto step = broker.server.next(token);
    EXPECT_FALSE(step.failed);
    return accepted(step.done ? "v=" + sec::base64_encode(std::string(32, 'x')) : step.response);
  };
  auto s = sasl_authenticate(broker.exchange(), {"SCRAM-SHA-256", "alice", "s3cret"}, "b1:9092",
                             "client-nonce");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail().find("without proving that it knows the credential"),
            std::string::npos)
      << s.error().detail();
}

TEST(SaslScram, TooFewIterationsAreNotAnswered) {
  scram_broker broker(sec::scram_mechanism::sha512, "s3cret", 1024);
  auto s = sasl_authenticate(broker.exchange(), {"SCRAM-SHA-512", "alice", "s3cret"}, "b1:9092");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail().find("fewer than 4096 iterations"), std::string::npos)
      << s.error().detail();
  EXPECT_EQ(broker.tokens.size(), 1u);  // no proof was sent
}

TEST(WireConnections, RefusedSettingsFailBeforeConnecting) {
  configure_wire({{"security.protocol", "SASL_SSL"}, {"ssl.certificate.location", "me.pem"}});
  // Port 1 on loopback refuses connections; the settings are reported instead.
  auto c = connect_any({{"127.0.0.1", 1}}, 1000);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail().find("sasl.mechanism"), std::string::npos) << c.error().detail();
  configure_wire({{"security.protocol", "SSL"}, {"ssl.certificate.location", "me.pem"}});
  auto b = connect_broker({"127.0.0.1", 1}, 1000);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().detail(), "ssl.certificate.location needs ssl.key.location");
  // A reachability check does not authenticate.
  auto u = connect_any_unauthenticated({{"127.0.0.1", 1}}, 1000);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().detail().find("127.0.0.1:1"), std::string::npos);
  configure_wire({});
  auto plain = connect_any({{"127.0.0.1", 1}}, 1000);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().detail().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace strom::ctl
