#include "strom/net/server.h"

#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <unordered_map>

#include "strom/base/logging.h"
#include "strom/bytes/endian.h"

namespace strom::net {

namespace {
spdlog::logger& lg() {
  return logging::get("net");
}
using clock_type = std::chrono::steady_clock;
}  // namespace

uint64_t close_signal::on_close(std::function<void()> fn) {
  if (closed_) {
    fn();
    return 0;
  }
  auto id = next_id_++;
  callbacks_.emplace(id, std::move(fn));
  return id;
}

void close_signal::fire() {
  if (closed_)
    return;
  closed_ = true;
  auto callbacks = std::move(callbacks_);
  callbacks_.clear();
  for (auto& [id, fn] : callbacks)
    fn();
}

/// Open connections per client address, over all shards (a mutex: touched once per
/// connection, never per request).
struct server::ip_table {
  std::mutex mu;  // guards open
  std::unordered_map<std::string, int32_t> open;

  /// Counts a connection from `ip` unless `limit` (> 0) are open already.
  bool add(const std::string& ip, int32_t limit) {
    std::lock_guard lock(mu);
    auto& n = open[ip];
    if (limit > 0 && n >= limit) {
      if (n == 0)
        open.erase(ip);
      return false;
    }
    ++n;
    return true;
  }
  void remove(const std::string& ip) {
    std::lock_guard lock(mu);
    auto it = open.find(ip);
    if (it != open.end() && --it->second <= 0)
      open.erase(it);
  }
};

/// Connections of one shard; touched only on that shard's thread.
struct server::shard_state {
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unordered_map<uint64_t, std::weak_ptr<connection>> connections;
};

/// One client connection. Lives on one shard; every member is touched only there.
/// Three coroutines share it: the reader (frames in), the writer (responses out, in request
/// order) and the watchdog (idle and slow-request deadlines). Handlers run concurrently and
/// fill their slot; the writer sends slots strictly in order.
class server::connection : public std::enable_shared_from_this<server::connection> {
 public:
  connection(server& srv, tcp::socket sock, connection_info info, std::string ip,
             std::shared_ptr<asio::ssl::context> tls)
      : srv_(srv),
        sock_(std::move(sock)),
        tls_ctx_(std::move(tls)),
        info_(std::move(info)),
        ex_(srv.rt_.executor(info_.shard), info_.run_time),
        reader_wake_(sock_.get_executor()),
        writer_wake_(sock_.get_executor()),
        watchdog_(sock_.get_executor()),
        open_(srv.open_),
        ips_(srv.ips_),
        ip_(std::move(ip)) {
    if (tls_ctx_)
      tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, *tls_ctx_);
  }

  void start() {
    auto self = shared_from_this();
    asio::co_spawn(
        sock_.get_executor(), [self] { return self->watch(); }, asio::detached);
    if (tls_) {
      asio::co_spawn(
          sock_.get_executor(), [self] { return self->handshake(); }, asio::detached);
      return;
    }
    start_io();
  }

  void start_io() {
    auto self = shared_from_this();
    asio::co_spawn(
        sock_.get_executor(), [self] { return self->reader(); }, asio::detached);
    asio::co_spawn(
        sock_.get_executor(), [self] { return self->writer(); }, asio::detached);
  }

