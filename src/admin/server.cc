#include "strom/admin/server.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/text_serializer.h>
#include "strom/net/asio.h"  // first: Asio needs <utility> before it

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "strom/base/json.h"
#include "strom/base/logging.h"
#include "strom/base/thread_name.h"
#include "strom/metrics/metrics.h"
#include "strom/net/server.h"
#include "strom/net/tls.h"
#include "strom/security/scram.h"

namespace strom::admin {

namespace {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;
using net::tcp;

spdlog::logger& lg() {
  return logging::get("admin");
}

using response = http::response<http::string_body>;

response make_response(http::status status, std::string body,
                       std::string_view type = "application/json") {
  response r{status, 11};
  r.set(http::field::server, "stromd");
  r.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  r.body() = std::move(body);
  return r;
}

response json_error(http::status status, std::string_view message) {
  return make_response(status, fmt::format("{{\"error\":{}}}\n", json_quote(message)));
}

/// Query parameter `name` of a target ("/path?a=1&b=2"), or "" when absent.
std::string query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

}  // namespace

bool is_secret_key(std::string_view path) {
  for (std::string_view word : {"password", "secret", "token", "private", "sasl_jaas"}) {
    if (path.find(word) != std::string_view::npos)
      return true;
  }
  return false;
}

struct server::impl {
  options opts;
  sources src;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<int32_t> open{0};
  std::map<std::string, std::unique_ptr<asio::steady_timer>> level_timers;
  std::set<std::shared_ptr<beast::tcp_stream>> sessions;

  impl(options o, sources s) : opts(std::move(o)), src(std::move(s)) {}

  awaitable<void> accept_loop() {
    net::accept_pacer pacer(io.get_executor());
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock(io);
      co_await acceptor.async_accept(sock, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open())
        co_return;
      if (ec) {
        co_await pacer.failed(ec, "admin");
        continue;
      }
      pacer.succeeded();
      if (open.load() >= opts.max_connections) {
        STROM_LOG_LIMITED(lg(), warn, "admin: connection limit {} reached; closing",
                          opts.max_connections);
        sock.close(ec);
        continue;
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
      asio::co_spawn(io, session(stream, opts.tls ? opts.tls->current() : nullptr), asio::detached);
    }
  }

  static std::string peer_of(beast::tcp_stream& tcp) {
    boost::system::error_code ec;
    auto ep = tcp.socket().remote_endpoint(ec);
    return ec ? std::string("?") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }

  /// One connection: the TLS handshake first when the listener has a context, then requests.
  awaitable<void> session(std::shared_ptr<beast::tcp_stream> tcp,
                          std::shared_ptr<asio::ssl::context> tls) {
    ++open;
    sessions.insert(tcp);
    boost::system::error_code ec;
    if (tls) {
      asio::ssl::stream<beast::tcp_stream&> secure(*tcp, *tls);
      tcp->expires_after(opts.io_timeout);
      co_await secure.async_handshake(asio::ssl::stream_base::server,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        STROM_LOG_LIMITED(lg(), info, "admin: TLS handshake failed: {}", ec.message());
      } else {
        // No temporaries inside co_await (GCC 12 destroys them twice).
        auto op = serve(secure, *tcp, net::peer_subject(secure.native_handle()));
        co_await std::move(op);
      }
    } else {
      auto op = serve(*tcp, *tcp, std::nullopt);
      co_await std::move(op);
    }
    tcp->socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp->close();
    sessions.erase(tcp);
    --open;
  }

