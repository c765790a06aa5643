// The shard runtime's cross-shard API: run on one shard, run on several and gather, per-shard
// state, exceptions and error values crossing shards, callers that are no shard, and the
// affinity asserts.
#include "strom/net/shard_runtime.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "strom/base/result.h"

namespace strom::net {
namespace {

using namespace std::chrono_literals;

/// Waits `ms` on the executor running the caller.
awaitable<void> sleep_for(std::chrono::milliseconds ms) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(ms);
  co_await t.async_wait(asio::use_awaitable);
}

/// A value without a default constructor.
struct tagged {
  explicit tagged(size_t s) : shard(s) {}
  size_t shard;
};

class shard_runtime_test : public ::testing::Test {
 protected:
  void SetUp() override { rt.start(); }
  shard_runtime rt{3};
};

TEST_F(shard_runtime_test, InvokeOnRunsOnTheShardAndResumesTheCallerOnItsOwn) {
  auto body = [this]() -> awaitable<std::pair<size_t, size_t>> {
    auto fn = [this] { return rt.current_shard(); };
    auto ran_on = co_await rt.invoke_on(2, fn);
    co_return std::pair{ran_on, rt.current_shard()};
  };
  auto [ran_on, resumed_on] = rt.run_on(0, body);
  EXPECT_EQ(ran_on, 2u);
  EXPECT_EQ(resumed_on, 0u);
}

TEST_F(shard_runtime_test, ShardThreadsAreNamedAfterTheirShard) {
  auto fn = [] {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return std::string(name);
  };
  EXPECT_EQ(rt.run_on(1, fn), "strom-shard-1");
}

TEST_F(shard_runtime_test, InvokeOnAwaitsACoroutineAndCarriesAnyValueType) {
  auto body = [this]() -> awaitable<std::string> {
    auto fn = [this]() -> awaitable<tagged> {
      co_await sleep_for(5ms);
      co_return tagged(rt.current_shard());
    };
    auto t = co_await rt.invoke_on(1, fn);
    auto s = co_await rt.invoke_on(1, [] { return std::string("done"); });
    co_return s + std::to_string(t.shard);
  };
  EXPECT_EQ(rt.run_on(0, body), "done1");
}

TEST_F(shard_runtime_test, InvokeOnItsOwnShardGoesThroughTheQueue) {
  auto body = [this]() -> awaitable<int> {
    int step = 0;
    // Queued behind the call below: runs only once the caller is suspended.
    asio::post(rt.executor(0), [&step] { step = step == 0 ? 1 : step; });
    auto fn = [&step] { return step; };
    co_return co_await rt.invoke_on(0, fn);
  };
  EXPECT_EQ(rt.run_on(0, body), 1);
}

TEST_F(shard_runtime_test, InvokeOnAllGathersInShardOrderWhateverOrderTheyFinishIn) {
  std::atomic<int> finished{0};
  auto body = [&]() -> awaitable<std::vector<tagged>> {
    auto fn = [&](size_t shard) -> awaitable<tagged> {
      // Shard 0 finishes last, shard 2 first.
      co_await sleep_for(std::chrono::milliseconds(30 - 10 * static_cast<int>(shard)));
      ++finished;
      co_return tagged(rt.current_shard());
    };
    co_return co_await rt.invoke_on_all(fn);
  };
  auto got = rt.run_on(1, body);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i].shard, i);
  EXPECT_EQ(finished.load(), 3);
}

TEST_F(shard_runtime_test, InvokeOnEachRunsTaskIOnShardsIAndKeepsTheirOrder) {
  auto body = [this]() -> awaitable<std::vector<std::string>> {
    std::vector<size_t> shards{2, 0, 2, 1};
    auto fn = [this](size_t i) {
      return std::to_string(i) + "@" + std::to_string(rt.current_shard());
    };
    co_return co_await rt.invoke_on_each(shards, fn);
  };
  auto got = rt.run_on(0, body);
  EXPECT_EQ(got, (std::vector<std::string>{"0@2", "1@0", "2@2", "3@1"}));
  // Nothing to run: an empty answer at once.
  auto none = [this]() -> awaitable<size_t> {
    auto fn = [](size_t) { return 1; };
    auto v = co_await rt.invoke_on_each({}, fn);
    co_return v.size();
  };
  EXPECT_EQ(rt.run_on(0, none), 0u);
}

TEST_F(shard_runtime_test, VoidFunctionsRunEverywhere) {
  std::vector<int> hits(3, 0);
  auto body = [&]() -> awaitable<void> {
    auto fn = [&](size_t shard) { hits[shard] += static_cast<int>(shard) + 1; };
    co_await rt.invoke_on_all(fn);
    auto one = [&] { hits[0] += 10; };
    co_await rt.invoke_on(0, one);
  };
  rt.run_on(2, body);
  EXPECT_EQ(hits, (std::vector<int>{11, 2, 3}));
}

