#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "strom/config/loader.h"
#include "strom/config/schema.h"

namespace strom::config {
namespace {

const std::filesystem::path source_dir = STROM_SOURCE_DIR;

broker_config load_ok(std::string_view yaml) {
  auto r = load_string(yaml, "test.yaml");
  if (!r.has_value()) {
    ADD_FAILURE() << r.error().message();
    return {};
  }
  return std::move(r).value();
}

/// Every key set to something other than its default.
constexpr std::string_view full_file = R"(
mode: production
node:
  id: 7
  rack: eu-west-1a
  data_dirs: [/var/lib/strom/d1, "/var/lib/strom/d2"]
cluster:
  id: MkU3OEVBNTcwNTJENDM2Qk
  seeds:
    - { node_id: 7, host: broker-7, port: 9093 }
    - node_id: 8
      host: broker-8
      port: 9093
listeners:
  - name: client
    bind: { host: 0.0.0.0, port: 9092 }
    advertise: { host: broker-7.example.com, port: 19092 }
    security_protocol: SASL_SSL
    sasl_mechanisms: [SCRAM-SHA-512]
    tls:
      cert_file: /etc/strom/broker.pem
      key_file: /etc/strom/broker.key
      ca_file: /etc/strom/ca.pem
      client_auth: requested
  - name: internal
    bind: { host: "::", port: 9093 }
    advertise: { host: broker-7 }
inter_broker_listener: internal
admin:
  bind: { host: 0.0.0.0, port: 9645 }
  tls:
    cert_file: /etc/strom/admin.pem
    key_file: /etc/strom/admin.key
    ca_file: /etc/strom/operators-ca.pem
    client_auth: required
network:
  shards: 4
  socket_send_buffer_bytes: -1
  socket_receive_buffer_bytes: 262144
  socket_request_max_bytes: 52428800
  max_connections: 20000
  max_connections_per_ip: 50
  fetch_max_bytes: 10485760
  fetch_max_wait_ms: 5000
  max_inflight_requests_per_connection: 5
  connections_max_idle_ms: 300000
  connections_max_reauth_ms: 3600000
  request_timeout_ms: 10000
storage:
  max_open_segment_files: 4096
cluster_defaults:
  topics:
    auto_create: true
    default_partitions: 6
    default_replication_factor: 5
    min_insync_replicas: 3
    delete_enable: false
    max_partitions_per_topic: 500
    max_partitions_per_broker: 20000
  log:
    segment_bytes: 134217728
    segment_ms: 3600000
    segment_jitter_ms: 60000
    segment_index_bytes: 1048576
    retention_ms: -1
    retention_bytes: 1099511627776
    cleanup_policy: compact,delete
    delete_retention_ms: 3600000
    min_compaction_lag_ms: 5000
    retention_check_interval_ms: 60000
    flush_interval_messages: 10000
    flush_interval_ms: 1000
    write_caching: true
    message_max_bytes: 2097152
    compression_type: zstd
    index_interval_bytes: 8192
    writeback_bytes: 262144
    message_timestamp_type: LogAppendTime
  replication:
    replica_lag_time_max_ms: 10000
    replica_fetch_max_bytes: 4194304
    unclean_leader_election: true
    auto_leader_rebalance: false
    continuous_balancing: true
    balancing_disk_threshold_percent: 25
    balancing_disk_min_bytes: 1073741824
    election_timeout_ms: 3000
    heartbeat_interval_ms: 300
    recovery_max_bytes_per_sec: 0
  groups:
    initial_rebalance_delay_ms: 500
    offsets_topic_replication_factor: 5
    offsets_topic_partitions: 100
    offsets_retention_minutes: 1440
    offsets_compaction_bytes: 1048576
    min_session_timeout_ms: 1000
    max_session_timeout_ms: 600000
  producers:
    id_expiration_ms: 3600000
    max_per_partition: 500
shutdown:
  controlled: false
  drain_timeout_ms: 5000
logging:
  level: debug
  format: json
  loggers: { kafka: trace, raft: warn }
metrics:
  enabled: false
  per_partition: true
  consumer_lag: true
authorization:
  enabled: true
  superusers: ["User:admin", "User:CN=ops"]
security:
  audit_log:
    path: /var/log/strom/audit.log
    max_file_bytes: 1048576
    max_files: 3
)";

TEST(config_defaults, production_defaults_need_only_a_node_id) {
  auto c = load_ok("node:\n  id: 1\n");
  broker_config expected;
  expected.node.id = 1;
  EXPECT_EQ(c, expected);
  EXPECT_EQ(c.mode, mode::production);
  EXPECT_EQ(c.node.data_dirs, std::vector<std::string>{"./data"});
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "client");
  EXPECT_EQ(c.listeners[0].bind, (endpoint{"127.0.0.1", 9092}));
  EXPECT_EQ(c.listeners[0].advertise, (endpoint{"127.0.0.1", 9092}));
  EXPECT_EQ(c.listeners[0].protocol, security_protocol::plaintext);
  EXPECT_EQ(c.admin.bind, (endpoint{"127.0.0.1", 9644}));
  EXPECT_EQ(c.network.socket_request_max_bytes, 104857600);
  EXPECT_EQ(c.network.max_inflight_requests_per_connection, 100);
  EXPECT_EQ(c.network.connections_max_idle_ms, 600000);
  const auto& d = c.cluster_defaults;
  EXPECT_FALSE(d.topics.auto_create);
  EXPECT_EQ(d.topics.default_partitions, 1);
  EXPECT_EQ(d.topics.default_replication_factor, 3);
  EXPECT_EQ(d.topics.min_insync_replicas, 2);
  EXPECT_EQ(d.log.segment_bytes, 1073741824);
  EXPECT_EQ(d.log.retention_ms, 604800000);
  EXPECT_EQ(d.log.retention_bytes, -1);
  EXPECT_EQ(d.log.cleanup, cleanup_policy::delete_);
  EXPECT_FALSE(d.log.flush_interval_messages.has_value());
  EXPECT_FALSE(d.log.flush_interval_ms.has_value());
  EXPECT_FALSE(d.log.write_caching);
  EXPECT_EQ(d.log.message_max_bytes, 1048588);
  EXPECT_EQ(d.log.compression, compression_type::producer);
  EXPECT_EQ(d.replication.election_timeout_ms, 1500);
  EXPECT_EQ(d.replication.heartbeat_interval_ms, 150);
  EXPECT_EQ(d.groups.initial_rebalance_delay_ms, 3000);
  EXPECT_EQ(d.groups.offsets_topic_replication_factor, 3);
  EXPECT_TRUE(c.shutdown.controlled);
  EXPECT_EQ(c.logging.level, log_level::info);
  EXPECT_EQ(c.logging.format, log_format::text);
  EXPECT_TRUE(c.metrics.enabled);
  EXPECT_FALSE(c.metrics.per_partition);
  EXPECT_EQ(c.inter_broker().name, "client");
}

