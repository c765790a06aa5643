// The bits of networking stromctl does itself, without librdkafka: a blocking TCP connection
// with deadlines, TLS over it (OpenSSL) and SASL authentication of it (PLAIN, SCRAM), the Kafka
// exchanges librdkafka has
// no public call for (ApiVersions, the cluster-wide configs, partition reassignment, leader
// elections, log directory sizes, SCRAM credentials) and the ACL and client quota requests,
// over the same authenticated connections (all encoded and decoded by the kafka/protocol codec,
// which does no I/O), and a tiny HTTP/1.1 client (GET, PUT) for the admin API, over HTTPS too,
// with HTTP basic authentication or a client certificate.
#pragma once

#include <signal.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctl/properties.h"
#include "ctl/reassign.h"
#include "ctl/text.h"
#include "strom/base/result.h"
#include "strom/security/scram.h"

struct ssl_st;

namespace strom::ctl {

/// TLS for stromctl's own connections, from librdkafka's property names.
struct tls_settings {
  std::optional<std::string> ca_file;    ///< ssl.ca.location; the system's CAs when absent
  std::optional<std::string> cert_file;  ///< ssl.certificate.location (mutual TLS)
  std::optional<std::string> key_file;   ///< ssl.key.location
  bool verify = true;                    ///< enable.ssl.certificate.verification
  /// ssl.endpoint.identification.algorithm: https (librdkafka's default) checks that the
  /// certificate names the host connected to; none does not.
  bool verify_host = true;
};

/// Holds SIGPIPE back on this thread while it lives: OpenSSL writes to a socket with write(),
/// which raises SIGPIPE (ending stromctl without a word) on a connection the peer closed.
/// Under the guard such a write fails with EPIPE instead, and the SIGPIPE it raised is
/// discarded (one that was pending before is kept).
class sigpipe_guard {
 public:
  sigpipe_guard();
  ~sigpipe_guard();
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

/// A connected TCP socket, TLS over it once start_tls() succeeded; every operation ends by
/// `timeout_ms` after it began.
class tcp_connection {
 public:
  /// Tries every address `host` resolves to. The error names the host, port and reason.
  static result<tcp_connection> connect(const std::string& host, uint16_t port, int timeout_ms);

  tcp_connection(tcp_connection&& o) noexcept
      : fd_(o.fd_), timeout_ms_(o.timeout_ms_), ssl_(o.ssl_) {
    o.fd_ = -1;
    o.ssl_ = nullptr;
  }
  tcp_connection& operator=(tcp_connection&&) = delete;
  ~tcp_connection();

  /// The TLS handshake with `host` (the name its certificate must carry, when checked). The
  /// error says why the peer or its certificate was refused.
  status start_tls(const tls_settings& t, const std::string& host);
  status write_all(std::string_view bytes);
  /// Reads exactly n bytes.
  result<std::string> read_exact(size_t n);
  /// Reads until the peer closes, at most `limit` bytes.
  result<std::string> read_to_end(size_t limit);

