// Every kind of invalid configuration fails with one message naming the file, the line,
// the full key path and what was expected.

#include <gtest/gtest.h>

#include <string>

#include "strom/config/loader.h"

namespace strom::config {
namespace {

/// Loads `yaml` as "t.yaml" and returns the error detail; fails the test if it loads or
/// fails with another code.
std::string error_of(std::string_view yaml, errc expected) {
  auto r = load_string(yaml, "t.yaml");
  if (r.has_value()) {
    ADD_FAILURE() << "loaded, expected an error:\n" << yaml;
    return {};
  }
  EXPECT_TRUE(r.error().is(expected))
      << "got " << r.error().code().message() << ": " << r.error().detail();
  return r.error().detail();
}

// ------------------------------------------------------------------ unknown keys

TEST(config_errors, unknown_top_level_key) {
  EXPECT_EQ(error_of("mode: dev\nnodes:\n  id: 1\n", errc::unknown_key),
            "t.yaml:2: nodes: unknown key (did you mean 'node'?); the top level accepts: mode, "
            "node, cluster, listeners, inter_broker_listener, admin, network, storage, "
            "cluster_defaults, shutdown, logging, metrics, security, authorization");
}

TEST(config_errors, unknown_nested_key) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  topics:\n"
                     "    auto_create: true\n"
                     "  log:\n"
                     "    segment_bytes: 1048576\n"
                     "    segmnt_ms: 1000\n",
                     errc::unknown_key),
            "t.yaml:7: cluster_defaults.log.segmnt_ms: unknown key (did you mean "
            "'segment_ms'?); cluster_defaults.log accepts: segment_bytes, segment_ms, "
            "segment_jitter_ms, segment_index_bytes, retention_ms, retention_bytes, "
            "cleanup_policy, delete_retention_ms, "
            "min_compaction_lag_ms, retention_check_interval_ms, "
            "flush_interval_messages, flush_interval_ms, write_caching, message_max_bytes, "
            "compression_type, index_interval_bytes, writeback_bytes, message_timestamp_type");
}

TEST(config_errors, unknown_key_in_a_list_item) {
  auto msg = error_of(
      "mode: dev\n"
      "listeners:\n"
      "  - name: a\n"
      "    bind: { host: 127.0.0.1, port: 9092 }\n"
      "  - name: b\n"
      "    bind: { host: 127.0.0.1, port: 9093 }\n"
      "    advertised: { host: x, port: 1 }\n",
      errc::unknown_key);
  EXPECT_EQ(msg,
            "t.yaml:7: listeners[1].advertised: unknown key (did you mean 'advertise'?); "
            "listeners[1] accepts: name, bind, advertise, security_protocol, sasl_mechanisms, tls");
}

