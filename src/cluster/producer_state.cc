#include "strom/cluster/producer_state.h"

#include <fmt/format.h>

#include "strom/base/saturating.h"
#include "strom/bytes/endian.h"

namespace strom::cluster {

namespace {
class producer_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.producer"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<producer_errc>(c)) {
      case producer_errc::out_of_order_sequence:
        return "out of order sequence number";
      case producer_errc::invalid_producer_epoch:
        return "invalid producer epoch";
      case producer_errc::invalid_sequence:
        return "invalid sequence number";
    }
    return "producer error";
  }
};

int32_t last_sequence(const model::batch_header& h) {
  // Sequences wrap around at INT32_MAX, as in Kafka.
  int64_t last = int64_t{h.base_sequence} + h.last_offset_delta;
  return static_cast<int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last);
}

int32_t next_sequence(int32_t s) {
  return s == INT32_MAX ? 0 : s + 1;
}
}  // namespace

const std::error_category& producer_category() {
  static producer_category_impl c;
  return c;
}

void producer_state::set_limits(limits l) {
  limits_ = l;
  while (by_id_.size() > std::max<size_t>(limits_.max_producers, 1))
    make_room();
}

const producer_state::producer* producer_state::find(int64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &*it->second;
}

result<std::optional<producer_state::batch_meta>> producer_state::check(
    const model::batch_header& h) const {
  if (h.producer_id < 0)
    return std::optional<batch_meta>{};
  if (h.base_sequence < 0) {
    return error(producer_errc::invalid_sequence,
                 fmt::format("producer {} sent base sequence {}", h.producer_id, h.base_sequence));
  }
  const auto* e = find(h.producer_id);
  if (e == nullptr) {
    // Unknown (never seen, expired or evicted): any sequence is accepted, as in Kafka 3.x.
    return std::optional<batch_meta>{};
  }
  if (h.producer_epoch < e->epoch) {
    return error(producer_errc::invalid_producer_epoch,
                 fmt::format("producer {} epoch {} is older than {}", h.producer_id,
                             h.producer_epoch, e->epoch));
  }
  if (h.producer_epoch > e->epoch) {
    if (h.base_sequence != 0) {
      return error(producer_errc::out_of_order_sequence,
                   fmt::format("producer {} epoch {} starts at sequence {}, expected 0",
                               h.producer_id, h.producer_epoch, h.base_sequence));
    }
    return std::optional<batch_meta>{};
  }
  auto last = last_sequence(h);
  for (size_t i = 0; i < e->count; ++i) {
    const auto& b = e->batches[i];
    if (b.first_seq == h.base_sequence && b.last_seq == last)
      return std::optional(b);
  }
  if (e->count > 0) {
    auto expected = next_sequence(e->batches[e->count - 1].last_seq);
    if (h.base_sequence != expected) {
      return error(producer_errc::out_of_order_sequence,
                   fmt::format("producer {} sent sequence {}, expected {}", h.producer_id,
                               h.base_sequence, expected));
    }
  }
  return std::optional<batch_meta>{};
}

void producer_state::make_room() {
  by_id_.erase(lru_.front().id);
  lru_.pop_front();
  ++evicted_;
}

void producer_state::record(const model::batch_header& h, timestamp_ms now) {
  if (h.producer_id < 0 || h.is_internal())
    return;
  auto it = by_id_.find(h.producer_id);
  if (it == by_id_.end()) {
    while (by_id_.size() >= std::max<size_t>(limits_.max_producers, 1))
      make_room();
    lru_.push_back(producer{h.producer_id, h.producer_epoch, now, {}, 0});
    it = by_id_.emplace(h.producer_id, std::prev(lru_.end())).first;
  } else {
    lru_.splice(lru_.end(), lru_, it->second);  // most recently appending: last
  }
  auto& e = *it->second;
  e.last_seen = now;
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.count = 0;
  }
  batch_meta m{h.base_sequence, last_sequence(h), h.base_offset,
               h.base_offset + h.last_offset_delta};
  if (e.count == remembered_batches) {
    std::move(e.batches.begin() + 1, e.batches.end(), e.batches.begin());
    e.batches[remembered_batches - 1] = m;
  } else {
    e.batches[e.count++] = m;
  }
}

