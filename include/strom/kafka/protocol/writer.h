#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "strom/base/result.h"
#include "strom/kafka/protocol/types.h"

namespace strom::kafka::protocol {

/// An encoded message ready to send: an ordered list of chunks, each an owned byte buffer
/// or a file range (for sendfile), starting with the 4-byte size prefix. The total length is
/// known up front, which is what lets the prefix be written before file data is read. A frame
/// owns its buffers; file chunks hold their keepalive until the frame is destroyed.
class frame {
 public:
  using chunk = std::variant<std::vector<std::byte>, file_range>;
  /// Reads `range` into `out` (exactly range.length bytes), e.g. with pread(2).
  using read_fn = std::function<status(const file_range& range, std::span<std::byte> out)>;

  frame() = default;

  [[nodiscard]] const std::vector<chunk>& chunks() const { return chunks_; }
  /// Moves the chunks out (the first one starts with the size prefix); the frame is left empty.
  [[nodiscard]] std::vector<chunk> take_chunks() && {
    size_ = 0;
    return std::move(chunks_);
  }
  /// Total bytes, size prefix included.
  [[nodiscard]] uint64_t size_bytes() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  /// All bytes in one buffer (tests, tools). File ranges are read with `read_file`; a frame
  /// with file ranges and no `read_file` is an error. This module does no I/O itself.
  [[nodiscard]] result<std::vector<std::byte>> flatten(const read_fn& read_file = {}) const;

 private:
  friend class writer;
  std::vector<chunk> chunks_;
  uint64_t size_ = 0;
};

/// Appends Kafka primitive types to a growable buffer. Records pieces in memory are copied;
/// file pieces become separate chunks so they can be sent with sendfile. A writer owns its
/// buffer and is used by one thread.
///
/// Writing never aborts. A field its length prefix cannot carry (an array, bytes or records
/// of INT32_MAX or more), or output beyond the writer's limit, puts the writer in a failed
/// state: later writes are dropped (so nothing grows past the limit) and finish_frame()
/// returns an error that the caller maps to a Kafka error. Short strings are coerced
/// (documented per function).
class writer {
 public:
  writer() = default;
  /// The largest frame a Kafka size prefix can announce, prefix included.
  static constexpr uint64_t max_frame_bytes = uint64_t{std::numeric_limits<int32_t>::max()} + 4;

  /// A writer for a whole frame: writes a 4-byte placeholder that finish_frame() fills with
  /// the size of everything after it. Output beyond `limit` bytes (prefix included) fails.
  [[nodiscard]] static writer for_frame(uint64_t limit = max_frame_bytes);

  void write_int8(int8_t v);
  void write_bool(bool v) { write_int8(v ? 1 : 0); }
  void write_int16(int16_t v);
  void write_int32(int32_t v);
  void write_int64(int64_t v);
  void write_uint16(uint16_t v) { write_int16(static_cast<int16_t>(v)); }
  void write_uint32(uint32_t v) { write_int32(static_cast<int32_t>(v)); }
  void write_float64(double v);
  void write_uuid(const uuid& v);
  void write_varint(int32_t v) { write_varlong(v); }
  void write_varlong(int64_t v);
  void write_unsigned_varint(uint32_t v);

  /// STRING or COMPACT_STRING. A non-compact string longer than 32767 bytes is truncated.
  void write_string(std::string_view s, bool compact);
  void write_null_string(bool compact);
  /// BYTES or COMPACT_BYTES.
  void write_bytes(std::span<const std::byte> b, bool compact);
  void write_null_bytes(bool compact);
  /// RECORDS (nullable bytes, compact in flexible versions).
  void write_records(const records& r, bool compact);
  /// ARRAY or COMPACT_ARRAY header.
  void write_array_length(size_t n, bool compact);
  void write_null_array(bool compact);
  void write_raw(std::span<const std::byte> b);
  /// One field of a tagged-field section: tag, size, then the bytes of `field`.
  /// REQUIRES: field.in_memory().
  void write_tagged_field(uint32_t tag, const writer& field);

  /// Why writing failed; empty while it has not.
  [[nodiscard]] const std::string& failure() const { return failure_; }
  [[nodiscard]] bool failed() const { return !failure_.empty(); }
  /// Bytes written so far, file ranges included.
  [[nodiscard]] uint64_t size() const { return sealed_ + buf_.size(); }
  /// True when no file range was written.
  [[nodiscard]] bool in_memory() const { return chunks_.empty(); }
  /// The bytes written. REQUIRES: in_memory().
  [[nodiscard]] std::span<const std::byte> memory() const;
  [[nodiscard]] std::vector<std::byte> take_memory() &&;
  /// Fills in the size prefix and returns the frame; an error when writing failed (see the
  /// class comment). REQUIRES: made by for_frame().
  [[nodiscard]] result<frame> finish_frame() &&;

 private:
  /// Room for `n` more bytes at the end of buf_; nullptr (and the writer failed) when that
  /// would pass the limit or the writer already failed.
  std::byte* grow(size_t n);
  /// Whether `n` more bytes fit under the limit; fails the writer when not.
  bool admit(uint64_t n);
  void fail(std::string why);

  std::vector<std::byte> buf_;
  std::vector<frame::chunk> chunks_;  // sealed chunks before buf_
  uint64_t sealed_ = 0;
  uint64_t limit_ = max_frame_bytes;
  std::string failure_;
  bool framed_ = false;
};

}  // namespace strom::kafka::protocol
