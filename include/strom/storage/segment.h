#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "strom/base/blocking_pool.h"
#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/io/file_system.h"
#include "strom/model/offsets.h"
#include "strom/model/record_batch.h"
#include "strom/storage/file_cache.h"

namespace strom::storage {

/// One sparse offset-index entry. On disk: relative offset u32, file position u32, flags u32,
/// big-endian (12 bytes). Internal entries are always indexed, with flag `internal`.
struct index_entry {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
  uint32_t flags = 0;
  static constexpr uint32_t internal = 1;
  static constexpr size_t disk_size = 12;
};

/// One time-index entry: the largest timestamp seen so far in the segment and the relative
/// offset of the batch that holds it. On disk: timestamp i64, relative offset u32 (12 bytes).
struct time_index_entry {
  int64_t max_timestamp = 0;
  uint32_t relative_offset = 0;
  static constexpr size_t disk_size = 12;
};

/// Whether the offsets of a batch header read from disk can be used without overflow: the
/// base offset is not covered by the CRC, so a damaged one must not reach offset arithmetic.
bool offsets_in_range(const model::batch_header& h);

/// A byte range of a segment file, for copying or for sendfile.
struct file_slice {
  std::shared_ptr<io::file> file;
  uint64_t position = 0;
  uint64_t length = 0;
};

/// A batch found in a segment: its header and where it is.
struct batch_location {
  model::batch_header header;
  uint64_t position = 0;
};

/// A read-ahead window for walking batch headers forward through one segment: a sequential
/// walk reads the file a window at a time instead of one `pread` per header. Belongs to the
/// caller's stack; valid for the segment it was first used with.
class header_window {
 public:
  static constexpr size_t capacity = 8192;

 private:
  friend class segment;
  std::array<std::byte, capacity> bytes_;
  uint64_t start_ = 0;  ///< file position of bytes_[0]
  size_t length_ = 0;   ///< bytes of bytes_ holding file data
  bool large_ = false;  ///< the last batch outgrew a window: read headers alone
};

/// What recovery of one segment found.
struct segment_recovery {
  uint64_t valid_bytes = 0;
  uint64_t truncated_bytes = 0;
  size_t batches = 0;
  bool index_rebuilt = false;
  std::string reason;  ///< why the tail was cut, empty when nothing was
};

/// What a segment's file names say about it: its Kafka base offset and, when its base Raft
/// index differs from that (delta != 0), the base Raft index. Written as the *stem* that
/// starts all three file names: `<20-digit Kafka base>` or
/// `<20-digit Kafka base>-r<20-digit Raft base>` (docs/storage-format.md).
struct segment_stem {
  model::kafka_offset base;
  std::optional<model::raft_index> raft;
  /// The stem of a new segment: the Raft base is in the name unless it equals the Kafka base.
  static segment_stem of(model::kafka_offset base, model::raft_index raft_base) {
    if (raft_base.value() == base.value())
      return segment_stem{base, std::nullopt};
    return segment_stem{base, raft_base};
  }
  auto operator<=>(const segment_stem&) const = default;
};

/// File names of a segment: `<stem>-<epoch>.log`, `<stem>.index`, `<stem>.timeindex`.
struct segment_names {
  static std::string stem_text(const segment_stem& stem);
  static std::string log_name(const segment_stem& stem, model::leader_epoch epoch);
  static std::string index_name(const segment_stem& stem);
  static std::string time_index_name(const segment_stem& stem);
  /// Names of a segment whose stem is the Kafka base alone (delta 0: every log written
  /// before Raft indexes, and every log without internal Raft entries).
  static std::string log_name(model::kafka_offset base, model::leader_epoch epoch) {
    return log_name(segment_stem{base, std::nullopt}, epoch);
  }
  static std::string index_name(model::kafka_offset base) {
    return index_name(segment_stem{base, std::nullopt});
  }
  static std::string time_index_name(model::kafka_offset base) {
    return time_index_name(segment_stem{base, std::nullopt});
  }
  /// A state snapshot's file: `<20-digit offset>.snapshot`.
  static std::string snapshot_name(model::kafka_next_offset at);
  static std::optional<model::kafka_next_offset> parse_snapshot_name(const std::string& name);
  /// Parses a log file name; nullopt when it is not one.
  struct parsed {
    model::kafka_offset base;
    model::leader_epoch epoch;
    std::optional<model::raft_index> raft;  ///< present when the name carries it
    [[nodiscard]] segment_stem stem() const { return segment_stem{base, raft}; }
  };
  static std::optional<parsed> parse_log_name(const std::string& name);
  /// The base offset of any of the three file names of a segment (log, index, time index);
  /// nullopt for any other name, however short or long.
  static std::optional<model::kafka_offset> parse_segment_file_base(const std::string& name);
};

/// One segment: a log file of record batches of a single leader epoch, plus its sparse offset
/// index and time index (kept in memory and appended to their files).
///
/// Owned by a log; touched only by the log's owner thread, except `sync()`, mark_synced(),
/// the files handed out in file_slices and the handle of log_source(), which the flusher,
/// readers and compaction may use concurrently.
///
/// Descriptors: an open segment holds its log file and both index files. Once it is closed
/// and synced, release_files() closes the index files (they are complete and durable) and
/// hands the log file to the shared file_cache, which closes it when other files need the
/// room; a later read reopens it (read-only). reacquire() opens all three again before a
/// closed segment is written to (it becomes active again after a truncation).
/// Invariants: batches are contiguous from position 0 to size(); Kafka offsets increase;
/// every batch carries the segment's epoch; index entries increase in offset and position.
class segment {
 public:
  struct options {
    io::file_system* fs = nullptr;
    std::filesystem::path dir;
    uint32_t index_interval_bytes = 4096;
    size_t max_batch_bytes = 1 << 20;
    /// Start writing appended data back to the device every this many bytes (0: leave it to
    /// the kernel's periodic writeback).
    uint64_t writeback_bytes = 0;
    /// Runs the writeback calls (they may block for a while in the file system); inline when
    /// null.
    blocking_pool* writeback_pool = nullptr;
    /// Appended to the three file names: compaction writes a segment as `<name>.cleaned`
    /// before swapping it in (docs/storage-format.md). Empty for live segments.
    std::string suffix;
    /// Where a closed segment's log file goes once released (release_files()); without one
    /// a closed segment keeps its log file open.
    file_cache* cache = nullptr;
  };

