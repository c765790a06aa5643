#include "strom/cluster/producer_state.h"

#include <fmt/format.h>

#include "strom/base/saturating.h"

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

}  // namespace strom::cluster
