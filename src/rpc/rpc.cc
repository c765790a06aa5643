#include "strom/rpc/rpc.h"

#include <deque>
#include <optional>

#include <fmt/format.h>

#include "strom/base/logging.h"
#include "strom/net/await.h"
#include "strom/net/tls.h"
#include "strom/rpc/errc.h"

namespace strom::rpc {

namespace asio = net::asio;
using net::awaitable;
using net::tcp;

namespace {

spdlog::logger& lg() {
  return logging::get("rpc");
}

constexpr auto use = asio::use_awaitable;
/// A client's write takes at most this many queued frames, or bytes (but always one frame).
constexpr size_t max_frames_per_write = 64;
constexpr size_t max_bytes_per_write = size_t{4} << 20;

/// A connection's bytes: the socket, and TLS over it when the internal listener uses TLS. One
/// read and one write may be under way at once (after the handshake). Neither copied nor
/// moved: the TLS stream refers to the socket.
class stream {
 public:
  stream(tcp::socket sock, std::shared_ptr<asio::ssl::context> tls)
      : sock_(std::move(sock)), ctx_(std::move(tls)) {
    if (ctx_)
      tls_.emplace(sock_, *ctx_);
  }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  tcp::socket& socket() { return sock_; }
  [[nodiscard]] bool secure() const { return tls_.has_value(); }
  /// The peer certificate's subject, when TLS carried one.
  std::optional<std::string> peer_subject() {
    return tls_ ? net::peer_subject(tls_->native_handle()) : std::nullopt;
  }

  /// The TLS handshake (nothing without TLS); the error, if any.
  awaitable<boost::system::error_code> handshake(asio::ssl::stream_base::handshake_type side) {
    boost::system::error_code ec;
    if (tls_)
      co_await tls_->async_handshake(side, asio::redirect_error(use, ec));
    co_return ec;
  }
  template <typename Buffers>
  awaitable<void> read(const Buffers& b, boost::system::error_code& ec) {
    if (tls_)
      co_await asio::async_read(*tls_, b, asio::redirect_error(use, ec));
    else
      co_await asio::async_read(sock_, b, asio::redirect_error(use, ec));
  }
  template <typename Buffers>
  awaitable<size_t> read_some(const Buffers& b, boost::system::error_code& ec) {
    if (tls_)
      co_return co_await tls_->async_read_some(b, asio::redirect_error(use, ec));
    co_return co_await sock_.async_read_some(b, asio::redirect_error(use, ec));
  }
  template <typename Buffers>
  awaitable<void> write(const Buffers& b, boost::system::error_code& ec) {
    if (tls_)
      co_await asio::async_write(*tls_, b, asio::redirect_error(use, ec));
    else
      co_await asio::async_write(sock_, b, asio::redirect_error(use, ec));
  }
  /// Ends what is under way on the connection (it fails with operation_aborted).
  void close() {
    boost::system::error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
  }

 private:
  tcp::socket sock_;
  std::shared_ptr<asio::ssl::context> ctx_;  // outlives tls_, which uses it
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
};

std::shared_ptr<asio::ssl::context> context_of(const std::shared_ptr<net::tls_config>& tls) {
  return tls ? tls->current() : nullptr;
}

/// Reads the frames of one connection through a buffer, so that the small frames that arrived
/// together cost one read, not two each (size, then the rest). A frame's payload is read into
/// its own vector (from the buffer, then straight from the stream for the part that did not
/// fit), not copied out of a body. An error (logged by the caller) when the stream or the
/// frame is bad.
class frame_reader {
 public:
  static constexpr size_t buffer_bytes = 64 * 1024;

  awaitable<result<frame>> next(stream& sock, uint32_t max_frame_bytes) {
    constexpr size_t fixed = frame_header::size_bytes;
    boost::system::error_code ec;
    while (end_ - begin_ < 4) {
      if (!co_await fill(sock, ec))
        co_return error(errc::disconnected, ec.message());
    }
    auto size = check_size(std::span<const std::byte, 4>(buf_.data() + begin_, 4), max_frame_bytes);
    if (!size)
      co_return size.error();
    // The fixed part (size checked to cover it) is small: it always comes through the buffer.
    while (end_ - begin_ < fixed) {
      if (!co_await fill(sock, ec))
        co_return error(errc::disconnected, ec.message());
    }
    auto h = decode_frame_header(std::span(buf_).subspan(begin_ + 4, fixed - 4));
    if (!h)
      co_return h.error();
    begin_ += fixed;
    frame f;
    f.header = *h;
    f.payload.resize(*size - (fixed - 4));
    auto have = std::min(end_ - begin_, f.payload.size());
    std::copy_n(buf_.begin() + static_cast<ptrdiff_t>(begin_), have, f.payload.begin());
    begin_ += have;
    if (have < f.payload.size()) {
      co_await sock.read(asio::buffer(f.payload.data() + have, f.payload.size() - have), ec);
      if (ec)
        co_return error(errc::disconnected, ec.message());
    }
    co_return f;
  }