  /// Creates an empty segment (files must not exist) named by `stem`, whose first entry will
  /// have Raft index `raft_base`.
  static result<std::unique_ptr<segment>> create(const options& opts, const segment_stem& stem,
                                                 model::raft_index raft_base,
                                                 model::leader_epoch epoch, timestamp_ms now);
  /// Opens an existing segment. With `recover`, every batch is re-read and CRC-checked, a bad
  /// tail is truncated and the indexes are rebuilt; without it, the on-disk index is loaded
  /// and sanity-checked (a missing or bad index triggers recovery anyway). `raft_base` is the
  /// Raft index of its first entry (from the name, or continuing the previous segment).
  static result<std::unique_ptr<segment>> open(const options& opts, const segment_stem& stem,
                                               model::raft_index raft_base,
                                               model::leader_epoch epoch, bool recover,
                                               timestamp_ms now, segment_recovery& report);

  [[nodiscard]] model::kafka_offset base_offset() const { return base_; }
  /// The Raft index of the segment's first entry (of the next entry, while it is empty).
  [[nodiscard]] model::raft_index raft_base() const { return raft_base_; }
  [[nodiscard]] const segment_stem& stem() const { return stem_; }
  /// Whether the segment covers Kafka offsets (holds data, or a compaction's gap): a
  /// segment of internal entries alone does not.
  [[nodiscard]] bool covers_offsets() const { return next_.value() > base_.value(); }
  [[nodiscard]] model::leader_epoch epoch() const { return epoch_; }
  /// The exclusive offset after the last data batch, or the position of a later internal
  /// entry (an entry left by compaction keeps a removed tail's end); == base when empty.
  [[nodiscard]] model::kafka_next_offset next_offset() const { return next_; }
  [[nodiscard]] uint64_t size_bytes() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] timestamp_ms max_timestamp() const { return max_timestamp_; }
  [[nodiscard]] timestamp_ms created_ms() const { return created_ms_; }
  /// The log file, reopened through the cache when released. Owner thread.
  [[nodiscard]] result<std::shared_ptr<io::file>> log_file() const;
  /// A handle to the log file that any thread may use (compaction reads closed segments).
  [[nodiscard]] const std::shared_ptr<cached_file>& log_source() const { return source_; }
  /// Whether release_files() let go of the files.
  [[nodiscard]] bool released() const { return log_ == nullptr; }
  [[nodiscard]] const std::vector<index_entry>& index() const { return index_; }

  /// Appends a validated, stamped batch at the end of the file.
  /// REQUIRES: h.partition_leader_epoch == epoch(); data batches start at next_offset().
  status append(std::span<const std::byte> batch, const model::batch_header& h) {
    return append(batch, {}, h);
  }
  /// The same for a batch whose header (stamped) is `head` and whose records follow in `body`.
  status append(std::span<const std::byte> head, std::span<const std::byte> body,
                const model::batch_header& h);

  /// The first batch (data or internal) that contains `o` or starts after it, scanning from
  /// the closest index entry. nullopt when no such batch exists in this segment.
  result<std::optional<batch_location>> find(model::kafka_offset o,
                                             header_window* window = nullptr) const;
  /// Reads the header of the batch at `position`; nullopt at the end of the segment. Recent
  /// batches come from memory; others from `window` when given (a forward walk), else from the
  /// file.
  result<std::optional<batch_location>> header_at(uint64_t position,
                                                  header_window* window = nullptr) const;
  /// The first data batch whose max timestamp is >= ts; nullopt when there is none.
  result<std::optional<batch_location>> find_by_timestamp(timestamp_ms ts) const;

