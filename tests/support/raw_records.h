#pragma once

// Hand-made records and batches for tests that need malformed ones: every field is the
// caller's, so a test can put any offset delta, length or header count in a batch with a
// valid CRC.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strom/bytes/varint.h"
#include "strom/model/compression.h"
#include "strom/model/record_batch.h"

namespace strom::test {

inline void put_varlong(std::vector<std::byte>& out, int64_t v) {
  std::byte tmp[10];
  size_t n = bytes::encode_varlong(v, tmp);
  out.insert(out.end(), tmp, tmp + n);
}

inline void put_text(std::vector<std::byte>& out, std::optional<std::string_view> s) {
  if (!s) {
    put_varlong(out, -1);
    return;
  }
  put_varlong(out, static_cast<int64_t>(s->size()));
  for (char c : *s)
    out.push_back(static_cast<std::byte>(c));
}

struct raw_record {
  int64_t offset_delta = 0;
  int64_t timestamp_delta = 0;
  std::optional<std::string> key = "k";
  std::optional<std::string> value = "v";
  std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> headers;
};

/// The record's body (after its length prefix).
inline std::vector<std::byte> record_body(const raw_record& r) {
  std::vector<std::byte> body{std::byte{0}};
  put_varlong(body, r.timestamp_delta);
  put_varlong(body, r.offset_delta);
  put_text(body, r.key);
  put_text(body, r.value);
  put_varlong(body, static_cast<int64_t>(r.headers.size()));
  for (const auto& [k, v] : r.headers) {
    put_text(body, k);
    put_text(body, v);
  }
  return body;
}

/// A length-prefixed record; `length_adjust` is added to the true length in the prefix.
inline std::vector<std::byte> record_bytes(const raw_record& r, int64_t length_adjust = 0) {
  auto body = record_body(r);
  std::vector<std::byte> out;
  put_varlong(out, static_cast<int64_t>(body.size()) + length_adjust);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

/// `n` plain records with offset deltas 0..n-1 and timestamp deltas 0.
inline std::vector<std::byte> plain_records(int n) {
  std::vector<std::byte> out;
  for (int i = 0; i < n; ++i) {
    raw_record r;
    r.offset_delta = i;
    r.key = "k" + std::to_string(i);
    auto b = record_bytes(r);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

struct raw_batch_options {
  int32_t records_count = 1;
  int32_t last_offset_delta = -2;  ///< -2: records_count - 1
  int64_t base_timestamp = 1000;
  int64_t max_timestamp = -2;  ///< -2: base_timestamp
  int16_t attributes = 0;      ///< the codec bits are set from `codec`
  model::compression codec = model::compression::none;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int64_t base_offset = 0;
};

/// A batch around `records` (uncompressed; compressed here when o.codec says so), with a
/// valid CRC whatever the records hold.
inline std::vector<std::byte> raw_batch(const std::vector<std::byte>& records,
                                        const raw_batch_options& o = {}) {
  model::batch_header h;
  h.base_offset = o.base_offset;
  h.attributes = static_cast<int16_t>((o.attributes & ~0x7) | static_cast<int16_t>(o.codec));
  h.records_count = o.records_count;
  h.last_offset_delta = o.last_offset_delta == -2 ? o.records_count - 1 : o.last_offset_delta;
  h.base_timestamp = o.base_timestamp;
  h.max_timestamp = o.max_timestamp == -2 ? o.base_timestamp : o.max_timestamp;
  h.producer_id = o.producer_id;
  h.producer_epoch = o.producer_epoch;
  h.base_sequence = o.base_sequence;
  std::vector<std::byte> body = records;
  if (o.codec != model::compression::none) {
    auto c = model::compress(o.codec, records);
    if (c)
      body = std::move(*c);
  }
  return model::encode_batch(h, body);
}

}  // namespace strom::test