 private:
  tcp_connection(int fd, int timeout_ms) : fd_(fd), timeout_ms_(timeout_ms) {}
  status wait(short events);
  /// After a TLS call returned `rc` <= 0: waits for what it needs, or says why it failed.
  status tls_retry(int rc, std::string_view what);
  /// Reads what is there (at most n bytes; 0 once the peer closed), waiting for some.
  result<size_t> read_some(char* out, size_t n);
  int fd_ = -1;
  int timeout_ms_ = 0;
  ssl_st* ssl_ = nullptr;
};

/// Connects to the first reachable address of the list, in order, without authenticating:
/// whether the cluster can be reached at all.
result<tcp_connection> connect_any_unauthenticated(const std::vector<host_port>& brokers,
                                                   int timeout_ms);

/// Connects to the first reachable address of the list, in order, and authenticates as
/// configure_wire set up. A refused authentication ends the attempt: the other brokers would
/// refuse the same credentials, and each refusal may count against the user.
result<tcp_connection> connect_any(const std::vector<host_port>& brokers, int timeout_ms);

/// Connects to `broker` and authenticates as configure_wire set up.
result<tcp_connection> connect_broker(const host_port& broker, int timeout_ms);

// --- Authentication ---------------------------------------------------------------------------

/// What stromctl's own Kafka connections authenticate with.
struct sasl_settings {
  std::string mechanism;  ///< "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512"
  std::string username;
  std::string password;
};

/// How stromctl's own Kafka connections authenticate, from the client properties librdkafka
/// gets too (its names): nullopt when `security.protocol` is absent, PLAINTEXT or SSL; the SASL
/// settings (`sasl.mechanism`, `sasl.username`, `sasl.password`) for SASL_PLAINTEXT and
/// SASL_SSL. An error for an unknown protocol, a mechanism other than PLAIN, SCRAM-SHA-256 and
/// SCRAM-SHA-512 (librdkafka's default, GSSAPI, included), or a missing user name or password.
/// Protocol names match in any case, as librdkafka matches them; mechanism names exactly, as
/// brokers match them.
result<std::optional<sasl_settings>> wire_security(const client_properties& props);

/// The TLS settings of the `ssl.*` properties (see tls_settings); an error for a value
/// librdkafka would refuse. `enable.ssl.certificate.verification` and
/// `ssl.endpoint.identification.algorithm` take librdkafka's values.
result<tls_settings> tls_properties(const client_properties& props);
/// Whether stromctl's own Kafka connections use TLS: the tls_properties for SSL and SASL_SSL,
/// nullopt for PLAINTEXT and SASL_PLAINTEXT.
result<std::optional<tls_settings>> wire_tls(const client_properties& props);

/// Makes every Kafka connection stromctl opens itself (connect_any, connect_broker and what is
/// built on them) use TLS and authenticate as `props` say, and every admin API request: over
/// HTTPS (an https:// URL) with the `ssl.*` properties, with HTTP basic authentication as
/// `sasl.username` when it and `sasl.password` are set. Process-wide; called once, before any
/// such connection. Properties refused fail each such connection with their error, not the
/// whole program: the commands built on librdkafka still work with what only librdkafka
/// supports (GSSAPI, OAUTHBEARER).
void configure_wire(const client_properties& props);

/// The PLAIN message (RFC 4616) without an authorization id: "\0user\0password".
std::string sasl_plain_token(std::string_view user, std::string_view password);

/// Sends one size-prefixed request frame over a connection and returns the answer frame
/// without its size prefix.
using frame_exchange = std::function<result<std::string>(std::string_view request)>;

/// Authenticates a connection that has carried no request yet: SaslHandshake v1 naming the
/// mechanism, then SaslAuthenticate v1 with the PLAIN message, or with SCRAM's client-first
/// and client-final messages, after which the server's signature must verify (a server that
/// does not know the credential must not be trusted with the requests that follow). A
/// refusal is an error naming `broker` ("host:port") and carrying the broker's error name and
/// message; nothing in an error shows the password. `scram_nonce`: the SCRAM client nonce
/// (tests); empty: a random one.
status sasl_authenticate(const frame_exchange& exchange, const sasl_settings& settings,
                         std::string_view broker, std::string scram_nonce = {});

struct api_version_range {
  int16_t key = 0;
  int16_t min = 0;
  int16_t max = 0;
};

/// A size-prefixed ApiVersions v0 request (request header v1).
std::string encode_api_versions_request(int32_t correlation_id, std::string_view client_id);
/// Decodes a response frame without its size prefix: correlation id, error code, ranges.
result<std::vector<api_version_range>> decode_api_versions_response(std::string_view frame,
                                                                    int32_t correlation_id);
/// Kafka's name of an API key ("Produce", "Fetch", ...) or "Unknown" (kafka::protocol::api_name).
std::string_view api_name(int16_t key);

/// Asks the first reachable broker of the list for its ApiVersions.
result<std::vector<api_version_range>> fetch_api_versions(const std::vector<host_port>& brokers,
                                                          int timeout_ms);

/// The cluster-wide config defaults (DescribeConfigs v1 of the broker resource without a name,
/// which librdkafka's admin API refuses to build), asked of the first reachable broker.
result<std::map<std::string, std::string>> describe_cluster_configs(
    const std::vector<host_port>& brokers, int timeout_ms);
/// Sets and removes cluster-wide config defaults by name (IncrementalAlterConfigs v0: the
/// others stay, also when another operator changes them at the same time); a refusal is an
/// error with the broker's message.
status alter_cluster_configs(const std::vector<host_port>& brokers, int timeout_ms,
                             const std::map<std::string, std::string>& set,
                             const std::vector<std::string>& remove);

/// One partition of an AlterPartitionReassignments request: move it to `replicas` (the first
/// the preferred leader), or with none cancel its move in flight.
struct reassignment_target {
  std::string topic;
  int32_t partition = 0;
  std::optional<std::vector<int32_t>> replicas;
};

/// The broker's answer for one partition of an AlterPartitionReassignments request.
struct reassignment_outcome {
  std::string topic;
  int32_t partition = 0;
  int16_t error_code = 0;
  std::string error_name;  ///< "NONE", "INVALID_REPLICA_ASSIGNMENT", ...
  std::string message;     ///< the broker's message, or empty
  [[nodiscard]] bool ok() const { return error_code == 0; }
};

/// Sends AlterPartitionReassignments v0 (librdkafka has no call for it) with `targets` to the
/// first reachable broker, which forwards it to the controller, and returns each partition's
/// outcome in the order of the answer. A request-wide error (the answer's top-level error
/// code) is an error with the broker's message.
result<std::vector<reassignment_outcome>> alter_partition_reassignments(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::vector<reassignment_target>& targets);

/// A partition move in flight, as ListPartitionReassignments reports it.
struct ongoing_reassignment {
  std::string topic;
  int32_t partition = 0;
  std::vector<int32_t> replicas;  ///< every replica now: the target's and those being removed
  std::vector<int32_t> adding;
  std::vector<int32_t> removing;
};

/// ListPartitionReassignments v0 of the first reachable broker: every move in flight, or with
/// `only` those of the partitions named; sorted by topic and partition.
result<std::vector<ongoing_reassignment>> list_partition_reassignments(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<std::pair<std::string, int32_t>>>& only = std::nullopt);

/// The ElectLeaders version stromctl sends to a broker advertising `ranges`: 2 when offered,
/// else 1; an error naming what the broker offers when neither is.
result<int16_t> elect_leaders_version(const std::vector<api_version_range>& ranges);

/// Asks the first reachable broker (ApiVersions, then ElectLeaders of the version
/// elect_leaders_version picks) for a preferred leader election of `partitions`, or with none of
/// every partition (the broker then answers only for those that needed one); the broker waits at
/// most `timeout_ms` for the elections. Returns each partition's outcome sorted by topic and
/// partition; a request-wide error is an error with the broker's error name.
result<std::vector<election_outcome>> elect_leaders(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<topic_partitions>>& partitions);

/// The DescribeLogDirs version stromctl sends to a broker advertising `ranges`: the highest that
/// both the broker and stromctl's codec (versions 1 to 4) support; an error naming what the
/// broker offers when there is none.
result<int16_t> describe_log_dirs_version(const std::vector<api_version_range>& ranges);

/// Decodes a DescribeLogDirs answer of `version` without its size prefix: the size of each
/// partition log listed (a future log, a copy to another directory of the broker, is left out);
/// not complete when a directory reports an error. A request-wide error is an error.
result<broker_log_sizes> decode_describe_log_dirs_response(std::string_view frame, int16_t version,
                                                           int32_t correlation_id);

/// Asks `broker` itself (ApiVersions, then DescribeLogDirs of the version
/// describe_log_dirs_version picks, over one connection) for the sizes of its logs of the
/// partitions `only` names.
result<broker_log_sizes> describe_log_dir_sizes(const host_port& broker, int timeout_ms,
                                                const std::vector<topic_partitions>& only);

// --- SCRAM credentials ----------------------------------------------------------------------

/// The mechanism code of DescribeUserScramCredentials and AlterUserScramCredentials:
/// 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
int8_t scram_mechanism_code(security::scram_mechanism m);
/// "SCRAM-SHA-256", "SCRAM-SHA-512", or "UNKNOWN(n)" for any other code.
std::string scram_mechanism_label(int8_t code);

/// A broker's answer for one user of DescribeUserScramCredentials or
/// AlterUserScramCredentials.
struct user_outcome {
  std::string user;
  int16_t error_code = 0;
  std::string error_name;  ///< "NONE", "RESOURCE_NOT_FOUND", ...
  std::string message;     ///< the broker's message, or empty
  [[nodiscard]] bool ok() const { return error_code == 0; }
  /// The broker's message, or the error name when it sent none.
  [[nodiscard]] std::string reason() const { return message.empty() ? error_name : message; }
};

struct scram_credential_info {
  int8_t mechanism = 0;
  int32_t iterations = 0;
  friend bool operator==(const scram_credential_info&, const scram_credential_info&) = default;
};

/// One user of a DescribeUserScramCredentials answer.
struct user_scram_credentials : user_outcome {
  std::vector<scram_credential_info> credentials;  ///< by mechanism code
};

/// A size-prefixed DescribeUserScramCredentials v0 request: of `users`, or with nullopt of
/// every user that has a credential.
std::string encode_describe_user_scram_credentials_request(
    int32_t correlation_id, const std::optional<std::vector<std::string>>& users);
/// Decodes its answer without the size prefix: each user sorted by name. A request-wide error
/// is an error with the broker's error name and message.
result<std::vector<user_scram_credentials>> decode_describe_user_scram_credentials_response(
    std::string_view frame, int32_t correlation_id);

/// Sets a user's credential of one mechanism.
struct scram_upsertion {
  std::string user;
  int8_t mechanism = 0;
  int32_t iterations = 0;
  std::string salt;             ///< raw bytes
  std::string salted_password;  ///< raw bytes: Hi(password, salt, iterations)
};
/// Removes a user's credential of one mechanism.
struct scram_deletion {
  std::string user;
  int8_t mechanism = 0;
};

/// The upsertion that gives `user` the credential of `password`: the client salts and
/// iterates the password itself (RFC 5802's Hi), so the password never reaches the broker.
scram_upsertion make_scram_upsertion(std::string user, security::scram_mechanism m,
                                     std::string_view password, std::string salt,
                                     int32_t iterations);

/// A size-prefixed AlterUserScramCredentials v0 request.
std::string encode_alter_user_scram_credentials_request(
    int32_t correlation_id, const std::vector<scram_deletion>& deletions,
    const std::vector<scram_upsertion>& upsertions);
/// Decodes its answer without the size prefix: one outcome per user, in the answer's order.
result<std::vector<user_outcome>> decode_alter_user_scram_credentials_response(
    std::string_view frame, int32_t correlation_id);

/// DescribeUserScramCredentials of the first reachable broker (after ApiVersions tells that it
/// offers the API): as encode_describe_user_scram_credentials_request and its decoder.
result<std::vector<user_scram_credentials>> describe_user_scram_credentials(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<std::string>>& users);

/// AlterUserScramCredentials v0 to the first reachable broker (after ApiVersions tells that it
/// offers the API): as encode_alter_user_scram_credentials_request and its decoder.
result<std::vector<user_outcome>> alter_user_scram_credentials(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::vector<scram_deletion>& deletions, const std::vector<scram_upsertion>& upsertions);

// --- ACLs -------------------------------------------------------------------------------------

// The codes of Kafka's ACL APIs (CreateAcls, DescribeAcls, DeleteAcls). A filter may use the
// "any" codes and the MATCH pattern; a binding may not.
inline constexpr int8_t acl_resource_any = 1;
inline constexpr int8_t acl_resource_topic = 2;
inline constexpr int8_t acl_resource_group = 3;
inline constexpr int8_t acl_resource_cluster = 4;
inline constexpr int8_t acl_resource_transactional_id = 5;
inline constexpr int8_t acl_pattern_any = 1;
inline constexpr int8_t acl_pattern_match = 2;
inline constexpr int8_t acl_pattern_literal = 3;
inline constexpr int8_t acl_pattern_prefixed = 4;
inline constexpr int8_t acl_operation_any = 1;
inline constexpr int8_t acl_permission_any = 1;
inline constexpr int8_t acl_permission_deny = 2;
inline constexpr int8_t acl_permission_allow = 3;
/// The name of the cluster resource, the only one of its type.
inline constexpr std::string_view acl_cluster_name = "kafka-cluster";

/// One ACL: `principal` connecting from `host` may (or, denied, may not) do `operation` on the
/// resources `pattern_type` and `resource_name` select.
struct acl_binding {
  int8_t resource_type = acl_resource_topic;
  std::string resource_name;
  int8_t pattern_type = acl_pattern_literal;
  std::string principal;  ///< "User:alice"
  std::string host = "*";
  int8_t operation = 0;
  int8_t permission = acl_permission_allow;
  friend bool operator==(const acl_binding&, const acl_binding&) = default;
};

/// Which ACLs DescribeAcls lists and DeleteAcls removes; nullopt fields match any value.
struct acl_filter {
  int8_t resource_type = acl_resource_any;
  std::optional<std::string> resource_name;
  int8_t pattern_type = acl_pattern_any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  int8_t operation = acl_operation_any;
  int8_t permission = acl_permission_any;
  friend bool operator==(const acl_filter&, const acl_filter&) = default;
};

/// The broker's answer for one binding of CreateAcls or DeleteAcls.
struct acl_outcome {
  acl_binding binding;
  int16_t error_code = 0;
  std::string error_name;  ///< "NONE", "SECURITY_DISABLED", ...
  std::string message;     ///< the broker's message, or empty
  [[nodiscard]] bool ok() const { return error_code == 0; }
  /// "NAME: message", or the error name alone when the broker sent no message.
  [[nodiscard]] std::string reason() const;
};

/// The code of an operation by Kafka's name: All, Read, Write, Create, Delete, Alter, Describe,
/// ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite; in any case, the words also
/// joined by '_' or '-' (CLUSTER_ACTION, describe-configs). An error listing the names otherwise.
result<int8_t> parse_acl_operation(std::string_view name);
/// Kafka's name of an operation ("Read", "ClusterAction", "Any"), or "UNKNOWN(n)".
std::string acl_operation_label(int8_t code);
/// "Allow", "Deny", "Any", or "UNKNOWN(n)".
std::string acl_permission_label(int8_t code);
/// "Topic", "Group", "Cluster", "TransactionalId", "Any", ..., or "UNKNOWN(n)".
std::string acl_resource_type_label(int8_t code);
/// "LITERAL", "PREFIXED", "MATCH", "ANY", or "UNKNOWN(n)".
std::string acl_pattern_label(int8_t code);
/// The type and name of a resource: "Topic:clicks", "Cluster:kafka-cluster".
std::string acl_resource_label(int8_t type, std::string_view name);
/// Checks a principal: a type and a name, both non-empty, joined by ':' ("User:alice",
/// "User:*").
status check_acl_principal(std::string_view principal);

/// The options of `stromctl acl create|list|delete`.
struct acl_options {
  std::optional<std::string> principal;
  std::optional<std::string> host;
  std::vector<std::string> operations;  ///< create: one binding each; delete: at most one
  std::optional<std::string> topic;
  std::optional<std::string> group;
  std::optional<std::string> transactional_id;
  bool cluster = false;
  bool prefixed = false;
  bool deny = false;
  bool allow = false;  ///< delete only: only the bindings that allow
};

/// The bindings `acl create` adds, one per operation: the principal (required) from the host
/// (default "*") on the one resource given, LITERAL, or PREFIXED with `prefixed` (not for the
/// cluster); Allow, or Deny with `deny`. An error naming the option otherwise.
result<std::vector<acl_binding>> acl_bindings_of(const acl_options& o);
/// The filter of `acl list`: the principal and host given, or any; without a resource any
/// resource, else its type and name with the MATCH pattern (every binding that applies to it:
/// its own, the wildcard's, and the prefixes it starts with), PREFIXED with `prefixed`.
result<acl_filter> acl_list_filter(const acl_options& o);
/// The filter of `acl delete`: as acl_list_filter, but a resource named is matched LITERAL
/// (only the bindings of exactly that pattern go); also the operation given, and Deny or Allow.
/// Needs a principal or a resource, so that no filter removes every binding of the cluster.
result<acl_filter> acl_delete_filter(const acl_options& o);

/// The version of ACL API `key` (CreateAcls, DescribeAcls or DeleteAcls) stromctl sends to a
/// broker advertising `ranges`: the highest that both the broker and stromctl (versions 1 to 3;
/// version 0 has no pattern types) support; an error naming what the broker offers when there
/// is none.
result<int16_t> acl_api_version(const std::vector<api_version_range>& ranges, int16_t key);

/// A size-prefixed CreateAcls request of `version` adding `bindings`.
result<std::string> encode_create_acls_request(int32_t correlation_id, int16_t version,
                                               const std::vector<acl_binding>& bindings);
/// Decodes its answer without the size prefix: one outcome per binding sent, in order.
result<std::vector<acl_outcome>> decode_create_acls_response(
    std::string_view frame, int16_t version, int32_t correlation_id,
    const std::vector<acl_binding>& bindings);

/// A size-prefixed DescribeAcls request of `version`.
result<std::string> encode_describe_acls_request(int32_t correlation_id, int16_t version,
                                                 const acl_filter& filter);
/// Decodes its answer without the size prefix: the bindings, sorted by resource type, resource
/// name, pattern, principal, host, operation, permission. The answer's error is an error
/// "NAME: message".
result<std::vector<acl_binding>> decode_describe_acls_response(std::string_view frame,
                                                               int16_t version,
                                                               int32_t correlation_id);

/// A size-prefixed DeleteAcls request of `version` with one filter.
result<std::string> encode_delete_acls_request(int32_t correlation_id, int16_t version,
                                               const acl_filter& filter);
/// Decodes its answer without the size prefix: each binding the filter matched, with its own
/// outcome, in the answer's order. The filter's error is an error "NAME: message".
result<std::vector<acl_outcome>> decode_delete_acls_response(std::string_view frame,
                                                             int16_t version,
                                                             int32_t correlation_id);

/// CreateAcls to the first reachable broker (ApiVersions, then the version acl_api_version
/// picks, over one connection): as encode_create_acls_request and its decoder.
result<std::vector<acl_outcome>> create_acls(const std::vector<host_port>& brokers, int timeout_ms,
                                             const std::vector<acl_binding>& bindings);
/// DescribeAcls, likewise.
result<std::vector<acl_binding>> describe_acls(const std::vector<host_port>& brokers,
                                               int timeout_ms, const acl_filter& filter);
/// DeleteAcls of one filter, likewise.
result<std::vector<acl_outcome>> delete_acls(const std::vector<host_port>& brokers, int timeout_ms,
                                             const acl_filter& filter);

// --- Client quotas ----------------------------------------------------------------------------

// Kafka's client quotas (DescribeClientQuotas, AlterClientQuotas): an entity is a user, a client
// id, or both; each part names one, or is the default entity of its type (no name).
inline constexpr std::string_view quota_user = "user";
inline constexpr std::string_view quota_client_id = "client-id";
/// The keys `quota set` has options for, in bytes per second.
inline constexpr std::string_view quota_producer_byte_rate = "producer_byte_rate";
inline constexpr std::string_view quota_consumer_byte_rate = "consumer_byte_rate";
inline constexpr std::string_view quota_request_percentage = "request_percentage";
/// The match types of a DescribeClientQuotas filter component: a name, the default entity, or
/// any entity of the type.
inline constexpr int8_t quota_match_exact = 0;
inline constexpr int8_t quota_match_default = 1;
inline constexpr int8_t quota_match_any = 2;

/// One part of a quota entity: its type ("user", "client-id") and name; nullopt is the default
/// entity of the type.
struct quota_entity_part {
  std::string type;
  std::optional<std::string> name;
  friend bool operator==(const quota_entity_part&, const quota_entity_part&) = default;
};
/// The parts of an entity, users first, then client ids, then any other type by name.
using quota_entity = std::vector<quota_entity_part>;

/// "user=alice, client-id=<default>": each part in order, a default one as <default>.
std::string quota_entity_label(const quota_entity& entity);

/// One component of a DescribeClientQuotas filter; `match` is the name for quota_match_exact.
struct quota_filter_component {
  std::string entity_type;
  int8_t match_type = quota_match_any;
  std::optional<std::string> match;
  friend bool operator==(const quota_filter_component&, const quota_filter_component&) = default;
};

/// Which entities DescribeClientQuotas lists: those matching every component; with `strict`
/// only those without parts of other types. No component: every entity.
struct quota_filter {
  std::vector<quota_filter_component> components;
  bool strict = false;
  friend bool operator==(const quota_filter&, const quota_filter&) = default;
};

struct quota_value {
  std::string key;
  double value = 0;
  friend bool operator==(const quota_value&, const quota_value&) = default;
};

/// One entity of a DescribeClientQuotas answer with its quotas.
struct quota_entry {
  quota_entity entity;
  std::vector<quota_value> values;  ///< by key
  friend bool operator==(const quota_entry&, const quota_entry&) = default;
};

/// Sets a key to `value`, or with `remove` removes it (`value` is then not used).
struct quota_op {
  std::string key;
  double value = 0;
  bool remove = false;
  friend bool operator==(const quota_op&, const quota_op&) = default;
};

/// The changes of one entity in an AlterClientQuotas request.
struct quota_alteration {
  quota_entity entity;
  std::vector<quota_op> ops;
  friend bool operator==(const quota_alteration&, const quota_alteration&) = default;
};

/// The broker's answer for one entity of AlterClientQuotas.
struct quota_outcome {
  quota_entity entity;
  int16_t error_code = 0;
  std::string error_name;  ///< "NONE", "INVALID_REQUEST", ...
  std::string message;     ///< the broker's message, or empty
  [[nodiscard]] bool ok() const { return error_code == 0; }
  /// "NAME: message", or the error name alone when the broker sent no message.
  [[nodiscard]] std::string reason() const;
};

/// A quota value as typed: a positive finite number ("1048576", "1.5", "1e6"); an error
/// quoting the text otherwise.
result<double> parse_quota_value(std::string_view text);
/// The shortest text that reads back as `value`: "1048576", "0.5".
std::string format_quota_value(double value);

/// The options of `stromctl quota set|list|delete`, as typed.
struct quota_options {
  std::optional<std::string> user;
  bool user_default = false;
  std::optional<std::string> client_id;
  bool client_id_default = false;
  std::optional<std::string> producer_byte_rate;  ///< set only
  std::optional<std::string> consumer_byte_rate;  ///< set only
  std::vector<std::string> quotas;                ///< set only: KEY=VALUE of any key
  std::vector<std::string> remove;                ///< set only: keys
  bool dry_run = false;                           ///< set only
};

/// The entity the options name: the user part (--user NAME or --user-default) before the
/// client id part (--client-id ID or --client-id-default); empty when they name none. An error
/// naming the options for a name and the default of one type, or an empty name.
result<quota_entity> quota_entity_of(const quota_options& o);
/// What `quota set` changes: the entity (at least one part) and its ops in the order
/// --producer-byte-rate, --consumer-byte-rate, each --quota, each --remove; at least one, each
/// key at most once, every value positive.
result<quota_alteration> quota_set_alteration(const quota_options& o);
/// What `quota delete` changes: the entity (at least one part) loses both byte rates.
result<quota_alteration> quota_delete_alteration(const quota_options& o);
/// The filter of `quota list`: a component per part given (a name matched exactly, a default
/// part as the default), not strict, so that entities with further parts match too; no part:
/// no component, every entity.
result<quota_filter> quota_list_filter(const quota_options& o);

/// The version of DescribeClientQuotas or AlterClientQuotas (`key`) stromctl sends to a broker
/// advertising `ranges`: the highest that both the broker and stromctl (versions 0 and 1)
/// support; an error naming what the broker offers when there is none.
result<int16_t> client_quotas_api_version(const std::vector<api_version_range>& ranges,
                                          int16_t key);

/// A size-prefixed DescribeClientQuotas request of `version`.
result<std::string> encode_describe_client_quotas_request(int32_t correlation_id, int16_t version,
                                                          const quota_filter& filter);
/// Decodes its answer without the size prefix: each entity with its values, entities sorted by
/// their parts (a default part before named ones), values by key. The answer's error is an
/// error "NAME: message".
result<std::vector<quota_entry>> decode_describe_client_quotas_response(std::string_view frame,
                                                                        int16_t version,
                                                                        int32_t correlation_id);

/// A size-prefixed AlterClientQuotas request of `version`; with `validate_only` the broker
/// checks the changes and makes none.
result<std::string> encode_alter_client_quotas_request(int32_t correlation_id, int16_t version,
                                                       const std::vector<quota_alteration>& entries,
                                                       bool validate_only);
/// Decodes its answer without the size prefix: one outcome per entity, in the answer's order;
/// an error unless there are `entries` of them.
result<std::vector<quota_outcome>> decode_alter_client_quotas_response(std::string_view frame,
                                                                       int16_t version,
                                                                       int32_t correlation_id,
                                                                       size_t entries);

/// DescribeClientQuotas to the first reachable broker (ApiVersions, then the version
/// client_quotas_api_version picks, over one connection): as
/// encode_describe_client_quotas_request and its decoder.
result<std::vector<quota_entry>> describe_client_quotas(const std::vector<host_port>& brokers,
                                                        int timeout_ms, const quota_filter& filter);
/// AlterClientQuotas, likewise.
result<std::vector<quota_outcome>> alter_client_quotas(const std::vector<host_port>& brokers,
                                                       int timeout_ms,
                                                       const std::vector<quota_alteration>& entries,
                                                       bool validate_only);

// --- HTTP -------------------------------------------------------------------------------------

struct http_url {
  std::string host;
  uint16_t port = 80;
  std::string path;  // the base path, without a trailing '/'
  bool tls = false;  // https
};

/// "http://host[:port][/base]" or "https://host[:port][/base]" (port 80 or 443 by default).
result<http_url> parse_http_url(std::string_view url);

struct http_response {
  int status = 0;
  std::string body;
};

/// Parses a whole HTTP/1.x response (status line, headers, body by Content-Length or chunked
/// transfer encoding, else until the end).
result<http_response> parse_http_response(std::string_view raw);

/// The bytes of a `method` request for base + path without a body, with "Connection: close".
/// `authorization`: the Authorization header's value, none when empty.
std::string http_request_text(std::string_view method, const http_url& base, std::string_view path,
                              std::string_view authorization = {});

/// GET base + path with "Connection: close", at most 4 MiB of response.
result<http_response> http_get(const http_url& base, std::string_view path, int timeout_ms);
/// PUT base + path without a body, otherwise as http_get.
result<http_response> http_put(const http_url& base, std::string_view path, int timeout_ms);

}  // namespace strom::ctl
