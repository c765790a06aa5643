#include "strom/rpc/frame.h"

#include <gtest/gtest.h>

#include "strom/bytes/endian.h"
#include "strom/rpc/errc.h"

namespace strom::rpc {
namespace {

TEST(Frame, RoundTripsEveryField) {
  frame_header h{frame_header::current_version, frame_kind::response, 513,
                 status_code::handler_failed, 0x0102030405060708ULL};
  std::vector<std::byte> payload = {std::byte{1}, std::byte{2}, std::byte{3}};
  auto bytes = encode_frame(h, payload);
  ASSERT_EQ(bytes.size(), frame_header::size_bytes + 3);
  auto size = check_size(std::span<const std::byte, 4>(bytes.data(), 4), 1024);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, bytes.size() - 4);
  auto f = decode_frame(std::span(bytes).subspan(4));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->header.kind, frame_kind::response);
  EXPECT_EQ(f->header.method, 513);
  EXPECT_EQ(f->header.status, status_code::handler_failed);
  EXPECT_EQ(f->header.correlation, 0x0102030405060708ULL);
  EXPECT_EQ(f->payload, payload);
}

TEST(Frame, SizesAreCheckedBeforeAnythingIsAllocated) {
  std::array<std::byte, 4> prefix{};
  bytes::write_be<uint32_t>(prefix.data(), 0xffffffffu);
  auto big = check_size(prefix, 1 << 20);
  ASSERT_FALSE(big.has_value());
  EXPECT_TRUE(big.error().is(errc::frame_too_large));
  bytes::write_be<uint32_t>(prefix.data(), 3);  // shorter than the header
  auto small = check_size(prefix, 1 << 20);
  ASSERT_FALSE(small.has_value());
  EXPECT_TRUE(small.error().is(errc::bad_frame));
}

TEST(Frame, AnUnknownVersionOrKindIsABadFrame) {
  auto bytes = encode_frame(frame_header{}, {});
  auto body = std::vector<std::byte>(bytes.begin() + 4, bytes.end());
  body[0] = std::byte{2};  // version
  EXPECT_FALSE(decode_frame(body).has_value());
  body[0] = std::byte{frame_header::current_version};
  body[1] = std::byte{3};  // kind
  EXPECT_FALSE(decode_frame(body).has_value());
  for (size_t n = 0; n < body.size(); ++n)
    EXPECT_FALSE(decode_frame(std::span(body).first(n)).has_value()) << n;
}

}  // namespace
}  // namespace strom::rpc
