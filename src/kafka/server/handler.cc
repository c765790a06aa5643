#include "strom/kafka/server/handler.h"

#include <algorithm>
#include <chrono>
#include <variant>

#include "kafka/server/context.h"
#include "kafka/server/sasl.h"
#include "strom/base/logging.h"
#include "strom/metrics/metrics.h"

namespace strom::kafka::server {

namespace {
spdlog::logger& lg() {
  return logging::get("kafka");
}
using protocol::api_key;
}  // namespace

net::out_frame to_out_frame(protocol::frame f) {
  net::out_frame out;
  bool first = true;
  auto chunks = std::move(f).take_chunks();
  out.chunks.reserve(chunks.size());
  for (auto& chunk : chunks) {
    net::out_chunk c;
    if (auto* bytes = std::get_if<std::vector<std::byte>>(&chunk)) {
      c.bytes = std::move(*bytes);
      if (first)
        c.bytes.erase(c.bytes.begin(), c.bytes.begin() + 4);  // the size prefix
    } else {
      const auto& r = std::get<protocol::file_range>(chunk);
      c.fd = r.fd;
      c.offset = r.offset;
      c.length = r.length;
      c.keepalive = r.keepalive;
    }
    first = false;
    out.chunks.push_back(std::move(c));
  }
  return out;
}

void log_encode_failure(const request_context& c, const error& e) {
  STROM_LOG_LIMITED(lg(), err, "{}: cannot encode the {} v{} response: {}", c.who.peer,
                    protocol::api_name(c.header.key), c.version(), e.message());
}

bool is_implemented(api_key key) {
  switch (key) {
    case api_key::api_versions:
    case api_key::metadata:
    case api_key::produce:
    case api_key::fetch:
    case api_key::list_offsets:
    case api_key::offset_for_leader_epoch:
    case api_key::create_topics:
    case api_key::delete_topics:
    case api_key::create_partitions:
    case api_key::describe_configs:
    case api_key::alter_configs:
    case api_key::incremental_alter_configs:
    case api_key::alter_partition_reassignments:
    case api_key::list_partition_reassignments:
    case api_key::elect_leaders:
    case api_key::delete_records:
    case api_key::describe_cluster:
    case api_key::init_producer_id:
    case api_key::describe_log_dirs:
    case api_key::find_coordinator:
    case api_key::join_group:
    case api_key::sync_group:
    case api_key::heartbeat:
    case api_key::leave_group:
    case api_key::offset_commit:
    case api_key::offset_fetch:
    case api_key::list_groups:
    case api_key::describe_groups:
    case api_key::delete_groups:
    case api_key::offset_delete:
    case api_key::sasl_handshake:
    case api_key::sasl_authenticate:
    case api_key::describe_user_scram_credentials:
    case api_key::alter_user_scram_credentials:
    case api_key::describe_acls:
    case api_key::create_acls:
    case api_key::delete_acls:
    case api_key::describe_client_quotas:
    case api_key::alter_client_quotas:
      return true;
    default:
      return false;
  }
}

namespace {

/// ApiVersions lists only the APIs that have a handler.
protocol::api_versions_response api_versions(protocol::error_code err) {
  auto r = protocol::make_api_versions_response(err);
  std::erase_if(r.api_keys, [](const auto& a) { return !is_implemented(api_key(a.api_key)); });
  return r;
}

/// What a broker answers before it caught up with the controller: what connecting and
/// authenticating take, none of which depends on the cluster's state.
static bool answers_before_catch_up(api_key key) {
  return key == api_key::api_versions || key == api_key::sasl_handshake ||
         key == api_key::sasl_authenticate;
}

class kafka_handler final : public net::request_handler {
 public:
  kafka_handler(cluster::partition_manager& partitions, cluster::topics_frontend& frontend,
                const cluster::topic_table& topics, broker_identity id,
                cluster::producer_id_allocator& producer_ids, groups::coordinator& groups,
                request_limits limits, metrics::registry& m, listener_auth auth)
      : metrics_(m),
        audit_(auth.audit),
        auth_(auth),
        sasl_(std::move(auth), frontend, m),
        partitions_(partitions),
        frontend_(frontend),
        topics_(topics),
        id_(std::move(id)),
        producer_ids_(producer_ids),
        groups_(groups),
        limits_(limits) {}

