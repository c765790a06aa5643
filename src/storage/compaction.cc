#include "strom/storage/compaction.h"

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "storage/resource_errors.h"
#include "strom/base/logging.h"
#include "strom/base/saturating.h"
#include "strom/bytes/crc32c.h"
#include "strom/model/compression.h"
#include "strom/model/records.h"
#include "strom/storage/errc.h"

namespace strom::storage {

using model::batch_header;
using model::kafka_next_offset;
namespace L = model::batch_layout;

namespace {
spdlog::logger& lg() {
  return logging::get("storage");
}

/// Rough memory cost of one key-map entry beyond the key bytes.
constexpr size_t map_entry_overhead = 64;

std::string key_string(std::span<const std::byte> k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

/// One batch read from a compaction input.
struct read_batch {
  batch_header h;
  std::vector<std::byte> bytes;
  bool crc_ok = false;
};

/// Reads the batch at `pos`; nullopt at the end. A length that does not fit the segment is an
/// error (the segment was validated when written, so this is corruption).
result<std::optional<read_batch>> read_at(const compaction_input& in, io::file& file, uint64_t pos,
                                          size_t max_batch_bytes) {
  if (pos >= in.size)
    return std::optional<read_batch>{};
  if (in.size - pos < L::header_size)
    return error(errc::invalid_batch, fmt::format("torn batch header at {}", pos));
  std::array<std::byte, L::header_size> hbuf{};
  STROM_TRY(file.read_exact(pos, hbuf));
  auto h = model::decode_header(hbuf);
  if (!h)
    return h.error();
  if (!offsets_in_range(*h))
    return error(errc::invalid_batch, fmt::format("corrupt offsets in the batch at {}", pos));
  if (auto s = model::check_length(*h, max_batch_bytes); !s)
    return error(errc::invalid_batch, fmt::format("batch at {}: {}", pos, s.error().message()));
  if (h->size_bytes() > in.size - pos)
    return error(errc::invalid_batch, fmt::format("batch at {} runs past the segment", pos));
  read_batch b{*h, std::vector<std::byte>(h->size_bytes()), false};
  STROM_TRY(file.read_exact(pos, b.bytes));
  b.crc_ok = bytes::crc32c(std::span(b.bytes).subspan(L::crc_start)) == h->crc;
  return std::optional<read_batch>(std::move(b));
}

/// The header carried by a removed-batch entry, when it has one.
std::optional<batch_header> carried_header(const read_batch& b) {
  if (b.h.kind() != model::internal_kind::removed_batch ||
      b.bytes.size() != L::header_size + L::header_size) {
    return std::nullopt;
  }
  auto inner = model::decode_header(std::span(b.bytes).subspan(L::header_size));
  if (!inner)
    return std::nullopt;
  return *inner;
}

}  // namespace

struct compaction_job::key_map {
  std::unordered_map<std::string, int64_t> newest;     ///< key -> offset of its newest record
  std::unordered_map<int64_t, int64_t> producer_last;  ///< producer id -> its newest batch base
  size_t bytes = 0;
};

bool compaction_job::newest_of_producer(const key_map& m, const batch_header& h) {
  auto it = m.producer_last.find(h.producer_id);
  return it == m.producer_last.end() || it->second <= h.base_offset;
}

status compaction_job::build_map(key_map& m, size_t& inputs_used) {
  inputs_used = 0;
  bool mapped = false;
  for (const auto& in : inputs_) {
    if (in.next.value() <= s_.dirty_from.value()) {
      ++inputs_used;  // compacted already: cleaned again with the new map, not mapped
      continue;
    }
    // Whole segments only: when the map is full, the range ends before the next one.
    if (mapped && m.bytes >= s_.max_map_bytes)
      break;
    mapped = true;
    auto file = in.file->get();  // open while this segment is read
    if (!file)
      return file.error();
    uint64_t pos = 0;
    for (;;) {
      if (s_.cancel && s_.cancel->load())
        return error(errc::compaction_aborted, "shutting down");
      auto b = read_at(in, **file, pos, s_.max_batch_bytes);
      if (!b)
        return b.error();
      if (!*b)
        break;
      const auto& h = (*b)->h;
      pos += h.size_bytes();
      if (h.is_internal()) {
        if (auto inner = carried_header(**b); inner && inner->producer_id >= 0) {
          auto& last = m.producer_last[inner->producer_id];
          last = std::max(last, inner->base_offset);
        }
        continue;
      }
      if (h.is_control() || !(*b)->crc_ok)
        continue;
      if (h.producer_id >= 0) {
        auto [it, fresh] = m.producer_last.try_emplace(h.producer_id, h.base_offset);
        if (!fresh)
          it->second = std::max(it->second, h.base_offset);
      }
      auto recs = model::records_section((*b)->bytes, h, s_.max_decompressed_bytes);
      if (!recs)
        continue;  // kept whole in the cleaning pass; its keys supersede nothing
      std::vector<std::pair<std::string, int64_t>> found;
      auto s = model::for_each_record_in(*recs, h, [&](const model::record_view& r) {
        if (r.key)
          found.emplace_back(key_string(*r.key), wrapping_add(h.base_offset, r.offset_delta));
        return true;
      });
      if (!s)
        continue;
      for (auto& [k, o] : found) {
        auto size = k.size();
        auto [it, fresh] = m.newest.try_emplace(std::move(k), o);
        if (fresh)
          m.bytes += size + map_entry_overhead;
        else
          it->second = std::max(it->second, o);
      }
    }
    ++inputs_used;
  }
  return ok();
}

status compaction_job::clean_input(const key_map& m, size_t i) {
  const auto& in = inputs_[i];
  // Two passes: the first only decides whether anything changes, so that an already clean
  // segment is neither rewritten nor re-synced; the second writes the staged segment.
  for (int pass = 0; pass < 2; ++pass) {
    bool write = pass == 1;
    std::shared_ptr<segment> out;
    if (write) {
      auto opts = s_.segment_opts;
      opts.suffix = ".cleaned";
      // A leftover of an abandoned run would make create_new fail.
      (void)s_.fs->remove(opts.dir / (segment_names::log_name(in.stem, in.epoch) + opts.suffix));
      auto seg = segment::create(opts, in.stem, in.raft_base, in.epoch, s_.now);
      if (!seg)
        return seg.error();
      out = std::shared_ptr<segment>(std::move(*seg));
      staged_.push_back({i, out});
    }
    compaction_stats st;
    timestamp_ms deadline = -1;
    bool changed = false;
    int64_t out_next = in.base.value();
    auto emit = [&](std::span<const std::byte> bytes, const batch_header& h) -> status {
      out_next = std::max(out_next, h.next_offset().value());
      if (!write)
        return ok();
      st.bytes_after += bytes.size();
      return out->append(bytes, h);
    };
    auto emit_marker = [&](int64_t position, std::span<const std::byte> payload) -> status {
      auto entry =
          model::make_internal_entry(model::internal_kind::removed_batch,
                                     kafka_next_offset(position), in.epoch, s_.now, payload);
      auto h = model::decode_header(entry);
      if (!h)
        return h.error();
      return emit(entry, *h);
    };

    auto file = in.file->get();  // open while this segment is read
    if (!file)
      return file.error();
    uint64_t pos = 0;
    for (;;) {
      if (s_.cancel && s_.cancel->load())
        return error(errc::compaction_aborted, "shutting down");
      auto b = read_at(in, **file, pos, s_.max_batch_bytes);
      if (!b)
        return b.error();
      if (!*b)
        break;
      auto& batch = **b;
      const auto& h = batch.h;
      pos += h.size_bytes();
      bool last_in_segment = pos >= in.size;

      if (h.is_internal()) {
        if (h.kind() == model::internal_kind::removed_batch) {
          auto inner = carried_header(batch);
          bool newest = inner && inner->producer_id >= 0 && newest_of_producer(m, *inner);
          if (!newest && !last_in_segment) {
            changed = true;
            continue;
          }
        }
        STROM_TRY(emit(batch.bytes, h));
        continue;
      }
      if (h.is_control() || !batch.crc_ok) {
        if (!batch.crc_ok)
          ++st.unreadable_batches;
        STROM_TRY(emit(batch.bytes, h));
        continue;
      }
      auto recs = model::records_section(batch.bytes, h, s_.max_decompressed_bytes);
      if (!recs) {
        ++st.unreadable_batches;
        STROM_TRY(emit(batch.bytes, h));
        continue;
      }

      // Decide record by record.
      std::vector<model::record_view> keep;
      uint64_t removed = 0, tombstones = 0, keyless = 0;
      bool needs_horizon = false;
      auto s = model::for_each_record_in(*recs, h, [&](const model::record_view& r) {
        int64_t offset = wrapping_add(h.base_offset, r.offset_delta);
        if (!r.key) {
          ++keyless;  // Kafka's cleaner drops records without a key too
          return true;
        }
        auto it = m.newest.find(key_string(*r.key));
        if (it != m.newest.end() && it->second > offset) {
          ++removed;
          return true;
        }
        if (!r.value) {
          if (h.has_delete_horizon() && h.base_timestamp <= s_.now) {
            ++tombstones;
            return true;
          }
          if (!h.has_delete_horizon())
            needs_horizon = true;
        }
        keep.push_back(r);
        return true;
      });
      if (!s) {
        ++st.unreadable_batches;
        STROM_TRY(emit(batch.bytes, h));
        continue;
      }
      st.records_removed += removed;
      st.tombstones_removed += tombstones;
      st.keyless_removed += keyless;
      bool any_tombstone_kept =
          std::any_of(keep.begin(), keep.end(), [](const auto& r) { return !r.value; });

      if (keep.size() == static_cast<size_t>(h.records_count) && !needs_horizon) {
        if (any_tombstone_kept && h.has_delete_horizon())
          deadline = deadline < 0 ? h.base_timestamp : std::min(deadline, h.base_timestamp);
        STROM_TRY(emit(batch.bytes, h));
        continue;
      }
      changed = true;
      if (keep.empty() && !s_.keep_empty_batches) {
        // The whole batch goes. An idempotent producer's newest batch leaves its header
        // behind in an internal entry, so that its sequence state survives (docs).
        bool newest = h.producer_id >= 0 && newest_of_producer(m, h);
        if (newest)
          STROM_TRY(
              emit_marker(h.next_offset().value(), std::span(batch.bytes).first(L::header_size)));
        continue;
      }
      // Rebuild with the kept records: same base offset and last offset delta (the batch
      // still spans its offsets, as Kafka does), producer fields, attributes and max
      // timestamp; new count, records, CRC; and a delete horizon once a tombstone is seen.
      // A replicated log keeps a batch with no record left, uncompressed.
      batch_header nh = h;
      if (keep.empty())
        nh.attributes = static_cast<int16_t>(nh.attributes & ~int16_t{0x07});
      if (needs_horizon) {
        nh.attributes = static_cast<int16_t>(nh.attributes | batch_header::delete_horizon_flag);
        nh.base_timestamp = sat_add(s_.now, s_.delete_retention_ms);
      }
      if (any_tombstone_kept)
        deadline = deadline < 0 ? nh.base_timestamp : std::min(deadline, nh.base_timestamp);
      if (!write) {
        out_next = std::max(out_next, h.next_offset().value());
        continue;
      }
      std::vector<std::byte> body;
      for (const auto& r : keep) {
        // Wrapping, as clients add base and delta: the record's timestamp stays what it was.
        int64_t ts_delta =
            wrapping_sub(wrapping_add(h.base_timestamp, r.timestamp_delta), nh.base_timestamp);
        model::append_record(body, r.attributes, ts_delta, r.offset_delta,
                             r.body.subspan(r.key_pos));
      }
      auto packed = model::compress(nh.codec(), body);
      if (!packed)
        return packed.error();
      nh.records_count = static_cast<int32_t>(keep.size());
      auto rebuilt = model::encode_batch(nh, *packed);
      auto rh = model::decode_header(rebuilt);
      if (!rh)
        return rh.error();
      ++st.batches_rebuilt;
      STROM_TRY(emit(rebuilt, *rh));
    }
    // The segment still ends where it did: a removed tail leaves an entry at its end offset.
    if (out_next < in.next.value()) {
      changed = true;
      STROM_TRY(emit_marker(in.next.value(), {}));
    }
    if (!write) {
      if (!changed) {
        if (deadline >= 0)
          tombstone_deadline_ =
              tombstone_deadline_ < 0 ? deadline : std::min(tombstone_deadline_, deadline);
        return ok();
      }
      continue;
    }
    STROM_TRY(out->write_pending_indexes());
    STROM_TRY(out->sync());
    // Written and durable: its descriptors go (the log file to the cache) before the next
    // input's are opened, so a compaction of many segments holds few files at a time.
    out->mark_synced();
    STROM_TRY(out->release_files());
    st.bytes_before = in.size;
    stats_.segments_rewritten += 1;
    stats_.bytes_before += st.bytes_before;
    stats_.bytes_after += st.bytes_after;
    stats_.records_removed += st.records_removed;
    stats_.tombstones_removed += st.tombstones_removed;
    stats_.keyless_removed += st.keyless_removed;
    stats_.batches_rebuilt += st.batches_rebuilt;
    stats_.unreadable_batches += st.unreadable_batches;
    if (deadline >= 0)
      tombstone_deadline_ =
          tombstone_deadline_ < 0 ? deadline : std::min(tombstone_deadline_, deadline);
  }
  return ok();
}

status compaction_job::run() {
  STROM_ASSERT(!ran_, "compaction job run twice");
  ran_ = true;
  key_map m;
  size_t used = 0;
  auto s = build_map(m, used);
  if (s) {
    inputs_.resize(used);
    stats_.segments_read = used;
    if (!inputs_.empty())
      stats_.cleaned_end = inputs_.back().next;
    for (size_t i = 0; i < inputs_.size() && s; ++i)
      s = clean_input(m, i);
  }
  if (!s) {
    discard();
    if (is_resource_exhaustion(s.error().code()))
      s = note_resource_exhaustion("compaction of " + s_.dir.string(), s.error());
    else if (!s.error().is(errc::compaction_aborted))
      lg().warn("compaction of {} failed: {}", s_.dir.string(), s.error().message());
  }
  result_ = s;
  return s;
}

void compaction_job::discard() {
  for (auto& st : staged_)
    (void)st.seg->remove_files();
  staged_.clear();
}

}  // namespace strom::storage
