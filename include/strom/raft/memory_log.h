#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "strom/raft/log.h"

namespace strom::raft {

/// A log and its snapshot held in memory: one image of what readers see and one of what
/// would survive a crash.
struct log_image {
  snapshot snap;
  std::vector<entry> entries;  ///< contiguous, starting at snap.meta.last_index + 1

  [[nodiscard]] raft_index first_index() const { return next(snap.meta.last_index); }
  [[nodiscard]] raft_index last_index() const {
    return entries.empty() ? snap.meta.last_index : entries.back().last();
  }
  [[nodiscard]] std::optional<term> term_at(raft_index i) const;
  /// Position in `entries` of the entry holding `i`, or nullopt.
  [[nodiscard]] std::optional<size_t> find(raft_index i) const;
  void truncate_suffix(raft_index from);
  void append(const std::vector<entry>& es);
  [[nodiscard]] kafka_offset next_kafka_offset() const;
  /// Drops the entries up to s.meta.last_index (which must end an entry or lie past the end).
  void compact(const snapshot& s);
  /// Replaces everything by the snapshot.
  void install(const snapshot& s);
};

/// An in-memory `log_store` for unit tests and the simulator: appends are visible at once,
/// flushes are started and completed by the caller (so a test or the simulator decides when an
/// fsync finishes, or fails), and `crash()` throws away everything not flushed.
///
/// Flushes complete in the order they were started. Compaction and snapshot installation are
/// durable when they return (they flush everything, as a snapshot write ends with an fsync).
/// Single-threaded.
class memory_log_store final : public log_store {
 public:
  memory_log_store() = default;
  explicit memory_log_store(snapshot initial);

  [[nodiscard]] raft_index first_index() const override { return live_.first_index(); }
  [[nodiscard]] raft_index last_index() const override { return live_.last_index(); }
  [[nodiscard]] std::optional<term> term_at(raft_index i) const override {
    return live_.term_at(i);
  }
  [[nodiscard]] std::vector<entry> entries(raft_index from, size_t max_bytes) const override;
  [[nodiscard]] snapshot_metadata snapshot_meta() const override { return live_.snap.meta; }
  [[nodiscard]] kafka_offset next_kafka_offset() const override {
    return live_.next_kafka_offset();
  }
  [[nodiscard]] status append(std::optional<raft_index> truncate_from,
                              const std::vector<entry>& entries) override;
  [[nodiscard]] status compact(const snapshot& s) override;
  [[nodiscard]] status install(const snapshot& s) override;
  [[nodiscard]] snapshot load_snapshot() const override { return live_.snap; }
  [[nodiscard]] raft_index flushed_index() const override { return flushed_; }

  /// Whether something was appended or truncated since the last begin_flush().
  [[nodiscard]] bool dirty() const { return !unflushed_.empty(); }
  /// Starts a flush of everything written so far.
  void begin_flush();
  [[nodiscard]] size_t flushes_in_progress() const { return in_flight_.size(); }
  /// Completes the oldest flush in progress (REQUIRES one): what it covers becomes durable.
  /// Returns the flushed index afterwards.
  raft_index complete_flush();
  /// A failed fsync of the oldest flush: the log cannot say what reached the disk, so it goes
  /// back to what was durable before (as after a crash); the node must restart.
  void fail_flush();
  /// A simulated crash: the log becomes what was durable; flushes in progress are lost.
  void crash();

  [[nodiscard]] const log_image& live() const { return live_; }
  [[nodiscard]] const log_image& durable() const { return durable_; }

 private:
  struct op {
    std::optional<raft_index> truncate_from;
    std::vector<entry> entries;
  };
  void sync_all();

  log_image live_;
  log_image durable_;
  std::vector<op> unflushed_;              // written since the last begin_flush()
  std::deque<std::vector<op>> in_flight_;  // flushes started, oldest first
  raft_index flushed_{0};
};

/// A hard-state store in memory: saves are durable at once unless told to fail.
class memory_hard_state_store final : public hard_state_store {
 public:
  [[nodiscard]] hard_state load() const override { return hs_; }
  [[nodiscard]] status save(const hard_state& hs) override;
  /// Makes the next save fail (a failed fsync).
  void fail_next_save() { fail_next_ = true; }

 private:
  hard_state hs_;
  bool fail_next_ = false;
};

}  // namespace strom::raft
