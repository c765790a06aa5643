#include "strom/storage/segment.h"

#include <algorithm>
#include <array>
#include <ranges>

#include <fmt/format.h>

#include "strom/bytes/crc32c.h"
#include "strom/bytes/endian.h"
#include "strom/storage/errc.h"

namespace strom::storage {

using model::batch_header;
using model::kafka_next_offset;
using model::kafka_offset;
using model::leader_epoch;
namespace L = model::batch_layout;

namespace {
/// Recovery streams batch bodies through a buffer of this size, so recovering a segment of any
/// size needs this much memory, not the segment's size.
constexpr size_t recovery_chunk = 64 * 1024;
/// A batch larger than this is never valid on disk, whatever max.message.bytes says now.
constexpr size_t absolute_max_batch = size_t{1} << 30;
/// Index entries are written to their files this many at a time (and at roll and close).
constexpr size_t index_write_batch = 64;
}  // namespace

bool offsets_in_range(const batch_header& h) {
  return h.base_offset >= 0 && h.last_offset_delta >= -1 &&
         h.base_offset <= INT64_MAX - 1 - std::max<int64_t>(h.last_offset_delta, 0);
}

// --- names -----------------------------------------------------------------------------------

std::string segment_names::stem_text(const segment_stem& stem) {
  if (!stem.raft)
    return fmt::format("{:020d}", stem.base.value());
  return fmt::format("{:020d}-r{:020d}", stem.base.value(), stem.raft->value());
}
std::string segment_names::log_name(const segment_stem& stem, leader_epoch epoch) {
  return fmt::format("{}-{}.log", stem_text(stem), epoch.value());
}
std::string segment_names::index_name(const segment_stem& stem) {
  return stem_text(stem) + ".index";
}
std::string segment_names::time_index_name(const segment_stem& stem) {
  return stem_text(stem) + ".timeindex";
}

namespace {
/// The 20-digit base offset that leads every segment file name; nullopt when `name` does not
/// start with 20 digits or they do not fit an offset.
std::optional<int64_t> parse_base_digits(std::string_view name) {
  if (name.size() < 20)
    return std::nullopt;
  int64_t base = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9')
      return std::nullopt;
    if (base > (INT64_MAX - 9) / 10)
      return std::nullopt;
    base = base * 10 + (name[i] - '0');
  }
  return base;
}

/// The stem at the start of a segment file name and the length it takes; nullopt when the
/// name does not start with one.
std::optional<std::pair<segment_stem, size_t>> parse_stem(std::string_view name) {
  auto base = parse_base_digits(name);
  if (!base)
    return std::nullopt;
  segment_stem stem{kafka_offset(*base), std::nullopt};
  if (name.size() >= 20 + 2 + 20 && name.substr(20, 2) == "-r") {
    auto raft = parse_base_digits(name.substr(22));
    if (!raft)
      return std::nullopt;
    stem.raft = model::raft_index(*raft);
    return std::pair{stem, size_t{42}};
  }
  return std::pair{stem, size_t{20}};
}
}  // namespace

std::optional<segment_names::parsed> segment_names::parse_log_name(const std::string& name) {
  // <stem>-<epoch digits>.log
  auto stem = parse_stem(name);
  if (!stem)
    return std::nullopt;
  size_t n = stem->second;
  if (name.size() < n + 1 + 1 + 4 || !name.ends_with(".log") || name[n] != '-')
    return std::nullopt;
  int64_t epoch = 0;
  std::string_view e(name.data() + n + 1, name.size() - n - 1 - 4);
  if (e.empty() || e.size() > 10)
    return std::nullopt;
  for (char c : e) {
    if (c < '0' || c > '9')
      return std::nullopt;
    epoch = epoch * 10 + (c - '0');
  }
  if (epoch > INT32_MAX)
    return std::nullopt;
  return parsed{stem->first.base, leader_epoch(static_cast<int32_t>(epoch)), stem->first.raft};
}

std::string segment_names::snapshot_name(kafka_next_offset at) {
  return fmt::format("{:020d}.snapshot", at.value());
}

std::optional<kafka_next_offset> segment_names::parse_snapshot_name(const std::string& name) {
  auto digits = parse_base_digits(name);
  if (!digits || std::string_view(name).substr(20) != ".snapshot")
    return std::nullopt;
  return kafka_next_offset(*digits);
}