TEST(config_errors, unknown_or_repeated_sasl_mechanism) {
  auto msg = error_of(
      "mode: dev\n"
      "listeners:\n"
      "  - name: a\n"
      "    bind: { host: 127.0.0.1, port: 9092 }\n"
      "    security_protocol: SASL_PLAINTEXT\n"
      "    sasl_mechanisms: [PLAIN, GSSAPI]\n",
      errc::invalid_value);
  EXPECT_NE(msg.find("listeners[0].sasl_mechanisms[1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("GSSAPI"), std::string::npos) << msg;
  msg = error_of(
      "mode: dev\n"
      "listeners:\n"
      "  - name: a\n"
      "    bind: { host: 127.0.0.1, port: 9092 }\n"
      "    sasl_mechanisms: [PLAIN, PLAIN]\n",
      errc::invalid_value);
  EXPECT_NE(msg.find("duplicate mechanism"), std::string::npos) << msg;
}

TEST(config_errors, tls_listeners_need_their_files) {
  auto msg = error_of(
      "mode: dev\n"
      "listeners:\n"
      "  - name: a\n"
      "    bind: { host: 127.0.0.1, port: 9092 }\n"
      "    security_protocol: SASL_SSL\n",
      errc::invalid_value);
  EXPECT_NE(msg.find("listeners[0].tls.cert_file: required by security_protocol SASL_SSL"),
            std::string::npos)
      << msg;
  msg = error_of(
      "mode: dev\n"
      "listeners:\n"
      "  - name: a\n"
      "    bind: { host: 127.0.0.1, port: 9092 }\n"
      "    security_protocol: SSL\n"
      "    tls: { cert_file: a.pem, key_file: a.key, client_auth: required }\n",
      errc::invalid_value);
  EXPECT_NE(msg.find("listeners[0].tls.ca_file: required by client_auth required"),
            std::string::npos)
      << msg;
}

TEST(config_errors, unknown_key_in_a_flow_mapping) {
  EXPECT_EQ(
      error_of("mode: dev\nadmin:\n  bind: { host: 127.0.0.1, prot: 1 }\n", errc::unknown_key),
      "t.yaml:3: admin.bind.prot: unknown key (did you mean 'port'?); admin.bind "
      "accepts: host, port");
}

TEST(config_errors, key_of_another_section_is_pointed_to) {
  auto msg =
      error_of("mode: dev\ncluster_defaults:\n  topics:\n    retention_ms: 5\n", errc::unknown_key);
  EXPECT_EQ(msg.substr(0, msg.find(';')),
            "t.yaml:4: cluster_defaults.topics.retention_ms: unknown key (did you mean "
            "cluster_defaults.log.retention_ms?)");
  msg = error_of("mode: dev\nlog:\n  segment_bytes: 5\n", errc::unknown_key);
  EXPECT_EQ(msg.substr(0, msg.find(';')),
            "t.yaml:2: log: unknown key (did you mean cluster_defaults.log?)");
}

TEST(config_errors, kafka_name_is_translated) {
  auto msg = error_of("mode: dev\nlog.segment.bytes: 1048576\n", errc::unknown_key);
  EXPECT_EQ(msg.substr(0, msg.find(';')),
            "t.yaml:2: log.segment.bytes: unknown key (log.segment.bytes is the Kafka name of "
            "cluster_defaults.log.segment_bytes)");
}

TEST(config_errors, unknown_logger_component) {
  EXPECT_EQ(error_of("mode: dev\nlogging:\n  loggers:\n    kafka: debug\n    replication: info\n",
                     errc::unknown_key),
            "t.yaml:5: logging.loggers.replication: unknown component; expected one of main | "
            "config | storage | net | kafka | raft | rpc | cluster | groups | admin");
}

TEST(config_errors, duplicate_key) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  id: 1\n  rack: a\n  id: 2\n", errc::duplicate_key),
            "t.yaml:5: node.id: duplicate key (first at line 3)");
  EXPECT_EQ(error_of("mode: dev\nlogging:\n  loggers: { raft: info, raft: debug }\n",
                     errc::duplicate_key),
            "t.yaml:3: logging.loggers.raft: duplicate key (first at line 3)");
}

// ------------------------------------------------------------------ wrong types

TEST(config_errors, string_where_integer_expected) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  log:\n"
                     "    segment_bytes: 1GiB\n",
                     errc::type_mismatch),
            "t.yaml:4: cluster_defaults.log.segment_bytes: expected an integer in 1048576 .. "
            "2147483647, got string \"1GiB\"");
}

TEST(config_errors, quoted_number_is_a_string) {
  EXPECT_EQ(error_of("mode: dev\nnetwork:\n  shards: \"4\"\n", errc::type_mismatch),
            "t.yaml:3: network.shards: expected an integer in 0 .. 1024, got string \"4\"");
}

TEST(config_errors, fraction_where_integer_expected) {
  EXPECT_EQ(error_of("mode: dev\nnetwork:\n  shards: 1.5\n", errc::type_mismatch),
            "t.yaml:3: network.shards: expected an integer in 0 .. 1024, got number 1.5");
}

TEST(config_errors, list_where_mapping_expected) {
  EXPECT_EQ(error_of("mode: dev\nnode: [1, 2]\n", errc::type_mismatch),
            "t.yaml:2: node: expected a mapping (section), got a list");
}

