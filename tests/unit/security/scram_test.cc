// SASL credentials: the SCRAM exchange against RFC 7677's published vector and against a
// reference computed here from OpenSSL's primitives, every refusal the server owes a hostile or
// broken client, the client's checks of the server, PLAIN messages and strict base64.
#include "strom/security/scram.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strom::security {
namespace {

// RFC 7677 section 3.
constexpr std::string_view rfc_client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

constexpr std::string_view test_salt = "sixteen byte slt";

const EVP_MD* md_of(scram_mechanism m) {
  return m == scram_mechanism::sha256 ? EVP_sha256() : EVP_sha512();
}

// Reference primitives straight from OpenSSL, to check the module against something it does
// not share code with.
std::string reference_hi(scram_mechanism m, std::string_view password, std::string_view salt,
                         int iterations) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(md_of(m))), '\0');
  EXPECT_EQ(
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, md_of(m),
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())),
      1);
  return out;
}

std::string reference_hmac(scram_mechanism m, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md_of(m), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string reference_hash(scram_mechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, md_of(m), nullptr);
  return std::string(reinterpret_cast<char*>(out), length);
}

/// A client-final-message built by hand, for what scram_client never sends: another gs2
/// header, extensions.
std::string reference_final(scram_mechanism m, std::string_view password, std::string_view salt,
                            int iterations, std::string_view gs2_header,
                            std::string_view client_first_bare, std::string_view server_first,
                            std::string_view extensions = {}, std::string_view nonce_prefix = {}) {
  auto nonce = server_first.substr(2, server_first.find(',') - 2);
  std::string without_proof =
      "c=" + base64_encode(gs2_header) + ",r=" + std::string(nonce_prefix) + std::string(nonce);
  without_proof += extensions;
  std::string auth =
      std::string(client_first_bare) + "," + std::string(server_first) + "," + without_proof;
  auto salted = reference_hi(m, password, salt, iterations);
  auto client_key = reference_hmac(m, salted, "Client Key");
  auto signature = reference_hmac(m, reference_hash(m, client_key), auth);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i)
    proof[i] = static_cast<char>(proof[i] ^ signature[i]);
  return without_proof + ",p=" + base64_encode(proof);
}

/// The server's user table; records which names it was asked for.
struct user_table {
  std::map<std::string, scram_credential> credentials;
  std::vector<std::string> asked;

  void add(scram_mechanism m, const std::string& user, std::string_view password) {
    credentials[user] = make_credential(m, password, test_salt, min_iterations);
  }
  scram_server::lookup_fn lookup() {
    return [this](const std::string& user) -> std::optional<scram_credential> {
      asked.push_back(user);
      auto it = credentials.find(user);
      if (it == credentials.end())
        return std::nullopt;
      return it->second;
    };
  }
};

/// Replaces the attribute `name` of a SCRAM message by `name=value`.
std::string with_attribute(std::string_view message, char name, std::string_view value) {
  std::string out;
  size_t start = 0;
  while (start <= message.size()) {
    auto comma = message.find(',', start);
    if (comma == std::string_view::npos)
      comma = message.size();
    auto attribute = message.substr(start, comma - start);
    if (!out.empty())
      out += ',';
    if (attribute.size() >= 2 && attribute[0] == name && attribute[1] == '=')
      out += std::string(1, name) + "=" + std::string(value);
    else
      out += attribute;
    start = comma + 1;
  }
  return out;
}

std::string proof_of(std::string_view client_final) {
  return std::string(client_final.substr(client_final.rfind(",p=") + 3));
}

// ---------------------------------------------------------------------------------------------

TEST(scram, rfc7677_vector_byte_for_byte_on_both_sides) {
  auto salt = base64_decode(rfc_salt);
  ASSERT_TRUE(salt);
  user_table users;
  users.credentials["user"] = make_credential(scram_mechanism::sha256, "pencil", *salt, 4096);
  scram_server server(scram_mechanism::sha256, users.lookup(), std::string(rfc_server_nonce));
  scram_client client(scram_mechanism::sha256, "user", "pencil", std::string(rfc_client_nonce));

  auto client_first = client.first();
  EXPECT_EQ(client_first, rfc_client_first);
  auto first = server.next(client_first);
  EXPECT_FALSE(first.failed) << first.error;
  EXPECT_FALSE(first.done);
  EXPECT_EQ(first.response, rfc_server_first);
  EXPECT_EQ(users.asked, std::vector<std::string>{"user"});

  auto client_final = client.final(first.response);
  ASSERT_TRUE(client_final);
  EXPECT_EQ(*client_final, rfc_client_final);
  auto last = server.next(*client_final);
  EXPECT_TRUE(last.done) << last.error;
  EXPECT_FALSE(last.failed);
  EXPECT_EQ(last.response, rfc_server_final);
  EXPECT_EQ(server.user(), "user");
  EXPECT_TRUE(client.verify(last.response));
}

