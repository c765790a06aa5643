#include "strom/groups/records.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <system_error>

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

/// Bounds-checked reads; every length is checked against what is left before use.
class reader {
 public:
  explicit reader(std::span<const std::byte> in) : in_(in) {}
  result<int16_t> i16() { return get<int16_t>(); }
  result<int32_t> i32() { return get<int32_t>(); }
  result<int64_t> i64() { return get<int64_t>(); }
  result<std::optional<std::string>> nstr() {
    STROM_TRY_ASSIGN(len, i16());
    if (len < 0)
      return std::optional<std::string>();
    if (static_cast<size_t>(len) > left())
      return bad("string longer than the record");
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return std::optional<std::string>(std::move(s));
  }
  result<std::string> str() {
    STROM_TRY_ASSIGN(s, nstr());
    if (!s)
      return bad("null string");
    return std::move(*s);
  }
  result<bytes> blob() {
    STROM_TRY_ASSIGN(len, i32());
    if (len < 0)
      return bytes{};
    if (static_cast<size_t>(len) > left())
      return bad("bytes longer than the record");
    bytes b(in_.begin() + static_cast<ptrdiff_t>(pos_),
            in_.begin() + static_cast<ptrdiff_t>(pos_) + len);
    pos_ += static_cast<size_t>(len);
    return b;
  }
  [[nodiscard]] size_t left() const { return in_.size() - pos_; }

 private:
  template <typename T>
  result<T> get() {
    if (left() < sizeof(T))
      return bad("truncated");
    auto v = ::strom::bytes::read_be<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::span<const std::byte> in_;
  size_t pos_ = 0;
};

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
  reader r(in);
  STROM_TRY_ASSIGN(version, r.i16());
  if (version == 0 || version == 1) {
    offset_key k;
    STROM_TRY_ASSIGN(g, r.str());
    STROM_TRY_ASSIGN(t, r.str());
    STROM_TRY_ASSIGN(p, r.i32());
    k.group = std::move(g);
    k.topic = std::move(t);
    k.partition = p;
    return record_key(std::move(k));
  }
  if (version == 2) {
    STROM_TRY_ASSIGN(g, r.str());
    return record_key(group_key{std::move(g)});
  }
  return record_key(std::monostate{});
}

result<offset_entry> decode_offset_value(std::span<const std::byte> in) {
  reader r(in);
  STROM_TRY_ASSIGN(version, r.i16());
  if (version < 0 || version > 3)
    return bad(fmt::format("offset value version {}", version));
  offset_entry e;
  STROM_TRY_ASSIGN(offset, r.i64());
  e.offset = offset;
  if (version >= 3) {
    STROM_TRY_ASSIGN(epoch, r.i32());
    e.leader_epoch = epoch;
  }
  STROM_TRY_ASSIGN(md, r.str());
  e.metadata = std::move(md);
  STROM_TRY_ASSIGN(ts, r.i64());
  e.commit_timestamp = ts;
  if (version == 1) {
    STROM_TRY_ASSIGN(expire, r.i64());
    (void)expire;
  }
  return e;
}

result<group_snapshot> decode_group_value(std::span<const std::byte> in) {
  reader r(in);
  STROM_TRY_ASSIGN(version, r.i16());
  if (version < 0 || version > 3)
    return bad(fmt::format("group value version {}", version));
  group_snapshot g;
  STROM_TRY_ASSIGN(type, r.str());
  g.protocol_type = std::move(type);
  STROM_TRY_ASSIGN(gen, r.i32());
  g.generation = gen;
  STROM_TRY_ASSIGN(protocol, r.nstr());
  g.protocol = std::move(protocol);
  STROM_TRY_ASSIGN(leader, r.nstr());
  g.leader = std::move(leader);
  if (version >= 2) {
    STROM_TRY_ASSIGN(ts, r.i64());
    g.state_timestamp = ts;
  }
  STROM_TRY_ASSIGN(n, r.i32());
  // Each member takes at least 20 bytes: a count larger than that cannot be real.
  if (n < 0 || static_cast<size_t>(n) > r.left() / 20)
    return bad(fmt::format("{} members", n));
  for (int32_t i = 0; i < n; ++i) {
    member_snapshot m;
    STROM_TRY_ASSIGN(id, r.str());
    m.id = std::move(id);
    if (version >= 3) {
      STROM_TRY_ASSIGN(iid, r.nstr());
      m.instance_id = std::move(iid);
    }
    STROM_TRY_ASSIGN(client, r.str());
    m.client_id = std::move(client);
    STROM_TRY_ASSIGN(host, r.str());
    m.client_host = std::move(host);
    if (version >= 1) {
      STROM_TRY_ASSIGN(rt, r.i32());
      m.rebalance_timeout_ms = rt;
    }
    STROM_TRY_ASSIGN(st, r.i32());
    m.session_timeout_ms = st;
    if (version == 0)
      m.rebalance_timeout_ms = st;
    STROM_TRY_ASSIGN(sub, r.blob());
    m.subscription = std::move(sub);
    STROM_TRY_ASSIGN(assign, r.blob());
    m.assignment = std::move(assign);
    g.members.push_back(std::move(m));
  }
  return g;
}

}  // namespace strom::groups
