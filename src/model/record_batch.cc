#include "strom/model/record_batch.h"

#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "strom/bytes/crc32c.h"
#include "strom/bytes/endian.h"
#include "strom/bytes/varint.h"
#include "strom/model/batch_builder.h"
#include "strom/model/compression.h"

namespace strom::model {
namespace {

class batch_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.batch"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<batch_errc>(c)) {
      case batch_errc::truncated:
        return "truncated record batch";
      case batch_errc::bad_length:
        return "invalid record batch length";
      case batch_errc::bad_magic:
        return "unsupported record batch magic";
      case batch_errc::bad_crc:
        return "record batch CRC mismatch";
      case batch_errc::bad_count:
        return "record count inconsistent with last offset delta";
      case batch_errc::bad_attributes:
        return "invalid record batch attributes";
      case batch_errc::too_large:
        return "record batch too large";
      case batch_errc::invalid_record:
        return "invalid record";
      case batch_errc::missing_key:
        return "record without a key";
      case batch_errc::invalid_timestamp:
        return "invalid record timestamp";
      case batch_errc::bad_compression:
        return "corrupt compressed records";
    }
    return "unknown batch error";
  }
};

using bytes::read_be;
using bytes::write_be;
namespace L = batch_layout;

}  // namespace

const std::error_category& batch_category() {
  static batch_category_impl c;
  return c;
}

result<batch_header> decode_header(std::span<const std::byte> in) {
  if (in.size() < L::header_size) {
    return error(batch_errc::truncated,
                 fmt::format("{} bytes, a batch header needs {}", in.size(), L::header_size));
  }
  const std::byte* p = in.data();
  batch_header h;
  h.base_offset = read_be<int64_t>(p + L::base_offset);
  h.batch_length = read_be<int32_t>(p + L::batch_length);
  h.partition_leader_epoch = read_be<int32_t>(p + L::partition_leader_epoch);
  h.magic = read_be<int8_t>(p + L::magic);
  h.crc = read_be<uint32_t>(p + L::crc);
  h.attributes = read_be<int16_t>(p + L::attributes);
  h.last_offset_delta = read_be<int32_t>(p + L::last_offset_delta);
  h.base_timestamp = read_be<int64_t>(p + L::base_timestamp);
  h.max_timestamp = read_be<int64_t>(p + L::max_timestamp);
  h.producer_id = read_be<int64_t>(p + L::producer_id);
  h.producer_epoch = read_be<int16_t>(p + L::producer_epoch);
  h.base_sequence = read_be<int32_t>(p + L::base_sequence);
  h.records_count = read_be<int32_t>(p + L::records_count);
  return h;
}

status check_length(const batch_header& h, size_t max_batch_bytes) {
  if (h.magic != kafka_magic && h.magic != internal_magic) {
    return error(batch_errc::bad_magic, fmt::format("magic {}", h.magic));
  }
  constexpr auto min_length = static_cast<int32_t>(L::header_size - L::log_overhead);
  if (h.batch_length < min_length) {
    return error(batch_errc::bad_length,
                 fmt::format("batchLength {} is below the minimum {}", h.batch_length, min_length));
  }
  if (h.size_bytes() > max_batch_bytes) {
    return error(batch_errc::too_large, fmt::format("batch of {} bytes, the limit is {}",
                                                    h.size_bytes(), max_batch_bytes));
  }
  if (h.base_offset < 0) {
    return error(batch_errc::bad_length, fmt::format("negative base offset {}", h.base_offset));
  }
  return ok();
}

result<batch_header> validate_batch(std::span<const std::byte> batch, size_t max_batch_bytes,
                                    batch_shape shape) {
  auto h = decode_header(batch);
  if (!h)
    return h;
  return validate_batch(batch, *h, max_batch_bytes, shape);
}