  /// The requests of one connection, read and answered over `stream` (`tcp` itself, or TLS
  /// over it). `subject`: the verified client certificate's, when one was presented.
  template <typename Stream>
  awaitable<void> serve(Stream& stream, beast::tcp_stream& tcp,
                        std::optional<std::string> subject) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(opts.max_header_bytes));
      parser.body_limit(opts.max_body_bytes);
      tcp.expires_after(opts.io_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted || ec == asio::error::eof)
        break;
      if (ec) {
        auto status = ec == http::error::header_limit
                          ? http::status::request_header_fields_too_large
                      : ec == http::error::body_limit ? http::status::payload_too_large
                                                      : http::status::bad_request;
        auto r = json_error(status, ec.message());
        r.keep_alive(false);
        r.prepare_payload();
        tcp.expires_after(opts.io_timeout);
        co_await http::async_write(stream, r, asio::redirect_error(asio::use_awaitable, ec));
        break;
      }
      auto req = parser.release();
      bool change = req.method() == http::verb::put || req.method() == http::verb::post;
      // Checking a password costs a key derivation: only where it is needed.
      std::optional<std::string> principal = subject;
      if (!principal && (opts.require_auth || (change && opts.audit)))
        principal = basic_user(req);
      auto work = route(req, principal.has_value());
      auto res = co_await std::move(work);
      if (change)
        audit_change(req, res, principal, peer_of(tcp));
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      tcp.expires_after(opts.io_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive())
        break;
    }
  }

  /// The user HTTP basic authentication names, when its password matches the user's SCRAM
  /// credential (or the bootstrap user's).
  std::optional<std::string> basic_user(const http::request<http::string_body>& req) const {
    auto header = req[http::field::authorization];
    constexpr std::string_view scheme = "Basic ";
    if (header.size() <= scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), header.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return std::nullopt;
    auto decoded = security::base64_decode(
        std::string_view(header.data() + scheme.size(), header.size() - scheme.size()));
    if (!decoded)
      return std::nullopt;
    auto colon = decoded->find(':');
    if (colon == std::string::npos)
      return std::nullopt;
    auto user = decoded->substr(0, colon);
    auto password = std::string_view(*decoded).substr(colon + 1);
    auto matches = [&] {
      if (opts.bootstrap_user && opts.bootstrap_user->first == user)
        return security::password_matches(opts.bootstrap_user->second, password);
      if (!src.security)
        return false;  // the users are not known before the broker started
      auto state = src.security();
      for (auto m : {security::scram_mechanism::sha512, security::scram_mechanism::sha256}) {
        if (const auto* k = state->credential(user, m))
          return security::password_matches(*k, password);
      }
      return false;
    };
    if (!matches())
      return std::nullopt;
    return user;
  }

  /// A change made through the admin API (a PUT or POST), in the audit log.
  void audit_change(const http::request<http::string_body>& req, const response& res,
                    const std::optional<std::string>& principal, const std::string& peer) const {
    if (!opts.audit)
      return;
    std::string target(req.target());
    auto status = res.result_int();
    opts.audit->record(
        {"admin", principal ? "User:" + *principal : "User:ANONYMOUS", peer,
         fmt::format("{} {}", std::string(req.method_string()), target.substr(0, target.find('?'))),
         "", status < 300 ? "success" : "failure",
         fmt::format("HTTP {}{}", status,
                     target.find('?') == std::string::npos
                         ? std::string()
                         : " " + target.substr(target.find('?') + 1))});
  }

  /// `authenticated`: by a client certificate the CA verified, or HTTP basic authentication.
  awaitable<response> route(const http::request<http::string_body>& req, bool authenticated) {
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    bool get = req.method() == http::verb::get;
    if (opts.require_auth && path != "/v1/status/live" && path != "/v1/status/ready" &&
        !authenticated) {
      STROM_LOG_LIMITED(lg(), warn, "admin API: unauthenticated request for {} refused", path);
      auto r = json_error(http::status::unauthorized, "authentication required");
      r.set(http::field::www_authenticate, "Basic realm=\"strom\"");
      co_return r;
    }
    if (path == "/metrics" && get) {
      if (!opts.metrics_enabled)
        co_return json_error(http::status::not_found, "metrics are disabled");
      auto text = co_await scrape();
      co_return make_response(http::status::ok, std::move(text),
                              "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/v1/status/live" && get)
      co_return make_response(http::status::ok, "{\"status\":\"live\"}\n");
    if (path == "/v1/status/ready" && get) {
      bool ready = src.ready && src.ready->load();
      co_return make_response(ready ? http::status::ok : http::status::service_unavailable,
                              ready ? "{\"status\":\"ready\"}\n" : "{\"status\":\"starting\"}\n");
    }
    if (path == "/v1/cluster/health" && get) {
      auto body = co_await health();
      co_return make_response(http::status::ok, std::move(body));
    }
    if (path == "/v1/config" && get)
      co_return make_response(http::status::ok, config_json());
    constexpr std::string_view level_prefix = "/v1/log-level/";
    if (path.starts_with(level_prefix)) {
      if (req.method() != http::verb::put)
        co_return json_error(http::status::method_not_allowed, "use PUT");
      co_return set_log_level(path.substr(level_prefix.size()), target);
    }
    constexpr std::string_view partitions_prefix = "/v1/partitions/kafka/";
    constexpr std::string_view transfer_suffix = "/transfer_leadership";
    if (path.starts_with(partitions_prefix) && path.ends_with(transfer_suffix) &&
        path.size() > partitions_prefix.size() + transfer_suffix.size()) {
      if (req.method() != http::verb::post)
        co_return json_error(http::status::method_not_allowed, "use POST");
      auto op = transfer_leadership(
          path.substr(partitions_prefix.size(),
                      path.size() - partitions_prefix.size() - transfer_suffix.size()),
          query_param(target, "target"));
      co_return co_await std::move(op);
    }
    constexpr std::string_view brokers_prefix = "/v1/brokers/";
    if (path.starts_with(brokers_prefix)) {
      auto rest = std::string_view(path).substr(brokers_prefix.size());
      auto slash = rest.find('/');
      auto what = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (what == "decommission" || what == "recommission") {
        bool put = req.method() == http::verb::put;
        if (!put && !(get && what == "decommission"))
          co_return json_error(http::status::method_not_allowed,
                               what == "decommission" ? "use PUT or GET" : "use PUT");
        auto op = decommission(rest.substr(0, slash), what == "decommission", put);
        co_return co_await std::move(op);
      }
    }
    if (path == "/metrics" || path.starts_with("/v1/"))
      co_return json_error(http::status::method_not_allowed, "method not allowed");
    co_return json_error(http::status::not_found, "no such endpoint");
  }

  /// `PUT /v1/brokers/{id}/decommission` (`on`, `change`), `PUT /v1/brokers/{id}/recommission`
  /// (`change`), `GET /v1/brokers/{id}/decommission`: decommissions a broker (every replica it
  /// holds moves to other brokers; it gets no new ones), takes it back, or reports how far the
  /// decommission is. Any broker of a cluster answers (through the controller).
  awaitable<response> decommission(std::string_view id_text, bool on, bool change) {
    int32_t id = -1;
    auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || end != id_text.data() + id_text.size() || id < 0)
      co_return json_error(http::status::bad_request, "expected /v1/brokers/{id}/...");
    if (!src.topics || !src.partitions || !src.cluster)
      co_return json_error(http::status::service_unavailable,
                           src.partitions ? "a single-node broker has no other broker to move "
                                            "its replicas to"
                                          : "still recovering the logs");
    if (change) {
      auto* topics = src.topics;
      auto op = src.partitions->runtime().invoke_on(
          0, [topics, id, on] { return topics->decommission_broker(id, on); });
      auto s = co_await std::move(op);
      if (!s) {
        auto code = s.error().is(cluster::controller_errc::unknown_broker)
                        ? http::status::not_found
                        : http::status::service_unavailable;
        co_return json_error(code, s.error().message());
      }
      co_return make_response(http::status::ok,
                              fmt::format("{{\"broker\":{},\"decommissioned\":{}}}\n", id, on));
    }
    auto st = src.topics->decommission_status(id);
    if (!st)
      co_return json_error(http::status::not_found, st.error().message());
    co_return make_response(
        http::status::ok,
        fmt::format("{{\"broker\":{},\"decommissioned\":{},\"replicas\":{},\"moving\":{},"
                    "\"stuck\":{},\"done\":{}}}\n",
                    id, st->decommissioned, st->replicas, st->moving, st->stuck,
                    st->decommissioned && st->replicas == 0));
  }

  /// `POST /v1/partitions/kafka/{topic}/{partition}/transfer_leadership[?target={node}]`, sent
  /// to the partition's leader: hands the leadership to `target`, or to the most caught-up
  /// replica. 200 once the transfer started (it completes when that replica holds the whole
  /// log); 409 when this broker does not lead the partition.
  awaitable<response> transfer_leadership(std::string topic_partition, std::string target_text) {
    auto slash = topic_partition.rfind('/');
    int32_t partition = -1;
    if (slash != std::string::npos && slash > 0) {
      auto digits = std::string_view(topic_partition).substr(slash + 1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
      if (ec != std::errc() || end != digits.data() + digits.size())
        partition = -1;
    }
    if (partition < 0)
      co_return json_error(http::status::bad_request, "expected {topic}/{partition}");
    std::optional<int32_t> to;
    if (!target_text.empty()) {
      int32_t t = 0;
      auto [end, ec] =
          std::from_chars(target_text.data(), target_text.data() + target_text.size(), t);
      if (ec != std::errc() || end != target_text.data() + target_text.size())
        co_return json_error(http::status::bad_request, "target must be a node id");
      to = t;
    }
    if (!src.partitions)
      co_return json_error(http::status::service_unavailable, "still recovering the logs");
    model::ntp name{topic_partition.substr(0, slash), model::partition_id(partition)};
    struct outcome {
      bool found = false;
      int32_t to = -1;
      std::error_code code;
      std::string message;
    };
    auto op = src.partitions->on_partition(name, [to](cluster::partition* p) {
      outcome o;
      if (p == nullptr)
        return o;
      o.found = true;
      auto r = p->transfer_leadership(to);
      if (r) {
        o.to = *r;
      } else {
        o.code = r.error().code();
        o.message = r.error().message();
      }
      return o;
    });
    auto o = co_await std::move(op);
    if (!o.found) {
      co_return json_error(http::status::not_found,
                           fmt::format("no replica of {} on this broker", name.dir_name()));
    }
    if (o.code) {
      auto status = o.code == cluster::partition_errc::not_leader ? http::status::conflict
                    : o.code == cluster::partition_errc::not_enough_replicas
                        ? http::status::service_unavailable
                        : http::status::bad_request;
      co_return json_error(status, o.message);
    }
    co_return make_response(http::status::ok,
                            fmt::format("{{\"topic\":{},\"partition\":{},\"from\":{},\"to\":{}}}\n",
                                        json_quote(name.topic), partition, src.node_id, o.to));
  }

  response set_log_level(const std::string& component, std::string_view target) {
    auto known = std::find(std::begin(logging::components), std::end(logging::components),
                           component) != std::end(logging::components);
    if (!known)
      return json_error(http::status::not_found, "unknown logger " + component);
    auto name = query_param(target, "level");
    auto level = spdlog::level::from_str(name);
    if (name.empty() || (level == spdlog::level::off && name != "off"))
      return json_error(http::status::bad_request,
                        "level must be trace, debug, info, warn, error, critical or off");
    int64_t expires = 600;
    if (auto e = query_param(target, "expires"); !e.empty()) {
      try {
        expires = std::stoll(e);
      } catch (const std::exception&) {
        return json_error(http::status::bad_request, "expires must be seconds (0 = never)");
      }
      if (expires < 0)
        return json_error(http::status::bad_request, "expires must be seconds (0 = never)");
    }
    auto previous = logging::get(component).level();
    logging::set_level(component, level);
    lg().info("log level of {} set to {} for {}", component, spdlog::level::to_string_view(level),
              expires == 0 ? std::string("ever") : fmt::format("{} s", expires));
    auto& timer = level_timers[component];
    if (timer)
      timer->cancel();
    if (expires > 0) {
      timer = std::make_unique<asio::steady_timer>(io, std::chrono::seconds(expires));
      timer->async_wait([component, previous](const boost::system::error_code& ec) {
        if (ec)
          return;
        logging::set_level(component, previous);
        lg().info("log level of {} back to {}", component, spdlog::level::to_string_view(previous));
      });
    } else {
      timer.reset();
    }
    return make_response(
        http::status::ok,
        fmt::format("{{\"component\":{},\"level\":{},\"expires_in_s\":{}}}\n",
                    json_quote(component),
                    json_quote(std::string_view(spdlog::level::to_string_view(level).data(),
                                                spdlog::level::to_string_view(level).size())),
                    expires));
  }

  std::string config_json() const {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : src.config) {
      out += fmt::format("{}{}:{}", first ? "" : ",", json_quote(k), json_quote(v));
      first = false;
    }
    return out + "}\n";
  }

  /// Partitions nobody serves: here, those of an offline data directory and those led here
  /// by a replica that lost its majority (partition::orphaned); in a cluster also every
  /// partition whose leader's broker is down or unknown.
  static std::set<std::pair<std::string, int32_t>> without_leader(
      const std::vector<cluster::partition_manager::partition_info>& infos,
      const cluster::cluster_view* view) {
    std::set<std::pair<std::string, int32_t>> out;
    // Offline here, or led here by a replica that lost its majority: no write commits.
    for (const auto& p : infos) {
      if (!p.online || p.orphaned)
        out.emplace(p.name.topic, p.name.partition.value());
    }
    if (view == nullptr)
      return out;
    for (const auto& [name, t] : *view->topics) {
      for (int32_t p = 0; p < t.partitions; ++p) {
        auto leader = t.leader_of(p);
        if (!leader)
          continue;
        auto l = view->leaders->find({name, p});
        if (t.replicated(p) || l != view->leaders->end()) {
          // A Raft group: the leader it elected, once the controller recorded it.
          leader = l == view->leaders->end() ? std::nullopt : std::optional(l->second.leader);
        }
        auto b = leader ? view->brokers.find(*leader) : view->brokers.end();
        if (b == view->brokers.end() || b->second.fenced)
          out.emplace(name, p);
      }
    }
    return out;
  }

  /// Replicated partitions with a replica on a broker that is down, or out of the ISR its
  /// leader last reported (back from a restart and still catching up, say).
  static std::set<std::pair<std::string, int32_t>> under_replicated(
      const cluster::cluster_view* view) {
    std::set<std::pair<std::string, int32_t>> out;
    if (view == nullptr)
      return out;
    for (const auto& [name, t] : *view->topics) {
      for (size_t p = 0; p < t.replicas.size(); ++p) {
        auto i = static_cast<int32_t>(p);
        if (!t.replicated(i))
          continue;
        auto elected = view->elected_leader(name, i);
        for (auto r : t.all_replicas(i)) {
          auto b = view->brokers.find(r);
          if (b == view->brokers.end() || b->second.fenced ||
              (elected && !elected->isr.empty() &&
               !std::binary_search(elected->isr.begin(), elected->isr.end(), r)))
            out.emplace(name, i);
        }
      }
    }
    return out;
  }

  awaitable<std::string> health() {
    if (!src.partitions) {
      co_return fmt::format(
          "{{\"is_healthy\":false,\"controller_id\":{},\"nodes\":[{{\"node_id\":{},"
          "\"is_alive\":true,\"version\":{}}}],\"nodes_down\":[],\"leaderless_partitions\":[],"
          "\"under_replicated_partitions\":[],\"partitions\":0,\"status\":\"recovering\"}}\n",
          src.node_id, src.node_id, json_quote(src.version));
    }
    auto infos_op = src.partitions->partition_infos();
    auto infos = co_await std::move(infos_op);
    auto view = src.cluster ? src.cluster() : nullptr;
    std::string leaderless;
    for (const auto& [topic, partition] : without_leader(infos, view.get())) {
      leaderless += fmt::format("{}{{\"topic\":{},\"partition\":{}}}",
                                leaderless.empty() ? "" : ",", json_quote(topic), partition);
    }
    bool ready = src.ready && src.ready->load();
    // Every broker of the cluster with its liveness; this broker alone when single-node.
    int32_t controller = src.node_id;
    std::string nodes;
    std::string down;
    bool brokers_ok = true;
    auto node = [&](int32_t id, bool alive) {
      nodes += fmt::format("{}{{\"node_id\":{},\"is_alive\":{}{}}}", nodes.empty() ? "" : ",", id,
                           alive ? "true" : "false",
                           id == src.node_id ? ",\"version\":" + json_quote(src.version) : "");
      if (!alive)
        down += fmt::format("{}{}", down.empty() ? "" : ",", id);
    };
    if (view) {
      controller = view->controller_id.value_or(-1);
      brokers_ok = view->controller_id.has_value();
      bool self = false;
      for (const auto& [id, b] : view->brokers) {
        node(id, !b.fenced);
        brokers_ok = brokers_ok && !b.fenced;
        self = self || id == src.node_id;
      }
      if (!self) {
        node(src.node_id, true);  // not registered yet
        brokers_ok = false;
      }
    } else {
      node(src.node_id, true);
    }
    std::string under;
    for (const auto& [topic, partition] : under_replicated(view.get())) {
      under += fmt::format("{}{{\"topic\":{},\"partition\":{}}}", under.empty() ? "" : ",",
                           json_quote(topic), partition);
    }
    co_return fmt::format(
        "{{\"is_healthy\":{},\"controller_id\":{},\"nodes\":[{}],\"nodes_down\":[{}],"
        "\"leaderless_partitions\":[{}],\"under_replicated_partitions\":[{}],\"partitions\":{}}}"
        "\n",
        ready && leaderless.empty() && brokers_ok ? "true" : "false", controller, nodes, down,
        leaderless, under, infos.size());
  }

  awaitable<std::string> scrape() {
    prometheus::Registry now;  // state gauges, computed for this scrape only
    auto gauge = [&](const char* name, const char* help) -> prometheus::Family<prometheus::Gauge>& {
      return prometheus::BuildGauge().Name(name).Help(help).Register(now);
    };
    gauge("strom_build_info", "Version of this stromd").Add({{"version", src.version}}).Set(1);
    gauge("strom_ready", "1 once logs are recovered and listeners accept connections")
        .Add({})
        .Set(src.ready && src.ready->load() ? 1 : 0);
    gauge("strom_active_connections", "Open Kafka client connections")
        .Add({})
        .Set(static_cast<double>(src.connections ? src.connections() : 0));
    if (!src.partitions || !src.groups || !src.logs) {  // still recovering the logs
      auto families =
          (src.metrics ? *src.metrics : metrics::default_registry()).prometheus().Collect();
      auto more = now.Collect();
      families.insert(families.end(), more.begin(), more.end());
      co_return prometheus::TextSerializer().Serialize(families);
    }

    auto infos_op = src.partitions->partition_infos();
    auto infos = co_await std::move(infos_op);
    auto view = src.cluster ? src.cluster() : nullptr;
    gauge("strom_cluster_leaderless_partitions",
          "Partitions without a serving leader: an offline data directory here, a leader here "
          "that lost its majority, or (in a cluster) a leader whose broker is down")
        .Add({})
        .Set(static_cast<double>(without_leader(infos, view.get()).size()));
    gauge("strom_cluster_under_replicated_partitions",
          "Replicated partitions with a replica on a broker that is down")
        .Add({})
        .Set(static_cast<double>(under_replicated(view.get()).size()));
    if (view) {
      double live = 0;
      double fenced = 0;
      for (const auto& [id, b] : view->brokers)
        (b.fenced ? fenced : live) += 1;
      auto& brokers = gauge("strom_cluster_brokers", "Registered brokers, by state");
      brokers.Add({{"state", "live"}}).Set(live);
      brokers.Add({{"state", "fenced"}}).Set(fenced);
      gauge("strom_cluster_decommissioned_brokers",
            "Brokers being decommissioned (or decommissioned and empty)")
          .Add({})
          .Set(static_cast<double>(
              std::count_if(view->brokers.begin(), view->brokers.end(),
                            [](const auto& b) { return b.second.decommissioned; })));
      double moves = 0;
      for (const auto& [name, t] : *view->topics)
        moves += static_cast<double>(t.moving.size());
      gauge("strom_cluster_partition_moves",
            "Partition moves in flight (reassignments, decommissions, balancing)")
          .Add({})
          .Set(moves);
      if (src.topics) {
        auto started = src.topics->automatic_moves();
        auto& moves_total = prometheus::BuildCounter()
                                .Name("strom_cluster_automatic_moves_total")
                                .Help(
                                    "Partition moves this broker started as controller leader, "
                                    "by reason: emptying a decommissioned broker, or "
                                    "continuous balancing's decisions (evening out replica "
                                    "counts, then disk usage)")
                                .Register(now);
        moves_total.Add({{"reason", "decommission"}})
            .Increment(static_cast<double>(started.decommission));
        moves_total.Add({{"reason", "balancing"}})
            .Increment(static_cast<double>(started.balancing));
        moves_total.Add({{"reason", "disk"}}).Increment(static_cast<double>(started.disk));
      }
      gauge("strom_cluster_preferred_elections_pending",
            "Partitions an ElectLeaders asked to be led by their preferred replica, not yet")
          .Add({})
          .Set(static_cast<double>(view->preferred_elections->size()));
      gauge("strom_controller_leader", "1 when this broker leads the controller group")
          .Add({})
          .Set(view->controller_id == src.node_id ? 1 : 0);
      gauge("strom_controller_leader_changes",
            "Times this broker saw the controller leadership move since it started")
          .Add({})
          .Set(static_cast<double>(view->leader_changes));
      gauge("strom_controller_rebuilding",
            "1 while this broker's controller replica, started without its state (a new or "
            "replaced data directory), has not yet held what the controller group committed: "
            "until then candidates count its vote only where most voters are rebuilding")
          .Add({})
          .Set(view->rebuilding ? 1 : 0);
    }
    auto& parts = gauge("strom_partitions", "Partition replicas on this node");
    auto& leaders = gauge("strom_partition_leaders", "Partitions this node leads");
    parts.Add({}).Set(static_cast<double>(infos.size()));
    leaders.Add({}).Set(static_cast<double>(std::count_if(
        infos.begin(), infos.end(), [](const auto& p) { return p.online && p.leader; })));
    double most_behind = 0;
    double won = 0;
    double rebuilding = 0;
    double rebuilding_votes = 0;
    for (const auto& p : infos) {
      most_behind = std::max(most_behind, static_cast<double>(p.follower_lag));
      won += static_cast<double>(p.elections_won);
      rebuilding += p.rebuilding ? 1 : 0;
      rebuilding_votes += static_cast<double>(p.votes_while_rebuilding);
    }
    gauge("strom_replica_rebuilding_partitions",
          "Replicas on this node that started without their state (a lost or replaced data "
          "directory) and do not yet hold what their group committed: "
          "candidates count their votes only where most voters are rebuilding")
        .Add({})
        .Set(rebuilding);
    auto& rebuilding_votes_total =
        prometheus::BuildCounter()
            .Name("strom_raft_votes_while_rebuilding_total")
            .Help(
                "Vote requests this node answered while its replica was rebuilding, by group "
                "(the controller's, the partitions'): candidates count such grants only where "
                "most voters are rebuilding, as a candidate may lack entries the replica "
                "acknowledged before it lost them")
            .Register(now);
    rebuilding_votes_total.Add({{"group", "partitions"}}).Increment(rebuilding_votes);
    if (view)
      rebuilding_votes_total.Add({{"group", "controller"}})
          .Increment(static_cast<double>(view->votes_while_rebuilding));
    gauge("strom_replica_max_follower_lag",
          "Raft indexes the furthest-behind replica of a partition this node leads lacks")
        .Add({})
        .Set(most_behind);
    gauge("strom_replica_under_replicated_partitions",
          "Partitions this node leads with a replica out of sync: down, or back and still "
          "catching up (Kafka's UnderReplicatedPartitions)")
        .Add({})
        .Set(static_cast<double>(std::count_if(infos.begin(), infos.end(),
                                               [](const auto& p) { return p.under_replicated; })));
    auto counts_op = src.partitions->replication_counters();
    auto counts = co_await std::move(counts_op);
    prometheus::BuildCounter()
        .Name("strom_replication_recovery_bytes_total")
        .Help(
            "Bytes this node's partition leaders sent to replicas catching up on what a "
            "majority already held: the new replicas of partition moves, replicas back from a "
            "restart")
        .Register(now)
        .Add({})
        .Increment(static_cast<double>(counts.recovery_bytes));
    auto& raft_messages =
        prometheus::BuildCounter()
            .Name("strom_replication_messages_total")
            .Help(
                "Raft messages of the replicated partitions' groups this node sent (`sent`), and "
                "those merged into another before leaving (`merged`: consecutive appends to one "
                "follower, answers to one leader)")
            .Register(now);
    raft_messages.Add({{"kind", "sent"}}).Increment(static_cast<double>(counts.messages_sent));
    raft_messages.Add({{"kind", "merged"}}).Increment(static_cast<double>(counts.messages_merged));
    gauge("strom_partition_elections_won",
          "Times the replicated partitions on this node became leader here since it started")
        .Add({})
        .Set(won);
    std::map<std::string, double> topic_bytes;
    std::map<std::pair<std::string, int32_t>, int64_t> end_offsets;
    for (const auto& p : infos) {
      topic_bytes[p.name.topic] += static_cast<double>(p.size_bytes);
      end_offsets[{p.name.topic, p.name.partition.value()}] = p.high_watermark;
    }
    auto& tsize = gauge("strom_topic_log_size_bytes", "Bytes of a topic's logs on this node");
    for (const auto& [t, b] : topic_bytes)
      tsize.Add({{"topic", t}}).Set(b);
    if (opts.per_partition) {
      auto& size = gauge("strom_log_size_bytes", "Bytes of a partition's log");
      auto& start = gauge("strom_log_start_offset", "First offset of a partition's log");
      auto& end = gauge("strom_log_end_offset", "High watermark of a partition");
      for (const auto& p : infos) {
        prometheus::Labels l{{"topic", p.name.topic},
                             {"partition", std::to_string(p.name.partition.value())}};
        size.Add(l).Set(static_cast<double>(p.size_bytes));
        start.Add(l).Set(static_cast<double>(p.log_start));
        end.Add(l).Set(static_cast<double>(p.high_watermark));
      }
      auto& plag = gauge("strom_partition_follower_lag",
                         "Raft indexes the furthest-behind replica of a partition lacks (leader)");
      for (const auto& p : infos) {
        if (p.replicated && p.leader) {
          plag.Add({{"topic", p.name.topic},
                    {"partition", std::to_string(p.name.partition.value())}})
              .Set(static_cast<double>(p.follower_lag));
        }
      }
    }
    auto& free = gauge("strom_disk_free_bytes", "Bytes available to stromd in a data directory");
    auto& total = gauge("strom_disk_total_bytes", "Size of the file system of a data directory");
    auto& offline = gauge("strom_log_dir_offline", "1 when a data directory went offline");
    for (const auto& d : src.logs->dirs()) {
      struct statvfs st {};
      prometheus::Labels l{{"dir", d->path().string()}};
      if (::statvfs(d->path().c_str(), &st) == 0) {
        free.Add(l).Set(static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize));
        total.Add(l).Set(static_cast<double>(st.f_blocks) * static_cast<double>(st.f_frsize));
      }
      offline.Add(l).Set(d->offline() ? 1 : 0);
    }

    auto groups_op = src.groups->group_infos();
    auto groups = co_await std::move(groups_op);
    auto& members = gauge("strom_group_members", "Members of a consumer group");
    auto& gcount = gauge("strom_groups", "Consumer groups, by state");
    auto& committed =
        gauge("strom_group_committed_offsets", "Partitions with a committed offset, by group");
    std::map<std::string, double> by_state;
    auto& lag_sum = gauge("strom_group_lag", "Consumer lag of a group: sum over its partitions");
    for (const auto& g : groups) {
      members.Add({{"group", g.group_id}}).Set(static_cast<double>(g.members));
      committed.Add({{"group", g.group_id}}).Set(static_cast<double>(g.offsets.size()));
      by_state[std::string(groups::to_string(g.state))] += 1;
      if (!opts.consumer_lag)
        continue;
      double sum = 0;
      for (const auto& [tp, off] : g.offsets) {
        auto it = end_offsets.find(tp);
        if (it != end_offsets.end())
          sum += static_cast<double>(std::max<int64_t>(0, it->second - off));
      }
      lag_sum.Add({{"group", g.group_id}}).Set(sum);
    }
    if (opts.consumer_lag) {
      auto& lag = gauge("strom_group_partition_lag",
                        "Consumer lag of a group on one partition: high watermark - committed");
      for (const auto& g : groups) {
        for (const auto& [tp, off] : g.offsets) {
          auto it = end_offsets.find(tp);
          if (it == end_offsets.end())
            continue;
          lag.Add({{"group", g.group_id},
                   {"topic", tp.first},
                   {"partition", std::to_string(tp.second)}})
              .Set(static_cast<double>(std::max<int64_t>(0, it->second - off)));
        }
      }
    }
    for (const auto& [s, n] : by_state)
      gcount.Add({{"state", s}}).Set(n);

    auto families =
        (src.metrics ? *src.metrics : metrics::default_registry()).prometheus().Collect();
    auto more = now.Collect();
    families.insert(families.end(), more.begin(), more.end());
    co_return prometheus::TextSerializer().Serialize(families);
  }
};

