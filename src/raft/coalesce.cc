#include <algorithm>
#include <iterator>
#include <unordered_map>

#include "strom/raft/message.h"

namespace strom::raft {

namespace {

struct route {
  uint64_t group;
  int32_t from;
  int32_t to;
  bool operator==(const route&) const = default;
};

struct route_hash {
  size_t operator()(const route& r) const {
    return std::hash<uint64_t>{}(r.group ^ (static_cast<uint64_t>(r.from) << 40) ^
                                 (static_cast<uint64_t>(static_cast<uint32_t>(r.to)) << 8));
  }
};

raft_index last_of(const message& m) {
  return m.entries.empty() ? m.prev_index : m.entries.back().last();
}

raft::term last_term_of(const message& m) {
  return m.entries.empty() ? m.prev_term : m.entries.back().term;
}

size_t entry_bytes(const message& m) {
  size_t n = 0;
  for (const auto& e : m.entries)
    n += e.size_bytes();
  return n;
}

/// Folds `b` into `a` when the receiver may see one message instead of the two in turn.
bool merge(message& a, message& b, size_t max_append_bytes) {
  if (a.type != b.type || a.term != b.term)
    return false;
  if (a.type == message_type::append) {
    if (a.quiesce || b.quiesce || b.prev_index != last_of(a) || b.prev_term != last_term_of(a))
      return false;
    if (!b.entries.empty() && entry_bytes(a) + entry_bytes(b) > max_append_bytes)
      return false;
    a.entries.insert(a.entries.end(), std::make_move_iterator(b.entries.begin()),
                     std::make_move_iterator(b.entries.end()));
    a.commit = std::max(a.commit, b.commit);
    return true;
  }
  if (a.type == message_type::append_response) {
    if (a.reject || b.reject)
      return false;
    a.index = std::max(a.index, b.index);
    a.flushed = std::max(a.flushed, b.flushed);
    a.commit = std::max(a.commit, b.commit);
    return true;
  }
  return false;
}

}  // namespace

size_t coalesce(group_messages& batch, size_t max_append_bytes) {
  if (batch.size() < 2)
    return 0;
  // The position (in the compacted batch) of the last message kept for each route.
  std::unordered_map<route, size_t, route_hash> last;
  last.reserve(batch.size());
  size_t kept = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& [group, m] = batch[i];
    route r{group, m.from.value(), m.to.value()};
    auto it = last.find(r);
    if (it != last.end() && merge(batch[it->second].second, m, max_append_bytes))
      continue;
    if (kept != i)
      batch[kept] = std::move(batch[i]);
    last[r] = kept;
    ++kept;
  }
  size_t merged = batch.size() - kept;
  batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(kept), batch.end());
  return merged;
}

}  // namespace strom::raft
