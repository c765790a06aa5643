#include "strom/bytes/cursor.h"

#include <fmt/format.h>

namespace strom::bytes {
namespace {

class cursor_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.bytes"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<cursor_errc>(c)) {
      case cursor_errc::truncated:
        return "truncated input";
      case cursor_errc::invalid_varint:
        return "invalid varint";
      case cursor_errc::invalid_length:
        return "invalid length";
      case cursor_errc::unexpected_null:
        return "unexpected null";
    }
    return "cursor error";
  }
};

}  // namespace

const std::error_category& cursor_category() {
  static cursor_category_impl c;
  return c;
}

status cursor::check() const {
  if (!failed_)
    return strom::ok();
  return error(code_, fmt::format("{} at byte {}", what_, fail_pos_));
}

void cursor::fail(cursor_errc code, const char* what) {
  if (failed_)
    return;
  failed_ = true;
  code_ = code;
  fail_pos_ = pos_;
  what_ = what;
  pos_ = data_.size();  // nothing more to read
}

void cursor::adopt(const cursor& inner, size_t start) {
  if (failed_ || inner.ok())
    return;
  failed_ = true;
  code_ = inner.code_;
  fail_pos_ = start + inner.fail_pos_;
  what_ = inner.what_;
  pos_ = data_.size();
}

void cursor::fail_varint(size_t max_bytes, const char* what) {
  // Truncated only when every byte present continues and fewer than the maximum remain.
  bool all_continue = remaining() < max_bytes;
  for (size_t i = pos_; all_continue && i < data_.size(); ++i)
    all_continue = (static_cast<uint8_t>(data_[i]) & 0x80) != 0;
  fail(all_continue ? cursor_errc::truncated : cursor_errc::invalid_varint, what);
}

std::span<const std::byte> cursor::read_bytes(length_prefix prefix) {
  auto b = read_nullable_bytes(prefix);
  if (!b) {
    fail(cursor_errc::unexpected_null, "bytes");
    return {};
  }
  return *b;
}

std::optional<std::string_view> cursor::read_nullable_string(length_prefix prefix) {
  int64_t n = read_length(prefix, "string");
  if (n < 0)
    return std::nullopt;
  std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(n));
  pos_ += s.size();
  return s;
}

std::string_view cursor::read_string(length_prefix prefix) {
  auto s = read_nullable_string(prefix);
  if (!s) {
    fail(cursor_errc::unexpected_null, "string");
    return {};
  }
  return *s;
}

int64_t cursor::read_count(length_prefix prefix, size_t min_element_size, const char* what) {
  int64_t n = read_prefix(prefix);
  if (failed_)
    return -1;
  if (n < -1) {
    fail(cursor_errc::invalid_length, what);
    return -1;
  }
  size_t min_size = min_element_size == 0 ? 1 : min_element_size;
  if (n > 0 && static_cast<uint64_t>(n) > remaining() / min_size) {
    fail(cursor_errc::invalid_length, what);
    return -1;
  }
  return n;
}

}  // namespace strom::bytes