  /// The TLS handshake, bounded by handshake_timeout (the watchdog closes the socket).
  awaitable<void> handshake() {
    auto self = shared_from_this();
    set_deadline(clock_type::now() + srv_.opts_.handshake_timeout);
    boost::system::error_code ec;
    co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) {
      auto why = ec && !closed_ ? ec.message() : std::string("timed out or closed");
      STROM_LOG_LIMITED(lg(), info, "connection {} from {}: TLS handshake failed: {}", info_.id,
                        info_.peer, why);
      if (srv_.opts_.on_tls_failure)
        srv_.opts_.on_tls_failure(info_, why);
      close();
      co_return;
    }
    info_.tls_subject = peer_subject(tls_->native_handle());
    set_deadline(clock_type::time_point::max());
    start_io();
  }

  template <typename Buffers>
  awaitable<void> read_all(const Buffers& b) {
    if (tls_)
      co_await asio::async_read(*tls_, b, asio::use_awaitable);
    else
      co_await asio::async_read(sock_, b, asio::use_awaitable);
  }
  template <typename Buffers>
  awaitable<void> write_all(const Buffers& b) {
    if (tls_)
      co_await asio::async_write(*tls_, b, asio::use_awaitable);
    else
      co_await asio::async_write(sock_, b, asio::use_awaitable);
  }

  /// Stop reading new requests; what is in flight is still answered.
  void drain() {
    draining_ = true;
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_receive, ec);
    notify();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    watchdog_.cancel();
    notify();
    info_.closing->fire();  // parked requests end now, not at their own deadline
  }

  ~connection() {
    --*open_;  // the counters outlive the server if a shard destroys this late
    ips_->remove(ip_);
    lg().debug("connection {} from {} closed", info_.id, info_.peer);
  }

 private:
  struct slot {
    bool ready = false;
    size_t request_bytes = 0;
    handler_result result;
  };

  void notify() {
    reader_wake_.cancel();
    writer_wake_.cancel();
  }

  awaitable<void> wait(asio::steady_timer& t) {
    t.expires_at(clock_type::time_point::max());
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  void set_deadline(clock_type::time_point d) {
    deadline_ = d;
    watchdog_.expires_at(d);  // wakes the watchdog to re-arm on the new deadline
  }

  awaitable<void> watch() {
    auto self = shared_from_this();
    while (!closed_) {
      boost::system::error_code ec;
      co_await watchdog_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (closed_)
        break;
      if (clock_type::now() >= deadline_) {
        lg().debug("connection {} from {}: {} timeout", info_.id, info_.peer,
                   reading_body_ ? "request" : "idle");
        close();
      }
    }
  }

  awaitable<void> reader() {
    auto self = shared_from_this();
    const auto& o = srv_.opts_;
    bool peer_gone = false;
    try {
      while (!closed_ && !draining_) {
        while ((static_cast<int32_t>(pending_.size()) >= o.max_inflight ||
                pending_bytes_ >= static_cast<size_t>(o.max_frame_bytes)) &&
               !closed_) {
          set_deadline(clock_type::time_point::max());  // back-pressure is not idleness
          co_await wait(reader_wake_);
        }
        if (closed_ || draining_)
          break;
        set_deadline(pending_.empty() ? clock_type::now() + o.idle_timeout
                                      : clock_type::time_point::max());
        std::array<std::byte, 4> prefix{};
        co_await read_all(asio::buffer(prefix));
        auto size = bytes::read_be<int32_t>(prefix.data());
        auto limit = std::min(*info_.max_frame_bytes, o.max_frame_bytes);
        if (size < 0 || size > limit) {
          STROM_LOG_LIMITED(lg(), warn,
                            "connection {} from {}: frame size {} outside [0, {}], closing",
                            info_.id, info_.peer, size, limit);
          break;
        }
        reading_body_ = true;
        set_deadline(clock_type::now() + o.request_timeout);
        frame_bytes frame(static_cast<size_t>(size));  // not zero-filled: read over at once
        co_await read_all(asio::buffer(frame));
        reading_body_ = false;
        auto s = std::make_shared<slot>();
        s->request_bytes = frame.size();
        pending_bytes_ += s->request_bytes;
        pending_.push_back(s);
        auto run_request = [self, s, frame = std::move(frame)]() mutable -> awaitable<void> {
          try {
            s->result = co_await self->srv_.handler_->handle(self->info_, std::move(frame));
          } catch (const std::exception& e) {
            STROM_LOG_LIMITED(lg(), err, "connection {}: request handler failed: {}",
                              self->info_.id, e.what());
            s->result = handler_result{disposition::close, {}};
          }
          s->ready = true;
          self->notify();
        };
        // Timed only while the handler asks (a request-time quota exists): what the
        // request's coroutine runs counts, its waits do not.
        if (srv_.handler_->times_requests())
          asio::co_spawn(ex_, std::move(run_request), asio::detached);
        else
          asio::co_spawn(sock_.get_executor(), std::move(run_request), asio::detached);
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::eof && e.code() != asio::error::operation_aborted) {
        lg().debug("connection {} from {}: read: {}", info_.id, info_.peer, e.what());
      }
      // The peer went away (or the socket failed): nobody will read the responses still
      // pending, so close now and let parked requests end, as Kafka closes a channel on EOF.
      // A drain shuts the receive side down itself and still answers what is in flight.
      peer_gone = !draining_;
    }
    reader_done_ = true;
    set_deadline(clock_type::time_point::max());
    notify();
    if (peer_gone)
      close();
  }

  awaitable<void> write_frame(out_frame& f) {
    std::array<std::byte, 4> prefix{};
    bytes::write_be<int32_t>(prefix.data(), static_cast<int32_t>(f.size()));
    std::vector<asio::const_buffer> bufs{asio::buffer(prefix)};
    // Small file ranges (a consumer at the tail gets a batch or two per partition) are read
    // into memory and go out in one gathered write with the rest of the frame: one system
    // call and one TCP segment train instead of a write and a sendfile per partition.
    uint64_t staged_bytes = 0;
    for (const auto& c : f.chunks) {
      if (c.is_file() && c.length <= inline_file_bytes &&
          staged_bytes + c.length <= inline_frame_bytes)
        staged_bytes += c.length;
    }
    frame_bytes staged(staged_bytes);  // never grows: the buffers below point into it
    size_t used = 0;
    for (auto& c : f.chunks) {
      if (!c.is_file()) {
        if (!c.bytes.empty())
          bufs.push_back(asio::buffer(c.bytes));
        continue;
      }
      if (c.length <= inline_file_bytes && used + c.length <= staged.size()) {
        read_file(c, std::span(staged).subspan(used, c.length));
        bufs.push_back(asio::buffer(staged.data() + used, c.length));
        used += c.length;
        continue;
      }
      if (!bufs.empty()) {
        co_await write_all(bufs);
        bufs.clear();
      }
      if (tls_)
        co_await send_file_through_tls(c);
      else
        co_await send_file(c);
    }
    if (!bufs.empty())
      co_await write_all(bufs);
  }

  /// A file range through TLS: read and encrypted in pieces (sendfile cannot encrypt).
  awaitable<void> send_file_through_tls(const out_chunk& c) {
    constexpr uint64_t piece = 256 << 10;
    frame_bytes buf(static_cast<size_t>(std::min(c.length, piece)));
    uint64_t done = 0;
    while (done < c.length) {
      auto n = std::min(piece, c.length - done);
      out_chunk part = c;
      part.offset = c.offset + done;
      part.length = n;
      read_file(part, std::span(buf).first(static_cast<size_t>(n)));
      co_await write_all(asio::buffer(buf.data(), static_cast<size_t>(n)));
      done += n;
    }
  }

  static constexpr uint64_t inline_file_bytes = 32 << 10;    ///< per file range
  static constexpr uint64_t inline_frame_bytes = 256 << 10;  ///< per response

  /// pread() of a whole file range (from the page cache, as sendfile would read it).
  static void read_file(const out_chunk& c, std::span<std::byte> out) {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n =
          ::pread(c.fd, out.data() + done, out.size() - done, static_cast<off_t>(c.offset + done));
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n == 0)
        throw boost::system::system_error(asio::error::eof, "file shorter than the response");
      if (errno == EINTR)
        continue;
      throw boost::system::system_error(
          boost::system::error_code(errno, boost::system::system_category()), "pread");
    }
  }

  /// sendfile() from the segment file straight to the socket, waiting for writability.
  awaitable<void> send_file(const out_chunk& c) {
    sock_.non_blocking(true);
    auto off = static_cast<off_t>(c.offset);
    uint64_t left = c.length;
    while (left > 0) {
      ssize_t n = ::sendfile(sock_.native_handle(), c.fd, &off, left);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) {
        throw boost::system::system_error(asio::error::eof, "file shorter than the response");
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        co_await sock_.async_wait(tcp::socket::wait_write, asio::use_awaitable);
        continue;
      }
      if (errno == EINTR)
        continue;
      throw boost::system::system_error(
          boost::system::error_code(errno, boost::system::system_category()), "sendfile");
    }
  }

  awaitable<void> writer() {
    auto self = shared_from_this();
    try {
      for (;;) {
        while (!closed_ && (pending_.empty() || !pending_.front()->ready)) {
          if (reader_done_ && pending_.empty())
            break;
          co_await wait(writer_wake_);
        }
        if (closed_ || pending_.empty())
          break;
        auto s = pending_.front();
        pending_.pop_front();
        pending_bytes_ -= s->request_bytes;
        reader_wake_.cancel();  // room for another request
        if (s->result.what == disposition::close)
          break;
        if (s->result.what == disposition::respond ||
            s->result.what == disposition::respond_then_close)
          co_await write_frame(s->result.frame);
        if (s->result.what == disposition::respond_then_close)
          break;
      }
    } catch (const boost::system::system_error& e) {
      lg().debug("connection {} from {}: write: {}", info_.id, info_.peer, e.what());
    }
    close();
  }

  server& srv_;
  tcp::socket sock_;
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  connection_info info_;
  /// What the connection's requests run on while they are timed: the shard's executor, timed
  /// (info_.run_time).
  timed_executor<asio::io_context::executor_type> ex_;
  asio::steady_timer reader_wake_;
  asio::steady_timer writer_wake_;
  asio::steady_timer watchdog_;
  clock_type::time_point deadline_ = clock_type::time_point::max();
  std::deque<std::shared_ptr<slot>> pending_;
  size_t pending_bytes_ = 0;  ///< request bytes of pending_
  bool reading_body_ = false;
  bool reader_done_ = false;
  bool draining_ = false;
  bool closed_ = false;
  std::shared_ptr<std::atomic<int64_t>> open_;
  std::shared_ptr<ip_table> ips_;
  std::string ip_;
};

