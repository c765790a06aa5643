#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "strom/bytes/crc32c.h"
#include "strom/bytes/endian.h"
#include "strom/bytes/varint.h"

namespace strom::bytes {
namespace {

std::span<const std::byte> as_span(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(as_span("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(as_span("")), 0u);
  std::vector<std::byte> zeros(32, std::byte{0});
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s(10000, 'a');
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<char>(i * 7);
  auto whole = crc32c(as_span(s));
  auto part = crc32c_extend(crc32c(as_span(std::string_view(s).substr(0, 4321))),
                            as_span(std::string_view(s).substr(4321)));
  EXPECT_EQ(whole, part);
}

TEST(Varint, RoundTripAndZigZag) {
  std::byte buf[10];
  for (int64_t v : {0LL, 1LL, -1LL, 63LL, -64LL, 64LL, 300LL, -300LL, 2147483647LL, -2147483648LL,
                    9223372036854775807LL, (-9223372036854775807LL - 1)}) {
    size_t n = encode_varlong(v, buf);
    EXPECT_EQ(n, varlong_size(v));
    auto d = decode_varlong(std::span(buf, n));
    ASSERT_TRUE(d.has_value()) << v;
    EXPECT_EQ(d->value, v);
    EXPECT_EQ(d->length, n);
  }
  encode_varlong(-1, buf);
  EXPECT_EQ(buf[0], std::byte{1});  // zig-zag: -1 -> 1
}

TEST(Varint, RejectsTruncatedAndOverlong) {
  std::byte truncated[] = {std::byte{0x80}, std::byte{0x80}};
  EXPECT_FALSE(decode_varint(truncated).has_value());
  std::byte overlong[6] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                           std::byte{0xff}, std::byte{0xff}, std::byte{0x01}};
  EXPECT_FALSE(decode_varint(overlong).has_value());
  EXPECT_FALSE(decode_varint({}).has_value());
}

TEST(Endian, BigEndianLayout) {
  std::byte buf[8];
  write_be<int32_t>(buf, 0x01020304);
  EXPECT_EQ(buf[0], std::byte{1});
  EXPECT_EQ(buf[3], std::byte{4});
  EXPECT_EQ(read_be<int32_t>(buf), 0x01020304);
  write_be<int64_t>(buf, -2);
  EXPECT_EQ(read_be<int64_t>(buf), -2);
}

}  // namespace
}  // namespace strom::bytes
