#pragma once

#include <cstdint>
#include <vector>

#include "strom/base/result.h"
#include "strom/model/offsets.h"

namespace strom::storage {

/// The dual-coordinate translation of one log (raft-design §1.7): Raft index = Kafka offset +
/// delta, where the delta changes only at internal Raft entries (term start, configuration,
/// prefix truncation), each of which takes one Raft index and no Kafka offset.
///
/// Holds the delta at the log start and one element per internal Raft entry in the log. It is
/// never persisted: the log rebuilds it at open from its segments (their names carry each
/// segment's base Raft index; their flagged index entries locate the internal entries, which
/// carry their own index). Owner thread only.
///
/// Positions: an internal entry sits *before* the Kafka offset in its baseOffset (its
/// position), so data at offset `o` comes after every internal entry positioned at `o`.
class offset_map {
 public:
  struct internal_entry {
    model::raft_index index;
    model::kafka_next_offset position;
    bool operator==(const internal_entry&) const = default;
  };
  /// Where a Raft index lies in Kafka coordinates.
  struct location {
    /// Data: the Kafka offset of the record at the index (as an exclusive position, its
    /// value is the offset). Internal: the position the entry sits before.
    model::kafka_next_offset position;
    bool internal = false;
    bool operator==(const location&) const = default;
  };

  /// Forgets every entry: from the log start on, delta is `base_delta` until an entry.
  void reset(int64_t base_delta) {
    base_delta_ = base_delta;
    entries_.clear();
  }
  [[nodiscard]] int64_t base_delta() const { return base_delta_; }
  /// The delta after every entry (at the log end).
  [[nodiscard]] int64_t end_delta() const;
  [[nodiscard]] const std::vector<internal_entry>& entries() const { return entries_; }

  /// Records an internal Raft entry appended at the end of the log, at Kafka position
  /// `position`. Its index is position + end_delta(); `expected`, when given (the index the
  /// entry carries, or a leader's stamp), must be that: errc::index_mismatch otherwise.
  result<model::raft_index> add(model::kafka_next_offset position,
                                std::optional<model::raft_index> expected = std::nullopt);

  /// The Raft index of the record at Kafka offset `o`.
  [[nodiscard]] model::raft_index to_raft(model::kafka_offset o) const;
  /// The Raft index of the first entry at or after Kafka position `p`: an internal entry
  /// positioned at `p`, else the record at `p`. (At the log end, the next index to append is
  /// log end + end_delta(): entries positioned at the log end come before it.)
  [[nodiscard]] model::raft_index first_index_at(model::kafka_next_offset p) const;
  /// Where Raft index `i` lies. Meaningful for indexes in the log (or at its end).
  [[nodiscard]] location locate(model::raft_index i) const;

  /// Drops the entries at index `first_removed` and after (suffix truncation).
  void truncate(model::raft_index first_removed);
  /// Drops the entries positioned at `p` or after (a Kafka truncation removes those).
  void truncate_at_position(model::kafka_next_offset p);
  /// Drops the entries before index `first_kept`, folding them into the base delta (prefix
  /// truncation).
  void drop_before(model::raft_index first_kept);

 private:
  /// The delta after entries_[i].
  [[nodiscard]] int64_t delta_after(size_t i) const {
    return entries_[i].index.value() - entries_[i].position.value() + 1;
  }
  int64_t base_delta_ = 0;
  std::vector<internal_entry> entries_;  ///< by index (and position), increasing
};

}  // namespace strom::storage
