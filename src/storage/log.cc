#include "strom/storage/log.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <future>

#include <fmt/format.h>

#include "storage/resource_errors.h"
#include "strom/base/logging.h"
#include "strom/base/saturating.h"
#include "strom/bytes/crc32c.h"
#include "strom/bytes/endian.h"
#include "strom/model/compression.h"
#include "strom/model/records.h"
#include "strom/storage/errc.h"

namespace strom::storage {

using model::kafka_next_offset;
using model::kafka_offset;
using model::leader_epoch;

namespace {
constexpr const char* log_start_file = "log-start-offset";
constexpr const char* recovery_point_file = "recovery-point";
constexpr const char* epoch_file = "leader-epoch-checkpoint";

spdlog::logger& lg() {
  return logging::get("storage");
}

std::atomic<uint64_t> next_log_id{1};

/// Raises `a` to `v` unless it already holds more (other threads may raise it too).
template <class T>
void raise_to(std::atomic<T>& a, T v) {
  T prev = a.load();
  while (prev < v && !a.compare_exchange_weak(prev, v)) {
  }
}

constexpr const char* cleaned_suffix = ".cleaned";
constexpr const char* swap_suffix = ".swap";

/// Largest decompressed records section accepted when validating an append or looking up a
/// timestamp inside a compressed batch (as compaction's default, compaction_job settings).
constexpr size_t max_decompressed_bytes = size_t{64} << 20;
/// A leader's batch larger than this is corrupt (as compaction's default max_batch_bytes).
constexpr size_t max_replicated_batch_bytes = size_t{1} << 30;
}  // namespace

status log_flush_state::write_recovery_point(int64_t value) {
  std::lock_guard lock(rp_mu);
  auto text = fmt::format("{}\n", value);
  return fs->write_file_atomic(recovery_point, std::as_bytes(std::span(text)));
}

status log_flush_state::write_recovery_point_capped(int64_t target) {
  std::lock_guard lock(rp_mu);
  int64_t value = target;
  {
    std::lock_guard state_lock(mu);
    value = std::min(value, trunc_low);
  }
  auto text = fmt::format("{}\n", value);
  return fs->write_file_atomic(recovery_point, std::as_bytes(std::span(text)));
}

namespace {
/// A snapshot file: version u16, CRC-32C u32 of everything after it, offset i64, payload
/// length u32, payload (big-endian; docs/storage-format.md).
constexpr uint16_t snapshot_version = 1;
constexpr size_t snapshot_header = 2 + 4 + 8 + 4;
}  // namespace

status log_flush_state::write_snapshot(int64_t offset, std::span<const std::byte> payload) {
  std::vector<std::byte> frame(snapshot_header + payload.size());
  bytes::write_be<uint16_t>(frame.data(), snapshot_version);
  bytes::write_be<int64_t>(frame.data() + 6, offset);
  bytes::write_be<uint32_t>(frame.data() + 14, static_cast<uint32_t>(payload.size()));
  if (!payload.empty())
    std::memcpy(frame.data() + snapshot_header, payload.data(), payload.size());
  bytes::write_be<uint32_t>(frame.data() + 2, bytes::crc32c(std::span(frame).subspan(6)));
  return fs->write_file_atomic(dir / segment_names::snapshot_name(kafka_next_offset(offset)),
                               frame);
}

// --- log_dir ---------------------------------------------------------------------------------

void log_dir::take_offline(const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    if (offline_.load())
      return;
    reason_ = reason;
    offline_.store(true, std::memory_order_release);
  }
  lg().error("log directory {} is offline: {}", path_.string(), reason);
}

std::string log_dir::offline_reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

// --- read_result -----------------------------------------------------------------------------

result<std::vector<std::byte>> read_result::copy() const {
  std::vector<std::byte> out(bytes);
  size_t at = 0;
  for (const auto& s : slices) {
    STROM_TRY(s.file->read_exact(s.position, std::span(out).subspan(at, s.length)));
    at += s.length;
  }
  return out;
}

// --- open ------------------------------------------------------------------------------------

log::log(model::ntp name, std::filesystem::path path, options opts)
    : name_(std::move(name)),
      path_(std::move(path)),
      opts_(std::move(opts)),
      epochs_(opts_.fs, path_ / epoch_file),
      flush_(std::make_shared<log_flush_state>()),
      id_(next_log_id.fetch_add(1)) {
  flush_->fs = opts_.fs;
  flush_->dir = path_;
  flush_->recovery_point = path_ / recovery_point_file;
}

log::~log() {
  wait_flushes();
  // The flush state may outlive the log (a round that just finished still holds it): it
  // keeps no segment, whose files belong to the log and to the cache.
  std::lock_guard lock(flush_->mu);
  flush_->active.reset();
  flush_->closed.clear();
}

void log::wait_flushes() const {
  std::unique_lock lock(flush_->mu);
  flush_->idle.wait(lock, [&] { return flush_->is_idle(); });
}

segment::options log::segment_options() const {
  return segment::options{opts_.fs,
                          path_,
                          opts_.config.index_interval_bytes,
                          opts_.config.max_batch_bytes,
                          opts_.config.writeback_bytes,
                          opts_.writeback_pool,
                          {},
                          opts_.files};
}

result<std::unique_ptr<log>> log::open(const model::ntp& name, options opts, bool clean,
                                       log_recovery& report) {
  auto path = opts.dir->path() / name.dir_name();
  std::unique_ptr<log> l(new log(name, path, std::move(opts)));
  if (auto s = l->load(clean, report); !s) {
    if (is_resource_exhaustion(s.error().code()))
      return note_resource_exhaustion("opening " + name.dir_name(), s.error());
    return s.error();
  }
  return l;
}

result<std::optional<int64_t>> log::read_offset_file(const char* file) {
  auto p = path_ / file;
  auto exists = opts_.fs->exists(p);
  if (!exists)
    return exists.error();
  if (!*exists)
    return std::optional<int64_t>{};
  auto text = opts_.fs->read_small_file(p, 64);
  if (!text)
    return text.error();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || v < 0)
    return error(errc::corrupt_checkpoint, p.string());
  return std::optional<int64_t>(v);
}

status log::write_offset_file(const char* file, int64_t value) {
  auto text = fmt::format("{}\n", value);
  return opts_.fs->write_file_atomic(path_ / file, std::as_bytes(std::span(text)));
}

status log::resolve_swap_files(std::vector<int64_t>& swapped) {
  // A compaction interrupted by a crash (docs/storage-format.md, "Compaction"): while any
  // `.cleaned` file exists the swap had not committed, so every staged file goes; otherwise
  // the remaining `.swap` files replace their originals.
  auto& fs = *opts_.fs;
  auto names = fs.list(path_);
  if (!names)
    return names.error();
  // Only names a compaction writes count: a segment file name plus the suffix. Anything else
  // ending the same way (however short) is not ours to rename or delete.
  auto staged_base = [](const std::string& n, std::string_view suffix) {
    if (!n.ends_with(suffix))
      return std::optional<kafka_offset>{};
    return segment_names::parse_segment_file_base(n.substr(0, n.size() - suffix.size()));
  };
  bool rollback = std::any_of(names->begin(), names->end(), [&](const std::string& n) {
    return staged_base(n, cleaned_suffix).has_value();
  });
  bool touched = false;
  for (const auto& n : *names) {
    auto cleaned = staged_base(n, cleaned_suffix);
    auto swap = staged_base(n, swap_suffix);
    if (!cleaned && !swap) {
      if (n.ends_with(cleaned_suffix) || n.ends_with(swap_suffix))
        lg().warn("{}: ignoring {}: not a segment file name", name_.dir_name(), n);
      continue;
    }
    if (cleaned || rollback) {
      STROM_TRY(fs.remove(path_ / n));
      touched = true;
      continue;
    }
    auto final_name = n.substr(0, n.size() - std::string_view(swap_suffix).size());
    STROM_TRY(fs.rename(path_ / n, path_ / final_name));
    touched = true;
    if (std::find(swapped.begin(), swapped.end(), swap->value()) == swapped.end())
      swapped.push_back(swap->value());
  }
  if (touched) {
    STROM_TRY(fs.sync_directory(path_));
    lg().warn("{}: {} an interrupted compaction", name_.dir_name(),
              rollback ? "rolled back" : "completed");
  }
  return ok();
}

