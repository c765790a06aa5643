#include "strom/security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <climits>
#include <utility>
#include <vector>

#include "strom/base/assert.h"

namespace strom::security {

namespace {

/// Longest SCRAM message either side accepts. Kafka's own messages are well under 512 bytes;
/// the bound keeps a hostile peer from making the parser and the HMAC work on megabytes.
constexpr size_t max_message_bytes = 4096;

/// Refusals that must not tell an unknown user from a wrong password.
constexpr std::string_view authentication_failed = "authentication failed";

const EVP_MD* digest_of(scram_mechanism m) {
  return m == scram_mechanism::sha256 ? EVP_sha256() : EVP_sha512();
}

size_t digest_size(scram_mechanism m) {
  return static_cast<size_t>(EVP_MD_get_size(digest_of(m)));
}

const unsigned char* bytes(std::string_view s) {
  // OpenSSL treats a null pointer as "no input" in places even when the length is 0; an empty
  // view may well have one.
  static const unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

int int_length(std::string_view s) {
  STROM_ASSERT(s.size() <= static_cast<size_t>(INT_MAX), "input of {} bytes", s.size());
  return static_cast<int>(s.size());
}

std::string hmac(scram_mechanism m, std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int length = 0;
  auto* done = HMAC(digest_of(m), bytes(key), int_length(key), bytes(data), data.size(),
                    reinterpret_cast<unsigned char*>(out.data()), &length);
  STROM_ASSERT(done != nullptr, "HMAC failed");
  out.resize(length);
  return out;
}

std::string digest(scram_mechanism m, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int length = 0;
  int ok = EVP_Digest(bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                      &length, digest_of(m), nullptr);
  STROM_ASSERT(ok == 1, "digest failed");
  out.resize(length);
  return out;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

/// Compares secrets without an early exit, so that the time taken does not reveal how many
/// leading bytes of a guess were right. The sizes are public (they follow from the mechanism).
bool equal_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(bytes(a), bytes(b), a.size()) == 0;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  int ok = RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  STROM_ASSERT(ok == 1, "the random generator failed");
  return out;
}

std::string random_nonce() {
  return base64_encode(random_bytes(24));
}

struct derived_keys {
  std::string client_key, stored_key, server_key;
};

derived_keys keys_from_salted(scram_mechanism m, std::string_view salted) {
  derived_keys k;
  k.client_key = hmac(m, salted, "Client Key");
  k.stored_key = digest(m, k.client_key);
  k.server_key = hmac(m, salted, "Server Key");
  return k;
}

/// The ','-separated attributes of a SCRAM message, empty ones included.
std::vector<std::string_view> split_attributes(std::string_view message) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    auto comma = message.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(message.substr(start));
      return out;
    }
    out.push_back(message.substr(start, comma - start));
    start = comma + 1;
  }
}

/// The value of `attribute` when it is "<name>=value".
std::optional<std::string_view> value_of(std::string_view attribute, char name) {
  if (attribute.size() < 2 || attribute[0] != name || attribute[1] != '=')
    return std::nullopt;
  return attribute.substr(2);
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// A SaslName: ',' and '=' travel as "=2C" and "=3D", and any other use of '=' is invalid
/// (RFC 5802 section 5.1), as is an empty name.
std::optional<std::string> decode_sasl_name(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\0' || c == ',')
      return std::nullopt;
    if (c != '=') {
      out += c;
      continue;
    }
    auto escape = text.substr(i + 1, 2);
    if (escape == "2C")
      out += ',';
    else if (escape == "3D")
      out += '=';
    else
      return std::nullopt;
    i += 2;
  }
  return out;
}

std::string encode_sasl_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

/// RFC 5802's "printable": ASCII 0x21-0x7E except ','. The nonce is copied into the reply and
/// into the signed AuthMessage, where a ',' would change how the message splits.
bool is_printable_nonce(std::string_view nonce) {
  if (nonce.empty())
    return false;
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',')
      return false;
  }
  return true;
}

/// The attribute letters RFC 5802 defines. An extension reusing one (a second "r=", say) is
/// an attribute out of place, not an extension to ignore.
bool is_scram_attribute(std::string_view name) {
  return name.size() == 1 && std::string_view("acemnprsvi").find(name[0]) != std::string_view::npos;
}

struct extension {
  std::string_view name, value;
};

/// An extension attribute "name=value": the name letters only (Kafka's are words such as
/// "tokenauth", where the RFC has single letters), the value non-empty and without NUL.
std::optional<extension> parse_extension(std::string_view attribute) {
  auto eq = attribute.find('=');
  if (eq == 0 || eq == std::string_view::npos || eq + 1 == attribute.size())
    return std::nullopt;
  extension e{attribute.substr(0, eq), attribute.substr(eq + 1)};
  for (char c : e.name) {
    if (!is_alpha(c))
      return std::nullopt;
  }
  if (is_scram_attribute(e.name) || e.value.find('\0') != std::string_view::npos)
    return std::nullopt;
  return e;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> base64_values = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  for (size_t i = 0; i < base64_alphabet.size(); ++i)
    values[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<int8_t>(i);
  return values;
}();

}  // namespace