  [[nodiscard]] bool times_requests() const override {
    return auth_.quotas && auth_.quotas->timing_requests();
  }

  awaitable<net::handler_result> handle(const net::connection_info& who,
                                        net::frame_bytes frame) override {
    if (sasl_.enabled()) {
      auto& s = session_of(who);
      if (s.at == sasl_session::stage::raw_tokens)
        co_return sasl_.raw_token(who, s, frame);
    }
    auto buffer = std::make_shared<net::frame_bytes>(std::move(frame));
    protocol::reader hr(*buffer);
    auto h = protocol::decode_request_header(hr);
    if (!h) {
      STROM_LOG_LIMITED(lg(), warn, "{}: bad request header: {}; closing", who.peer,
                        h.error().message());
      co_return close_connection();
    }
    if (!is_version_served(h->key, h->version) || !is_implemented(h->key)) {
      if (h->key == api_key::api_versions) {
        // Answer in the v0 format whatever the version asked, never disconnect (KIP-511).
        request_context c{partitions_, frontend_, topics_, id_, producer_ids_,
                          groups_,     limits_,   who,     *h,  nullptr};
        c.header.version = 0;
        co_return respond(c, api_versions(protocol::error_code::unsupported_version));
      }
      metrics_.api(static_cast<int16_t>(h->key), protocol::api_name(h->key)).errors->Increment();
      STROM_LOG_LIMITED(lg(), warn, "{} ({}): unsupported API {} v{}; closing", who.peer,
                        h->client_id.value_or("-"), protocol::api_name(h->key), h->version);
      co_return close_connection();
    }
    if (sasl_.enabled() && !sasl_.admits(session_of(who), h->key)) {
      metrics_.api(static_cast<int16_t>(h->key), protocol::api_name(h->key)).errors->Increment();
      STROM_LOG_LIMITED(lg(), warn,
                        "{} ({}): {} before authentication (or after it expired); "
                        "closing",
                        who.peer, h->client_id.value_or("-"), protocol::api_name(h->key));
      co_return close_connection();
    }
    auto req = protocol::decode_request(*buffer);
    if (!req) {
      metrics_.api(static_cast<int16_t>(h->key), protocol::api_name(h->key)).errors->Increment();
      STROM_LOG_LIMITED(lg(), warn, "{}: cannot decode {} v{}: {}; closing", who.peer,
                        protocol::api_name(h->key), h->version, req.error().message());
      co_return close_connection();
    }
    if (!frontend_.current() && !answers_before_catch_up(h->key)) {
      // A cluster broker that restarted knows the topics as they were when it stopped: it
      // answers once it caught up with the controller (Kafka's brokers open their listeners
      // only then), or closes the connection so that the client asks another broker.
      auto wait = frontend_.wait_current(limits_.catch_up_wait);
      if (!co_await std::move(wait)) {
        STROM_LOG_LIMITED(lg(), warn,
                          "{} ({}): {} while this broker has not caught up with the "
                          "controller; closing",
                          who.peer, h->client_id.value_or("-"), protocol::api_name(h->key));
        co_return close_connection();
      }
    }
    // Only Produce keeps views into the frame (its records); every other body owns its data.
    if (h->key != api_key::produce)
      buffer.reset();
    request_context c{partitions_, frontend_, topics_, id_,         producer_ids_,
                      groups_,     limits_,   who,     req->header, buffer};
    c.audit = audit_.get();
    c.auth = &auth_;
    if (audit_ && who.tls_subject && who.session) {
      // A verified client certificate authenticated the connection during the handshake: one
      // audit line, at its first request.
      if (auto& s = session_of(who); !s.certificate_audited) {
        s.certificate_audited = true;
        audit_->record({"authentication", "User:" + *who.tls_subject, who.peer, "TLS", "",
                        "success", "client certificate"});
      }
    }
    auto& m = metrics_.api(static_cast<int16_t>(h->key), protocol::api_name(h->key));
    auto started = std::chrono::steady_clock::now();
    auto out = co_await dispatch(c, req->body);
    if (c.hold.count() > 0) {
      // A quota's delay (KIP-219): the response waits, and the client with it. Waiting is not
      // running: it counts against no request time.
      net::asio::steady_timer t(co_await net::asio::this_coro::executor);
      t.expires_after(c.hold);
      boost::system::error_code ec;
      auto pause = t.async_wait(net::asio::redirect_error(net::asio::use_awaitable, ec));
      co_await std::move(pause);
    }
    m.requests->Increment();
    m.latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (out.what == net::disposition::close)
      m.errors->Increment();
    co_return out;
  }