std::optional<kafka_offset> segment_names::parse_segment_file_base(const std::string& name) {
  if (auto p = parse_log_name(name))
    return p->base;
  auto stem = parse_stem(name);
  if (!stem)
    return std::nullopt;
  std::string_view rest(name.data() + stem->second, name.size() - stem->second);
  if (rest != ".index" && rest != ".timeindex")
    return std::nullopt;
  return stem->first.base;
}

// --- lifecycle -------------------------------------------------------------------------------

segment::segment(const options& opts, const segment_stem& stem, model::raft_index raft_base,
                 leader_epoch epoch)
    : opts_(opts),
      stem_(stem),
      base_(stem.base),
      raft_base_(raft_base),
      epoch_(epoch),
      next_(stem.base.value()) {}

std::filesystem::path segment::log_path() const {
  return opts_.dir / (segment_names::log_name(stem_, epoch_) + opts_.suffix);
}

status segment::open_files(bool create) {
  auto mode = create ? io::open_mode::create_new : io::open_mode::read_write;
  auto log = opts_.fs->open(log_path(), mode);
  if (!log)
    return log.error();
  log_ = std::move(*log);
  source_ = std::make_shared<cached_file>(opts_.fs, log_path(), opts_.cache);
  source_->track(log_);
  // Indexes are derived data: recreate them whenever they are missing.
  auto idx = opts_.fs->open(opts_.dir / (segment_names::index_name(stem_) + opts_.suffix),
                            io::open_mode::create);
  if (!idx)
    return idx.error();
  auto tidx = opts_.fs->open(opts_.dir / (segment_names::time_index_name(stem_) + opts_.suffix),
                             io::open_mode::create);
  if (!tidx)
    return tidx.error();
  std::lock_guard lock(index_files_mu_);
  index_file_ = std::move(*idx);
  time_index_file_ = std::move(*tidx);
  return ok();
}

result<std::unique_ptr<segment>> segment::create(const options& opts, const segment_stem& stem,
                                                 model::raft_index raft_base, leader_epoch epoch,
                                                 timestamp_ms now) {
  std::unique_ptr<segment> s(new segment(opts, stem, raft_base, epoch));
  s->created_ms_ = now;
  // Stale index files of an earlier segment with this stem (removed log) must not survive.
  auto index = opts.dir / (segment_names::index_name(stem) + opts.suffix);
  auto time_index = opts.dir / (segment_names::time_index_name(stem) + opts.suffix);
  (void)opts.fs->remove(index);
  (void)opts.fs->remove(time_index);
  if (auto st = s->open_files(true); !st) {
    // Opened part way (out of descriptors, say): leave nothing behind, so that a later
    // attempt starts afresh and no empty segment appears at the next start.
    bool log_created = s->log_ != nullptr;
    s.reset();
    if (log_created)
      (void)opts.fs->remove(opts.dir / (segment_names::log_name(stem, epoch) + opts.suffix));
    (void)opts.fs->remove(index);
    (void)opts.fs->remove(time_index);
    return st.error();
  }
  return s;
}

result<std::unique_ptr<segment>> segment::open(const options& opts, const segment_stem& stem,
                                               model::raft_index raft_base, leader_epoch epoch,
                                               bool recover, timestamp_ms now,
                                               segment_recovery& report) {
  std::unique_ptr<segment> s(new segment(opts, stem, raft_base, epoch));
  s->created_ms_ = now;
  STROM_TRY(s->open_files(false));
  if (!recover) {
    auto loaded = s->load_indexes();
    if (!loaded)
      return loaded.error();
    if (*loaded) {
      report.valid_bytes = s->size_;
      s->writeback_from_ = s->size_;
      return s;
    }
    report.index_rebuilt = true;  // missing or failed its sanity check
  }
  STROM_TRY(s->recover(report));
  s->writeback_from_ = s->size_;
  return s;
}

// --- append ----------------------------------------------------------------------------------