TEST(config_defaults, empty_sections_are_allowed) {
  auto c = load_ok("node:\n  id: 1\nnetwork:\nmetrics: {}\nlogging:\n  loggers:\n");
  broker_config expected;
  expected.node.id = 1;
  EXPECT_EQ(c, expected);
}

TEST(config_dev_mode, changes_defaults) {
  auto c = load_ok("mode: dev\n");
  EXPECT_EQ(c, default_config(mode::dev));
  EXPECT_EQ(c.node.id, 0);
  const auto& d = c.cluster_defaults;
  EXPECT_TRUE(d.topics.auto_create);
  EXPECT_EQ(d.topics.default_replication_factor, 1);
  EXPECT_EQ(d.topics.min_insync_replicas, 1);
  EXPECT_EQ(d.groups.initial_rebalance_delay_ms, 0);
  EXPECT_EQ(d.groups.offsets_topic_replication_factor, 1);
  // Everything else is the production default.
  EXPECT_EQ(d.log, broker_config{}.cluster_defaults.log);
  EXPECT_EQ(d.replication, broker_config{}.cluster_defaults.replication);
}

TEST(config_dev_mode, explicit_values_win_wherever_mode_is_written) {
  auto c = load_ok(
      "cluster_defaults:\n"
      "  topics:\n"
      "    auto_create: false\n"
      "    default_replication_factor: 3\n"
      "mode: dev\n");
  EXPECT_EQ(c.mode, mode::dev);
  EXPECT_FALSE(c.cluster_defaults.topics.auto_create);
  EXPECT_EQ(c.cluster_defaults.topics.default_replication_factor, 3);
  EXPECT_EQ(c.cluster_defaults.topics.min_insync_replicas, 1);  // the dev default
  EXPECT_EQ(c.cluster_defaults.groups.offsets_topic_replication_factor, 1);
}

