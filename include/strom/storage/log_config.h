#pragma once

#include <cstdint>
#include <optional>

namespace strom::storage {

/// Per-log settings (Kafka topic configs). Defaults mirror Kafka's.
struct log_config {
  /// segment.bytes: roll the active segment before it would grow past this.
  uint64_t segment_bytes = uint64_t{1} << 30;
  /// segment.ms: roll the active segment once it is this old (and not empty).
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  /// segment.jitter.ms: each segment rolls a random time in [0, min(this, segment_ms / 2))
  /// earlier than segment_ms, so that partitions created together do not roll together.
  int64_t segment_jitter_ms = 0;
  /// segment.index.bytes: roll the active segment before its offset index would grow past
  /// this (12 bytes per entry); bounds a segment's in-memory index.
  uint64_t index_max_bytes = 10 * 1024 * 1024;
  /// retention.ms: delete closed segments whose newest timestamp is older; -1 = forever.
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  /// retention.bytes: delete oldest segments while the log is larger; -1 = no limit.
  int64_t retention_bytes = -1;
  /// index.interval.bytes: bytes between two sparse offset-index entries.
  uint32_t index_interval_bytes = 4096;
  /// Appended data is handed to the device's writeback every this many bytes per segment
  /// (sync_file_range), so dirty pages never pile up; 0 leaves it to the kernel.
  uint64_t writeback_bytes = 1 << 20;
  /// max.message.bytes: the largest batch accepted.
  uint32_t max_batch_bytes = 1048588;
  /// flush.messages: force a flush after this many messages; nullopt = never force.
  std::optional<int64_t> flush_messages;
  /// flush.ms: force a flush when the oldest unflushed data is this old; nullopt = never.
  std::optional<int64_t> flush_ms;
  /// cleanup.policy contains `delete`: retention by time and size applies.
  bool cleanup_delete = true;
  /// cleanup.policy contains `compact`: closed segments keep the newest record per key, and
  /// appends of records without a key are refused.
  bool cleanup_compact = false;
  /// delete.retention.ms: how long a tombstone survives once compaction has seen it.
  int64_t delete_retention_ms = 86'400'000;
  /// min.compaction.lag.ms: a closed segment is compacted only once its newest record is at
  /// least this old.
  int64_t min_compaction_lag_ms = 0;
  /// A compaction starts when the closed segments not yet compacted hold at least this share
  /// of the closed bytes (Kafka's min.cleanable.dirty.ratio default).
  double min_cleanable_dirty_ratio = 0.5;
};

}  // namespace strom::storage
