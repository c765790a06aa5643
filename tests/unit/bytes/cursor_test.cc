#include "strom/bytes/cursor.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <limits>
#include <vector>

#include "strom/bytes/varint.h"

namespace strom::bytes {
namespace {

std::vector<std::byte> b(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v)
    out.push_back(static_cast<std::byte>(x));
  return out;
}

std::vector<std::byte> varlong(int64_t v) {
  std::vector<std::byte> out(10);
  out.resize(encode_varlong(v, out.data()));
  return out;
}

TEST(Cursor, BigEndianIntegers) {
  auto in = b({0x80, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0x2a});
  cursor c(in);
  EXPECT_EQ(c.read_int8(), -128);
  EXPECT_EQ(c.read_int16(), 0x0102);
  EXPECT_EQ(c.read_int32(), -2);
  EXPECT_EQ(c.read_int64(), 42);
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(c.at_end());
  EXPECT_TRUE(c.check().has_value());
}

TEST(Cursor, TruncationIsStickyAndNamesThePosition) {
  auto in = b({0, 1, 2});
  cursor c(in);
  EXPECT_EQ(c.read_int16(), 1);
  EXPECT_EQ(c.read_int32(), 0);  // 1 byte left
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.failure(), cursor_errc::truncated);
  // Later reads return defaults without reading, even ones that would fit.
  EXPECT_EQ(c.read_int8(), 0);
  EXPECT_EQ(c.remaining(), 0u);
  auto s = c.check();
  ASSERT_FALSE(s.has_value());
  EXPECT_TRUE(s.error().is(cursor_errc::truncated));
  EXPECT_NE(s.error().detail().find("int32 at byte 2"), std::string::npos) << s.error().detail();
}

TEST(Cursor, EveryFixedReadOfAnEmptySpanFails) {
  std::vector<std::byte> none;
  for (int i = 0; i < 7; ++i) {
    cursor c(none);
    switch (i) {
      case 0:
        (void)c.read_int8();
        break;
      case 1:
        (void)c.read_int16();
        break;
      case 2:
        (void)c.read_int32();
        break;
      case 3:
        (void)c.read_int64();
        break;
      case 4:
        (void)c.read_varint();
        break;
      case 5:
        (void)c.read_varlong();
        break;
      case 6:
        (void)c.read_unsigned_varint();
        break;
    }
    EXPECT_FALSE(c.ok()) << i;
    EXPECT_EQ(c.failure(), cursor_errc::truncated) << i;
  }
}

TEST(Cursor, ZigZagVarints) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{63}, int64_t{-64}, int64_t{64},
                    int64_t{std::numeric_limits<int32_t>::max()},
                    int64_t{std::numeric_limits<int32_t>::min()}}) {
    auto in = varlong(v);
    cursor c(in);
    EXPECT_EQ(c.read_varint(), v);
    EXPECT_TRUE(c.ok() && c.at_end()) << v;
  }
  for (int64_t v : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                    int64_t{1} << 40}) {
    auto in = varlong(v);
    cursor c(in);
    EXPECT_EQ(c.read_varlong(), v);
    EXPECT_TRUE(c.ok() && c.at_end()) << v;
  }
}

