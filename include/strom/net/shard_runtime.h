#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <source_location>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "strom/base/assert.h"
#include "strom/net/asio.h"

#include <boost/asio/bind_executor.hpp>

namespace strom::net {

namespace detail {
template <typename T>
struct awaited {
  using type = T;
};
template <typename T, typename E>
struct awaited<asio::awaitable<T, E>> {
  using type = T;
};
template <typename T>
inline constexpr bool is_awaitable_v = false;
template <typename T, typename E>
inline constexpr bool is_awaitable_v<asio::awaitable<T, E>> = true;

struct unit {};
/// A value carried across shards: empty when the work threw (so T need not be
/// default-constructible).
template <typename T>
using boxed = std::optional<std::conditional_t<std::is_void_v<T>, unit, T>>;

template <typename R>
using gathered_t = std::conditional_t<std::is_void_v<R>, void, std::vector<R>>;

/// The values of a fan-out, filled in as its tasks finish.
template <typename R>
struct gather_state {
  explicit gather_state(size_t n) : values(n), left(n) {}
  std::vector<boxed<R>> values;
  size_t left;
  std::exception_ptr error;
  gathered_t<R> take() {
    if (error)
      std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>) {
      std::vector<R> out;
      out.reserve(values.size());
      for (auto& v : values)
        out.push_back(std::move(*v));
      return out;
    }
  }
};
}  // namespace detail

/// What running `F(Args...)` on a shard yields: T for a function returning T or awaitable<T>.
template <typename F, typename... Args>
using invoke_value_t = typename detail::awaited<std::invoke_result_t<F&, Args&...>>::type;

