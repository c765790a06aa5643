#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "strom/base/strong_type.h"
#include "strom/bytes/shared_bytes.h"

namespace strom::raft {

/// A Raft term. Monotonic per node; the Kafka leader epoch of a partition (raft-design §2.5).
using term = strong_type<int64_t, struct term_tag>;
/// A position in the Raft log, 1-based; 0 means "before the first entry".
using raft_index = strong_type<int64_t, struct raft_index_tag>;
/// A member of a group.
using node_id = strong_type<int32_t, struct node_id_tag>;
/// A Kafka offset (inclusive: a record's offset). Only data entries have one.
using kafka_offset = strong_type<int64_t, struct kafka_offset_tag>;

inline raft_index next(raft_index i) {
  return raft_index(i.value() + 1);
}
inline raft_index prev(raft_index i) {
  return raft_index(i.value() - 1);
}

/// What an entry is. Only `data` entries carry Kafka offsets and ever reach a client; every
/// other kind is internal (one predicate, `has_kafka_offsets`, raft-design §1.7 item 6).
enum class entry_kind : uint8_t {
  data,           ///< a batch of records: spans as many Raft indexes as it has Kafka offsets
  term_start,     ///< written by every new leader; the leader is ready once it commits
  configuration,  ///< a new member set; takes effect when appended
  /// The state machine's log start moves to the Kafka offset in the payload (8 bytes,
  /// big-endian) once committed: a replicated DeleteRecords.
  log_start,
};
[[nodiscard]] constexpr bool has_kafka_offsets(entry_kind k) {
  return k == entry_kind::data;
}
std::string_view to_string(entry_kind k);

/// The members of a group: voters decide elections and commits; learners only receive the log.
/// A node is never both.
struct configuration {
  std::set<node_id> voters;
  std::set<node_id> learners;

  [[nodiscard]] bool is_voter(node_id n) const { return voters.contains(n); }
  [[nodiscard]] bool is_member(node_id n) const {
    return voters.contains(n) || learners.contains(n);
  }
  /// Every member, voters first then learners, each in ascending id order.
  [[nodiscard]] std::vector<node_id> members() const;
  [[nodiscard]] size_t quorum() const { return voters.size() / 2 + 1; }
  friend bool operator==(const configuration&, const configuration&) = default;
};
std::string to_string(const configuration& c);

/// One Raft log entry. A data entry covering N Kafka offsets occupies N consecutive Raft
/// indexes [index, last()] (so raft index = Kafka offset + number of internal entries before
/// it, the dual-coordinate log of raft-design §1.7); an internal entry occupies one.
struct entry {
  raft_index index;
  raft::term term;
  entry_kind kind = entry_kind::data;
  /// data: the Kafka offset of the first record; internal entries: the Kafka offset the next
  /// data entry gets (so kafka_base + kafka_count is the next Kafka offset after any entry).
  /// Stamped by the leader, replicated as is.
  kafka_offset kafka_base{0};
  /// data only: the number of Kafka offsets (>= 1). Internal entries: 0.
  int32_t kafka_count = 0;
  /// configuration only: the new member set.
  std::optional<raft::configuration> config;
  /// data: the batch's bytes, opaque to Raft; log_start: the new log start. Shared: copies of
  /// an entry (in the unstable entries, in the appends to each follower) hold the same bytes.
  bytes::shared_bytes payload;

  [[nodiscard]] int64_t span() const { return kind == entry_kind::data ? kafka_count : 1; }
  [[nodiscard]] raft_index last() const { return raft_index(index.value() + span() - 1); }
  /// An estimate of the entry's size for byte limits.
  [[nodiscard]] size_t size_bytes() const { return payload.size() + 48; }
  /// The Kafka offset that follows this entry.
  [[nodiscard]] kafka_offset next_kafka_offset() const {
    return kafka_offset(kafka_base.value() + kafka_count);
  }
  friend bool operator==(const entry&, const entry&) = default;
};

/// What a snapshot replaces: the log up to and including `last_index`.
struct snapshot_metadata {
  raft_index last_index{0};
  term last_term{0};
  raft::configuration config;
  /// The Kafka offset the first data entry after the snapshot gets (Redpanda #2284).
  kafka_offset next_kafka_offset{0};
  friend bool operator==(const snapshot_metadata&, const snapshot_metadata&) = default;
};

/// A snapshot: metadata plus the state machine's bytes (opaque to Raft).
struct snapshot {
  snapshot_metadata meta;
  std::vector<std::byte> data;
  friend bool operator==(const snapshot&, const snapshot&) = default;
};

/// What must be on disk before a node answers a vote or campaigns: its term and its vote.
struct hard_state {
  raft::term term{0};
  std::optional<node_id> vote;
  /// The node started without its state (a new replica, or one whose data directory was lost
  /// or replaced) and has not yet held an entry its group committed in a term it saw: it may
  /// have voted and acknowledged entries before it lost them, so it grants no vote to a
  /// candidate of a group that has written anything (node::rebuilding).
  bool rebuilding = false;
  friend bool operator==(const hard_state&, const hard_state&) = default;
};

/// Bytes that leaders may send to followers catching up on committed entries (recovery), shared
/// by the groups of one owner, which refills it as time passes (options::recovery). Appends of
/// entries a majority already holds, to a follower out of sync (options::in_sync_ticks), wait
/// while it is spent (it may go below zero by one append); entries beyond the commit index, and
/// appends to followers in sync, always go at once. Unlimited, nothing waits: the budget only
/// counts.
struct recovery_budget {
  int64_t available = 0;
  bool limited = true;
  /// Bytes of entries sent to followers catching up, so far (a monotonic counter).
  int64_t sent = 0;
};

/// The other nodes the owner of many groups has not heard from lately (no inter-broker frame,
/// not even a ping, within an election timeout): refreshed by the owner as time passes, read
/// by its groups (options::liveness). A quiet follower waits for its leader for as long as the
/// leader's node is not silent.
struct peer_liveness {
  std::set<node_id> silent;
  [[nodiscard]] bool alive(node_id n) const { return !silent.contains(n); }
};

}  // namespace strom::raft