result<batch_header> validate_batch(std::span<const std::byte> batch, const batch_header& h,
                                    size_t max_batch_bytes, batch_shape shape) {
  // A batch whose length disagrees with the bytes present is corrupt, whatever it claims;
  // only a complete batch can be too large.
  if (h.batch_length >= 0 && h.size_bytes() != batch.size()) {
    return error(
        batch.size() < h.size_bytes() ? batch_errc::truncated : batch_errc::bad_length,
        fmt::format("batchLength says {} bytes, {} present", h.size_bytes(), batch.size()));
  }
  STROM_TRY(check_length(h, max_batch_bytes));
  uint32_t crc = bytes::crc32c(batch.subspan(L::crc_start));
  if (crc != h.crc) {
    return error(batch_errc::bad_crc,
                 fmt::format("stored {:#010x}, computed {:#010x}", h.crc, crc));
  }
  if (h.is_internal()) {
    if (h.records_count != 0 || h.last_offset_delta != -1) {
      return error(batch_errc::bad_count, "internal entry must span no offsets");
    }
    return h;
  }
  if ((h.attributes & 0x7) > 4) {
    return error(batch_errc::bad_attributes,
                 fmt::format("compression codec {}", h.attributes & 0x7));
  }
  if ((h.attributes & ~0x7f) != 0) {
    return error(batch_errc::bad_attributes,
                 fmt::format("reserved attribute bits set: {:#06x}", h.attributes));
  }
  bool counts_ok =
      shape == batch_shape::produced
          ? h.records_count > 0 && h.records_count == int64_t{h.last_offset_delta} + 1
          : h.records_count >= 0 && h.records_count <= int64_t{h.last_offset_delta} + 1;
  if (h.last_offset_delta < 0 || !counts_ok) {
    return error(batch_errc::bad_count, fmt::format("recordsCount {} with lastOffsetDelta {}",
                                                    h.records_count, h.last_offset_delta));
  }
  return h;
}

void stamp_batch(std::span<std::byte> batch, kafka_offset base, leader_epoch epoch) {
  STROM_ASSERT(batch.size() >= L::header_size, "batch too small to stamp");
  write_be<int64_t>(batch.data() + L::base_offset, base.value());
  write_be<int32_t>(batch.data() + L::partition_leader_epoch, epoch.value());
}

namespace {
void write_header(std::byte* p, int32_t batch_length, int8_t magic, int16_t attributes,
                  int32_t last_offset_delta, int64_t base_ts, int64_t max_ts, int64_t pid,
                  int16_t pepoch, int32_t bseq, int32_t count) {
  write_be<int64_t>(p + L::base_offset, 0);
  write_be<int32_t>(p + L::batch_length, batch_length);
  write_be<int32_t>(p + L::partition_leader_epoch, -1);
  write_be<int8_t>(p + L::magic, magic);
  write_be<int16_t>(p + L::attributes, attributes);
  write_be<int32_t>(p + L::last_offset_delta, last_offset_delta);
  write_be<int64_t>(p + L::base_timestamp, base_ts);
  write_be<int64_t>(p + L::max_timestamp, max_ts);
  write_be<int64_t>(p + L::producer_id, pid);
  write_be<int16_t>(p + L::producer_epoch, pepoch);
  write_be<int32_t>(p + L::base_sequence, bseq);
  write_be<int32_t>(p + L::records_count, count);
}

void fill_crc(std::span<std::byte> batch) {
  write_be<uint32_t>(batch.data() + L::crc, bytes::crc32c(batch.subspan(L::crc_start)));
}
}  // namespace

void rewrite_timestamps(std::span<std::byte> batch, int16_t attributes,
                        timestamp_ms max_timestamp) {
  STROM_ASSERT(batch.size() >= L::header_size, "batch too small");
  write_be<int16_t>(batch.data() + L::attributes, attributes);
  write_be<int64_t>(batch.data() + L::max_timestamp, max_timestamp);
  fill_crc(batch);
}

void set_log_append_time(std::span<std::byte> batch, timestamp_ms now) {
  STROM_ASSERT(batch.size() >= L::header_size, "batch too small");
  auto attrs = read_be<int16_t>(batch.data() + L::attributes);
  rewrite_timestamps(batch, static_cast<int16_t>(attrs | 0x08), now);
}

