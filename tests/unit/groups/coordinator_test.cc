// The coordinator over a real partition manager, topics front end, log manager and shard runtime
// (one shard): offsets survive a reopen, requests during the replay are told to wait, empty groups
// expire.
#include "strom/groups/coordinator.h"

#include "strom/cluster/topic_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

namespace strom::groups {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;

class CoordinatorTest : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("strom-coord-" + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::shared_ptr<io::file_system> fs = io::make_posix_file_system();
  manual_clock clk;
  std::unique_ptr<storage::log_manager> logs;
  std::unique_ptr<cluster::topic_store> store;
  std::unique_ptr<cluster::topic_table> topics;
  std::unique_ptr<net::shard_runtime> rt;
  std::unique_ptr<cluster::partition_manager> partitions;
  std::unique_ptr<cluster::topics_frontend> frontend;
  std::unique_ptr<coordinator> coord;
  coordinator::options copts;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    copts.partitions = 3;
    copts.offsets_retention_ms = 60'000;
  }
  void TearDown() override {
    close();
    std::filesystem::remove_all(dir);
  }

  /// Opens everything; the shard threads start after `before_start` queued its work.
  void open(const std::function<void()>& before_start = {}) {
    storage::log_manager::options lo;
    lo.data_dirs = {dir};
    lo.fs = fs;
    lo.clk = &clk;
    auto l = storage::log_manager::open(lo);
    ASSERT_TRUE(l) << l.error().message();
    logs = std::move(*l);
    auto s = cluster::topic_store::open(fs, dir / ".strom" / "topics");
    ASSERT_TRUE(s) << s.error().message();
    store = std::move(*s);
    auto loaded = store->load();
    ASSERT_TRUE(loaded) << loaded.error().message();
    topics = std::make_unique<cluster::topic_table>(std::move(*loaded));
    rt = std::make_unique<net::shard_runtime>(1);
    partitions =
        std::make_unique<cluster::partition_manager>(*rt, *logs, cluster::topic_defaults{}, clk);
    ASSERT_TRUE(partitions->load(*topics->snapshot()));
    frontend = std::make_unique<cluster::topics_frontend>(*partitions, *store, *topics,
                                                          cluster::topics_frontend::options{});
    coord = std::make_unique<coordinator>(*partitions, *frontend, *topics, copts, clk);
    coord->start();
    if (before_start)
      before_start();
    rt->start();
  }

  void close() {
    if (!rt)
      return;
    rt->stop();
    coord->release_shard_objects();
    frontend->stop();
    partitions->release_shard_objects();
    logs->wait_flushes();  // flush completions post to the shards' executors
    rt.reset();
    coord.reset();
    frontend.reset();
    partitions.reset();
    topics.reset();
    store.reset();
    ASSERT_TRUE(logs->shutdown());
    logs.reset();
  }

  template <typename T>
  std::future<T> spawn(awaitable<T> a) {
    auto p = std::make_shared<std::promise<T>>();
    auto f = p->get_future();
    asio::co_spawn(rt->executor(0), std::move(a), [p](std::exception_ptr e, T v) {
      if (e)
        p->set_exception(e);
      else
        p->set_value(std::move(v));
    });
    return f;
  }
  template <typename T>
  T run(awaitable<T> a) {
    return spawn(std::move(a)).get();
  }

  std::vector<coordinator::commit_entry> commit(const std::string& group, int first, int count,
                                                size_t metadata_bytes = 8) {
    coordinator::commit_request r;
    for (int i = first; i < first + count; ++i) {
      coordinator::commit_entry e;
      e.topic = "t";
      e.partition = i;
      e.value.offset = 1000 + i;
      e.value.metadata = std::string(metadata_bytes, 'm');
      r.entries.push_back(std::move(e));
    }
    return run(coord->commit(group, std::move(r)));
  }
};