std::optional<scram_mechanism> parse_scram_mechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256")
    return scram_mechanism::sha256;
  if (name == "SCRAM-SHA-512")
    return scram_mechanism::sha512;
  return std::nullopt;
}

std::string_view mechanism_name(scram_mechanism m) {
  return m == scram_mechanism::sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::string salted_password(scram_mechanism m, std::string_view password, std::string_view salt,
                            int32_t iterations) {
  STROM_ASSERT(iterations >= 1, "iteration count {}", iterations);
  std::string out(digest_size(m), '\0');
  int ok =
      PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(bytes(password)), int_length(password),
                        bytes(salt), int_length(salt), iterations, digest_of(m),
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  STROM_ASSERT(ok == 1, "PBKDF2 failed");
  return out;
}

scram_credential make_credential(scram_mechanism m, std::string_view password,
                                 std::string_view salt, int32_t iterations) {
  std::string salt_bytes = salt.empty() ? random_bytes(32) : std::string(salt);
  auto salted = salted_password(m, password, salt_bytes, iterations);
  auto c = credential_from_salted_password(m, salted, salt_bytes, iterations);
  OPENSSL_cleanse(salted.data(), salted.size());
  return c;
}

scram_credential credential_from_salted_password(scram_mechanism m, std::string_view salted,
                                                 std::string_view salt, int32_t iterations) {
  auto keys = keys_from_salted(m, salted);
  OPENSSL_cleanse(keys.client_key.data(), keys.client_key.size());
  return scram_credential{.mechanism = m,
                          .salt = std::string(salt),
                          .iterations = iterations,
                          .stored_key = std::move(keys.stored_key),
                          .server_key = std::move(keys.server_key)};
}

bool password_matches(const scram_credential& c, std::string_view password) {
  auto size = digest_size(c.mechanism);
  if (c.iterations < 1 || c.stored_key.size() != size || c.server_key.size() != size ||
      password.size() > static_cast<size_t>(INT_MAX))
    return false;
  auto candidate = make_credential(c.mechanism, password, c.salt, c.iterations);
  // Both keys, without short-circuit: either alone decides, but the time must not depend on
  // which one differs.
  bool stored = equal_secret(candidate.stored_key, c.stored_key);
  bool server = equal_secret(candidate.server_key, c.server_key);
  return stored & server;
}

std::string base64_encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(raw[k])); };
  for (; i + 3 <= raw.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += base64_alphabet[(v >> 6) & 63];
    out += base64_alphabet[v & 63];
  }
  if (raw.size() - i == 1) {
    uint32_t v = at(i) << 16;
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (raw.size() - i == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += base64_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    // Padding only ends the text: "xx==" or "xxx=".
    size_t padding = 0;
    if (last && text[i + 3] == '=')
      padding = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t k = 0; k < 4 - padding; ++k) {
      auto d = base64_values[static_cast<unsigned char>(text[i + k])];
      if (d < 0)
        return std::nullopt;
      v |= static_cast<uint32_t>(d) << (18 - 6 * k);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (padding == 2) {
      if ((v & 0xffff) != 0)
        return std::nullopt;
      break;
    }
    out += static_cast<char>((v >> 8) & 0xff);
    if (padding == 1) {
      if ((v & 0xff) != 0)
        return std::nullopt;
      break;
    }
    out += static_cast<char>(v & 0xff);
  }
  return out;
}

std::optional<plain_message> parse_plain(std::string_view token) {
  constexpr size_t max_field = 255;
  auto first = token.find('\0');
  if (first == std::string_view::npos)
    return std::nullopt;
  auto second = token.find('\0', first + 1);
  if (second == std::string_view::npos || token.find('\0', second + 1) != std::string_view::npos)
    return std::nullopt;
  auto authzid = token.substr(0, first);
  auto user = token.substr(first + 1, second - first - 1);
  auto password = token.substr(second + 1);
  if (user.empty() || password.empty() || authzid.size() > max_field || user.size() > max_field ||
      password.size() > max_field)
    return std::nullopt;
  return plain_message{std::string(authzid), std::string(user), std::string(password)};
}

// ---------------------------------------------------------------------------------------------
// scram_server

scram_server::scram_server(scram_mechanism m, lookup_fn lookup, std::string nonce)
    : mechanism_(m),
      lookup_(std::move(lookup)),
      server_nonce_(nonce.empty() ? random_nonce() : std::move(nonce)) {}

