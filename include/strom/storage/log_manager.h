#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "strom/base/blocking_pool.h"
#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/io/file_system.h"
#include "strom/model/ntp.h"
#include "strom/storage/file_cache.h"
#include "strom/storage/log.h"

namespace strom::storage {

/// Owns every partition log of this node, over one or more data directories.
///
/// At open it reads each directory's clean-shutdown marker, opens every `<topic>-<partition>`
/// directory (recovering the logs when the marker is missing), then removes the marker so a
/// later crash is noticed. shutdown() closes every log and writes the marker again;
/// destroying the manager without shutdown() writes no marker, so the next start recovers.
/// create/get/remove/partitions are thread-safe (a mutex guards the table; they are cold
/// paths); each log itself is used by one owner thread. open, housekeeping and shutdown are
/// called when no other thread uses the logs.
class log_manager {
 public:
  struct options {
    std::vector<std::filesystem::path> data_dirs;
    std::shared_ptr<io::file_system> fs;
    clock* clk = &clock::system();
    log_config defaults;
    size_t flush_threads = 1;
    /// Log files of closed segments held open at most, over every log (the descriptor cache,
    /// docs/architecture.md "Descriptors"); active segments hold theirs besides.
    size_t max_open_segment_files = 1024;
  };

  /// The marker's file name inside a data directory.
  static constexpr const char* clean_shutdown_marker = ".strom_clean_shutdown";

  static result<std::unique_ptr<log_manager>> open(options opts);
  ~log_manager();
  log_manager(const log_manager&) = delete;
  log_manager& operator=(const log_manager&) = delete;

  /// Creates the log of `name` with `config` (in the data directory holding the fewest logs).
  result<log*> create(const model::ntp& name, const log_config& config);
  /// nullptr when there is no such log.
  log* get(const model::ntp& name);
  /// Deletes a log and its directory.
  status remove(const model::ntp& name);
  [[nodiscard]] std::vector<model::ntp> partitions() const;
  [[nodiscard]] const std::vector<std::shared_ptr<log_dir>>& dirs() const { return dirs_; }
  [[nodiscard]] const log_recovery& recovery_summary() const { return summary_; }
  [[nodiscard]] bool recovered_cleanly() const { return all_clean_; }

  /// Roll by age and time-based flushes over every log, and retention when `retention`.
  /// Returns the number of segments deleted. Compaction is not run here (see compact_all).
  size_t housekeeping(bool retention = true);
  /// Compacts, on the calling thread, every log whose compaction is due. For tools and tests;
  /// the broker runs compactions on compaction_pool() from each shard's housekeeping.
  size_t compact_all();
  /// The thread that runs compaction jobs (never the flush threads: a long compaction must not
  /// delay fsyncs). Jobs are submitted by the logs' owner threads.
  blocking_pool& compaction_pool() { return *compaction_pool_; }
  /// The descriptor cache of closed segments' log files.
  [[nodiscard]] const file_cache& files() const { return *files_; }
  /// Makes running and queued compaction jobs give up (they fail with compaction_aborted).
  void stop_compactions() { cancel_->store(true); }
  /// Closes every log and writes the clean-shutdown markers of the online directories.
  status shutdown();

 private:
  explicit log_manager(options opts);
  status load();
  log::options log_options(const std::shared_ptr<log_dir>& dir, const log_config& c);

  options opts_;
  mutable std::mutex mu_;                // guards logs_ and placement_ after open
  std::unique_ptr<blocking_pool> pool_;  // declared before logs_: outlives them
  std::unique_ptr<file_cache> files_;    // likewise
  std::unique_ptr<blocking_pool> writeback_pool_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<blocking_pool> compaction_pool_;
  std::vector<std::shared_ptr<log_dir>> dirs_;
  std::map<model::ntp, std::unique_ptr<log>> logs_;
  std::map<model::ntp, std::shared_ptr<log_dir>> placement_;
  log_recovery summary_;
  bool all_clean_ = true;
  bool shut_down_ = false;  ///< shutdown() ran
};

}  // namespace strom::storage
