#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "strom/kafka/protocol/reader.h"
#include "strom/kafka/protocol/writer.h"
#include "test_util.h"

namespace strom::kafka::protocol {
namespace {

using test::bytes_of;
using test::hex;

TEST(Primitives, FixedWidthBigEndian) {
  writer w;
  w.write_int8(-2);
  w.write_bool(true);
  w.write_int16(0x1234);
  w.write_int32(-2);
  w.write_int64(0x0102030405060708);
  w.write_uint32(0xfedcba98);
  w.write_float64(1.5);
  EXPECT_EQ(hex(w.memory()),
            "fe 01 12 34 ff ff ff fe 01 02 03 04 05 06 07 08 fe dc ba 98 3f f8 00 00 00 00 00 00");
  reader r(w.memory());
  EXPECT_EQ(r.read_int8(), -2);
  EXPECT_TRUE(r.read_bool());
  EXPECT_EQ(r.read_int16(), 0x1234);
  EXPECT_EQ(r.read_int32(), -2);
  EXPECT_EQ(r.read_int64(), 0x0102030405060708);
  EXPECT_EQ(r.read_uint32(), 0xfedcba98u);
  EXPECT_EQ(r.read_float64(), 1.5);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.check());
}

TEST(Primitives, BoolReadsAnyNonZeroAsTrue) {
  auto b = bytes_of({0x00, 0x01, 0x7f});
  reader r(b);
  EXPECT_FALSE(r.read_bool());
  EXPECT_TRUE(r.read_bool());
  EXPECT_TRUE(r.read_bool());
}

TEST(Primitives, VarintExamplesFromTheSpec) {
  struct example {
    int32_t value;
    const char* encoded;
  };
  for (auto [v, enc] :
       {example{0, "00"}, example{-1, "01"}, example{1, "02"}, example{-2, "03"},
        example{300, "d8 04"}, example{std::numeric_limits<int32_t>::min(), "ff ff ff ff 0f"}}) {
    writer w;
    w.write_varint(v);
    EXPECT_EQ(hex(w.memory()), enc) << v;
    reader r(w.memory());
    EXPECT_EQ(r.read_varint(), v);
    EXPECT_TRUE(r.check());
  }
  writer w;
  w.write_unsigned_varint(300);
  EXPECT_EQ(hex(w.memory()), "ac 02");
  writer l;
  l.write_varlong(std::numeric_limits<int64_t>::min());
  reader r(l.memory());
  EXPECT_EQ(r.read_varlong(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Primitives, CompactEncodingsFromTheSpec) {
  writer w;
  w.write_string("ab", true);
  EXPECT_EQ(hex(w.memory()), "03 61 62");
  writer n;
  n.write_null_string(true);
  EXPECT_EQ(hex(n.memory()), "00");
  writer a;
  a.write_array_length(0, true);
  EXPECT_EQ(hex(a.memory()), "01");
  writer c;
  c.write_string("ab", false);
  c.write_null_string(false);
  c.write_bytes(bytes_of({9}), false);
  c.write_null_bytes(false);
  c.write_null_array(false);
  EXPECT_EQ(hex(c.memory()), "00 02 61 62 ff ff 00 00 00 01 09 ff ff ff ff ff ff ff ff");
}

TEST(Primitives, StringsRoundTrip) {
  for (bool compact : {false, true}) {
    writer w;
    w.write_string("hello", compact);
    w.write_string("", compact);
    w.write_null_string(compact);
    w.write_bytes(bytes_of({1, 2, 3}), compact);
    w.write_null_bytes(compact);
    reader r(w.memory());
    EXPECT_EQ(r.read_string(compact), "hello");
    EXPECT_EQ(r.read_nullable_string(compact), std::optional<std::string>(""));
    EXPECT_EQ(r.read_nullable_string(compact), std::nullopt);
    EXPECT_EQ(r.read_bytes(compact), bytes_of({1, 2, 3}));
    EXPECT_EQ(r.read_nullable_bytes(compact), std::nullopt);
    EXPECT_TRUE(r.check());
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(Primitives, NullWhereNotNullableIsAnError) {
  auto b = bytes_of({0xff, 0xff});
  reader r(b);
  EXPECT_EQ(r.read_string(false), "");
  EXPECT_TRUE(r.check().error().is(errc::unexpected_null));
}

TEST(Primitives, NonCompactStringsAreTruncatedTo32767Bytes) {
  std::string big(40000, 'x');
  writer w;
  w.write_string(big, false);
  EXPECT_EQ(w.size(), 2u + 32767u);
  writer c;
  c.write_string(big, true);
  reader r(c.memory());
  EXPECT_EQ(r.read_string(true), big);
}

TEST(Primitives, Uuid) {
  uuid u;
  EXPECT_TRUE(u.is_zero());
  for (size_t i = 0; i < 16; ++i) {
    u.bytes[i] = static_cast<std::byte>(i + 1);
  }
  writer w;
  w.write_uuid(u);
  reader r(w.memory());
  EXPECT_EQ(r.read_uuid(), u);
  EXPECT_FALSE(u.is_zero());
}

TEST(Primitives, RecordsAreViewsIntoTheInput) {
  writer w;
  auto payload = bytes_of({1, 2, 3, 4});
  w.write_records(records(payload), false);
  w.write_records(records::null(), true);
  w.write_records(records(), true);
  auto buf = std::move(w).take_memory();
  EXPECT_EQ(hex(buf), "00 00 00 04 01 02 03 04 00 01");
  reader r(buf);
  records a = r.read_records(false);
  ASSERT_TRUE(a.contiguous());
  EXPECT_EQ(a.view().data(), buf.data() + 4);  // no copy
  EXPECT_EQ(a.size_bytes(), 4u);
  EXPECT_TRUE(r.read_records(true).is_null());
  records e = r.read_records(true);
  EXPECT_FALSE(e.is_null());
  EXPECT_EQ(e.size_bytes(), 0u);
  EXPECT_TRUE(r.check());
}

TEST(Primitives, RecordsEqualityComparesContentAcrossPieces) {
  auto ab = bytes_of({1, 2, 3, 4});
  auto a1 = bytes_of({1});
  auto a2 = bytes_of({2, 3, 4});
  records one(ab);
  records split;
  split.append(a1);
  split.append(a2);
  EXPECT_EQ(one, split);
  EXPECT_NE(one, records::null());
  EXPECT_NE(records(), records::null());
  EXPECT_EQ(records(), records(std::span<const std::byte>()));
  records f1;
  f1.append(file_range{nullptr, 3, 10, 20});
  records f2;
  f2.append(file_range{nullptr, 3, 10, 20});
  EXPECT_EQ(f1, f2);
  records f3;
  f3.append(file_range{nullptr, 4, 10, 20});
  EXPECT_NE(f1, f3);
  EXPECT_FALSE(f1.in_memory());
  EXPECT_FALSE(f1.contiguous());
}

TEST(Primitives, TaggedFieldsAreSkippedBySize) {
  writer w;
  w.write_unsigned_varint(2);  // two fields
  w.write_unsigned_varint(5);
  w.write_unsigned_varint(3);
  w.write_raw(bytes_of({0xaa, 0xbb, 0xcc}));
  w.write_unsigned_varint(1000);
  w.write_unsigned_varint(0);
  w.write_int32(77);  // after the section
  reader r(w.memory());
  std::vector<uint32_t> seen;
  r.read_tagged_fields([&](uint32_t tag, reader& field) {
    seen.push_back(tag);
    if (tag == 5) {
      EXPECT_EQ(field.remaining(), 3u);
    }
    return false;
  });
  EXPECT_EQ(seen, (std::vector<uint32_t>{5, 1000}));
  EXPECT_EQ(r.read_int32(), 77);
  EXPECT_TRUE(r.check());
}

TEST(Primitives, AFailureInsideATaggedFieldFailsTheReader) {
  auto b = bytes_of({0x01, 0x00, 0x02, 0x05, 0x00, 0x09});
  reader r(b);
  r.read_tagged_fields([](uint32_t, reader& field) {
    field.read_string(true);  // claims 4 bytes, has 1
    return true;
  });
  auto st = r.check();
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().is(errc::truncated));
  EXPECT_NE(st.error().message().find("at byte 4"), std::string::npos) << st.error().message();
}

TEST(Primitives, ErrorsAreSticky) {
  auto b = bytes_of({0x00, 0x01});
  reader r(b);
  EXPECT_EQ(r.read_int32(), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.read_int8(), 0);  // nothing more is read
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.check().error().is(errc::truncated));
}

TEST(Primitives, WriterSizeCountsFileRanges) {
  writer w;
  w.write_int32(1);
  records rec;
  auto mem = bytes_of({7, 7});
  rec.append(mem);
  rec.append(file_range{nullptr, 5, 0, 100});
  w.write_records(rec, false);
  EXPECT_EQ(w.size(), 4u + 4u + 2u + 100u);
  EXPECT_FALSE(w.in_memory());
}

}  // namespace
}  // namespace strom::kafka::protocol
