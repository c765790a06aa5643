#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace strom::bytes {

/// Bytes that do not change once made, shared by reference count: a copy is a pointer copy,
/// so a value may be held in several places at once (a Raft entry in the leader's unstable
/// entries and in the appends to each follower) without copying its bytes. Compares by
/// content. Any thread may read and copy a value; the count is atomic.
class shared_bytes {
 public:
  shared_bytes() = default;
  // Implicit: a vector becomes shared bytes where a value is assigned or passed.
  shared_bytes(std::vector<std::byte> v)  // NOLINT(google-explicit-constructor)
      : p_(v.empty() ? nullptr : std::make_shared<const std::vector<std::byte>>(std::move(v))) {}

  [[nodiscard]] size_t size() const { return p_ ? p_->size() : 0; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] const std::byte* data() const { return p_ ? p_->data() : nullptr; }
  [[nodiscard]] const std::byte* begin() const { return data(); }
  [[nodiscard]] const std::byte* end() const { return data() + size(); }
  [[nodiscard]] std::span<const std::byte> span() const { return {data(), size()}; }
  [[nodiscard]] const std::byte& operator[](size_t i) const { return data()[i]; }
  operator std::span<const std::byte>() const { return span(); }  // NOLINT

  /// A vector holding the same bytes (a copy).
  [[nodiscard]] std::vector<std::byte> to_vector() const { return {begin(), end()}; }

  friend bool operator==(const shared_bytes& a, const shared_bytes& b) {
    return std::ranges::equal(a.span(), b.span());
  }

 private:
  std::shared_ptr<const std::vector<std::byte>> p_;
};

}  // namespace strom::bytes