std::vector<std::byte> encode_batch(const batch_header& h, std::span<const std::byte> records) {
  std::vector<std::byte> out(L::header_size + records.size());
  write_header(out.data(), static_cast<int32_t>(out.size() - L::log_overhead), h.magic,
               h.attributes, h.last_offset_delta, h.base_timestamp, h.max_timestamp, h.producer_id,
               h.producer_epoch, h.base_sequence, h.records_count);
  if (!records.empty())
    std::memcpy(out.data() + L::header_size, records.data(), records.size());
  fill_crc(out);
  write_be<int64_t>(out.data() + L::base_offset, h.base_offset);
  write_be<int32_t>(out.data() + L::partition_leader_epoch, h.partition_leader_epoch);
  return out;
}

std::vector<std::byte> make_internal_entry(internal_kind kind, kafka_next_offset position,
                                           leader_epoch epoch, timestamp_ms now,
                                           std::span<const std::byte> payload,
                                           std::optional<raft_index> index) {
  std::vector<std::byte> out(L::header_size + payload.size());
  write_header(out.data(), static_cast<int32_t>(out.size() - L::log_overhead), internal_magic,
               static_cast<int16_t>(kind), -1, now, now, index ? index->value() : -1, -1, -1, 0);
  if (!payload.empty())
    std::memcpy(out.data() + L::header_size, payload.data(), payload.size());
  fill_crc(out);
  stamp_batch(out, kafka_offset(position.value()), epoch);
  return out;
}

// --- batch_builder ---------------------------------------------------------------------------

batch_builder& batch_builder::add(std::optional<std::string_view> key,
                                  std::optional<std::string_view> value, timestamp_ms ts) {
  std::byte tmp[10];
  std::vector<std::byte> body;
  auto put_varlong = [&](int64_t v) {
    size_t n = bytes::encode_varlong(v, tmp);
    body.insert(body.end(), tmp, tmp + n);
  };
  auto put_bytes = [&](std::optional<std::string_view> s) {
    if (!s) {
      put_varlong(-1);
      return;
    }
    put_varlong(static_cast<int64_t>(s->size()));
    auto b = std::as_bytes(std::span(s->data(), s->size()));
    body.insert(body.end(), b.begin(), b.end());
  };
  body.push_back(std::byte{0});  // record attributes
  put_varlong(ts - base_ts_);
  put_varlong(static_cast<int64_t>(count_));
  put_bytes(key);
  put_bytes(value);
  put_varlong(0);  // headers
  size_t n = bytes::encode_varlong(static_cast<int64_t>(body.size()), tmp);
  records_.insert(records_.end(), tmp, tmp + n);
  records_.insert(records_.end(), body.begin(), body.end());
  max_ts_ = std::max(max_ts_, ts);
  ++count_;
  return *this;
}

batch_builder& batch_builder::producer(int64_t id, int16_t epoch, int32_t base_sequence) {
  producer_id_ = id;
  producer_epoch_ = epoch;
  base_sequence_ = base_sequence;
  return *this;
}

std::vector<std::byte> batch_builder::build() const {
  STROM_ASSERT(count_ > 0, "a batch needs at least one record");
  std::vector<std::byte> packed;
  std::span<const std::byte> body = records_;
  if (codec_ != compression::none) {
    auto c = compress(codec_, records_);
    STROM_ASSERT(c.has_value(), "compression failed: {}", c.error().message());
    packed = std::move(*c);
    body = packed;
  }
  std::vector<std::byte> out(L::header_size + body.size());
  write_header(out.data(), static_cast<int32_t>(out.size() - L::log_overhead), kafka_magic,
               static_cast<int16_t>(codec_), static_cast<int32_t>(count_ - 1), base_ts_, max_ts_,
               producer_id_, producer_epoch_, base_sequence_, static_cast<int32_t>(count_));
  std::memcpy(out.data() + L::header_size, body.data(), body.size());
  fill_crc(out);
  return out;
}

void batch_builder::reset() {
  records_.clear();
  count_ = 0;
  max_ts_ = -1;
}

}  // namespace strom::model
