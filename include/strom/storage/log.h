#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "strom/base/blocking_pool.h"
#include "strom/base/clock.h"
#include "strom/base/executor.h"
#include "strom/base/random.h"
#include "strom/base/result.h"
#include "strom/io/file_system.h"
#include "strom/model/ntp.h"
#include "strom/model/offsets.h"
#include "strom/model/record_batch.h"
#include "strom/model/validated_batch.h"
#include "strom/storage/compaction.h"
#include "strom/storage/epoch_cache.h"
#include "strom/storage/errc.h"
#include "strom/storage/file_cache.h"
#include "strom/storage/log_config.h"
#include "strom/storage/offset_map.h"
#include "strom/storage/segment.h"

namespace strom::storage {

/// What a log shares with the flush pool: its unsynced files and the requests waiting for them.
struct log_flush_state {
  std::mutex mu;  // guards everything below except the atomics and the constants
  std::condition_variable idle;
  bool running = false;  ///< queued for, or in, a flush round
  /// Rounds holding this log's files or completions (they let go of them before they drop
  /// it). Idle, for whoever waits on `idle`: !running && holders == 0.
  int holders = 0;
  [[nodiscard]] bool is_idle() const { return !running && holders == 0; }
  std::vector<std::function<void(status)>> waiters;
  std::vector<std::shared_ptr<segment>> closed;  ///< rolled but not yet synced
  std::shared_ptr<segment> active;
  bool roll_pending = false;  ///< a roll happened: rewrite the recovery point
  std::atomic<int64_t> appended_end{0};
  std::atomic<int64_t> flushed_end{0};
  std::atomic<uint64_t> write_seq{0};      ///< bumped by every write (data, internal, truncate)
  std::atomic<uint64_t> synced_seq{0};     ///< write_seq covered by the last successful sync
  std::atomic<uint64_t> closed_synced{0};  ///< bumped when a round made closed segments durable
  /// The Raft index of the last entry written, and of the last one a sync made durable: the
  /// flushed index counts internal entries written after the last data too.
  std::atomic<int64_t> appended_index{0};
  std::atomic<int64_t> synced_index{0};
  /// The lowest log end a truncation set since the running round captured its target
  /// (INT64_MAX: none). The round claims durable no more than min(target, trunc_low): data
  /// above a cut may have been replaced after the round looked at it. Guarded by mu.
  int64_t trunc_low = INT64_MAX;
  int64_t trunc_low_index = INT64_MAX;  ///< the same, as the last Raft index a cut kept
  /// A state snapshot taken at a roll, written by the flush that makes the data before it
  /// durable; `obsolete` are older snapshots to delete once it is written.
  struct snapshot_write {
    int64_t offset = 0;
    std::vector<std::byte> payload;
    std::vector<int64_t> obsolete;
  };
  std::vector<snapshot_write> snapshots;
  /// Serialises writers of the recovery-point file (owner thread and flush pool).
  std::mutex rp_mu;
  io::file_system* fs = nullptr;
  std::filesystem::path dir;             ///< the log's directory
  std::filesystem::path recovery_point;  ///< the file
  status write_recovery_point(int64_t value);
  /// A flush round's rewrite: min(`target`, trunc_low), decided under rp_mu so that a
  /// truncation's own rewrite can only come after it.
  status write_recovery_point_capped(int64_t target);
  /// Writes `<offset>.snapshot` atomically and durably (docs/storage-format.md).
  status write_snapshot(int64_t offset, std::span<const std::byte> payload);
};

/// A data directory. Shared by every log in it; an I/O error on any of them takes the whole
/// directory offline, after which its logs refuse appends and flushes. Never back online in
/// the same process: an fsync error is not retried (the failed pages may be gone). Running
/// out of descriptors or memory is not an I/O error: it fails the call with
/// errc::resource_exhausted and leaves the directory online.
///
/// Flush rounds: logs that need an fsync queue here; one task on the flush pool takes every
/// queued log at once and makes them durable together: with one log, an fdatasync of its
/// files; with several, one sync of the whole file system (syncfs), which commits the
/// journal and flushes the device cache once instead of once per log. A request that
/// touches many partitions waits for one round, not one fsync per partition.
class log_dir : public std::enable_shared_from_this<log_dir> {
 public:
  explicit log_dir(std::filesystem::path path) : path_(std::move(path)) {}
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] bool offline() const { return offline_.load(std::memory_order_acquire); }
  /// Marks the directory offline (first reason wins) and logs it.
  void take_offline(const std::string& reason);
  [[nodiscard]] std::string offline_reason() const;