size_t producer_state::expire(timestamp_ms now) {
  // The list is in order of appends, and so (the broker's clock moving forward) of last_seen:
  // the idle ones are at its front.
  size_t n = 0;
  while (!lru_.empty() && sat_sub(now, lru_.front().last_seen) >= limits_.expiration_ms) {
    by_id_.erase(lru_.front().id);
    lru_.pop_front();
    ++n;
  }
  return n;
}

void producer_state::sort_by_last_seen() {
  // std::list::sort keeps iterators valid: by_id_ stays right.
  lru_.sort([](const producer& a, const producer& b) { return a.last_seen < b.last_seen; });
}

namespace {
// Payload: count u32, then per producer: id i64, epoch i16, last_seen i64, batches u8, and per
// batch: first_seq i32, last_seq i32, base_offset i64, last_offset i64 (big-endian).
constexpr size_t producer_fixed = 8 + 2 + 8 + 1;
constexpr size_t batch_bytes = 4 + 4 + 8 + 8;
}  // namespace

size_t producer_state::encoded_size_bound(size_t producers) {
  return 4 + producers * (producer_fixed + remembered_batches * batch_bytes);
}

std::vector<std::byte> producer_state::encode() const {
  std::vector<std::byte> out(4);
  bytes::write_be<uint32_t>(out.data(), static_cast<uint32_t>(lru_.size()));
  for (const auto& e : lru_) {
    auto at = out.size();
    out.resize(at + producer_fixed + e.count * batch_bytes);
    auto* p = out.data() + at;
    bytes::write_be<int64_t>(p, e.id);
    bytes::write_be<int16_t>(p + 8, e.epoch);
    bytes::write_be<int64_t>(p + 10, e.last_seen);
    p[18] = static_cast<std::byte>(e.count);
    p += producer_fixed;
    for (size_t i = 0; i < e.count; ++i, p += batch_bytes) {
      bytes::write_be<int32_t>(p, e.batches[i].first_seq);
      bytes::write_be<int32_t>(p + 4, e.batches[i].last_seq);
      bytes::write_be<int64_t>(p + 8, e.batches[i].base_offset);
      bytes::write_be<int64_t>(p + 16, e.batches[i].last_offset);
    }
  }
  return out;
}

status producer_state::decode(std::span<const std::byte> in) {
  auto bad = [](std::string_view why) {
    return error(std::make_error_code(std::errc::illegal_byte_sequence),
                 fmt::format("producer state snapshot: {}", why));
  };
  if (in.size() < 4)
    return bad("no producer count");
  auto count = bytes::read_be<uint32_t>(in.data());
  // Each producer takes at least producer_fixed bytes: check before reserving anything.
  if (count > (in.size() - 4) / producer_fixed)
    return bad(fmt::format("{} producers do not fit {} bytes", count, in.size()));
  lru_list decoded;
  std::unordered_map<int64_t, lru_list::iterator> index;
  index.reserve(count);
  size_t pos = 4;
  for (uint32_t n = 0; n < count; ++n) {
    if (in.size() - pos < producer_fixed)
      return bad("truncated producer");
    const auto* p = in.data() + pos;
    producer e;
    e.id = bytes::read_be<int64_t>(p);
    e.epoch = bytes::read_be<int16_t>(p + 8);
    e.last_seen = bytes::read_be<int64_t>(p + 10);
    e.count = static_cast<uint8_t>(p[18]);
    pos += producer_fixed;
    if (e.id < 0 || e.count > remembered_batches)
      return bad(fmt::format("producer {} with {} batches", e.id, e.count));
    if ((in.size() - pos) / batch_bytes < e.count)
      return bad("truncated batches");
    for (size_t i = 0; i < e.count; ++i, pos += batch_bytes) {
      const auto* b = in.data() + pos;
      e.batches[i] = {bytes::read_be<int32_t>(b), bytes::read_be<int32_t>(b + 4),
                      bytes::read_be<int64_t>(b + 8), bytes::read_be<int64_t>(b + 16)};
    }
    decoded.push_back(e);
    if (!index.emplace(e.id, std::prev(decoded.end())).second)
      return bad(fmt::format("producer {} twice", e.id));
  }
  if (pos != in.size())
    return bad("bytes after the last producer");
  lru_.swap(decoded);
  by_id_.swap(index);
  while (by_id_.size() > std::max<size_t>(limits_.max_producers, 1))
    make_room();
  return ok();
}

}  // namespace strom::cluster