TEST(config_full_file, every_key_is_read) {
  auto c = load_ok(full_file);
  EXPECT_EQ(c.node.id, 7);
  EXPECT_EQ(c.node.rack, "eu-west-1a");
  EXPECT_EQ(c.node.data_dirs, (std::vector<std::string>{"/var/lib/strom/d1", "/var/lib/strom/d2"}));
  EXPECT_EQ(c.cluster.id, "MkU3OEVBNTcwNTJENDM2Qk");
  ASSERT_EQ(c.cluster.seeds.size(), 2u);
  EXPECT_EQ(c.cluster.seeds[1], (seed_config{8, "broker-8", 9093}));
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].advertise, (endpoint{"broker-7.example.com", 19092}));
  EXPECT_EQ(c.listeners[0].protocol, security_protocol::sasl_ssl);
  EXPECT_EQ(c.listeners[1].bind, (endpoint{"::", 9093}));
  EXPECT_EQ(c.listeners[1].advertise, (endpoint{"broker-7", 9093}));  // port from bind
  EXPECT_EQ(c.inter_broker().name, "internal");
  EXPECT_EQ(c.network.socket_send_buffer_bytes, -1);
  EXPECT_EQ(c.cluster_defaults.log.retention_bytes, 1099511627776);
  EXPECT_EQ(c.cluster_defaults.log.cleanup, cleanup_policy::compact_delete);
  EXPECT_EQ(c.cluster_defaults.log.delete_retention_ms, 3600000);
  EXPECT_EQ(c.cluster_defaults.log.min_compaction_lag_ms, 5000);
  EXPECT_EQ(c.cluster_defaults.log.flush_interval_messages, 10000);
  EXPECT_EQ(c.cluster_defaults.log.compression, compression_type::zstd);
  EXPECT_EQ(c.cluster_defaults.log.message_timestamp_type, timestamp_type::log_append_time);
  EXPECT_EQ(c.logging.format, log_format::json);
  EXPECT_EQ(c.logging.loggers, (std::map<std::string, log_level>{{"kafka", log_level::trace},
                                                                 {"raft", log_level::warn}}));
  EXPECT_TRUE(c.metrics.consumer_lag);
  EXPECT_EQ(c.listeners[0].sasl_mechanisms, std::vector<std::string>{"SCRAM-SHA-512"});
  EXPECT_EQ(c.network.connections_max_reauth_ms, 3600000);
  EXPECT_TRUE(c.authorization.enabled);
  EXPECT_EQ(c.authorization.superusers, (std::vector<std::string>{"User:admin", "User:CN=ops"}));
  EXPECT_EQ(c.listeners[0].tls.cert_file, "/etc/strom/broker.pem");
  EXPECT_EQ(c.listeners[0].tls.client_auth, tls_client_auth::requested);
  EXPECT_EQ(c.admin.tls.cert_file, "/etc/strom/admin.pem");
  EXPECT_EQ(c.admin.tls.key_file, "/etc/strom/admin.key");
  EXPECT_EQ(c.admin.tls.ca_file, "/etc/strom/operators-ca.pem");
  EXPECT_EQ(c.admin.tls.client_auth, tls_client_auth::required);
  EXPECT_EQ(c.security.audit_log_path, "/var/log/strom/audit.log");
  EXPECT_EQ(c.security.audit_log_max_files, 3);
  EXPECT_EQ(c.cluster_defaults.replication.balancing_disk_threshold_percent, 25);
  EXPECT_EQ(c.cluster_defaults.replication.balancing_disk_min_bytes, 1073741824);

  // Every field differs from its default, so no key was silently ignored.
  broker_config d = default_config(mode::production);
  for (const auto& key : schema()) {
    if (key.kind == value_kind::object_list ||
        std::string_view(key.path).find('[') != std::string_view::npos || key.path == "mode") {
      continue;
    }
    EXPECT_NE(value_text(c, key.path), value_text(d, key.path)) << key.path;
  }
}

