#pragma once

#include <system_error>

namespace strom::storage {

enum class errc {
  log_dir_offline = 1,  ///< an I/O error took the log's directory offline
  offset_out_of_range,  ///< read below the log start or beyond the log end
  stale_epoch,          ///< append with a leader epoch older than the log's
  invalid_batch,        ///< the batch failed validation (detail says why)
  batch_too_large,      ///< larger than max.message.bytes
  invalid_offset,       ///< a truncation or deletion point outside the log
  log_exists,           ///< create of a log that is already there
  log_not_found,
  invalid_name,        ///< a partition directory name that can't be parsed
  corrupt_checkpoint,  ///< a checkpoint file that can't be parsed
  compaction_aborted,  ///< the log changed (or the broker stops) while a compaction ran
  record_without_key,  ///< a record without a key sent to a compacted topic
  /// Out of file descriptors or memory (EMFILE, ENFILE, ENOMEM): the request failed and may
  /// be retried; the data directory stays online (docs/architecture.md, "Resource errors").
  resource_exhausted,
  /// A Raft append out of place: not contiguous with the log, or its Raft index and Kafka
  /// offset disagree with the log's delta (raft-design §1.7.5).
  index_mismatch,
};

const std::error_category& storage_category();

/// Whether `e` says the process ran out of a resource (descriptors, memory) rather than that
/// the disk failed: EMFILE, ENFILE, ENOMEM, or errc::resource_exhausted.
bool is_resource_exhaustion(const std::error_code& e);
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), storage_category()};
}

}  // namespace strom::storage

template <>
struct std::is_error_code_enum<strom::storage::errc> : std::true_type {};
