#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "strom/base/clock.h"
#include "strom/io/file_system.h"
#include "strom/raft/log.h"
#include "strom/storage/log.h"

namespace strom::raft {

/// The partition log as a Raft log: `log_store` over a `storage::log` (raft-design §1.7, §6.3).
///
/// Coordinates: Raft index i is the log's Raft index i - 1 (the core counts from 1, the log from
/// 0, where a log that never held an internal entry has index == Kafka offset). Data entries are
/// stored as the Kafka batches they carry, stamped with their Kafka base offset and the entry's
/// term as leader epoch; term-start and configuration entries are stored as internal entries,
/// which take a Raft index and no Kafka offset. A data entry's payload must be a valid record
/// batch of `kafka_count` records; it is handed back as a producer sends it (base offset 0,
/// leader epoch -1), so that it reads the same on every replica whatever the stamps.
///
/// The snapshot (metadata and state-machine bytes) is a file `raft.snapshot` in the log's
/// directory, written atomically. Entries at or below its last index that the log still holds
/// are hidden. Opening reconciles the two after a crash between a snapshot write and the log
/// change that follows it.
///
/// Flushes are the log's: begin_flush() asks for one, and the log's flush executor completes it
/// (a manual_executor in the simulator). Owner thread only.
class storage_log_store final : public log_store {
 public:
  /// Opens the store over `log` (which it does not own, and which must outlive it). `initial`
  /// is the snapshot of a group that has none yet (its configuration: the bootstrap).
  static result<std::unique_ptr<storage_log_store>> open(storage::log& log, io::file_system& fs,
                                                         clock& clk, const snapshot& initial);

  [[nodiscard]] raft_index first_index() const override;
  [[nodiscard]] raft_index last_index() const override;
  [[nodiscard]] std::optional<term> term_at(raft_index i) const override;
  [[nodiscard]] std::vector<entry> entries(raft_index from, size_t max_bytes) const override;
  [[nodiscard]] snapshot_metadata snapshot_meta() const override { return snap_.meta; }
  [[nodiscard]] kafka_offset next_kafka_offset() const override;
  [[nodiscard]] snapshot load_snapshot() const override { return snap_; }
  [[nodiscard]] status append(std::optional<raft_index> truncate_from,
                              const std::vector<entry>& entries) override;
  [[nodiscard]] status compact(const snapshot& s) override;
  [[nodiscard]] status install(const snapshot& s) override;
  [[nodiscard]] raft_index flushed_index() const override;

  /// Asks the log for a flush of everything written so far; `done` runs when it completed
  /// (on the flush executor's thread), with its outcome.
  void begin_flush(std::function<void(status)> done);
  /// Written since the last begin_flush().
  [[nodiscard]] bool dirty() const { return dirty_; }
  [[nodiscard]] storage::log& log() { return log_; }

  /// The encoding of a configuration entry's payload (and of the snapshot file's).
  static std::vector<std::byte> encode_configuration(const configuration& c);
  static result<configuration> decode_configuration(std::span<const std::byte> in);

  static constexpr const char* snapshot_file = "raft.snapshot";

 private:
  storage_log_store(storage::log& log, io::file_system& fs, clock& clk)
      : log_(log), fs_(fs), clk_(clk) {}
  [[nodiscard]] status write_snapshot(const snapshot& s);
  [[nodiscard]] status append_one(const entry& e);
  [[nodiscard]] result<entry> to_entry(storage::log::raft_entry stored) const;

  storage::log& log_;
  io::file_system& fs_;
  clock& clk_;
  snapshot snap_;
  bool dirty_ = false;
};

/// Term and vote of one node in one group in a small file, written atomically and durably
/// (temporary file, fsync, rename, directory fsync): after a crash it holds the old state or
/// the new one, never a mix.
class file_hard_state_store final : public hard_state_store {
 public:
  /// Reads `path` (a missing file is the initial state; a damaged one an error).
  static result<std::unique_ptr<file_hard_state_store>> open(io::file_system& fs,
                                                             std::filesystem::path path);
  [[nodiscard]] hard_state load() const override { return hs_; }
  [[nodiscard]] status save(const hard_state& hs) override;
  /// The file was there when opened (else the node starts without state: rebuilding).
  [[nodiscard]] bool existed() const { return existed_; }

 private:
  file_hard_state_store(io::file_system& fs, std::filesystem::path path)
      : fs_(fs), path_(std::move(path)) {}
  io::file_system& fs_;
  std::filesystem::path path_;
  hard_state hs_;
  bool existed_ = false;
};

}  // namespace strom::raft