TEST(config_full_file, round_trips_through_to_yaml) {
  auto c = load_ok(full_file);
  auto yaml = to_yaml(c);
  auto again = load_string(yaml, "effective.yaml");
  ASSERT_TRUE(again.has_value()) << again.error().message() << "\n" << yaml;
  EXPECT_EQ(*again, c);
  EXPECT_EQ(to_yaml(*again), yaml);
}

TEST(config_full_file, defaults_round_trip_through_to_yaml) {
  for (auto m : {mode::production, mode::dev}) {
    auto c = default_config(m);
    c.node.id = 3;
    auto again = load_string(to_yaml(c), "effective.yaml");
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_EQ(*again, c);
  }
}

TEST(config_to_yaml, prints_every_key_in_the_file_layout) {
  auto c = load_ok(full_file);
  auto yaml = to_yaml(c);
  for (const auto& key : schema()) {
    std::string_view path = key.path;
    auto name = path.substr(path.rfind('.') == std::string_view::npos ? 0 : path.rfind('.') + 1);
    EXPECT_NE(yaml.find(std::string(name) + ":"), std::string::npos) << key.path;
  }
  EXPECT_NE(yaml.find("cluster_defaults:\n  topics:\n    auto_create: true"), std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("listeners:"), std::string::npos);
  EXPECT_NE(yaml.find("  - name: \"client\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("    segment_bytes: 134217728"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("# log.segment.bytes (topic: segment.bytes)"), std::string::npos);
  EXPECT_NE(yaml.find("    kafka: trace\n"), std::string::npos) << yaml;
}

TEST(config_to_yaml, quotes_strings_that_would_read_as_other_types) {
  auto c = default_config(mode::dev);
  c.node.rack = "true";
  c.cluster.id = "12345";
  c.node.data_dirs = {"null", "a \"quoted\" \\ dir", "# not a comment"};
  auto again = load_string(to_yaml(c), "effective.yaml");
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(*again, c);
}

TEST(config_values, synonyms_are_accepted) {
  auto c = load_ok(
      "mode: dev\n"
      "cluster_defaults:\n"
      "  log: { compression_type: none, cleanup_policy: \"delete,compact\" }\n"
      "logging: { level: warning }\n");
  EXPECT_EQ(c.cluster_defaults.log.compression, compression_type::uncompressed);
  EXPECT_EQ(c.cluster_defaults.log.cleanup, cleanup_policy::compact_delete);
  EXPECT_EQ(c.logging.level, log_level::warn);
  EXPECT_EQ(to_string(c.cluster_defaults.log.compression), "uncompressed");
  EXPECT_EQ(to_string(c.cluster_defaults.log.cleanup), "compact,delete");
}

TEST(config_values, nulls_integers_and_tags) {
  auto c = load_ok(
      "mode: dev\n"
      "node: { rack: ~ }\n"
      "network: { shards: +8, socket_send_buffer_bytes: !!int 4096 }\n"
      "cluster_defaults:\n"
      "  log:\n"
      "    flush_interval_ms: 0\n"
      "    flush_interval_messages: null\n"
      "    retention_ms: 9223372036854775807\n");
  EXPECT_FALSE(c.node.rack.has_value());
  EXPECT_EQ(c.network.shards, 8);
  EXPECT_EQ(c.network.socket_send_buffer_bytes, 4096);
  EXPECT_EQ(c.cluster_defaults.log.flush_interval_ms, 0);
  EXPECT_FALSE(c.cluster_defaults.log.flush_interval_messages.has_value());
  EXPECT_EQ(c.cluster_defaults.log.retention_ms, INT64_MAX);
}

TEST(config_values, anchors_and_aliases_work) {
  auto c = load_ok(
      "mode: dev\n"
      "listeners:\n"
      "  - name: a\n"
      "    bind: &b { host: 127.0.0.1, port: 9092 }\n"
      "    advertise: *b\n");
  EXPECT_EQ(c.listeners[0].advertise, (endpoint{"127.0.0.1", 9092}));
}

TEST(config_logging, options_for_base_logging) {
  auto c =
      load_ok("mode: dev\nlogging: { level: error, format: json, loggers: { raft: trace } }\n");
  auto o = logging_options(c.logging);
  EXPECT_EQ(o.level, spdlog::level::err);
  EXPECT_EQ(o.output, strom::logging::format::json);
  ASSERT_EQ(o.component_levels.size(), 1u);
  EXPECT_EQ(o.component_levels.at("raft"), spdlog::level::trace);
}

class config_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("strom_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, std::string_view text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(config_file, loads_a_file) {
  auto r = load_file(write("ok.yaml", "mode: dev\nnode: { id: 4 }\n"));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->node.id, 4);
}

TEST_F(config_file, errors_name_the_file_and_line) {
  auto p = write("bad.yaml", "mode: dev\nnode:\n  id: -1\n");
  auto r = load_file(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(errc::out_of_range));
  EXPECT_EQ(r.error().detail(),
            p.string() + ":3: node.id: expected an integer in 0 .. 2147483647, got -1");
}

TEST_F(config_file, empty_file_is_all_defaults) {
  auto r = load_file(write("empty.yaml", ""));
  ASSERT_FALSE(r.has_value());  // production needs node.id
  EXPECT_TRUE(r.error().is(errc::missing_key));
  auto dev = load_file(write("dev.yaml", "# comments only\nmode: dev\n"));
  ASSERT_TRUE(dev.has_value()) << dev.error().message();
  EXPECT_EQ(*dev, default_config(mode::dev));
}

TEST_F(config_file, missing_file_names_the_path) {
  auto p = dir_ / "nope.yaml";
  auto r = load_file(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(errc::file_not_found));
  EXPECT_EQ(r.error().detail(), p.string() + ": no such file");
  EXPECT_NE(r.error().message().find(p.string()), std::string::npos);
}

TEST_F(config_file, directory_is_an_io_error) {
  auto r = load_file(dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().is(errc::io_error));
  EXPECT_NE(r.error().detail().find(dir_.string()), std::string::npos);
}

TEST(config_examples, default_config_loads) {
  auto r = load_file(source_dir / "config/strom.yaml");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const auto& c = *r;
  EXPECT_EQ(c.mode, mode::dev);
  EXPECT_EQ(c.node.id, 0);
  EXPECT_EQ(c.node.data_dirs, std::vector<std::string>{"./data"});
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "client");
  EXPECT_EQ(c.listeners[0].bind, (endpoint{"127.0.0.1", 9092}));
  EXPECT_EQ(c.admin.bind, (endpoint{"127.0.0.1", 9644}));
  EXPECT_TRUE(c.cluster_defaults.topics.auto_create);
  EXPECT_EQ(c.cluster_defaults.topics.default_replication_factor, 1);
  EXPECT_EQ(c.logging.level, log_level::info);
  EXPECT_EQ(c.logging.format, log_format::text);
}

