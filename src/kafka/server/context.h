#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <type_traits>
#include <vector>

#include "kafka/server/errors.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/groups/coordinator.h"
#include "strom/kafka/protocol/codec.h"
#include "strom/kafka/server/handler.h"
#include "strom/net/server.h"
#include "strom/security/acl.h"

namespace strom::kafka::server {

using net::awaitable;

/// Everything a request handler needs. Lives for one request, on the connection's shard.
struct request_context {
  cluster::partition_manager& partitions;
  cluster::topics_frontend& frontend;
  const cluster::topic_table& topics;
  const broker_identity& id;
  cluster::producer_id_allocator& producer_ids;
  groups::coordinator& groups;
  const request_limits& limits;
  const net::connection_info& who;
  protocol::request_header header;
  /// The request frame while record views in the decoded body point into it (Produce);
  /// released at once for other APIs, so a parked request does not pin it.
  std::shared_ptr<net::frame_bytes> buffer;
  /// Where admin operations are recorded; null without an audit log.
  security::audit_log* audit = nullptr;
  /// The listener's authentication and authorization settings; null: none (tests).
  const listener_auth* auth = nullptr;

  [[nodiscard]] int16_t version() const { return header.version; }
  /// The client's principal: "User:<name>" once it authenticated, else "User:ANONYMOUS".
  [[nodiscard]] std::string principal() const;
  /// Whether the client may do `op` on the resource: always without authorization (or for a
  /// superuser); else as the ACLs say (security::authorized). A denial goes to the audit log.
  [[nodiscard]] bool allowed(security::acl_operation op, security::resource_type type,
                             std::string_view name, bool audit_denial = true) const;
  /// Create on the cluster or on topic `topic` (CreateTopics, auto-creation).
  [[nodiscard]] bool may_create_topic(std::string_view topic) const {
    return allowed(security::acl_operation::create, security::resource_type::cluster,
                   security::cluster_resource, false) ||
           allowed(security::acl_operation::create, security::resource_type::topic, topic);
  }
  /// allowed() on the cluster resource.
  [[nodiscard]] bool allowed_on_cluster(security::acl_operation op) const {
    return allowed(op, security::resource_type::cluster, security::cluster_resource);
  }
  /// InitProducerId without a transactional id: IdempotentWrite on the cluster, or Write on
  /// some topic (KIP-679).
  [[nodiscard]] bool may_produce_idempotently() const;
  /// Counts `bytes` against the client's quota of `k`; the delay its response gets (zero
  /// without one). The caller says it in throttle_time_ms and holds the response back for it
  /// (hold_back()).
  [[nodiscard]] std::chrono::milliseconds throttle(quota_manager::kind k, int64_t bytes) const;
  /// Counts the time the connection's coroutines ran since its previous response against the
  /// client's request_percentage quota (respond() does, for every response); the delay its
  /// response gets (zero without such a quota).
  [[nodiscard]] std::chrono::milliseconds request_time_throttle() const;
  /// The user a quota counts this request for: the principal's name without "User:".
  [[nodiscard]] std::string quota_user() const;
  /// How long the response is held back once the handler returned (KIP-219): the longest
  /// delay any of the client's quotas asked for, never their sum.
  mutable std::chrono::milliseconds hold{0};
  void hold_back(std::chrono::milliseconds d) const { hold = std::max(hold, d); }
  /// The security state the quota checks of this request read (fetched once).
  mutable std::shared_ptr<const cluster::security_state> quota_state{};
  /// Whether authorization is on for this listener.
  [[nodiscard]] bool authorizing() const { return auth != nullptr && auth->authorize; }
  /// Records what this request (an admin API's) did to `resource` ("Topic:clicks",
  /// "Group:g", "Broker:4") in the audit log, when there is one: success, or the failure's
  /// Kafka error name; `detail` says more (what changed).
  void audit_admin(std::string_view resource, protocol::error_code e,
                   std::string_view detail = {}) const;
};

/// A protocol frame as the connection writes it (the connection adds the size prefix).
net::out_frame to_out_frame(protocol::frame f);

inline net::handler_result close_connection() {
  return {net::disposition::close, {}};
}

/// Logs (rate-limited) that a response could not be encoded.
void log_encode_failure(const request_context& c, const error& e);

/// Encodes `body` as the response to the request of `c`. Handlers bound what they answer,
/// so a response too large to encode means a bug or a limit missed; it never aborts: the
/// message is answered emptied, with UNKNOWN_SERVER_ERROR in its top-level error code when it
/// has one, and otherwise the connection is closed (the client retries).
template <typename M>
net::handler_result encode_response(const request_context& c, const M& body) {
  auto f = protocol::encode_response_frame(c.header.correlation_id, c.version(), body);
  if (f)
    return {net::disposition::respond, to_out_frame(std::move(*f))};
  log_encode_failure(c, f.error());
  if constexpr (requires(M m) { m.error_code = protocol::error_code::none; }) {
    M empty;
    empty.error_code = protocol::error_code::unknown_server_error;
    if constexpr (requires(M m) { m.error_message = std::string(); })
      empty.error_message = "response too large";
    auto g = protocol::encode_response_frame(c.header.correlation_id, c.version(), empty);
    if (g)
      return {net::disposition::respond, to_out_frame(std::move(*g))};
  }
  return close_connection();
}

/// `topics` (the table as the request found it) when `unknown` is false; else the table
/// after this broker caught up with the controller (topics_frontend::catch_up; a single node
/// at once): a topic or id the request names that is not known here may have been made
/// through another broker and acknowledged a moment ago.
inline awaitable<std::shared_ptr<const cluster::topic_map>> topics_after_catch_up(
    request_context& c, std::shared_ptr<const cluster::topic_map> topics, bool unknown) {
  if (!unknown)
    co_return topics;
  auto caught_up = c.frontend.catch_up(c.frontend.opts().catch_up_wait);
  co_await std::move(caught_up);
  co_return c.topics.snapshot();
}

/// The topics as this broker knows them for a request that names `named` (topic names),
/// caught up first when one is not known (topics_after_catch_up). `named` is taken by value:
/// the coroutine may outlive the caller's temporaries.
template <typename Names>
awaitable<std::shared_ptr<const cluster::topic_map>> topics_for(request_context& c, Names named) {
  auto topics = c.topics.snapshot();
  bool unknown = std::any_of(std::begin(named), std::end(named),
                             [&](const auto& n) { return !topics->contains(n); });
  auto known = topics_after_catch_up(c, std::move(topics), unknown);
  co_return co_await std::move(known);
}

/// The response `body` to the request of `c` (encode_response), after the connection's run
/// time is counted against the client's request_percentage quota: over it, the response says
/// the delay in throttle_time_ms (the larger of it and a byte-rate delay already there) and
/// is held back for it. A response without throttle_time_ms is not held back.
template <typename M>
net::handler_result respond(const request_context& c, M&& body) {
  using T = std::remove_cvref_t<M>;
  auto wait = c.request_time_throttle();
  if constexpr (requires(T m) { m.throttle_time_ms = int32_t(); }) {
    if (wait.count() > 0) {
      c.hold_back(wait);
      auto ms = std::max(static_cast<int32_t>(c.hold.count()), body.throttle_time_ms);
      if constexpr (std::is_const_v<std::remove_reference_t<M>>) {
        T copy = body;
        copy.throttle_time_ms = ms;
        return encode_response(c, copy);
      } else {
        body.throttle_time_ms = ms;
      }
    }
  }
  return encode_response(c, body);
}
inline net::handler_result no_response() {
  return {net::disposition::no_response, {}};
}

// One handler per API (src/kafka/server/handlers/).
awaitable<net::handler_result> handle_metadata(request_context& c, protocol::metadata_request& r);
awaitable<net::handler_result> handle_produce(request_context& c, protocol::produce_request& r);
awaitable<net::handler_result> handle_fetch(request_context& c, protocol::fetch_request& r);
awaitable<net::handler_result> handle_list_offsets(request_context& c,
                                                   protocol::list_offsets_request& r);
awaitable<net::handler_result> handle_offset_for_leader_epoch(
    request_context& c, protocol::offset_for_leader_epoch_request& r);
awaitable<net::handler_result> handle_create_topics(request_context& c,
                                                    protocol::create_topics_request& r);
awaitable<net::handler_result> handle_delete_topics(request_context& c,
                                                    protocol::delete_topics_request& r);
awaitable<net::handler_result> handle_create_partitions(request_context& c,
                                                        protocol::create_partitions_request& r);
awaitable<net::handler_result> handle_describe_configs(request_context& c,
                                                       protocol::describe_configs_request& r);
awaitable<net::handler_result> handle_alter_configs(request_context& c,
                                                    protocol::alter_configs_request& r);
awaitable<net::handler_result> handle_incremental_alter_configs(
    request_context& c, protocol::incremental_alter_configs_request& r);
awaitable<net::handler_result> handle_delete_records(request_context& c,
                                                     protocol::delete_records_request& r);
awaitable<net::handler_result> handle_elect_leaders(request_context& c,
                                                    protocol::elect_leaders_request& r);
awaitable<net::handler_result> handle_alter_partition_reassignments(
    request_context& c, protocol::alter_partition_reassignments_request& r);
awaitable<net::handler_result> handle_list_partition_reassignments(
    request_context& c, protocol::list_partition_reassignments_request& r);
awaitable<net::handler_result> handle_init_producer_id(request_context& c,
                                                       protocol::init_producer_id_request& r);
awaitable<net::handler_result> handle_describe_log_dirs(request_context& c,
                                                        protocol::describe_log_dirs_request& r);
awaitable<net::handler_result> handle_describe_cluster(request_context& c,
                                                       protocol::describe_cluster_request& r);

awaitable<net::handler_result> handle_find_coordinator(request_context& c,
                                                       protocol::find_coordinator_request& r);
awaitable<net::handler_result> handle_join_group(request_context& c,
                                                 protocol::join_group_request& r);
awaitable<net::handler_result> handle_sync_group(request_context& c,
                                                 protocol::sync_group_request& r);
awaitable<net::handler_result> handle_heartbeat(request_context& c, protocol::heartbeat_request& r);
awaitable<net::handler_result> handle_leave_group(request_context& c,
                                                  protocol::leave_group_request& r);
awaitable<net::handler_result> handle_offset_commit(request_context& c,
                                                    protocol::offset_commit_request& r);
awaitable<net::handler_result> handle_offset_fetch(request_context& c,
                                                   protocol::offset_fetch_request& r);
awaitable<net::handler_result> handle_list_groups(request_context& c,
                                                  protocol::list_groups_request& r);
awaitable<net::handler_result> handle_describe_groups(request_context& c,
                                                      protocol::describe_groups_request& r);
awaitable<net::handler_result> handle_delete_groups(request_context& c,
                                                    protocol::delete_groups_request& r);
awaitable<net::handler_result> handle_offset_delete(request_context& c,
                                                    protocol::offset_delete_request& r);
awaitable<net::handler_result> handle_describe_client_quotas(
    request_context& c, protocol::describe_client_quotas_request& r);
awaitable<net::handler_result> handle_alter_client_quotas(request_context& c,
                                                          protocol::alter_client_quotas_request& r);
awaitable<net::handler_result> handle_describe_acls(request_context& c,
                                                    protocol::describe_acls_request& r);
awaitable<net::handler_result> handle_create_acls(request_context& c,
                                                  protocol::create_acls_request& r);
awaitable<net::handler_result> handle_delete_acls(request_context& c,
                                                  protocol::delete_acls_request& r);
awaitable<net::handler_result> handle_describe_user_scram_credentials(
    request_context& c, protocol::describe_user_scram_credentials_request& r);
awaitable<net::handler_result> handle_alter_user_scram_credentials(
    request_context& c, protocol::alter_user_scram_credentials_request& r);

/// Whether Strom has a handler for `key` (only those are advertised in ApiVersions).
bool is_implemented(protocol::api_key key);

}  // namespace strom::kafka::server