status segment::write_pending_indexes() {
  if (index_written_ < index_.size() || time_written_ < time_index_.size())
    STROM_ASSERT(index_file_ && time_index_file_, "index entries pending after release");
  if (index_written_ < index_.size()) {
    std::vector<std::byte> buf((index_.size() - index_written_) * index_entry::disk_size);
    for (size_t i = index_written_; i < index_.size(); ++i) {
      auto* p = buf.data() + (i - index_written_) * index_entry::disk_size;
      bytes::write_be<uint32_t>(p, index_[i].relative_offset);
      bytes::write_be<uint32_t>(p + 4, index_[i].position);
      bytes::write_be<uint32_t>(p + 8, index_[i].flags);
    }
    STROM_TRY(index_file_->write_at(index_written_ * index_entry::disk_size, buf));
    index_written_ = index_.size();
    indexes_dirty_ = true;
  }
  if (time_written_ < time_index_.size()) {
    std::vector<std::byte> buf((time_index_.size() - time_written_) * time_index_entry::disk_size);
    for (size_t i = time_written_; i < time_index_.size(); ++i) {
      auto* p = buf.data() + (i - time_written_) * time_index_entry::disk_size;
      bytes::write_be<int64_t>(p, time_index_[i].max_timestamp);
      bytes::write_be<uint32_t>(p + 8, time_index_[i].relative_offset);
    }
    STROM_TRY(time_index_file_->write_at(time_written_ * time_index_entry::disk_size, buf));
    time_written_ = time_index_.size();
    indexes_dirty_ = true;
  }
  return ok();
}

void segment::advance_next(const batch_header& h) {
  // An internal entry sits before the Kafka offset in its baseOffset.
  if (h.next_offset() > next_)
    next_ = h.next_offset();
}

void segment::maybe_index(const batch_header& h, uint64_t position) {
  auto rel = static_cast<uint32_t>(h.base_offset - base_.value());
  bool data = !h.is_internal();
  if (data)
    max_timestamp_ = std::max(max_timestamp_, h.max_timestamp);
  if (!data || index_.empty() || bytes_since_index_ >= opts_.index_interval_bytes) {
    index_.push_back({rel, static_cast<uint32_t>(position), data ? 0u : index_entry::internal});
    if (data) {
      bytes_since_index_ = 0;
      if (time_index_.empty() || max_timestamp_ > time_index_.back().max_timestamp) {
        time_index_.push_back({max_timestamp_, rel});
      }
    }
  }
  if (data)
    bytes_since_index_ += h.size_bytes();
}

status segment::append(std::span<const std::byte> head, std::span<const std::byte> body,
                       const batch_header& h) {
  STROM_ASSERT(h.partition_leader_epoch == epoch_.value(), "batch epoch {} in segment of epoch {}",
               h.partition_leader_epoch, epoch_.value());
  STROM_ASSERT(h.base_offset >= next_.value(), "batch base {} below segment next {}", h.base_offset,
               next_.value());
  const size_t bytes = head.size() + body.size();
  STROM_ASSERT(size_ + bytes <= UINT32_MAX, "segment position overflow");
  STROM_TRY(log_->write_at(size_, head, body));
  maybe_index(h, size_);
  remember(h, size_);
  size_ += bytes;
  advance_next(h);
  // Index entries reach their files in groups: the indexes are derived data, checked at
  // open and rebuilt from the log whenever they fall short. The batch is stored whatever
  // happens here: entries not written stay pending for the next attempt (a roll or close
  // reports a lasting failure).
  if (index_.size() - index_written_ >= index_write_batch)
    (void)write_pending_indexes();
  if (opts_.writeback_bytes > 0 && size_ - writeback_from_ >= opts_.writeback_bytes) {
    // Whole pages only: the page still being appended to is left for later.
    uint64_t end = size_ & ~uint64_t{page_bytes - 1};
    if (end > writeback_from_) {
      // Advisory: an I/O error it meets is reported by the next sync.
      if (opts_.writeback_pool != nullptr) {
        opts_.writeback_pool->submit([f = log_, from = writeback_from_, n = end - writeback_from_] {
          (void)f->start_writeback(from, n);
        });
      } else {
        (void)log_->start_writeback(writeback_from_, end - writeback_from_);
      }
      writeback_from_ = end;
    }
  }
  return ok();
}

void segment::remember(const batch_header& h, uint64_t position) {
  if (recent_.size() < recent_capacity) {
    if (recent_.empty())
      recent_.reserve(recent_capacity);
    recent_.push_back(batch_location{h, position});
    return;
  }
  recent_[recent_first_] = batch_location{h, position};
  recent_first_ = (recent_first_ + 1) % recent_capacity;
}

void segment::release_recent() {
  std::vector<batch_location>().swap(recent_);
  recent_first_ = 0;
}

template <class Pred>
size_t segment::first_recent(Pred pred) const {
  auto ids = std::views::iota(size_t{0}, recent_.size());
  auto it =
      std::ranges::partition_point(ids, [&](size_t i) { return !pred(recent_[ring_index(i)]); });
  return static_cast<size_t>(it - ids.begin());
}