  /// Queues a log for the next flush round, starting rounds on `exec` when none runs. Each
  /// round is one task on `exec`; a round that leaves logs queued submits the next one (so a
  /// manual executor completes flushes one round at a time).
  /// REQUIRES: the log's state is `running` and not queued already.
  static void queue_flush(const std::shared_ptr<log_dir>& dir, io::file_system& fs,
                          task_executor& exec, std::shared_ptr<log_flush_state> st);
  /// Flush rounds completed so far.
  [[nodiscard]] uint64_t flush_rounds() const { return rounds_.load(); }

 private:
  void run_flush_round(io::file_system& fs, task_executor& exec);

  std::filesystem::path path_;
  std::atomic<bool> offline_{false};
  mutable std::mutex mu_;  // guards reason_
  std::string reason_;
  std::mutex flush_mu_;  // guards queue_ and round_running_
  std::vector<std::shared_ptr<log_flush_state>> queue_;
  bool round_running_ = false;
  std::atomic<uint64_t> rounds_{0};
};

struct append_result {
  model::kafka_offset base;
  model::kafka_offset last;
  timestamp_ms max_timestamp = -1;
  /// The Raft indexes of the first and last record.
  model::raft_index base_index;
  model::raft_index last_index;
};

/// Where an internal Raft entry went: its Raft index and the Kafka position it sits before.
struct entry_position {
  model::raft_index index;
  model::kafka_next_offset position;
};

struct read_options {
  /// Byte budget. The first batch is returned whole even when larger (when min_one_batch).
  size_t max_bytes = 1 << 20;
  /// Exclusive upper bound on returned data (e.g. the high watermark); nullopt = log end.
  std::optional<model::kafka_next_offset> max_offset;
  /// Internal entries (and the empty batches compaction leaves in a replicated log) are
  /// returned only to replication; never to Fetch.
  bool include_internal = false;
  bool min_one_batch = true;
};

struct read_result {
  /// Byte ranges of segment files, in log order, each a run of whole batches.
  std::vector<file_slice> slices;
  size_t bytes = 0;
  /// The offset after the last data batch returned (== the read start when none).
  model::kafka_next_offset next;

  /// Copies the slices into one buffer.
  [[nodiscard]] result<std::vector<std::byte>> copy() const;
};

struct timestamp_lookup {
  model::kafka_offset offset;
  timestamp_ms timestamp = -1;
};

/// What opening a log found and did.
struct log_recovery {
  size_t segments = 0;
  size_t segments_recovered = 0;
  size_t segments_removed = 0;  ///< after a truncated one
  uint64_t bytes_truncated = 0;
  size_t indexes_rebuilt = 0;
  std::vector<std::string> notes;  ///< one line per truncation
};

/// A partition log: segments of record batches in a directory `<data_dir>/<topic>-<partition>`.
///
/// Thread affinity: every method is called from the owner thread (the partition's shard),
/// except flushed_offset(), which any thread may read. Flushes run on a blocking pool and
/// complete there; concurrent flush requests are grouped into one fsync.
/// Invariants: log_start <= log_end; segments are ordered and contiguous; the active
/// (last) segment is the only one that grows; each segment holds one leader epoch.
class log {
 public:
  struct options {
    io::file_system* fs = nullptr;
    clock* clk = nullptr;
    /// Runs the flush rounds: a blocking_pool in production; a manual_executor in tests
    /// and simulation, which then complete flushes by running it. With a manual executor
    /// flush() and close() need the rounds run by another thread (or nothing to flush).
    task_executor* flush_pool = nullptr;
    std::shared_ptr<log_dir> dir;
    log_config config;
    /// Set when the broker stops: running compactions give up. May be null.
    std::shared_ptr<const std::atomic<bool>> cancel;
    /// Runs the segments' write-behind calls; inline when null.
    blocking_pool* writeback_pool = nullptr;
    /// Holds the log files of closed segments, shared by the logs of a log manager; without
    /// one, closed segments keep their log file open (their index files are closed anyway).
    file_cache* files = nullptr;
    /// Draws the segment roll jitter; default_random() when null.
    random_source* random = nullptr;
  };

