// Malformed and hostile input: every decoder must fail cleanly, without crashing and without
// allocating from a length it read before checking it against the remaining bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "alloc_tracker.h"
#include "strom/kafka/protocol/codec.h"
#include "strom/kafka/protocol/testing/fill.h"
#include "test_util.h"

namespace strom::kafka::protocol {
namespace {

using test::bytes_of;
using test::concat;

constexpr size_t small_allocation = 64 * 1024;

template <typename M>
status decode_as(std::span<const std::byte> b, int16_t version) {
  reader r(b);
  M m;
  return m.decode(r, version);
}

#define EXPECT_ERRC(st, code)                                   \
  do {                                                          \
    auto st_ = (st);                                            \
    ASSERT_FALSE(st_);                                          \
    EXPECT_TRUE(st_.error().is(code)) << st_.error().message(); \
  } while (false)

TEST(Hostile, AllocationProbeWorks) {
  test::reset_largest_allocation();
  std::vector<std::byte> v(100000);
  EXPECT_GE(test::largest_allocation(), 100000u);
}

TEST(Hostile, HugeArrayCountIsRejectedBeforeAllocating) {
  // Produce v3: null transactional id, acks, timeout, then a topic count of 2^31-1.
  auto b = concat({bytes_of({0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10}),
                   bytes_of({0x7f, 0xff, 0xff, 0xff}), bytes_of({0x00, 0x01, 0x74, 0, 0, 0})});
  test::reset_largest_allocation();
  EXPECT_ERRC(decode_as<produce_request>(b, 3), errc::invalid_length);
  EXPECT_LT(test::largest_allocation(), small_allocation);
}

TEST(Hostile, HugeCompactArrayCountIsRejected) {
  // Produce v9 with a compact topic count of 0xfffffffe elements.
  auto b = bytes_of({0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f, 1});
  test::reset_largest_allocation();
  EXPECT_ERRC(decode_as<produce_request>(b, 9), errc::invalid_length);
  EXPECT_LT(test::largest_allocation(), small_allocation);
}

TEST(Hostile, ArrayCountCheckUsesTheElementSize) {
  // Metadata v0 response: brokers count 3 with 8 bytes left; a broker needs at least 10.
  auto b = bytes_of({0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0});
  EXPECT_ERRC(decode_as<metadata_response>(b, 0), errc::invalid_length);
}

TEST(Hostile, NegativeArrayCount) {
  auto b = bytes_of({0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0xff, 0xfe});
  EXPECT_ERRC(decode_as<produce_request>(b, 3), errc::invalid_length);
}

TEST(Hostile, NullArrayWhereNotNullable) {
  // Metadata v0 topics may not be null (v1+ may).
  auto b = bytes_of({0xff, 0xff, 0xff, 0xff});
  EXPECT_ERRC(decode_as<metadata_request>(b, 0), errc::unexpected_null);
  EXPECT_TRUE(decode_as<metadata_request>(b, 1));
}

TEST(Hostile, NegativeStringLength) {
  auto b = bytes_of({0xff, 0xfe, 0x00});  // FindCoordinator v0 key, length -2
  EXPECT_ERRC(decode_as<find_coordinator_request>(b, 0), errc::invalid_length);
}

TEST(Hostile, StringLongerThanTheInput) {
  auto b = bytes_of({0x7f, 0xff, 'a', 'b'});
  test::reset_largest_allocation();
  EXPECT_ERRC(decode_as<find_coordinator_request>(b, 0), errc::truncated);
  EXPECT_LT(test::largest_allocation(), 1024u);
}

TEST(Hostile, BytesAndRecordsLongerThanTheInput) {
  // SyncGroup v0: group "", generation, member "", assignments [ {member "", bytes len 2^31-1} ]
  auto b = bytes_of({0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1});
  test::reset_largest_allocation();
  EXPECT_ERRC(decode_as<sync_group_request>(b, 0), errc::truncated);
  EXPECT_LT(test::largest_allocation(), small_allocation);
  reader r(std::span<const std::byte>(b).subspan(14));
  (void)r.read_records(false);
  EXPECT_TRUE(r.check().error().is(errc::truncated));
}

TEST(Hostile, OversizeVarints) {
  for (auto b : {bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),  // six bytes
                 bytes_of({0xff, 0xff, 0xff, 0xff, 0x1f})}) {     // more than 32 bits
    reader r(b);
    (void)r.read_unsigned_varint();
    EXPECT_TRUE(r.check().error().is(errc::invalid_varint)) << r.check().error().message();
  }
  auto eleven = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  reader r(eleven);
  (void)r.read_varlong();
  EXPECT_TRUE(r.check().error().is(errc::invalid_varint));
  auto cut = bytes_of({0x80, 0x80});
  reader t(cut);
  (void)t.read_unsigned_varint();
  EXPECT_TRUE(t.check().error().is(errc::truncated));
  // As a compact string length inside a message (ApiVersions v3 request).
  EXPECT_ERRC(decode_as<api_versions_request>(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), 3),
              errc::invalid_varint);
}

TEST(Hostile, TaggedFieldSectionLimits) {
  // Heartbeat v4: group "", generation, member "", instance null, then the tag section.
  auto prefix = bytes_of({0x01, 0, 0, 0, 0, 0x01, 0x00});
  // A count of 2^32-1 fields with nothing behind it.
  EXPECT_ERRC(
      decode_as<heartbeat_request>(concat({prefix, bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f})}), 4),
      errc::invalid_length);
  // One field claiming 100 bytes with 2 present.
  EXPECT_ERRC(decode_as<heartbeat_request>(concat({prefix, bytes_of({0x01, 0x00, 0x64, 1, 2})}), 4),
              errc::truncated);
}