status log::load(bool clean, log_recovery& report) {
  auto& fs = *opts_.fs;
  STROM_TRY(fs.create_directories(path_));
  std::vector<int64_t> swapped;
  STROM_TRY(resolve_swap_files(swapped));
  auto names = fs.list(path_);
  if (!names)
    return names.error();

  std::vector<segment_names::parsed> found;
  for (const auto& n : *names) {
    if (n.ends_with(".tmp")) {
      STROM_TRY(fs.remove(path_ / n));  // an interrupted atomic write
      continue;
    }
    if (auto p = segment_names::parse_log_name(n))
      found.push_back(*p);
  }
  // Log order: Kafka base, then Raft base (segments of internal entries alone share the next
  // one's Kafka base; a name without a Raft base has delta 0 or continues the previous
  // segment, which sorts it first among equal Kafka bases), then epoch.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    auto ka = std::tuple(a.base.value(), a.raft ? a.raft->value() : a.base.value(), a.epoch);
    auto kb = std::tuple(b.base.value(), b.raft ? b.raft->value() : b.base.value(), b.epoch);
    return ka < kb;
  });
  // Two log files with one stem: an empty segment replaced by a roll to a new epoch whose
  // removal did not happen. The empty one goes; anything else is an overlap (refused below).
  for (size_t i = 0; i + 1 < found.size();) {
    if (found[i].stem() != found[i + 1].stem()) {
      ++i;
      continue;
    }
    auto p = path_ / segment_names::log_name(found[i].stem(), found[i].epoch);
    auto f = fs.open(p, io::open_mode::read_only);
    if (!f)
      return f.error();
    auto size = (*f)->size();
    if (!size)
      return size.error();
    if (*size != 0) {
      return error(
          errc::invalid_batch,
          fmt::format("{} and a later epoch's segment have the same base", p.filename().string()));
    }
    f->reset();
    STROM_TRY(fs.remove(p));
    lg().warn("{}: removed {}, an empty segment replaced by a newer epoch's", name_.dir_name(),
              p.filename().string());
    found.erase(found.begin() + static_cast<std::ptrdiff_t>(i));
  }

  auto start = read_offset_file(log_start_file);
  if (!start)
    return start.error();
  auto recovery_point = read_offset_file(recovery_point_file);
  if (!recovery_point)
    return recovery_point.error();
  STROM_TRY(epochs_.load());

  // Segments from the one holding the recovery point on were being written at the crash.
  int64_t rp = recovery_point->value_or(0);
  int64_t recover_from = INT64_MIN;
  for (const auto& f : found) {
    if (f.base.value() <= rp)
      recover_from = f.base.value();
  }

  auto now = opts_.clk->now_ms();
  bool cut = false;
  for (const auto& f : found) {
    if (cut) {
      // A torn tail can only be at the end: later segments are leftovers of that tail.
      STROM_TRY(fs.remove(path_ / segment_names::log_name(f.stem(), f.epoch)));
      STROM_TRY(fs.remove(path_ / segment_names::index_name(f.stem())));
      STROM_TRY(fs.remove(path_ / segment_names::time_index_name(f.stem())));
      ++report.segments_removed;
      report.notes.push_back(
          fmt::format("removed segment {} after a truncated one", f.base.value()));
      continue;
    }
    // Segments just swapped in by an interrupted compaction are re-read too: cheap insurance.
    bool recover = (!clean && f.base.value() >= recover_from) ||
                   std::find(swapped.begin(), swapped.end(), f.base.value()) != swapped.end();
    // The Raft base: from the name, else continuing the previous segment (delta 0 for the
    // first): logs written before Raft indexes had no name for it.
    model::raft_index raft_base =
        f.raft ? *f.raft
               : model::raft_index(f.base.value() + (segments_.empty() ? 0 : offsets_.end_delta()));
    if (!segments_.empty() && !clean &&
        (f.base.value() > active().next_offset().value() ||
         raft_base.value() != active().next_offset().value() + offsets_.end_delta())) {
      // The previous segment lost a tail that was never synced, while this one's name (a
      // directory entry, durable on its own) survived: it was created after that tail, so
      // nothing in it was synced either (a flush syncs the closed segments before the active
      // one). It goes, and every later one with it; the log stays contiguous in both
      // coordinates.
      STROM_TRY(fs.remove(path_ / segment_names::log_name(f.stem(), f.epoch)));
      STROM_TRY(fs.remove(path_ / segment_names::index_name(f.stem())));
      STROM_TRY(fs.remove(path_ / segment_names::time_index_name(f.stem())));
      ++report.segments_removed;
      report.notes.push_back(fmt::format(
          "removed segment {} (Raft index {}) after a segment that lost its unsynced tail",
          f.base.value(), raft_base.value()));
      cut = true;
      continue;
    }
    if (segments_.empty()) {
      offsets_.reset(raft_base.value() - f.base.value());
    } else if (raft_base.value() != f.base.value() + offsets_.end_delta()) {
      return error(
          errc::index_mismatch,
          fmt::format("segment {} starts at Raft index {}, the previous one ends before {}",
                      segment_names::log_name(f.stem(), f.epoch), raft_base.value(),
                      f.base.value() + offsets_.end_delta()));
    }
    segment_recovery sr;
    auto seg = segment::open(segment_options(), f.stem(), raft_base, f.epoch, recover, now, sr);
    if (!seg)
      return seg.error();
    ++report.segments;
    if (recover || sr.index_rebuilt)
      ++report.segments_recovered;
    if (sr.index_rebuilt)
      ++report.indexes_rebuilt;
    if (!segments_.empty() && (*seg)->base_offset().value() < active().next_offset().value()) {
      return error(errc::invalid_batch,
                   fmt::format("segment {} overlaps the previous one ending at {}",
                               (*seg)->base_offset().value(), active().next_offset().value()));
    }
    if (sr.truncated_bytes > 0) {
      report.bytes_truncated += sr.truncated_bytes;
      report.notes.push_back(fmt::format("segment {}: truncated {} bytes at {}: {}", f.base.value(),
                                         sr.truncated_bytes, sr.valid_bytes, sr.reason));
      cut = true;
    }
    // The previous segment is closed: durable (synced after an unclean stop), its files go,
    // so that opening a log of any number of segments holds a bounded number of descriptors.
    if (!segments_.empty()) {
      auto& prev = *segments_.rbegin()->second;
      if (!clean)
        STROM_TRY(prev.sync());
      STROM_TRY(prev.release_files());
    }
    std::shared_ptr<segment> opened(std::move(*seg));
    STROM_TRY(map_internal_entries(*opened));
    segments_.emplace(key_of(*opened), std::move(opened));
  }
  if (!clean && segments_.size() > 1 && active().empty() &&
      active().epoch() > std::prev(segments_.end(), 2)->second->epoch()) {
    // A roll to a new epoch whose first entry never reached the disk: no entry backs that
    // epoch, and the next one written may be of an older term (a Raft follower's).
    auto empty = segments_.rbegin()->second;
    STROM_TRY(empty->remove_files());
    segments_.erase(std::prev(segments_.end()));
    STROM_TRY(active().reacquire());
    ++report.segments_removed;
    report.notes.push_back(fmt::format("removed the empty segment {} of epoch {}",
                                       empty->base_offset().value(), empty->epoch().value()));
  }

  if (segments_.empty()) {
    auto base = kafka_offset(start->value_or(0));
    auto epoch = epochs_.latest().value_or(leader_epoch(0));
    offsets_.reset(0);
    auto seg = segment::create(segment_options(), segment_stem{base, std::nullopt},
                               model::raft_index(base.value()), epoch, now);
    if (!seg)
      return seg.error();
    std::shared_ptr<segment> created(std::move(*seg));
    segments_.emplace(key_of(*created), std::move(created));
  }

  log_end_ = active().next_offset();
  log_start_ = kafka_offset(std::max(start->value_or(0), segments_.begin()->first.kafka));
  if (log_start_.value() > log_end_.value())
    log_start_ = model::first_at(log_end_);
  // The checkpoint may be missing or behind the segments: every segment's epoch is known.
  STROM_TRY(epochs_.truncate_from_end(log_end_));
  for (const auto& [base, seg] : segments_) {
    // Only terms that wrote data (raft-design §2.6): a term whose segment holds internal
    // entries alone answers no OffsetForLeaderEpoch.
    if (seg->covers_offsets())
      STROM_TRY(epochs_.assign(seg->epoch(), seg->base_offset()));
  }
  if (!clean)
    STROM_TRY(active().sync());  // the closed ones were synced as they were released
  STROM_TRY(flush_->write_recovery_point(log_end_.value()));
  STROM_TRY(load_snapshots());

  flush_->active = segments_.rbegin()->second;
  flush_->appended_end = log_end_.value();
  flush_->flushed_end = log_end_.value();
  flush_->appended_index = last_index().value();
  flush_->synced_index = last_index().value();
  draw_roll_jitter();
  for (const auto& n : report.notes)
    lg().warn("{}: {}", name_.dir_name(), n);
  return ok();
}

status log::map_internal_entries(const segment& seg) {
  // Every internal entry is indexed (flagged): their headers say which take a Raft index and
  // which index they carry (none in logs written before Raft indexes: then the next one).
  for (const auto& e : seg.index()) {
    if ((e.flags & index_entry::internal) == 0)
      continue;
    auto loc = seg.header_at(e.position);
    if (!loc)
      return loc.error();
    if (!*loc)
      break;
    const auto& h = (*loc)->header;
    if (!h.is_internal() || !model::takes_raft_index(h.kind()))
      continue;
    auto added = offsets_.add(kafka_next_offset(h.base_offset), h.stored_raft_index());
    if (!added) {
      return error(errc::index_mismatch,
                   fmt::format("{}: {}", segment_names::log_name(seg.stem(), seg.epoch()),
                               added.error().message()));
    }
  }
  return ok();
}

log::segment_map::const_iterator log::kafka_seek(kafka_offset o) const {
  auto it = segments_.lower_bound(o);  // the first segment with base >= o
  if (it != segments_.end() && it->first.kafka == o.value())
    return it;
  return it == segments_.begin() ? it : std::prev(it);
}

// --- append ----------------------------------------------------------------------------------

status log::check_writable() const {
  if (opts_.dir->offline()) {
    return error(errc::log_dir_offline, opts_.dir->offline_reason());
  }
  return ok();
}

error log::io_failed(const error& e) {
  // Out of descriptors or memory says nothing about the disk: fail this call only.
  if (is_resource_exhaustion(e.code()))
    return note_resource_exhaustion(name_.dir_name(), e);
  opts_.dir->take_offline(fmt::format("{}: {}", name_.dir_name(), e.message()));
  return error(errc::log_dir_offline, e.message());
}

void log::release_synced() {
  std::erase_if(unreleased_, [&](const std::shared_ptr<segment>& seg) {
    auto it = segments_.find(key_of(*seg));
    if (it == segments_.end() || it->second != seg)
      return true;  // deleted or replaced meanwhile
    if (seg == segments_.rbegin()->second)
      return true;  // active again (truncation): released after its next roll
    if (!seg->synced())
      return false;
    if (auto s = seg->release_files(); !s) {
      // Nothing lost: it keeps its files and is tried again later.
      if (is_resource_exhaustion(s.error().code())) {
        (void)note_resource_exhaustion(name_.dir_name(), s.error());
        return false;
      }
      (void)io_failed(s.error());
      return true;
    }
    return true;
  });
}