 private:
  awaitable<net::handler_result> dispatch(request_context& c, protocol::request_body& body) {
    using namespace protocol;
    switch (c.header.key) {
      case api_key::api_versions:
        co_return respond(c, api_versions(error_code::none));
      case api_key::metadata:
        co_return co_await handle_metadata(c, std::get<metadata_request>(body));
      case api_key::produce:
        co_return co_await handle_produce(c, std::get<produce_request>(body));
      case api_key::fetch:
        co_return co_await handle_fetch(c, std::get<fetch_request>(body));
      case api_key::list_offsets:
        co_return co_await handle_list_offsets(c, std::get<list_offsets_request>(body));
      case api_key::offset_for_leader_epoch:
        co_return co_await handle_offset_for_leader_epoch(
            c, std::get<offset_for_leader_epoch_request>(body));
      case api_key::create_topics:
        co_return co_await handle_create_topics(c, std::get<create_topics_request>(body));
      case api_key::delete_topics:
        co_return co_await handle_delete_topics(c, std::get<delete_topics_request>(body));
      case api_key::create_partitions:
        co_return co_await handle_create_partitions(c, std::get<create_partitions_request>(body));
      case api_key::describe_configs:
        co_return co_await handle_describe_configs(c, std::get<describe_configs_request>(body));
      case api_key::alter_configs:
        co_return co_await handle_alter_configs(c, std::get<alter_configs_request>(body));
      case api_key::incremental_alter_configs:
        co_return co_await handle_incremental_alter_configs(
            c, std::get<incremental_alter_configs_request>(body));
      case api_key::delete_records:
        co_return co_await handle_delete_records(c, std::get<delete_records_request>(body));
      case api_key::alter_partition_reassignments:
        co_return co_await handle_alter_partition_reassignments(
            c, std::get<alter_partition_reassignments_request>(body));
      case api_key::list_partition_reassignments:
        co_return co_await handle_list_partition_reassignments(
            c, std::get<list_partition_reassignments_request>(body));
      case api_key::elect_leaders:
        co_return co_await handle_elect_leaders(c, std::get<elect_leaders_request>(body));
      case api_key::describe_log_dirs:
        co_return co_await handle_describe_log_dirs(c, std::get<describe_log_dirs_request>(body));
      case api_key::init_producer_id:
        co_return co_await handle_init_producer_id(c, std::get<init_producer_id_request>(body));
      case api_key::describe_cluster:
        co_return co_await handle_describe_cluster(c, std::get<describe_cluster_request>(body));
      case api_key::find_coordinator:
        co_return co_await handle_find_coordinator(c, std::get<find_coordinator_request>(body));
      case api_key::join_group:
        co_return co_await handle_join_group(c, std::get<join_group_request>(body));
      case api_key::sync_group:
        co_return co_await handle_sync_group(c, std::get<sync_group_request>(body));
      case api_key::heartbeat:
        co_return co_await handle_heartbeat(c, std::get<heartbeat_request>(body));
      case api_key::leave_group:
        co_return co_await handle_leave_group(c, std::get<leave_group_request>(body));
      case api_key::offset_commit:
        co_return co_await handle_offset_commit(c, std::get<offset_commit_request>(body));
      case api_key::offset_fetch:
        co_return co_await handle_offset_fetch(c, std::get<offset_fetch_request>(body));
      case api_key::list_groups:
        co_return co_await handle_list_groups(c, std::get<list_groups_request>(body));
      case api_key::describe_groups:
        co_return co_await handle_describe_groups(c, std::get<describe_groups_request>(body));
      case api_key::delete_groups:
        co_return co_await handle_delete_groups(c, std::get<delete_groups_request>(body));
      case api_key::offset_delete:
        co_return co_await handle_offset_delete(c, std::get<offset_delete_request>(body));
      case api_key::sasl_handshake:
        co_return sasl_.handshake(c, session_of(c.who), std::get<sasl_handshake_request>(body));
      case api_key::sasl_authenticate:
        co_return sasl_.authenticate(c, session_of(c.who),
                                     std::get<sasl_authenticate_request>(body));
      case api_key::describe_client_quotas:
        co_return co_await handle_describe_client_quotas(
            c, std::get<describe_client_quotas_request>(body));
      case api_key::alter_client_quotas:
        co_return co_await handle_alter_client_quotas(c,
                                                      std::get<alter_client_quotas_request>(body));
      case api_key::describe_acls:
        co_return co_await handle_describe_acls(c, std::get<describe_acls_request>(body));
      case api_key::create_acls:
        co_return co_await handle_create_acls(c, std::get<create_acls_request>(body));
      case api_key::delete_acls:
        co_return co_await handle_delete_acls(c, std::get<delete_acls_request>(body));
      case api_key::describe_user_scram_credentials:
        co_return co_await handle_describe_user_scram_credentials(
            c, std::get<describe_user_scram_credentials_request>(body));
      case api_key::alter_user_scram_credentials:
        co_return co_await handle_alter_user_scram_credentials(
            c, std::get<alter_user_scram_credentials_request>(body));
      default:
        co_return close_connection();
    }
  }