 private:
  /// Reads what the stream has (at least a byte) after what the buffer holds.
  awaitable<bool> fill(stream& sock, boost::system::error_code& ec) {
    if (buf_.empty())
      buf_.resize(buffer_bytes);
    if (begin_ > 0) {
      std::copy(buf_.begin() + static_cast<ptrdiff_t>(begin_),
                buf_.begin() + static_cast<ptrdiff_t>(end_), buf_.begin());
      end_ -= begin_;
      begin_ = 0;
    }
    auto n = co_await sock.read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_), ec);
    end_ += n;
    co_return !ec || n > 0;
  }

  std::vector<std::byte> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

status_code status_of(const error& e) {
  if (e.is(errc::bad_payload))
    return status_code::bad_payload;
  if (e.is(errc::shutting_down))
    return status_code::shutting_down;
  return status_code::handler_failed;
}

error error_of(status_code s, std::span<const std::byte> payload) {
  std::string text(reinterpret_cast<const char*>(payload.data()), payload.size());
  switch (s) {
    case status_code::unknown_method:
      return error(errc::unknown_method, text);
    case status_code::bad_payload:
      return error(errc::bad_payload, text);
    case status_code::shutting_down:
      return error(errc::shutting_down, text);
    default:
      return error(errc::handler_failed, text);
  }
}

bytes_t text_bytes(const std::string& s) {
  auto b = std::as_bytes(std::span(s));
  return bytes_t(b.begin(), b.end());
}

}  // namespace

// --- server ----------------------------------------------------------------------------------

namespace {
struct conn {
  conn(tcp::socket s, std::shared_ptr<asio::ssl::context> tls)
      : sock(std::move(s), std::move(tls)) {}
  stream sock;
  std::string peer;
  std::deque<bytes_t> out;
  bool writing = false;
  bool closed = false;
};
}  // namespace

struct server::state : std::enable_shared_from_this<server::state> {
  state(asio::io_context& i, options o) : io(i), opts(o) {}
  asio::io_context& io;
  options opts;
  std::map<uint16_t, handler> handlers;
  std::map<uint16_t, oneway_handler> oneway;
  /// Shared with the accept loop: an I/O object with an operation pending must not be owned
  /// only by what the operation's handler keeps alive (at io_context teardown the handler's
  /// destruction would destroy it from inside its own destruction).
  std::shared_ptr<tcp::acceptor> acceptor;
  std::map<uint64_t, std::shared_ptr<conn>> conns;
  uint64_t next_id = 1;
  bool stopped = false;

  static void close(const std::shared_ptr<conn>& c) {
    if (c->closed)
      return;
    c->closed = true;
    c->sock.close();
  }

  static awaitable<void> write_loop(std::shared_ptr<conn> c) {
    while (!c->out.empty() && !c->closed) {
      auto f = std::move(c->out.front());
      c->out.pop_front();
      boost::system::error_code ec;
      co_await c->sock.write(asio::buffer(f), ec);
      if (ec) {
        close(c);
        break;
      }
    }
    c->out.clear();
    c->writing = false;
  }

  void push(const std::shared_ptr<conn>& c, bytes_t f) {
    if (c->closed)
      return;
    c->out.push_back(std::move(f));
    if (!c->writing) {
      c->writing = true;
      asio::co_spawn(io, write_loop(c), asio::detached);
    }
  }

  static awaitable<void> serve(std::shared_ptr<state> st, std::shared_ptr<conn> c, frame f) {
    bytes_t reply;
    auto code = status_code::ok;
    auto it = st->handlers.find(f.header.method);
    if (it == st->handlers.end()) {
      code = status_code::unknown_method;
      reply = text_bytes(fmt::format("no method {}", f.header.method));
    } else {
      auto h = it->second;  // the handler may be replaced while this one waits
      result<bytes_t> r = error(errc::handler_failed);
      try {
        auto op = h(std::move(f.payload));  // no temporaries inside co_await (GCC 12)
        r = co_await std::move(op);
      } catch (const std::exception& e) {
        r = error(errc::handler_failed, e.what());
      }
      if (r) {
        reply = std::move(*r);
      } else {
        code = status_of(r.error());
        reply = text_bytes(r.error().message());
      }
    }
    frame_header h{frame_header::current_version, frame_kind::response, f.header.method, code,
                   f.header.correlation};
    st->push(c, encode_frame(h, reply));
  }