TEST(config_errors, mapping_where_list_expected) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  data_dirs:\n    a: b\n", errc::type_mismatch),
            "t.yaml:3: node.data_dirs: expected a list of non-empty strings (at least 1), got "
            "a mapping");
  EXPECT_EQ(error_of("mode: dev\nlisteners: { name: a }\n", errc::type_mismatch),
            "t.yaml:2: listeners: expected a list of mappings (at least 1), got a mapping");
}

TEST(config_errors, scalar_where_list_item_mapping_expected) {
  EXPECT_EQ(error_of("mode: dev\ncluster:\n  seeds:\n    - broker-1:9093\n", errc::type_mismatch),
            "t.yaml:4: cluster.seeds[0]: expected a mapping, got string \"broker-1:9093\"");
}

TEST(config_errors, yes_is_not_a_boolean) {
  EXPECT_EQ(error_of("mode: dev\nmetrics:\n  enabled: yes\n", errc::type_mismatch),
            "t.yaml:3: metrics.enabled: expected a boolean (true or false), got string \"yes\"");
}

TEST(config_errors, null_where_value_expected) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  id:\n", errc::type_mismatch),
            "t.yaml:3: node.id: expected an integer in 0 .. 2147483647, got null");
  EXPECT_EQ(error_of("mode: dev\nlisteners:\n  - name: ~\n    bind: { host: h, port: 1 }\n",
                     errc::type_mismatch),
            "t.yaml:3: listeners[0].name: expected a non-empty string, got null");
}

TEST(config_errors, list_item_of_wrong_type) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  data_dirs:\n    - /a\n    - [/b]\n", errc::type_mismatch),
            "t.yaml:5: node.data_dirs[1]: expected a non-empty string, got a list");
}

TEST(config_errors, top_level_must_be_a_mapping) {
  EXPECT_EQ(error_of("- mode: dev\n", errc::type_mismatch),
            "t.yaml:1: expected a mapping of sections at the top level, got a list");
}

// ------------------------------------------------------------------ ranges and values

TEST(config_errors, integer_below_range) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  log:\n"
                     "    segment_bytes: 100\n",
                     errc::out_of_range),
            "t.yaml:4: cluster_defaults.log.segment_bytes: expected an integer in 1048576 .. "
            "2147483647, got 100");
}

TEST(config_errors, integer_above_range) {
  EXPECT_EQ(error_of("mode: dev\nadmin:\n  bind:\n    port: 70000\n", errc::out_of_range),
            "t.yaml:4: admin.bind.port: expected an integer in 1 .. 65535, got 70000");
}

TEST(config_errors, integer_overflow) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  log:\n"
                     "    retention_ms: 99999999999999999999\n",
                     errc::out_of_range),
            "t.yaml:4: cluster_defaults.log.retention_ms: expected an integer in -1 .. "
            "9223372036854775807, got 99999999999999999999");
}

TEST(config_errors, nullable_integer_range) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  log:\n"
                     "    flush_interval_messages: 0\n",
                     errc::out_of_range),
            "t.yaml:4: cluster_defaults.log.flush_interval_messages: expected null or an "
            "integer in 1 .. 9223372036854775807, got 0");
}

TEST(config_errors, value_not_allowed) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  log:\n"
                     "    cleanup_policy: dlete\n",
                     errc::invalid_value),
            "t.yaml:4: cluster_defaults.log.cleanup_policy: expected one of delete | compact | "
            "compact,delete | delete,compact, got string \"dlete\"");
  EXPECT_EQ(error_of("mode: develop\n", errc::invalid_value),
            "t.yaml:1: mode: expected one of production | dev, got string \"develop\"");
  EXPECT_EQ(error_of("mode: dev\nlisteners:\n"
                     "  - { name: a, bind: { host: h, port: 1 }, security_protocol: plaintext }\n",
                     errc::invalid_value),
            "t.yaml:3: listeners[0].security_protocol: expected one of PLAINTEXT | SSL | "
            "SASL_PLAINTEXT | SASL_SSL, got string \"plaintext\"");
  EXPECT_EQ(error_of("mode: dev\nlogging:\n  loggers:\n    raft: verbose\n", errc::invalid_value),
            "t.yaml:4: logging.loggers.raft: expected a level, one of trace | debug | info | "
            "warn | error | critical | off | warning, got string \"verbose\"");
}

