// Three controllers in one process, each with its own data directory and internal listener on
// loopback, driven by one io_context: the controller group elects a leader, bootstraps the
// cluster id, registers every broker, fences a broker that stops and unfences it when it comes
// back, and serves commands submitted on any broker.
#include "strom/cluster/controller.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <set>

#include "strom/base/clock.h"
#include "strom/io/file_system.h"

namespace strom::cluster {
namespace {

using namespace std::chrono_literals;
namespace asio = net::asio;

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strom-ctl-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// A free loopback port (bound and released; the controller binds it right after).
uint16_t free_port() {
  asio::io_context io;
  net::tcp::acceptor a(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return a.local_endpoint().port();
}

class ControllerTest : public ::testing::Test {
 protected:
  asio::io_context io;
  temp_dir dir;
  std::vector<uint16_t> ports;
  std::map<int32_t, std::unique_ptr<controller>> nodes;

  void SetUp() override {
    for (int i = 0; i < 3; ++i)
      ports.push_back(free_port());
    for (int32_t id = 1; id <= 3; ++id)
      start(id);
  }

  void TearDown() override {
    for (auto& [id, c] : nodes)
      c->stop();
    io.restart();
    io.run_for(20ms);
    nodes.clear();
  }

  controller::options options(int32_t id) {
    controller::options o;
    o.self = {id, "127.0.0.1", 9000 + id, "127.0.0.1", ports[static_cast<size_t>(id - 1)], {}};
    for (int32_t v = 1; v <= 3; ++v)
      o.voters.push_back({v, "127.0.0.1", ports[static_cast<size_t>(v - 1)]});
    o.listen_port = ports[static_cast<size_t>(id - 1)];
    o.dir = dir.path / ("node-" + std::to_string(id));
    o.tick = 10ms;
    o.election_timeout = 300ms;
    o.raft_heartbeat = 30ms;
    o.broker_heartbeat = 50ms;
    o.broker_session_timeout = 600ms;
    o.request_timeout = 10s;
    o.snapshot_every = 20;
    o.usage_interval = 100ms;
    // Each broker leads partition id - 1 of "t" (id * 100 bytes) and a partition of a topic
    // the controller does not know.
    o.local_usage = [id] {
      return std::vector<partition_bytes>{{"t", id - 1, id * 100}, {"unknown", 0, 5}};
    };
    return o;
  }

  void start(int32_t id) {
    auto c = std::make_unique<controller>(io, io::make_posix_file_system(), clock::system(),
                                          options(id));
    auto s = c->start();
    ASSERT_TRUE(s.has_value()) << s.error().message();
    nodes[id] = std::move(c);
  }

  void stop(int32_t id) {
    nodes.at(id)->stop();
    // Let the stopped controller's loops see that they are done.
    io.restart();
    io.run_for(20ms);
    nodes.erase(id);
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(10ms);
    }
    return pred();
  }

  /// Every running node sees the same cluster id, the same controller and `live` unfenced.
  bool agreed(const std::set<int32_t>& live) {
    std::optional<std::string> id;
    std::optional<int32_t> ctl;
    for (auto& [n, c] : nodes) {
      auto v = c->view();
      if (v->cluster_id.empty() || !v->controller_id)
        return false;
      if ((id && *id != v->cluster_id) || (ctl && *ctl != *v->controller_id))
        return false;
      id = v->cluster_id;
      ctl = v->controller_id;
      std::set<int32_t> seen;
      for (const auto& b : v->live_brokers())
        seen.insert(b.id);
      if (seen != live)
        return false;
    }
    return true;
  }

  result<int64_t> submit(int32_t on, controller_command cmd) {
    std::optional<result<int64_t>> out;
    asio::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          auto op = nodes.at(on)->submit(cmd);
          out = co_await std::move(op);
        },
        asio::detached);
    run_until([&] { return out.has_value(); });
    if (!out)
      return error(controller_errc::timeout);
    return std::move(*out);
  }
};

TEST_F(ControllerTest, ThreeBrokersFormOneClusterWithOneView) {
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
  // Every broker catches up with the leader (until then its topics are not touched).
  ASSERT_TRUE(run_until([&] {
    for (auto& [n, c] : nodes) {
      if (!c->view()->caught_up)
        return false;
    }
    return true;
  }));
  auto v = nodes.at(2)->view();
  EXPECT_EQ(v->brokers.at(3).reg.port, 9003);
  EXPECT_EQ(v->brokers.at(1).reg.internal_port, ports[0]);
}