  metrics::registry& metrics_;
  std::shared_ptr<security::audit_log> audit_;
  listener_auth auth_;
  sasl_authenticator sasl_;
  cluster::partition_manager& partitions_;
  cluster::topics_frontend& frontend_;
  const cluster::topic_table& topics_;
  broker_identity id_;
  cluster::producer_id_allocator& producer_ids_;
  groups::coordinator& groups_;
  request_limits limits_;
};

}  // namespace

described_cluster describe_cluster(const broker_identity& id) {
  described_cluster d;
  auto view = id.cluster ? id.cluster() : nullptr;
  bool self_listed = false;
  if (view) {
    for (const auto& b : view->live_brokers()) {
      if (b.id == id.node_id) {
        // This broker answers with the listener the client reached.
        d.brokers.push_back({id.node_id, id.host, id.port, id.rack});
        self_listed = true;
      } else {
        d.brokers.push_back({b.id, b.host, b.port, b.rack});
      }
    }
    if (!view->cluster_id.empty())
      d.cluster_id = view->cluster_id;
    d.controller_id = view->controller_id.value_or(-1);
  }
  if (!self_listed) {
    // Not registered yet (or fenced): a client that reached it can still use it.
    d.brokers.push_back({id.node_id, id.host, id.port, id.rack});
    std::sort(d.brokers.begin(), d.brokers.end(),
              [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  }
  if (d.cluster_id.empty())
    d.cluster_id = id.cluster_id;
  // Any broker takes admin requests (it forwards them to the controller leader): while the
  // leader is unknown or not listed, this broker is named, as a client waiting for a listed
  // controller would otherwise wait for its next metadata refresh (minutes in librdkafka).
  bool listed = std::any_of(d.brokers.begin(), d.brokers.end(),
                            [&d](const auto& b) { return b.node_id == d.controller_id; });
  if (!view || !listed)
    d.controller_id = id.node_id;
  return d;
}

std::shared_ptr<net::request_handler> make_handler(
    cluster::partition_manager& partitions, cluster::topics_frontend& frontend,
    const cluster::topic_table& topics, broker_identity id,
    cluster::producer_id_allocator& producer_ids, groups::coordinator& groups,
    request_limits limits, metrics::registry& m, listener_auth auth) {
  return std::make_shared<kafka_handler>(partitions, frontend, topics, std::move(id), producer_ids,
                                         groups, limits, m, std::move(auth));
}

}  // namespace strom::kafka::server