  /// Opens (or creates, when the directory is new) the log of `name` in `opts.dir`.
  /// `clean` says the previous shutdown was clean: then only index sanity checks run;
  /// otherwise every segment from the recovery point on is re-read and CRC-checked.
  static result<std::unique_ptr<log>> open(const model::ntp& name, options opts, bool clean,
                                           log_recovery& report);
  ~log();
  log(const log&) = delete;
  log& operator=(const log&) = delete;

  [[nodiscard]] const model::ntp& name() const { return name_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] const log_config& config() const { return opts_.config; }
  /// Whether the log's data directory went offline (I/O error).
  [[nodiscard]] bool offline() const { return opts_.dir && opts_.dir->offline(); }
  /// Takes effect for the next append, roll and retention run.
  void set_config(const log_config& c) { opts_.config = c; }

  /// Appends a batch validated by model::validate_for_append() (at the Kafka edge, or by the
  /// broker's own writers): stamps its base offset and epoch in place, bytes and header, and
  /// stores it byte for byte. The only checks left are those against settings that may have
  /// changed since: the size limit (errc::batch_too_large) and, with cleanup.policy compact,
  /// a key on every record (errc::record_without_key).
  result<append_result> append(model::validated_batch& batch, model::leader_epoch epoch);
  /// Validates `batch` as the broker's own writer (model::append_origin::internal) against
  /// this log's settings, then appends it as above; validation failures are
  /// errc::batch_too_large, errc::record_without_key or errc::invalid_batch. For tools and
  /// tests: the produce path validates once, at the Kafka edge.
  result<append_result> append(std::span<std::byte> batch, model::leader_epoch epoch);
  /// The validation policy of an append to this log from `origin`: its size limit and
  /// whether it is compacted (the timestamp type is the partition's business).
  [[nodiscard]] model::validation_policy validation_policy(model::append_origin origin) const;
  /// Appends an internal Raft entry (a kind that takes_raft_index; local kinds are the log's
  /// own and refused with errc::invalid_batch): it takes the next Raft index, stored in the
  /// entry, and no Kafka offset. A newer epoch rolls to a new segment (one term per
  /// segment), also when the active one holds no data.
  result<entry_position> append_internal(model::internal_kind kind,
                                         std::span<const std::byte> payload,
                                         model::leader_epoch epoch);

  /// Reads whole batches from the one holding `from`. OFFSET_OUT_OF_RANGE below the log start
  /// or above the log end; empty at the log end.
  result<read_result> read(model::kafka_offset from, const read_options& opts) const;
  /// The first record with timestamp >= ts, exact inside compressed batches too (decompressed
  /// within the compaction limit, max_decompressed_bytes; a batch beyond it answers its first
  /// offset and maxTimestamp). nullopt when every record is older.
  result<std::optional<timestamp_lookup>> find_offset_by_timestamp(timestamp_ms ts) const;

  [[nodiscard]] model::kafka_offset log_start() const { return log_start_; }

  // --- Raft coordinates (raft-design §1.7; docs/storage-format.md) ---
  /// The translation between Raft indexes and Kafka offsets: the only place they convert.
  [[nodiscard]] const offset_map& offsets() const { return offsets_; }
  /// The index the next appended entry takes.
  [[nodiscard]] model::raft_index next_index() const {
    return model::raft_index(log_end_.value() + offsets_.end_delta());
  }
  /// The index of the last entry (next_index() - 1; before the first entry when empty).
  [[nodiscard]] model::raft_index last_index() const {
    return model::raft_index(next_index().value() - 1);
  }
  /// The index of the first entry still in the log (the next index when it is empty).
  [[nodiscard]] model::raft_index first_index() const {
    return offsets_.first_index_at(model::kafka_next_offset(log_start_.value()));
  }

