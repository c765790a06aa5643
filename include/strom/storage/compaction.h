#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/io/file_system.h"
#include "strom/model/offsets.h"
#include "strom/storage/file_cache.h"
#include "strom/storage/segment.h"

namespace strom::storage {

/// What one compaction did.
struct compaction_stats {
  size_t segments_read = 0;
  size_t segments_rewritten = 0;
  uint64_t bytes_before = 0;  ///< of the rewritten segments
  uint64_t bytes_after = 0;
  uint64_t records_removed = 0;  ///< superseded by a newer record with the same key
  uint64_t tombstones_removed = 0;
  uint64_t keyless_removed = 0;
  uint64_t batches_rebuilt = 0;
  uint64_t unreadable_batches = 0;  ///< could not be decoded: kept as they were
  /// The end of the compacted range (the next offset of the last segment read).
  model::kafka_next_offset cleaned_end{0};
};

/// What a replicated log adds to a compaction's rules (docs/storage-format.md, "Compaction").
struct compaction_bounds {
  /// No segment reaching past this offset is compacted (a replicated log's high watermark:
  /// beyond it a truncation may still cut the record that would supersede an older one).
  std::optional<model::kafka_next_offset> limit;
  /// A batch whose records all go stays, with none, instead of going (a Raft log keeps each
  /// of its offsets in an entry of its term, which a follower catching up receives).
  bool keep_empty_batches = false;
};

/// One closed segment as a compaction job sees it. Closed segments are immutable, so their
/// file can be read from any thread; the job never touches the segment object. The file is
/// opened (through the descriptor cache) only while the job reads it.
struct compaction_input {
  model::kafka_offset base;
  model::leader_epoch epoch;
  std::shared_ptr<cached_file> file;
  uint64_t size = 0;
  model::kafka_next_offset next;
  /// The segment's file-name stem and base Raft index (kept by the rewritten segment).
  segment_stem stem{};
  model::raft_index raft_base{};
};

/// A compaction of the closed segments [first, last] of one log (docs/storage-format.md,
/// "Compaction").
///
/// Created by log::prepare_compaction() on the log's owner thread. run() does the heavy part
/// on any one thread (the compaction pool): it reads the inputs, builds the map of the newest
/// offset of every key in the not yet compacted part, writes each segment that changes as
/// `<name>.cleaned` files through a staged segment (indexes built on the way) and fsyncs them.
/// log::finish_compaction() then swaps the staged segments in on the owner thread, or throws them
/// away when the log changed meanwhile. Between run() and finish the job is handed over by message
/// passing only.
class compaction_job {
 public:
  struct settings {
    io::file_system* fs = nullptr;
    std::filesystem::path dir;
    segment::options segment_opts;
    timestamp_ms now = 0;
    int64_t delete_retention_ms = 86'400'000;
    size_t max_batch_bytes = size_t{1} << 30;          ///< larger batches on disk are corrupt
    size_t max_decompressed_bytes = size_t{64} << 20;  ///< per batch; larger ones are kept whole
    size_t max_map_bytes = size_t{128} << 20;          ///< key map budget; limits the range
    std::shared_ptr<const std::atomic<bool>> cancel;   ///< set at shutdown; may be null
    /// Where the data not yet compacted starts. The key map is built from there on (Kafka's
    /// "dirty" section): what lies before was compacted against every key up to that point,
    /// so only newer records can supersede it.
    model::kafka_next_offset dirty_from{0};
    /// compaction_bounds::keep_empty_batches.
    bool keep_empty_batches = false;
  };

  compaction_job(uint64_t log_id, uint64_t generation, settings s,
                 std::vector<compaction_input> inputs)
      : log_id_(log_id), generation_(generation), s_(std::move(s)), inputs_(std::move(inputs)) {}

  /// Reads, filters, writes and fsyncs the staged segments. Any thread; call once.
  status run();

  [[nodiscard]] uint64_t log_id() const { return log_id_; }
  [[nodiscard]] const compaction_stats& stats() const { return stats_; }

 private:
  friend class log;
  struct staged {
    size_t input = 0;  ///< index into inputs_
    std::shared_ptr<segment> seg;
  };
  struct key_map;

  status build_map(key_map& m, size_t& inputs_used);
  /// No later batch of the producer of `h` was seen in the mapped part.
  static bool newest_of_producer(const key_map& m, const model::batch_header& h);
  status clean_input(const key_map& m, size_t i);
  /// Removes every staged file (after a failure or an abandoned swap). Best effort.
  void discard();

  uint64_t log_id_;
  uint64_t generation_;
  settings s_;
  std::vector<compaction_input> inputs_;
  std::vector<staged> staged_;
  compaction_stats stats_;
  /// The earliest delete horizon of the tombstones kept; -1 when none is pending.
  timestamp_ms tombstone_deadline_ = -1;
  bool ran_ = false;
  status result_ = ok();
};

}  // namespace strom::storage
