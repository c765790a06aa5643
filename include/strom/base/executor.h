#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace strom {

/// Somewhere to run blocking work (fsyncs, file writes) off the caller's thread. The
/// production implementation is blocking_pool (a thread pool); manual_executor runs nothing
/// until a test or simulator says so, which lets it complete work at chosen moments.
/// submit() is thread-safe; a task may submit further tasks.
class task_executor {
 public:
  virtual ~task_executor() = default;
  virtual void submit(std::function<void()> task) = 0;
};

/// An executor that only queues: run_one() / run_all() run the queued tasks on the calling
/// thread, oldest first. For deterministic tests and simulation. Thread-safe.
class manual_executor final : public task_executor {
 public:
  void submit(std::function<void()> task) override {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  /// Tasks queued and not yet run.
  [[nodiscard]] size_t pending() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }
  /// Runs the oldest queued task; false when there is none.
  bool run_one() {
    std::function<void()> task;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty())
        return false;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
    return true;
  }
  /// Runs tasks until none is queued (tasks that the ones run submit too); returns how many.
  size_t run_all() {
    size_t n = 0;
    while (run_one())
      ++n;
    return n;
  }

 private:
  mutable std::mutex mu_;  // guards queue_
  std::deque<std::function<void()>> queue_;
};

}  // namespace strom