const batch_location* segment::recent_at(uint64_t position) const {
  if (recent_.empty() || position < recent_[recent_first_].position)
    return nullptr;
  size_t i = first_recent([&](const batch_location& b) { return b.position >= position; });
  if (i == recent_.size() || recent_[ring_index(i)].position != position)
    return nullptr;
  return &recent_[ring_index(i)];
}

// --- lookup ----------------------------------------------------------------------------------

result<std::optional<batch_location>> segment::header_at(uint64_t position,
                                                         header_window* window) const {
  if (position >= size_)
    return std::optional<batch_location>{};
  if (const auto* r = recent_at(position))
    return std::optional<batch_location>(*r);
  std::span<const std::byte> bytes;
  std::array<std::byte, L::header_size> single{};
  // A released segment's file comes from the cache, only when bytes must be read.
  std::shared_ptr<io::file> held;
  io::file* file = log_.get();
  auto need_file = [&]() -> status {
    if (file != nullptr)
      return ok();
    auto f = source_->get();
    if (!f)
      return f.error();
    held = std::move(*f);
    file = held.get();
    return ok();
  };
  if (window == nullptr) {
    STROM_TRY(need_file());
    STROM_TRY(file->read_exact(position, single));
    bytes = single;
  } else {
    auto& w = *window;
    if (position < w.start_ || position + L::header_size > w.start_ + w.length_) {
      // Refill from `position`: a whole window while batches fit in one, else the header alone.
      uint64_t want = w.large_ ? L::header_size : header_window::capacity;
      want = std::max<uint64_t>(std::min<uint64_t>(want, size_ - position), L::header_size);
      STROM_TRY(need_file());
      STROM_TRY(file->read_exact(position, std::span(w.bytes_.data(), want)));
      w.start_ = position;
      w.length_ = want;
    }
    bytes = std::span<const std::byte>(w.bytes_.data() + (position - w.start_), L::header_size);
  }
  auto h = model::decode_header(bytes);
  if (!h)
    return h.error();
  if (!offsets_in_range(*h)) {
    return error(errc::invalid_batch,
                 fmt::format("corrupt offsets in the batch header at {} of {}", position,
                             segment_names::log_name(stem_, epoch_)));
  }
  if (window != nullptr)
    window->large_ = h->size_bytes() >= header_window::capacity;
  return std::optional<batch_location>(batch_location{*h, position});
}

result<std::optional<batch_location>> segment::find(kafka_offset o, header_window* window) const {
  if (o.value() < base_.value())
    o = base_;
  auto contains_or_after = [&](const batch_header& h) {
    return h.is_internal() ? h.base_offset >= o.value() : h.last_offset() >= o;
  };
  // Recent batches end the segment: when `o` lies past the oldest of them, the answer is
  // among them or there is none.
  if (!recent_.empty() && o.value() > recent_[recent_first_].header.base_offset) {
    size_t i = first_recent([&](const batch_location& b) { return contains_or_after(b.header); });
    if (i == recent_.size())
      return std::optional<batch_location>{};
    return std::optional<batch_location>(recent_[ring_index(i)]);
  }
  auto target = static_cast<uint64_t>(o.value() - base_.value());
  // Start at the last index entry strictly below the target: a batch boundary before `o`.
  auto it =
      std::lower_bound(index_.begin(), index_.end(), target,
                       [](const index_entry& e, uint64_t t) { return e.relative_offset < t; });
  uint64_t pos = it == index_.begin() ? 0 : std::prev(it)->position;
  header_window local;
  if (window == nullptr)
    window = &local;
  for (;;) {
    auto loc = header_at(pos, window);
    if (!loc || !*loc)
      return loc;
    if (contains_or_after((*loc)->header))
      return loc;
    pos += (*loc)->header.size_bytes();
  }
}

result<std::optional<batch_location>> segment::find_by_timestamp(timestamp_ms ts) const {
  // Every batch up to a time-index entry has timestamps <= its max: skip those below ts.
  auto it = std::lower_bound(
      time_index_.begin(), time_index_.end(), ts,
      [](const time_index_entry& e, timestamp_ms t) { return e.max_timestamp < t; });
  uint64_t pos = 0;
  if (it != time_index_.begin()) {
    auto start = find(kafka_offset(base_.value() + std::prev(it)->relative_offset));
    if (!start)
      return start.error();
    if (*start)
      pos = (*start)->position;
  }
  for (;;) {
    auto loc = header_at(pos);
    if (!loc || !*loc)
      return loc;
    const auto& h = (*loc)->header;
    if (!h.is_internal() && h.max_timestamp >= ts)
      return loc;
    pos += h.size_bytes();
  }
}