server::server(options opts, sources src)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(src))) {}

server::~server() {
  stop();
}

void server::start() {
  auto& i = *impl_;
  tcp::endpoint ep(asio::ip::make_address(i.opts.host), i.opts.port);
  i.acceptor.open(ep.protocol());
  i.acceptor.set_option(tcp::acceptor::reuse_address(true));
  i.acceptor.bind(ep);
  i.acceptor.listen();
  asio::co_spawn(i.io, i.accept_loop(), asio::detached);
  i.thread = std::thread([&i, node = i.src.node_id] {
    logging::set_thread_node(node);
    set_thread_name("http");
    i.io.run();
  });
  lg().info("admin API on {}://{}:{}", i.opts.tls ? "https" : "http", i.opts.host, port());
}

void server::attach(cluster::partition_manager* partitions, groups::coordinator* groups,
                    storage::log_manager* logs, std::function<int64_t()> connections,
                    std::function<std::shared_ptr<const cluster::cluster_view>()> cluster,
                    cluster::topics_frontend* topics,
                    std::function<std::shared_ptr<const cluster::security_state>()> security) {
  auto& i = *impl_;
  asio::post(i.io,
             [&i, partitions, groups, logs, connections = std::move(connections),
              cluster = std::move(cluster), topics, security = std::move(security)]() mutable {
               i.src.cluster = std::move(cluster);
               i.src.security = std::move(security);
               i.src.topics = topics;
               i.src.partitions = partitions;
               i.src.groups = groups;
               i.src.logs = logs;
               i.src.connections = std::move(connections);
             });
}

void server::stop() {
  auto& i = *impl_;
  if (!i.thread.joinable())
    return;
  asio::post(i.io, [&i] {
    boost::system::error_code ec;
    i.acceptor.close(ec);
    for (auto& s : i.sessions)
      s->socket().close(ec);
    for (auto& [c, t] : i.level_timers) {
      if (t)
        t->cancel();
    }
  });
  // Sessions waiting on shards finish when the shards answer; do not wait for them forever.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (i.open.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  i.io.stop();
  i.thread.join();
}

uint16_t server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->opts.port : ep.port();
}

}  // namespace strom::admin
