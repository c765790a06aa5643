#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "strom/bytes/endian.h"
#include "strom/net/asio.h"
#include "strom/net/server.h"

namespace strom::net {
namespace {

using namespace std::chrono_literals;

/// Echoes each frame back after a delay given by its first byte (in ms), so that later
/// requests can finish first; a frame starting with 0xff asks for no response, 0xfe to close,
/// 0xfd to park until the connection closes (as a long-poll Fetch does).
class echo_handler final : public request_handler {
 public:
  awaitable<handler_result> handle(const connection_info& who, frame_bytes frame) override {
    ++calls;
    auto delay = frame.empty() ? 0 : static_cast<int>(frame[0]);
    if (delay == 0xff)
      co_return handler_result{disposition::no_response, {}};
    if (delay == 0xfe)
      co_return handler_result{disposition::close, {}};
    if (delay == 0xfd) {
      auto t = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
      t->expires_at(asio::steady_timer::time_point::max());
      auto id = who.closing->on_close([t] { t->cancel(); });
      boost::system::error_code ec;
      co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      who.closing->forget(id);
      ++parked_ended;
      co_return handler_result{disposition::close, {}};
    }
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(delay));
    co_await t.async_wait(asio::use_awaitable);
    out_frame f;
    out_chunk c;
    c.bytes.assign(frame.begin(), frame.end());
    f.chunks.push_back(std::move(c));
    co_return handler_result{disposition::respond, std::move(f)};
  }
  std::atomic<int> calls{0};
  std::atomic<int> parked_ended{0};
};

/// A blocking loopback client.
struct client {
  int fd = -1;
  explicit client(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~client() { ::close(fd); }
  void send_raw(const void* p, size_t n) { ASSERT_EQ(::send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n); }
  void send_frame(std::vector<std::byte> body) {
    std::byte prefix[4];
    bytes::write_be<int32_t>(prefix, static_cast<int32_t>(body.size()));
    send_raw(prefix, 4);
    if (!body.empty())
      send_raw(body.data(), body.size());
  }
  /// Reads one frame; nullopt when the server closed the connection.
  std::optional<std::vector<std::byte>> read_frame() {
    std::byte prefix[4];
    if (!read_exact(prefix, 4))
      return std::nullopt;
    std::vector<std::byte> body(static_cast<size_t>(bytes::read_be<int32_t>(prefix)));
    if (!read_exact(body.data(), body.size()))
      return std::nullopt;
    return body;
  }
  bool read_exact(void* p, size_t n) {
    auto* c = static_cast<char*>(p);
    while (n > 0) {
      ssize_t r = ::recv(fd, c, n, 0);
      if (r <= 0)
        return false;
      c += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  bool closed_by_peer() {
    char b;
    return ::recv(fd, &b, 1, 0) == 0;
  }
};

class server_test : public ::testing::Test {
 protected:
  void start(server_options o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    srv_ = std::make_unique<server>(rt_, o, handler_);
    rt_.start();
    srv_->start();
  }
  void TearDown() override {
    if (srv_)
      srv_->stop(1s);
    rt_.stop();
  }
  shard_runtime rt_{2};
  std::shared_ptr<echo_handler> handler_ = std::make_shared<echo_handler>();
  std::unique_ptr<server> srv_;
};

std::vector<std::byte> body(std::initializer_list<int> v) {
  std::vector<std::byte> b;
  for (int x : v)
    b.push_back(static_cast<std::byte>(x));
  return b;
}

TEST_F(server_test, PipelinedResponsesComeBackInRequestOrder) {
  start();
  client c(srv_->port());
  // Later requests finish first (decreasing delays); responses must still be in order.
  for (int i = 0; i < 10; ++i)
    c.send_frame(body({50 - 5 * i, i}));
  for (int i = 0; i < 10; ++i) {
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->size(), 2u);
    EXPECT_EQ(static_cast<int>((*f)[1]), i);
  }
}

TEST_F(server_test, NoResponseAndCloseDispositions) {
  start();
  client c(srv_->port());
  c.send_frame(body({0xff, 1}));
  c.send_frame(body({0, 2}));
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(static_cast<int>((*f)[1]), 2);  // the first got no response
  c.send_frame(body({0, 3}));
  c.send_frame(body({0xfe}));
  f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(static_cast<int>((*f)[1]), 3);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(server_test, OversizeAndNegativeFramesCloseBeforeAllocating) {
  server_options o;
  o.max_frame_bytes = 1024;
  start(o);
  {
    client c(srv_->port());
    std::byte prefix[4];
    bytes::write_be<int32_t>(prefix, 2'000'000'000);
    c.send_raw(prefix, 4);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    client c(srv_->port());
    std::byte prefix[4];
    bytes::write_be<int32_t>(prefix, -1);
    c.send_raw(prefix, 4);
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_EQ(handler_->calls.load(), 0);
  client ok(srv_->port());  // the server still serves others
  ok.send_frame(body({0, 7}));
  EXPECT_TRUE(ok.read_frame());
}

TEST_F(server_test, IdleAndSlowClientsAreClosed) {
  server_options o;
  o.idle_timeout = 200ms;
  o.request_timeout = 200ms;
  start(o);
  client idle(srv_->port());
  EXPECT_TRUE(idle.closed_by_peer());
  client slow(srv_->port());
  std::byte prefix[4];
  bytes::write_be<int32_t>(prefix, 10);
  slow.send_raw(prefix, 4);
  slow.send_raw("ab", 2);  // 8 bytes never come
  EXPECT_TRUE(slow.closed_by_peer());
}

TEST_F(server_test, MaxConnectionsRefusesExtraConnections) {
  server_options o;
  o.max_connections = 2;
  start(o);
  client a(srv_->port());
  client b(srv_->port());
  a.send_frame(body({0, 1}));
  b.send_frame(body({0, 1}));
  ASSERT_TRUE(a.read_frame());
  ASSERT_TRUE(b.read_frame());
  client c(srv_->port());
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(server_test, BoundedInflightStopsReading) {
  server_options o;
  o.max_inflight = 2;
  start(o);
  client c(srv_->port());
  for (int i = 0; i < 6; ++i)
    c.send_frame(body({100, i}));
  std::this_thread::sleep_for(50ms);
  EXPECT_LE(handler_->calls.load(), 2);  // the rest wait in the socket, not in memory
  for (int i = 0; i < 6; ++i) {
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(static_cast<int>((*f)[1]), i);
  }
}

TEST_F(server_test, StopDrainsInflightRequests) {
  start();
  client c(srv_->port());
  c.send_frame(body({100, 9}));
  std::this_thread::sleep_for(20ms);
  std::thread stopper([&] { srv_->stop(5s); });
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(static_cast<int>((*f)[1]), 9);
  stopper.join();
  EXPECT_EQ(srv_->connections(), 0);
}

/// Answers every request with the same mix of memory chunks and file ranges: small ranges
/// (read into the response) and large ones (sent with sendfile), more small ones than fit the
/// per-response read budget, and a range at the very end of the file.
class file_handler final : public request_handler {
 public:
  explicit file_handler(int fd) : fd_(fd) {}
  awaitable<handler_result> handle(const connection_info&, frame_bytes) override {
    out_frame f;
    for (const auto& [off, len] : ranges()) {
      out_chunk head;
      head.bytes.assign(3, std::byte{0x5a});
      f.chunks.push_back(std::move(head));
      out_chunk c;
      c.fd = fd_;
      c.offset = off;
      c.length = len;
      f.chunks.push_back(std::move(c));
    }
    co_return handler_result{disposition::respond, std::move(f)};
  }
  static std::vector<std::pair<uint64_t, uint64_t>> ranges() {
    std::vector<std::pair<uint64_t, uint64_t>> r{{0, 1}, {10, 1000}, {5000, 200000}};
    for (uint64_t i = 0; i < 40; ++i)
      r.emplace_back(i * 9000, 9000);  // 360 KB of small ranges: past the read budget
    r.emplace_back(file_size - 17, 17);
    return r;
  }
  static constexpr uint64_t file_size = 1 << 20;
  int fd_;
};

TEST_F(server_test, ParkedRequestsEndWhenTheClientDisconnects) {
  start();
  {
    client c(srv_->port());
    c.send_frame(body({0xfd, 1}));
    c.send_frame(body({0xfd, 2}));
    for (int i = 0; i < 500 && handler_->calls.load() < 2; ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(handler_->calls.load(), 2);
    EXPECT_EQ(handler_->parked_ended.load(), 0);
  }  // the client goes away with both requests parked
  for (int i = 0; i < 500 && handler_->parked_ended.load() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(handler_->parked_ended.load(), 2);
  for (int i = 0; i < 500 && srv_->connections() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv_->connections(), 0);
}

TEST_F(server_test, ConnectionsPerAddressAreLimited) {
  server_options o;
  o.max_connections_per_ip = 2;
  start(o);
  client a(srv_->port());
  client b(srv_->port());
  a.send_frame(body({0, 1}));
  b.send_frame(body({0, 2}));
  ASSERT_TRUE(a.read_frame());
  ASSERT_TRUE(b.read_frame());
  client c(srv_->port());
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(srv_->refused(), 1u);
}

TEST(close_signal, RunsCallbacksOnceAndAtOnceAfterClosing) {
  close_signal s;
  int a = 0;
  int b = 0;
  s.on_close([&] { ++a; });
  auto id = s.on_close([&] { ++b; });
  s.forget(id);
  EXPECT_FALSE(s.closed());
  s.fire();
  s.fire();
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  s.on_close([&] { ++b; });  // already closed: runs now
  EXPECT_EQ(b, 1);
}

TEST(server_files, FileRangesArriveExactlyWhetherReadOrSent) {
  char path[] = "/tmp/strom-server-test-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  std::vector<std::byte> content(file_handler::file_size);
  for (size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<std::byte>((i * 131 + i / 251) & 0xff);
  ASSERT_EQ(::pwrite(fd, content.data(), content.size(), 0), (ssize_t)content.size());

  shard_runtime rt{1};
  server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  server srv(rt, o, std::make_shared<file_handler>(fd));
  rt.start();
  srv.start();
  {
    client c(srv.port());
    for (int round = 0; round < 3; ++round) {
      c.send_frame(body({1}));
      auto f = c.read_frame();
      ASSERT_TRUE(f);
      std::vector<std::byte> want;
      for (const auto& [off, len] : file_handler::ranges()) {
        want.insert(want.end(), 3, std::byte{0x5a});
        want.insert(want.end(), content.begin() + static_cast<ptrdiff_t>(off),
                    content.begin() + static_cast<ptrdiff_t>(off + len));
      }
      ASSERT_EQ(f->size(), want.size());
      EXPECT_TRUE(*f == want) << "round " << round;
    }
  }
  srv.stop(1s);
  rt.stop();
  ::close(fd);
}

}  // namespace
}  // namespace strom::net