TEST_F(ControllerTest, CommandsSubmittedOnAnyBrokerApplyEverywhereOnce) {
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
  std::set<int64_t> firsts;
  for (int i = 0; i < 30; ++i) {
    int32_t on = 1 + i % 3;
    auto r = submit(on, allocate_producer_ids_cmd{on, 1000});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(firsts.insert(*r).second) << "block " << *r << " handed out twice";
    // Read your writes: the broker that submitted has applied it.
    EXPECT_GE(nodes.at(on)->view()->applied_index, 1);
  }
  EXPECT_EQ(firsts.size(), 30u);
  EXPECT_EQ(*firsts.rbegin(), 29000);
}

TEST_F(ControllerTest, AStoppedBrokerIsFencedAndComesBackWhenItRestarts) {
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
  // Stop a broker that is not the controller leader: the others report it down.
  int32_t leader = *nodes.at(1)->view()->controller_id;
  int32_t victim = leader == 3 ? 2 : 3;
  stop(victim);
  std::set<int32_t> rest = {1, 2, 3};
  rest.erase(victim);
  ASSERT_TRUE(run_until([&] { return agreed(rest); }));
  start(victim);
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
}

TEST_F(ControllerTest, TheControllerLeaderFailsOverAndTheStateSurvivesRestarts) {
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
  auto cluster_id = nodes.at(1)->view()->cluster_id;
  // Enough commands for snapshots to be taken on the way.
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(submit(1, allocate_producer_ids_cmd{1, 10}).has_value());
  int32_t leader = *nodes.at(1)->view()->controller_id;
  stop(leader);
  std::set<int32_t> rest = {1, 2, 3};
  rest.erase(leader);
  ASSERT_TRUE(run_until([&] { return agreed(rest); }));
  int32_t other = *rest.begin();
  EXPECT_NE(*nodes.at(other)->view()->controller_id, leader);
  auto r = submit(other, allocate_producer_ids_cmd{other, 10});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, 500);
  // A full restart keeps the cluster id and the producer id counter.
  for (int32_t id : rest)
    stop(id);
  for (int32_t id = 1; id <= 3; ++id)
    start(id);
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
  EXPECT_EQ(nodes.at(2)->view()->cluster_id, cluster_id);
  auto after = submit(3, allocate_producer_ids_cmd{3, 10});
  ASSERT_TRUE(after.has_value()) << after.error().message();
  EXPECT_EQ(*after, 510);
}

TEST_F(ControllerTest, TheLeaderCollectsThePartitionSizesEveryBrokerReports) {
  ASSERT_TRUE(run_until([&] { return agreed({1, 2, 3}); }));
  topic_metadata t;
  t.name = "t";
  t.partitions = 3;
  t.id[15] = std::byte{1};
  t.replicas = {{1}, {2}, {3}};
  ASSERT_TRUE(submit(1, add_topic_cmd{t}).has_value());
  int32_t leader = *nodes.at(1)->view()->controller_id;
  partition_usage_map want{{{"t", 0}, 100}, {{"t", 1}, 200}, {{"t", 2}, 300}};
  ASSERT_TRUE(run_until([&] { return nodes.at(leader)->partition_usage() == want; }));
  // Only the leader has them.
  for (auto& [id, c] : nodes) {
    if (id != leader) {
      EXPECT_FALSE(c->partition_usage().has_value()) << "broker " << id;
    }
  }
  // A broker that stops reporting (and is not fenced yet) makes them incomplete.
  int32_t other = leader == 1 ? 2 : 1;
  stop(other);
  ASSERT_TRUE(run_until([&] { return !nodes.at(leader)->partition_usage().has_value(); }));
  // Once it is fenced, it no longer counts; the sizes it last reported stay.
  ASSERT_TRUE(run_until([&] { return nodes.at(leader)->partition_usage() == want; }));
  // A new leader collects them again, from the brokers running.
  start(other);
  stop(leader);
  want.erase({"t", leader - 1});
  ASSERT_TRUE(run_until([&] {
    for (auto& [id, c] : nodes) {
      if (c->partition_usage() == want)
        return true;
    }
    return false;
  }));
}

}  // namespace
}  // namespace strom::cluster