TEST_F(CoordinatorTest, CommittedOffsetsAreReplayedAfterAReopen) {
  open();
  ASSERT_EQ(run(coord->ensure_topic()), errc::none);
  for (const auto& e : commit("g", 0, 10))
    ASSERT_EQ(e.error, errc::none);
  auto before = run(coord->fetch_offsets("g", std::nullopt));
  ASSERT_EQ(before.offsets.size(), 10u);
  close();

  open();
  coordinator::fetched_offsets after;
  for (int i = 0; i < 200; ++i) {
    after = run(coord->fetch_offsets("g", std::nullopt));
    if (after.error != errc::coordinator_load_in_progress)
      break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(after.error, errc::none);
  EXPECT_EQ(after.offsets, before.offsets);
  auto d = run(coord->describe("g"));
  EXPECT_EQ(d.state, group_state::empty);
}

TEST_F(CoordinatorTest, RequestsDuringTheReplayAreToldToWait) {
  open();
  ASSERT_EQ(run(coord->ensure_topic()), errc::none);
  // Over 2 MiB of commits: the replay takes several 1 MiB steps.
  for (int i = 0; i < 5; ++i) {
    for (const auto& e : commit("big", i * 500, 500, 1000))
      ASSERT_EQ(e.error, errc::none);
  }
  close();

  std::future<coordinator::fetched_offsets> first;
  open([&] { first = spawn(coord->fetch_offsets("big", std::nullopt)); });
  EXPECT_EQ(first.get().error, errc::coordinator_load_in_progress);
  coordinator::fetched_offsets later;
  for (int i = 0; i < 500; ++i) {
    later = run(coord->fetch_offsets("big", std::nullopt));
    if (later.error != errc::coordinator_load_in_progress)
      break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(later.error, errc::none);
  EXPECT_EQ(later.offsets.size(), 2500u);
}

TEST_F(CoordinatorTest, EmptyGroupsLoseTheirOffsetsAfterTheRetention) {
  open();
  ASSERT_EQ(run(coord->ensure_topic()), errc::none);
  commit("old", 0, 3);
  commit("young", 0, 3);
  clk.advance(30s);
  commit("young", 0, 2);  // consumers without group management: each offset ages on its own
  clk.advance(31s);
  // The expiry runs on the coordinator's timer (real time); wait for it, bounded.
  coordinator::fetched_offsets got;
  for (int i = 0; i < 300; ++i) {
    got = run(coord->fetch_offsets("old", std::nullopt));
    if (got.offsets.empty())
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(got.offsets.empty());
  for (int i = 0; i < 300; ++i) {
    got = run(coord->fetch_offsets("young", std::nullopt));
    if (got.offsets.size() < 3)
      break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(got.offsets.size(), 2u);  // partition 2 was not committed again
  EXPECT_EQ(got.offsets[0].first.second, 0);
  EXPECT_EQ(got.offsets[1].first.second, 1);
  EXPECT_EQ(run(coord->delete_group("old")), errc::group_id_not_found);
  close();
  open();
  for (int i = 0; i < 200; ++i) {
    got = run(coord->fetch_offsets("old", std::nullopt));
    if (got.error != errc::coordinator_load_in_progress)
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(got.error, errc::none);
  EXPECT_TRUE(got.offsets.empty());  // the tombstones were replayed
  EXPECT_EQ(run(coord->fetch_offsets("young", std::nullopt)).offsets.size(), 2u);
}

TEST_F(CoordinatorTest, DeleteGroupRemovesOffsetsDurably) {
  open();
  ASSERT_EQ(run(coord->ensure_topic()), errc::none);
  commit("doomed", 0, 4);
  EXPECT_EQ(run(coord->delete_group("doomed")), errc::none);
  EXPECT_EQ(run(coord->delete_group("doomed")), errc::group_id_not_found);
  close();
  open();
  coordinator::fetched_offsets got;
  for (int i = 0; i < 200; ++i) {
    got = run(coord->fetch_offsets("doomed", std::nullopt));
    if (got.error != errc::coordinator_load_in_progress)
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(got.offsets.empty());
}

}  // namespace
}  // namespace strom::groups