TEST(config_examples, three_node_cluster_loads) {
  std::vector<broker_config> nodes;
  for (int n = 1; n <= 3; ++n) {
    auto path = source_dir / "config/cluster" / ("node-" + std::to_string(n) + ".yaml");
    auto r = load_file(path);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    const auto& c = *r;
    EXPECT_EQ(c.mode, mode::production);
    EXPECT_EQ(c.node.id, n);
    EXPECT_EQ(c.node.data_dirs, std::vector<std::string>{"./data/node-" + std::to_string(n)});
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_EQ(c.listeners[0].bind, (endpoint{"127.0.0.1", n * 10000 + 9092}));
    EXPECT_EQ(c.inter_broker().bind, (endpoint{"127.0.0.1", n * 10000 + 9093}));
    EXPECT_EQ(c.admin.bind, (endpoint{"127.0.0.1", n * 10000 + 9644}));
    ASSERT_EQ(c.cluster.seeds.size(), 3u);
    EXPECT_EQ(c.cluster.seeds[n - 1],
              (seed_config{n, "127.0.0.1", c.inter_broker().advertise.port}));
    EXPECT_EQ(c.cluster_defaults.topics.default_replication_factor, 3);
    EXPECT_EQ(c.cluster_defaults.topics.min_insync_replicas, 2);
    nodes.push_back(c);
  }
  EXPECT_EQ(nodes[0].cluster_defaults, nodes[1].cluster_defaults);
  EXPECT_EQ(nodes[0].cluster_defaults, nodes[2].cluster_defaults);
  EXPECT_EQ(nodes[0].cluster, nodes[1].cluster);
  EXPECT_EQ(nodes[0].cluster, nodes[2].cluster);
}

}  // namespace
}  // namespace strom::config

