// The SCRAM credential requests of `stromctl user`: what goes on the wire (decoded back with the
// protocol codec, as a broker reads it) and how answers become per-user outcomes.
#include <gtest/gtest.h>

#include "ctl/wire.h"
#include "strom/kafka/protocol/codec.h"
#include "strom/security/scram.h"

namespace strom::ctl {
namespace {

namespace kp = ::strom::kafka::protocol;
namespace sec = ::strom::security;

std::vector<std::byte> bytes_of(std::string_view s) {
  auto b = std::as_bytes(std::span(s));
  return {b.begin(), b.end()};
}

/// Decodes a size-prefixed request frame as a broker does.
kp::request decode(const std::string& frame) {
  EXPECT_GE(frame.size(), 4u);
  auto size = (static_cast<uint32_t>(static_cast<uint8_t>(frame[0])) << 24) |
              (static_cast<uint32_t>(static_cast<uint8_t>(frame[1])) << 16) |
              (static_cast<uint32_t>(static_cast<uint8_t>(frame[2])) << 8) |
              static_cast<uint32_t>(static_cast<uint8_t>(frame[3]));
  EXPECT_EQ(size, frame.size() - 4);
  auto r = kp::decode_request(std::as_bytes(std::span(frame).subspan(4)));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? std::move(*r) : kp::request{};
}

/// An answer frame of version 0 without its size prefix.
template <typename M>
std::string answer(int32_t correlation_id, const M& body) {
  auto f = kp::encode_response_frame(correlation_id, 0, body);
  EXPECT_TRUE(f.has_value());
  auto b = f->flatten();
  EXPECT_TRUE(b.has_value());
  return std::string(reinterpret_cast<const char*>(b->data()), b->size()).substr(4);
}

TEST(ScramUsers, MechanismCodesAreKafkas) {
  EXPECT_EQ(scram_mechanism_code(sec::scram_mechanism::sha256), 1);
  EXPECT_EQ(scram_mechanism_code(sec::scram_mechanism::sha512), 2);
  EXPECT_EQ(scram_mechanism_label(1), "SCRAM-SHA-256");
  EXPECT_EQ(scram_mechanism_label(2), "SCRAM-SHA-512");
  EXPECT_EQ(scram_mechanism_label(0), "UNKNOWN(0)");
  EXPECT_EQ(scram_mechanism_label(7), "UNKNOWN(7)");
}

TEST(ScramUsers, UpsertionCarriesHiOfThePasswordNeverThePassword) {
  std::string salt(32, '\x5a');
  auto u = make_scram_upsertion("alice", sec::scram_mechanism::sha512, "s3cret", salt, 8192);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.mechanism, 2);
  EXPECT_EQ(u.iterations, 8192);
  EXPECT_EQ(u.salt, salt);
  EXPECT_EQ(u.salted_password,
            sec::salted_password(sec::scram_mechanism::sha512, "s3cret", salt, 8192));
  EXPECT_EQ(u.salted_password.size(), 64u);
  // What a broker stores from it verifies the password, and only that one.
  auto c = sec::credential_from_salted_password(sec::scram_mechanism::sha512, u.salted_password,
                                                u.salt, u.iterations);
  EXPECT_TRUE(sec::password_matches(c, "s3cret"));
  EXPECT_FALSE(sec::password_matches(c, "s3cret "));

