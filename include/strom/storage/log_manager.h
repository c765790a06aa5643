#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
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
///
/// A data directory holds, besides partition directories, only Strom's own entries: `.lock`,
/// `.strom/` (topic table, producer ids), the clean-shutdown marker and its temp file. Every
/// other name is a candidate partition directory, including names that start with '.' (a
/// topic may be called `.hidden`). At open, delete markers (`<topic>-<p>.<id>-delete`, see
/// delete_directories) are removed, and when options::claimed is set, partition directories
/// it does not claim are removed after an unclean shutdown (the remains of a topic creation
/// or deletion a crash interrupted) and renamed to `<topic>-<p>.<id>-stray` after a clean one
/// (kept for the operator; not expected to happen). docs/storage-format.md, "Topics".
///
/// create/get/release/remove/delete_directories/partitions are thread-safe (a mutex guards
/// the table; they are cold paths) and may block on the disk: call them off the shard
/// threads (admin_pool()). Each log itself is used by one owner thread. open, housekeeping and
/// shutdown are called when no other thread uses the logs.
class log_manager {
 public:
  struct options {
    std::vector<std::filesystem::path> data_dirs;
    std::shared_ptr<io::file_system> fs;
    clock* clk = &clock::system();
    log_config defaults;
    size_t flush_threads = 1;
    /// Whether a partition directory belongs to an existing topic. Unset: every one does
    /// (tools and tests that have no topic table).
    std::function<bool(const model::ntp&)> claimed;
    /// Log files of closed segments held open at most, over every log (the descriptor cache,
    /// docs/architecture.md "Descriptors"); active segments hold theirs besides.
    size_t max_open_segment_files = 1024;
    /// Handed to every log (segment roll jitter); default_random() when null.
    random_source* random = nullptr;
  };

  /// The marker's file name inside a data directory.
  static constexpr const char* clean_shutdown_marker = ".strom_clean_shutdown";

  static result<std::unique_ptr<log_manager>> open(options opts);
  ~log_manager();
  log_manager(const log_manager&) = delete;
  log_manager& operator=(const log_manager&) = delete;

  /// Suffixes of directories that are not partition logs (see the class comment).
  static constexpr std::string_view delete_suffix = "-delete";
  static constexpr std::string_view stray_suffix = "-stray";
  /// `<topic>-<partition>.<16 hex digits><suffix>` for a partition directory name, the topic
  /// cut short so that the name fits io::max_name_bytes (as Kafka names its delete markers).
  static std::string marker_name(const model::ntp& name, std::string_view suffix);

  /// Creates the log of `name` with `config` (in the data directory holding the fewest logs).
  /// A directory of that name left on disk without a log in the table (a removal that failed)
  /// is removed first, in every data directory: a new log never adopts old data. With
  /// `sync_dirs` false the new entries of the data directories are not fsynced yet: the
  /// caller calls sync_dirs() before relying on them.
  result<log*> create(const model::ntp& name, const log_config& config, bool sync_dirs = true);
  /// fsyncs every online data directory.
  status sync_dirs();
  /// nullptr when there is no such log.
  log* get(const model::ntp& name);
  /// Deletes a log and its directory.
  status remove(const model::ntp& name);
  /// Takes a log out of the table and closes it, leaving its directory; returns the
  /// directory's path (for delete_directories).
  result<std::filesystem::path> release(const model::ntp& name);
  /// Deletes partition directories of released logs the crash-safe way: each is renamed to a
  /// unique delete marker (marker_name), the data directories are fsynced, then the markers
  /// are removed. A marker a crash leaves behind is removed at the next open; one whose
  /// removal fails is tried again by the next create or delete_directories. A directory
  /// that cannot be renamed is removed where it is. Returns the first error.
  status delete_directories(const std::vector<std::filesystem::path>& dirs);
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
  /// The thread for the file work of topic administration (creating and deleting logs,
  /// directory fsyncs, topic files), so that neither the shards nor the flush thread wait on
  /// it. Tasks are submitted by the topics front end, one topic change at a time.
  blocking_pool& admin_pool() { return *admin_pool_; }
  /// Waits until no flush round runs for any log: their completions (which may hold handlers
  /// of coroutines on the shards) have run and are gone. A stop calls it once the shards no
  /// longer flush, before it destroys their executors.
  void wait_flushes() const;
  /// Closes every log and writes the clean-shutdown markers of the online directories.
  status shutdown();

 private:
  explicit log_manager(options opts);
  status load();
  /// Removes delete markers and deals with unclaimed partition directories of `dir`; returns
  /// the names of the partition directories left to open.
  result<std::vector<std::string>> sweep(const std::shared_ptr<log_dir>& dir, bool clean,
                                         const std::vector<std::string>& names);
  log::options log_options(const std::shared_ptr<log_dir>& dir, const log_config& c);
  /// Tries again to remove the directories a deletion could not remove. Under mu_.
  void retry_leftovers();

  options opts_;
  mutable std::mutex mu_;                // guards logs_, placement_ and leftovers_ after open
  std::unique_ptr<blocking_pool> pool_;  // declared before logs_: outlives them
  std::unique_ptr<file_cache> files_;    // likewise
  std::unique_ptr<blocking_pool> writeback_pool_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<blocking_pool> compaction_pool_;
  std::vector<std::shared_ptr<log_dir>> dirs_;
  std::map<model::ntp, std::unique_ptr<log>> logs_;
  std::map<model::ntp, std::shared_ptr<log_dir>> placement_;
  std::vector<std::filesystem::path> leftovers_;  ///< deleted directories not yet removed
  log_recovery summary_;
  bool all_clean_ = true;
  bool shut_down_ = false;  ///< shutdown() ran
  // Last: destroyed (its queue run, its thread joined) while the logs still exist.
  std::unique_ptr<blocking_pool> admin_pool_ = std::make_unique<blocking_pool>(1, "admin");
};

}  // namespace strom::storage
