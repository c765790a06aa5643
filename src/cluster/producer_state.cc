#include "strom/cluster/producer_state.h"

#include <fmt/format.h>

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

result<std::optional<producer_state::batch_meta>> producer_state::check(
    const model::batch_header& h) const {
  if (h.producer_id < 0)
    return std::optional<batch_meta>{};
  if (h.base_sequence < 0) {
    return error(producer_errc::invalid_sequence,
                 fmt::format("producer {} sent base sequence {}", h.producer_id, h.base_sequence));
  }
  auto it = producers_.find(h.producer_id);
  if (it == producers_.end() || h.producer_epoch > it->second.epoch) {
    if (h.base_sequence != 0) {
      return error(producer_errc::out_of_order_sequence,
                   fmt::format("producer {} epoch {} starts at sequence {}, expected 0",
                               h.producer_id, h.producer_epoch, h.base_sequence));
    }
    return std::optional<batch_meta>{};
  }
  const auto& e = it->second;
  if (h.producer_epoch < e.epoch) {
    return error(producer_errc::invalid_producer_epoch,
                 fmt::format("producer {} epoch {} is older than {}", h.producer_id,
                             h.producer_epoch, e.epoch));
  }
  auto last = last_sequence(h);
  for (const auto& b : e.batches) {
    if (b.first_seq == h.base_sequence && b.last_seq == last)
      return std::optional(b);
  }
  if (!e.batches.empty() && h.base_sequence != next_sequence(e.batches.back().last_seq)) {
    return error(producer_errc::out_of_order_sequence,
                 fmt::format("producer {} sent sequence {}, expected {}", h.producer_id,
                             h.base_sequence, next_sequence(e.batches.back().last_seq)));
  }
  return std::optional<batch_meta>{};
}

void producer_state::record(const model::batch_header& h) {
  if (h.producer_id < 0 || h.is_internal())
    return;
  auto& e = producers_[h.producer_id];
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.batches.clear();
  }
  e.batches.push_back(
      {h.base_sequence, last_sequence(h), h.base_offset, h.base_offset + h.last_offset_delta});
  if (e.batches.size() > remembered_batches)
    e.batches.pop_front();
}

}  // namespace strom::cluster
