#include "strom/rpc/raft_codec.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "strom/bytes/endian.h"
#include "strom/rpc/errc.h"

namespace strom::rpc {

namespace {

struct writer {
  std::vector<std::byte>& out;
  template <typename T>
  void put(T v) {
    auto at = out.size();
    out.resize(at + sizeof(T));
    bytes::write_be<T>(out.data() + at, v);
  }
  void put_bytes(std::span<const std::byte> b) {
    put<uint32_t>(static_cast<uint32_t>(b.size()));
    out.insert(out.end(), b.begin(), b.end());
  }
  void put_config(const raft::configuration& c) {
    put<uint32_t>(static_cast<uint32_t>(c.voters.size()));
    for (auto v : c.voters)
      put<int32_t>(v.value());
    put<uint32_t>(static_cast<uint32_t>(c.learners.size()));
    for (auto l : c.learners)
      put<int32_t>(l.value());
  }
};

/// Reads in order; a read past the end (or a count the input cannot hold) makes it fail, and
/// every later read returns zeroes.
struct reader {
  std::span<const std::byte> in;
  size_t at = 0;
  bool ok = true;
  [[nodiscard]] size_t left() const { return in.size() - at; }
  template <typename T>
  T get() {
    if (!ok || left() < sizeof(T)) {
      ok = false;
      return T{};
    }
    auto v = bytes::read_be<T>(in.data() + at);
    at += sizeof(T);
    return v;
  }
  bool get_bool() {
    auto b = get<uint8_t>();
    if (b > 1)
      ok = false;
    return b == 1;
  }
  /// A count of items of at least `min_item` bytes each.
  uint32_t get_count(size_t min_item) {
    auto n = get<uint32_t>();
    if (ok && n > left() / min_item)
      ok = false;
    return ok ? n : 0;
  }
  std::vector<std::byte> get_bytes() {
    auto n = get_count(1);
    if (!ok)
      return {};
    std::vector<std::byte> out(in.begin() + static_cast<std::ptrdiff_t>(at),
                               in.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    return out;
  }
  /// Ids in strictly increasing order (as encoded from a set: one encoding per set).
  void get_ids(std::set<raft::node_id>& into) {
    for (uint32_t n = get_count(4); n > 0 && ok; --n) {
      raft::node_id id(get<int32_t>());
      if (!into.empty() && !(*into.rbegin() < id))
        ok = false;
      into.insert(id);
    }
  }
  raft::configuration get_config() {
    raft::configuration c;
    get_ids(c.voters);
    get_ids(c.learners);
    for (auto l : c.learners) {
      if (c.voters.contains(l))
        ok = false;  // a node is never both
    }
    return c;
  }
};

// The smallest encoded entry: index, term, kind, Kafka base and count, config flag, payload
// length.
constexpr size_t min_entry_bytes = 8 + 8 + 1 + 8 + 4 + 1 + 4;

/// Bytes encode_message_to() appends for `m`, or a little more: what to reserve.
size_t encoded_size_bound(const raft::message& m) {
  size_t n = 128;
  for (const auto& e : m.entries) {
    n += 64 + e.payload.size();
    if (e.config)
      n += 8 + 4 * (e.config->voters.size() + e.config->learners.size());
  }
  if (m.snapshot) {
    n += 64 + m.snapshot->data.size() +
         4 * (m.snapshot->meta.config.voters.size() + m.snapshot->meta.config.learners.size());
  }
  return n;
}

/// Appends `m`'s encoding to `out`.
void encode_message_to(std::vector<std::byte>& out, const raft::message& m) {
  writer w{out};
  w.put<uint8_t>(static_cast<uint8_t>(m.type));
  w.put<int32_t>(m.from.value());
  w.put<int32_t>(m.to.value());
  w.put<int64_t>(m.term.value());
  w.put<uint8_t>(m.pre_vote ? 1 : 0);
  w.put<uint8_t>((m.transfer ? 1 : 0) | (m.quiesce ? 2 : 0) | (m.rebuilding ? 4 : 0));
  w.put<int64_t>(m.last_index.value());
  w.put<int64_t>(m.last_term.value());
  w.put<uint8_t>(m.granted ? 1 : 0);
  w.put<int64_t>(m.prev_index.value());
  w.put<int64_t>(m.prev_term.value());
  w.put<int64_t>(m.commit.value());
  w.put<uint8_t>(m.reject ? 1 : 0);
  w.put<int64_t>(m.index.value());
  w.put<int64_t>(m.flushed.value());
  w.put<int64_t>(m.hint_index.value());
  w.put<int64_t>(m.hint_term.value());
  w.put<uint32_t>(static_cast<uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    w.put<int64_t>(e.index.value());
    w.put<int64_t>(e.term.value());
    w.put<uint8_t>(static_cast<uint8_t>(e.kind));
    w.put<int64_t>(e.kafka_base.value());
    w.put<int32_t>(e.kafka_count);
    w.put<uint8_t>(e.config ? 1 : 0);
    if (e.config)
      w.put_config(*e.config);
    w.put_bytes(e.payload);
  }
  w.put<uint8_t>(m.snapshot ? 1 : 0);
  if (m.snapshot) {
    const auto& meta = m.snapshot->meta;
    w.put<int64_t>(meta.last_index.value());
    w.put<int64_t>(meta.last_term.value());
    w.put<int64_t>(meta.next_kafka_offset.value());
    w.put_config(meta.config);
    w.put_bytes(m.snapshot->data);
  }
}

}  // namespace

std::vector<std::byte> encode_message(const raft::message& m) {
  std::vector<std::byte> out;
  out.reserve(encoded_size_bound(m));
  encode_message_to(out, m);
  return out;
}

result<raft::message> decode_message(std::span<const std::byte> in) {
  reader r{in};
  raft::message m;
  auto type = r.get<uint8_t>();
  if (type > static_cast<uint8_t>(raft::message_type::timeout_now))
    return error(errc::bad_payload, fmt::format("Raft message type {}", type));
  m.type = static_cast<raft::message_type>(type);
  m.from = raft::node_id(r.get<int32_t>());
  m.to = raft::node_id(r.get<int32_t>());
  m.term = raft::term(r.get<int64_t>());
  m.pre_vote = r.get_bool();
  auto flags = r.get<uint8_t>();
  if (flags > 7)
    return error(errc::bad_payload, fmt::format("Raft message flags {}", flags));
  m.transfer = (flags & 1) != 0;
  m.quiesce = (flags & 2) != 0;
  m.rebuilding = (flags & 4) != 0;
  m.last_index = raft::raft_index(r.get<int64_t>());
  m.last_term = raft::term(r.get<int64_t>());
  m.granted = r.get_bool();
  m.prev_index = raft::raft_index(r.get<int64_t>());
  m.prev_term = raft::term(r.get<int64_t>());
  m.commit = raft::raft_index(r.get<int64_t>());
  m.reject = r.get_bool();
  m.index = raft::raft_index(r.get<int64_t>());
  m.flushed = raft::raft_index(r.get<int64_t>());
  m.hint_index = raft::raft_index(r.get<int64_t>());
  m.hint_term = raft::term(r.get<int64_t>());
  auto entries = r.get_count(min_entry_bytes);
  m.entries.reserve(entries);
  for (uint32_t i = 0; i < entries && r.ok; ++i) {
    raft::entry e;
    e.index = raft::raft_index(r.get<int64_t>());
    e.term = raft::term(r.get<int64_t>());
    auto kind = r.get<uint8_t>();
    if (kind > static_cast<uint8_t>(raft::entry_kind::log_start))
      return error(errc::bad_payload, fmt::format("Raft entry kind {}", kind));
    e.kind = static_cast<raft::entry_kind>(kind);
    e.kafka_base = raft::kafka_offset(r.get<int64_t>());
    e.kafka_count = r.get<int32_t>();
    if (r.get_bool())
      e.config = r.get_config();
    e.payload = r.get_bytes();
    if (e.kafka_count < 0 || (raft::has_kafka_offsets(e.kind) != (e.kafka_count > 0)))
      return error(errc::bad_payload, "a Raft entry whose offsets do not fit its kind");
    m.entries.push_back(std::move(e));
  }
  if (r.get_bool()) {
    raft::snapshot s;
    s.meta.last_index = raft::raft_index(r.get<int64_t>());
    s.meta.last_term = raft::term(r.get<int64_t>());
    s.meta.next_kafka_offset = raft::kafka_offset(r.get<int64_t>());
    s.meta.config = r.get_config();
    s.data = r.get_bytes();
    m.snapshot = std::move(s);
  }
  if (!r.ok || r.left() != 0)
    return error(errc::bad_payload, "a damaged or truncated Raft message");
  return m;
}

void batch_builder::add(group_id g, const raft::message& m) {
  // Encoded in place after the room for the frame header: the part count first (written by
  // take_frame()), then each part's group, length and message. Entry payloads are copied once,
  // into the batch.
  if (body_.empty())
    body_.resize(frame_header::size_bytes + 4);
  auto need = body_.size() + 12 + encoded_size_bound(m);
  if (need > body_.capacity())
    body_.reserve(std::max(need, 2 * body_.capacity()));
  writer w{body_};
  w.put<uint64_t>(g);
  auto length_at = body_.size();
  w.put<uint32_t>(0);
  encode_message_to(body_, m);
  bytes::write_be<uint32_t>(body_.data() + length_at,
                            static_cast<uint32_t>(body_.size() - length_at - 4));
  ++parts_;
}

std::vector<std::byte> batch_builder::take_frame() {
  if (body_.empty())
    body_.resize(frame_header::size_bytes + 4);
  bytes::write_be<uint32_t>(body_.data() + frame_header::size_bytes, parts_);
  auto out = std::move(body_);
  body_ = {};
  parts_ = 0;
  return out;
}

result<std::vector<group_part>> split_batch(std::span<const std::byte> in) {
  reader r{in};
  auto n = r.get_count(8 + 4);
  std::vector<group_part> parts;
  parts.reserve(n);
  for (uint32_t i = 0; i < n && r.ok; ++i) {
    group_part p;
    p.group = r.get<uint64_t>();
    auto len = r.get_count(1);
    if (!r.ok)
      break;
    p.bytes = in.subspan(r.at, len);
    r.at += len;
    parts.push_back(p);
  }
  if (!r.ok || r.left() != 0)
    return error(errc::bad_payload, "a damaged or truncated Raft batch");
  return parts;
}

}  // namespace strom::rpc