namespace strom::config {
namespace {

TEST(config_environment, overrides_replace_and_add_keys) {
  auto dir = std::filesystem::temp_directory_path() / ("strom-env-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "strom.yaml";
  std::ofstream(file) << "mode: dev\nnode:\n  id: 1\n  data_dirs: [\"/tmp/a\"]\n";
  const char* env[] = {"PATH=/usr/bin",
                       "STROM_NODE__ID=7",
                       "STROM_ADMIN__BIND__PORT=19644",
                       "STROM_CLUSTER_DEFAULTS__LOG__RETENTION_MS=1000",
                       "STROM_NODE__DATA_DIRS=[\"/tmp/b\", \"/tmp/c\"]",
                       "STROM_BROKERS=localhost:9092",  // not a configuration key: ignored
                       nullptr};
  auto o = environment_overrides(env);
  ASSERT_TRUE(o) << o.error().message();
  ASSERT_EQ(o->size(), 4u);
  EXPECT_EQ((*o)[0].path, "node.id");
  EXPECT_EQ((*o)[0].origin, "environment STROM_NODE__ID");
  auto c = load_file(file, *o);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->node.id, 7);
  EXPECT_EQ(c->admin.bind.port, 19644);
  EXPECT_EQ(c->cluster_defaults.log.retention_ms, 1000);
  EXPECT_EQ(c->node.data_dirs, (std::vector<std::string>{"/tmp/b", "/tmp/c"}));

  // Overridden values are validated like the file's.
  const char* bad[] = {"STROM_NODE__ID=minus", nullptr};
  auto ob = environment_overrides(bad);
  ASSERT_TRUE(ob);
  auto cb = load_file(file, *ob);
  ASSERT_FALSE(cb);
  EXPECT_NE(cb.error().message().find("node.id"), std::string::npos) << cb.error().message();

  // A variable that looks like a key but names none is an error, not silently ignored.
  const char* unknown[] = {"STROM_NODE__IDD=1", nullptr};
  auto ou = environment_overrides(unknown);
  ASSERT_FALSE(ou);
  EXPECT_NE(ou.error().message().find("STROM_NODE__IDD"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strom::config