  auto frame = encode_alter_user_scram_credentials_request(9, {}, {u});
  EXPECT_EQ(frame.find("s3cret"), std::string::npos);
}

TEST(ScramUsers, AlterRequestEncodesDeletionsAndUpsertions) {
  auto up = make_scram_upsertion("alice", sec::scram_mechanism::sha256, "pw", "salt-bytes", 4096);
  auto frame = encode_alter_user_scram_credentials_request(7, {{"bob", 1}, {"bob", 2}}, {up});
  auto req = decode(frame);
  EXPECT_EQ(req.header.key, kp::api_key::alter_user_scram_credentials);
  EXPECT_EQ(req.header.version, 0);
  EXPECT_EQ(req.header.correlation_id, 7);
  EXPECT_EQ(req.header.client_id, "stromctl");
  const auto& body = std::get<kp::alter_user_scram_credentials_request>(req.body);
  ASSERT_EQ(body.deletions.size(), 2u);
  EXPECT_EQ(body.deletions[0].name, "bob");
  EXPECT_EQ(body.deletions[0].mechanism, 1);
  EXPECT_EQ(body.deletions[1].mechanism, 2);
  ASSERT_EQ(body.upsertions.size(), 1u);
  const auto& u = body.upsertions[0];
  EXPECT_EQ(u.name, "alice");
  EXPECT_EQ(u.mechanism, 1);
  EXPECT_EQ(u.iterations, 4096);
  EXPECT_EQ(u.salt, bytes_of("salt-bytes"));
  EXPECT_EQ(u.salted_password, bytes_of(up.salted_password));
}

TEST(ScramUsers, DescribeRequestOfSomeOrEveryUser) {
  auto req = decode(encode_describe_user_scram_credentials_request(3, std::nullopt));
  EXPECT_EQ(req.header.key, kp::api_key::describe_user_scram_credentials);
  EXPECT_EQ(req.header.version, 0);
  EXPECT_EQ(req.header.correlation_id, 3);
  EXPECT_FALSE(std::get<kp::describe_user_scram_credentials_request>(req.body).users.has_value());

  req = decode(
      encode_describe_user_scram_credentials_request(4, std::vector<std::string>{"alice", "bob"}));
  const auto& users = std::get<kp::describe_user_scram_credentials_request>(req.body).users;
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[1].name, "bob");
}

TEST(ScramUsers, DescribeAnswerSortedWithPerUserErrors) {
  kp::describe_user_scram_credentials_response resp;
  auto& bob = resp.results.emplace_back();
  bob.user = "bob";
  bob.credential_infos = {{2, 8192}, {1, 4096}};
  auto& ghost = resp.results.emplace_back();
  ghost.user = "ghost";
  ghost.error_code = kp::error_code::resource_not_found;
  ghost.error_message = "Attempt to describe a user credential that does not exist";
  auto& alice = resp.results.emplace_back();
  alice.user = "alice";
  alice.credential_infos = {{1, 4096}};
  auto& mute = resp.results.emplace_back();
  mute.user = "mute";
  mute.error_code = kp::error_code::resource_not_found;

  auto r = decode_describe_user_scram_credentials_response(answer(5, resp), 5);
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].user, "alice");
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[0].credentials, (std::vector<scram_credential_info>{{1, 4096}}));
  EXPECT_EQ((*r)[1].user, "bob");
  EXPECT_EQ((*r)[1].credentials, (std::vector<scram_credential_info>{{1, 4096}, {2, 8192}}));
  EXPECT_EQ((*r)[2].user, "ghost");
  EXPECT_FALSE((*r)[2].ok());
  EXPECT_EQ((*r)[2].error_name, "RESOURCE_NOT_FOUND");
  EXPECT_EQ((*r)[2].reason(), "Attempt to describe a user credential that does not exist");
  EXPECT_EQ((*r)[3].reason(), "RESOURCE_NOT_FOUND");  // no message: the error's name

  EXPECT_FALSE(decode_describe_user_scram_credentials_response(answer(5, resp), 6));
  EXPECT_FALSE(decode_describe_user_scram_credentials_response("\x01", 5));

  kp::describe_user_scram_credentials_response refused;
  refused.error_code = kp::error_code::cluster_authorization_failed;
  refused.error_message = "not allowed";
  r = decode_describe_user_scram_credentials_response(answer(5, refused), 5);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail(),
            "the broker refused DescribeUserScramCredentials: CLUSTER_AUTHORIZATION_FAILED: not "
            "allowed");
}

TEST(ScramUsers, AlterAnswerOneOutcomePerUser) {
  kp::alter_user_scram_credentials_response resp;
  resp.results.push_back({"alice", kp::error_code::none, std::nullopt});
  resp.results.push_back(
      {"bob", kp::error_code::unacceptable_credential, "Iterations 100 is less than 4096"});
  auto r = decode_alter_user_scram_credentials_response(answer(2, resp), 2);
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].user, "alice");
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[1].user, "bob");
  EXPECT_FALSE((*r)[1].ok());
  EXPECT_EQ((*r)[1].error_name, "UNACCEPTABLE_CREDENTIAL");
  EXPECT_EQ((*r)[1].reason(), "Iterations 100 is less than 4096");
  EXPECT_FALSE(decode_alter_user_scram_credentials_response(answer(2, resp), 3));
}

}  // namespace
}  // namespace strom::ctl