TEST(scram, server_alone_answers_the_rfc_client_messages) {
  user_table users;
  users.credentials["user"] =
      make_credential(scram_mechanism::sha256, "pencil", *base64_decode(rfc_salt), 4096);
  scram_server server(scram_mechanism::sha256, users.lookup(), std::string(rfc_server_nonce));
  EXPECT_EQ(server.next(rfc_client_first).response, rfc_server_first);
  auto last = server.next(rfc_client_final);
  EXPECT_TRUE(last.done);
  EXPECT_EQ(last.response, rfc_server_final);
}

TEST(scram, sha512_round_trip_with_random_nonces) {
  user_table users;
  users.add(scram_mechanism::sha512, "alice", "s3cret");
  EXPECT_EQ(users.credentials["alice"].stored_key.size(), 64u);
  EXPECT_EQ(users.credentials["alice"].server_key.size(), 64u);
  scram_server server(scram_mechanism::sha512, users.lookup());
  scram_client client(scram_mechanism::sha512, "alice", "s3cret");
  auto first = server.next(client.first());
  ASSERT_FALSE(first.failed) << first.error;
  // The random server nonce part: 24 bytes in base64.
  auto nonce = first.response.substr(2, first.response.find(',') - 2);
  auto client_nonce = client.first().substr(client.first().find(",r=") + 3);
  EXPECT_EQ(client_nonce.size(), 32u);
  EXPECT_EQ(nonce.size(), client_nonce.size() + 32);
  auto final_message = client.final(first.response);
  ASSERT_TRUE(final_message);
  auto last = server.next(*final_message);
  EXPECT_TRUE(last.done) << last.error;
  EXPECT_EQ(server.user(), "alice");
  EXPECT_TRUE(client.verify(last.response));
  // Each exchange draws its own nonces.
  EXPECT_NE(scram_client(scram_mechanism::sha512, "a", "b").first(),
            scram_client(scram_mechanism::sha512, "a", "b").first());
}

TEST(scram, reference_client_final_is_what_scram_client_sends) {
  user_table users;
  users.add(scram_mechanism::sha512, "alice", "s3cret");
  scram_server server(scram_mechanism::sha512, users.lookup(), "srv");
  scram_client client(scram_mechanism::sha512, "alice", "s3cret", "cli");
  auto first = server.next(client.first());
  EXPECT_EQ(*client.final(first.response),
            reference_final(scram_mechanism::sha512, "s3cret", test_salt, min_iterations, "n,,",
                            "n=alice,r=cli", first.response));
}

// librdkafka before 2.6.1 sends r=<client nonce><client nonce><server nonce>; that one form is
// accepted, any other prefix is not.
TEST(scram, the_client_nonce_repeated_in_front_is_accepted_nothing_else) {
  for (auto [prefix, accepted] : {std::pair<std::string_view, bool>{"cli", true},
                                  {"clx", false},
                                  {"c", false},
                                  {"clicli", false}}) {
    user_table users;
    users.add(scram_mechanism::sha256, "alice", "s3cret");
    scram_server server(scram_mechanism::sha256, users.lookup(), "srv");
    auto first = server.next("n,,n=alice,r=cli");
    ASSERT_FALSE(first.failed);
    auto last =
        server.next(reference_final(scram_mechanism::sha256, "s3cret", test_salt, min_iterations,
                                    "n,,", "n=alice,r=cli", first.response, {}, prefix));
    EXPECT_EQ(last.done, accepted) << prefix << ": " << last.error;
    EXPECT_EQ(last.failed, !accepted) << prefix;
  }
}

