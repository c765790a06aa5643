#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "strom/io/file_system.h"

namespace strom::io {

/// Wraps another file system and fails calls on command, for crash and error tests.
/// Thread-safe: the knobs are atomics and may be turned while the system under test runs.
class fault_file_system final : public file_system {
 public:
  explicit fault_file_system(std::shared_ptr<file_system> inner);

  /// After `bytes` more bytes have been written (over all files), the write that crosses the
  /// limit stores only the part below it and fails, and every later write fails: a write
  /// that stops half way. Negative disables.
  void fail_writes_after(int64_t bytes) { write_budget_ = bytes; }
  /// Every sync() fails with errc::injected_fault while set.
  void fail_syncs(bool on) { fail_sync_ = on; }
  /// Called at the start of every file sync() and sync_file_system(), on the syncing thread,
  /// before anything is synced (to run something "during" an fsync). Set it while no sync
  /// runs; null to clear.
  void on_sync(std::function<void()> hook) { st_->sync_hook = std::move(hook); }
  /// After `n` more mutating calls (write, sync, truncate, open that may create, directory
  /// creation, remove, rename, directory sync), that call and every later one fails with
  /// injected_fault and changes nothing: a crash between two steps of a multi-step protocol.
  /// Negative disables.
  void fail_ops_after(int64_t n) { op_budget_ = n; }
  /// The mutating call after `n` more fails with injected_fault and changes nothing; the calls
  /// after it succeed again: one transient error in the middle of a multi-step protocol.
  /// Negative disables.
  void fail_one_op_after(int64_t n) { st_->one_op_budget = n; }
  /// While set (a positive errno, e.g. EMFILE), every call that needs a new descriptor fails
  /// with it and changes nothing: open in any mode, and the directory syncs (which open the
  /// directory); after `after` more such calls have succeeded. 0 disables. Simulates running
  /// out of descriptors or memory, also half way through opening several files.
  void fail_opens_with(int err, int64_t after = 0) {
    st_->opens_allowed = after;
    st_->open_errno = err;
  }
  /// Opens (and directory syncs) refused by fail_opens_with so far.
  [[nodiscard]] uint64_t opens_refused() const { return st_->opens_refused; }
  /// Mutating calls made so far (counted whether or not a budget is set).
  [[nodiscard]] uint64_t ops() const { return st_->ops; }
  [[nodiscard]] uint64_t syncs() const { return syncs_; }
  /// sync_directory calls so far.
  [[nodiscard]] uint64_t dir_syncs() const { return st_->dir_syncs; }
  /// start_writeback calls so far, and the bytes they covered.
  [[nodiscard]] uint64_t writebacks() const { return st_->writebacks; }
  [[nodiscard]] uint64_t writeback_bytes() const { return st_->writeback_bytes; }
  /// File reads made so far (read_at calls).
  [[nodiscard]] uint64_t reads() const { return st_->reads; }

  result<std::shared_ptr<file>> open(const std::filesystem::path& p, open_mode mode) override;
  result<bool> exists(const std::filesystem::path& p) override { return inner_->exists(p); }
  result<std::vector<std::string>> list(const std::filesystem::path& dir) override {
    return inner_->list(dir);
  }
  result<bool> is_directory(const std::filesystem::path& p) override {
    return inner_->is_directory(p);
  }
  status create_directories(const std::filesystem::path& p) override {
    STROM_TRY(st_->take_op());
    return inner_->create_directories(p);
  }
  status remove(const std::filesystem::path& p) override {
    STROM_TRY(st_->take_op());
    return inner_->remove(p);
  }
  status remove_all(const std::filesystem::path& p) override {
    STROM_TRY(st_->take_op());
    return inner_->remove_all(p);
  }
  status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    STROM_TRY(st_->take_op());
    return inner_->rename(from, to);
  }
  status sync_directory(const std::filesystem::path& dir) override {
    STROM_TRY(st_->take_descriptor());
    STROM_TRY(st_->take_op());
    ++st_->dir_syncs;
    return inner_->sync_directory(dir);
  }
  /// Counted as a sync; fails like one while fail_syncs is set.
  status sync_file_system(const std::filesystem::path& p) override {
    STROM_TRY(st_->take_descriptor());
    STROM_TRY(st_->take_op());
    ++syncs_;
    if (st_->sync_hook)
      st_->sync_hook();
    if (fail_sync_)
      return error(errc::injected_fault, "syncfs failed");
    return inner_->sync_file_system(p);
  }
  result<uint64_t> free_space(const std::filesystem::path& p) override {
    return inner_->free_space(p);
  }

  struct state {
    std::atomic<int64_t> write_budget{-1};
    std::atomic<bool> fail_sync{false};
    std::atomic<uint64_t> syncs{0};
    std::atomic<uint64_t> dir_syncs{0};
    std::atomic<int64_t> op_budget{-1};
    std::atomic<int64_t> one_op_budget{-1};
    std::atomic<uint64_t> ops{0};
    std::atomic<uint64_t> reads{0};
    std::atomic<uint64_t> writebacks{0};
    std::atomic<uint64_t> writeback_bytes{0};
    std::atomic<int> open_errno{0};
    std::atomic<int64_t> opens_allowed{0};
    std::atomic<uint64_t> opens_refused{0};
    std::function<void()> sync_hook;
    /// Counts one mutating call; fails it when the op budget is spent.
    status take_op();
    /// Fails a call that needs a new descriptor while open_errno is set.
    status take_descriptor();
  };

 private:
  std::shared_ptr<file_system> inner_;
  std::shared_ptr<state> st_ = std::make_shared<state>();
  std::atomic<int64_t>& write_budget_ = st_->write_budget;
  std::atomic<bool>& fail_sync_ = st_->fail_sync;
  std::atomic<uint64_t>& syncs_ = st_->syncs;
  std::atomic<int64_t>& op_budget_ = st_->op_budget;
};

}  // namespace strom::io