  // --- the log as a Raft log (raft-design §6.3): positions by Raft index ---
  /// The leader epoch (Raft term) of the entry holding index `i`; nullopt outside
  /// [first_index(), last_index()].
  [[nodiscard]] std::optional<model::leader_epoch> term_at(model::raft_index i) const;
  /// One stored entry, read back by Raft index: a data batch (spanning as many indexes as it
  /// has offsets) or an internal Raft entry (one index); the log's own local entries are
  /// never returned.
  struct raft_entry {
    model::raft_index index;
    model::batch_header header;
    std::vector<std::byte> bytes;  ///< the whole batch as stored
  };
  /// Whole entries from the one holding `from` on, in order, up to `max_bytes` (at least
  /// one). errc::offset_out_of_range when `from` is outside [first_index(), last_index()].
  result<std::vector<raft_entry>> read_entries(model::raft_index from, size_t max_bytes) const;
  /// Appends an entry as its leader stamped it (a follower's append): a data batch keeps its
  /// base offset and epoch, an internal Raft entry its index. It must continue the log: a data
  /// batch starts at the log end, and the entry's first index is `expected`, which must be
  /// next_index() (errc::index_mismatch otherwise; nothing is written). The batch is checked
  /// whole (CRC, lengths) before it is written (errc::invalid_batch).
  result<model::raft_index> append_stamped(std::span<const std::byte> entry,
                                           model::raft_index expected);
  /// The same for a data batch given unstamped (as its producer sent it): it is written with
  /// base offset `base` and leader epoch `epoch`, and `batch` itself is left as it is.
  result<model::raft_index> append_stamped(std::span<const std::byte> batch,
                                           model::kafka_offset base, model::leader_epoch epoch,
                                           model::raft_index expected);
  /// Removes every entry holding an index >= `from` (a data batch that holds it goes whole),
  /// internal entries included, also those at the log end. Nothing happens when `from` is past
  /// the end; errc::invalid_offset below first_index().
  status truncate_from(model::raft_index from);
  /// The highest index that is durable and the same as what readers see: never beyond what a
  /// flush covered, and never past a truncation made while that flush ran. Owner thread.
  [[nodiscard]] model::raft_index flushed_index() const;
  /// Removes the segments whose entries all lie before Raft index `first_kept` (a Raft
  /// snapshot covers them) and raises the log start to the Kafka position of `first_kept`.
  /// Entries the first remaining segment holds before it stay readable by index; unlike
  /// prefix_truncate(), internal entries at the new start's Kafka position are kept.
  /// errc::invalid_offset beyond next_index().
  status prefix_truncate_index(model::raft_index first_kept);
  /// Empties the log and starts it again at Kafka offset `start`, with `next` as the Raft
  /// index of the next entry and `epoch` as its epoch (a Raft snapshot that replaces the whole
  /// log). Durable when it returns.
  status reset(model::kafka_next_offset start, model::raft_index next, model::leader_epoch epoch);

  /// The largest batch maxTimestamp in the log, -1 when empty.
  [[nodiscard]] timestamp_ms max_timestamp() const;
  [[nodiscard]] model::kafka_next_offset log_end() const { return log_end_; }
  [[nodiscard]] model::kafka_next_offset flushed_offset() const {
    return model::kafka_next_offset(flush_->flushed_end.load(std::memory_order_acquire));
  }
  [[nodiscard]] uint64_t size_bytes() const;
  /// Calls `fn` with the header of every data batch from the one holding `from` to the end,
  /// and with the headers that compaction kept of removed batches (an idempotent producer's
  /// newest batch), in log order: what rebuilding producer state needs.
  status visit_headers(model::kafka_offset from,
                       const std::function<void(const model::batch_header&)>& fn) const;
  /// The base offset of the `n`-th segment from the end (the active one is 1).
  [[nodiscard]] model::kafka_offset recent_segments_start(size_t n) const;

  // --- state snapshots (docs/storage-format.md, "State snapshots") ---
  /// Returns the state (an opaque payload: the owner's, e.g. idempotent producers) as of the
  /// log end at the moment it is called.
  using snapshot_source = std::function<std::vector<std::byte>()>;
  /// At every roll the source is asked for the state as of the new segment's base (before any
  /// data goes into it); the snapshot is written as `<offset>.snapshot` by the flush that
  /// makes the closed segment durable, so a snapshot never covers data that could be lost.
  /// close() writes one at the log end. Owner thread; null to stop.
  void set_snapshot_source(snapshot_source fn) { snapshot_source_ = std::move(fn); }
  /// The state as of the current log end, for close() to write when no source is set any
  /// more (the owner went away first). Owner thread.
  void stash_snapshot(std::vector<std::byte> payload);
  /// Offsets of the snapshots on disk (or being written), oldest first.
  [[nodiscard]] std::vector<model::kafka_next_offset> snapshots() const;
  /// The payload of the snapshot at `at`, checked (format, CRC, offset); corrupt_checkpoint
  /// when it is damaged, and refused when larger than `max_bytes`.
  result<std::vector<std::byte>> read_snapshot(model::kafka_next_offset at, size_t max_bytes) const;
  /// Snapshots kept: older ones are deleted when a new one is written (and with their
  /// segments).
  static constexpr size_t kept_snapshots = 3;
  [[nodiscard]] size_t segment_count() const { return segments_.size(); }
  [[nodiscard]] const epoch_cache& epochs() const { return epochs_; }
  [[nodiscard]] model::leader_epoch active_epoch() const;