status log::load_snapshots() {
  auto names = opts_.fs->list(path_);
  if (!names)
    return names.error();
  snapshots_.clear();
  for (const auto& n : *names) {
    if (auto o = segment_names::parse_snapshot_name(n))
      snapshots_.insert(o->value());
  }
  drop_snapshots_outside(log_end_.value());
  return ok();
}

void log::drop_snapshots_outside(int64_t end) {
  auto first = segments_.empty() ? end : segments_.begin()->first.kafka;
  for (auto it = snapshots_.begin(); it != snapshots_.end();) {
    if (*it >= first && *it <= end) {
      ++it;
      continue;
    }
    // Derived data: a file left behind is dropped again at the next open.
    (void)opts_.fs->remove(path_ / segment_names::snapshot_name(kafka_next_offset(*it)));
    it = snapshots_.erase(it);
  }
}

void log::stash_snapshot(std::vector<std::byte> payload) {
  stashed_snapshot_.emplace(log_end_.value(), std::move(payload));
}

std::vector<kafka_next_offset> log::snapshots() const {
  std::vector<kafka_next_offset> out;
  for (auto o : snapshots_)
    out.emplace_back(o);
  return out;
}

result<std::vector<std::byte>> log::read_snapshot(kafka_next_offset at, size_t max_bytes) const {
  auto p = path_ / segment_names::snapshot_name(at);
  auto text = opts_.fs->read_small_file(p, snapshot_header + max_bytes);
  if (!text)
    return text.error();
  auto frame = std::as_bytes(std::span(*text));
  auto bad = [&](std::string_view why) {
    return error(errc::corrupt_checkpoint, fmt::format("{}: {}", p.string(), why));
  };
  if (frame.size() < snapshot_header)
    return bad("shorter than its header");
  if (bytes::read_be<uint16_t>(frame.data()) != snapshot_version)
    return bad("unknown version");
  if (bytes::read_be<uint32_t>(frame.data() + 2) != bytes::crc32c(frame.subspan(6)))
    return bad("CRC mismatch");
  if (bytes::read_be<int64_t>(frame.data() + 6) != at.value())
    return bad("offset differs from its name");
  if (bytes::read_be<uint32_t>(frame.data() + 14) != frame.size() - snapshot_header)
    return bad("length differs from the file's");
  auto payload = frame.subspan(snapshot_header);
  return std::vector<std::byte>(payload.begin(), payload.end());
}

bool log::aged(const segment& s, timestamp_ms now) const {
  // segment.jitter.ms moves each segment's roll earlier by a random amount drawn at its
  // creation, never by more than half of segment.ms.
  auto jitter = std::min(roll_jitter_ms_, opts_.config.segment_ms / 2);
  return sat_sub(now, s.created_ms()) >= opts_.config.segment_ms - jitter;
}

void log::draw_roll_jitter() {
  roll_jitter_ms_ = 0;
  if (opts_.config.segment_jitter_ms <= 0)
    return;
  auto& rng = opts_.random ? *opts_.random : default_random();
  roll_jitter_ms_ = rng.uniform(0, opts_.config.segment_jitter_ms - 1);
}

model::leader_epoch log::active_epoch() const {
  return active().epoch();
}

status log::roll(leader_epoch epoch) {
  auto base = model::first_at(log_end_);
  auto raft_base = next_index();
  auto now = opts_.clk->now_ms();
  auto old = segments_.rbegin()->second;
  if (auto s = old->write_pending_indexes(); !s)
    return io_failed(s.error());
  release_synced();  // closed segments made durable since the last roll free their files first
  // The new segment first: when it cannot be created (out of descriptors, say) nothing has
  // changed, the old segment stays active and a later append tries again.
  auto seg =
      segment::create(segment_options(), segment_stem::of(base, raft_base), raft_base, epoch, now);
  if (!seg)
    return io_failed(seg.error());
  std::shared_ptr<segment> fresh(std::move(*seg));
  bool replaced = old->empty();
  if (replaced) {
    // Nothing to keep: the empty segment is replaced (a new epoch needs a new name). It had
    // the new segment's stem, so its index file names are the new segment's now: only its
    // log file goes. Should that fail for lack of a resource, the empty file is dropped at
    // the next start.
    if (auto s = old->remove_log_file(); !s && !is_resource_exhaustion(s.error().code()))
      return io_failed(s.error());
    segments_.erase(std::prev(segments_.end()));
  } else {
    old->release_recent();
    // Its index files are complete (written above): closed now, so that a closed segment
    // waiting for its flush holds one descriptor (its log file) instead of three.
    if (auto s = old->close_indexes(); !s)
      (void)io_failed(s.error());  // nothing was pending: not reached in practice
    unreleased_.push_back(old);
  }
  segments_.emplace(key_of(*fresh), fresh);
  draw_roll_jitter();
  // The owner's state as of the new segment's base: written by the flush that makes the
  // closed segment durable, never before the data it covers.
  std::optional<log_flush_state::snapshot_write> snap;
  if (!replaced && snapshot_source_) {
    snap.emplace();
    snap->offset = base.value();
    snap->payload = snapshot_source_();
    snapshots_.insert(base.value());
    while (snapshots_.size() > kept_snapshots) {
      snap->obsolete.push_back(*snapshots_.begin());
      snapshots_.erase(snapshots_.begin());
    }
  }
  {
    std::lock_guard lock(flush_->mu);
    if (snap)
      flush_->snapshots.push_back(std::move(*snap));
    if (!replaced)
      flush_->closed.push_back(old);
    // The next flush rewrites the recovery point, whose directory fsync also makes the new
    // segment's files durable entries of the directory before any data in them is
    // acknowledged as flushed (even when the old segment was empty and just replaced).
    flush_->roll_pending = true;
    flush_->active = fresh;
  }
  if (!replaced)
    flush_async(nullptr);  // closed segments are synced soon after a roll
  lg().debug("{}: rolled to segment {} epoch {}", name_.dir_name(), base.value(), epoch.value());
  return ok();
}

model::validation_policy log::validation_policy(model::append_origin origin) const {
  model::validation_policy p;
  p.origin = origin;
  // A replica takes its leader's batch whatever the limit is now (it may have been lowered
  // since); beyond 1 GiB a batch is corrupt.
  p.max_batch_bytes = origin == model::append_origin::replica ? max_replicated_batch_bytes
                                                              : opts_.config.max_batch_bytes;
  p.max_decompressed_bytes = max_decompressed_bytes;
  p.compacted = opts_.config.cleanup_compact;
  return p;
}

result<append_result> log::append(std::span<std::byte> batch, leader_epoch epoch) {
  auto v = model::validate_for_append(batch, validation_policy(model::append_origin::internal));
  if (!v) {
    if (v.error().is(model::batch_errc::too_large))
      return error(errc::batch_too_large, v.error().message());
    if (v.error().is(model::batch_errc::missing_key))
      return error(errc::record_without_key, "cleanup.policy is compact");
    return error(errc::invalid_batch, v.error().message());
  }
  return append(*v, epoch);
}

result<append_result> log::append(model::validated_batch& batch, leader_epoch epoch) {
  STROM_TRY(check_writable());
  if (batch.size_bytes() > opts_.config.max_batch_bytes &&
      batch.origin() != model::append_origin::replica) {
    return error(errc::batch_too_large,
                 fmt::format("batch of {} bytes, the limit is {}", batch.size_bytes(),
                             opts_.config.max_batch_bytes));
  }
  // A replica takes what its leader stored (written before the policy was compact, maybe).
  if (opts_.config.cleanup_compact && !batch.header().is_control() && !batch.all_keyed() &&
      batch.origin() != model::append_origin::replica)
    return error(errc::record_without_key, "cleanup.policy is compact");
  auto r = write_at_end(batch.header(), batch.bytes(), epoch);
  if (r)
    batch.stamp(r->base, epoch);  // as written
  return r;
}

result<append_result> log::write_at_end(model::batch_header h, std::span<const std::byte> batch,
                                        leader_epoch epoch) {
  if (auto n = flush_->closed_synced.load(std::memory_order_acquire); n != released_at_) {
    released_at_ = n;
    release_synced();  // closed segments a flush made durable let go of their files
  }
  auto& cur = active();
  if (epoch < cur.epoch()) {
    return error(errc::stale_epoch, fmt::format("epoch {} is older than the log's {}",
                                                epoch.value(), cur.epoch().value()));
  }
  auto now = opts_.clk->now_ms();
  bool roll_needed =
      epoch > cur.epoch() ||
      (!cur.empty() &&
       (cur.size_bytes() + batch.size() > opts_.config.segment_bytes || aged(cur, now) ||
        (cur.index().size() + 1) * index_entry::disk_size > opts_.config.index_max_bytes ||
        log_end_.value() + h.offset_count() - cur.base_offset().value() >
            static_cast<int64_t>(UINT32_MAX)));
  if (roll_needed)
    STROM_TRY(roll(epoch));

  auto base = model::first_at(log_end_);
  auto base_index = next_index();
  // The epoch checkpoint before the data: when it cannot be written nothing is appended (an
  // entry starting at the log end without data is dropped again at the next start).
  if (auto s = epochs_.assign(epoch, base); !s)
    return io_failed(s.error());
  // The stamps go into a copy of the header, written before the records it came with: the
  // batch itself is not changed, nor copied whole.
  h.base_offset = base.value();
  h.partition_leader_epoch = epoch.value();
  std::array<std::byte, model::batch_layout::header_size> head{};
  std::copy_n(batch.begin(), head.size(), head.begin());
  model::stamp_batch(head, base, epoch);
  if (auto s = active().append(head, batch.subspan(head.size()), h); !s)
    return io_failed(s.error());
  log_end_ = h.next_offset();
  published_write();

  if (first_unflushed_ms_ < 0)
    first_unflushed_ms_ = now;
  unflushed_messages_ += h.records_count;
  if (opts_.config.flush_messages && unflushed_messages_ >= *opts_.config.flush_messages) {
    flush_async(nullptr);
  }
  return append_result{base, h.last_offset(), h.max_timestamp, base_index,
                       model::raft_index(base_index.value() + h.last_offset_delta)};
}