  /// The TLS handshake of an accepted connection, bounded by options::handshake_timeout.
  static awaitable<bool> handshake(std::shared_ptr<state> st, std::shared_ptr<conn> c) {
    if (!c->sock.secure())
      co_return true;
    auto timer = std::make_shared<asio::steady_timer>(st->io, st->opts.handshake_timeout);
    timer->async_wait([c](boost::system::error_code e) {
      if (!e)
        close(c);  // the handshake fails with operation_aborted
    });
    auto ec = co_await c->sock.handshake(asio::ssl::stream_base::server);
    timer->cancel();
    if (ec || c->closed) {
      STROM_LOG_LIMITED(lg(), warn, "TLS handshake with {} failed: {}", c->peer,
                        ec ? ec.message() : std::string("timed out"));
      co_return false;
    }
    lg().debug("TLS connection from {} ({})", c->peer,
               c->sock.peer_subject().value_or("no certificate"));
    co_return true;
  }

  static awaitable<void> read_loop(std::shared_ptr<state> st, uint64_t id,
                                   std::shared_ptr<conn> c) {
    bool secured = co_await handshake(st, c);
    frame_reader reader;
    while (secured) {
      auto f = co_await reader.next(c->sock, st->opts.max_frame_bytes);
      if (!f) {
        if (!f.error().is(errc::disconnected) && !c->closed)
          lg().warn("closing the connection from {}: {}", c->peer, f.error().message());
        break;
      }
      if (f->header.kind == frame_kind::request) {
        asio::co_spawn(st->io, serve(st, c, std::move(*f)), asio::detached);
      } else if (f->header.kind == frame_kind::oneway) {
        auto it = st->oneway.find(f->header.method);
        if (it != st->oneway.end()) {
          it->second(std::move(f->payload));
        } else {
          STROM_LOG_LIMITED(lg(), warn, "a one-way frame of method {} from {}: nobody serves it",
                            f->header.method, c->peer);
        }
      } else {
        lg().warn("closing the connection from {}: a response where requests come", c->peer);
        break;
      }
    }
    close(c);
    st->conns.erase(id);
  }

  static awaitable<void> accept_loop(std::shared_ptr<state> st) {
    while (!st->stopped) {
      boost::system::error_code ec;
      tcp::socket sock(st->io);
      auto acceptor = st->acceptor;
      co_await acceptor->async_accept(sock, asio::redirect_error(use, ec));
      if (st->stopped)
        break;
      if (ec) {
        // Out of descriptors, say: pause instead of spinning.
        STROM_LOG_LIMITED(lg(), warn, "accept: {}", ec.message());
        asio::steady_timer t(st->io, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(use, ec));
        continue;
      }
      auto c = std::make_shared<conn>(std::move(sock), context_of(st->opts.tls));
      c->sock.socket().set_option(tcp::no_delay(true), ec);
      auto remote = c->sock.socket().remote_endpoint(ec);
      c->peer =
          ec ? std::string("?") : fmt::format("{}:{}", remote.address().to_string(), remote.port());
      auto id = st->next_id++;
      st->conns.emplace(id, c);
      asio::co_spawn(st->io, read_loop(st, id, c), asio::detached);
    }
  }
};

server::server(asio::io_context& io, options o) : st_(std::make_shared<state>(io, o)) {}

server::~server() {
  stop();
}

void server::handle(uint16_t method, handler h) {
  st_->handlers[method] = std::move(h);
}

void server::handle_oneway(uint16_t method, oneway_handler h) {
  st_->oneway[method] = std::move(h);
}

result<uint16_t> server::listen(const tcp::endpoint& at) {
  boost::system::error_code ec;
  auto a = std::make_shared<tcp::acceptor>(st_->io);
  a->open(at.protocol(), ec);
  if (!ec)
    a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    a->bind(at, ec);
  if (!ec)
    a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return error(std::make_error_code(static_cast<std::errc>(ec.value())),
                 fmt::format("internal listener {}:{}: {}", at.address().to_string(), at.port(),
                             ec.message()));
  }
  auto port = a->local_endpoint(ec).port();
  st_->acceptor = std::move(a);
  asio::co_spawn(st_->io, state::accept_loop(st_), asio::detached);
  return port;
}

void server::stop() {
  if (st_->stopped)
    return;
  st_->stopped = true;
  boost::system::error_code ignored;
  if (st_->acceptor)
    st_->acceptor->close(ignored);
  for (auto& [id, c] : st_->conns)
    state::close(c);
}

