// app::broker: two brokers in one process on free ports and temporary directories, each
// produced to with librdkafka and scraped over its admin API, stopped in either order; and a
// broker on an in-memory file system whose timers run on a manual clock.
#include "app/broker.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "strom/config/loader.h"
#include "strom/io/memory_file_system.h"

namespace strom::app {
namespace {

using namespace std::chrono_literals;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Entries of a /proc/self directory: open descriptors ("fd") or threads ("task").
size_t count_entries(const char* dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir))
    ++n;
  return n;
}

/// The body of GET `path` on 127.0.0.1:`port` (HTTP/1.0: the server closes after it).
std::string http_get(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  auto req = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[8192];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : out.substr(body + 4);
}

/// A temporary directory, removed at the end.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strom-app-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

config::broker_config broker_config(int32_t node, const std::filesystem::path& data) {
  auto yaml = fmt::format(
      "mode: dev\n"
      "node: {{ id: {}, data_dirs: [\"{}\"] }}\n"
      "listeners:\n"
      "  - name: client\n"
      "    bind: {{ host: 127.0.0.1, port: {} }}\n"
      "admin:\n"
      "  bind: {{ host: 127.0.0.1, port: {} }}\n"
      "network: {{ shards: 2 }}\n"
      "shutdown: {{ drain_timeout_ms: 2000 }}\n",
      node, data.string(), free_port(), free_port());
  auto c = config::load_string(yaml, "broker_test");
  EXPECT_TRUE(c) << c.error().message();
  return *c;
}