TEST(config_errors, empty_data_dirs) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  data_dirs: []\n", errc::out_of_range),
            "t.yaml:3: node.data_dirs: expected a list of non-empty strings (at least 1), got "
            "an empty list");
}

TEST(config_errors, empty_listeners) {
  EXPECT_EQ(error_of("mode: dev\nlisteners: []\n", errc::out_of_range),
            "t.yaml:2: listeners: expected a list of mappings (at least 1), got an empty list");
}

TEST(config_errors, empty_string) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  rack: \"\"\n", errc::invalid_value),
            "t.yaml:3: node.rack: expected null or a non-empty string, got an empty string");
}

// ------------------------------------------------------------------ required keys

TEST(config_errors, node_id_required_in_production) {
  EXPECT_EQ(error_of("node:\n  rack: r1\n", errc::missing_key),
            "t.yaml:1: node.id: required in production mode (a unique integer in 0 .. "
            "2147483647; mode: dev defaults it to 0)");
  EXPECT_EQ(error_of("", errc::missing_key),
            "t.yaml: node.id: required in production mode (a unique integer in 0 .. "
            "2147483647; mode: dev defaults it to 0)");
}

TEST(config_errors, list_item_misses_a_required_key) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "listeners:\n"
                     "  - name: a\n"
                     "    bind: { host: 127.0.0.1, port: 9092 }\n"
                     "  - name: b\n"
                     "    bind:\n"
                     "      host: 127.0.0.1\n",
                     errc::missing_key),
            "t.yaml:6: listeners[1].bind.port: required key missing");
  EXPECT_EQ(
      error_of("mode: dev\ncluster:\n  seeds:\n    - { host: a, port: 1 }\n", errc::missing_key),
      "t.yaml:4: cluster.seeds[0].node_id: required key missing");
}

// ------------------------------------------------------------------ rules across keys

TEST(config_errors, min_session_timeout_above_max) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  groups:\n"
                     "    min_session_timeout_ms: 7000\n"
                     "    max_session_timeout_ms: 6000\n",
                     errc::invalid_combination),
            "t.yaml:5: cluster_defaults.groups.max_session_timeout_ms: must be at least "
            "cluster_defaults.groups.min_session_timeout_ms (6000 < 7000)");
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  groups:\n"
                     "    min_session_timeout_ms: 2000000\n",
                     errc::invalid_combination),
            "t.yaml:4: cluster_defaults.groups.min_session_timeout_ms: must be at most "
            "cluster_defaults.groups.max_session_timeout_ms (2000000 > 1800000)");
}

TEST(config_errors, replication_factor_below_min_insync_replicas) {
  EXPECT_EQ(error_of("node: { id: 1 }\n"
                     "cluster_defaults:\n"
                     "  topics:\n"
                     "    default_replication_factor: 1\n",
                     errc::invalid_combination),
            "t.yaml:4: cluster_defaults.topics.default_replication_factor: must be at least "
            "cluster_defaults.topics.min_insync_replicas (1 < 2)");
}

TEST(config_errors, partition_limits_in_order) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  topics:\n"
                     "    default_partitions: 2000\n",
                     errc::invalid_combination),
            "t.yaml:4: cluster_defaults.topics.default_partitions: must be at most "
            "cluster_defaults.topics.max_partitions_per_topic (2000 > 1000)");
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  topics:\n"
                     "    max_partitions_per_broker: 10\n",
                     errc::invalid_combination),
            "t.yaml:4: cluster_defaults.topics.max_partitions_per_broker: must be at least "
            "cluster_defaults.topics.max_partitions_per_topic (10 < 1000)");
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  topics:\n"
                     "    max_partitions_per_topic: 100001\n",
                     errc::out_of_range),
            "t.yaml:4: cluster_defaults.topics.max_partitions_per_topic: expected an integer in "
            "1 .. 100000, got 100001");
}

