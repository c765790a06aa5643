#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "strom/raft/log.h"

namespace strom::sim {

/// Which log a simulated node keeps.
enum class disk_kind : uint8_t {
  /// The partition log itself: a storage::log on the node's own in-memory file system, with
  /// the Raft view of it (raft::storage_log_store) and a file-backed hard state. The default.
  log,
  /// raft::memory_log_store: the reference model, several times faster, for long sweeps of the
  /// core alone.
  memory,
};

/// What a simulated node's disk offers the simulator: the Raft log and hard state, flushes
/// that complete when the simulator says so, and crashes that lose what was not flushed.
class sim_disk {
 public:
  virtual ~sim_disk() = default;
  [[nodiscard]] virtual raft::log_store& store() = 0;
  [[nodiscard]] virtual const raft::log_store& store() const = 0;
  [[nodiscard]] virtual raft::hard_state_store& hard_state() = 0;
  [[nodiscard]] virtual const raft::hard_state_store& hard_state() const = 0;
  /// Something was written since the last begin_flush().
  [[nodiscard]] virtual bool dirty() const = 0;
  /// Starts a flush of everything written so far.
  virtual void begin_flush() = 0;
  [[nodiscard]] virtual size_t flushes_in_progress() const = 0;
  /// Completes the oldest flush in progress; returns the flushed index afterwards.
  virtual raft::raft_index complete_flush() = 0;
  /// A crash (or a failed fsync, after which the node restarts): what was not flushed is lost.
  virtual void crash() = 0;
  /// Whether entry `i` of term `t` survives a crash now (or a snapshot covers it).
  [[nodiscard]] virtual bool durably_holds(raft::raft_index i, raft::term t) const = 0;
  /// The last index a crash now would keep.
  [[nodiscard]] virtual raft::raft_index durable_last_index() const = 0;
  /// The payload of a client's data entry of `count` records with identity `id`.
  [[nodiscard]] virtual std::vector<std::byte> make_payload(uint64_t id, int32_t count) const = 0;
};

/// A disk of `kind` whose log starts from `initial`.
std::unique_ptr<sim_disk> make_disk(disk_kind kind, const raft::snapshot& initial);

}  // namespace strom::sim