result<entry_position> log::append_internal(model::internal_kind kind,
                                            std::span<const std::byte> payload,
                                            leader_epoch epoch) {
  STROM_TRY(check_writable());
  if (!model::takes_raft_index(kind)) {
    return error(
        errc::invalid_batch,
        fmt::format("internal entry kind {} is the log's own bookkeeping", static_cast<int>(kind)));
  }
  if (epoch < active().epoch()) {
    return error(errc::stale_epoch, fmt::format("epoch {} is older than the log's {}",
                                                epoch.value(), active().epoch().value()));
  }
  if (epoch > active().epoch())
    STROM_TRY(roll(epoch));
  auto now = opts_.clk->now_ms();
  auto index = next_index();
  auto entry = model::make_internal_entry(kind, log_end_, epoch, now, payload, index);
  auto h = model::decode_header(entry);
  if (!h)
    return h.error();
  // No epoch-cache entry: only terms that write data have one (raft-design §2.6).
  if (auto s = active().append(entry, *h); !s)
    return io_failed(s.error());
  auto added = offsets_.add(log_end_, index);
  STROM_ASSERT(added.has_value(), "the next index is the index an entry at the log end takes");
  published_write();
  if (first_unflushed_ms_ < 0)
    first_unflushed_ms_ = now;
  return entry_position{index, log_end_};
}

// --- the log as a Raft log --------------------------------------------------------------------

log::segment_map::const_iterator log::raft_seek(model::raft_index i) const {
  // Raft bases increase along the map: the last segment starting at or before `i`. An empty
  // active segment starts at the next index, after every entry.
  auto it = segments_.upper_bound(i);
  STROM_ASSERT(it != segments_.begin(), "{}: index {} before the first segment", name_.dir_name(),
               i.value());
  return std::prev(it);
}

std::optional<model::raft_index> log::first_index_of(const model::batch_header& h) const {
  if (!h.is_internal())
    return offsets_.to_raft(kafka_offset(h.base_offset));
  if (!model::takes_raft_index(h.kind()))
    return std::nullopt;
  if (auto i = h.stored_raft_index())
    return i;
  // Written before entries carried their index: the first one at its position.
  return offsets_.first_index_at(kafka_next_offset(h.base_offset));
}

result<log::raft_location> log::locate_entry(model::raft_index i) const {
  auto it = raft_seek(i);
  const auto& seg = *it->second;
  auto where = offsets_.locate(i);
  header_window window;
  auto found = seg.find(model::first_at(where.position), &window);
  if (!found)
    return found.error();
  auto pos = *found ? (*found)->position : seg.size_bytes();
  for (;;) {
    auto cur = seg.header_at(pos, &window);
    if (!cur)
      return cur.error();
    if (!*cur)
      break;
    const auto& h = (*cur)->header;
    if (auto first = first_index_of(h)) {
      auto last = model::raft_index(first->value() + h.raft_span() - 1);
      if (last >= i) {
        if (*first > i)
          break;  // a hole: the entry is not where the map says
        return raft_location{it, **cur, *first};
      }
    }
    pos += h.size_bytes();
  }
  return error(errc::index_mismatch,
               fmt::format("{}: no entry holds Raft index {} (in segment {})", name_.dir_name(),
                           i.value(), segment_names::log_name(seg.stem(), seg.epoch())));
}

std::optional<leader_epoch> log::term_at(model::raft_index i) const {
  if (i < first_index() || i > last_index())
    return std::nullopt;
  return raft_seek(i)->second->epoch();
}

result<std::vector<log::raft_entry>> log::read_entries(model::raft_index from,
                                                       size_t max_bytes) const {
  if (from < first_index() || from > last_index()) {
    return error(errc::offset_out_of_range,
                 fmt::format("{}: Raft index {} outside [{}, {}]", name_.dir_name(), from.value(),
                             first_index().value(), last_index().value()));
  }
  auto start = locate_entry(from);
  if (!start)
    return start.error();
  std::vector<raft_entry> out;
  size_t bytes = 0;
  uint64_t pos = start->batch.position;
  for (auto it = start->seg; it != segments_.end(); ++it, pos = 0) {
    const auto& seg = *it->second;
    auto file = seg.log_file();
    if (!file)
      return file.error();
    header_window window;
    for (;;) {
      auto cur = seg.header_at(pos, &window);
      if (!cur)
        return cur.error();
      if (!*cur)
        break;
      const auto& h = (*cur)->header;
      size_t size = h.size_bytes();
      auto first = first_index_of(h);
      if (first) {
        if (!out.empty() && bytes + size > max_bytes)
          return out;
        raft_entry e{*first, h, std::vector<std::byte>(size)};
        auto n = (*file)->read_at(pos, e.bytes);
        if (!n)
          return n.error();
        if (*n != size) {
          return error(errc::invalid_batch,
                       fmt::format("{}: short read of the entry at Raft index {}", name_.dir_name(),
                                   first->value()));
        }
        bytes += size;
        out.push_back(std::move(e));
      }
      pos += size;
    }
  }
  return out;
}

result<model::raft_index> log::append_stamped(std::span<const std::byte> batch,
                                              model::kafka_offset base, leader_epoch epoch,
                                              model::raft_index expected) {
  STROM_TRY(check_writable());
  auto h = model::decode_header(batch);
  if (!h)
    return error(errc::invalid_batch, h.error().message());
  if (h->is_internal())
    return error(errc::invalid_batch, "an internal entry where a data batch was expected");
  return append_replica(batch, base, epoch, expected);
}

status log::continues(model::raft_index expected, int64_t base) const {
  if (expected != next_index()) {
    return error(errc::index_mismatch,
                 fmt::format("{}: an entry at Raft index {}, the next one is {}", name_.dir_name(),
                             expected.value(), next_index().value()));
  }
  if (base != log_end_.value()) {
    return error(errc::index_mismatch, fmt::format("{}: an entry at offset {}, the log ends at {}",
                                                   name_.dir_name(), base, log_end_.value()));
  }
  return ok();
}

result<model::raft_index> log::append_replica(std::span<const std::byte> batch,
                                              model::kafka_offset base, leader_epoch epoch,
                                              model::raft_index expected) {
  // Byte for byte as the leader stored it (compacted, maybe; its timestamps as they are).
  auto h = model::validate_replicated(batch, validation_policy(model::append_origin::replica));
  if (!h)
    return error(errc::invalid_batch, h.error().message());
  STROM_TRY(continues(expected, base.value()));
  auto r = write_at_end(*h, batch, epoch);
  if (!r)
    return r.error();
  return r->base_index;
}

result<model::raft_index> log::append_stamped(std::span<const std::byte> entry,
                                              model::raft_index expected) {
  STROM_TRY(check_writable());
  auto h = model::decode_header(entry);
  if (!h)
    return error(errc::invalid_batch, h.error().message());
  if (!h->is_internal()) {
    return append_replica(entry, model::kafka_offset(h->base_offset),
                          leader_epoch(h->partition_leader_epoch), expected);
  }
  auto valid =
      model::validate_batch(entry, *h, max_replicated_batch_bytes, model::batch_shape::compacted);
  if (!valid)
    return error(errc::invalid_batch, valid.error().message());
  STROM_TRY(continues(expected, h->base_offset));
  auto epoch = leader_epoch(h->partition_leader_epoch);
  if (!model::takes_raft_index(h->kind()) || h->stored_raft_index() != expected) {
    return error(errc::index_mismatch,
                 fmt::format("{}: an internal entry of kind {} carrying another index than {}",
                             name_.dir_name(), static_cast<int>(h->kind()), expected.value()));
  }
  if (epoch < active().epoch()) {
    return error(errc::stale_epoch, fmt::format("epoch {} is older than the log's {}",
                                                epoch.value(), active().epoch().value()));
  }
  if (epoch > active().epoch())
    STROM_TRY(roll(epoch));
  if (auto s = active().append(entry, *h); !s)
    return io_failed(s.error());
  auto added = offsets_.add(log_end_, expected);
  STROM_ASSERT(added.has_value(), "the next index is the index an entry at the log end takes");
  published_write();
  if (first_unflushed_ms_ < 0)
    first_unflushed_ms_ = opts_.clk->now_ms();
  return expected;
}

