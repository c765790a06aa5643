// SASL authentication on a Kafka listener: SaslHandshake v0-1, SaslAuthenticate v0-2 and the
// bare tokens that follow a v0 handshake (KIP-43, KIP-152), with re-authentication (KIP-368).
#include "kafka/server/sasl.h"

#include <algorithm>
#include <any>

#include <fmt/format.h>

#include "strom/base/logging.h"

namespace strom::kafka::server {

namespace {
spdlog::logger& lg() {
  return logging::get("kafka");
}
using clock_type = std::chrono::steady_clock;
using protocol::api_key;
using protocol::error_code;

bool is_sasl_api(api_key key) {
  return key == api_key::api_versions || key == api_key::sasl_handshake ||
         key == api_key::sasl_authenticate;
}

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::vector<std::byte> as_bytes(std::string_view s) {
  auto b = std::as_bytes(std::span(s));
  return {b.begin(), b.end()};
}

/// The bytes of a bare token frame (the connection adds the size prefix).
net::handler_result raw_frame(std::string_view token) {
  net::out_frame f;
  if (!token.empty()) {
    net::out_chunk chunk;
    chunk.bytes = as_bytes(token);
    f.chunks.push_back(std::move(chunk));
  }
  return {net::disposition::respond, std::move(f)};
}
}  // namespace

sasl_session& session_of(const net::connection_info& who) {
  auto& slot = *who.session;
  if (!slot.has_value())
    slot = std::make_shared<sasl_session>();
  return *std::any_cast<std::shared_ptr<sasl_session>&>(slot);
}

std::string request_context::principal() const {
  if (who.session && who.session->has_value()) {
    if (const auto& s = session_of(who); s.user)
      return s.principal();
  }
  if (who.tls_subject)
    return "User:" + *who.tls_subject;  // a client certificate, where SASL named nobody
  return "User:ANONYMOUS";
}

bool sasl_authenticator::admits(const sasl_session& s, api_key key) const {
  if (!auth_.sasl || is_sasl_api(key))
    return true;
  return s.user.has_value() && clock_type::now() < s.expires;
}

std::optional<security::scram_credential> sasl_authenticator::lookup(
    const std::string& user, security::scram_mechanism m) const {
  if (auth_.bootstrap_user && auth_.bootstrap_user->first == user &&
      auth_.bootstrap_user->second.mechanism == m)
    return auth_.bootstrap_user->second;
  auto state = frontend_.security();
  if (const auto* k = state->credential(user, m))
    return *k;
  return std::nullopt;
}

net::handler_result sasl_authenticator::handshake(const request_context& c, sasl_session& s,
                                                  const protocol::sasl_handshake_request& r) {
  protocol::sasl_handshake_response out;
  out.mechanisms = auth_.mechanisms;
  if (!auth_.sasl || s.at != sasl_session::stage::start) {
    // SASL on a listener without it, or a second handshake before the first one finished.
    out.error_code = error_code::illegal_sasl_state;
    auto res = respond(c, out);
    res.what = net::disposition::respond_then_close;
    return res;
  }
  if (s.user && (c.version() < 1 || auth_.max_reauth.count() == 0)) {
    // Re-authentication needs SaslAuthenticate (v1) and a session lifetime to renew.
    out.error_code = error_code::illegal_sasl_state;
    auto res = respond(c, out);
    res.what = net::disposition::respond_then_close;
    return res;
  }
  if (std::find(auth_.mechanisms.begin(), auth_.mechanisms.end(), r.mechanism) ==
      auth_.mechanisms.end()) {
    out.error_code = error_code::unsupported_sasl_mechanism;
    note_failure(c.who, s, r.mechanism, "mechanism not enabled");
    auto res = respond(c, out);
    res.what = net::disposition::respond_then_close;
    return res;
  }
  s.mechanism = r.mechanism;
  s.scram.reset();
  if (auto m = security::parse_scram_mechanism(r.mechanism)) {
    s.scram = std::make_unique<security::scram_server>(
        *m, [this, m = *m](const std::string& user) { return lookup(user, m); });
  }
  s.at = c.version() == 0 ? sasl_session::stage::raw_tokens : sasl_session::stage::tokens;
  return respond(c, out);
}

sasl_authenticator::outcome sasl_authenticator::step(const net::connection_info& who,
                                                     sasl_session& s, std::string_view token) {
  outcome o;
  if (s.scram) {
    auto st = s.scram->next(token);
    o.response = std::move(st.response);
    o.failed = st.failed;
    if (st.failed) {
      o.error = fmt::format(
          "Authentication failed during authentication due to invalid credentials with SASL "
          "mechanism {}",
          s.mechanism);
      note_failure(who, s, s.mechanism, st.error);
    } else if (st.done) {
      o.done = true;
      o.failed = !note_success(who, s, s.scram->user());
      if (o.failed)
        o.error = "re-authentication must keep the session's user";
    }
    return o;
  }
  // PLAIN: checked against the user's SCRAM credentials (the strongest one it has).
  auto m = security::parse_plain(token);
  std::optional<security::scram_credential> k;
  if (m && (m->authzid.empty() || m->authzid == m->user)) {
    k = lookup(m->user, security::scram_mechanism::sha512);
    if (!k)
      k = lookup(m->user, security::scram_mechanism::sha256);
  }
  if (!m || !k || !security::password_matches(*k, m->password)) {
    o.failed = true;
    o.error = "Authentication failed: Invalid username or password";
    note_failure(who, s, "PLAIN", m ? "invalid username or password" : "malformed PLAIN message");
    return o;
  }
  o.done = true;
  o.failed = !note_success(who, s, m->user);
  if (o.failed)
    o.error = "re-authentication must keep the session's user";
  return o;
}

net::handler_result sasl_authenticator::authenticate(const request_context& c, sasl_session& s,
                                                     const protocol::sasl_authenticate_request& r) {
  protocol::sasl_authenticate_response out;
  if (!auth_.sasl || s.at != sasl_session::stage::tokens) {
    out.error_code = error_code::illegal_sasl_state;
    out.error_message = "SaslAuthenticate without a SaslHandshake v1 before it";
    auto res = respond(c, out);
    res.what = net::disposition::respond_then_close;
    return res;
  }
  auto o = step(c.who, s, as_text(r.auth_bytes));
  if (o.failed) {
    out.error_code = error_code::sasl_authentication_failed;
    out.error_message = o.error;
    // The RFC's "e=" reply is not sent: Kafka clients read the error code and message.
    auto res = respond(c, out);
    res.what = net::disposition::respond_then_close;
    return res;
  }
  out.auth_bytes = as_bytes(o.response);
  if (o.done && auth_.max_reauth.count() > 0)
    out.session_lifetime_ms = auth_.max_reauth.count();
  return respond(c, out);
}

net::handler_result sasl_authenticator::raw_token(const net::connection_info& who, sasl_session& s,
                                                  std::span<const std::byte> token) {
  auto o = step(who, s, as_text(token));
  if (o.failed)
    return close_connection();
  return raw_frame(o.response);
}

bool sasl_authenticator::note_success(const net::connection_info& who, sasl_session& s,
                                      std::string user) {
  s.at = sasl_session::stage::start;
  s.scram.reset();
  if (s.user && *s.user != user) {
    note_failure(who, s, s.mechanism, "re-authentication as another user");
    return false;
  }
  s.user = user;
  *who.max_frame_bytes = INT32_MAX;  // the listener's own limit from now on
  s.expires = auth_.max_reauth.count() > 0 ? clock_type::now() + auth_.max_reauth
                                           : clock_type::time_point::max();
  metrics_.authentications(true).Increment();
  lg().debug("{} ({}): authenticated as User:{} with {}", who.peer, who.listener, user,
             s.mechanism);
  if (auth_.audit)
    auth_.audit->record(
        {"authentication", "User:" + user, who.peer, s.mechanism, "", "success", ""});
  return true;
}

void sasl_authenticator::note_failure(const net::connection_info& who, sasl_session& s,
                                      std::string_view mechanism, std::string_view why) {
  s.at = sasl_session::stage::start;
  s.scram.reset();
  metrics_.authentications(false).Increment();
  STROM_LOG_LIMITED(lg(), warn, "{} ({}): authentication with {} failed: {}", who.peer,
                    who.listener, mechanism, why);
  if (auth_.audit)
    auth_.audit->record({"authentication", s.principal(), who.peer, std::string(mechanism), "",
                         "failure", std::string(why)});
}

}  // namespace strom::kafka::server