scram_server::step scram_server::next(std::string_view client_message) {
  if (state_ == state::finished)
    return step{.response = {},
                .done = false,
                .failed = true,
                .error = "the SCRAM exchange is already over"};
  if (client_message.size() > max_message_bytes)
    return fail("SCRAM message too long");
  if (state_ == state::initial)
    return on_client_first(client_message);
  return on_client_final(client_message);
}

scram_server::step scram_server::fail(std::string error, std::string response) {
  state_ = state::finished;
  OPENSSL_cleanse(credential_.stored_key.data(), credential_.stored_key.size());
  OPENSSL_cleanse(credential_.server_key.data(), credential_.server_key.size());
  credential_ = {};
  return step{
      .response = std::move(response), .done = false, .failed = true, .error = std::move(error)};
}

scram_server::step scram_server::on_client_first(std::string_view message) {
  // gs2-header: the channel binding flag, then an optional authzid, each followed by ','.
  if (message.starts_with("p="))
    return fail("SCRAM channel binding is not supported");
  if (message.size() < 2 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
    return fail("invalid SCRAM client-first message");
  auto authz_end = message.find(',', 2);
  if (authz_end == std::string_view::npos)
    return fail("invalid SCRAM client-first message");
  std::optional<std::string> authzid;
  if (authz_end > 2) {
    auto value = value_of(message.substr(2, authz_end - 2), 'a');
    if (!value)
      return fail("invalid SCRAM client-first message");
    authzid = decode_sasl_name(*value);
    if (!authzid)
      return fail("invalid SCRAM authorization id encoding");
  }
  gs2_header_ = std::string(message.substr(0, authz_end + 1));
  auto bare = message.substr(authz_end + 1);

  auto attributes = split_attributes(bare);
  if (value_of(attributes[0], 'm'))
    return fail("mandatory SCRAM extensions are not supported");
  if (attributes.size() < 2)
    return fail("invalid SCRAM client-first message");
  auto name = value_of(attributes[0], 'n');
  auto client_nonce = value_of(attributes[1], 'r');
  if (!name || !client_nonce)
    return fail("invalid SCRAM client-first message");
  auto user = decode_sasl_name(*name);
  if (!user)
    return fail("invalid SCRAM user name encoding");
  if (authzid && *authzid != *user)
    return fail("the SCRAM authorization id differs from the user name");
  if (!is_printable_nonce(*client_nonce))
    return fail("invalid SCRAM client nonce");
  for (size_t i = 2; i < attributes.size(); ++i) {
    auto e = parse_extension(attributes[i]);
    if (!e)
      return fail("invalid SCRAM extension");
    // Kafka authenticates delegation tokens through SCRAM with this extension; Strom has no
    // delegation tokens, and treating the token id as a user name would be wrong.
    if (e->name == "tokenauth" && equals_ignoring_case(e->value, "true"))
      return fail("SCRAM delegation tokens are not supported");
  }

  auto credential = lookup_(*user);
  auto size = digest_size(mechanism_);
  if (!credential || credential->mechanism != mechanism_ || credential->iterations < 1 ||
      credential->stored_key.size() != size || credential->server_key.size() != size)
    return fail(std::string(authentication_failed));

  user_ = std::move(*user);
  credential_ = std::move(*credential);
  client_first_bare_ = std::string(bare);
  client_nonce_ = std::string(*client_nonce);
  nonce_ = client_nonce_ + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential_.salt) +
                  ",i=" + std::to_string(credential_.iterations);
  state_ = state::sent_first;
  return step{.response = server_first_, .done = false, .failed = false, .error = {}};
}

