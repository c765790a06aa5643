#pragma once

#include <memory>
#include <string>

#include "strom/base/assert.h"
#include "strom/base/clock.h"
#include "strom/base/executor.h"
#include "strom/io/fault_file_system.h"
#include "strom/io/memory_file_system.h"
#include "strom/model/batch_builder.h"
#include "strom/raft/storage_log.h"
#include "strom/storage/log.h"

namespace strom::test {

/// One node's disk for a Raft group over the real partition log: a `storage::log` on its own
/// in-memory file system (a crash loses every unsynced write), flush rounds that run only when
/// told to, the log's Raft view and a file-backed hard state. For tests and the simulator;
/// single-threaded.
class raft_disk {
 public:
  /// `segment_bytes` is small by default so that logs roll, and compaction removes segments.
  explicit raft_disk(raft::snapshot initial, size_t segment_bytes = 4096)
      : initial_(std::move(initial)) {
    cfg_.segment_bytes = segment_bytes;
    cfg_.retention_ms = -1;
    cfg_.retention_bytes = -1;
    open(true);
  }
  ~raft_disk() { drop(); }
  raft_disk(const raft_disk&) = delete;
  raft_disk& operator=(const raft_disk&) = delete;

  [[nodiscard]] raft::storage_log_store& store() { return *store_; }
  [[nodiscard]] const raft::storage_log_store& store() const { return *store_; }
  [[nodiscard]] raft::file_hard_state_store& hard_state() { return *hs_; }
  [[nodiscard]] const raft::file_hard_state_store& hard_state() const { return *hs_; }
  [[nodiscard]] storage::log& log() { return *log_; }
  /// The fault injector under the log (crash points inside an operation).
  [[nodiscard]] io::fault_file_system& faults() { return *fault_; }

  /// Whether something was written since the last begin_flush().
  [[nodiscard]] bool dirty() const { return store_->dirty(); }
  /// Asks for a flush of everything written so far.
  void begin_flush() { store_->begin_flush(nullptr); }
  /// Flush rounds waiting to run.
  [[nodiscard]] size_t flushes_in_progress() const { return exec_.pending(); }
  /// Runs the oldest flush round; returns the flushed index afterwards.
  raft::raft_index complete_flush() {
    (void)exec_.run_one();
    return store_->flushed_index();
  }

  /// A crash: every unsynced write is lost, the flush rounds in progress never complete (they
  /// fail against a dead disk), and the log is opened again as at a restart. The disk keeps
  /// working afterwards.
  void crash() {
    mem_->crash();
    drop();
    open(false);
  }

  /// A data entry's payload: a batch of `count` records whose base timestamp is `id` (the
  /// simulator's payload identity).
  static std::vector<std::byte> make_payload(uint64_t id, int32_t count) {
    model::batch_builder b(static_cast<timestamp_ms>(id));
    for (int32_t i = 0; i < count; ++i) {
      auto v = std::to_string(id) + "/" + std::to_string(i);
      b.add(std::nullopt, std::optional<std::string_view>(v), static_cast<timestamp_ms>(id));
    }
    return b.build();
  }

 private:
  void drop() {
    if (!log_)
      return;
    // Whatever runs from now on meets a dead disk: it changes nothing.
    fault_->fail_ops_after(0);
    exec_.run_all();
    store_.reset();
    hs_.reset();
    log_.reset();
    fault_->fail_ops_after(-1);
  }

  void open(bool clean) {
    dir_ = std::make_shared<storage::log_dir>("data");
    storage::log_recovery report;
    auto l = storage::log::open(
        model::ntp{"raft", model::partition_id(0)},
        storage::log::options{fault_.get(), &clock_, &exec_, dir_, cfg_, nullptr, nullptr, nullptr},
        clean, report);
    STROM_ASSERT(l.has_value(), "opening the log: {}", l.error().message());
    log_ = std::move(*l);
    auto s = raft::storage_log_store::open(*log_, *fault_, clock_, initial_);
    STROM_ASSERT(s.has_value(), "opening the Raft log: {}", s.error().message());
    store_ = std::move(*s);
    auto h = raft::file_hard_state_store::open(*fault_, log_->path() / "raft.state");
    STROM_ASSERT(h.has_value(), "opening the hard state: {}", h.error().message());
    hs_ = std::move(*h);
  }

  raft::snapshot initial_;
  storage::log_config cfg_;
  std::shared_ptr<io::memory_file_system> mem_ = std::make_shared<io::memory_file_system>();
  std::shared_ptr<io::fault_file_system> fault_ = std::make_shared<io::fault_file_system>(mem_);
  manual_clock clock_;
  manual_executor exec_;
  std::shared_ptr<storage::log_dir> dir_;
  std::unique_ptr<storage::log> log_;
  std::unique_ptr<raft::storage_log_store> store_;
  std::unique_ptr<raft::file_hard_state_store> hs_;
};

}  // namespace strom::test