TEST_F(shard_runtime_test, AnExceptionReachesTheAwaitingCaller) {
  auto body = [this]() -> awaitable<std::string> {
    auto fn = []() -> int { throw std::runtime_error("boom"); };
    try {
      co_await rt.invoke_on(1, fn);
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what()) + " on " + std::to_string(rt.current_shard());
    }
    co_return "no exception";
  };
  EXPECT_EQ(rt.run_on(0, body), "boom on 0");
}

TEST_F(shard_runtime_test, AFanOutRethrowsTheFirstExceptionAfterEveryTaskFinished) {
  std::atomic<int> finished{0};
  auto body = [&]() -> awaitable<int> {
    auto fn = [&](size_t shard) -> awaitable<int> {
      if (shard == 0)
        throw std::runtime_error("shard 0 failed");
      co_await sleep_for(20ms);  // the others are still running when shard 0 fails
      ++finished;
      co_return 1;
    };
    try {
      co_await rt.invoke_on_all(fn);
    } catch (const std::runtime_error&) {
      co_return finished.load();
    }
    co_return -1;
  };
  EXPECT_EQ(rt.run_on(1, body), 2);
}

TEST_F(shard_runtime_test, ErrorValuesTravelAsValues) {
  auto body = [this]() -> awaitable<std::vector<result<int>>> {
    auto fn = [](size_t shard) -> result<int> {
      if (shard == 1)
        return error(std::make_error_code(std::errc::no_space_on_device), "full");
      return static_cast<int>(shard);
    };
    co_return co_await rt.invoke_on_all(fn);
  };
  auto got = rt.run_on(0, body);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(*got[0], 0);
  ASSERT_FALSE(got[1]);
  EXPECT_EQ(got[1].error().code(), std::errc::no_space_on_device);
  EXPECT_EQ(*got[2], 2);
}

TEST_F(shard_runtime_test, AwaitingFromAThreadThatIsNoShard) {
  // An io_context run by this test thread (like the admin API's): the calls complete here.
  asio::io_context io;
  auto caller = std::this_thread::get_id();
  bool done = false;
  auto body = [&]() -> awaitable<void> {
    EXPECT_EQ(rt.current_shard(), rt.count());
    auto one = [this] { return rt.current_shard(); };
    EXPECT_EQ(co_await rt.invoke_on(1, one), 1u);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    auto each = [this](size_t) { return rt.current_shard(); };
    auto all = co_await rt.invoke_on_all(each);
    EXPECT_EQ(all, (std::vector<size_t>{0, 1, 2}));
    EXPECT_EQ(std::this_thread::get_id(), caller);
    done = true;
  };
  asio::co_spawn(io, body(), asio::detached);
  io.run();
  EXPECT_TRUE(done);
}

TEST_F(shard_runtime_test, BlockingFormsFromAThreadThatIsNoShard) {
  EXPECT_EQ(rt.run_on(2, [this] { return rt.current_shard(); }), 2u);
  auto all = rt.run_on_all([this](size_t i) { return rt.current_shard() * 10 + i; });
  EXPECT_EQ(all, (std::vector<size_t>{0, 11, 22}));
  EXPECT_THROW(rt.run_on(1, []() -> int { throw std::logic_error("x"); }), std::logic_error);
}

TEST_F(shard_runtime_test, SpawnRunsWithoutBeingAwaited) {
  std::promise<size_t> p;
  auto f = p.get_future();
  rt.spawn(1, [&]() -> awaitable<void> {
    co_await sleep_for(1ms);
    p.set_value(rt.current_shard());
  });
  EXPECT_EQ(f.get(), 1u);
}

TEST(shard_runtime_stopped, TheCallerStandsInForTheShardsBeforeStartAndAfterStop) {
  shard_runtime rt(2);
  EXPECT_FALSE(rt.running());
  EXPECT_TRUE(rt.owns(0));
  EXPECT_TRUE(rt.owns(1));
  auto here = std::this_thread::get_id();
  EXPECT_EQ(rt.run_on(1, [] { return std::this_thread::get_id(); }), here);
  rt.start();
  EXPECT_TRUE(rt.running());
  EXPECT_FALSE(rt.owns(0));
  EXPECT_NE(rt.run_on(1, [] { return std::this_thread::get_id(); }), here);
  rt.stop();
  EXPECT_TRUE(rt.owns(1));
  EXPECT_EQ(rt.run_on_all([](size_t) { return std::this_thread::get_id(); }),
            (std::vector<std::thread::id>{here, here}));
}