TEST(Cursor, OverlongVarintsFail) {
  // Six bytes for a VARINT (the limit is five).
  auto six = b({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  cursor c(six);
  (void)c.read_varint();
  EXPECT_EQ(c.failure(), cursor_errc::invalid_varint);
  // Five bytes whose value needs more than 32 bits.
  auto wide = b({0xff, 0xff, 0xff, 0xff, 0x7f});
  cursor w(wide);
  (void)w.read_varint();
  EXPECT_EQ(w.failure(), cursor_errc::invalid_varint);
  cursor u(wide);
  (void)u.read_unsigned_varint();
  EXPECT_EQ(u.failure(), cursor_errc::invalid_varint);
  // Eleven bytes for a VARLONG (the limit is ten).
  std::vector<std::byte> eleven(10, std::byte{0x80});
  eleven.push_back(std::byte{0});
  cursor l(eleven);
  (void)l.read_varlong();
  EXPECT_EQ(l.failure(), cursor_errc::invalid_varint);
}

TEST(Cursor, TruncatedVarintsAreTruncated) {
  auto cut = b({0x80, 0x80});
  cursor c(cut);
  (void)c.read_varint();
  EXPECT_EQ(c.failure(), cursor_errc::truncated);
  cursor l(cut);
  (void)l.read_varlong();
  EXPECT_EQ(l.failure(), cursor_errc::truncated);
}

TEST(Cursor, LengthPrefixedStringsAndBytes) {
  // int16 "ab", int16 null, int32 bytes {1,2,3}, varint "x", varint null, compact "yz".
  auto in = b({0, 2, 'a', 'b', 0xff, 0xff, 0, 0, 0, 3, 1, 2, 3, 2, 'x', 1, 3, 'y', 'z'});
  cursor c(in);
  EXPECT_EQ(c.read_string(length_prefix::int16), "ab");
  EXPECT_FALSE(c.read_nullable_string(length_prefix::int16).has_value());
  EXPECT_TRUE(c.ok());
  auto bytes = c.read_bytes(length_prefix::int32);
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(bytes[2], std::byte{3});
  EXPECT_EQ(c.read_string(length_prefix::varint), "x");
  EXPECT_FALSE(c.read_nullable_bytes(length_prefix::varint).has_value());
  EXPECT_EQ(c.read_string(length_prefix::unsigned_varint), "yz");
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(c.at_end());
}

TEST(Cursor, NullWhereNoneIsAllowedFails) {
  auto in = b({0xff, 0xff});
  cursor c(in);
  (void)c.read_string(length_prefix::int16);
  EXPECT_EQ(c.failure(), cursor_errc::unexpected_null);
  auto compact_null = b({0});
  cursor d(compact_null);
  (void)d.read_bytes(length_prefix::unsigned_varint);
  EXPECT_EQ(d.failure(), cursor_errc::unexpected_null);
}

TEST(Cursor, NegativeLengthsFail) {
  auto i16 = b({0xff, 0xfe, 'a'});  // -2
  cursor c(i16);
  (void)c.read_nullable_string(length_prefix::int16);
  EXPECT_EQ(c.failure(), cursor_errc::invalid_length);
  auto i32 = b({0x80, 0, 0, 0});  // INT32_MIN
  cursor d(i32);
  (void)d.read_nullable_bytes(length_prefix::int32);
  EXPECT_EQ(d.failure(), cursor_errc::invalid_length);
  auto v = varlong(-5);
  cursor e(v);
  (void)e.read_nullable_bytes(length_prefix::varint);
  EXPECT_EQ(e.failure(), cursor_errc::invalid_length);
  auto count = b({0xff, 0xff, 0xff, 0xfe});
  cursor f(count);
  (void)f.read_count(length_prefix::int32, 1);
  EXPECT_EQ(f.failure(), cursor_errc::invalid_length);
}

TEST(Cursor, Int32MaxLengthsFailBeforeAnyUse) {
  // INT32_MAX announced with a few bytes behind it: never viewed, never allocated.
  auto i32 = b({0x7f, 0xff, 0xff, 0xff, 'a', 'b'});
  cursor c(i32);
  auto r = c.read_nullable_bytes(length_prefix::int32);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(c.failure(), cursor_errc::truncated);
  auto v = varlong(std::numeric_limits<int32_t>::max());
  v.push_back(std::byte{'a'});
  cursor d(v);
  (void)d.read_nullable_string(length_prefix::varint);
  EXPECT_EQ(d.failure(), cursor_errc::truncated);
  auto compact = b({0xff, 0xff, 0xff, 0xff, 0x0f, 'a'});  // UINT32_MAX - 1 bytes
  cursor e(compact);
  (void)e.read_bytes(length_prefix::unsigned_varint);
  EXPECT_EQ(e.failure(), cursor_errc::truncated);
  // A count of INT32_MAX elements of at least one byte each.
  cursor f(i32);
  EXPECT_EQ(f.read_count(length_prefix::int32, 1), -1);
  EXPECT_EQ(f.failure(), cursor_errc::invalid_length);
  // A count that fits the bytes but not with each element's minimum size.
  auto two = b({0, 0, 0, 2, 1, 2, 3});
  cursor g(two);
  EXPECT_EQ(g.read_count(length_prefix::int32, 2), -1);
  cursor h(two);
  EXPECT_EQ(h.read_count(length_prefix::int32, 1), 2);
  EXPECT_TRUE(h.ok());
}

TEST(Cursor, SubCursorsAreBoundedAndReportPositionsInTheOuterSpan) {
  auto in = b({9, 0, 0, 0, 1, 7});
  cursor c(in);
  EXPECT_EQ(c.read_int8(), 9);
  size_t start = c.position();
  cursor inner = c.sub(4);
  EXPECT_EQ(c.position(), 5u);
  EXPECT_EQ(inner.read_int32(), 1);
  (void)inner.read_int8();  // past the sub-span, although the outer one has a byte left
  EXPECT_FALSE(inner.ok());
  c.adopt(inner, start);
  auto s = c.check();
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().detail().find("at byte 5"), std::string::npos) << s.error().detail();

  cursor short_one(in);
  auto bad = short_one.sub(100);
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(short_one.ok());
  EXPECT_EQ(bad.remaining(), 0u);
}

TEST(Cursor, RawReadsAndSkips) {
  auto in = b({1, 2, 3, 4});
  cursor c(in);
  c.skip(1);
  auto r = c.read_raw(2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], std::byte{2});
  c.skip(2);
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace strom::bytes