// --- truncation ------------------------------------------------------------------------------

status segment::truncate(kafka_next_offset end) {
  STROM_ASSERT(!released(), "truncating a released segment; reacquire() first");
  auto cut = find(model::first_at(end));
  if (!cut)
    return cut.error();
  if (!*cut)
    return ok();
  return truncate_at((*cut)->position);
}

status segment::truncate_at(uint64_t pos) {
  STROM_ASSERT(!released(), "truncating a released segment; reacquire() first");
  if (pos >= size_)
    return ok();
  STROM_TRY(log_->truncate(pos));
  size_ = pos;
  writeback_from_ = std::min(writeback_from_, pos);
  release_recent();
  std::erase_if(index_, [&](const index_entry& e) { return e.position >= pos; });
  // Rebuild the in-memory tail state from the last surviving index entry.
  uint64_t from = index_.empty() ? 0 : index_.back().position;
  uint32_t from_rel = index_.empty() ? 0 : index_.back().relative_offset;
  std::erase_if(time_index_,
                [&](const time_index_entry& e) { return e.relative_offset >= from_rel; });
  max_timestamp_ = time_index_.empty() ? -1 : time_index_.back().max_timestamp;
  next_ = kafka_next_offset(base_.value());
  STROM_TRY(scan_tail_from(from));
  return rewrite_indexes();
}

status segment::scan_tail_from(uint64_t position) {
  auto file_size = log_->size();
  if (!file_size)
    return file_size.error();
  size_ = *file_size;
  bytes_since_index_ = 0;
  uint64_t pos = position;
  while (pos < size_) {
    auto loc = header_at(pos);
    if (!loc)
      return loc.error();
    const auto& h = (*loc)->header;
    if (!model::check_length(h, absolute_max_batch) || pos + h.size_bytes() > size_) {
      return error(errc::invalid_batch, fmt::format("bad batch header at {} in {}", pos,
                                                    segment_names::log_name(stem_, epoch_)));
    }
    // Entries already on disk are kept; the scan only appends what is missing.
    bool indexed = !index_.empty() && index_.back().position >= pos;
    if (indexed) {
      if (!h.is_internal()) {
        max_timestamp_ = std::max(max_timestamp_, h.max_timestamp);
        bytes_since_index_ = h.size_bytes();
      }
    } else {
      maybe_index(h, pos);
    }
    advance_next(h);
    pos += h.size_bytes();
  }
  return ok();
}

// --- indexes on disk ---------------------------------------------------------------------------

result<bool> segment::load_indexes() {
  auto log_size = log_->size();
  if (!log_size)
    return log_size.error();
  size_ = *log_size;
  auto isz = index_file_->size();
  if (!isz)
    return isz.error();
  if (*isz % index_entry::disk_size != 0 || (*isz == 0 && size_ > 0))
    return false;
  std::vector<std::byte> buf(*isz);
  STROM_TRY(index_file_->read_exact(0, buf));
  index_.clear();
  for (size_t i = 0; i < buf.size(); i += index_entry::disk_size) {
    index_entry e{bytes::read_be<uint32_t>(&buf[i]), bytes::read_be<uint32_t>(&buf[i + 4]),
                  bytes::read_be<uint32_t>(&buf[i + 8])};
    if (!index_.empty() && (e.position <= index_.back().position ||
                            e.relative_offset < index_.back().relative_offset)) {
      return false;
    }
    if (e.position >= size_ || (e.flags & ~index_entry::internal) != 0)
      return false;
    index_.push_back(e);
  }
  index_written_ = index_.size();
  auto tsz = time_index_file_->size();
  if (!tsz)
    return tsz.error();
  if (*tsz % time_index_entry::disk_size != 0)
    return false;
  buf.resize(*tsz);
  STROM_TRY(time_index_file_->read_exact(0, buf));
  time_index_.clear();
  for (size_t i = 0; i < buf.size(); i += time_index_entry::disk_size) {
    time_index_entry e{bytes::read_be<int64_t>(&buf[i]), bytes::read_be<uint32_t>(&buf[i + 8])};
    if (!time_index_.empty() && (e.max_timestamp <= time_index_.back().max_timestamp ||
                                 e.relative_offset < time_index_.back().relative_offset)) {
      return false;
    }
    time_index_.push_back(e);
  }
  time_written_ = time_index_.size();
  if (!time_index_.empty() &&
      (index_.empty() || time_index_.back().relative_offset > index_.back().relative_offset)) {
    return false;
  }
  // Entries are ordered (checked above); the last one must point at a batch that agrees.
  if (!index_.empty()) {
    auto loc = header_at(index_.back().position);
    if (!loc || !*loc)
      return false;
    const auto& h = (*loc)->header;
    if (h.base_offset != base_.value() + index_.back().relative_offset ||
        h.is_internal() != ((index_.back().flags & index_entry::internal) != 0) ||
        h.partition_leader_epoch != epoch_.value()) {
      return false;
    }
  }
  max_timestamp_ = time_index_.empty() ? -1 : time_index_.back().max_timestamp;
  uint64_t from = index_.empty() ? 0 : index_.back().position;
  if (!scan_tail_from(from))
    return false;
  return true;
}

