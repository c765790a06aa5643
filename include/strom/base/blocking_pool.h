#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "strom/base/executor.h"

namespace strom {

/// A small pool of threads for blocking system calls (fsync, unlink, directory scans), so
/// that the shard threads never block on the disk. Tasks run in submission order per thread;
/// the queue is bounded only by the callers, who submit at most one task per log at a time.
/// Its threads log for the node of the thread that constructed it (logging::thread_node).
class blocking_pool final : public task_executor {
 public:
  /// `name` names its threads (set_thread_name).
  blocking_pool(size_t threads, std::string name);
  /// Runs every queued task, then joins the threads.
  ~blocking_pool() override;
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  void submit(std::function<void()> task) override;

 private:
  void run();

  std::mutex mu_;  // guards queue_ and stop_
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace strom
