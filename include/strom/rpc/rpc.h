#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "strom/base/result.h"
#include "strom/net/asio.h"
#include "strom/rpc/frame.h"

namespace strom::net {
class tls_config;
}

namespace strom::rpc {

using bytes_t = std::vector<std::byte>;

/// Serves inter-broker requests on a listening socket (the internal listener). Each connection
/// reads its frames one after another and runs every request's handler as a coroutine of its
/// own, so replies leave in the order they are ready: a slow append never holds back a
/// heartbeat. Writes to one connection are serialised through a queue. One-way frames go to
/// their handler and get no reply. A bad frame (size, version, kind) closes its connection,
/// logged once for that connection; a request for a method nobody serves gets an
/// `unknown_method` reply. Everything runs on the io_context given; the server is not
/// thread-safe.
class server {
 public:
  using handler = std::function<net::awaitable<result<bytes_t>>(bytes_t payload)>;
  using oneway_handler = std::function<void(bytes_t payload)>;
  struct options {
    uint32_t max_frame_bytes = 64u << 20;
    /// TLS (server role) when set: each accepted connection takes the context current then.
    std::shared_ptr<net::tls_config> tls;
    /// A TLS handshake not done within it closes the connection.
    std::chrono::milliseconds handshake_timeout{10000};
  };
  server(net::asio::io_context& io, options o);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  void handle(uint16_t method, handler h);
  void handle_oneway(uint16_t method, oneway_handler h);
  /// Binds `at` and accepts connections; returns the bound port (`at` may ask for port 0).
  result<uint16_t> listen(const net::tcp::endpoint& at);
  /// Stops accepting and closes every connection. On the io_context's thread, or while it
  /// does not run. Idempotent.
  void stop();
  /// Connections open now.
  [[nodiscard]] size_t connections() const;

  struct state;

 private:
  std::shared_ptr<state> st_;
};

/// One outbound connection to a peer broker. It connects on first use and again after any
/// failure, with a connect timeout and an exponential backoff between attempts. Frames wait in
/// a bounded queue (`max_queued_bytes`; beyond it a send fails with errc::queue_full:
/// back-pressure); when the connection goes, queued frames are dropped and calls in flight fail
/// with errc::disconnected. Calls carry correlation ids and are answered in any order, each
/// within its own deadline. Not thread-safe: one io_context.
class client {
 public:
  struct options {
    uint32_t max_frame_bytes = 64u << 20;
    size_t max_queued_bytes = 16u << 20;
    /// Bounds the connect and the TLS handshake together.
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds backoff_min{20};
    std::chrono::milliseconds backoff_max{2000};
    /// TLS (client role) when set: each connection takes the context current when it opens.
    std::shared_ptr<net::tls_config> tls;
  };
  client(net::asio::io_context& io, net::tcp::endpoint peer, options o);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends a request and waits for its response (or the deadline, or a disconnect).
  net::awaitable<result<bytes_t>> call(uint16_t method, bytes_t payload,
                                       std::chrono::milliseconds timeout);
  /// Queues a one-way frame. errc::queue_full under back-pressure, errc::shutting_down after
  /// stop(); errc::frame_too_large above the frame limit.
  status send(uint16_t method, std::span<const std::byte> payload);
  /// send() of a frame built in place: `frame` is the whole frame, its first
  /// frame_header::size_bytes left for the header this fills in (write_frame_header).
  status send_frame(uint16_t method, std::vector<std::byte> frame);
  /// Closes the connection and fails what waits. Idempotent.
  void stop();
  [[nodiscard]] bool connected() const;
  /// Successful connects so far (the first one included).
  [[nodiscard]] uint64_t connects() const;
  /// Bytes queued and not yet written.
  [[nodiscard]] size_t queued_bytes() const;

  struct state;

 private:
  std::shared_ptr<state> st_;
};

}  // namespace strom::rpc