server::server(shard_runtime& rt, server_options opts, std::shared_ptr<request_handler> handler)
    : rt_(rt),
      opts_(std::move(opts)),
      handler_(std::move(handler)),
      shards_(rt),
      ips_(std::make_shared<ip_table>()) {}

server::~server() = default;

void server::start() {
  // sendfile() to a socket the peer closed raises SIGPIPE; report EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  auto addr = asio::ip::make_address(opts_.host);
  uint16_t port = opts_.port;
  for (size_t i = 0; i < rt_.count(); ++i) {
    // One at a time, on the acceptor's shard: the first one picks the port.
    rt_.run_on(i, [&] {
      auto acc = std::make_unique<tcp::acceptor>(rt_.context(i));
      tcp::endpoint ep(addr, port);
      acc->open(ep.protocol());
      acc->set_option(asio::socket_base::reuse_address(true));
      int one = 1;
      ::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      acc->bind(ep);
      acc->listen(asio::socket_base::max_listen_connections);
      if (port == 0)
        port = acc->local_endpoint().port();  // the other shards share it
      shards_.on(i).acceptor = std::move(acc);
    });
  }
  bound_port_ = port;
  for (size_t i = 0; i < rt_.count(); ++i)
    rt_.spawn(i, [this, i] { return accept_loop(i); });
  lg().info("listener {} on {}:{} ({} shard(s))", opts_.name, opts_.host, bound_port_, rt_.count());
}

