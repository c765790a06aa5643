#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "strom/io/file_system.h"

namespace strom::io {

/// A file system in memory, for tests and simulation. Each file remembers what was last
/// synced; crash() throws away everything written since, the way a power cut loses the page
/// cache. Directory operations are durable at once. Names longer than max_name_bytes fail
/// with ENAMETOOLONG, as on Linux. Thread-safe.
class memory_file_system final : public file_system {
 public:
  memory_file_system();
  ~memory_file_system() override;

  result<std::shared_ptr<file>> open(const std::filesystem::path& p, open_mode mode) override;
  result<bool> exists(const std::filesystem::path& p) override;
  result<std::vector<std::string>> list(const std::filesystem::path& dir) override;
  result<bool> is_directory(const std::filesystem::path& p) override;
  status create_directories(const std::filesystem::path& p) override;
  status remove(const std::filesystem::path& p) override;
  status remove_all(const std::filesystem::path& p) override;
  status rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  status sync_directory(const std::filesystem::path& dir) override;
  status sync_file_system(const std::filesystem::path& p) override;
  result<uint64_t> free_space(const std::filesystem::path& p) override;

  /// Drops every unsynced write of every file.
  void crash();
  /// Direct access to a file's current bytes (to corrupt them in tests). Empty when missing.
  std::vector<std::byte>* contents(const std::filesystem::path& p);
  /// Files opened and not yet closed (every `file` object alive), like a process's open
  /// descriptors.
  [[nodiscard]] int64_t open_files() const { return open_->count.load(); }
  /// The most files open at once since the last reset_peak_open_files().
  [[nodiscard]] int64_t peak_open_files() const { return open_->peak.load(); }
  void reset_peak_open_files() { open_->peak = open_->count.load(); }

  struct open_counter {
    std::atomic<int64_t> count{0};
    std::atomic<int64_t> peak{0};
  };

  struct node;

 private:
  std::mutex mu_;  // guards files_ and dirs_
  std::map<std::string, std::shared_ptr<node>> files_;
  std::map<std::string, bool> dirs_;
  std::shared_ptr<open_counter> open_ = std::make_shared<open_counter>();
};

}  // namespace strom::io