TEST(Hostile, UnknownTaggedFieldsAreSkipped) {
  // Metadata v9 request with unknown tags in a topic and at top level.
  auto b = bytes_of({
      0x02,                                          // one topic
      0x02, int{'t'},                                // name
      0x01, 0x07,     0x03, 0xaa, 0xbb, 0xcc,        // topic tags: tag 7, 3 bytes
      0x00, 0x01,     0x01,                          // allow_auto false, include ops
      0x02, 0x05,     0x00, 0xe8, 0x07, 0x01, 0x00,  // two tags: 5 (0 bytes), 1000 (1 byte)
  });
  reader r(b);
  metadata_request m;
  auto st = m.decode(r, 9);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(r.remaining(), 0u);
  ASSERT_TRUE(m.topics.has_value());
  ASSERT_EQ(m.topics->size(), 1u);
  EXPECT_EQ(m.topics->at(0).name, "t");
  EXPECT_FALSE(m.allow_auto_topic_creation);
  EXPECT_TRUE(m.include_topic_authorized_operations);
}

TEST(Hostile, KnownTagWithBadContentFails) {
  fetch_request f;
  writer w;
  f.encode(w, 12);
  auto good = std::move(w).take_memory();
  ASSERT_EQ(static_cast<int>(good.back()), 0);  // empty tag section at the end
  // Replace it with cluster_id (tag 0) holding a compact string that claims 4 bytes in 1.
  auto bad = good;
  bad.back() = std::byte{1};
  for (int b : {0x00, 0x01, 0x05}) {
    bad.push_back(static_cast<std::byte>(b));
  }
  EXPECT_ERRC(decode_as<fetch_request>(bad, 12), errc::truncated);
  // A known tag whose field leaves bytes unread is accepted (the rest is skipped).
  auto padded = good;
  padded.back() = std::byte{1};
  for (int b : {0x00, 0x04, 0x02, int{'c'}, 0xee, 0xee}) {
    padded.push_back(static_cast<std::byte>(b));
  }
  reader r(padded);
  fetch_request out;
  ASSERT_TRUE(out.decode(r, 12));
  EXPECT_EQ(out.cluster_id, std::optional<std::string>("c"));
}

TEST(Hostile, BadHeaders) {
  reader short_header(bytes_of({0x00, 0x12, 0x00}));
  EXPECT_FALSE(decode_request_header(short_header));
  auto neg = bytes_of({0x00, 0x03, 0x00, 0x01, 0, 0, 0, 1, 0xff, 0xf0});
  reader r(neg);
  auto h = decode_request_header(r);
  ASSERT_FALSE(h);
  EXPECT_TRUE(h.error().is(errc::invalid_length));
}

TEST(Hostile, ApiVersionsAboveTheMaxStillHasAReadableHeader) {
  // ApiVersions v5 (unknown to Strom): header v2, body not parsed.
  auto b = bytes_of({0x00, 0x12, 0x00, 0x05, 0, 0, 0, 7, 0x00, 0x01, int{'c'}, 0x00, 0xde, 0xad});
  reader r(b);
  auto h = decode_request_header(r);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->key, api_key::api_versions);
  EXPECT_EQ(h->version, 5);
  EXPECT_EQ(h->correlation_id, 7);
  EXPECT_FALSE(is_version_served(h->key, h->version));
  auto req = decode_request(b);
  ASSERT_FALSE(req);
  EXPECT_TRUE(req.error().is(errc::unsupported_version));
}

TEST(Hostile, FrameSize) {
  std::array<std::byte, 4> neg{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  EXPECT_FALSE(decode_frame_size(neg));
  std::array<std::byte, 4> big{std::byte{0x10}, std::byte{0}, std::byte{0}, std::byte{0}};
  EXPECT_TRUE(decode_frame_size(big).error().is(errc::frame_too_large));
  std::array<std::byte, 4> ok{std::byte{0}, std::byte{0}, std::byte{1}, std::byte{2}};
  EXPECT_EQ(*decode_frame_size(ok), 258u);
}

// Random corruption of valid encodings of every message: decoding must never crash (run it
// under ASan/UBSan) or allocate much more than the input.
template <typename M>
class HostileMessageTest : public ::testing::Test {};
using all_messages = ::testing::Types<STROM_KAFKA_PROTOCOL_MESSAGE_TYPES>;
TYPED_TEST_SUITE(HostileMessageTest, all_messages);

TYPED_TEST(HostileMessageTest, RandomCorruptionNeverCrashes) {
  using M = TypeParam;
  std::mt19937 rng(1234);
  for (int16_t v = M::min_version; v <= M::max_version; ++v) {
    testing::filler f;
    M in;
    testing::fill(f, in, v);
    writer w;
    in.encode(w, v);
    const auto good = std::move(w).take_memory();
    for (int i = 0; i < 300; ++i) {
      auto b = good;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !b.empty(); ++e) {
        size_t at = rng() % b.size();
        switch (rng() % 4) {
          case 0:
            b[at] = static_cast<std::byte>(rng());
            break;
          case 1:
            b[at] = std::byte{0xff};
            break;
          case 2:
            b.resize(at);
            break;
          default:
            b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::byte>(rng()));
            break;
        }
      }
      test::reset_largest_allocation();
      reader r(b);
      M out;
      (void)out.decode(r, v);
      EXPECT_LT(test::largest_allocation(), small_allocation + 64 * b.size());
    }
  }
}

}  // namespace
}  // namespace strom::kafka::protocol