rd_kafka_conf_t* conf(const std::map<std::string, std::string>& kv) {
  auto* c = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : kv) {
    EXPECT_EQ(rd_kafka_conf_set(c, k.c_str(), v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  }
  return c;
}

/// Produces `count` messages with acks=all to partition 0 of `topic` (created by the first
/// one: dev mode auto-creates topics) and returns the partition's high watermark afterwards.
int64_t produce(uint16_t port, const std::string& topic, int count) {
  char err[512];
  auto bootstrap = fmt::format("127.0.0.1:{}", port);
  int failed = 0;
  auto* c = conf({{"bootstrap.servers", bootstrap}, {"acks", "all"}, {"linger.ms", "1"}});
  rd_kafka_conf_set_opaque(c, &failed);
  rd_kafka_conf_set_dr_msg_cb(c, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
      ++*static_cast<int*>(opaque);
  });
  auto* p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  EXPECT_NE(p, nullptr) << err;
  if (p == nullptr)
    return -1;
  for (int i = 0; i < count; ++i) {
    auto value = fmt::format("{}-{}", topic, i);
    auto e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_VALUE(value.data(), value.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  EXPECT_EQ(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(failed, 0);
  int64_t lo = -1, hi = -1;
  EXPECT_EQ(rd_kafka_query_watermark_offsets(p, topic.c_str(), 0, &lo, &hi, 10000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(p);
  return hi;
}

/// The value of series `name{labels}` in a Prometheus text page, -1 when absent.
double series(const std::string& page, const std::string& name_and_labels) {
  auto at = page.find("\n" + name_and_labels + " ");
  if (at == std::string::npos)
    return -1;
  return std::strtod(page.c_str() + at + name_and_labels.size() + 2, nullptr);
}

class two_brokers : public ::testing::TestWithParam<bool> {};

TEST_P(two_brokers, each_serves_and_counts_its_own_traffic_and_stops_in_either_order) {
  bool stop_first_one_first = GetParam();
  auto fds_before = count_entries("/proc/self/fd");
  auto threads_before = count_entries("/proc/self/task");
  {
    temp_dir dir1, dir2;
    thread_timer_clock clk1, clk2;
    seeded_random rng1(1), rng2(2);
    auto b1 =
        std::make_unique<broker>(broker_config(1, dir1.path / "data"), io::make_posix_file_system(),
                                 clk1, rng1, broker::options{.version = "test"});
    auto b2 =
        std::make_unique<broker>(broker_config(2, dir2.path / "data"), io::make_posix_file_system(),
                                 clk2, rng2, broker::options{.version = "test"});
    ASSERT_TRUE(b1->start());
    ASSERT_TRUE(b2->start());
    EXPECT_TRUE(b1->ready());
    EXPECT_TRUE(b2->ready());
    EXPECT_NE(b1->kafka_port(), b2->kafka_port());

    EXPECT_EQ(produce(b1->kafka_port(), "one", 30), 30);
    EXPECT_EQ(produce(b2->kafka_port(), "two", 20), 20);
    EXPECT_EQ(produce(b2->kafka_port(), "both", 5), 5);
    EXPECT_EQ(produce(b1->kafka_port(), "both", 7), 7);

    // Each broker's /metrics shows its own traffic only.
    auto m1 = http_get(b1->admin_port(), "/metrics");
    auto m2 = http_get(b2->admin_port(), "/metrics");
    ASSERT_NE(m1.find("strom_kafka_records_in_total"), std::string::npos) << m1;
    EXPECT_EQ(series(m1, R"(strom_kafka_records_in_total{topic="one"})"), 30);
    EXPECT_EQ(series(m1, R"(strom_kafka_records_in_total{topic="two"})"), -1);
    EXPECT_EQ(series(m1, R"(strom_kafka_records_in_total{topic="both"})"), 7);
    EXPECT_EQ(series(m2, R"(strom_kafka_records_in_total{topic="one"})"), -1);
    EXPECT_EQ(series(m2, R"(strom_kafka_records_in_total{topic="two"})"), 20);
    EXPECT_EQ(series(m2, R"(strom_kafka_records_in_total{topic="both"})"), 5);
    EXPECT_EQ(b1->metrics().topic_series_count(), 2u);
    EXPECT_EQ(b2->metrics().topic_series_count(), 2u);
    EXPECT_EQ(metrics::default_registry().topic_series_count(), 0u);
    EXPECT_NE(http_get(b1->admin_port(), "/v1/cluster/health").find("\"node_id\":1"),
              std::string::npos);
    EXPECT_NE(http_get(b2->admin_port(), "/v1/cluster/health").find("\"node_id\":2"),
              std::string::npos);

    auto& first = stop_first_one_first ? b1 : b2;
    auto& second = stop_first_one_first ? b2 : b1;
    auto second_port = second->kafka_port();
    ASSERT_TRUE(first->stop());
    first.reset();
    // The other one still serves.
    EXPECT_EQ(produce(second_port, "after", 3), 3);
    ASSERT_TRUE(second->stop());
    second.reset();

    // A restart finds what each wrote, cleanly shut down.
    broker again(broker_config(1, dir1.path / "data"), io::make_posix_file_system(), clk1, rng1,
                 broker::options{.version = "test"});
    ASSERT_TRUE(again.start());
    EXPECT_EQ(produce(again.kafka_port(), "one", 1), 31);
    ASSERT_TRUE(again.stop());
  }
  // Every thread and descriptor the brokers (and the clients) had is gone.
  EXPECT_EQ(rd_kafka_wait_destroyed(10000), 0);
  EXPECT_EQ(count_entries("/proc/self/task"), threads_before);
  EXPECT_EQ(count_entries("/proc/self/fd"), fds_before);
}

std::string stop_order_name(const ::testing::TestParamInfo<bool>& p) {
  return p.param ? "first_then_second" : "second_then_first";
}

INSTANTIATE_TEST_SUITE_P(stop_order, two_brokers, ::testing::Bool(), stop_order_name);

TEST(broker, a_second_broker_on_the_same_data_directory_refuses_to_start) {
  temp_dir dir;
  thread_timer_clock clk;
  seeded_random rng(3);
  broker first(broker_config(1, dir.path / "data"), io::make_posix_file_system(), clk, rng,
               broker::options{});
  ASSERT_TRUE(first.start());
  broker second(broker_config(2, dir.path / "data"), io::make_posix_file_system(), clk, rng,
                broker::options{});
  auto s = second.start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("in use by another process"), std::string::npos)
      << s.error().message();
  EXPECT_FALSE(second.ready());
  EXPECT_TRUE(second.stop());  // nothing to stop
  EXPECT_TRUE(first.stop());
}

TEST(broker, on_a_memory_file_system_its_housekeeping_runs_on_the_clock_it_is_given) {
  auto fs = std::make_shared<io::memory_file_system>();
  manual_clock clk;
  seeded_random rng(4);
  auto cfg = broker_config(7, "/data");
  broker b(cfg, fs, clk, rng, broker::options{.lock_data_dirs = false});
  ASSERT_TRUE(b.start());
  // One housekeeping tick armed per shard, on the manual clock; none has run.
  EXPECT_EQ(clk.pending(), b.runtime()->count());
  EXPECT_EQ(produce(b.kafka_port(), "mem", 4), 4);
  // Moving the clock runs the ticks, which arm the next ones.
  clk.advance(std::chrono::milliseconds(10'000));
  EXPECT_TRUE(fs->exists("/data/mem-0").value());
  ASSERT_TRUE(b.stop());
  EXPECT_EQ(clk.pending(), 0u);  // stop cancelled them
  EXPECT_TRUE(fs->exists("/data/.strom_clean_shutdown").value());
}

TEST(broker, a_configuration_it_cannot_serve_is_a_config_error) {
  temp_dir dir;
  manual_clock clk;
  seeded_random rng(5);
  auto cfg = broker_config(1, dir.path / "data");
  cfg.listeners.front().protocol = config::security_protocol::ssl;
  broker b(cfg, io::make_posix_file_system(), clk, rng, broker::options{});
  auto s = b.start();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code().category(), config::error_category()) << s.error().message();
  EXPECT_EQ(clk.pending(), 0u);
}

}  // namespace
}  // namespace strom::app
