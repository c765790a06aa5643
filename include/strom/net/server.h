#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strom/net/asio.h"
#include "strom/net/frame.h"
#include "strom/net/run_clock.h"
#include "strom/net/shard_runtime.h"
#include "strom/net/tls.h"

namespace strom::net {

/// Fires once when a connection closes, so that requests parked on it (a long-poll Fetch)
/// end at once instead of holding their resources until their own deadline. Touched only on
/// the connection's shard.
class close_signal {
 public:
  [[nodiscard]] bool closed() const { return closed_; }
  /// Runs `fn` when the connection closes (at once when it has). The id is for forget().
  uint64_t on_close(std::function<void()> fn);
  void forget(uint64_t id) { callbacks_.erase(id); }
  /// Marks the connection closed and runs the callbacks (once).
  void fire();

 private:
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::function<void()>> callbacks_;
};

/// Paces an accept loop after accept() fails. Running out of descriptors or memory is cured
/// only by time (connections closing): retrying at once would spin a core and flood the log.
/// So such a failure waits, first `first`, doubling up to `max` while it keeps failing; every
/// failure is logged, rate-limited. One per accept loop, on that loop's executor.
class accept_pacer {
 public:
  explicit accept_pacer(asio::any_io_executor ex,
                        std::chrono::milliseconds first = std::chrono::milliseconds(10),
                        std::chrono::milliseconds max = std::chrono::seconds(1));
  /// After a failed accept on `listener`.
  awaitable<void> failed(const boost::system::error_code& ec, std::string_view listener);
  /// After a successful accept.
  void succeeded() { next_ = first_; }

 private:
  asio::steady_timer timer_;
  std::chrono::milliseconds first_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

/// Who sent a request.
struct connection_info {
  uint64_t id = 0;
  std::string peer;  ///< "host:port"
  size_t shard = 0;
  std::string listener;
  /// Fires when the connection closes; never null for a server's connections.
  std::shared_ptr<close_signal> closing = std::make_shared<close_signal>();
  /// What the protocol keeps per connection (the Kafka handler's authentication state); empty
  /// until it stores something. Touched only on the connection's shard. Never null.
  std::shared_ptr<std::any> session = std::make_shared<std::any>();
  /// The largest frame the connection reads now: server_options::initial_max_frame_bytes
  /// until the protocol raises it (to max_frame_bytes at most) once the client authenticated.
  std::shared_ptr<int32_t> max_frame_bytes = std::make_shared<int32_t>(INT32_MAX);
  /// On a TLS listener, the subject of the client's certificate ("CN=alice,O=Example") when
  /// it presented one the CA signed.
  std::optional<std::string> tls_subject;
  /// The time the connection's coroutines ran on its shard (reading, handling, writing; never
  /// their waits): they run on a timed_executor of this meter. Null outside a server.
  std::shared_ptr<run_meter> run_time;
};

enum class disposition {
  respond,             ///< write `frame` as the response
  no_response,         ///< nothing to write (e.g. Kafka produce with acks=0)
  close,               ///< close the connection after the responses before this one
  respond_then_close,  ///< write `frame`, then close (a refused authentication)
};

struct handler_result {
  disposition what = disposition::respond;
  out_frame frame;
};

/// Turns request frames into responses. Knows the protocol; the server does not.
class request_handler {
 public:
  virtual ~request_handler() = default;
  /// Called on the connection's shard with one request frame (without its size prefix).
  /// The returned awaitable must complete on that same shard's executor.
  virtual awaitable<handler_result> handle(const connection_info& who, frame_bytes frame) = 0;
  /// Whether the next request's coroutine runs on the connection's timed executor, its run
  /// time counted on connection_info::run_time (a request-time quota exists); else on the
  /// shard's plain executor, at no cost. Called on the connection's shard for each request.
  [[nodiscard]] virtual bool times_requests() const { return false; }
};

struct server_options {
  std::string name = "client";
  std::string host = "127.0.0.1";
  uint16_t port = 9092;
  /// Frames larger than this (or with a negative size) close the connection before any
  /// allocation.
  int32_t max_frame_bytes = 100 << 20;
  /// The frame limit of a new connection, until the protocol raises it (a listener that
  /// authenticates its clients reads small frames only before they did: Kafka's
  /// sasl.server.max.receive.size); 0 = max_frame_bytes from the start.
  int32_t initial_max_frame_bytes = 0;
  /// 0 = unlimited; counted over this server's connections. A connection beyond it is
  /// closed as soon as it is accepted.
  int32_t max_connections = 0;
  /// 0 = unlimited; connections of this server from one client address.
  int32_t max_connections_per_ip = 0;
  /// Requests read but not yet answered, per connection. At the limit the connection stops
  /// reading until a response is written (back-pressure). The bytes of such requests are
  /// bounded too: once they reach max_frame_bytes, no further request is read.
  int32_t max_inflight = 100;
  /// How long accepting pauses after accept() failed for want of descriptors or memory
  /// (doubling up to 1 s while it keeps failing; see accept_pacer).
  std::chrono::milliseconds accept_backoff{10};
  std::chrono::milliseconds idle_timeout{600000};
  /// Time allowed for the rest of a frame once its size prefix arrived.
  std::chrono::milliseconds request_timeout{30000};
  int32_t send_buffer_bytes = -1;
  int32_t receive_buffer_bytes = -1;
  /// TLS: every connection starts with a TLS handshake, within handshake_timeout (a client
  /// that speaks plaintext, or sends garbage, is closed by then at the latest). Null: plain
  /// TCP.
  std::shared_ptr<tls_config> tls;
  std::chrono::milliseconds handshake_timeout{10000};
  /// Called (on the connection's shard) when a TLS handshake fails, with why: a client
  /// certificate refused, plaintext, garbage, a timeout. Optional.
  std::function<void(const connection_info&, std::string_view why)> on_tls_failure;
};

/// A TCP listener spread over the shards: one acceptor per shard on the same port
/// (SO_REUSEPORT), so each connection lives on the shard that accepted it.
/// Per connection: size-prefixed frames, pipelined requests answered in request order,
/// bounded in-flight requests, idle and slow-request timeouts.
class server {
 public:
  server(shard_runtime& rt, server_options opts, std::shared_ptr<request_handler> handler);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts accepting on every shard. Throws on bind errors (startup only).
  void start();
  /// Stops accepting, stops reading new requests, lets in-flight requests finish and their
  /// responses be written, for at most `drain`; then closes what is left. Blocks the caller
  /// (who must not be a shard thread).
  void stop(std::chrono::milliseconds drain);

  [[nodiscard]] uint16_t port() const { return bound_port_; }
  [[nodiscard]] int64_t connections() const { return open_->load(); }
  [[nodiscard]] uint64_t accepted() const { return accepted_.load(); }
  /// Connections closed at once because a limit was reached.
  [[nodiscard]] uint64_t refused() const { return refused_.load(); }

  class connection;
  struct shard_state;
  /// Open connections per client address, over all shards.
  struct ip_table;

 private:
  awaitable<void> accept_loop(size_t shard);

  shard_runtime& rt_;
  server_options opts_;
  std::shared_ptr<request_handler> handler_;
  sharded<shard_state> shards_;
  uint16_t bound_port_ = 0;
  std::shared_ptr<std::atomic<int64_t>> open_ = std::make_shared<std::atomic<int64_t>>(0);
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  std::shared_ptr<ip_table> ips_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> stopping_{false};
};

}  // namespace strom::net