/// Shard-per-core runtime: one io_context per shard, each run by its own thread. Objects owned
/// by a shard are touched only on its thread; cross-shard work goes by message passing (run a
/// function there, get its value back), never by shared locks.
///
/// The one API for cross-shard work (docs/architecture.md, "Threading"):
/// - invoke_on(shard, fn): runs fn() on `shard`, awaited by the caller, who gets its value.
/// - invoke_on_each(shards, fn) / invoke_on_all(fn): runs fn(i) on shards[i] (on every shard)
///   at once and returns the values in that order.
/// - spawn(shard, fn): runs fn() on `shard` without waiting for it.
/// - run_on(shard, fn) / run_on_all(fn): blocking forms for threads that are no shard.
/// - sharded<T> (below): one T per shard.
/// `fn` returns a value or an awaitable of one (then it is awaited on the shard); it is moved
/// (copied, once per shard, for the fan-outs) onto the shard, so it must not hold references
/// to the caller's coroutine frame that it uses after the caller could resume: the caller is
/// suspended until every fan-out task has finished, so references to its locals are fine.
/// The awaitable forms complete on the caller's executor, which may be a shard or any other
/// io_context; they always go through the target shard's queue, even from that shard.
/// An exception that escapes fn reaches the awaiting caller (for a fan-out, the first one,
/// after every task finished). Errors are values (`result<T>`) and travel as such.
///
/// Affinity: owner-shard methods check `owns(shard)` with STROM_ASSERT, in every build type
/// (a thread-local read and a compare per call). Before start() and after stop() no shard
/// thread runs and the thread that starts and stops the runtime stands in for every shard.
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
  /// The shard of this runtime whose thread is running the caller, or count() when it is none
  /// of them (another thread, or a shard of another runtime).
  [[nodiscard]] size_t current_shard() const;
  /// True between start() and stop().
  [[nodiscard]] bool running() const { return running_.load(std::memory_order_acquire); }
  /// May the caller touch what `shard` owns: it is that shard's thread, or no shard thread
  /// runs (setup and teardown).
  [[nodiscard]] bool owns(size_t shard) const { return current_shard() == shard || !running(); }
  /// Aborts with a message unless owns(shard).
  void assert_owner(size_t shard,
                    std::source_location where = std::source_location::current()) const;

  /// Starts the shard threads. Each runs until stop().
  void start();
  /// Stops every context and joins the threads. Idempotent. Work still queued is not run; it
  /// is destroyed with the runtime.
  void stop();

  /// Runs `fn()` on `shard` and returns its value (or rethrows its exception) on the caller's
  /// executor.
  template <typename F>
  awaitable<invoke_value_t<F>> invoke_on(size_t shard, F fn) {
    using R = invoke_value_t<F>;
    check_shard(shard);
    auto op = asio::co_spawn(executor(shard), detail_call<R>(std::move(fn)), asio::use_awaitable);
    auto v = co_await std::move(op);
    if constexpr (!std::is_void_v<R>)
      co_return std::move(*v);
  }

  /// Runs `fn(i)` on `shards[i]` for every i, all at once, and returns the values in the order
  /// of `shards` once all finished (void when fn returns void).
  template <typename F>
  auto invoke_on_each(std::vector<size_t> shards, F fn)
      -> awaitable<detail::gathered_t<invoke_value_t<F, size_t>>> {
    using R = invoke_value_t<F, size_t>;
    for (auto s : shards)
      check_shard(s);
    auto st = std::make_shared<detail::gather_state<R>>(shards.size());
    if (!shards.empty()) {
      auto home = co_await asio::this_coro::executor;
      auto start = [this, &shards, &fn, st, home](auto handler) {
        auto done = std::make_shared<decltype(handler)>(std::move(handler));
        for (size_t i = 0; i < shards.size(); ++i) {
          auto task = detail_call<R>(fn, i);
          asio::co_spawn(
              executor(shards[i]), std::move(task),
              asio::bind_executor(home, [st, done, i](std::exception_ptr e, detail::boxed<R> v) {
                // On the caller's executor: the state is only touched there.
                if (e && !st->error)
                  st->error = e;
                st->values[i] = std::move(v);
                if (--st->left == 0)
                  (*done)();
              }));
        }
      };
      auto op = asio::async_initiate<const asio::use_awaitable_t<>&, void()>(std::move(start),
                                                                             asio::use_awaitable);
      co_await std::move(op);
    }
    if constexpr (std::is_void_v<R>)
      st->take();
    else
      co_return st->take();
  }

  /// invoke_on_each over every shard: `fn(shard)` on each, values in shard order.
  template <typename F>
  auto invoke_on_all(F fn) -> awaitable<detail::gathered_t<invoke_value_t<F, size_t>>> {
    std::vector<size_t> all(count());
    for (size_t i = 0; i < all.size(); ++i)
      all[i] = i;
    return invoke_on_each(std::move(all), std::move(fn));
  }

  /// Runs `fn()` (returning void or awaitable<void>) on `shard` and does not wait for it. An
  /// exception escaping it is a defect: the process aborts with its message.
  template <typename F>
  void spawn(size_t shard, F fn) {
    check_shard(shard);
    asio::co_spawn(executor(shard), detail_call<void>(std::move(fn)),
                   [shard](std::exception_ptr e, detail::boxed<void>) {
                     if (e)
                       spawned_task_threw(shard, e);
                   });
  }

  /// Runs `fn()` on `shard` and blocks until it returns its value. REQUIRES: the caller is no
  /// shard thread of this runtime. When the runtime does not run, `fn` runs on the caller.
  template <typename F>
  invoke_value_t<F> run_on(size_t shard, F fn) {
    using R = invoke_value_t<F>;
    check_shard(shard);
    if constexpr (!detail::is_awaitable_v<std::invoke_result_t<F&>>) {
      if (!running())
        return run_here<R>(fn);
    }
    STROM_ASSERT(running(), "run_on(shard {}): a coroutine needs the shard threads", shard);
    STROM_ASSERT(current_shard() == count(), "run_on(shard {}) from a shard thread would deadlock",
                 shard);
    auto p = std::make_shared<std::promise<detail::boxed<R>>>();
    auto f = p->get_future();
    asio::co_spawn(executor(shard), detail_call<R>(std::move(fn)),
                   [p](std::exception_ptr e, detail::boxed<R> v) {
                     if (e)
                       p->set_exception(e);
                     else
                       p->set_value(std::move(v));
                   });
    auto v = f.get();
    if constexpr (!std::is_void_v<R>)
      return std::move(*v);
  }

  /// run_on for every shard, at once: `fn(shard)` on each; blocks until all returned and
  /// returns the values in shard order. The first exception is rethrown after all finished.
  template <typename F>
  detail::gathered_t<invoke_value_t<F, size_t>> run_on_all(F fn) {
    using R = invoke_value_t<F, size_t>;
    if constexpr (!detail::is_awaitable_v<std::invoke_result_t<F&, size_t&>>) {
      if (!running()) {
        detail::gather_state<R> st(count());
        for (size_t i = 0; i < count(); ++i) {
          try {
            st.values[i] = run_here_boxed<R>(fn, i);
          } catch (...) {
            if (!st.error)
              st.error = std::current_exception();
          }
        }
        return st.take();
      }
    }
    STROM_ASSERT(running(), "run_on_all: a coroutine needs the shard threads");
    std::vector<std::future<detail::boxed<R>>> futures;
    STROM_ASSERT(current_shard() == count(), "run_on_all from a shard thread would deadlock");
    for (size_t i = 0; i < count(); ++i) {
      auto p = std::make_shared<std::promise<detail::boxed<R>>>();
      futures.push_back(p->get_future());
      asio::co_spawn(executor(i), detail_call<R>(fn, i),
                     [p](std::exception_ptr e, detail::boxed<R> v) {
                       if (e)
                         p->set_exception(e);
                       else
                         p->set_value(std::move(v));
                     });
    }
    detail::gather_state<R> st(count());
    for (size_t i = 0; i < futures.size(); ++i) {
      try {
        st.values[i] = futures[i].get();
      } catch (...) {
        if (!st.error)
          st.error = std::current_exception();
      }
    }
    return st.take();
  }

 private:
  /// Calls `fn(args...)` where it runs, awaiting it when it is a coroutine; the value boxed.
  template <typename R, typename F, typename... Args>
  static awaitable<detail::boxed<R>> detail_call(F fn, Args... args) {
    using ret = std::invoke_result_t<F&, Args&...>;
    if constexpr (detail::is_awaitable_v<ret>) {
      auto op = std::invoke(fn, args...);
      if constexpr (std::is_void_v<R>) {
        co_await std::move(op);
        co_return detail::boxed<R>(detail::unit{});
      } else {
        auto v = co_await std::move(op);
        co_return detail::boxed<R>(std::move(v));
      }
    } else if constexpr (std::is_void_v<R>) {
      std::invoke(fn, args...);
      co_return detail::boxed<R>(detail::unit{});
    } else {
      co_return detail::boxed<R>(std::invoke(fn, args...));
    }
  }

  /// run_on's work on the calling thread (the runtime does not run): plain functions only.
  template <typename R, typename F, typename... Args>
  static detail::boxed<R> run_here_boxed(F& fn, Args... args) {
    static_assert(!detail::is_awaitable_v<std::invoke_result_t<F&, Args&...>>,
                  "a coroutine runs on a shard only while the runtime runs");
    if constexpr (std::is_void_v<R>) {
      std::invoke(fn, args...);
      return detail::boxed<R>(detail::unit{});
    } else {
      return detail::boxed<R>(std::invoke(fn, args...));
    }
  }
  template <typename R, typename F, typename... Args>
  static R run_here(F& fn, Args... args) {
    if constexpr (std::is_void_v<R>)
      run_here_boxed<R>(fn, args...);
    else
      return std::move(*run_here_boxed<R>(fn, args...));
  }

  void check_shard(size_t shard) const {
    STROM_ASSERT(shard < count(), "shard {} of {}", shard, count());
  }
  [[noreturn]] static void spawned_task_threw(size_t shard, std::exception_ptr e);

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<bool> running_{false};
};