TEST(scram, wrong_password_fails_at_the_final_message) {
  user_table users;
  users.add(scram_mechanism::sha256, "alice", "right");
  scram_server server(scram_mechanism::sha256, users.lookup());
  scram_client client(scram_mechanism::sha256, "alice", "wrong");
  auto first = server.next(client.first());
  ASSERT_FALSE(first.failed);
  auto last = server.next(*client.final(first.response));
  EXPECT_TRUE(last.failed);
  EXPECT_FALSE(last.done);
  EXPECT_EQ(last.response, "e=invalid-proof");
  EXPECT_EQ(last.error, "authentication failed");
  EXPECT_EQ(server.user(), "");
  EXPECT_FALSE(client.verify(last.response));
}

TEST(scram, unknown_user_fails_at_the_first_message_with_the_wrong_password_text) {
  user_table users;
  users.add(scram_mechanism::sha256, "alice", "right");
  scram_server wrong_password(scram_mechanism::sha256, users.lookup());
  scram_client client(scram_mechanism::sha256, "alice", "wrong");
  auto refused = wrong_password.next(*client.final(wrong_password.next(client.first()).response));
  ASSERT_TRUE(refused.failed);

  scram_server server(scram_mechanism::sha256, users.lookup());
  auto first = server.next(scram_client(scram_mechanism::sha256, "ghost", "x").first());
  EXPECT_TRUE(first.failed);
  EXPECT_FALSE(first.done);
  EXPECT_EQ(first.response, "");
  EXPECT_EQ(first.error, refused.error);
  EXPECT_EQ(users.asked.back(), "ghost");
  EXPECT_EQ(server.user(), "");
}

TEST(scram, credential_of_another_mechanism_or_corrupt_is_refused_like_an_unknown_user) {
  user_table users;
  users.add(scram_mechanism::sha512, "alice", "pw");
  scram_server server(scram_mechanism::sha256, users.lookup());
  auto first = server.next(scram_client(scram_mechanism::sha256, "alice", "pw").first());
  EXPECT_TRUE(first.failed);
  EXPECT_EQ(first.error, "authentication failed");

  users.add(scram_mechanism::sha256, "bob", "pw");
  users.credentials["bob"].stored_key.pop_back();
  scram_server truncated(scram_mechanism::sha256, users.lookup());
  first = truncated.next(scram_client(scram_mechanism::sha256, "bob", "pw").first());
  EXPECT_TRUE(first.failed);
  EXPECT_EQ(first.error, "authentication failed");
}

/// Runs the exchange of `user`/`password` to the server's first reply and hands `tamper` the
/// client-final-message the honest client would send; returns the server's answer to what
/// `tamper` made of it.
template <typename F>
scram_server::step final_step_after(F tamper) {
  user_table users;
  users.add(scram_mechanism::sha256, "alice", "pw");
  scram_server server(scram_mechanism::sha256, users.lookup(), "srv");
  scram_client client(scram_mechanism::sha256, "alice", "pw", "cli");
  auto first = server.next(client.first());
  EXPECT_FALSE(first.failed);
  auto honest = client.final(first.response);
  EXPECT_TRUE(honest);
  return server.next(tamper(*honest));
}

TEST(scram, untampered_final_is_accepted) {
  auto step = final_step_after([](std::string m) { return m; });
  EXPECT_TRUE(step.done) << step.error;
}

TEST(scram, tampered_channel_binding_is_refused) {
  // "y,," instead of the "n,," the client sent.
  auto step = final_step_after([](std::string m) { return with_attribute(m, 'c', "eSws"); });
  EXPECT_TRUE(step.failed);
  EXPECT_EQ(step.response, "e=channel-bindings-dont-match");
  step = final_step_after([](std::string m) { return with_attribute(m, 'c', ""); });
  EXPECT_TRUE(step.failed);
  EXPECT_FALSE(step.done);
}

TEST(scram, tampered_nonce_is_refused) {
  for (std::string_view nonce : {"clisrvX", "cli", "clisr", "Xclisrv", ""}) {
    auto step = final_step_after([&](std::string m) { return with_attribute(m, 'r', nonce); });
    EXPECT_TRUE(step.failed) << nonce;
    EXPECT_FALSE(step.done) << nonce;
  }
  auto step = final_step_after([](std::string m) { return with_attribute(m, 'r', "clisrX"); });
  EXPECT_EQ(step.response, "e=other-error");
}

