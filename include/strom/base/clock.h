#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace strom {

/// Wall-clock milliseconds since the Unix epoch: the unit of Kafka timestamps.
using timestamp_ms = int64_t;

/// The clock seam. Production code asks a clock for the time instead of calling
/// std::chrono directly, so that tests can move time by hand (retention, roll by age,
/// session timeouts). Implementations are thread-safe.
class clock {
 public:
  virtual ~clock() = default;
  /// Wall-clock time in milliseconds since the epoch.
  [[nodiscard]] virtual timestamp_ms now_ms() const = 0;
  /// Monotonic time, for durations and deadlines.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point steady_now() const = 0;

  /// The process-wide system clock (immutable: it only reads the system's clocks).
  static clock& system();
};

/// A clock that also runs callbacks at chosen (monotonic) times: the timer seam. Code that
/// needs "call me at T" asks one of these instead of arming an Asio timer, so that a test or
/// a simulation decides when time passes and in which order timers fire. Thread-safe.
///
/// Callbacks run on the implementation's own thread (thread_timer_clock) or on the thread
/// that moves time (manual_clock); a callback that must run on a shard posts itself there.
class timer_clock : public clock {
 public:
  using timer_id = uint64_t;
  using callback = std::function<void()>;

  /// Runs `fn` once, at or after steady time `at` (at once, at the next chance, when `at`
  /// has passed). Timers due at the same time run in the order they were scheduled.
  /// Returns an id for cancel(); ids are never 0 and never reused.
  virtual timer_id schedule(std::chrono::steady_clock::time_point at, callback fn) = 0;
  timer_id schedule_after(std::chrono::steady_clock::duration d, callback fn) {
    return schedule(steady_now() + d, std::move(fn));
  }
  /// Cancels a timer. True when it was pending and will not run; false when it ran, is
  /// running on another thread (cancel() then waits until it has returned, unless called
  /// from that callback) or was unknown. Either way, once cancel() returns the callback is
  /// not running on another thread and will not run.
  virtual bool cancel(timer_id id) = 0;
};

/// A clock that only moves when told to. Starts at the given wall time; its steady time is
/// the same count of milliseconds. Timers run inside advance()/set()/run_due(), on the
/// calling thread, in order of due time and then of scheduling (a deterministic order), the
/// clock showing each timer's due time while it runs. A callback may schedule or cancel
/// timers; one due by the end of the advance runs in the same call.
class manual_clock final : public timer_clock {
 public:
  explicit manual_clock(timestamp_ms start = 1'700'000'000'000) : now_(start) {}
  [[nodiscard]] timestamp_ms now_ms() const override { return now_.load(); }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return steady_at(now_.load());
  }
  timer_id schedule(std::chrono::steady_clock::time_point at, callback fn) override;
  bool cancel(timer_id id) override;

  /// The steady time of wall time `t` on this clock (the same count of milliseconds),
  /// saturated at the ends of the steady clock's range (tests set extreme times).
  static std::chrono::steady_clock::time_point steady_at(timestamp_ms t);

  /// Moves time forward by `d`, running the timers that fall due on the way.
  void advance(std::chrono::milliseconds d) { set(now_.load() + d.count()); }
  /// Moves time to `t` (never backwards for the timers: a set() into the past only changes
  /// what now_ms() answers), running the timers due by then.
  void set(timestamp_ms t);
  /// Runs the timers already due (scheduled at or before now). Returns how many ran.
  size_t run_due();
  /// Timers scheduled and neither run nor cancelled.
  [[nodiscard]] size_t pending() const;

 private:
  /// Runs the earliest timer due at or before `limit`, if any, with now at its due time.
  bool run_one(std::chrono::steady_clock::time_point limit);

  std::atomic<timestamp_ms> now_;
  mutable std::mutex mu_;  // guards the fields below
  uint64_t next_id_ = 1;
  /// (due, id) -> callback: ids grow, so ties run in scheduling order.
  std::map<std::pair<std::chrono::steady_clock::time_point, timer_id>, callback> timers_;
  std::map<timer_id, std::chrono::steady_clock::time_point> due_;
};

/// The production timer clock: system time, and one thread of its own that runs the
/// callbacks when they fall due. Each broker owns one; stop() (or the destructor) drops the
/// pending timers and joins the thread.
class thread_timer_clock final : public timer_clock {
 public:
  thread_timer_clock();
  ~thread_timer_clock() override;
  thread_timer_clock(const thread_timer_clock&) = delete;
  thread_timer_clock& operator=(const thread_timer_clock&) = delete;

  [[nodiscard]] timestamp_ms now_ms() const override { return clock::system().now_ms(); }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  timer_id schedule(std::chrono::steady_clock::time_point at, callback fn) override;
  bool cancel(timer_id id) override;
  /// Drops every pending timer, waits for a running one and joins the thread; later
  /// schedule() calls are ignored (they return an id that never runs). Idempotent.
  void stop();

 private:
  void run();

  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  timer_id running_ = 0;  ///< the timer whose callback runs now, 0 when none
  std::map<std::pair<std::chrono::steady_clock::time_point, timer_id>, callback> timers_;
  std::map<timer_id, std::chrono::steady_clock::time_point> due_;
  std::thread thread_;
};

}  // namespace strom