status segment::rewrite_indexes() {
  indexes_dirty_ = true;
  STROM_TRY(index_file_->truncate(0));
  STROM_TRY(time_index_file_->truncate(0));
  index_written_ = 0;
  time_written_ = 0;
  return write_pending_indexes();
}

// --- recovery --------------------------------------------------------------------------------

status segment::recover(segment_recovery& report) {
  auto file_size = log_->size();
  if (!file_size)
    return file_size.error();
  index_.clear();
  time_index_.clear();
  max_timestamp_ = -1;
  bytes_since_index_ = 0;
  next_ = kafka_next_offset(base_.value());
  size_ = 0;

  std::vector<std::byte> chunk(recovery_chunk);
  uint64_t pos = 0;
  std::string reason;
  while (pos < *file_size) {
    if (*file_size - pos < L::header_size) {
      reason = fmt::format("torn batch header at {}", pos);
      break;
    }
    std::array<std::byte, L::header_size> hbuf{};
    STROM_TRY(log_->read_exact(pos, hbuf));
    auto h = model::decode_header(hbuf);
    if (!h)
      return h.error();
    if (auto s = model::check_length(*h, absolute_max_batch); !s) {
      reason = fmt::format("batch at {}: {}", pos, s.error().message());
      break;
    }
    if (pos + h->size_bytes() > *file_size) {
      reason = fmt::format("torn batch at {}: {} bytes, {} present", pos, h->size_bytes(),
                           *file_size - pos);
      break;
    }
    // CRC over attributes..end, streamed in chunks.
    uint32_t crc = bytes::crc32c(std::span(hbuf).subspan(L::crc_start));
    uint64_t body = pos + L::header_size;
    uint64_t end = pos + h->size_bytes();
    bool io_ok = true;
    while (body < end) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), end - body));
      if (auto s = log_->read_exact(body, std::span(chunk).first(n)); !s) {
        io_ok = false;
        break;
      }
      crc = bytes::crc32c_extend(crc, std::span(chunk).first(n));
      body += n;
    }
    if (!io_ok)
      return error(errc::log_dir_offline, "read failed during recovery");
    if (crc != h->crc) {
      reason = fmt::format("CRC mismatch in batch at {}", pos);
      break;
    }
    // Compaction leaves batches with fewer records than offsets (gaps), never more; in a
    // replicated log, a batch whose records all went stays with none.
    bool counts_ok = h->is_internal() ? (h->records_count == 0 && h->last_offset_delta == -1)
                                      : (h->last_offset_delta >= 0 && h->records_count >= 0 &&
                                         h->records_count <= h->last_offset_delta + 1);
    if (!counts_ok) {
      reason = fmt::format("inconsistent record count in batch at {}", pos);
      break;
    }
    if (!offsets_in_range(*h)) {
      reason = fmt::format("batch at {} has base offset {} and last offset delta {}", pos,
                           h->base_offset, h->last_offset_delta);
      break;
    }
    if (h->partition_leader_epoch != epoch_.value()) {
      reason = fmt::format("batch at {} has epoch {}, the segment's is {}", pos,
                           h->partition_leader_epoch, epoch_.value());
      break;
    }
    if (h->base_offset < next_.value() ||
        h->next_offset().value() - base_.value() > static_cast<int64_t>(UINT32_MAX)) {
      reason = fmt::format("batch at {} has base offset {}, expected at least {}", pos,
                           h->base_offset, next_.value());
      break;
    }
    maybe_index(*h, pos);
    advance_next(*h);
    pos = end;
    ++report.batches;
  }
  size_ = pos;
  report.valid_bytes = pos;
  report.truncated_bytes = *file_size - pos;
  report.reason = reason;
  report.index_rebuilt = true;
  if (pos < *file_size) {
    STROM_TRY(log_->truncate(pos));
    STROM_TRY(log_->sync());
  }
  return rewrite_indexes();
}

