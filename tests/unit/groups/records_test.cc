#include "strom/groups/records.h"

#include <gtest/gtest.h>

namespace strom::groups {
namespace {

bytes b(std::string_view s) {
  bytes out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

TEST(OffsetsRecords, OffsetKeyAndValueRoundTrip) {
  offset_key k{"group-1", "clicks", 7};
  auto key = decode_key(encode_key(k));
  ASSERT_TRUE(key);
  EXPECT_EQ(std::get<offset_key>(*key), k);

  offset_entry e{12345, 3, "metadata with \xc3\xa9 and \n", 1700000000123};
  auto v = decode_offset_value(encode_offset_value(e));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, e);
}

TEST(OffsetsRecords, GroupValueRoundTrip) {
  group_snapshot g;
  g.protocol_type = "consumer";
  g.generation = 4;
  g.protocol = "range";
  g.leader = "m-1";
  g.state_timestamp = 99;
  g.members.push_back(
      {"m-1", std::nullopt, "client", "/127.0.0.1", 300000, 45000, b("sub"), b("assign")});
  g.members.push_back({"m-2", "static-2", "client", "/127.0.0.1", 1000, 6000, {}, {}});
  EXPECT_EQ(std::get<group_key>(*decode_key(encode_key(group_key{"g"}))).group, "g");
  auto v = decode_group_value(encode_group_value(g));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, g);
}

TEST(OffsetsRecords, KafkaLayoutBytes) {
  // key v1: int16 version, int16 len + "g", int16 len + "t", int32 partition.
  auto key = encode_key(offset_key{"g", "t", 2});
  bytes want{std::byte{0},   std::byte{1}, std::byte{0}, std::byte{1},
             std::byte{'g'}, std::byte{0}, std::byte{1}, std::byte{'t'},
             std::byte{0},   std::byte{0}, std::byte{0}, std::byte{2}};
  EXPECT_EQ(key, want);
}

TEST(OffsetsRecords, TruncatedAndHostileInputFail) {
  auto v = encode_offset_value({1, 2, "abc", 3});
  for (size_t n = 0; n < v.size(); ++n)
    EXPECT_FALSE(decode_offset_value(std::span(v).first(n))) << n;
  // A member count far larger than the bytes left is refused before anything is reserved.
  group_snapshot g;
  g.protocol_type = "consumer";
  auto gv = encode_group_value(g);
  gv[gv.size() - 4] = std::byte{0x7f};
  EXPECT_FALSE(decode_group_value(gv));
  // String length beyond the record.
  bytes k{std::byte{0}, std::byte{2}, std::byte{0x7f}, std::byte{0xff}, std::byte{'g'}};
  EXPECT_FALSE(decode_key(k));
}

TEST(OffsetsRecords, UnknownKeyVersionsAreSkipped) {
  bytes k{std::byte{0}, std::byte{5}, std::byte{0}};
  auto r = decode_key(k);
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*r));
}

TEST(OffsetsRecords, OlderValueVersionsDecode) {
  // offset value v1: offset, metadata, commit ts, expire ts.
  bytes v{std::byte{0}, std::byte{1}};
  auto put = [&](uint64_t x, int n) {
    for (int i = n - 1; i >= 0; --i)
      v.push_back(std::byte((x >> (8 * i)) & 0xff));
  };
  put(42, 8);
  put(1, 2);
  v.push_back(std::byte{'m'});
  put(7, 8);
  put(9, 8);
  auto e = decode_offset_value(v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, 42);
  EXPECT_EQ(e->leader_epoch, -1);
  EXPECT_EQ(e->metadata, "m");
  EXPECT_EQ(e->commit_timestamp, 7);
}

TEST(OffsetsRecords, CompactedStateRoundTripsAndRefusesHostileInput) {
  compacted_state s;
  s[encode_key(group_key{"g"})] = bytes{std::byte{1}, std::byte{2}};
  s[encode_key(offset_key{"g", "t", 3})] = encode_offset_value({42, 7, "m", 1000});
  s[bytes{}] = bytes{};
  auto enc = encode_state(s);
  auto dec = decode_state(enc);
  ASSERT_TRUE(dec) << dec.error().message();
  EXPECT_EQ(*dec, s);
  // No state at all (a snapshot without one) is the empty state.
  auto none = decode_state({});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // Every truncation fails, as do trailing bytes, another version and a count that the bytes
  // cannot hold (refused before anything is allocated).
  for (size_t n = 1; n < enc.size(); ++n)
    EXPECT_FALSE(decode_state(std::span(enc).first(n))) << n;
  auto longer = enc;
  longer.push_back(std::byte{0});
  EXPECT_FALSE(decode_state(longer));
  auto version = enc;
  version[1] = std::byte{2};
  EXPECT_FALSE(decode_state(version));
  bytes huge{std::byte{0},    std::byte{1},    std::byte{0x7f},
             std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  EXPECT_FALSE(decode_state(huge));
}

}  // namespace
}  // namespace strom::groups
