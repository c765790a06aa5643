#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "strom/net/asio.h"

namespace strom::net {

/// Shard-per-core runtime: one io_context per shard, each run by its own thread. Work for a
/// shard is posted to its context; objects owned by a shard are touched only on its thread.
/// Cross-shard work goes by message passing (post + completion), never by shared locks.
class shard_runtime {
 public:
  /// `shards` == 0 means one per hardware thread.
  explicit shard_runtime(size_t shards);
  ~shard_runtime();
  shard_runtime(const shard_runtime&) = delete;
  shard_runtime& operator=(const shard_runtime&) = delete;

  [[nodiscard]] size_t count() const { return contexts_.size(); }
  asio::io_context& context(size_t shard) { return *contexts_[shard]; }
  asio::io_context::executor_type executor(size_t shard) {
    return contexts_[shard]->get_executor();
  }
  /// The shard whose thread is running the caller, or count() when it is none of them.
  [[nodiscard]] size_t current_shard() const;

  /// Starts the shard threads. Each runs until stop().
  void start();
  /// Stops every context and joins the threads. Idempotent.
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace strom::net