/// One T per shard of a runtime (Seastar's sharded<T>): instance i is made and used on shard i
/// only (before start() and after stop(), on the thread that starts and stops the runtime,
/// standing in for every shard). Accessors assert the affinity. Construction and destroy()
/// block the caller, who must not be a shard thread of `rt`; destroy() while the shards run
/// destroys each instance on its shard. The destructor destroys what is left on the calling
/// thread without touching the runtime, which may be gone by then: an owner that outlives
/// the running phase (the usual teardown: stop the shards, destroy the runtime, then the
/// objects that lived on it) is destroyed after stop().
template <typename T>
class sharded {
 public:
  /// Makes the instances: `make(shard)` on each shard returns the T (or a unique_ptr<T>).
  template <typename Make>
  sharded(shard_runtime& rt, Make make) : rt_(rt), instances_(rt.count()) {
    rt_.run_on_all([this, &make](size_t shard) {
      if constexpr (std::is_same_v<std::invoke_result_t<Make&, size_t>, std::unique_ptr<T>>)
        instances_[shard] = make(shard);
      else
        instances_[shard] = std::unique_ptr<T>(new T(make(shard)));
    });
  }
  /// Default-constructs the instances.
  explicit sharded(shard_runtime& rt) : sharded(rt, [](size_t) { return std::make_unique<T>(); }) {}
  ~sharded() = default;
  sharded(const sharded&) = delete;
  sharded& operator=(const sharded&) = delete;

