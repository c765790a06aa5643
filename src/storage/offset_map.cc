#include "strom/storage/offset_map.h"

#include <algorithm>

#include <fmt/format.h>

#include "strom/storage/errc.h"

namespace strom::storage {

using model::kafka_next_offset;
using model::kafka_offset;
using model::raft_index;

int64_t offset_map::end_delta() const {
  return entries_.empty() ? base_delta_ : delta_after(entries_.size() - 1);
}

result<raft_index> offset_map::add(kafka_next_offset position, std::optional<raft_index> expected) {
  if (!entries_.empty() && position < entries_.back().position) {
    return error(errc::index_mismatch,
                 fmt::format("internal entry at {} before the previous one at {}", position.value(),
                             entries_.back().position.value()));
  }
  raft_index index(position.value() + end_delta());
  if (expected && *expected != index) {
    return error(errc::index_mismatch,
                 fmt::format("internal entry at Kafka position {} carries Raft index {}, the "
                             "log's next index there is {}",
                             position.value(), expected->value(), index.value()));
  }
  entries_.push_back({index, position});
  return index;
}

raft_index offset_map::to_raft(kafka_offset o) const {
  // The last entry positioned at or before `o` (those at `o` come before the record).
  auto it =
      std::upper_bound(entries_.begin(), entries_.end(), o.value(),
                       [](int64_t v, const internal_entry& e) { return v < e.position.value(); });
  int64_t delta = it == entries_.begin()
                      ? base_delta_
                      : delta_after(static_cast<size_t>(std::prev(it) - entries_.begin()));
  return raft_index(o.value() + delta);
}

raft_index offset_map::first_index_at(kafka_next_offset p) const {
  auto it =
      std::lower_bound(entries_.begin(), entries_.end(), p.value(),
                       [](const internal_entry& e, int64_t v) { return e.position.value() < v; });
  int64_t delta = it == entries_.begin()
                      ? base_delta_
                      : delta_after(static_cast<size_t>(std::prev(it) - entries_.begin()));
  return raft_index(p.value() + delta);
}

offset_map::location offset_map::locate(raft_index i) const {
  auto it =
      std::upper_bound(entries_.begin(), entries_.end(), i.value(),
                       [](int64_t v, const internal_entry& e) { return v < e.index.value(); });
  if (it == entries_.begin())
    return location{kafka_next_offset(i.value() - base_delta_), false};
  auto k = static_cast<size_t>(std::prev(it) - entries_.begin());
  if (entries_[k].index == i)
    return location{entries_[k].position, true};
  return location{kafka_next_offset(i.value() - delta_after(k)), false};
}

void offset_map::truncate(raft_index first_removed) {
  std::erase_if(entries_, [&](const internal_entry& e) { return e.index >= first_removed; });
}

void offset_map::truncate_at_position(kafka_next_offset p) {
  std::erase_if(entries_, [&](const internal_entry& e) { return e.position >= p; });
}

void offset_map::drop_before(raft_index first_kept) {
  auto it =
      std::lower_bound(entries_.begin(), entries_.end(), first_kept.value(),
                       [](const internal_entry& e, int64_t v) { return e.index.value() < v; });
  if (it == entries_.begin())
    return;
  base_delta_ = delta_after(static_cast<size_t>(std::prev(it) - entries_.begin()));
  entries_.erase(entries_.begin(), it);
}

}  // namespace strom::storage
