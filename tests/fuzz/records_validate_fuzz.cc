// libFuzzer target for the validation of produced batches (built with clang only).
//
// Input: a selector byte, then either a whole batch as a client would send it (selector bit 3
// clear) or a record count byte and a records section that the target wraps in a batch with
// a valid header and CRC, compressed with the codec the selector names (bit 3 set): so that
// the fuzzer reaches the record parser, inside compressed batches too, instead of stopping
// at the CRC. Other selector bits choose the policy: internal origin, compacted topic,
// LogAppendTime topic, and the LogAppendTime attribute.
//
// Checks: validation never crashes, reads out of bounds or allocates without bound (the
// test runs with a malloc limit; decompression is capped at 1 MiB here); at most
// max_record_errors record errors are reported; a batch it accepts is a valid batch (CRC,
// counts) whose header is what the bytes say, and it iterates without error: exactly
// recordsCount records with offset deltas 0..n-1, keys present when the topic is compacted,
// maxTimestamp the largest record timestamp.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "strom/bytes/endian.h"
#include "strom/model/compression.h"
#include "strom/model/record_batch.h"
#include "strom/model/records.h"
#include "strom/model/validated_batch.h"

using namespace strom;
using namespace strom::model;

namespace {

constexpr size_t max_inflated = 1 << 20;

void check(bool ok) {
  if (!ok)
    std::abort();
}

/// Wraps a records section in a batch with a valid header and CRC.
std::vector<std::byte> wrap(std::span<const std::byte> records, uint8_t selector, int32_t count) {
  auto codec = static_cast<uint8_t>((selector >> 4) & 0x7);
  std::vector<std::byte> body(records.begin(), records.end());
  if (codec >= 1 && codec <= 4) {
    auto c = compress(static_cast<compression>(codec), records);
    check(c.has_value());
    body = std::move(*c);
  }
  batch_header h;
  h.base_offset = 0;
  h.attributes = static_cast<int16_t>(codec | ((selector & 0x80) ? 0x08 : 0));
  h.records_count = count;
  h.last_offset_delta = count - 1;
  h.base_timestamp = 1'700'000'000'000;
  h.max_timestamp = h.base_timestamp;
  return encode_batch(h, body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const uint8_t selector = data[0];
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  std::vector<std::byte> batch;
  if ((selector & 0x08) == 0) {
    batch.assign(in.begin(), in.end());
  } else {
    if (in.empty())
      return 0;
    batch = wrap(in.subspan(1), selector, static_cast<int32_t>(std::to_integer<uint8_t>(in[0])));
  }

  validation_policy p;
  p.origin = (selector & 0x01) ? append_origin::internal : append_origin::client;
  p.compacted = (selector & 0x02) != 0;
  p.log_append_time = (selector & 0x04) != 0;
  p.max_batch_bytes = 1 << 20;
  p.max_decompressed_bytes = max_inflated;

  std::vector<record_error> errors;
  auto v = validate_for_append(batch, p, &errors);
  check(errors.size() <= max_record_errors);
  if (!v)
    return 0;

  // An accepted batch is a valid batch whose header is what its bytes say.
  check(v->size_bytes() == batch.size());
  auto h = validate_batch(batch, p.max_batch_bytes);
  check(h.has_value());
  check(h->crc == v->header().crc && h->max_timestamp == v->header().max_timestamp &&
        h->attributes == v->header().attributes && h->records_count == v->header().records_count);
  check(h->magic == kafka_magic);
  check(p.log_append_time || !h->log_append_time());

  // ... and its records iterate without error, as validated.
  auto recs = records_section(batch, *h, max_inflated);
  check(recs.has_value());
  int64_t n = 0;
  timestamp_ms max_ts = -1;
  bool keyed = true;
  auto s = for_each_record_in(*recs, *h, [&](const record_view& r) {
    check(r.offset_delta == n);
    check(r.body.size() >= r.key_pos);
    max_ts = std::max(max_ts, h->base_timestamp + r.timestamp_delta);
    keyed = keyed && r.key.has_value();
    ++n;
    return true;
  });
  check(s.has_value());
  check(n == h->records_count);
  check(keyed == v->all_keyed());
  check(!p.compacted || keyed);
  if (!p.log_append_time)
    check(h->max_timestamp == max_ts);

  // Stamping and LogAppendTime keep it valid.
  v->set_log_append_time(42);
  v->stamp(kafka_offset(7), leader_epoch(3));
  auto again = validate_batch(batch, p.max_batch_bytes);
  check(again.has_value() && again->base_offset == 7 && again->max_timestamp == 42);
  return 0;
}
