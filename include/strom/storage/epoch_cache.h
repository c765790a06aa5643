#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "strom/base/result.h"
#include "strom/io/file_system.h"
#include "strom/model/offsets.h"

namespace strom::storage {

/// The leader-epoch checkpoint of a log: for each epoch, the first Kafka offset written in it.
/// Persisted as `leader-epoch-checkpoint` (text: version, count, one "epoch offset" line per
/// entry), rewritten atomically on every change. Epochs and offsets strictly increase.
class epoch_cache {
 public:
  struct entry {
    model::leader_epoch epoch;
    model::kafka_offset start;
    bool operator==(const entry&) const = default;
  };

  epoch_cache(io::file_system* fs, std::filesystem::path file) : fs_(fs), file_(std::move(file)) {}

  /// Loads the checkpoint; a missing file is an empty cache.
  status load();
  /// Records that `epoch` starts at `start`. No-op when it is not newer than the last epoch.
  /// When the checkpoint cannot be written the cache is left as it was.
  status assign(model::leader_epoch epoch, model::kafka_offset start);
  /// Drops entries that start at or after `end` (log suffix truncated to `end`).
  status truncate_from_end(model::kafka_next_offset end);
  /// The log now starts at `start`: drops entries wholly before it and moves the first kept
  /// entry's start up to `start`.
  status truncate_from_start(model::kafka_offset start);

  [[nodiscard]] const std::vector<entry>& entries() const { return entries_; }
  [[nodiscard]] std::optional<model::leader_epoch> latest() const;
  /// The epoch of the batch holding `o`, if known.
  [[nodiscard]] std::optional<model::leader_epoch> epoch_for(model::kafka_offset o) const;
  /// OffsetForLeaderEpoch: the largest epoch <= `e` and the end offset of that epoch (the start
  /// of the next epoch, or `log_end` for the latest one). nullopt when no epoch <= e exists.
  [[nodiscard]] std::optional<entry> end_offset_for(model::leader_epoch e,
                                                    model::kafka_next_offset log_end) const;

 private:
  status save();

  io::file_system* fs_;
  std::filesystem::path file_;
  std::vector<entry> entries_;
};

}  // namespace strom::storage
