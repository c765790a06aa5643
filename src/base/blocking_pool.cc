#include "strom/base/blocking_pool.h"

#include "strom/base/logging.h"
#include "strom/base/thread_name.h"

namespace strom {

blocking_pool::blocking_pool(size_t threads, std::string name) {
  if (threads == 0)
    threads = 1;
  // The threads log for the node of the thread that made the pool (its broker's).
  auto node = logging::thread_node();
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, node, name] {
      logging::set_thread_node(node);
      set_thread_name(name);
      run();
    });
  }
}

blocking_pool::~blocking_pool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void blocking_pool::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void blocking_pool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty())
        return;  // stop_ and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace strom
