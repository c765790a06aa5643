// Round trips of every generated message at every version the codec implements.
#include <gtest/gtest.h>

#include "strom/kafka/protocol/codec.h"
#include "strom/kafka/protocol/testing/fill.h"
#include "test_util.h"

namespace strom::kafka::protocol {
namespace {

template <typename M>
std::vector<std::byte> encode(const M& m, int16_t version) {
  writer w;
  m.encode(w, version);
  return std::move(w).take_memory();
}

/// decode(encode(in)) == in, every byte consumed, and re-encoding gives the same bytes.
template <typename M>
void expect_round_trip(const M& in, int16_t version) {
  auto buf = encode(in, version);
  reader r(buf);
  M out;
  auto st = out.decode(r, version);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(out == in);
  EXPECT_EQ(test::hex(encode(out, version)), test::hex(buf));
}

template <typename M>
class MessageTest : public ::testing::Test {};

using all_messages = ::testing::Types<STROM_KAFKA_PROTOCOL_MESSAGE_TYPES>;
TYPED_TEST_SUITE(MessageTest, all_messages);

TYPED_TEST(MessageTest, DefaultValueRoundTrips) {
  using M = TypeParam;
  for (int16_t v = M::min_version; v <= M::max_version; ++v) {
    SCOPED_TRACE(::testing::Message() << "version " << v);
    expect_round_trip(M{}, v);
  }
}

TYPED_TEST(MessageTest, PopulatedValueRoundTrips) {
  using M = TypeParam;
  for (bool nulls : {false, true}) {
    for (int16_t v = M::min_version; v <= M::max_version; ++v) {
      SCOPED_TRACE(::testing::Message() << "version " << v << (nulls ? " with nulls" : ""));
      testing::filler f(nulls);
      M in;
      testing::fill(f, in, v);
      expect_round_trip(in, v);
      // Populated must differ from the default (else the fill missed the version's fields),
      // unless the version carries no field at all.
      if (!encode(M{}, v).empty() && encode(M{}, v).size() > 1) {
        EXPECT_FALSE(in == M{});
      }
    }
  }
}

TYPED_TEST(MessageTest, EveryTruncationIsAnError) {
  using M = TypeParam;
  for (int16_t v = M::min_version; v <= M::max_version; ++v) {
    SCOPED_TRACE(::testing::Message() << "version " << v);
    testing::filler f;
    M in;
    testing::fill(f, in, v);
    auto buf = encode(in, v);
    for (size_t n = 0; n < buf.size(); ++n) {
      reader r(std::span<const std::byte>(buf).first(n));
      M out;
      auto st = out.decode(r, v);
      ASSERT_FALSE(st) << "prefix of " << n << " of " << buf.size() << " bytes decoded";
      EXPECT_TRUE(st.error().is(errc::truncated) || st.error().is(errc::invalid_length))
          << st.error().message();
    }
  }
}

TYPED_TEST(MessageTest, VersionsOutsideTheRangeAreRejected) {
  using M = TypeParam;
  auto buf = test::bytes_of({0, 0, 0, 0, 0, 0, 0, 0});
  for (int v : {M::min_version - 1, M::max_version + 1}) {
    reader r(buf);
    M out;
    auto st = out.decode(r, static_cast<int16_t>(v));
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().is(errc::unsupported_version));
  }
}

TYPED_TEST(MessageTest, DispatchByApiKeyMatchesTheType) {
  using M = TypeParam;
  constexpr bool is_request = std::is_constructible_v<request_body, M>;
  for (int16_t v = M::min_version; v <= M::max_version; ++v) {
    testing::filler f;
    M in;
    testing::fill(f, in, v);
    auto buf = encode(in, v);
    reader r(buf);
    if constexpr (is_request) {
      auto body = decode_request_body(M::api, v, r);
      ASSERT_TRUE(body) << body.error().message();
      ASSERT_TRUE(std::holds_alternative<M>(*body));
      EXPECT_TRUE(std::get<M>(*body) == in);
      EXPECT_EQ(key_of(*body), M::api);
      writer w;
      encode_body(w, v, *body);
      EXPECT_EQ(test::hex(w.memory()), test::hex(buf));
    } else {
      auto body = decode_response_body(M::api, v, r);
      ASSERT_TRUE(body) << body.error().message();
      ASSERT_TRUE(std::holds_alternative<M>(*body));
      EXPECT_TRUE(std::get<M>(*body) == in);
      EXPECT_EQ(key_of(*body), M::api);
    }
  }
}

TEST(Messages, CodecCoversEveryAdvertisedVersion) {
  auto codecs = codec_apis();
  ASSERT_EQ(codecs.size(), supported_apis().size());
  for (const api_support& s : supported_apis()) {
    SCOPED_TRACE(api_name(s.key));
    auto it = std::find_if(codecs.begin(), codecs.end(),
                           [&](const codec_versions& c) { return c.key == s.key; });
    ASSERT_NE(it, codecs.end());
    EXPECT_LE(it->min_version, s.min_version);
    EXPECT_EQ(it->max_version, s.max_version);
    EXPECT_LE(s.min_version, s.min_served_version);
    EXPECT_EQ(it->first_flexible_version, first_flexible_version(s.key));
  }
}

TEST(Messages, UnknownApiKeyIsAnError) {
  auto buf = test::bytes_of({0});
  reader r(buf);
  auto body = decode_request_body(api_key::add_partitions_to_txn, 1, r);
  ASSERT_FALSE(body);
  EXPECT_TRUE(body.error().is(errc::unknown_api_key));
}

TEST(Messages, FieldDefaultsFollowTheSchemas) {
  fetch_request f;
  EXPECT_EQ(f.replica_id, -1);
  EXPECT_EQ(f.max_bytes, 0x7fffffff);
  EXPECT_EQ(f.session_epoch, -1);
  EXPECT_EQ(f.cluster_id, std::nullopt);
  metadata_request m;
  EXPECT_TRUE(m.allow_auto_topic_creation);
  ASSERT_TRUE(m.topics.has_value());  // empty, not null
  metadata_response mr;
  EXPECT_EQ(mr.cluster_authorized_operations, INT32_MIN);
  produce_response::partition_produce_response p;
  EXPECT_EQ(p.log_append_time_ms, -1);
  EXPECT_EQ(p.error_code, error_code::none);
  EXPECT_EQ(p.current_leader.leader_epoch, -1);
  fetch_response::partition_data pd;
  EXPECT_FALSE(pd.records.is_null());  // Kafka sends empty record sets, not null
  EXPECT_EQ(pd.preferred_read_replica, -1);
  create_topics_request ct;
  EXPECT_EQ(ct.timeout_ms, 60000);
}

}  // namespace
}  // namespace strom::kafka::protocol