TEST(shard_runtime_stopped, AShardOfAnotherRuntimeOwnsNothingHere) {
  shard_runtime a(2);
  shard_runtime b(2);
  a.start();
  b.start();
  EXPECT_EQ(a.run_on(1, [&] { return b.current_shard(); }), 2u);
  EXPECT_FALSE(a.run_on(1, [&] { return b.owns(1); }));
  EXPECT_TRUE(b.run_on(1, [&] { return b.owns(1); }));
}

/// Records where each instance was made and destroyed.
struct probe {
  struct log {
    std::mutex mu;
    std::vector<std::pair<size_t, size_t>> made;       // (instance, thread's shard)
    std::vector<std::pair<size_t, size_t>> destroyed;  // (instance, thread's shard)
  };
  probe(shard_runtime& r, size_t s, std::shared_ptr<log> lg) : rt(r), shard(s), l(std::move(lg)) {
    std::lock_guard g(l->mu);
    l->made.emplace_back(shard, rt.current_shard());
  }
  ~probe() {
    std::lock_guard g(l->mu);
    l->destroyed.emplace_back(shard, rt.current_shard());
  }
  probe(const probe&) = delete;
  probe& operator=(const probe&) = delete;
  shard_runtime& rt;
  size_t shard;
  std::shared_ptr<log> l;
  int hits = 0;
};

TEST_F(shard_runtime_test, ShardedStateIsMadeUsedAndDestroyedOnItsOwnShard) {
  auto l = std::make_shared<probe::log>();
  auto state = std::make_unique<sharded<probe>>(
      rt, [&](size_t shard) { return std::make_unique<probe>(rt, shard, l); });
  std::sort(l->made.begin(), l->made.end());  // made at once, in any order
  EXPECT_EQ(l->made, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 1}, {2, 2}}));
  auto body = [&]() -> awaitable<std::vector<int>> {
    auto bump = [](probe& p) {
      ++p.hits;
      return p.hits;
    };
    co_await state->invoke_on(2, bump);
    auto local = [&](probe& p) { return &p == &state->local() ? p.hits : -1; };
    co_return co_await state->invoke_on_all(local);
  };
  EXPECT_EQ(rt.run_on(0, body), (std::vector<int>{0, 0, 1}));
  state->destroy();
  std::sort(l->destroyed.begin(), l->destroyed.end());
  EXPECT_EQ(l->destroyed, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 1}, {2, 2}}));
}

TEST(shard_runtime_stopped, ShardedStateOutsideTheRunningPhaseLivesOnTheCaller) {
  shard_runtime rt(2);
  auto l = std::make_shared<probe::log>();
  sharded<probe> state(rt, [&](size_t shard) { return std::make_unique<probe>(rt, shard, l); });
  EXPECT_EQ(l->made, (std::vector<std::pair<size_t, size_t>>{{0, 2}, {1, 2}}));
  state.on(1).hits = 5;  // no shard runs: the caller owns everything
  rt.start();
  auto hits = [&]() -> awaitable<std::vector<int>> {
    co_return co_await state.invoke_on_all([](probe& p) { return p.hits; });
  };
  EXPECT_EQ(rt.run_on(0, hits), (std::vector<int>{0, 5}));
  rt.stop();
  state.destroy();
  EXPECT_EQ(l->destroyed, (std::vector<std::pair<size_t, size_t>>{{0, 2}, {1, 2}}));
}

TEST(shard_runtime_stopped, ShardedStateMayOutliveItsRuntime) {
  struct counted {
    explicit counted(std::shared_ptr<int> c) : gone(std::move(c)) {}
    ~counted() { ++*gone; }
    counted(const counted&) = delete;
    counted& operator=(const counted&) = delete;
    std::shared_ptr<int> gone;
  };
  auto gone = std::make_shared<int>(0);
  auto rt = std::make_unique<shard_runtime>(2);
  std::optional<sharded<counted>> state;
  state.emplace(*rt, [&](size_t) { return std::make_unique<counted>(gone); });
  rt->start();
  rt->stop();
  rt.reset();
  state.reset();  // the broker's teardown order: the runtime goes first
  EXPECT_EQ(*gone, 2);
}

TEST(shard_runtime_death, TouchingAnotherShardsStateAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        shard_runtime rt(2);
        sharded<int> state(rt);
        rt.start();
        rt.run_on(0, [&] { return state.on(1); });
      },
      "an object of shard 1 touched from shard 0");
  EXPECT_DEATH(
      {
        shard_runtime rt(2);
        sharded<int> state(rt);
        rt.start();
        (void)state.on(0);
      },
      "touched off the shards while they run");
  EXPECT_DEATH(
      {
        shard_runtime rt(1);
        rt.start();
        rt.spawn(0, []() -> awaitable<void> {
          throw std::runtime_error("escaped");
          co_return;
        });
        std::this_thread::sleep_for(10s);
      },
      "shard 0: escaped");
}

}  // namespace
}  // namespace strom::net