  /// Removes every batch whose last offset is >= `end` (internal entries positioned at or
  /// after `end` too). A batch that straddles `end` is removed whole.
  status truncate(model::kafka_next_offset end);
  /// Removes every batch from file position `position` (a batch boundary) on.
  status truncate_at(uint64_t position);

  /// Forgets the headers of recent appends (the segment was closed by a roll).
  void release_recent();

  /// fdatasync of the log file, then of the index files.
  status sync();
  /// A flush made this closed segment durable (fdatasync of its files or a syncfs): it may
  /// be released. Any thread.
  void mark_synced() {
    indexes_dirty_ = false;
    synced_.store(true, std::memory_order_release);
  }
  [[nodiscard]] bool synced() const { return synced_.load(std::memory_order_acquire); }
  /// Closes the index files and hands the log file to the cache. REQUIRES: closed (no more
  /// appends) and durable; the index files are written and synced first if need be.
  status release_files();
  /// Opens the files again for writing (a truncation made this segment the active one).
  status reacquire();
  /// Writes what the index files lack and closes them (a roll closed the segment), so that
  /// a closed segment waiting for its flush holds one descriptor instead of three; a flush
  /// that still has to sync them opens them for the fsync. Owner thread only.
  status close_indexes();
  /// Writes index entries not yet in the index files. Owner thread only.
  status write_pending_indexes();
  /// fdatasync of the index files (whatever they hold). Any thread.
  status flush_indexes();
  /// Deletes the segment's files.
  status remove_files();
  /// Deletes the log file only (an empty segment replaced by one with its base, whose index
  /// files now carry the same names).
  status remove_log_file();
  /// The files were renamed from `<name><suffix>` to `<name>`: later removals use the plain
  /// names. Open handles stay valid across a rename.
  void clear_suffix();

 private:
  segment(const options& opts, const segment_stem& stem, model::raft_index raft_base,
          model::leader_epoch epoch);
  status open_files(bool create);
  status recover(segment_recovery& report);
  result<bool> load_indexes();
  status rewrite_indexes();
  void maybe_index(const model::batch_header& h, uint64_t position);
  void advance_next(const model::batch_header& h);
  void remember(const model::batch_header& h, uint64_t position);
  [[nodiscard]] const batch_location* recent_at(uint64_t position) const;
  /// Age rank (0 = oldest) of the first recent batch for which `pred` holds; `pred` must be
  /// false then true along the ring. recent_.size() when it never holds.
  template <class Pred>
  [[nodiscard]] size_t first_recent(Pred pred) const;
  /// Index into recent_ of the i-th oldest entry.
  [[nodiscard]] size_t ring_index(size_t i) const {
    size_t j = recent_first_ + i;
    return j >= recent_.size() ? j - recent_.size() : j;
  }
  status scan_tail_from(uint64_t position);
  [[nodiscard]] std::filesystem::path log_path() const;

  options opts_;
  segment_stem stem_;
  model::kafka_offset base_;
  model::raft_index raft_base_;
  model::leader_epoch epoch_;
  model::kafka_next_offset next_;
  uint64_t size_ = 0;
  timestamp_ms max_timestamp_ = -1;
  timestamp_ms created_ms_ = 0;
  uint64_t bytes_since_index_ = 0;
  uint64_t writeback_from_ = 0;  ///< appended bytes before this were handed to writeback
  static constexpr uint64_t page_bytes = 4096;
  std::shared_ptr<io::file> log_;  ///< null once released: see source_
  std::shared_ptr<cached_file> source_;
  std::atomic<bool> synced_{false};
  /// The index files: written by the owner only, under index_files_mu_; a flush on another
  /// thread reads them under it (the owner closes them at a roll, before that flush).
  mutable std::mutex index_files_mu_;
  std::shared_ptr<io::file> index_file_;
  std::shared_ptr<io::file> time_index_file_;
  std::vector<index_entry> index_;
  std::vector<time_index_entry> time_index_;
  size_t index_written_ = 0;  ///< entries of index_ already in the index file
  size_t time_written_ = 0;   ///< entries of time_index_ already in the time-index file
  std::atomic<bool> indexes_dirty_{false};  ///< index files written since their last sync
  /// Headers of the last appended batches, a ring in append order: they are contiguous and end
  /// at size_, so reads at the tail (consumers keeping up) need no file reads for headers.
  static constexpr size_t recent_capacity = 64;
  std::vector<batch_location> recent_;
  size_t recent_first_ = 0;  ///< ring index of the oldest entry
};

}  // namespace strom::storage
