// The inter-broker RPC over real loopback sockets: calls and replies in any order, one-way
// frames, deadlines, reconnecting after the peer restarts, back-pressure, and bad frames.
#include "strom/rpc/rpc.h"

#include <gtest/gtest.h>

#include <optional>

#include "strom/bytes/endian.h"
#include "strom/rpc/errc.h"
#include "strom/rpc/frame.h"

namespace strom::rpc {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;
using net::awaitable;
using net::tcp;

bytes_t text(std::string_view s) {
  auto b = std::as_bytes(std::span(s));
  return bytes_t(b.begin(), b.end());
}

class RpcTest : public ::testing::Test {
 protected:
  asio::io_context io;
  server srv{io, {}};
  uint16_t port = 0;

  void SetUp() override {
    srv.handle(1, [](bytes_t p) -> awaitable<result<bytes_t>> {  // echo
      co_return p;
    });
    srv.handle(2, [this](bytes_t p) -> awaitable<result<bytes_t>> {  // echo after 300 ms
      asio::steady_timer t(io, 300ms);
      co_await t.async_wait(asio::use_awaitable);
      co_return p;
    });
    srv.handle(3, [](bytes_t) -> awaitable<result<bytes_t>> {  // fails
      co_return error(errc::bad_payload, "no good");
    });
    auto p = srv.listen(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    ASSERT_TRUE(p.has_value()) << p.error().message();
    port = *p;
  }

  tcp::endpoint at() const { return {asio::ip::address_v4::loopback(), port}; }

  /// Runs the io_context until `pred` holds or 10 s pass.
  bool run_until(const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
    return pred();
  }

  /// Starts a call; its outcome lands in `out`.
  void start(client& c, uint16_t method, std::string_view payload,
             std::optional<result<bytes_t>>& out, std::chrono::milliseconds timeout = 5s) {
    asio::co_spawn(
        io,
        [&c, method, p = text(payload), &out, timeout]() -> awaitable<void> {
          auto op = c.call(method, p, timeout);  // no temporaries inside co_await (GCC 12)
          out.emplace(co_await std::move(op));
        },
        asio::detached);
  }
};

TEST_F(RpcTest, ACallGetsItsReplyAndErrorsComeBackAsErrors) {
  client c(io, at(), {});
  std::optional<result<bytes_t>> echo, unknown, failed;
  start(c, 1, "hello", echo);
  start(c, 99, "?", unknown);
  start(c, 3, "x", failed);
  ASSERT_TRUE(run_until([&] { return echo && unknown && failed; }));
  ASSERT_TRUE(echo->has_value());
  EXPECT_EQ(**echo, text("hello"));
  ASSERT_FALSE(unknown->has_value());
  EXPECT_TRUE(unknown->error().is(errc::unknown_method));
  ASSERT_FALSE(failed->has_value());
  EXPECT_TRUE(failed->error().is(errc::bad_payload));
  EXPECT_EQ(c.connects(), 1u);
}

TEST_F(RpcTest, ASlowReplyDoesNotHoldBackAFastOne) {
  client c(io, at(), {});
  std::optional<result<bytes_t>> slow, fast;
  start(c, 2, "slow", slow);
  start(c, 1, "fast", fast);
  ASSERT_TRUE(run_until([&] { return fast.has_value(); }));
  EXPECT_FALSE(slow.has_value()) << "the fast reply waited for the slow one";
  ASSERT_TRUE(run_until([&] { return slow.has_value(); }));
  EXPECT_EQ(**slow, text("slow"));
}

TEST_F(RpcTest, OneWayFramesReachTheirHandler) {
  std::vector<std::string> got;
  srv.handle_oneway(
      7, [&](bytes_t p) { got.emplace_back(reinterpret_cast<const char*>(p.data()), p.size()); });
  client c(io, at(), {});
  for (auto s : {"a", "b", "c"}) {
    auto payload = text(s);
    ASSERT_TRUE(c.send(7, payload).has_value());
  }
  ASSERT_TRUE(run_until([&] { return got.size() == 3; }));
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c"}));  // in order
}

TEST_F(RpcTest, ACallPastItsDeadlineTimesOut) {
  client c(io, at(), {});
  std::optional<result<bytes_t>> out;
  start(c, 2, "slow", out, 50ms);
  ASSERT_TRUE(run_until([&] { return out.has_value(); }));
  ASSERT_FALSE(out->has_value());
  EXPECT_TRUE(out->error().is(errc::timed_out));
  // The late reply is dropped; the connection keeps serving.
  std::optional<result<bytes_t>> next;
  start(c, 1, "next", next);
  ASSERT_TRUE(run_until([&] { return next.has_value(); }));
  EXPECT_TRUE(next->has_value());
}

TEST_F(RpcTest, TheClientReconnectsAfterThePeerRestarts) {
  client::options o;
  o.backoff_min = 10ms;
  o.backoff_max = 50ms;
  client c(io, at(), o);
  std::optional<result<bytes_t>> first;
  start(c, 1, "one", first);
  ASSERT_TRUE(run_until([&] { return first.has_value(); }));
  ASSERT_TRUE(first->has_value());

  // A call in flight when the peer goes fails with `disconnected`.
  std::optional<result<bytes_t>> cut;
  start(c, 2, "cut", cut);
  io.restart();
  io.run_for(50ms);  // it reaches the server, whose handler waits 300 ms
  srv.stop();
  ASSERT_TRUE(run_until([&] { return cut.has_value(); }));
  ASSERT_FALSE(cut->has_value());
  EXPECT_TRUE(cut->error().is(errc::disconnected)) << cut->error().message();

  // The peer comes back on the same port; calls succeed again once the client reconnected.
  server again(io, {});
  again.handle(1, [](bytes_t p) -> awaitable<result<bytes_t>> { co_return p; });
  ASSERT_TRUE(again.listen(at()).has_value());
  std::optional<result<bytes_t>> later;
  for (int attempt = 0; attempt < 50 && !(later && later->has_value()); ++attempt) {
    later.reset();
    start(c, 1, "two", later, 200ms);
    ASSERT_TRUE(run_until([&] { return later.has_value(); }));
  }
  ASSERT_TRUE(later && later->has_value());
  EXPECT_EQ(**later, text("two"));
  EXPECT_GE(c.connects(), 2u);
}

TEST_F(RpcTest, AFullQueueRefusesInsteadOfGrowing) {
  // A peer that accepts but never reads: the kernel buffers fill, then the queue.
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket held(io);
  silent.async_accept(held, [](boost::system::error_code) {});
  client::options o;
  o.max_queued_bytes = 64 << 10;
  client c(io, silent.local_endpoint(), o);
  bytes_t chunk(16 << 10, std::byte{1});
  status last = ok();
  for (int i = 0; i < 10000 && last; ++i) {
    last = c.send(1, chunk);
    io.restart();
    io.run_for(1ms);
  }
  ASSERT_FALSE(last.has_value()) << "the queue never filled";
  EXPECT_TRUE(last.error().is(errc::queue_full));
  EXPECT_LE(c.queued_bytes(), o.max_queued_bytes);
}

TEST_F(RpcTest, ABadFrameClosesOnlyItsConnection) {
  client good(io, at(), {});
  std::optional<result<bytes_t>> warmup;
  start(good, 1, "w", warmup);
  ASSERT_TRUE(run_until([&] { return warmup.has_value(); }));

  tcp::socket raw(io);
  raw.connect(at());
  ASSERT_TRUE(run_until([&] { return srv.connections() == 2; }));
  std::array<std::byte, 4> huge{};
  bytes::write_be<uint32_t>(huge.data(), 0x7fffffffu);  // 2 GiB: refused before allocating
  asio::write(raw, asio::buffer(huge));
  ASSERT_TRUE(run_until([&] { return srv.connections() == 1; }));
  std::array<std::byte, 1> one{};
  boost::system::error_code ec;
  raw.read_some(asio::buffer(one), ec);
  EXPECT_EQ(ec, asio::error::eof) << "the server kept a connection that sent a bad frame";

  std::optional<result<bytes_t>> after;
  start(good, 1, "still", after);
  ASSERT_TRUE(run_until([&] { return after.has_value(); }));
  EXPECT_TRUE(after->has_value());
}

TEST_F(RpcTest, FramesArriveWholeHoweverTheBytesAreCut) {
  // The server reads through a buffer: many frames in one read, a frame cut anywhere (even
  // inside its size or header), a payload larger than the buffer, and an empty one.
  std::vector<bytes_t> got;
  srv.handle_oneway(7, [&](bytes_t p) { got.push_back(std::move(p)); });
  std::vector<bytes_t> sent;
  bytes_t stream;
  for (size_t size : {size_t{0}, size_t{1}, size_t{13}, size_t{200 * 1024}, size_t{5}}) {
    for (int copy = 0; copy < 3; ++copy) {
      bytes_t payload(size);
      for (size_t i = 0; i < size; ++i)
        payload[i] = static_cast<std::byte>((i * 7 + size + static_cast<size_t>(copy)) & 0xff);
      frame_header h;
      h.kind = frame_kind::oneway;
      h.method = 7;
      auto f = encode_frame(h, payload);
      stream.insert(stream.end(), f.begin(), f.end());
      sent.push_back(std::move(payload));
    }
  }
  tcp::socket raw(io);
  raw.connect(at());
  raw.set_option(tcp::no_delay(true));
  // Pieces of 1, 2, 3, ... bytes for the first part, then large ones; the server is run
  // between writes so that it reads each piece on its own.
  size_t at_byte = 0;
  for (size_t piece = 1; at_byte < stream.size(); ++piece) {
    auto n = std::min(stream.size() - at_byte, piece < 64 ? piece : 48 * 1024);
    asio::write(raw, asio::buffer(stream.data() + at_byte, n));
    at_byte += n;
    io.restart();
    io.run_for(1ms);
  }
  ASSERT_TRUE(run_until([&] { return got.size() == sent.size(); }));
  EXPECT_EQ(got, sent);
}

TEST_F(RpcTest, FramesQueuedTogetherLeaveAndArriveInOrder) {
  std::vector<bytes_t> got;
  srv.handle_oneway(7, [&](bytes_t p) { got.push_back(std::move(p)); });
  client c(io, at(), {});
  // Queued before the client runs: its writes take many frames at once.
  std::vector<bytes_t> sent;
  for (int i = 0; i < 500; ++i) {
    bytes_t payload(static_cast<size_t>(i % 7 == 0 ? 70'000 : i), static_cast<std::byte>(i));
    ASSERT_TRUE(c.send(7, payload).has_value());
    sent.push_back(std::move(payload));
  }
  ASSERT_TRUE(run_until([&] { return got.size() == sent.size(); }));
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace strom::rpc
