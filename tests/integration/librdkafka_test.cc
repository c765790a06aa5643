// librdkafka (the C client) against a real stromd: 100k messages with acks=all over six
// partitions read back in order, and the admin API creating, describing, altering and deleting
// topics.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

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

/// A stromd in a temporary directory, killed and removed at the end.
class broker {
 public:
  broker() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strom-rdk-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    port_ = free_port();
    auto cfg = dir_ / "broker.yaml";
    std::ofstream(cfg) << "mode: dev\nnode: { id: 1, data_dirs: [\"" << (dir_ / "data").string()
                       << "\"] }\nlisteners:\n  - name: client\n    bind: { host: 127.0.0.1, port: "
                       << port_ << " }\nadmin:\n  bind: { host: 127.0.0.1, port: " << free_port()
                       << " }\n";
    auto log = (dir_ / "stromd.log").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string exe = STROMD;
    std::string c = cfg.string();
    char* args[] = {exe.data(), const_cast<char*>("--config"), c.data(), nullptr};
    EXPECT_EQ(::posix_spawn(&pid_, exe.c_str(), &fa, nullptr, args, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 300; ++i) {
      std::ifstream in(log);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ss.str().find("stromd started") != std::string::npos)
        return;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "stromd did not start";
  }
  ~broker() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::filesystem::remove_all(dir_);
  }
  [[nodiscard]] std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = 0;
};

rd_kafka_conf_t* conf(const std::map<std::string, std::string>& kv) {
  auto* c = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : kv) {
    EXPECT_EQ(rd_kafka_conf_set(c, k.c_str(), v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  }
  return c;
}

/// Runs one admin operation and returns its result event (caller destroys it).
rd_kafka_event_t* wait_admin(rd_kafka_queue_t* q) {
  return rd_kafka_queue_poll(q, 30000);
}

void create_topic(rd_kafka_t* rk, const char* name, int partitions,
                  const std::map<std::string, std::string>& configs = {}) {
  char err[512];
  auto* nt = rd_kafka_NewTopic_new(name, partitions, 1, err, sizeof err);
  ASSERT_NE(nt, nullptr) << err;
  for (const auto& [k, v] : configs)
    rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
  auto* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  auto* ev = wait_admin(q);
  ASSERT_NE(ev, nullptr);
  size_t n = 0;
  const auto* res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(res[0]);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
}

TEST(Librdkafka, HundredThousandMessagesAcksAllInOrderPerPartition) {
  broker b;
  char err[512];
  auto* p = rd_kafka_new(RD_KAFKA_PRODUCER,
                         conf({{"bootstrap.servers", b.bootstrap()},
                               {"acks", "all"},
                               {"linger.ms", "5"},
                               {"compression.codec", "lz4"}}),
                         err, sizeof err);
  ASSERT_NE(p, nullptr) << err;
  create_topic(p, "orders", 6);
  constexpr int total = 100000;
  constexpr int parts = 6;
  for (int i = 0; i < total; ++i) {
    auto value = "p" + std::to_string(i % parts) + "-" + std::to_string(i / parts);
    for (;;) {
      auto e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_PARTITION(i % parts),
                                 RD_KAFKA_V_VALUE(value.data(), value.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p, 10);
        continue;
      }
      ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR);
      break;
    }
    rd_kafka_poll(p, 0);
  }
  ASSERT_EQ(rd_kafka_flush(p, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(p);

  auto* c = rd_kafka_new(RD_KAFKA_CONSUMER,
                         conf({{"bootstrap.servers", b.bootstrap()},
                               {"group.id", "orders-check"},
                               {"enable.auto.commit", "false"}}),
                         err, sizeof err);
  ASSERT_NE(c, nullptr) << err;
  auto* list = rd_kafka_topic_partition_list_new(parts);
  for (int i = 0; i < parts; ++i) {
    rd_kafka_topic_partition_list_add(list, "orders", i)->offset = 0;
  }
  ASSERT_EQ(rd_kafka_assign(c, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<int64_t> next(parts, 0);
  int got = 0;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (got < total && std::chrono::steady_clock::now() < deadline) {
    auto* m = rd_kafka_consumer_poll(c, 500);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      continue;
    }
    ASSERT_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_message_errstr(m);
    int part = m->partition;
    ASSERT_EQ(m->offset, next[part]);
    std::string v(static_cast<const char*>(m->payload), m->len);
    EXPECT_EQ(v, "p" + std::to_string(part) + "-" + std::to_string(next[part]));
    ++next[part];
    ++got;
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(got, total);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
}

TEST(Librdkafka, AdminCreatesDescribesAltersAndDeletesTopics) {
  broker b;
  char err[512];
  auto* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf({{"bootstrap.servers", b.bootstrap()}}), err,
                          sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  create_topic(rk, "admin-t", 3, {{"retention.ms", "3600000"}});

  auto describe = [&](const char* key) -> std::pair<std::string, rd_kafka_ConfigSource_t> {
    auto* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, "admin-t");
    auto* q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, &res, 1, nullptr, q);
    auto* ev = wait_admin(q);
    size_t n = 0;
    const auto* rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    std::pair<std::string, rd_kafka_ConfigSource_t> out{"", RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG};
    if (n == 1) {
      size_t cn = 0;
      const auto* entries = rd_kafka_ConfigResource_configs(rs[0], &cn);
      for (size_t i = 0; i < cn; ++i) {
        if (std::string(rd_kafka_ConfigEntry_name(entries[i])) == key) {
          const char* v = rd_kafka_ConfigEntry_value(entries[i]);
          out = {v ? v : "", rd_kafka_ConfigEntry_source(entries[i])};
        }
      }
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return out;
  };
  auto r = describe("retention.ms");
  EXPECT_EQ(r.first, "3600000");
  EXPECT_EQ(r.second, RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG);
  EXPECT_EQ(describe("segment.ms").second, RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);

  {
    auto* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, "admin-t");
    rd_kafka_ConfigResource_set_config(res, "retention.ms", "1234");
    auto* q = rd_kafka_queue_new(rk);
    rd_kafka_AlterConfigs(rk, &res, 1, nullptr, q);
    auto* ev = wait_admin(q);
    size_t n = 0;
    const auto* rs =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_ConfigResource_error(rs[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
  }
  EXPECT_EQ(describe("retention.ms").first, "1234");

  {
    auto* dt = rd_kafka_DeleteTopic_new("admin-t");
    auto* q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, &dt, 1, nullptr, q);
    auto* ev = wait_admin(q);
    size_t n = 0;
    const auto* rs =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_topic_result_error(rs[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
  }
  const rd_kafka_metadata_t* md = nullptr;
  ASSERT_EQ(rd_kafka_metadata(rk, 1, nullptr, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int i = 0; i < md->topic_cnt; ++i)
    EXPECT_STRNE(md->topics[i].topic, "admin-t");
  rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
}

}  // namespace