size_t server::connections() const {
  return st_->conns.size();
}

// --- client ----------------------------------------------------------------------------------

namespace {
/// One connection's life: the reader tells the writer it broke.
struct link {
  bool broken = false;
};
}  // namespace

struct client::state : std::enable_shared_from_this<client::state> {
  state(asio::io_context& i, tcp::endpoint p, options o)
      : io(i), peer(p), opts(o), wake(std::make_shared<asio::steady_timer>(i)) {}
  asio::io_context& io;
  tcp::endpoint peer;
  options opts;
  std::shared_ptr<stream> sock;
  std::shared_ptr<link> current;
  bool running = false;
  bool stopped = false;
  std::deque<bytes_t> queue;
  size_t queued = 0;
  /// The writer sleeps on it; cancel() wakes it. Shared with the writer (see server's acceptor).
  std::shared_ptr<asio::steady_timer> wake;
  uint64_t next_correlation = 1;
  struct pending_call {
    std::function<void(result<bytes_t>)> done;
    std::shared_ptr<asio::steady_timer> deadline;
  };
  std::map<uint64_t, pending_call> pending;
  uint64_t connects = 0;

  void complete(uint64_t correlation, result<bytes_t> r) {
    auto it = pending.find(correlation);
    if (it == pending.end())
      return;  // timed out already
    auto p = std::move(it->second);
    pending.erase(it);
    if (p.deadline)
      p.deadline->cancel();
    p.done(std::move(r));
  }

  void fail_all(errc why) {
    auto calls = std::move(pending);
    pending.clear();
    for (auto& [c, p] : calls) {
      if (p.deadline)
        p.deadline->cancel();
      p.done(error(why));
    }
  }

  status enqueue(bytes_t f) {
    if (stopped)
      return error(errc::shutting_down);
    if (f.size() - 4 > opts.max_frame_bytes) {
      return error(errc::frame_too_large, fmt::format("a frame of {} bytes, the limit is {}",
                                                      f.size() - 4, opts.max_frame_bytes));
    }
    if (queued + f.size() > opts.max_queued_bytes) {
      return error(errc::queue_full, fmt::format("{} bytes queued for {}:{}", queued,
                                                 peer.address().to_string(), peer.port()));
    }
    queued += f.size();
    queue.push_back(std::move(f));
    wake->cancel();
    if (!running) {
      running = true;
      asio::co_spawn(io, run(shared_from_this()), asio::detached);
    }
    return ok();
  }

  static awaitable<void> read_loop(std::shared_ptr<state> st, std::shared_ptr<stream> sock,
                                   std::shared_ptr<link> l) {
    frame_reader reader;
    for (;;) {
      auto f = co_await reader.next(*sock, st->opts.max_frame_bytes);
      if (!f || f->header.kind != frame_kind::response) {
        if (!l->broken && !st->stopped && (!f ? !f.error().is(errc::disconnected) : true)) {
          lg().warn("closing the connection to {}:{}: {}", st->peer.address().to_string(),
                    st->peer.port(),
                    f ? std::string("a frame that is no response") : f.error().message());
        }
        break;
      }
      if (f->header.status == status_code::ok)
        st->complete(f->header.correlation, std::move(f->payload));
      else
        st->complete(f->header.correlation, error_of(f->header.status, f->payload));
    }
    l->broken = true;
    sock->close();  // a write blocked on a peer that stopped reading ends too
    st->wake->cancel();
  }

  static awaitable<void> write_loop(std::shared_ptr<state> st, std::shared_ptr<stream> sock,
                                    std::shared_ptr<link> l) {
    boost::system::error_code ec;
    while (!st->stopped && !l->broken) {
      if (st->queue.empty()) {
        auto wake = st->wake;
        wake->expires_at(asio::steady_timer::time_point::max());
        co_await wake->async_wait(asio::redirect_error(use, ec));
        continue;
      }
      // Every frame queued meanwhile goes in one write (up to a bound), not one write each.
      std::vector<bytes_t> frames;
      std::vector<asio::const_buffer> buffers;
      size_t bytes = 0;
      while (!st->queue.empty() && frames.size() < max_frames_per_write &&
             (frames.empty() || bytes + st->queue.front().size() <= max_bytes_per_write)) {
        auto& f = frames.emplace_back(std::move(st->queue.front()));
        st->queue.pop_front();
        st->queued -= f.size();
        bytes += f.size();
        buffers.emplace_back(asio::buffer(f));
      }
      co_await sock->write(buffers, ec);
      if (ec)
        break;
    }
  }