TEST(config_errors, disk_balancing_threshold_out_of_range) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  replication:\n"
                     "    balancing_disk_threshold_percent: 0\n",
                     errc::out_of_range),
            "t.yaml:4: cluster_defaults.replication.balancing_disk_threshold_percent: expected an "
            "integer in 1 .. 1000, got 0");
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  replication:\n"
                     "    balancing_disk_min_bytes: -1\n",
                     errc::out_of_range),
            "t.yaml:4: cluster_defaults.replication.balancing_disk_min_bytes: expected an "
            "integer in 0 .. 9223372036854775807, got -1");
}

TEST(config_errors, heartbeat_not_below_election_timeout) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster_defaults:\n"
                     "  replication:\n"
                     "    heartbeat_interval_ms: 1500\n",
                     errc::invalid_combination),
            "t.yaml:4: cluster_defaults.replication.heartbeat_interval_ms: must be less than "
            "cluster_defaults.replication.election_timeout_ms (1500 >= 1500)");
}

TEST(config_errors, message_larger_than_request) {
  EXPECT_EQ(error_of("mode: dev\nnetwork:\n  socket_request_max_bytes: 1024\n",
                     errc::invalid_combination),
            "t.yaml:3: network.socket_request_max_bytes: must be at least "
            "cluster_defaults.log.message_max_bytes (1024 < 1048588)");
}

TEST(config_errors, wildcard_advertise_address) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "listeners:\n"
                     "  - name: client\n"
                     "    bind: { host: 0.0.0.0, port: 9092 }\n",
                     errc::invalid_value),
            "t.yaml:3: listeners[0].advertise.host: defaults to bind.host \"0.0.0.0\", a "
            "wildcard address that cannot be advertised; set listeners[0].advertise.host to a "
            "host name or address that clients can reach");
  EXPECT_EQ(error_of("mode: dev\n"
                     "listeners:\n"
                     "  - name: client\n"
                     "    bind: { host: 127.0.0.1, port: 9092 }\n"
                     "    advertise:\n"
                     "      host: \"::\"\n",
                     errc::invalid_value),
            "t.yaml:6: listeners[0].advertise.host: expected a host name or address that "
            "clients can reach, got the wildcard address \"::\"");
}

TEST(config_errors, duplicate_listener_name) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "listeners:\n"
                     "  - { name: client, bind: { host: 127.0.0.1, port: 9092 } }\n"
                     "  - { name: client, bind: { host: 127.0.0.1, port: 9093 } }\n",
                     errc::invalid_combination),
            "t.yaml:4: listeners[1].name: duplicate listener name \"client\" (also "
            "listeners[0])");
}

TEST(config_errors, bad_listener_name) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "listeners:\n"
                     "  - { name: \"my client\", bind: { host: 127.0.0.1, port: 9092 } }\n",
                     errc::invalid_value),
            "t.yaml:3: listeners[0].name: expected a name made of letters, digits, '_' and "
            "'-', got \"my client\"");
}

TEST(config_errors, two_listeners_on_one_port) {
  EXPECT_EQ(
      error_of("mode: dev\n"
               "listeners:\n"
               "  - { name: a, bind: { host: 0.0.0.0, port: 9092 }, advertise: { host: h } }\n"
               "  - { name: b, bind: { host: 127.0.0.1, port: 9092 } }\n",
               errc::invalid_combination),
      "t.yaml:4: listeners[1].bind: 127.0.0.1:9092 is already bound by listeners[0] "
      "(0.0.0.0:9092)");
  EXPECT_EQ(error_of("mode: dev\nadmin:\n  bind: { port: 9092 }\n", errc::invalid_combination),
            "t.yaml:3: admin.bind: 127.0.0.1:9092 is already bound by listeners[0] "
            "(127.0.0.1:9092)");
}

TEST(config_errors, the_admin_listener_needs_its_tls_files) {
  EXPECT_EQ(error_of("mode: dev\nadmin:\n  tls: { cert_file: a.pem }\n", errc::invalid_value),
            "t.yaml:3: admin.tls.key_file: required with admin.tls.cert_file");
  EXPECT_EQ(error_of("mode: dev\nadmin:\n  tls: { key_file: a.key }\n", errc::invalid_value),
            "t.yaml:3: admin.tls.cert_file: required with admin.tls.key_file");
  auto msg = error_of(
      "mode: dev\nadmin:\n  tls: { cert_file: a.pem, key_file: a.key, client_auth: requested }\n",
      errc::invalid_value);
  EXPECT_NE(msg.find("admin.tls.ca_file: required by client_auth requested"), std::string::npos)
      << msg;
  msg = error_of("mode: dev\nadmin:\n  tls: { client_auth: required, ca_file: ca.pem }\n",
                 errc::invalid_value);
  EXPECT_NE(msg.find("admin.tls.cert_file: required by client_auth required"), std::string::npos)
      << msg;
}