scram_server::step scram_server::on_client_final(std::string_view message) {
  // c=channel-binding,r=nonce[,extensions],p=proof; the proof is last because the signed
  // AuthMessage holds everything before it.
  auto attributes = split_attributes(message);
  if (attributes.size() < 3)
    return fail("invalid SCRAM client-final message", "e=invalid-encoding");
  auto binding = value_of(attributes[0], 'c');
  auto nonce = value_of(attributes[1], 'r');
  auto proof_text = value_of(attributes.back(), 'p');
  if (!binding || !nonce || !proof_text)
    return fail("invalid SCRAM client-final message", "e=invalid-encoding");
  for (size_t i = 2; i + 1 < attributes.size(); ++i) {
    if (!parse_extension(attributes[i]))
      return fail("invalid SCRAM extension", "e=invalid-encoding");
  }
  auto header = base64_decode(*binding);
  if (!header)
    return fail("invalid SCRAM channel binding encoding", "e=invalid-encoding");
  if (*header != gs2_header_)
    return fail("the SCRAM channel binding differs from the gs2 header",
                "e=channel-bindings-dont-match");
  // librdkafka before 2.6.1 (Debian 12's 2.0.2 among them) repeats its own nonce in front of
  // the combined one; Kafka before 4.0 accepted any prefix. That one form is accepted too: the
  // server's nonce still ends it, so the proof is bound to this exchange all the same.
  if (*nonce != nonce_ && *nonce != client_nonce_ + nonce_)
    return fail("the SCRAM nonce differs from the one of this exchange", "e=other-error");
  auto proof = base64_decode(*proof_text);
  if (!proof || proof->size() != digest_size(mechanism_))
    return fail("invalid SCRAM proof encoding", "e=invalid-encoding");

  auto without_proof = message.substr(0, message.size() - attributes.back().size() - 1);
  std::string auth_message = client_first_bare_;
  auth_message += ',';
  auth_message += server_first_;
  auth_message += ',';
  auth_message += without_proof;

  // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the client knew the password
  // (or the salted password) when H(ClientKey) is the stored key.
  auto client_signature = hmac(mechanism_, credential_.stored_key, auth_message);
  auto client_key = xor_bytes(*proof, client_signature);
  bool valid = equal_secret(digest(mechanism_, client_key), credential_.stored_key);
  OPENSSL_cleanse(client_key.data(), client_key.size());
  if (!valid)
    return fail(std::string(authentication_failed), "e=invalid-proof");

  auto server_signature = hmac(mechanism_, credential_.server_key, auth_message);
  authenticated_user_ = user_;
  state_ = state::finished;
  OPENSSL_cleanse(credential_.stored_key.data(), credential_.stored_key.size());
  OPENSSL_cleanse(credential_.server_key.data(), credential_.server_key.size());
  credential_ = {};
  return step{.response = "v=" + base64_encode(server_signature),
              .done = true,
              .failed = false,
              .error = {}};
}

// ---------------------------------------------------------------------------------------------
// scram_client

scram_client::scram_client(scram_mechanism m, std::string user, std::string password,
                           std::string nonce)
    : mechanism_(m),
      user_(std::move(user)),
      password_(std::move(password)),
      nonce_(nonce.empty() ? random_nonce() : std::move(nonce)) {
  client_first_bare_ = "n=" + encode_sasl_name(user_) + ",r=" + nonce_;
}

std::string scram_client::first() {
  return "n,," + client_first_bare_;
}

std::optional<std::string> scram_client::final(std::string_view server_first) {
  expected_server_signature_.clear();
  if (server_first.size() > max_message_bytes)
    return std::nullopt;
  // r=nonce,s=salt,i=iterations[,extensions]; a leading m= (mandatory extension) fails the
  // r= check.
  auto attributes = split_attributes(server_first);
  if (attributes.size() < 3)
    return std::nullopt;
  auto nonce = value_of(attributes[0], 'r');
  auto salt_text = value_of(attributes[1], 's');
  auto iterations_text = value_of(attributes[2], 'i');
  if (!nonce || !salt_text || !iterations_text)
    return std::nullopt;
  // The server extends our nonce; a server echoing it alone, or another one, may be replaying
  // an old exchange.
  if (!is_printable_nonce(*nonce) || nonce->size() <= nonce_.size() || !nonce->starts_with(nonce_))
    return std::nullopt;
  auto salt = base64_decode(*salt_text);
  if (!salt || salt->empty())
    return std::nullopt;
  int32_t iterations = 0;
  auto [end, ec] = std::from_chars(iterations_text->data(),
                                   iterations_text->data() + iterations_text->size(), iterations);
  if (ec != std::errc() || end != iterations_text->data() + iterations_text->size() ||
      iterations < min_iterations)
    return std::nullopt;
  for (size_t i = 3; i < attributes.size(); ++i) {
    if (!parse_extension(attributes[i]))
      return std::nullopt;
  }

  auto salted = salted_password(mechanism_, password_, *salt, iterations);
  auto keys = keys_from_salted(mechanism_, salted);
  std::string without_proof = "c=" + base64_encode("n,,") + ",r=" + std::string(*nonce);
  std::string auth_message = client_first_bare_;
  auth_message += ',';
  auth_message += server_first;
  auth_message += ',';
  auth_message += without_proof;
  auto proof = xor_bytes(keys.client_key, hmac(mechanism_, keys.stored_key, auth_message));
  expected_server_signature_ = hmac(mechanism_, keys.server_key, auth_message);
  OPENSSL_cleanse(salted.data(), salted.size());
  OPENSSL_cleanse(keys.client_key.data(), keys.client_key.size());
  return without_proof + ",p=" + base64_encode(proof);
}

bool scram_client::verify(std::string_view server_final) {
  if (expected_server_signature_.empty() || server_final.size() > max_message_bytes)
    return false;
  auto attributes = split_attributes(server_final);
  auto signature_text = value_of(attributes[0], 'v');
  if (!signature_text)
    return false;
  auto signature = base64_decode(*signature_text);
  return signature && equal_secret(*signature, expected_server_signature_);
}

}  // namespace strom::security
