#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

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

  /// The process-wide system clock.
  static clock& system();
};

/// A clock that only moves when told to. Starts at the given wall time.
class manual_clock final : public clock {
 public:
  explicit manual_clock(timestamp_ms start = 1'700'000'000'000) : now_(start) {}
  [[nodiscard]] timestamp_ms now_ms() const override { return now_.load(); }
  [[nodiscard]] std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_.load()));
  }
  void advance(std::chrono::milliseconds d) { now_ += d.count(); }
  void set(timestamp_ms t) { now_ = t; }

 private:
  std::atomic<timestamp_ms> now_;
};

}  // namespace strom