// --- durability ------------------------------------------------------------------------------

status segment::sync() {
  if (log_ != nullptr)  // a released segment was durable when released
    STROM_TRY(log_->sync());
  return flush_indexes();
}

status segment::flush_indexes() {
  // Index files change only in write_pending_indexes(); skip the syscalls when untouched.
  if (!indexes_dirty_.exchange(false))
    return ok();
  std::shared_ptr<io::file> index, time_index;
  {
    std::lock_guard lock(index_files_mu_);
    index = index_file_;
    time_index = time_index_file_;
  }
  auto sync = [&](const std::shared_ptr<io::file>& open, const std::string& name) -> status {
    if (open != nullptr)
      return open->sync();
    // Closed at the roll: opened for the fsync only. Indexes are derived data: an error
    // reported to the earlier descriptor and missed here costs a rebuild at open, never data.
    auto f = opts_.fs->open(opts_.dir / (name + opts_.suffix), io::open_mode::read_write);
    if (!f) {
      // Deleted meanwhile (retention, a compaction swap, a truncation): nothing to sync.
      if (f.error().code() == std::errc::no_such_file_or_directory)
        return ok();
      return f.error();
    }
    return (*f)->sync();
  };
  status s = sync(index, segment_names::index_name(stem_));
  if (s)
    s = sync(time_index, segment_names::time_index_name(stem_));
  if (!s)
    indexes_dirty_ = true;
  return s;
}

status segment::close_indexes() {
  STROM_TRY(write_pending_indexes());
  std::lock_guard lock(index_files_mu_);
  index_file_.reset();
  time_index_file_.reset();
  return ok();
}

result<std::shared_ptr<io::file>> segment::log_file() const {
  if (log_ != nullptr)
    return log_;
  return source_->get();
}

status segment::release_files() {
  STROM_TRY(write_pending_indexes());
  STROM_TRY(flush_indexes());
  {
    std::lock_guard lock(index_files_mu_);
    index_file_.reset();
    time_index_file_.reset();
  }
  if (opts_.cache != nullptr && log_ != nullptr) {
    source_->adopt(std::move(log_));
    log_.reset();
  }
  return ok();
}

status segment::reacquire() {
  if (log_ == nullptr) {
    auto f = opts_.fs->open(log_path(), io::open_mode::read_write);
    if (!f)
      return f.error();
    log_ = std::move(*f);
    source_->track(log_);
  }
  if (index_file_ == nullptr) {
    auto f = opts_.fs->open(opts_.dir / (segment_names::index_name(stem_) + opts_.suffix),
                            io::open_mode::create);
    if (!f)
      return f.error();
    std::lock_guard lock(index_files_mu_);
    index_file_ = std::move(*f);
  }
  if (time_index_file_ == nullptr) {
    auto f = opts_.fs->open(opts_.dir / (segment_names::time_index_name(stem_) + opts_.suffix),
                            io::open_mode::create);
    if (!f)
      return f.error();
    std::lock_guard lock(index_files_mu_);
    time_index_file_ = std::move(*f);
  }
  synced_ = false;
  return ok();
}

void segment::clear_suffix() {
  opts_.suffix.clear();
  source_->set_path(log_path());
}

status segment::remove_log_file() {
  return opts_.fs->remove(opts_.dir / (segment_names::log_name(stem_, epoch_) + opts_.suffix));
}

status segment::remove_files() {
  STROM_TRY(opts_.fs->remove(opts_.dir / (segment_names::log_name(stem_, epoch_) + opts_.suffix)));
  STROM_TRY(opts_.fs->remove(opts_.dir / (segment_names::index_name(stem_) + opts_.suffix)));
  return opts_.fs->remove(opts_.dir / (segment_names::time_index_name(stem_) + opts_.suffix));
}

}  // namespace strom::storage
