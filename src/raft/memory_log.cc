#include "strom/raft/memory_log.h"

#include <algorithm>
#include <utility>

#include "strom/base/assert.h"
#include "strom/raft/errc.h"

namespace strom::raft {

std::optional<size_t> log_image::find(raft_index i) const {
  if (entries.empty() || i < entries.front().index || i > entries.back().last()) {
    return std::nullopt;
  }
  auto it = std::upper_bound(entries.begin(), entries.end(), i,
                             [](raft_index v, const entry& e) { return v < e.index; });
  return static_cast<size_t>(std::distance(entries.begin(), it) - 1);
}

std::optional<term> log_image::term_at(raft_index i) const {
  if (i == snap.meta.last_index) {
    return snap.meta.last_term;
  }
  auto pos = find(i);
  if (!pos) {
    return std::nullopt;
  }
  return entries[*pos].term;
}

void log_image::truncate_suffix(raft_index from) {
  if (from <= snap.meta.last_index) {
    entries.clear();
    return;
  }
  auto pos = find(from);
  if (!pos) {
    return;
  }
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(*pos), entries.end());
}

void log_image::append(const std::vector<entry>& es) {
  for (const auto& e : es) {
    if (e.last() <= snap.meta.last_index) {
      continue;  // covered by a snapshot installed meanwhile
    }
    STROM_ASSERT(e.index == next(last_index()), "append at {} does not continue the log at {}",
                 e.index, last_index());
    entries.push_back(e);
  }
}

kafka_offset log_image::next_kafka_offset() const {
  return entries.empty() ? snap.meta.next_kafka_offset : entries.back().next_kafka_offset();
}

void log_image::compact(const snapshot& s) {
  auto pos = find(s.meta.last_index);
  entries.erase(entries.begin(),
                pos ? entries.begin() + static_cast<std::ptrdiff_t>(*pos) + 1 : entries.end());
  snap = s;
}

void log_image::install(const snapshot& s) {
  entries.clear();
  snap = s;
}

memory_log_store::memory_log_store(snapshot initial) {
  live_.snap = initial;
  durable_.snap = std::move(initial);
  flushed_ = live_.last_index();
}

std::vector<entry> memory_log_store::entries(raft_index from, size_t max_bytes) const {
  std::vector<entry> out;
  auto pos = live_.find(from);
  STROM_ASSERT(pos.has_value(), "read at {} outside the log [{}, {}]", from, first_index(),
               last_index());
  size_t bytes = 0;
  for (size_t i = *pos; i < live_.entries.size(); ++i) {
    bytes += live_.entries[i].size_bytes();
    if (!out.empty() && bytes > max_bytes) {
      break;
    }
    out.push_back(live_.entries[i]);
  }
  return out;
}

status memory_log_store::append(std::optional<raft_index> truncate_from,
                                const std::vector<entry>& es) {
  if (truncate_from) {
    if (*truncate_from <= live_.snap.meta.last_index) {
      return {errc::invalid_argument, "truncation inside the snapshot"};
    }
    live_.truncate_suffix(*truncate_from);
    flushed_ = std::min(flushed_, prev(*truncate_from));
  }
  if (!es.empty() && es.front().index != next(live_.last_index())) {
    return {errc::invalid_argument, "append does not continue the log"};
  }
  live_.append(es);
  unflushed_.push_back(op{truncate_from, es});
  return {};
}

void memory_log_store::sync_all() {
  durable_ = live_;
  unflushed_.clear();
  for (auto& f : in_flight_) {
    f.clear();  // superseded: completing them changes nothing
  }
  flushed_ = live_.last_index();
}

status memory_log_store::compact(const snapshot& s) {
  if (s.meta.last_index <= live_.snap.meta.last_index || s.meta.last_index > last_index()) {
    return {errc::snapshot_out_of_range, "compaction point outside the log"};
  }
  live_.compact(s);
  sync_all();
  return {};
}

status memory_log_store::install(const snapshot& s) {
  live_.install(s);
  sync_all();
  return {};
}

void memory_log_store::begin_flush() {
  in_flight_.push_back(std::move(unflushed_));
  unflushed_.clear();
}

raft_index memory_log_store::complete_flush() {
  STROM_ASSERT(!in_flight_.empty(), "no flush in progress");
  auto ops = std::move(in_flight_.front());
  in_flight_.pop_front();
  for (const auto& o : ops) {
    if (o.truncate_from) {
      durable_.truncate_suffix(*o.truncate_from);
    }
    durable_.append(o.entries);
  }
  // Truncations written after this flush started lower what is both durable and visible.
  raft_index candidate = durable_.last_index();
  auto cap = [&](const std::vector<op>& later) {
    for (const auto& o : later) {
      if (o.truncate_from) {
        candidate = std::min(candidate, prev(*o.truncate_from));
      }
    }
  };
  for (const auto& f : in_flight_) {
    cap(f);
  }
  cap(unflushed_);
  flushed_ = std::max(flushed_, std::min(candidate, live_.last_index()));
  return flushed_;
}

void memory_log_store::fail_flush() {
  STROM_ASSERT(!in_flight_.empty(), "no flush in progress");
  crash();
}

void memory_log_store::crash() {
  live_ = durable_;
  unflushed_.clear();
  in_flight_.clear();
  flushed_ = live_.last_index();
}

status memory_hard_state_store::save(const hard_state& hs) {
  if (fail_next_) {
    fail_next_ = false;
    return {errc::invalid_argument, "injected fsync failure"};
  }
  hs_ = hs;
  return {};
}

}  // namespace strom::raft