TEST(scram, tampered_proof_is_refused) {
  for (size_t byte : {0u, 17u, 31u}) {
    auto step = final_step_after([&](std::string m) {
      auto proof = *base64_decode(proof_of(m));
      proof[byte] = static_cast<char>(proof[byte] ^ 1);
      return with_attribute(m, 'p', base64_encode(proof));
    });
    EXPECT_TRUE(step.failed);
    EXPECT_EQ(step.response, "e=invalid-proof");
    EXPECT_EQ(step.error, "authentication failed");
  }
}

TEST(scram, malformed_base64_in_the_final_message_is_refused) {
  auto replace = [](char name, std::string value) {
    return final_step_after([&](std::string m) { return with_attribute(m, name, value); });
  };
  for (const auto& step : {replace('c', "biw"), replace('c', "biws="), replace('c', "bi*s"),
                           replace('p', "abc"), replace('p', ""), replace('p', "%%%%"),
                           // Valid base64 of the wrong length for SHA-256.
                           replace('p', base64_encode(std::string(31, 'x'))),
                           replace('p', base64_encode(std::string(33, 'x')))}) {
    EXPECT_TRUE(step.failed);
    EXPECT_EQ(step.response, "e=invalid-encoding");
  }
}

TEST(scram, final_attributes_out_of_order_or_missing_are_refused) {
  auto reorder = [](const std::string& m) {
    // c=..,r=..,p=.. -> r=..,c=..,p=..
    auto first_comma = m.find(',');
    auto second_comma = m.find(',', first_comma + 1);
    return m.substr(first_comma + 1, second_comma - first_comma - 1) + "," +
           m.substr(0, first_comma) + m.substr(second_comma);
  };
  std::vector<std::function<std::string(const std::string&)>> tampers = {
      reorder,
      [](const std::string& m) { return m + ",x=after-proof"; },
      [](const std::string& m) { return m.substr(0, m.rfind(",p=")); },  // no proof
      [](const std::string& m) { return m.substr(m.find(',') + 1); },    // no c=
      [](const std::string& m) { return m.substr(0, m.find(",r=")) + m.substr(m.rfind(",p=")); },
      [](const std::string& m) {
        return m.substr(0, m.rfind(",p=")) + ",=x" + m.substr(m.rfind(",p="));
      },
      [](const std::string& m) {
        return m.substr(0, m.rfind(",p=")) + ",r=x" + m.substr(m.rfind(",p="));
      },
      [](const std::string&) { return std::string(); },
  };
  for (size_t i = 0; i < tampers.size(); ++i) {
    auto step = final_step_after(tampers[i]);
    EXPECT_TRUE(step.failed) << i;
    EXPECT_FALSE(step.done) << i;
  }
}

TEST(scram, messages_out_of_order_and_after_the_end_are_refused) {
  user_table users;
  users.add(scram_mechanism::sha256, "alice", "pw");
  // A client-final-message first.
  {
    scram_server server(scram_mechanism::sha256, users.lookup());
    auto step = server.next(rfc_client_final);
    EXPECT_TRUE(step.failed);
    EXPECT_TRUE(server.next(rfc_client_first).failed);  // the exchange is over
  }
  // The client-first-message twice.
  {
    scram_server server(scram_mechanism::sha256, users.lookup());
    scram_client client(scram_mechanism::sha256, "alice", "pw");
    ASSERT_FALSE(server.next(client.first()).failed);
    auto step = server.next(client.first());
    EXPECT_TRUE(step.failed);
    EXPECT_FALSE(step.done);
  }
  // Anything after success.
  {
    scram_server server(scram_mechanism::sha256, users.lookup());
    scram_client client(scram_mechanism::sha256, "alice", "pw");
    auto final_message = *client.final(server.next(client.first()).response);
    ASSERT_TRUE(server.next(final_message).done);
    auto step = server.next(final_message);
    EXPECT_TRUE(step.failed);
    EXPECT_FALSE(step.done);
    EXPECT_EQ(step.response, "");
    EXPECT_TRUE(server.next(client.first()).failed);
    EXPECT_EQ(server.user(), "alice");
  }
  // Anything after failure, even the right final message.
  {
    scram_server server(scram_mechanism::sha256, users.lookup());
    scram_client client(scram_mechanism::sha256, "alice", "pw");
    auto final_message = *client.final(server.next(client.first()).response);
    ASSERT_TRUE(server.next("c=biws").failed);
    auto step = server.next(final_message);
    EXPECT_TRUE(step.failed);
    EXPECT_FALSE(step.done);
    EXPECT_EQ(server.user(), "");
  }
}

