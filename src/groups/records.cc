#include "strom/groups/records.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <system_error>

#include "strom/bytes/cursor.h"
#include "strom/bytes/endian.h"

namespace strom::groups {

namespace {

class writer {
 public:
  void i16(int16_t v) { put(v); }
  void i32(int32_t v) { put(v); }
  void i64(int64_t v) { put(v); }
  void str(std::string_view s) {
    i16(static_cast<int16_t>(s.size()));
    raw(s.data(), s.size());
  }
  void nstr(const std::optional<std::string>& s) {
    if (!s)
      i16(-1);
    else
      str(*s);
  }
  void blob(const bytes& b) {
    i32(static_cast<int32_t>(b.size()));
    raw(b.data(), b.size());
  }
  bytes take() { return std::move(out_); }

 private:
  template <typename T>
  void put(T v) {
    auto at = out_.size();
    out_.resize(at + sizeof(T));
    ::strom::bytes::write_be<T>(out_.data() + at, v);
  }
  void raw(const void* p, size_t n) {
    auto at = out_.size();
    out_.resize(at + n);
    if (n > 0)
      std::memcpy(out_.data() + at, p, n);
  }
  bytes out_;
};

error bad(std::string what) {
  return error(std::make_error_code(std::errc::bad_message),
               fmt::format("__consumer_offsets record: {}", what));
}

using ::strom::bytes::cursor;
using ::strom::bytes::length_prefix;

/// The failure of a cursor that stopped, as a record error.
error bad(const cursor& c) {
  return bad(c.check().error().message());
}

std::string str(cursor& c) {
  return std::string(c.read_string(length_prefix::int16));
}

std::optional<std::string> nstr(cursor& c) {
  auto s = c.read_nullable_string(length_prefix::int16);
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

/// Null reads as empty.
bytes blob(cursor& c) {
  auto b = c.read_nullable_bytes(length_prefix::int32);
  return b ? bytes(b->begin(), b->end()) : bytes{};
}

}  // namespace

bytes encode_key(const offset_key& k) {
  writer w;
  w.i16(1);
  w.str(k.group);
  w.str(k.topic);
  w.i32(k.partition);
  return w.take();
}

bytes encode_key(const group_key& k) {
  writer w;
  w.i16(2);
  w.str(k.group);
  return w.take();
}

bytes encode_offset_value(const offset_entry& e) {
  writer w;
  w.i16(3);
  w.i64(e.offset);
  w.i32(e.leader_epoch);
  w.str(e.metadata);
  w.i64(e.commit_timestamp);
  return w.take();
}

bytes encode_group_value(const group_snapshot& g) {
  writer w;
  w.i16(3);
  w.str(g.protocol_type);
  w.i32(g.generation);
  w.nstr(g.protocol);
  w.nstr(g.leader);
  w.i64(g.state_timestamp);
  w.i32(static_cast<int32_t>(g.members.size()));
  for (const auto& m : g.members) {
    w.str(m.id);
    w.nstr(m.instance_id);
    w.str(m.client_id);
    w.str(m.client_host);
    w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.blob(m.subscription);
    w.blob(m.assignment);
  }
  return w.take();
}

result<record_key> decode_key(std::span<const std::byte> in) {
  cursor c(in);
  auto version = c.read_int16();
  if (!c.ok())
    return bad(c);
  if (version == 0 || version == 1) {
    offset_key k;
    k.group = str(c);
    k.topic = str(c);
    k.partition = c.read_int32();
    if (!c.ok())
      return bad(c);
    return record_key(std::move(k));
  }
  if (version == 2) {
    auto g = str(c);
    if (!c.ok())
      return bad(c);
    return record_key(group_key{std::move(g)});
  }
  return record_key(std::monostate{});
}

result<offset_entry> decode_offset_value(std::span<const std::byte> in) {
  cursor c(in);
  auto version = c.read_int16();
  if (!c.ok())
    return bad(c);
  if (version < 0 || version > 3)
    return bad(fmt::format("offset value version {}", version));
  offset_entry e;
  e.offset = c.read_int64();
  if (version >= 3)
    e.leader_epoch = c.read_int32();
  e.metadata = str(c);
  e.commit_timestamp = c.read_int64();
  if (version == 1)
    (void)c.read_int64();  // expire timestamp
  if (!c.ok())
    return bad(c);
  return e;
}

result<group_snapshot> decode_group_value(std::span<const std::byte> in) {
  cursor c(in);
  auto version = c.read_int16();
  if (!c.ok())
    return bad(c);
  if (version < 0 || version > 3)
    return bad(fmt::format("group value version {}", version));
  group_snapshot g;
  g.protocol_type = str(c);
  g.generation = c.read_int32();
  g.protocol = nstr(c);
  g.leader = nstr(c);
  if (version >= 2)
    g.state_timestamp = c.read_int64();
  // Each member takes at least 20 bytes: a count larger than that cannot be real.
  auto n = c.read_count(length_prefix::int32, 20);
  if (!c.ok())
    return bad(c);
  for (int64_t i = 0; i < n; ++i) {
    member_snapshot m;
    m.id = str(c);
    if (version >= 3)
      m.instance_id = nstr(c);
    m.client_id = str(c);
    m.client_host = str(c);
    if (version >= 1)
      m.rebalance_timeout_ms = c.read_int32();
    m.session_timeout_ms = c.read_int32();
    if (version == 0)
      m.rebalance_timeout_ms = m.session_timeout_ms;
    m.subscription = blob(c);
    m.assignment = blob(c);
    if (!c.ok())
      return bad(c);
    g.members.push_back(std::move(m));
  }
  return g;
}

bytes encode_state(const compacted_state& s) {
  writer w;
  w.i16(1);
  w.i32(static_cast<int32_t>(s.size()));
  for (const auto& [k, v] : s) {
    w.blob(k);
    w.blob(v);
  }
  return w.take();
}

result<compacted_state> decode_state(std::span<const std::byte> in) {
  compacted_state out;
  if (in.empty())
    return out;
  cursor c(in);
  if (auto v = c.read_int16(); c.ok() && v != 1)
    return bad(fmt::format("compacted state version {}", v));
  auto n = c.read_int32();
  // Each entry takes at least its two length prefixes.
  if (c.ok() && (n < 0 || static_cast<size_t>(n) > c.remaining() / 8))
    return bad(fmt::format("compacted state of {} keys in {} bytes", n, c.remaining()));
  for (int32_t i = 0; c.ok() && i < n; ++i) {
    auto k = c.read_bytes(length_prefix::int32);
    auto v = c.read_bytes(length_prefix::int32);
    if (c.ok())
      out.insert_or_assign(bytes(k.begin(), k.end()), bytes(v.begin(), v.end()));
  }
  if (!c.ok())
    return bad(c);
  if (!c.at_end())
    return bad("bytes after the compacted state");
  return out;
}

}  // namespace strom::groups