status log::truncate_from(model::raft_index from) {
  STROM_TRY(check_writable());
  if (from > last_index())
    return ok();
  if (from < first_index()) {
    return error(errc::invalid_offset,
                 fmt::format("{}: truncate from Raft index {} below the first {}", name_.dir_name(),
                             from.value(), first_index().value()));
  }
  auto at = locate_entry(from);
  if (!at)
    return io_failed(at.error());
  // Everything from the batch holding `from` goes: a data batch whole.
  auto cut_index = at->first;
  auto cut_end = kafka_next_offset(at->batch.header.base_offset);
  auto cut_pos = at->batch.position;
  auto cut_seg = at->seg->second;
  if (cut_end < kafka_next_offset(log_start_.value())) {
    return error(errc::invalid_offset,
                 fmt::format("{}: truncating from Raft index {} removes the batch at {}, below "
                             "the log start {}",
                             name_.dir_name(), from.value(), cut_end.value(), log_start_.value()));
  }
  if (cut_pos == 0 && segments_.size() == 1) {
    // Nothing stays: the log starts again empty at the cut, in a segment of no epoch yet (a
    // new leader's entries there may be of an older term than the ones removed).
    return reset(cut_end, cut_index, leader_epoch(0));
  }
  {
    // As in truncate(): a flush round running now claims nothing past the cut.
    std::lock_guard lock(flush_->mu);
    flush_->trunc_low = std::min(flush_->trunc_low, cut_end.value());
    std::erase_if(flush_->snapshots, [&](const auto& w) { return w.offset > cut_end.value(); });
  }
  ++generation_;
  std::vector<std::shared_ptr<segment>> removed;
  while (segments_.rbegin()->second != cut_seg) {
    removed.push_back(segments_.rbegin()->second);
    segments_.erase(std::prev(segments_.end()));
  }
  if (cut_pos == 0 && segments_.size() > 1) {
    removed.push_back(cut_seg);
    segments_.erase(std::prev(segments_.end()));
  }
  auto& last = *segments_.rbegin()->second;
  // The segment that becomes the active one is written to again.
  if (auto s = last.reacquire(); !s)
    return io_failed(s.error());
  for (auto& seg : removed) {
    if (auto s = seg->remove_files(); !s)
      return io_failed(s.error());
  }
  if (&last == cut_seg.get()) {
    if (auto s = last.truncate_at(cut_pos); !s)
      return io_failed(s.error());
  }
  // Durable now, before anything is appended after the cut: a crash must not bring back the
  // removed tail under entries (or a segment) written after it. The recovery-point rewrite
  // below syncs the directory (the removed segments' names).
  if (auto s = last.sync(); !s)
    return io_failed(s.error());
  log_end_ = last.next_offset();
  offsets_.truncate(cut_index);
  if (auto s = epochs_.truncate_from_end(log_end_); !s)
    return io_failed(s.error());
  drop_snapshots_outside(log_end_.value());
  auto gone = [&](const std::shared_ptr<segment>& s) {
    return std::find(removed.begin(), removed.end(), s) != removed.end();
  };
  std::erase_if(unreleased_, gone);
  return settle_truncation([&](const std::shared_ptr<segment>& s) {
    return gone(s) || s == segments_.rbegin()->second;
  });
}

status log::prefix_truncate_index(model::raft_index first_kept) {
  STROM_TRY(check_writable());
  if (first_kept > next_index()) {
    return error(errc::invalid_offset,
                 fmt::format("{}: Raft index {} beyond the next one, {}", name_.dir_name(),
                             first_kept.value(), next_index().value()));
  }
  if (first_kept <= first_index())
    return ok();
  auto start = first_kept == next_index() ? log_end_ : offsets_.locate(first_kept).position;
  if (first_kept == next_index() && !active().empty())
    STROM_TRY(roll(active().epoch()));
  while (segments_.size() > 1 && std::next(segments_.begin())->second->raft_base() <= first_kept)
    STROM_TRY(remove_front_segment());
  if (start.value() > log_start_.value()) {
    log_start_ = model::first_at(start);
    if (auto s = write_offset_file(log_start_file, log_start_.value()); !s)
      return io_failed(s.error());
    if (auto s = epochs_.truncate_from_start(log_start_); !s)
      return io_failed(s.error());
  }
  return ok();
}

void log::published_write() {
  flush_->appended_end.store(log_end_.value(), std::memory_order_release);
  flush_->appended_index.store(last_index().value(), std::memory_order_release);
  flush_->write_seq.fetch_add(1, std::memory_order_release);
}

model::raft_index log::flushed_index() const {
  if (flush_->synced_seq.load(std::memory_order_acquire) >=
      flush_->write_seq.load(std::memory_order_acquire)) {
    return last_index();  // every write, internal entries at the end too
  }
  // The entries before the flushed Kafka position, and those up to the last entry a sync
  // covered (internal entries positioned at that position, written after the data before it).
  auto f = std::max(flushed_offset(), kafka_next_offset(log_start_.value()));
  auto by_offset = offsets_.first_index_at(f).value() - 1;
  auto by_index = flush_->synced_index.load(std::memory_order_acquire);
  return model::raft_index(std::min(last_index().value(), std::max(by_offset, by_index)));
}

status log::reset(kafka_next_offset start, model::raft_index next, leader_epoch epoch) {
  STROM_TRY(check_writable());
  {
    std::lock_guard lock(flush_->mu);
    flush_->trunc_low = std::min(flush_->trunc_low, start.value());
    flush_->snapshots.clear();
  }
  ++generation_;
  auto now = opts_.clk->now_ms();
  auto base = model::first_at(start);
  // The new segment first (its name carries the new Raft base), then the old ones go.
  auto old = std::move(segments_);
  segments_.clear();
  bool clash = false;
  for (auto& [k, seg] : old) {
    // A segment of the same name would be overwritten: remove it first.
    if (seg->stem() == segment_stem::of(base, next)) {
      clash = true;
      if (auto s = seg->remove_files(); !s)
        return io_failed(s.error());
    }
  }
  auto created = segment::create(segment_options(), segment_stem::of(base, next), next, epoch, now);
  if (!created)
    return io_failed(created.error());
  for (auto& [k, seg] : old) {
    if (clash && seg->stem() == segment_stem::of(base, next))
      continue;
    if (auto s = seg->remove_files(); !s)
      return io_failed(s.error());
  }
  std::shared_ptr<segment> fresh(std::move(*created));
  segments_.emplace(key_of(*fresh), fresh);
  unreleased_.clear();
  offsets_.reset(next.value() - start.value());
  log_start_ = base;
  log_end_ = start;
  if (auto s = epochs_.truncate_from_end(start); !s)
    return io_failed(s.error());
  if (auto s = epochs_.truncate_from_start(base); !s)
    return io_failed(s.error());
  drop_snapshots_outside(log_end_.value() - 1);  // every one: they describe data that is gone
  // Durable before it returns: the new (empty) segment's name, the log start, the recovery
  // point.
  if (auto s = fresh->sync(); !s)
    return io_failed(s.error());
  if (auto s = opts_.fs->sync_directory(path_); !s)
    return io_failed(s.error());
  if (auto s = write_offset_file(log_start_file, log_start_.value()); !s)
    return io_failed(s.error());
  if (auto s = flush_->write_recovery_point(log_end_.value()); !s)
    return io_failed(s.error());
  {
    std::lock_guard lock(flush_->mu);
    flush_->active = fresh;
    flush_->closed.clear();
    flush_->roll_pending = false;
    flush_->appended_end = log_end_.value();
    flush_->flushed_end = log_end_.value();
    flush_->appended_index = last_index().value();
    flush_->synced_index = last_index().value();
    flush_->trunc_low_index = std::min(flush_->trunc_low_index, last_index().value());
    auto seq = flush_->write_seq.fetch_add(1) + 1;
    if (flush_->synced_seq.load() < seq)
      flush_->synced_seq = seq;
  }
  return ok();
}

// --- read ------------------------------------------------------------------------------------

result<read_result> log::read(kafka_offset from, const read_options& ro) const {
  if (from < log_start_ || from.value() > log_end_.value()) {
    return error(errc::offset_out_of_range, fmt::format("offset {} outside [{}, {}]", from.value(),
                                                        log_start_.value(), log_end_.value()));
  }
  read_result out;
  out.next = kafka_next_offset(from.value());
  auto limit = std::min(ro.max_offset.value_or(log_end_), log_end_);

  auto it = kafka_seek(from);
  bool done = false;
  for (; it != segments_.end() && !done; ++it) {
    const auto& seg = *it->second;
    header_window window;
    auto loc = seg.find(from, &window);
    if (!loc)
      return loc.error();
    if (!*loc)
      continue;
    uint64_t pos = (*loc)->position;
    auto file = seg.log_file();
    if (!file)
      return file.error();
    file_slice run{*file, pos, 0};
    auto close_run = [&] {
      if (run.length > 0)
        out.slices.push_back(run);
    };
    for (;;) {
      auto cur = seg.header_at(pos, &window);
      if (!cur)
        return cur.error();
      if (!*cur)
        break;
      const auto& h = (*cur)->header;
      size_t size = h.size_bytes();
      if (h.is_internal() ? h.base_offset > limit.value() : h.next_offset() > limit) {
        done = true;
        break;
      }
      // Internal entries, and the batches compaction emptied in a replicated log (they hold
      // their offsets for the Raft log), go to replication only: a reader's run ends before
      // the entry and resumes after it.
      if (!ro.include_internal && (h.is_internal() || h.records_count == 0)) {
        close_run();
        pos += size;
        run = file_slice{*file, pos, 0};
        continue;
      }
      if (out.bytes + size > ro.max_bytes && (out.bytes > 0 || !ro.min_one_batch)) {
        done = true;
        break;
      }
      run.length += size;
      out.bytes += size;
      if (!h.is_internal())
        out.next = h.next_offset();
      pos += size;
    }
    close_run();
  }
  return out;
}