/// Whether the server accepts `client_first` from user "user" or "a,b". A refusal here is one
/// of the message itself, so the user table must not have been consulted: a malformed name
/// must not pass for an unknown user.
bool first_accepted(std::string_view client_first) {
  user_table users;
  users.add(scram_mechanism::sha256, "user", "pencil");
  users.add(scram_mechanism::sha256, "a,b", "pencil");
  scram_server server(scram_mechanism::sha256, users.lookup(), "srv");
  auto step = server.next(client_first);
  EXPECT_FALSE(step.done);
  if (step.failed) {
    EXPECT_FALSE(step.error.empty());
    EXPECT_NE(step.error, "authentication failed") << client_first;
    EXPECT_EQ(step.response, "");
    EXPECT_TRUE(users.asked.empty()) << client_first;
  } else {
    EXPECT_EQ(users.asked.size(), 1u);
  }
  return !step.failed;
}

TEST(scram, client_first_gs2_header) {
  EXPECT_TRUE(first_accepted("n,,n=user,r=abc"));
  EXPECT_TRUE(first_accepted("y,,n=user,r=abc"));
  EXPECT_TRUE(first_accepted("n,a=user,n=user,r=abc"));
  EXPECT_TRUE(first_accepted("n,a=a=2Cb,n=a=2Cb,r=abc"));
  EXPECT_FALSE(first_accepted("p=tls-unique,,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("p=tls-server-end-point,a=user,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n,a=other,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n,a=,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n,a=us=er,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n,x=user,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("x,,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("N,,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n"));
  EXPECT_FALSE(first_accepted(""));
}

TEST(scram, channel_binding_refusal_says_so_and_skips_the_lookup) {
  user_table users;
  users.add(scram_mechanism::sha256, "user", "pencil");
  scram_server server(scram_mechanism::sha256, users.lookup());
  auto step = server.next("p=tls-unique,,n=user,r=abc");
  EXPECT_TRUE(step.failed);
  EXPECT_NE(step.error.find("channel binding"), std::string::npos) << step.error;
  EXPECT_TRUE(users.asked.empty());
}

TEST(scram, mandatory_extension_refusal_says_so) {
  user_table users;
  scram_server server(scram_mechanism::sha256, users.lookup());
  auto step = server.next("n,,m=ext,n=user,r=abc");
  EXPECT_TRUE(step.failed);
  EXPECT_NE(step.error.find("mandatory"), std::string::npos) << step.error;
}

TEST(scram, client_first_attributes) {
  EXPECT_FALSE(first_accepted("n,,m=ext,n=user,r=abc"));
  EXPECT_FALSE(first_accepted("n,,r=abc,n=user"));
  EXPECT_FALSE(first_accepted("n,,n=user"));
  EXPECT_FALSE(first_accepted("n,,n=user,"));
  EXPECT_FALSE(first_accepted("n,,n=user,r="));
  EXPECT_FALSE(first_accepted("n,,n=user,x=abc"));
  EXPECT_FALSE(first_accepted("n,,user,r=abc"));
  // The nonce: printable ASCII without ','.
  EXPECT_TRUE(first_accepted("n,,n=user,r=!~%$)=+-"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=a b"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=a\x7f"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=a\xc3\xa9"));
  EXPECT_FALSE(first_accepted(std::string_view("n,,n=user,r=a\0b", 15)));
  // Extensions: unknown ones ignored, delegation tokens refused, malformed ones refused.
  EXPECT_TRUE(first_accepted("n,,n=user,r=abc,foo=bar"));
  EXPECT_TRUE(first_accepted("n,,n=user,r=abc,tokenauth=false,x=y=z"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,tokenauth=true"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,foo=bar,tokenauth=TRUE"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,foo="));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,=bar"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,f0o=bar"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,foo"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,r=def"));
  EXPECT_FALSE(first_accepted("n,,n=user,r=abc,n=other"));
}

TEST(scram, sasl_name_escapes) {
  EXPECT_TRUE(first_accepted("n,,n=a=2Cb,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n=a=2cb,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n=a=2Db,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n=a=3,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n=a=,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n==,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n=,r=abc"));
  EXPECT_FALSE(first_accepted("n,,n=a,b,r=abc"));

  // A user whose name holds both characters that need escaping, through the whole exchange.
  user_table users;
  users.add(scram_mechanism::sha256, "a,b=c", "pw");
  scram_server server(scram_mechanism::sha256, users.lookup());
  scram_client client(scram_mechanism::sha256, "a,b=c", "pw", "nonce");
  EXPECT_EQ(client.first(), "n,,n=a=2Cb=3Dc,r=nonce");
  auto first = server.next(client.first());
  ASSERT_FALSE(first.failed) << first.error;
  EXPECT_EQ(users.asked, std::vector<std::string>{"a,b=c"});
  auto last = server.next(*client.final(first.response));
  EXPECT_TRUE(last.done) << last.error;
  EXPECT_EQ(server.user(), "a,b=c");
  EXPECT_TRUE(client.verify(last.response));
}

TEST(scram, other_gs2_headers_must_be_repeated_in_the_channel_binding) {
  // What scram_client never sends: a "y" flag, an authzid, extensions in the final message.
  struct exchange {
    std::string gs2_header, extensions;
  };
  for (const auto& e :
       {exchange{"y,,", ""}, exchange{"n,a=alice,", ""}, exchange{"n,,", ",foo=bar,x=1"}}) {
    user_table users;
    users.add(scram_mechanism::sha256, "alice", "pw");
    scram_server server(scram_mechanism::sha256, users.lookup(), "srv");
    std::string bare = "n=alice,r=cli";
    auto first = server.next(e.gs2_header + bare);
    ASSERT_FALSE(first.failed) << first.error;
    auto final_message = reference_final(scram_mechanism::sha256, "pw", test_salt, min_iterations,
                                         e.gs2_header, bare, first.response, e.extensions);
    auto last = server.next(final_message);
    EXPECT_TRUE(last.done) << e.gs2_header << ": " << last.error;

    // The same message with the other flag's binding ("n,," <-> "y,,") is refused.
    scram_server other(scram_mechanism::sha256, users.lookup(), "srv");
    ASSERT_FALSE(other.next(e.gs2_header + bare).failed);
    auto wrong = e.gs2_header == "y,," ? "biws" : "eSws";
    auto refused = other.next(with_attribute(final_message, 'c', wrong));
    EXPECT_TRUE(refused.failed);
    EXPECT_EQ(refused.response, "e=channel-bindings-dont-match");
  }
}

TEST(scram, oversize_messages_are_refused) {
  std::string head = "n,,n=user,r=abc,x=";
  std::string at_limit = head + std::string(4096 - head.size(), 'f');
  ASSERT_EQ(at_limit.size(), 4096u);
  EXPECT_TRUE(first_accepted(at_limit));
  EXPECT_FALSE(first_accepted(at_limit + "f"));

  auto fill_to = [](size_t size) {
    return [size](std::string m) {
      auto p = m.rfind(",p=");
      std::string padding = ",x=";
      padding += std::string(size - m.size() - padding.size(), 'f');
      return m.substr(0, p) + padding + m.substr(p);
    };
  };
  // The extension is part of the signed message, so the proof no longer matches below the
  // limit; above it the message is not even read.
  auto below = final_step_after(fill_to(4096));
  EXPECT_EQ(below.response, "e=invalid-proof");
  auto above = final_step_after(fill_to(4097));
  EXPECT_TRUE(above.failed);
  EXPECT_EQ(above.response, "");
  EXPECT_NE(above.error.find("too long"), std::string::npos) << above.error;
}

// ---------------------------------------------------------------------------------------------
// scram_client

std::optional<std::string> client_final_for(std::string_view server_first) {
  scram_client client(scram_mechanism::sha256, "user", "pencil", "cli");
  return client.final(server_first);
}

TEST(scram_client, refuses_fewer_iterations_than_the_minimum) {
  EXPECT_TRUE(client_final_for("r=clisrv,s=c2FsdA==,i=4096"));
  EXPECT_TRUE(client_final_for("r=clisrv,s=c2FsdA==,i=100000"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=4095"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=1"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=0"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=-4096"));
}

TEST(scram_client, refuses_malformed_server_first) {
  EXPECT_TRUE(client_final_for("r=clisrv,s=c2FsdA==,i=4096,foo=bar"));
  EXPECT_FALSE(client_final_for("r=cli,s=c2FsdA==,i=4096"));     // no server part
  EXPECT_FALSE(client_final_for("r=xyzsrv,s=c2FsdA==,i=4096"));  // not our nonce
  EXPECT_FALSE(client_final_for("r=clis v,s=c2FsdA==,i=4096"));  // not printable
  EXPECT_FALSE(client_final_for("m=ext,r=clisrv,s=c2FsdA==,i=4096"));
  EXPECT_FALSE(client_final_for("r=clisrv,i=4096,s=c2FsdA=="));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA=,i=4096"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=,i=4096"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i="));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=4096x"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=+4096"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=99999999999"));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=4096,foo"));
  EXPECT_FALSE(client_final_for("e=other-error"));
  EXPECT_FALSE(client_final_for(""));
  EXPECT_FALSE(client_final_for("r=clisrv,s=c2FsdA==,i=4096,x=" + std::string(4096, 'f')));
}

TEST(scram_client, verify_checks_the_server_signature) {
  scram_client client(scram_mechanism::sha256, "user", "pencil", std::string(rfc_client_nonce));
  EXPECT_FALSE(client.verify(rfc_server_final));  // before final()
  ASSERT_TRUE(client.final(rfc_server_first));
  EXPECT_FALSE(client.verify("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  EXPECT_FALSE(client.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4"));
  EXPECT_FALSE(client.verify("v="));
  EXPECT_FALSE(client.verify("e=invalid-proof"));
  EXPECT_FALSE(client.verify(""));
  EXPECT_TRUE(client.verify(rfc_server_final));

  // A client with another password derives another signature.
  scram_client wrong(scram_mechanism::sha256, "user", "pencil2", std::string(rfc_client_nonce));
  ASSERT_TRUE(wrong.final(rfc_server_first));
  EXPECT_FALSE(wrong.verify(rfc_server_final));
}

// ---------------------------------------------------------------------------------------------
// Credentials

TEST(credential, password_matches) {
  for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
    auto c = make_credential(m, "correct horse", test_salt, min_iterations);
    EXPECT_EQ(c.mechanism, m);
    EXPECT_EQ(c.salt, test_salt);
    EXPECT_EQ(c.iterations, min_iterations);
    EXPECT_TRUE(password_matches(c, "correct horse"));
    EXPECT_FALSE(password_matches(c, "correct horsf"));
    EXPECT_FALSE(password_matches(c, "correct hors"));
    EXPECT_FALSE(password_matches(c, ""));

    auto broken = c;
    broken.iterations = min_iterations + 1;
    EXPECT_FALSE(password_matches(broken, "correct horse"));
    broken = c;
    broken.salt += 'x';
    EXPECT_FALSE(password_matches(broken, "correct horse"));
    broken = c;
    broken.server_key[0] = static_cast<char>(broken.server_key[0] ^ 1);
    EXPECT_FALSE(password_matches(broken, "correct horse"));
    broken = c;
    broken.stored_key.pop_back();
    EXPECT_FALSE(password_matches(broken, "correct horse"));
    broken = c;
    broken.iterations = 0;
    EXPECT_FALSE(password_matches(broken, "correct horse"));
  }
  auto empty = make_credential(scram_mechanism::sha256, "", test_salt, min_iterations);
  EXPECT_TRUE(password_matches(empty, ""));
  EXPECT_FALSE(password_matches(empty, "x"));
}

TEST(credential, from_salted_password_equals_make_credential) {
  for (auto m : {scram_mechanism::sha256, scram_mechanism::sha512}) {
    for (int iterations : {min_iterations, 5000, max_iterations}) {
      auto salted = reference_hi(m, "pencil", test_salt, iterations);
      EXPECT_EQ(salted_password(m, "pencil", test_salt, iterations), salted);
      auto from_salted = credential_from_salted_password(m, salted, test_salt, iterations);
      EXPECT_EQ(from_salted, make_credential(m, "pencil", test_salt, iterations));
      EXPECT_EQ(from_salted.stored_key, reference_hash(m, reference_hmac(m, salted, "Client Key")));
      EXPECT_EQ(from_salted.server_key, reference_hmac(m, salted, "Server Key"));
      EXPECT_NE(from_salted, make_credential(m, "pencil", "other salt", iterations));
    }
  }
}

TEST(credential, empty_salt_draws_32_random_bytes) {
  auto a = make_credential(scram_mechanism::sha256, "pw", "", min_iterations);
  auto b = make_credential(scram_mechanism::sha256, "pw", "", min_iterations);
  EXPECT_EQ(a.salt.size(), 32u);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.stored_key, b.stored_key);
  EXPECT_TRUE(password_matches(a, "pw"));
  EXPECT_TRUE(password_matches(b, "pw"));
}

TEST(credential, mechanism_names) {
  EXPECT_EQ(parse_scram_mechanism("SCRAM-SHA-256"), scram_mechanism::sha256);
  EXPECT_EQ(parse_scram_mechanism("SCRAM-SHA-512"), scram_mechanism::sha512);
  EXPECT_FALSE(parse_scram_mechanism("scram-sha-256"));
  EXPECT_FALSE(parse_scram_mechanism("SCRAM-SHA-1"));
  EXPECT_FALSE(parse_scram_mechanism("SCRAM-SHA-256-PLUS"));
  EXPECT_FALSE(parse_scram_mechanism("PLAIN"));
  EXPECT_FALSE(parse_scram_mechanism(""));
  EXPECT_EQ(mechanism_name(scram_mechanism::sha256), "SCRAM-SHA-256");
  EXPECT_EQ(mechanism_name(scram_mechanism::sha512), "SCRAM-SHA-512");
}

// ---------------------------------------------------------------------------------------------
// PLAIN

std::optional<plain_message> plain(std::string_view a, std::string_view u, std::string_view p) {
  std::string token(a);
  token += '\0';
  token += u;
  token += '\0';
  token += p;
  return parse_plain(token);
}

TEST(plain, parses_the_three_fields) {
  auto m = plain("", "alice", "pw");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->authzid, "");
  EXPECT_EQ(m->user, "alice");
  EXPECT_EQ(m->password, "pw");
  m = plain("admin", "alice", "p w,=\xc3\xa9");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->authzid, "admin");
  EXPECT_EQ(m->user, "alice");
  EXPECT_EQ(m->password, "p w,=\xc3\xa9");
}

TEST(plain, refuses_malformed_tokens) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(parse_plain(""));
  EXPECT_FALSE(parse_plain("alice"));
  EXPECT_FALSE(parse_plain("alice\0pw"sv));
  EXPECT_FALSE(parse_plain("\0\0alice\0pw"sv));
  EXPECT_FALSE(parse_plain("\0alice\0pw\0"sv));
  EXPECT_FALSE(parse_plain("\0alice\0p\0w"sv));
  EXPECT_FALSE(parse_plain("\0\0"sv));
  EXPECT_FALSE(plain("", "", "pw"));
  EXPECT_FALSE(plain("a", "", "pw"));
  EXPECT_FALSE(plain("", "alice", ""));
}

