#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "strom/net/asio.h"

#include <boost/asio/execution.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>

namespace strom::net {

class run_meter;

namespace detail {
/// A function running under a timed_executor on this thread: its meter and when its current
/// slice started. Functions nest when one runs another inline (a dispatch); the outer one's
/// clock stops while the inner one runs, so no nanosecond is counted twice.
struct run_frame {
  run_meter* meter;
  std::chrono::steady_clock::time_point start;
  run_frame* outer;
};
inline constinit thread_local run_frame* active_run = nullptr;
}  // namespace detail

/// The time some code (a connection's coroutines) ran on a thread, in nanoseconds of the
/// steady clock, as timed_executor counts it: each function it runs counts from its start to
/// its end, so a coroutine counts while it runs and not while it is suspended (waiting for a
/// socket, a timer, another shard). Touched only on the thread that runs the executor's
/// functions (a shard's).
class run_meter {
 public:
  /// Nanoseconds counted so far, with the slice running now on this thread.
  [[nodiscard]] uint64_t total() {
    flush();
    return ns_;
  }
  /// Nanoseconds counted since the previous take() (or skip()), with the slice running now.
  uint64_t take() {
    flush();
    auto d = ns_ - taken_;
    taken_ = ns_;
    return d;
  }
  /// Forgets what was counted since the previous take(), without reading the clock (what a
  /// slice running now counts goes to the next take()).
  void skip() { taken_ = ns_; }
  void add(uint64_t ns) { ns_ += ns; }

 private:
  /// Counts the slice of the function running now under this meter, up to now.
  void flush() {
    auto* f = detail::active_run;
    if (f == nullptr || f->meter != this)
      return;
    auto now = std::chrono::steady_clock::now();
    ns_ += static_cast<uint64_t>((now - f->start).count());
    f->start = now;
  }

  uint64_t ns_ = 0;
  uint64_t taken_ = 0;
};

/// An executor that runs its functions on `Inner` (a shard's io_context executor) and adds
/// the time each one runs to a run_meter. Every resumption of a coroutine spawned on it goes
/// through execute(), so the meter counts what the coroutine runs and never what it waits.
/// Meets Asio's executor requirements: properties are queried on `Inner`, required and
/// preferred ones give a timed_executor of the resulting executor, so it converts to
/// any_io_executor. The meter lives as long as a copy of the executor or a function it runs.
template <typename Inner>
class timed_executor {
 public:
  timed_executor(Inner inner, std::shared_ptr<run_meter> meter) noexcept
      : inner_(std::move(inner)), meter_(std::move(meter)) {}

  template <typename P>
  auto query(const P& p) const noexcept(noexcept(asio::query(std::declval<const Inner&>(), p)))
      -> decltype(asio::query(std::declval<const Inner&>(), p)) {
    return asio::query(inner_, p);
  }
  template <typename P>
  auto require(const P& p) const
      -> timed_executor<std::decay_t<decltype(asio::require(std::declval<const Inner&>(), p))>> {
    return {asio::require(inner_, p), meter_};
  }
  template <typename P>
  auto prefer(const P& p) const
      -> timed_executor<std::decay_t<decltype(asio::prefer(std::declval<const Inner&>(), p))>> {
    return {asio::prefer(inner_, p), meter_};
  }

  template <typename F>
  void execute(F&& f) const {
    inner_.execute(timed<std::decay_t<F>>{meter_, std::forward<F>(f)});
  }

  [[nodiscard]] const Inner& inner() const noexcept { return inner_; }
  [[nodiscard]] const std::shared_ptr<run_meter>& meter() const noexcept { return meter_; }

  friend bool operator==(const timed_executor& a, const timed_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.meter_ == b.meter_;
  }
  friend bool operator!=(const timed_executor& a, const timed_executor& b) noexcept {
    return !(a == b);
  }

 private:
  /// `f` with its run time counted. Holds the meter: `f` may destroy the last other owner.
  template <typename F>
  struct timed {
    std::shared_ptr<run_meter> meter;
    F f;
    void operator()() {
      using clock = std::chrono::steady_clock;
      detail::run_frame frame{meter.get(), clock::now(), detail::active_run};
      if (frame.outer != nullptr)  // the outer function's clock stops here
        frame.outer->meter->add(static_cast<uint64_t>((frame.start - frame.outer->start).count()));
      detail::active_run = &frame;
      struct restore {
        detail::run_frame& frame;
        ~restore() {
          auto end = clock::now();
          frame.meter->add(static_cast<uint64_t>((end - frame.start).count()));
          detail::active_run = frame.outer;
          if (frame.outer != nullptr)
            frame.outer->start = end;
        }
      } r{frame};
      std::move(f)();
    }
  };

  Inner inner_;
  std::shared_ptr<run_meter> meter_;
};

}  // namespace strom::net