  /// Removes every batch at or after `end` (a batch straddling it goes whole), with the
  /// epoch checkpoint. Returns the new log end.
  result<model::kafka_next_offset> truncate(model::kafka_next_offset end);
  /// Raises the log start to `start` (DeleteRecords) and deletes segments wholly below it.
  status prefix_truncate(model::kafka_offset start);
  /// Roll by age and time-based flush; with `retention`, also retention by age and size
  /// (whole segments). Returns the number of segments deleted.
  result<size_t> housekeeping(bool retention = true);
  /// Where retention by age and size would cut the log now, counting closed segments only:
  /// the last Raft index of the newest segment it would delete (a replicated log is cut there
  /// through a Raft snapshot, not by housekeeping()); none when it would delete nothing.
  [[nodiscard]] std::optional<model::raft_index> retention_point() const;

  // --- compaction (docs/storage-format.md, "Compaction") ---
  /// Whether the log should be compacted now: cleanup.policy has compact, no compaction is
  /// running, and the closed segments not compacted yet hold min_cleanable_dirty_ratio of the
  /// closed bytes, or a kept tombstone's delete horizon has passed.
  [[nodiscard]] bool compaction_due() const;
  /// Captures a compaction of the closed segments that are safe to clean: from the first
  /// segment up to (excluding) the first one that ends beyond the flushed offset (or
  /// `bounds.limit`) or is younger than min.compaction.lag.ms. The active segment is never
  /// compacted. nullptr when there is nothing to do or a compaction is already running.
  std::shared_ptr<compaction_job> prepare_compaction(const compaction_bounds& bounds = {});
  /// Swaps in what `job` (run()) wrote, or discards it when it failed or the log changed
  /// meanwhile (truncation, retention, DeleteRecords: errc::compaction_aborted). Owner thread.
  result<compaction_stats> finish_compaction(compaction_job& job);
  /// prepare, run and finish on the calling (owner) thread; empty stats when nothing to do.
  result<compaction_stats> compact(const compaction_bounds& bounds = {});
  /// Identifies this log object among all logs of the process (jobs refer to it).
  [[nodiscard]] uint64_t id() const { return id_; }

  /// Makes everything appended so far durable; `done` runs on a flush-pool thread (or at once,
  /// on this thread, when nothing is pending). Requests that arrive while a flush runs are
  /// served together by the next one.
  void flush_async(std::function<void(status)> done);
  /// Blocking flush, for shutdown and tests.
  status flush();
  /// Waits until no flush round holds this log (its completions have all run and are gone).
  void wait_flushes() const;
  /// Flushes, writes checkpoints; the log must not be used afterwards.
  status close();

