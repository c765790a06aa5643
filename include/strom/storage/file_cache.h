#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "strom/base/result.h"
#include "strom/io/file_system.h"

namespace strom::storage {

class cached_file;

/// The open log files of closed segments, at most `capacity` of them, shared by every log of
/// a log manager (docs/architecture.md, "Descriptors"). A closed segment's log file is opened
/// when a read needs it and closed again when it is the least recently used one and another
/// must open. A file handed out stays open as long as its holder keeps it (a Fetch response
/// being sent, a compaction), whether or not it is still in the cache, so the process holds
/// at most `capacity` + the files of active segments + the files in use right now.
///
/// Thread-safe: logs on every shard thread and the compaction thread share one cache. Entries
/// are touched without the lock while nothing new was opened since their last touch.
class file_cache {
 public:
  explicit file_cache(size_t capacity);
  file_cache(const file_cache&) = delete;
  file_cache& operator=(const file_cache&) = delete;

  [[nodiscard]] size_t capacity() const { return capacity_; }
  /// Files the cache holds open now.
  [[nodiscard]] size_t size() const;
  /// Files opened again after they had been closed (or never opened) so far.
  [[nodiscard]] uint64_t reopens() const { return reopens_.load(); }
  /// Files closed to make room so far.
  [[nodiscard]] uint64_t evictions() const { return evictions_.load(); }

 private:
  friend class cached_file;
  struct entry {
    std::shared_ptr<io::file> file;
    std::list<uint64_t>::iterator lru;
  };
  /// Holds `f` for handle `id` as the most recently used file; closes (drops) the least
  /// recently used ones beyond the capacity.
  void insert(uint64_t id, std::shared_ptr<io::file> f);
  /// Marks `id` most recently used; false when the cache no longer holds it.
  bool touch(uint64_t id);
  void erase(uint64_t id);
  /// Bumped by every insert: a handle touched since the last insert need not touch again.
  [[nodiscard]] uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  const size_t capacity_;
  mutable std::mutex mu_;    // guards lru_ and entries_
  std::list<uint64_t> lru_;  // handle ids, most recently used first
  std::unordered_map<uint64_t, entry> entries_;
  std::atomic<uint64_t> generation_{1};
  std::atomic<uint64_t> reopens_{0};
  std::atomic<uint64_t> evictions_{0};
};

/// The log file of one segment as readers reach it once the segment is closed: a weak
/// reference that reopens the file (read-only) when it has been closed, through `cache`.
/// Without a cache it simply keeps the file open. Thread-safe (the owner shard and the
/// compaction thread use it); owned through shared_ptr by the segment and compaction jobs.
class cached_file {
 public:
  cached_file(io::file_system* fs, std::filesystem::path path, file_cache* cache);
  ~cached_file();
  cached_file(const cached_file&) = delete;
  cached_file& operator=(const cached_file&) = delete;

  /// The open file: the one in use if any, else reopened. Out of descriptors or memory is
  /// errc::resource_exhausted.
  result<std::shared_ptr<io::file>> get();
  /// Puts a file that is already open (the segment's own handle) in the cache, so that the
  /// segment can let go of it.
  void adopt(std::shared_ptr<io::file> f);
  /// Follows a file the caller keeps open itself (an active segment's); the cache no longer
  /// needs to hold one for it.
  void track(const std::shared_ptr<io::file>& f);
  /// The file was renamed (a compacted segment swapped in under its final name).
  void set_path(std::filesystem::path p);

 private:
  std::mutex mu_;  // guards everything below
  io::file_system* fs_;
  std::filesystem::path path_;
  file_cache* cache_;
  const uint64_t id_;
  std::weak_ptr<io::file> file_;
  std::shared_ptr<io::file> held_;  ///< without a cache: the file, kept open
  uint64_t touched_ = 0;            ///< cache generation at the last touch
};

}  // namespace strom::storage
