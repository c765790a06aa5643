// shared_bytes: copies share the bytes instead of copying them; values compare by content.
#include "strom/bytes/shared_bytes.h"

#include <gtest/gtest.h>

#include <thread>

namespace strom::bytes {
namespace {

std::vector<std::byte> filled(size_t n, std::byte b) {
  return std::vector<std::byte>(n, b);
}

TEST(SharedBytes, ACopyHoldsTheSameBytesWithoutCopyingThem) {
  shared_bytes a = filled(1 << 20, std::byte{7});
  const std::byte* where = a.data();
  shared_bytes b = a;
  std::vector<shared_bytes> many(8, a);
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(many.back().data(), where);
  EXPECT_EQ(b.size(), size_t{1} << 20);
  EXPECT_EQ(b, a);
  // The bytes live as long as one holder does.
  a = shared_bytes();
  many.clear();
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(b[12345], std::byte{7});
}

TEST(SharedBytes, ValuesCompareByContent) {
  shared_bytes a = filled(3, std::byte{1});
  shared_bytes b = filled(3, std::byte{1});
  shared_bytes c = filled(4, std::byte{1});
  EXPECT_NE(a.data(), b.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(shared_bytes(), shared_bytes(std::vector<std::byte>{}));
  EXPECT_TRUE(shared_bytes().empty());
  EXPECT_EQ(shared_bytes().span().size(), 0u);
  EXPECT_EQ(a.to_vector(), filled(3, std::byte{1}));
}

// Copies made and dropped on several threads at once leave the bytes intact (run under the
// thread sanitizer in CI).
TEST(SharedBytes, ThreadsCopyAndDropOneValue) {
  shared_bytes a = filled(4096, std::byte{3});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([a] {
      for (int i = 0; i < 10000; ++i) {
        shared_bytes copy = a;
        ASSERT_EQ(copy[4095], std::byte{3});
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(a.size(), 4096u);
}

}  // namespace
}  // namespace strom::bytes