namespace {
/// accept() failed for want of a resource that closing connections gives back. (Compared by
/// value: comparing with an errc condition makes a virtual call UBSan rejects in Boost 1.74.)
bool out_of_resources(const boost::system::error_code& ec) {
  if (ec.category() != asio::error::get_system_category())
    return false;
  int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOMEM || v == ENOBUFS;
}
}  // namespace

accept_pacer::accept_pacer(asio::any_io_executor ex, std::chrono::milliseconds first,
                           std::chrono::milliseconds max)
    : timer_(std::move(ex)), first_(first), max_(max), next_(first) {}

awaitable<void> accept_pacer::failed(const boost::system::error_code& ec,
                                     std::string_view listener) {
  STROM_LOG_LIMITED(lg(), warn, "accept on {}: {}", listener, ec.message());
  if (!out_of_resources(ec))
    co_return;
  // The pending connection stays in the backlog until descriptors come back.
  timer_.expires_after(next_);
  boost::system::error_code wait_ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
  next_ = std::min(next_ * 2, max_);
}

awaitable<void> server::accept_loop(size_t shard) {
  auto& st = shards_.on(shard);
  accept_pacer pacer(rt_.context(shard).get_executor(), opts_.accept_backoff);
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket sock =
        co_await st.acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_)
        break;
      co_await pacer.failed(ec, opts_.name);
      continue;
    }
    pacer.succeeded();
    ++accepted_;
    auto remote = sock.remote_endpoint(ec);
    std::string ip = ec ? "?" : remote.address().to_string();
    // Take the place before anything else: the shards accept at once, and a check followed by
    // a later increment would let two of them take the last place.
    if (open_->fetch_add(1) >= opts_.max_connections && opts_.max_connections > 0) {
      --*open_;
      ++refused_;
      STROM_LOG_LIMITED(lg(), warn, "listener {}: {} connections open, refusing one from {}",
                        opts_.name, open_->load(), ip);
      sock.close(ec);
      continue;
    }
    if (!ips_->add(ip, opts_.max_connections_per_ip)) {
      --*open_;
      ++refused_;
      STROM_LOG_LIMITED(lg(), warn, "listener {}: {} connections open from {}, refusing another",
                        opts_.name, opts_.max_connections_per_ip, ip);
      sock.close(ec);
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    if (opts_.send_buffer_bytes > 0) {
      sock.set_option(asio::socket_base::send_buffer_size(opts_.send_buffer_bytes), ec);
    }
    if (opts_.receive_buffer_bytes > 0) {
      sock.set_option(asio::socket_base::receive_buffer_size(opts_.receive_buffer_bytes), ec);
    }
    connection_info info;
    info.id = next_id_++;
    info.peer = remote.address().is_v6() ? "[" + ip + "]:" + std::to_string(remote.port())
                                         : ip + ":" + std::to_string(remote.port());
    info.shard = shard;
    info.listener = opts_.name;
    info.run_time = std::make_shared<run_meter>();
    info.max_frame_bytes = std::make_shared<int32_t>(
        opts_.initial_max_frame_bytes > 0 ? opts_.initial_max_frame_bytes : opts_.max_frame_bytes);
    auto c = std::make_shared<connection>(*this, std::move(sock), info, std::move(ip),
                                          opts_.tls ? opts_.tls->current() : nullptr);
    // Forget connections that are gone.
    std::erase_if(st.connections, [](const auto& e) { return e.second.expired(); });
    st.connections[info.id] = c;
    lg().debug("connection {} from {} on shard {}", info.id, info.peer, shard);
    c->start();
  }
}

void server::stop(std::chrono::milliseconds drain) {
  if (stopping_.exchange(true))
    return;
  auto on_each_shard = [&](auto fn) {
    rt_.run_on_all([this, &fn](size_t shard) { fn(shards_.on(shard)); });
  };
  on_each_shard([](shard_state& st) {
    boost::system::error_code ec;
    if (st.acceptor)
      st.acceptor->close(ec);
    for (auto& [id, w] : st.connections) {
      if (auto c = w.lock())
        c->drain();
    }
  });
  auto deadline = clock_type::now() + drain;
  while (open_->load() > 0 && clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (open_->load() > 0) {
    lg().warn("listener {}: closing {} connection(s) still busy after the drain timeout",
              opts_.name, open_->load());
  }
  on_each_shard([](shard_state& st) {
    for (auto& [id, w] : st.connections) {
      if (auto c = w.lock())
        c->close();
    }
    st.connections.clear();
  });
}

}  // namespace strom::net
