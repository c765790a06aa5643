#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "strom/base/result.h"
#include "strom/raft/types.h"

namespace strom::raft {

/// The read side of a group's log, as the Raft core sees it (raft-design §6.2).
///
/// Positions are Raft indexes. The log holds the entries [first_index(), last_index()]; what
/// lies before them is summarised by the snapshot metadata (last_index 0 when there is none),
/// so first_index() == snapshot().last_index + 1 always. An empty log has
/// last_index() == first_index() - 1. Entries are contiguous: each entry starts right after
/// the previous one's last().
///
/// Thread affinity: the caller's (the core reads it only inside its own calls).
class log_view {
 public:
  virtual ~log_view() = default;
  [[nodiscard]] virtual raft_index first_index() const = 0;
  [[nodiscard]] virtual raft_index last_index() const = 0;
  /// The term of the entry that holds `i`; the snapshot's term for its last index; nullopt
  /// outside [first_index() - 1, last_index()]. Index 0 has term 0.
  [[nodiscard]] virtual std::optional<term> term_at(raft_index i) const = 0;
  /// Whole entries starting with the one that holds `from` (REQUIRES: first_index() <= from
  /// <= last_index()), in order, up to `max_bytes` of size_bytes() but at least one.
  [[nodiscard]] virtual std::vector<entry> entries(raft_index from, size_t max_bytes) const = 0;
  [[nodiscard]] virtual snapshot_metadata snapshot_meta() const = 0;
  /// The Kafka offset the next data entry appended at the end of the log gets.
  [[nodiscard]] virtual kafka_offset next_kafka_offset() const = 0;
  /// The latest snapshot (metadata and state-machine bytes), sent to followers behind the log.
  [[nodiscard]] virtual snapshot load_snapshot() const = 0;
};

/// The write side (raft-design §6.3), implemented by the partition log (through an adapter)
/// and by `memory_log_store` for tests and the simulator.
///
/// Appends and truncations are visible to readers at once but durable only after a flush;
/// a crash loses what was not flushed. The flushed index is never overstated: a flush that
/// completes after a truncation does not cover entries that were replaced meanwhile.
class log_store : public log_view {
 public:
  /// Removes every entry holding an index >= `from` (when `from` is set) and then appends
  /// `entries`, which must continue the log (the first starts at last_index() + 1).
  [[nodiscard]] virtual status append(std::optional<raft_index> truncate_from,
                                      const std::vector<entry>& entries) = 0;
  /// Replaces the log up to meta.last_index by a snapshot (compaction after the state machine
  /// saved its state, REQUIRES the entries up to it are present), durably.
  [[nodiscard]] virtual status compact(const snapshot& s) = 0;
  /// Installs a snapshot received from the leader, durably: the whole log is replaced by it
  /// (the core never installs a snapshot whose last entry its log already holds).
  [[nodiscard]] virtual status install(const snapshot& s) = 0;
  /// The highest index known to be durable and identical to what readers see.
  [[nodiscard]] virtual raft_index flushed_index() const = 0;
};

/// Term and vote of one node in one group, written atomically and durably (a vote is never
/// answered before the save returns).
class hard_state_store {
 public:
  virtual ~hard_state_store() = default;
  [[nodiscard]] virtual hard_state load() const = 0;
  [[nodiscard]] virtual status save(const hard_state& hs) = 0;
};

}  // namespace strom::raft