  static awaitable<void> run(std::shared_ptr<state> st) {
    auto backoff = st->opts.backoff_min;
    boost::system::error_code ec;
    while (!st->stopped) {
      auto sock = std::make_shared<stream>(tcp::socket(st->io), context_of(st->opts.tls));
      st->sock = sock;
      // Bounds the connect and the TLS handshake together.
      auto timer = std::make_shared<asio::steady_timer>(st->io, st->opts.connect_timeout);
      timer->async_wait([sock](boost::system::error_code e) {
        if (!e)
          sock->close();  // the connect or the handshake fails with operation_aborted
      });
      co_await sock->socket().async_connect(st->peer, asio::redirect_error(use, ec));
      if (!ec && sock->socket().is_open()) {
        sock->socket().set_option(tcp::no_delay(true), ec);
        ec = co_await sock->handshake(asio::ssl::stream_base::client);
        if (ec) {
          if (!st->stopped) {
            STROM_LOG_LIMITED(lg(), warn, "TLS handshake with {}:{} failed: {}",
                              st->peer.address().to_string(), st->peer.port(), ec.message());
          }
          sock->close();
        }
      }
      timer->cancel();
      if (st->stopped)
        break;
      if (!ec && sock->socket().is_open()) {
        backoff = st->opts.backoff_min;
        ++st->connects;
        auto l = std::make_shared<link>();
        st->current = l;
        asio::co_spawn(st->io, read_loop(st, sock, l), asio::detached);
        auto writing = write_loop(st, sock, l);  // no temporaries inside co_await (GCC 12)
        co_await std::move(writing);
        l->broken = true;
        st->current.reset();
        sock->close();
        // What was queued for this connection, and the calls it carried, are lost with it.
        st->queue.clear();
        st->queued = 0;
        st->fail_all(st->stopped ? errc::shutting_down : errc::disconnected);
        if (st->stopped)
          break;
      }
      asio::steady_timer pause(st->io, backoff);
      co_await pause.async_wait(asio::redirect_error(use, ec));
      backoff = std::min(backoff * 2, st->opts.backoff_max);
    }
    st->running = false;
  }
};

client::client(asio::io_context& io, tcp::endpoint peer, options o)
    : st_(std::make_shared<state>(io, peer, o)) {}

client::~client() {
  stop();
}

awaitable<result<bytes_t>> client::call(uint16_t method, bytes_t payload,
                                        std::chrono::milliseconds timeout) {
  auto st = st_;
  auto correlation = st->next_correlation++;
  frame_header h{frame_header::current_version, frame_kind::request, method, status_code::ok,
                 correlation};
  if (auto s = st->enqueue(encode_frame(h, payload)); !s)
    co_return s.error();
  // The waiting goes through named objects: GCC 12 destroys temporaries inside a co_await
  // expression twice (here: the lambda's shared_ptr, which then frees the state early).
  auto start = [st, correlation, timeout](std::function<void(result<bytes_t>)> done) {
    auto deadline = std::make_shared<asio::steady_timer>(st->io, timeout);
    std::weak_ptr<state> weak = st;
    deadline->async_wait([weak, correlation](boost::system::error_code ec) {
      if (ec)
        return;
      if (auto s = weak.lock())
        s->complete(correlation, error(errc::timed_out));
    });
    st->pending.emplace(correlation, state::pending_call{std::move(done), deadline});
  };
  auto op = net::await_callback<result<bytes_t>>(std::move(start));
  co_return co_await std::move(op);
}

status client::send(uint16_t method, std::span<const std::byte> payload) {
  frame_header h{frame_header::current_version, frame_kind::oneway, method, status_code::ok, 0};
  return st_->enqueue(encode_frame(h, payload));
}

status client::send_frame(uint16_t method, std::vector<std::byte> frame) {
  frame_header h{frame_header::current_version, frame_kind::oneway, method, status_code::ok, 0};
  write_frame_header(h, frame);
  return st_->enqueue(std::move(frame));
}

void client::stop() {
  if (st_->stopped)
    return;
  st_->stopped = true;
  if (st_->sock)
    st_->sock->close();
  if (st_->current)
    st_->current->broken = true;
  st_->wake->cancel();
  st_->queue.clear();
  st_->queued = 0;
  st_->fail_all(errc::shutting_down);
}

bool client::connected() const {
  return st_->current != nullptr;
}

uint64_t client::connects() const {
  return st_->connects;
}

size_t client::queued_bytes() const {
  return st_->queued;
}

}  // namespace strom::rpc