  /// Destroys every instance on its shard. Idempotent; afterwards only the destructor may be
  /// called.
  void destroy() {
    if (destroyed_)
      return;
    destroyed_ = true;
    rt_.run_on_all([this](size_t shard) { instances_[shard].reset(); });
  }

  [[nodiscard]] size_t size() const { return instances_.size(); }
  shard_runtime& runtime() const { return rt_; }

  /// The instance of `shard`. REQUIRES: rt.owns(shard) (asserted).
  T& on(size_t shard, std::source_location where = std::source_location::current()) {
    rt_.assert_owner(shard, where);
    return *instances_[shard];
  }
  /// The instance of the calling shard. REQUIRES: a shard thread of the runtime (asserted).
  T& local(std::source_location where = std::source_location::current()) {
    auto shard = rt_.current_shard();
    STROM_ASSERT(shard < size(), "sharded::local() off the shards, called from {}:{}",
                 where.file_name(), where.line());
    return *instances_[shard];
  }

  /// Runs `fn(T&)` on `shard` with its instance; see shard_runtime::invoke_on.
  template <typename F>
  auto invoke_on(size_t shard, F fn) {
    return rt_.invoke_on(shard, bound<F>{this, shard, std::move(fn)});
  }
  /// Runs `fn(T&)` on every shard with its instance, at once; values in shard order.
  template <typename F>
  auto invoke_on_all(F fn) {
    return rt_.invoke_on_all(bound_each<F>{this, std::move(fn)});
  }

 private:
  template <typename F>
  struct bound {
    sharded* self;
    size_t shard;
    F fn;
    auto operator()() { return fn(self->on(shard)); }
  };
  template <typename F>
  struct bound_each {
    sharded* self;
    F fn;
    auto operator()(size_t shard) { return fn(self->on(shard)); }
  };

  shard_runtime& rt_;
  std::vector<std::unique_ptr<T>> instances_;
  bool destroyed_ = false;
};

/// The shard an object belongs to, for the asserts of its owner-shard methods. Unbound (the
/// default: an object used outside any runtime, as in unit tests) it checks nothing.
class shard_affinity {
 public:
  shard_affinity() = default;
  shard_affinity(const shard_runtime& rt, size_t shard) : rt_(&rt), shard_(shard) {}
  /// Aborts with a message unless the caller may touch the object (shard_runtime::owns).
  void check(std::source_location where = std::source_location::current()) const {
    if (rt_ != nullptr)
      rt_->assert_owner(shard_, where);
  }
  [[nodiscard]] size_t shard() const { return shard_; }

 private:
  const shard_runtime* rt_ = nullptr;
  size_t shard_ = 0;
};

}  // namespace strom::net