 private:
  log(model::ntp name, std::filesystem::path path, options opts);
  status load(bool clean, log_recovery& report);
  status roll(model::leader_epoch epoch);
  /// The segment is old enough to roll (segment.ms less this segment's jitter).
  [[nodiscard]] bool aged(const segment& s, timestamp_ms now) const;
  void draw_roll_jitter();
  /// Tells the flush pool about a write at the log end (data or internal entry): the end
  /// and last index a flush round will make durable, and a new write sequence.
  void published_write();
  /// Writes a checked data batch at the log end, rolling first when due, stamped with the log
  /// end as base offset and `epoch` (in a copy of the header; `batch` is not changed).
  result<append_result> write_at_end(model::batch_header h, std::span<const std::byte> batch,
                                     model::leader_epoch epoch);
  /// An entry at Raft index `expected` and offset `base` continues the log
  /// (errc::index_mismatch otherwise).
  [[nodiscard]] status continues(model::raft_index expected, int64_t base) const;
  /// A follower's data batch: checked as model::validate_replicated() does, then written when
  /// it continues the log (at `base`, index `expected`).
  result<model::raft_index> append_replica(std::span<const std::byte> batch,
                                           model::kafka_offset base, model::leader_epoch epoch,
                                           model::raft_index expected);
  status check_writable() const;
  error io_failed(const error& e);
  status remove_front_segment();
  /// After a truncation moved the log end: the flush state follows it (the closed segments
  /// `gone` says are no longer to be synced, nothing past the end counts as flushed, a running
  /// round claims nothing beyond it) and the recovery point is rewritten.
  status settle_truncation(const std::function<bool(const std::shared_ptr<segment>&)>& gone);
  status resolve_swap_files(std::vector<int64_t>& swapped);
  status write_offset_file(const char* name, int64_t value);
  result<std::optional<int64_t>> read_offset_file(const char* name);
  void run_flush();
  /// Releases the files of closed segments that a flush made durable (owner thread).
  void release_synced();
  status load_snapshots();
  /// Deletes the snapshots outside [first segment's base, `end`].
  void drop_snapshots_outside(int64_t end);
  /// Segments are ordered by (Kafka base, Raft base); both increase along the log (Kafka
  /// bases only weakly: segments of internal entries alone share the next one's). Lookups
  /// by either coordinate alone are valid.
  struct segment_key {
    int64_t kafka = 0;
    int64_t raft = 0;
    auto operator<=>(const segment_key&) const = default;
  };
  struct segment_order {
    using is_transparent = void;
    bool operator()(const segment_key& a, const segment_key& b) const { return a < b; }
    bool operator()(const segment_key& a, model::kafka_offset k) const {
      return a.kafka < k.value();
    }
    bool operator()(model::kafka_offset k, const segment_key& a) const {
      return k.value() < a.kafka;
    }
    bool operator()(const segment_key& a, model::raft_index i) const { return a.raft < i.value(); }
    bool operator()(model::raft_index i, const segment_key& a) const { return i.value() < a.raft; }
  };
  using segment_map = std::map<segment_key, std::shared_ptr<segment>, segment_order>;
  static segment_key key_of(const segment& s) {
    return segment_key{s.base_offset().value(), s.raft_base().value()};
  }
  /// The segment a read from Kafka offset `o` starts in: the first one with base `o` (it may
  /// hold internal entries only), else the last one starting before `o`.
  [[nodiscard]] segment_map::const_iterator kafka_seek(model::kafka_offset o) const;
  /// The segment holding Raft index `i`. REQUIRES: first_index() <= i <= last_index().
  [[nodiscard]] segment_map::const_iterator raft_seek(model::raft_index i) const;
  /// The first Raft index of a stored entry; nullopt for the log's own local entries.
  [[nodiscard]] std::optional<model::raft_index> first_index_of(const model::batch_header& h) const;
  /// The batch holding Raft index `i` (REQUIRES: in the log): its segment, where it is, and
  /// its first index.
  struct raft_location {
    segment_map::const_iterator seg;
    batch_location batch;
    model::raft_index first;
  };
  result<raft_location> locate_entry(model::raft_index i) const;
  /// Adds the internal Raft entries of `seg` (appended last) to the offset map.
  status map_internal_entries(const segment& seg);
  segment& active() { return *segments_.rbegin()->second; }
  const segment& active() const { return *segments_.rbegin()->second; }
  segment::options segment_options() const;

  model::ntp name_;
  std::filesystem::path path_;
  options opts_;
  segment_map segments_;
  offset_map offsets_;
  /// Closed segments still holding their files until a flush made them durable.
  std::vector<std::shared_ptr<segment>> unreleased_;
  uint64_t released_at_ = 0;  ///< flush_->closed_synced when unreleased_ was last looked at
  model::kafka_offset log_start_{0};
  model::kafka_next_offset log_end_{0};
  epoch_cache epochs_;
  int64_t unflushed_messages_ = 0;
  timestamp_ms first_unflushed_ms_ = -1;
  std::shared_ptr<log_flush_state> flush_;
  uint64_t id_;
  /// Bumped whenever segments are removed, truncated or replaced: a compaction prepared
  /// under another generation is not swapped in.
  uint64_t generation_ = 0;
  bool compacting_ = false;
  /// End of the range the last compaction covered (in memory: after a restart everything
  /// closed counts as not yet compacted, so the first run re-reads it once).
  model::kafka_next_offset cleaned_end_{0};
  timestamp_ms tombstone_deadline_ = -1;
  /// segment.jitter.ms drawn for the active segment.
  int64_t roll_jitter_ms_ = 0;
  snapshot_source snapshot_source_;
  std::set<int64_t> snapshots_;  ///< offsets of the snapshots written or being written
  std::optional<std::pair<int64_t, std::vector<std::byte>>> stashed_snapshot_;
};

}  // namespace strom::storage