result<std::optional<timestamp_lookup>> log::find_offset_by_timestamp(timestamp_ms ts) const {
  for (const auto& [base, seg] : segments_) {
    if (seg->empty() || seg->max_timestamp() < ts)
      continue;
    auto loc = seg->find_by_timestamp(ts);
    if (!loc)
      return loc.error();
    if (!*loc)
      continue;
    const auto& h = (*loc)->header;
    // Under LogAppendTime every record has the batch's timestamp: its first record answers.
    // Otherwise the first record at or after `ts` inside the batch, decompressed if need be
    // (as Kafka does); a batch that cannot be read within the limit answers its first offset.
    timestamp_lookup found{h.first_offset(), h.max_timestamp};
    if (!h.log_append_time()) {
      std::vector<std::byte> batch(h.size_bytes());
      auto file = seg->log_file();
      if (!file)
        return file.error();
      STROM_TRY((*file)->read_exact((*loc)->position, batch));
      std::vector<std::byte> inflated;
      std::span<const std::byte> records =
          std::span(batch).subspan(model::batch_layout::header_size);
      bool readable = true;
      if (h.codec() != model::compression::none) {
        auto d = model::decompress(h.codec(), records, max_decompressed_bytes);
        readable = d.has_value();
        if (readable) {
          inflated = std::move(*d);
          records = inflated;
        }
      }
      if (readable) {
        (void)model::for_each_record_in(records, h, [&](const model::record_view& r) {
          // A record's timestamp is a Java long sum: it wraps, whatever the producer sent.
          auto t = wrapping_add(h.base_timestamp, r.timestamp_delta);
          if (t < ts)
            return true;
          found = {kafka_offset(wrapping_add(h.base_offset, r.offset_delta)), t};
          return false;
        });
      }
    }
    if (found.offset < log_start_)
      found.offset = log_start_;
    return std::optional<timestamp_lookup>(found);
  }
  return std::optional<timestamp_lookup>{};
}

timestamp_ms log::max_timestamp() const {
  timestamp_ms m = -1;
  for (const auto& [base, seg] : segments_)
    m = std::max(m, seg->max_timestamp());
  return m;
}

status log::visit_headers(kafka_offset from,
                          const std::function<void(const model::batch_header&)>& fn) const {
  if (from < log_start_)
    from = log_start_;
  for (auto it = kafka_seek(from); it != segments_.end(); ++it) {
    header_window window;
    auto loc = it->second->find(from, &window);
    if (!loc)
      return loc.error();
    if (!*loc)
      continue;
    uint64_t pos = (*loc)->position;
    for (;;) {
      auto cur = it->second->header_at(pos, &window);
      if (!cur)
        return cur.error();
      if (!*cur)
        break;
      const auto& h = (*cur)->header;
      if (!h.is_internal()) {
        fn(h);
      } else if (h.kind() == model::internal_kind::removed_batch &&
                 h.size_bytes() == 2 * model::batch_layout::header_size) {
        std::array<std::byte, model::batch_layout::header_size> inner{};
        auto file = it->second->log_file();
        if (!file)
          return file.error();
        STROM_TRY((*file)->read_exact(pos + model::batch_layout::header_size, inner));
        if (auto ih = model::decode_header(inner); ih && ih->magic == model::kafka_magic)
          fn(*ih);
      }
      pos += h.size_bytes();
    }
  }
  return ok();
}

kafka_offset log::recent_segments_start(size_t n) const {
  auto it = segments_.rbegin();
  for (size_t i = 1; i < n && std::next(it) != segments_.rend(); ++i)
    ++it;
  return kafka_offset(it->first.kafka);
}

uint64_t log::size_bytes() const {
  uint64_t total = 0;
  for (const auto& [base, seg] : segments_)
    total += seg->size_bytes();
  return total;
}

// --- truncation and retention -------------------------------------------------------------------

result<kafka_next_offset> log::truncate(kafka_next_offset end) {
  STROM_TRY(check_writable());
  if (end.value() < log_start_.value()) {
    return error(errc::invalid_offset, fmt::format("truncate to {} below the log start {}",
                                                   end.value(), log_start_.value()));
  }
  if (end >= log_end_)
    return log_end_;
  {
    // A flush round running now claims nothing durable past the cut, and writes (or keeps)
    // no snapshot beyond it; snapshots not taken by a round yet are dropped here. The
    // truncation does not wait for the round's fsync.
    std::lock_guard lock(flush_->mu);
    flush_->trunc_low = std::min(flush_->trunc_low, end.value());
    std::erase_if(flush_->snapshots, [&](const auto& w) { return w.offset > end.value(); });
  }
  ++generation_;
  auto epoch = active().epoch();
  // A batch straddling `end` goes whole and the end moves below it; a gap left by compaction
  // just below `end` must not move it (see below).
  bool straddles = false;
  if (auto it = segments_.lower_bound(model::first_at(end)); it != segments_.begin()) {
    auto loc = std::prev(it)->second->find(model::first_at(end));
    if (!loc)
      return io_failed(loc.error());
    straddles = *loc && !(*loc)->header.is_internal() && (*loc)->header.base_offset < end.value();
  }
  {
    // The segment that becomes the active one is written to: its files are opened again
    // (it may have been released) before anything changes.
    auto it = segments_.lower_bound(model::first_at(end));
    auto target = it == segments_.begin() ? it : std::prev(it);
    if (auto s = target->second->reacquire(); !s)
      return io_failed(s.error());
  }
  while (!segments_.empty() && segments_.rbegin()->first.kafka >= end.value() &&
         segments_.size() > 1) {
    auto seg = segments_.rbegin()->second;
    if (auto s = seg->remove_files(); !s)
      return io_failed(s.error());
    segments_.erase(std::prev(segments_.end()));
  }
  auto& last = active();
  if (last.base_offset().value() >= end.value()) {
    // The only segment left starts at or after the cut: empty it.
    if (auto s = last.truncate(kafka_next_offset(last.base_offset().value())); !s) {
      return io_failed(s.error());
    }
  } else if (auto s = last.truncate(end); !s) {
    return io_failed(s.error());
  }
  log_end_ = active().next_offset();
  offsets_.truncate_at_position(end);  // the internal entries positioned at `end` went too
  if (log_end_ < end && !straddles) {
    // Compaction removed the records just below `end`: keep the end where it was asked to be
    // (offsets are never reused) with an entry that spans the gap.
    auto entry = model::make_internal_entry(model::internal_kind::removed_batch, end,
                                            active().epoch(), opts_.clk->now_ms(), {});
    auto h = model::decode_header(entry);
    if (!h)
      return h.error();
    if (auto s = active().append(entry, *h); !s)
      return io_failed(s.error());
    log_end_ = active().next_offset();
  }
  if (auto s = epochs_.truncate_from_end(log_end_); !s)
    return io_failed(s.error());
  drop_snapshots_outside(log_end_.value());  // they cover data that is gone
  (void)epoch;
  STROM_TRY(settle_truncation([&](const std::shared_ptr<segment>& s) {
    return s->base_offset().value() >= log_end_.value() && s != segments_.rbegin()->second;
  }));
  return log_end_;
}

status log::settle_truncation(const std::function<bool(const std::shared_ptr<segment>&)>& gone) {
  {
    std::lock_guard lock(flush_->mu);
    flush_->active = segments_.rbegin()->second;
    std::erase_if(flush_->closed, gone);
    flush_->appended_end = log_end_.value();
    flush_->appended_index = last_index().value();
    flush_->write_seq.fetch_add(1);
    flush_->trunc_low = std::min(flush_->trunc_low, log_end_.value());
    flush_->trunc_low_index = std::min(flush_->trunc_low_index, last_index().value());
    if (flush_->flushed_end.load() > log_end_.value())
      flush_->flushed_end = log_end_.value();
    if (flush_->synced_index.load() > last_index().value())
      flush_->synced_index = last_index().value();
  }
  if (auto s =
          flush_->write_recovery_point(std::min(log_end_.value(), segments_.rbegin()->first.kafka));
      !s) {
    return io_failed(s.error());
  }
  return ok();
}

status log::remove_front_segment() {
  ++generation_;
  auto seg = segments_.begin()->second;
  if (auto s = seg->remove_files(); !s)
    return io_failed(s.error());
  segments_.erase(segments_.begin());
  offsets_.drop_before(segments_.begin()->second->raft_base());
  auto new_start = kafka_offset(segments_.begin()->first.kafka);
  if (new_start > log_start_)
    log_start_ = new_start;
  drop_snapshots_outside(log_end_.value());  // snapshots go with their segments
  return ok();
}

status log::prefix_truncate(kafka_offset start) {
  STROM_TRY(check_writable());
  if (start.value() > log_end_.value()) {
    return error(errc::invalid_offset, fmt::format("log start {} beyond the log end {}",
                                                   start.value(), log_end_.value()));
  }
  if (start <= log_start_)
    return ok();
  if (start.value() == log_end_.value() && !active().empty())
    STROM_TRY(roll(active().epoch()));
  while (segments_.size() > 1 && std::next(segments_.begin())->first.kafka <= start.value()) {
    STROM_TRY(remove_front_segment());
  }
  log_start_ = start;
  if (auto s = write_offset_file(log_start_file, start.value()); !s)
    return io_failed(s.error());
  if (auto s = epochs_.truncate_from_start(start); !s)
    return io_failed(s.error());
  return ok();
}

std::optional<model::raft_index> log::retention_point() const {
  const auto& cfg = opts_.config;
  if (!cfg.cleanup_delete || segments_.size() < 2)
    return std::nullopt;
  // The rules of housekeeping(): by age, a segment without data goes with the first one after
  // it that holds data and expired; then by size, the oldest first. Never the active segment.
  size_t drop = 0;
  if (cfg.retention_ms >= 0) {
    auto now = opts_.clk->now_ms();
    auto it = segments_.begin();
    for (;;) {
      auto j = it;
      size_t k = 1;
      while (std::next(j) != segments_.end() && !j->second->covers_offsets()) {
        ++j;
        ++k;
      }
      if (std::next(j) == segments_.end() || !j->second->covers_offsets() ||
          j->second->max_timestamp() >= sat_sub(now, cfg.retention_ms))
        break;
      drop += k;
      it = std::next(j);
    }
  }
  if (cfg.retention_bytes >= 0) {
    uint64_t total = size_bytes();
    auto it = segments_.begin();
    for (size_t i = 0; i < drop; ++i, ++it)
      total -= it->second->size_bytes();
    while (segments_.size() - drop > 1 &&
           total - it->second->size_bytes() >= static_cast<uint64_t>(cfg.retention_bytes)) {
      total -= it->second->size_bytes();
      ++drop;
      ++it;
    }
  }
  if (drop == 0)
    return std::nullopt;
  auto kept = std::next(segments_.begin(), static_cast<std::ptrdiff_t>(drop));
  return model::raft_index(kept->second->raft_base().value() - 1);
}