TEST(config_errors, the_inter_broker_listener_takes_plaintext_or_mutual_tls) {
  const std::string two =
      "mode: dev\n"
      "listeners:\n"
      "  - name: client\n"
      "    bind: { host: 127.0.0.1, port: 9092 }\n"
      "  - name: internal\n"
      "    bind: { host: 127.0.0.1, port: 9093 }\n";
  auto msg = error_of(two +
                          "    security_protocol: SASL_SSL\n"
                          "    tls: { cert_file: a.pem, key_file: a.key }\n"
                          "inter_broker_listener: internal\n",
                      errc::invalid_value);
  EXPECT_NE(msg.find("listeners[1].security_protocol: the inter-broker listener takes PLAINTEXT "
                     "or SSL (mutual TLS), got SASL_SSL"),
            std::string::npos)
      << msg;
  msg = error_of(two +
                     "    security_protocol: SSL\n"
                     "    tls: { cert_file: a.pem, key_file: a.key }\n"
                     "inter_broker_listener: internal\n",
                 errc::invalid_value);
  EXPECT_NE(msg.find("listeners[1].tls.ca_file: required on the inter-broker listener"),
            std::string::npos)
      << msg;
}

TEST(config_errors, inter_broker_listener_must_name_a_listener) {
  EXPECT_EQ(error_of("mode: dev\ninter_broker_listener: internal\n", errc::invalid_value),
            "t.yaml:2: inter_broker_listener: expected the name of a listener (client), got "
            "\"internal\"");
}

TEST(config_errors, duplicate_data_dir) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  data_dirs:\n    - /d1\n    - /d2/\n    - /d1/\n",
                     errc::invalid_combination),
            "t.yaml:6: node.data_dirs[2]: duplicate data directory \"/d1/\" (also "
            "node.data_dirs[0])");
}

TEST(config_errors, duplicate_seed_node_id) {
  EXPECT_EQ(error_of("mode: dev\n"
                     "cluster:\n"
                     "  seeds:\n"
                     "    - { node_id: 1, host: a, port: 9093 }\n"
                     "    - { node_id: 1, host: b, port: 9093 }\n",
                     errc::invalid_combination),
            "t.yaml:5: cluster.seeds[1].node_id: duplicate node id 1 (also cluster.seeds[0])");
}

// ------------------------------------------------------------------ YAML itself

TEST(config_errors, syntax_error_names_file_and_line) {
  EXPECT_EQ(error_of("mode: dev\nnode:\n  id: 1\n rack: a\n", errc::syntax_error),
            "t.yaml:4:2: end of map not found");
  auto msg = error_of("mode: dev\nnode: { id: 1\n", errc::syntax_error);
  EXPECT_EQ(msg.substr(0, 7), "t.yaml:") << msg;
}

TEST(config_errors, tabs_are_a_syntax_error) {
  auto msg = error_of("mode: dev\nnode:\n\tid: 1\n", errc::syntax_error);
  EXPECT_EQ(msg.substr(0, 9), "t.yaml:3:") << msg;
}

TEST(config_errors, one_document_only) {
  EXPECT_EQ(error_of("mode: dev\n---\nmode: dev\n", errc::syntax_error),
            "t.yaml:3: expected one YAML document, found 2");
}

TEST(config_errors, message_starts_with_the_category) {
  auto r = load_string("mode: dev\nfoo: 1\n", "t.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code().category().name(), std::string("strom.config"));
  EXPECT_EQ(r.error().message().substr(0, 35), "unknown configuration key: t.yaml:2");
}

}  // namespace
}  // namespace strom::config
