#include "strom/rpc/raft_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "strom/bytes/endian.h"

namespace strom::rpc {
namespace {

using namespace strom::raft;

message full_append() {
  message m;
  m.type = message_type::append;
  m.from = node_id(1);
  m.to = node_id(3);
  m.term = term(7);
  m.prev_index = raft_index(41);
  m.prev_term = term(6);
  m.commit = raft_index(40);
  entry ts;
  ts.index = raft_index(42);
  ts.term = term(7);
  ts.kind = entry_kind::term_start;
  ts.kafka_base = kafka_offset(30);
  entry d;
  d.index = raft_index(43);
  d.term = term(7);
  d.kind = entry_kind::data;
  d.kafka_base = kafka_offset(30);
  d.kafka_count = 3;
  d.payload = std::vector<std::byte>{std::byte{9}, std::byte{8}, std::byte{7}};
  entry c;
  c.index = raft_index(46);
  c.term = term(7);
  c.kind = entry_kind::configuration;
  c.kafka_base = kafka_offset(33);
  c.config = configuration{{node_id(1), node_id(2), node_id(3)}, {node_id(4)}};
  entry ls;
  ls.index = raft_index(47);
  ls.term = term(7);
  ls.kind = entry_kind::log_start;
  ls.kafka_base = kafka_offset(33);
  ls.payload = std::vector<std::byte>{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                      std::byte{0}, std::byte{0}, std::byte{0}, std::byte{31}};
  m.entries = {ts, d, c, ls};
  return m;
}

TEST(RaftCodec, EveryMessageTypeRoundTrips) {
  std::vector<message> all;
  all.push_back(full_append());
  message v;
  v.type = message_type::vote_request;
  v.pre_vote = true;
  v.transfer = true;
  v.last_index = raft_index(9);
  v.last_term = term(2);
  all.push_back(v);
  message r;
  r.type = message_type::append_response;
  r.reject = true;
  r.index = raft_index(5);
  r.flushed = raft_index(4);
  r.hint_index = raft_index(3);
  r.hint_term = term(1);
  all.push_back(r);
  message s;
  s.type = message_type::install_snapshot;
  s.snapshot =
      snapshot{{raft_index(100), term(5), configuration{{node_id(1)}, {}}, kafka_offset(90)},
               {std::byte{1}, std::byte{2}}};
  all.push_back(s);
  message g;
  g.type = message_type::vote_response;
  g.granted = true;
  g.rebuilding = true;
  all.push_back(g);
  message h;
  h.type = message_type::heartbeat;
  h.commit = raft_index(7);
  h.quiesce = true;
  all.push_back(h);
  for (const auto& m : all) {
    auto bytes = encode_message(m);
    auto back = decode_message(bytes);
    ASSERT_TRUE(back.has_value()) << to_string(m.type) << ": " << back.error().message();
    EXPECT_EQ(encode_message(*back), bytes) << to_string(m.type);
    EXPECT_EQ(back->rebuilding, m.rebuilding) << to_string(m.type);
    EXPECT_EQ(back->entries, m.entries);
    EXPECT_EQ(back->snapshot, m.snapshot);
    // Every shorter prefix, and a byte more, are refused.
    for (size_t n = 0; n < bytes.size(); ++n)
      EXPECT_FALSE(decode_message(std::span(bytes).first(n)).has_value()) << n;
    auto longer = bytes;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(decode_message(longer).has_value());
  }
}

TEST(RaftCodec, TheFlagsByteCarriesTransferQuiesceAndRebuildingOnly) {
  message h;
  h.type = message_type::heartbeat;
  h.quiesce = true;
  auto bytes = encode_message(h);
  auto back = decode_message(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->quiesce);
  EXPECT_FALSE(back->transfer);
  // The flags byte follows type, from, to, term and the pre-vote byte.
  const size_t at = 1 + 4 + 4 + 8 + 1;
  ASSERT_EQ(bytes[at], std::byte{2});
  bytes[at] = std::byte{4};
  auto rebuilding = decode_message(bytes);
  ASSERT_TRUE(rebuilding.has_value());
  EXPECT_TRUE(rebuilding->rebuilding);
  EXPECT_FALSE(rebuilding->quiesce);
  bytes[at] = std::byte{8};
  EXPECT_FALSE(decode_message(bytes).has_value());
}

TEST(RaftCodec, CountsBeyondTheInputAreRefusedBeforeAllocating) {
  auto bytes = encode_message(full_append());
  // The entry count sits after the fixed fields: 1 + 4 + 4 + 8 + 1 + 1 + 8 + 8 + 1 + 8 * 3 + 1
  // + 8 * 4 bytes.
  const size_t at = 1 + 4 + 4 + 8 + 1 + 1 + 8 + 8 + 1 + 8 * 3 + 1 + 8 * 4;
  ASSERT_EQ(bytes::read_be<uint32_t>(bytes.data() + at), 4u);
  bytes::write_be<uint32_t>(bytes.data() + at, 0xfffffff0u);
  EXPECT_FALSE(decode_message(bytes).has_value());
}

TEST(RaftCodec, RandomBytesNeverCrashTheDecoder) {
  std::mt19937_64 rng(7);
  auto good = encode_message(full_append());
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    for (int k = 0; k < 4; ++k)
      b[rng() % b.size()] = static_cast<std::byte>(rng());
    (void)decode_message(b);
    (void)split_batch(b);
  }
}

TEST(RaftCodec, ABatchSplitsIntoItsGroupsWithoutDecoding) {
  batch_builder b;
  auto m = full_append();
  b.add(0, m);
  m.to = node_id(2);
  b.add(77, m);
  EXPECT_EQ(b.parts(), 2u);
  auto size = b.size_bytes();
  auto frame = b.take_frame();
  EXPECT_EQ(b.parts(), 0u);
  // The batch is the payload of a frame built in place around it.
  ASSERT_EQ(frame.size(), frame_header::size_bytes + size);
  write_frame_header({frame_header::current_version, frame_kind::oneway, 9, status_code::ok, 0},
                     frame);
  auto announced = check_size(std::span(frame).first<4>(), 1 << 20);
  ASSERT_TRUE(announced.has_value());
  EXPECT_EQ(*announced, frame.size() - 4);
  auto f = decode_frame(std::span(frame).subspan(4));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->header.kind, frame_kind::oneway);
  EXPECT_EQ(f->header.method, 9);
  auto bytes = f->payload;
  auto parts = split_batch(bytes);
  ASSERT_TRUE(parts.has_value());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].group, 0u);
  EXPECT_EQ((*parts)[1].group, 77u);
  auto second = decode_message((*parts)[1].bytes);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->to, node_id(2));
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(split_batch(std::span(bytes).first(n)).has_value()) << n;
  // An empty builder makes a batch of no parts.
  auto empty = b.take_frame();
  auto none = split_batch(std::span(empty).subspan(frame_header::size_bytes));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace strom::rpc