TEST(plain, fields_of_up_to_255_bytes) {
  std::string max(255, 'x'), over(256, 'x');
  EXPECT_TRUE(plain(max, max, max));
  EXPECT_FALSE(plain(over, "alice", "pw"));
  EXPECT_FALSE(plain("", over, "pw"));
  EXPECT_FALSE(plain("", "alice", over));
}

// ---------------------------------------------------------------------------------------------
// base64

TEST(base64, rfc4648_vectors) {
  std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"n,,", "biws"},
      {"\xff\xfe\xfd", "//79"},
      {std::string("\0", 1), "AA=="},
  };
  for (const auto& [raw, text] : vectors) {
    EXPECT_EQ(base64_encode(raw), text);
    EXPECT_EQ(base64_decode(text), raw) << text;
  }
}

TEST(base64, round_trip_of_every_byte_and_length) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t length = 0; length <= all.size(); ++length) {
    auto raw = all.substr(all.size() - length);
    auto text = base64_encode(raw);
    EXPECT_EQ(text.size(), (length + 2) / 3 * 4);
    EXPECT_EQ(base64_decode(text), raw) << length;
  }
}

TEST(base64, refuses_invalid_text) {
  for (std::string_view text : {"Z", "Zg", "Zg=", "Zm9vY", "Z===", "====", "=Zg=", "Z=g=", "Zg=A",
                                "Zg==Zg==", "Zm9v====", "Zh==", "Zm9=", "Zm8-", "Zm8_", "Zm 9",
                                "Zm9v\n", " Zm9v", "Zm9\xc3"}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
  using namespace std::string_view_literals;
  EXPECT_FALSE(base64_decode("Zm9\0"sv));
}

}  // namespace
}  // namespace strom::security
