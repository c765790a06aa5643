#include "strom/raft/storage_log.h"

#include <fmt/format.h>

#include "strom/base/assert.h"
#include "strom/bytes/crc32c.h"
#include "strom/bytes/endian.h"
#include "strom/model/record_batch.h"
#include "strom/raft/errc.h"

namespace strom::raft {

namespace {

// The log counts Raft indexes from 0, the core from 1.
model::raft_index to_log(raft_index i) {
  return model::raft_index(i.value() - 1);
}
raft_index from_log(model::raft_index i) {
  return raft_index(i.value() + 1);
}

/// Appends big-endian integers to a buffer.
struct writer {
  std::vector<std::byte> out;
  template <typename T>
  void put(T v) {
    auto at = out.size();
    out.resize(at + sizeof(T));
    bytes::write_be<T>(out.data() + at, v);
  }
  void put_bytes(std::span<const std::byte> b) { out.insert(out.end(), b.begin(), b.end()); }
};

/// Reads them back, failing (instead of reading past the end) on a short input.
struct reader {
  std::span<const std::byte> in;
  size_t at = 0;
  bool ok = true;
  template <typename T>
  T get() {
    if (!ok || in.size() - at < sizeof(T)) {
      ok = false;
      return T{};
    }
    auto v = bytes::read_be<T>(in.data() + at);
    at += sizeof(T);
    return v;
  }
};

/// A small file's bytes (at most `max_bytes`).
result<std::vector<std::byte>> read_whole(io::file_system& fs, const std::filesystem::path& p,
                                          size_t max_bytes) {
  auto text = fs.read_small_file(p, max_bytes);
  if (!text)
    return text.error();
  auto b = std::as_bytes(std::span(*text));
  return std::vector<std::byte>(b.begin(), b.end());
}

/// A record batch as a producer sends it: no base offset, no leader epoch (neither is under
/// the CRC).
void unstamp(std::span<std::byte> batch) {
  model::stamp_batch(batch, model::kafka_offset(0), model::leader_epoch(-1));
}

constexpr uint32_t snapshot_magic = 0x53524e50;    // "SRNP"
constexpr uint32_t hard_state_magic = 0x53524853;  // "SRHS"
constexpr size_t max_snapshot_bytes = size_t{1} << 30;

}  // namespace

// --- configuration encoding ---------------------------------------------------------------

std::vector<std::byte> storage_log_store::encode_configuration(const configuration& c) {
  writer w;
  w.put<uint32_t>(static_cast<uint32_t>(c.voters.size()));
  for (auto v : c.voters)
    w.put<int32_t>(v.value());
  w.put<uint32_t>(static_cast<uint32_t>(c.learners.size()));
  for (auto l : c.learners)
    w.put<int32_t>(l.value());
  return std::move(w.out);
}

result<configuration> storage_log_store::decode_configuration(std::span<const std::byte> in) {
  reader r{in};
  configuration c;
  auto read_set = [&](std::set<node_id>& into) {
    auto n = r.get<uint32_t>();
    // Each member takes 4 bytes: a count the input cannot hold is refused before the loop.
    if (!r.ok || n > (in.size() - r.at) / 4) {
      r.ok = false;
      return;
    }
    for (uint32_t i = 0; i < n; ++i)
      into.insert(node_id(r.get<int32_t>()));
  };
  read_set(c.voters);
  read_set(c.learners);
  if (!r.ok || r.at != in.size())
    return error(errc::invalid_argument, "a damaged configuration");
  return c;
}

// --- open ---------------------------------------------------------------------------------

result<std::unique_ptr<storage_log_store>> storage_log_store::open(storage::log& log,
                                                                   io::file_system& fs, clock& clk,
                                                                   const snapshot& initial) {
  std::unique_ptr<storage_log_store> s(new storage_log_store(log, fs, clk));
  auto path = log.path() / snapshot_file;
  auto exists = fs.exists(path);
  if (!exists)
    return exists.error();
  if (!*exists) {
    s->snap_ = initial;
    // The initial snapshot covers nothing (last index 0): the log starts where it says.
    if (log.next_index() == model::raft_index(0) &&
        initial.meta.next_kafka_offset.value() != log.log_end().value()) {
      STROM_TRY(log.reset(model::kafka_next_offset(initial.meta.next_kafka_offset.value()),
                          model::raft_index(0), model::leader_epoch(0)));
    }
    return s;
  }
  auto bytes = read_whole(fs, path, max_snapshot_bytes);
  if (!bytes)
    return bytes.error();
  reader r{*bytes};
  auto magic = r.get<uint32_t>();
  auto crc = r.get<uint32_t>();
  if (!r.ok || magic != snapshot_magic || crc != bytes::crc32c(std::span(*bytes).subspan(r.at))) {
    return error(errc::invalid_argument, fmt::format("{}: damaged", path.string()));
  }
  snapshot snap;
  snap.meta.last_index = raft_index(r.get<int64_t>());
  snap.meta.last_term = term(r.get<int64_t>());
  snap.meta.next_kafka_offset = kafka_offset(r.get<int64_t>());
  auto config_len = r.get<uint32_t>();
  if (!r.ok || config_len > bytes->size() - r.at)
    return error(errc::invalid_argument, fmt::format("{}: damaged", path.string()));
  auto config = decode_configuration(std::span(*bytes).subspan(r.at, config_len));
  if (!config)
    return error(errc::invalid_argument, fmt::format("{}: damaged", path.string()));
  snap.meta.config = std::move(*config);
  r.at += config_len;
  snap.data.assign(bytes->begin() + static_cast<std::ptrdiff_t>(r.at), bytes->end());
  s->snap_ = std::move(snap);
  // A crash may have come between the snapshot write and the log change after it: a log that
  // does not hold the snapshot's last entry (or holds another one there) is replaced by it.
  const auto& m = s->snap_.meta;
  bool replace = from_log(log.last_index()) < m.last_index;
  if (!replace && m.last_index >= from_log(log.first_index())) {
    auto t = log.term_at(to_log(m.last_index));
    replace = !t || t->value() != m.last_term.value();
  }
  if (replace) {
    STROM_TRY(log.reset(model::kafka_next_offset(m.next_kafka_offset.value()),
                        to_log(next(m.last_index)),
                        model::leader_epoch(static_cast<int32_t>(m.last_term.value()))));
  }
  return s;
}

// --- reads --------------------------------------------------------------------------------

raft_index storage_log_store::first_index() const {
  return next(snap_.meta.last_index);
}

raft_index storage_log_store::last_index() const {
  return std::max(snap_.meta.last_index, from_log(log_.last_index()));
}

std::optional<term> storage_log_store::term_at(raft_index i) const {
  if (i == snap_.meta.last_index)
    return snap_.meta.last_term;
  if (i < first_index() || i > last_index())
    return std::nullopt;
  auto t = log_.term_at(to_log(i));
  if (!t)
    return std::nullopt;
  return term(t->value());
}

kafka_offset storage_log_store::next_kafka_offset() const {
  if (from_log(log_.last_index()) <= snap_.meta.last_index)
    return snap_.meta.next_kafka_offset;
  return kafka_offset(log_.log_end().value());
}

result<entry> storage_log_store::to_entry(storage::log::raft_entry stored) const {
  const auto& h = stored.header;
  entry e;
  e.index = from_log(stored.index);
  e.term = term(h.partition_leader_epoch);
  e.kafka_base = kafka_offset(h.base_offset);
  if (!h.is_internal()) {
    e.kind = entry_kind::data;
    e.kafka_count = static_cast<int32_t>(h.offset_count());
    unstamp(stored.bytes);
    e.payload = std::move(stored.bytes);  // read for this entry: taken, not copied
    return e;
  }
  auto payload = std::span(stored.bytes).subspan(model::batch_layout::header_size);
  switch (h.kind()) {
    case model::internal_kind::term_start:
      e.kind = entry_kind::term_start;
      break;
    case model::internal_kind::configuration: {
      e.kind = entry_kind::configuration;
      auto c = decode_configuration(payload);
      if (!c)
        return c.error();
      e.config = std::move(*c);
      break;
    }
    case model::internal_kind::prefix_truncate:
      e.kind = entry_kind::log_start;
      e.payload = std::vector<std::byte>(payload.begin(), payload.end());
      break;
    default:
      return error(errc::invalid_argument,
                   fmt::format("an internal entry of kind {} at Raft index {}",
                               static_cast<int>(h.kind()), e.index.value()));
  }
  return e;
}

std::vector<entry> storage_log_store::entries(raft_index from, size_t max_bytes) const {
  STROM_ASSERT(from >= first_index() && from <= last_index(), "entries({}) outside [{}, {}]",
               from.value(), first_index().value(), last_index().value());
  auto stored = log_.read_entries(to_log(from), max_bytes);
  STROM_ASSERT(stored.has_value(), "{}: reading Raft index {}: {}", log_.name().dir_name(),
               from.value(), stored.error().message());
  std::vector<entry> out;
  out.reserve(stored->size());
  for (auto& s : *stored) {
    auto e = to_entry(std::move(s));
    STROM_ASSERT(e.has_value(), "{}: {}", log_.name().dir_name(), e.error().message());
    out.push_back(std::move(*e));
  }
  return out;
}

raft_index storage_log_store::flushed_index() const {
  // What the snapshot covers is durable (it was written so).
  return std::max(snap_.meta.last_index, from_log(log_.flushed_index()));
}

// --- writes -------------------------------------------------------------------------------

status storage_log_store::append_one(const entry& e) {
  auto epoch = model::leader_epoch(static_cast<int32_t>(e.term.value()));
  if (e.kind == entry_kind::data) {
    auto h = model::decode_header(e.payload);
    if (!h || h->is_internal() || h->offset_count() != e.kafka_count) {
      return error(errc::invalid_argument,
                   fmt::format("the data entry at Raft index {} is no batch of {} records",
                               e.index.value(), e.kafka_count));
    }
    auto r = log_.append_stamped(e.payload, model::kafka_offset(e.kafka_base.value()), epoch,
                                 to_log(e.index));
    if (!r)
      return r.error();
    return ok();
  }
  std::vector<std::byte> payload;
  auto kind = model::internal_kind::term_start;
  if (e.kind == entry_kind::configuration) {
    kind = model::internal_kind::configuration;
    STROM_ASSERT(e.config.has_value(), "a configuration entry without its configuration");
    payload = encode_configuration(*e.config);
  } else if (e.kind == entry_kind::log_start) {
    kind = model::internal_kind::prefix_truncate;
    payload = e.payload.to_vector();
  }
  auto bytes = model::make_internal_entry(kind, model::kafka_next_offset(e.kafka_base.value()),
                                          epoch, clk_.now_ms(), payload, to_log(e.index));
  auto r = log_.append_stamped(bytes, to_log(e.index));
  if (!r)
    return r.error();
  return ok();
}

status storage_log_store::append(std::optional<raft_index> truncate_from,
                                 const std::vector<entry>& entries) {
  if (truncate_from) {
    if (*truncate_from <= snap_.meta.last_index) {
      return error(errc::invalid_argument,
                   fmt::format("truncation at {}, inside the snapshot (to {})",
                               truncate_from->value(), snap_.meta.last_index.value()));
    }
    STROM_TRY(log_.truncate_from(to_log(*truncate_from)));
    dirty_ = true;
  }
  for (const auto& e : entries) {
    STROM_TRY(append_one(e));
    dirty_ = true;
  }
  return ok();
}

status storage_log_store::write_snapshot(const snapshot& s) {
  writer body;
  body.put<int64_t>(s.meta.last_index.value());
  body.put<int64_t>(s.meta.last_term.value());
  body.put<int64_t>(s.meta.next_kafka_offset.value());
  auto config = encode_configuration(s.meta.config);
  body.put<uint32_t>(static_cast<uint32_t>(config.size()));
  body.put_bytes(config);
  body.put_bytes(s.data);
  writer file;
  file.put<uint32_t>(snapshot_magic);
  file.put<uint32_t>(bytes::crc32c(body.out));
  file.put_bytes(body.out);
  return fs_.write_file_atomic(log_.path() / snapshot_file, file.out);
}

status storage_log_store::compact(const snapshot& s) {
  const auto& m = s.meta;
  if (m.last_index <= snap_.meta.last_index)
    return ok();
  auto t = term_at(m.last_index);
  if (!t || *t != m.last_term) {
    return error(errc::snapshot_out_of_range,
                 fmt::format("compaction to {} (term {}), which the log does not hold",
                             m.last_index.value(), m.last_term.value()));
  }
  STROM_TRY(write_snapshot(s));
  snap_ = s;
  // Whole segments before the snapshot's last entry go; the entries of the first one that
  // stays are hidden behind the snapshot.
  STROM_TRY(log_.prefix_truncate_index(to_log(next(m.last_index))));
  return ok();
}

status storage_log_store::install(const snapshot& s) {
  const auto& m = s.meta;
  STROM_TRY(write_snapshot(s));
  snap_ = s;
  STROM_TRY(log_.reset(model::kafka_next_offset(m.next_kafka_offset.value()),
                       to_log(next(m.last_index)),
                       model::leader_epoch(static_cast<int32_t>(m.last_term.value()))));
  return ok();
}

void storage_log_store::begin_flush(std::function<void(status)> done) {
  dirty_ = false;
  log_.flush_async(std::move(done));
}

// --- hard state ---------------------------------------------------------------------------

result<std::unique_ptr<file_hard_state_store>> file_hard_state_store::open(
    io::file_system& fs, std::filesystem::path path) {
  std::unique_ptr<file_hard_state_store> s(new file_hard_state_store(fs, std::move(path)));
  auto exists = fs.exists(s->path_);
  if (!exists)
    return exists.error();
  if (!*exists) {
    s->hs_.rebuilding = true;  // no state: new, or lost with its data directory
    return s;
  }
  s->existed_ = true;
  auto bytes = read_whole(fs, s->path_, 64);
  if (!bytes)
    return bytes.error();
  reader r{*bytes};
  auto magic = r.get<uint32_t>();
  auto crc = r.get<uint32_t>();
  auto body = std::span(*bytes).subspan(std::min<size_t>(8, bytes->size()));
  auto t = r.get<int64_t>();
  auto has_vote = r.get<uint8_t>();
  auto vote = r.get<int32_t>();
  // The flags byte came later: a file without it is of a node that was never rebuilding.
  auto flags = r.ok && r.at < bytes->size() ? r.get<uint8_t>() : uint8_t{0};
  if (!r.ok || r.at != bytes->size() || magic != hard_state_magic || crc != bytes::crc32c(body) ||
      has_vote > 1 || t < 0 || flags > 1) {
    return error(errc::invalid_argument, fmt::format("{}: damaged", s->path_.string()));
  }
  s->hs_.term = term(t);
  if (has_vote != 0)
    s->hs_.vote = node_id(vote);
  s->hs_.rebuilding = (flags & 1) != 0;
  return s;
}

status file_hard_state_store::save(const hard_state& hs) {
  writer body;
  body.put<int64_t>(hs.term.value());
  body.put<uint8_t>(hs.vote ? 1 : 0);
  body.put<int32_t>(hs.vote ? hs.vote->value() : 0);
  body.put<uint8_t>(hs.rebuilding ? 1 : 0);
  writer file;
  file.put<uint32_t>(hard_state_magic);
  file.put<uint32_t>(bytes::crc32c(body.out));
  file.put_bytes(body.out);
  STROM_TRY(fs_.write_file_atomic(path_, file.out));
  hs_ = hs;
  return ok();
}

}  // namespace strom::raft
