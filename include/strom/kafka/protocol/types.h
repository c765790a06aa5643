#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <variant>
#include <vector>

namespace strom::kafka::protocol {

/// Kafka UUID (topic ids, directory ids): 16 raw bytes; all zero means "no id".
struct uuid {
  std::array<std::byte, 16> bytes{};

  [[nodiscard]] bool is_zero() const {
    for (std::byte b : bytes) {
      if (b != std::byte{0}) {
        return false;
      }
    }
    return true;
  }
  friend bool operator==(const uuid&, const uuid&) = default;
};

/// A byte range of an open file, sent with sendfile(2) by the network layer. `keepalive` owns
/// whatever keeps `fd` open and the bytes valid (e.g. a segment reader handle) until the frame
/// holding the range has been written or dropped.
struct file_range {
  std::shared_ptr<const void> keepalive;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

/// A byte range in memory. `keepalive` owns the memory when set; when empty, whoever built
/// the value keeps the memory alive (a decoded message points into the caller's buffer).
struct memory_range {
  std::shared_ptr<const void> keepalive;
  std::span<const std::byte> data;
};

/// The value of a RECORDS field: zero or more record batches, back to back.
///
/// Decoding never copies: the value is one memory_range pointing into the decoded buffer,
/// which the caller must keep alive as long as the value is used (`view()` gives the span).
/// For encoding, a value is an ordered list of pieces, each in memory or a file range, so a
/// Fetch response can be sent with sendfile; the writer turns file ranges into frame chunks.
///
/// A default-constructed value is empty and not null (Kafka sends empty record sets, not
/// null, in Fetch responses); `records::null()` is the null value.
class records {
 public:
  using piece = std::variant<memory_range, file_range>;

  records() = default;
  /// One memory piece. Without `keepalive`, the caller keeps `data` alive.
  explicit records(std::span<const std::byte> data, std::shared_ptr<const void> keepalive = {});
  [[nodiscard]] static records null();

  [[nodiscard]] bool is_null() const { return null_; }
  /// Total length in bytes of all pieces (0 when null).
  [[nodiscard]] uint64_t size_bytes() const { return size_; }
  [[nodiscard]] const std::vector<piece>& pieces() const { return pieces_; }
  /// True when no piece is a file range.
  [[nodiscard]] bool in_memory() const;
  /// True when the bytes are one span in memory (null, empty, or one memory piece); always
  /// so for decoded values.
  [[nodiscard]] bool contiguous() const;
  /// The bytes as one span (empty when null or empty). REQUIRES: contiguous().
  [[nodiscard]] std::span<const std::byte> view() const;

  /// Appends a piece; the value stops being null. Empty pieces are dropped.
  void append(std::span<const std::byte> data, std::shared_ptr<const void> keepalive = {});
  void append(file_range range);
  /// Drops all pieces and makes the value null.
  void set_null();

  /// Same null-ness and same bytes; file pieces compare by fd, offset and length.
  friend bool operator==(const records& a, const records& b);

 private:
  std::vector<piece> pieces_;
  uint64_t size_ = 0;
  bool null_ = false;
};

}  // namespace strom::kafka::protocol