result<size_t> log::housekeeping(bool retention) {
  STROM_TRY(check_writable());
  auto now = opts_.clk->now_ms();
  const auto& cfg = opts_.config;
  size_t deleted = 0;
  auto start_before = log_start_;
  release_synced();
  // A step that fails for lack of descriptors or memory (noted once, rate-limited) is left
  // for the next tick; any other failure ends the run.
  bool later = false;
  auto step = [&](status s) -> status {
    if (!s && s.error().is(errc::resource_exhausted)) {
      later = true;
      return ok();
    }
    return s;
  };

  // Retention by time and size is the `delete` half of cleanup.policy.
  retention = retention && cfg.cleanup_delete;
  if (retention && cfg.retention_ms >= 0) {
    // Data expires by its newest timestamp. A segment without data (internal entries alone:
    // a term that wrote nothing) has nothing that expires: it goes with the first segment
    // after it that holds data, when that one expires; before that it is kept.
    auto expired = [&](const segment& s) {
      return s.covers_offsets() && s.max_timestamp() < sat_sub(now, cfg.retention_ms);
    };
    while (!later) {
      auto it = segments_.begin();
      size_t k = 1;
      while (std::next(it) != segments_.end() && !it->second->covers_offsets()) {
        ++it;
        ++k;
      }
      if (!expired(*it->second))
        break;
      if (std::next(it) == segments_.end()) {
        // The active segment: a new one first, so that it can go.
        STROM_TRY(step(roll(active().epoch())));
        if (later)
          break;
      }
      for (size_t i = 0; i < k && !later; ++i) {
        STROM_TRY(step(remove_front_segment()));
        deleted += later ? 0 : 1;
      }
    }
  }
  if (!later && retention && cfg.retention_bytes >= 0) {
    uint64_t total = size_bytes();
    while (!later && segments_.size() > 1 &&
           total - segments_.begin()->second->size_bytes() >=
               static_cast<uint64_t>(cfg.retention_bytes)) {
      auto size = segments_.begin()->second->size_bytes();
      STROM_TRY(step(remove_front_segment()));
      if (!later) {
        total -= size;
        ++deleted;
      }
    }
  }
  if (log_start_ != start_before) {
    // Segments are gone: the log start file follows (a start that stays behind is raised to
    // the first segment at the next open).
    if (auto s = write_offset_file(log_start_file, log_start_.value()); !s)
      STROM_TRY(step(io_failed(s.error())));
    if (auto s = epochs_.truncate_from_start(log_start_); !s)
      STROM_TRY(step(io_failed(s.error())));
  }
  if (!active().empty() && aged(active(), now))
    STROM_TRY(step(roll(active().epoch())));
  if (cfg.flush_ms && first_unflushed_ms_ >= 0 &&
      sat_sub(now, first_unflushed_ms_) >= *cfg.flush_ms && flushed_offset() < log_end_) {
    flush_async(nullptr);
  }
  if (deleted > 0) {
    lg().info("{}: retention deleted {} segment(s), log start now {}", name_.dir_name(), deleted,
              log_start_.value());
  }
  return deleted;
}

// --- compaction -------------------------------------------------------------------------------

bool log::compaction_due() const {
  const auto& cfg = opts_.config;
  if (compacting_ || !cfg.cleanup_compact || opts_.dir->offline() || segments_.size() < 2)
    return false;
  if (tombstone_deadline_ >= 0 && opts_.clk->now_ms() >= tombstone_deadline_)
    return true;
  uint64_t dirty = 0;
  uint64_t total = 0;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    total += it->second->size_bytes();
    if (it->first.kafka >= cleaned_end_.value())
      dirty += it->second->size_bytes();
  }
  return dirty > 0 &&
         static_cast<double>(dirty) >= cfg.min_cleanable_dirty_ratio * static_cast<double>(total);
}

std::shared_ptr<compaction_job> log::prepare_compaction(const compaction_bounds& bounds) {
  const auto& cfg = opts_.config;
  if (compacting_ || !cfg.cleanup_compact || opts_.dir->offline())
    return nullptr;
  auto now = opts_.clk->now_ms();
  // A record may go only when the newer record of its key is durable: the key map is built
  // from segments wholly below the flushed offset (and below the active segment).
  auto bound = std::min(active().base_offset().value(), flushed_offset().value());
  if (bounds.limit)
    bound = std::min(bound, bounds.limit->value());
  std::vector<compaction_input> inputs;
  bool dirty = false;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    const auto& seg = *it->second;
    if (seg.next_offset().value() > bound)
      break;
    if (cfg.min_compaction_lag_ms > 0 &&
        seg.max_timestamp() > sat_sub(now, cfg.min_compaction_lag_ms))
      break;
    inputs.push_back({seg.base_offset(), seg.epoch(), seg.log_source(), seg.size_bytes(),
                      seg.next_offset(), seg.stem(), seg.raft_base()});
    if (it->first.kafka >= cleaned_end_.value())
      dirty = true;
  }
  bool tombstones_due = tombstone_deadline_ >= 0 && now >= tombstone_deadline_;
  if (inputs.empty() || (!dirty && !tombstones_due))
    return nullptr;
  compaction_job::settings s;
  s.fs = opts_.fs;
  s.dir = path_;
  s.segment_opts = segment_options();
  s.now = now;
  s.delete_retention_ms = cfg.delete_retention_ms;
  s.cancel = opts_.cancel;
  s.dirty_from = cleaned_end_;
  s.keep_empty_batches = bounds.keep_empty_batches;
  compacting_ = true;
  return std::make_shared<compaction_job>(id_, generation_, std::move(s), std::move(inputs));
}

result<compaction_stats> log::finish_compaction(compaction_job& job) {
  STROM_ASSERT(job.log_id_ == id_, "compaction job of another log");
  compacting_ = false;
  if (!job.result_) {
    // run() removed its files. Out of descriptors or memory: tried again on a later tick
    // (run() noted it, rate-limited).
    if (is_resource_exhaustion(job.result_.error().code()))
      return error(errc::compaction_aborted, job.result_.error().message());
    return job.result_.error();
  }
  if (job.generation_ != generation_ || opts_.dir->offline()) {
    job.discard();
    return error(errc::compaction_aborted, "the log changed while it was compacted");
  }
  // The swap (docs/storage-format.md): every staged file `.cleaned` -> `.swap`, directory
  // synced (the commit point: no `.cleaned` left), then each `.swap` over its original.
  auto& fs = *opts_.fs;
  bool swap = !job.staged_.empty();
  auto names = [](const compaction_input& in) {
    return std::array<std::string, 3>{segment_names::log_name(in.stem, in.epoch),
                                      segment_names::index_name(in.stem),
                                      segment_names::time_index_name(in.stem)};
  };
  for (const auto& st : job.staged_) {
    for (const auto& n : names(job.inputs_[st.input])) {
      if (auto s = fs.rename(path_ / (n + cleaned_suffix), path_ / (n + swap_suffix)); !s)
        return io_failed(s.error());
    }
  }
  if (auto s = swap ? fs.sync_directory(path_) : ok(); !s) {
    if (!is_resource_exhaustion(s.error().code()))
      return io_failed(s.error());
    // Not committed (the sync needs a descriptor): undo the renames and drop the staged
    // files; the next tick compacts again.
    for (const auto& st : job.staged_) {
      for (const auto& n : names(job.inputs_[st.input])) {
        if (auto r = fs.rename(path_ / (n + swap_suffix), path_ / (n + cleaned_suffix)); !r)
          return io_failed(r.error());
      }
    }
    job.discard();
    auto e = note_resource_exhaustion(name_.dir_name() + ": compaction swap", s.error());
    return error(errc::compaction_aborted, e.message());
  }
  for (const auto& st : job.staged_) {
    for (const auto& n : names(job.inputs_[st.input])) {
      if (auto s = fs.rename(path_ / (n + swap_suffix), path_ / n); !s)
        return io_failed(s.error());
    }
  }
  if (auto s = swap ? fs.sync_directory(path_) : ok(); !s) {
    if (!is_resource_exhaustion(s.error().code()))
      return io_failed(s.error());
    // Committed and in place; the renames become durable with the next directory sync,
    // which the next flush makes (and a crash before it completes the swap at open).
    (void)note_resource_exhaustion(name_.dir_name() + ": compaction swap", s.error());
    std::lock_guard lock(flush_->mu);
    flush_->roll_pending = true;
  }
  for (const auto& st : job.staged_) {
    st.seg->clear_suffix();
    segments_[key_of(*st.seg)] = st.seg;
  }
  if (swap)
    ++generation_;
  const auto& stats = job.stats_;
  if (stats.cleaned_end > cleaned_end_)
    cleaned_end_ = stats.cleaned_end;
  tombstone_deadline_ = job.tombstone_deadline_;
  if (stats.segments_rewritten > 0) {
    lg().info(
        "{}: compacted {} of {} segment(s) up to offset {}: {} -> {} bytes, {} record(s), {} "
        "tombstone(s) and {} keyless record(s) removed",
        name_.dir_name(), stats.segments_rewritten, stats.segments_read, stats.cleaned_end.value(),
        stats.bytes_before, stats.bytes_after, stats.records_removed, stats.tombstones_removed,
        stats.keyless_removed);
  }
  return stats;
}

