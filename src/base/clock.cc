#include "strom/base/clock.h"

#include "strom/base/logging.h"
#include "strom/base/thread_name.h"

namespace strom {
namespace {
class system_clock_impl final : public clock {
 public:
  [[nodiscard]] timestamp_ms now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};
}  // namespace

clock& clock::system() {
  static system_clock_impl instance;
  return instance;
}

// --- manual_clock ------------------------------------------------------------------------------

timer_clock::timer_id manual_clock::schedule(std::chrono::steady_clock::time_point at,
                                             callback fn) {
  std::lock_guard lock(mu_);
  auto id = next_id_++;
  timers_.emplace(std::pair(at, id), std::move(fn));
  due_.emplace(id, at);
  return id;
}

bool manual_clock::cancel(timer_id id) {
  std::lock_guard lock(mu_);
  auto it = due_.find(id);
  if (it == due_.end())
    return false;
  timers_.erase(std::pair(it->second, id));
  due_.erase(it);
  return true;
}

bool manual_clock::run_one(std::chrono::steady_clock::time_point limit) {
  callback fn;
  {
    std::lock_guard lock(mu_);
    if (timers_.empty() || timers_.begin()->first.first > limit)
      return false;
    auto node = timers_.extract(timers_.begin());
    auto [at, id] = node.key();
    due_.erase(id);
    fn = std::move(node.mapped());
    // The clock shows the timer's due time (rounded up to a millisecond) while it runs.
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(at.time_since_epoch()).count();
    if (ms > now_.load())
      now_.store(ms);
  }
  fn();
  return true;
}

std::chrono::steady_clock::time_point manual_clock::steady_at(timestamp_ms t) {
  using tp = std::chrono::steady_clock::time_point;
  constexpr auto max_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(tp::duration::max()).count();
  constexpr auto min_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(tp::duration::min()).count();
  if (t >= max_ms)
    return tp::max();
  if (t <= min_ms)
    return tp::min();
  return tp(std::chrono::milliseconds(t));
}

void manual_clock::set(timestamp_ms t) {
  auto limit = steady_at(t);
  while (run_one(limit)) {
  }
  now_.store(t);
}

size_t manual_clock::run_due() {
  size_t n = 0;
  while (run_one(steady_now()))
    ++n;
  return n;
}

size_t manual_clock::pending() const {
  std::lock_guard lock(mu_);
  return timers_.size();
}

// --- thread_timer_clock ------------------------------------------------------------------------

thread_timer_clock::thread_timer_clock()
    : thread_([this, node = logging::thread_node()] {
        logging::set_thread_node(node);  // the node of the broker that made it
        set_thread_name("timer");
        run();
      }) {}

thread_timer_clock::~thread_timer_clock() {
  stop();
}

timer_clock::timer_id thread_timer_clock::schedule(std::chrono::steady_clock::time_point at,
                                                   callback fn) {
  std::lock_guard lock(mu_);
  auto id = next_id_++;
  if (stop_)
    return id;
  bool earliest = timers_.empty() || std::pair(at, id) < timers_.begin()->first;
  timers_.emplace(std::pair(at, id), std::move(fn));
  due_.emplace(id, at);
  if (earliest)
    cv_.notify_all();
  return id;
}

bool thread_timer_clock::cancel(timer_id id) {
  std::unique_lock lock(mu_);
  auto it = due_.find(id);
  if (it != due_.end()) {
    timers_.erase(std::pair(it->second, id));
    due_.erase(it);
    return true;
  }
  if (std::this_thread::get_id() != thread_.get_id())
    cv_.wait(lock, [&] { return running_ != id; });
  return false;
}

void thread_timer_clock::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    timers_.clear();
    due_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id())
    thread_.join();
}

void thread_timer_clock::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stop_)
      return;
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto at = timers_.begin()->first.first;
    if (std::chrono::steady_clock::now() < at) {
      cv_.wait_until(lock, at);
      continue;
    }
    auto node = timers_.extract(timers_.begin());
    running_ = node.key().second;
    due_.erase(running_);
    lock.unlock();
    node.mapped()();
    node = {};  // the callback's captures go before cancel() returns
    lock.lock();
    running_ = 0;
    cv_.notify_all();
  }
}

}  // namespace strom