result<compaction_stats> log::compact(const compaction_bounds& bounds) {
  auto job = prepare_compaction(bounds);
  if (!job)
    return compaction_stats{};
  (void)job->run();
  return finish_compaction(*job);
}

// --- flush -----------------------------------------------------------------------------------

void log::flush_async(std::function<void(status)> done) {
  unflushed_messages_ = 0;
  first_unflushed_ms_ = -1;
  if (opts_.dir->offline()) {
    if (done)
      done(error(errc::log_dir_offline, opts_.dir->offline_reason()));
    return;
  }
  bool start = false;
  {
    std::lock_guard lock(flush_->mu);
    if (!flush_->running && flush_->closed.empty() && !flush_->roll_pending &&
        flush_->synced_seq.load() >= flush_->write_seq.load()) {
      // Everything appended is already durable.
    } else {
      if (done)
        flush_->waiters.push_back(std::move(done));
      if (!flush_->running) {
        flush_->running = true;
        start = true;
      }
      done = nullptr;
    }
  }
  if (done) {
    done(ok());
    return;
  }
  if (start)
    log_dir::queue_flush(opts_.dir, *opts_.fs, *opts_.flush_pool, flush_);
}

// --- flush rounds ----------------------------------------------------------------------------

void log_dir::queue_flush(const std::shared_ptr<log_dir>& dir, io::file_system& fs,
                          task_executor& exec, std::shared_ptr<log_flush_state> st) {
  {
    std::lock_guard lock(dir->flush_mu_);
    dir->queue_.push_back(std::move(st));
    if (dir->round_running_)
      return;
    dir->round_running_ = true;
  }
  exec.submit([dir, fs = &fs, ex = &exec] { dir->run_flush_round(*fs, *ex); });
}

void log_dir::run_flush_round(io::file_system& fs, task_executor& exec) {
  // One task on the flush executor. The round takes every queued log; logs written to during
  // the round queue again, and the next round is submitted at the end.
  struct part {
    std::shared_ptr<log_flush_state> st;
    std::vector<std::function<void(status)>> waiters;
    std::vector<std::shared_ptr<segment>> files;
    std::vector<log_flush_state::snapshot_write> snapshots;
    bool rewrite_rp = false;
    int64_t target = 0;
    int64_t target_index = 0;
    uint64_t seq = 0;
  };
  std::vector<std::shared_ptr<log_flush_state>> queued;
  {
    std::lock_guard lock(flush_mu_);
    queued.swap(queue_);
    if (queued.empty()) {
      round_running_ = false;
      return;
    }
  }
  std::vector<part> parts;
  parts.reserve(queued.size());
  for (auto& st : queued) {
    part p;
    std::lock_guard lock(st->mu);
    p.waiters.swap(st->waiters);
    p.files.swap(st->closed);
    p.files.push_back(st->active);
    p.rewrite_rp = st->roll_pending;
    st->roll_pending = false;
    p.snapshots.swap(st->snapshots);
    ++st->holders;
    p.target = st->appended_end.load(std::memory_order_acquire);
    p.target_index = st->appended_index.load(std::memory_order_acquire);
    p.seq = st->write_seq.load(std::memory_order_acquire);
    st->trunc_low = INT64_MAX;
    st->trunc_low_index = INT64_MAX;
    p.st = std::move(st);
    parts.push_back(std::move(p));
  }

  status s = offline() ? status(error(errc::log_dir_offline, offline_reason())) : ok();
  if (s && parts.size() > 1) {
    s = fs.sync_file_system(path_);
  } else if (s) {
    for (auto& f : parts.front().files) {
      if (!s)
        break;
      s = f->sync();
    }
  }
  for (auto& p : parts) {
    // Snapshots cover data before their offset, all of it durable now, unless a truncation
    // removed that data meanwhile: then the snapshot is not written (or removed again, when
    // the truncation came while it was written).
    auto cut_below = [&](int64_t offset) {
      std::lock_guard lock(p.st->mu);
      return p.st->trunc_low < offset;
    };
    for (const auto& snap : p.snapshots) {
      if (!s)
        break;
      if (cut_below(snap.offset))
        continue;
      s = p.st->write_snapshot(snap.offset, snap.payload);
      if (s && cut_below(snap.offset))
        (void)fs.remove(p.st->dir / segment_names::snapshot_name(kafka_next_offset(snap.offset)));
      for (auto o : snap.obsolete)
        (void)fs.remove(p.st->dir / segment_names::snapshot_name(kafka_next_offset(o)));
    }
    if (s && p.rewrite_rp)
      s = p.st->write_recovery_point_capped(p.target);
  }
  bool retry = false;
  if (!s && is_resource_exhaustion(s.error().code())) {
    // Out of descriptors or memory (the directory syncs and checkpoint writes open files;
    // fsync itself never fails so): nothing was claimed durable and the disk did not
    // fail. The files stay queued for the next flush; the waiters get a retriable error.
    s = note_resource_exhaustion(fmt::format("flush in {}", path_.string()), s.error());
    retry = true;
  } else if (!s) {
    take_offline(fmt::format("flush failed: {}", s.error().message()));
    s = error(errc::log_dir_offline, s.error().message());
  }
  rounds_.fetch_add(1, std::memory_order_relaxed);

  for (auto& p : parts) {
    auto& st = *p.st;
    if (s) {
      {
        // Under mu, where truncate() lowers both: never past a cut made during the round.
        std::lock_guard lock(st.mu);
        raise_to(st.flushed_end, std::min(p.target, st.trunc_low));
        raise_to(st.synced_index, std::min(p.target_index, st.trunc_low_index));
        // Before the waiters run: they may ask for the flushed Raft index.
        raise_to(st.synced_seq, p.seq);
      }
      // The closed segments of the round are durable: their owner may release their files.
      for (size_t i = 0; i + 1 < p.files.size(); ++i)
        p.files[i]->mark_synced();
      if (p.files.size() > 1)
        p.st->closed_synced.fetch_add(1, std::memory_order_release);
    }
    for (auto& w : p.waiters)
      w(s);
    std::vector<std::function<void(status)>> late;
    bool again = false;
    {
      std::lock_guard lock(st.mu);
      if (s)
        raise_to(st.synced_seq, p.seq);
      if (retry) {
        // Back in the queue: the closed segments taken (not the active one, which is still
        // active or was closed by a roll meanwhile) and the recovery-point rewrite.
        p.files.pop_back();
        st.closed.insert(st.closed.begin(), p.files.begin(), p.files.end());
        st.roll_pending = st.roll_pending || p.rewrite_rp;
        st.snapshots.insert(st.snapshots.begin(), std::make_move_iterator(p.snapshots.begin()),
                            std::make_move_iterator(p.snapshots.end()));
      }
      bool more = !st.waiters.empty() || !st.closed.empty() || st.roll_pending ||
                  st.synced_seq.load() < st.write_seq.load();
      if ((s && more) || (retry && !st.waiters.empty())) {
        // Stays running: queued for the next round. After a resource failure only for
        // requests that arrived meanwhile, so that a lasting shortage never spins.
        again = true;
      } else {
        if (!s && !retry) {
          late.swap(st.waiters);  // nothing more will be flushed: fail them too
          st.closed.clear();
        }
        st.running = false;
        st.idle.notify_all();
      }
    }
    for (auto& w : late)
      w(s);
    if (again) {
      std::lock_guard lock(flush_mu_);
      queue_.push_back(p.st);
    }
    // What the round held goes before the log is idle: a completion may hold a coroutine's
    // handler and a segment its cache entry, and whoever waited for idle (a close, a
    // stop) may destroy the executors and the cache next.
    late.clear();
    p.waiters.clear();
    p.files.clear();
    p.snapshots.clear();
    {
      std::lock_guard lock(st.mu);
      --st.holders;
      st.idle.notify_all();
    }
  }
  {
    std::lock_guard lock(flush_mu_);
    if (queue_.empty()) {
      round_running_ = false;
      return;
    }
  }
  // The previous task holds nothing by now: the next round may start at once.
  exec.submit(
      [self = shared_from_this(), fs = &fs, ex = &exec] { self->run_flush_round(*fs, *ex); });
}

status log::flush() {
  std::promise<status> p;
  auto f = p.get_future();
  flush_async([&p](status s) { p.set_value(std::move(s)); });
  return f.get();
}

status log::close() {
  for (const auto& [base, seg] : segments_)
    STROM_TRY(seg->write_pending_indexes());
  STROM_TRY(flush());
  for (const auto& [base, seg] : segments_)
    STROM_TRY(seg->flush_indexes());
  // The state as of the log end: the next open starts from it and reads nothing after it.
  std::optional<std::vector<std::byte>> final_state;
  if (snapshot_source_)
    final_state = snapshot_source_();
  else if (stashed_snapshot_ && stashed_snapshot_->first == log_end_.value())
    final_state = std::move(stashed_snapshot_->second);
  if (final_state && !snapshots_.contains(log_end_.value())) {
    STROM_TRY(flush_->write_snapshot(log_end_.value(), *final_state));
    snapshots_.insert(log_end_.value());
    while (snapshots_.size() > kept_snapshots) {
      (void)opts_.fs->remove(path_ /
                             segment_names::snapshot_name(kafka_next_offset(*snapshots_.begin())));
      snapshots_.erase(snapshots_.begin());
    }
  }
  STROM_TRY(flush_->write_recovery_point(log_end_.value()));
  return write_offset_file(log_start_file, log_start_.value());
}

}  // namespace strom::storage
