#include "strom/storage/epoch_cache.h"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "strom/storage/errc.h"

namespace strom::storage {

namespace {
constexpr int checkpoint_version = 0;
constexpr size_t max_checkpoint_bytes = 16 * 1024 * 1024;
}  // namespace

status epoch_cache::load() {
  entries_.clear();
  auto exists = fs_->exists(file_);
  if (!exists)
    return exists.error();
  if (!*exists)
    return ok();
  auto text = fs_->read_small_file(file_, max_checkpoint_bytes);
  if (!text)
    return text.error();
  std::istringstream in(*text);
  int version = -1;
  size_t count = 0;
  if (!(in >> version) || version != checkpoint_version || !(in >> count)) {
    return error(errc::corrupt_checkpoint, file_.string());
  }
  for (size_t i = 0; i < count; ++i) {
    int32_t e = 0;
    int64_t o = 0;
    if (!(in >> e >> o) || e < 0 || o < 0 ||
        (!entries_.empty() &&
         (e <= entries_.back().epoch.value() || o < entries_.back().start.value()))) {
      return error(errc::corrupt_checkpoint, fmt::format("{} entry {}", file_.string(), i));
    }
    entries_.push_back({model::leader_epoch(e), model::kafka_offset(o)});
  }
  return ok();
}

status epoch_cache::save() {
  std::string out = fmt::format("{}\n{}\n", checkpoint_version, entries_.size());
  for (const auto& e : entries_)
    out += fmt::format("{} {}\n", e.epoch.value(), e.start.value());
  return fs_->write_file_atomic(file_, std::as_bytes(std::span(out)));
}

status epoch_cache::assign(model::leader_epoch epoch, model::kafka_offset start) {
  if (!entries_.empty()) {
    if (epoch <= entries_.back().epoch)
      return ok();
    if (start < entries_.back().start)
      start = entries_.back().start;
  }
  entries_.push_back({epoch, start});
  if (auto s = save(); !s) {
    // Not recorded: a later append of the same epoch tries again.
    entries_.pop_back();
    return s;
  }
  return ok();
}

status epoch_cache::truncate_from_end(model::kafka_next_offset end) {
  auto before = entries_.size();
  std::erase_if(entries_, [&](const entry& e) { return e.start.value() >= end.value(); });
  return entries_.size() == before ? ok() : save();
}

status epoch_cache::truncate_from_start(model::kafka_offset start) {
  bool changed = false;
  while (entries_.size() > 1 && entries_[1].start <= start) {
    entries_.erase(entries_.begin());
    changed = true;
  }
  if (!entries_.empty() && entries_.front().start < start) {
    entries_.front().start = start;
    changed = true;
  }
  return changed ? save() : ok();
}

std::optional<model::leader_epoch> epoch_cache::latest() const {
  if (entries_.empty())
    return std::nullopt;
  return entries_.back().epoch;
}

std::optional<model::leader_epoch> epoch_cache::epoch_for(model::kafka_offset o) const {
  std::optional<model::leader_epoch> found;
  for (const auto& e : entries_) {
    if (e.start > o)
      break;
    found = e.epoch;
  }
  return found;
}

std::optional<epoch_cache::entry> epoch_cache::end_offset_for(
    model::leader_epoch epoch, model::kafka_next_offset log_end) const {
  for (size_t i = entries_.size(); i-- > 0;) {
    if (entries_[i].epoch <= epoch) {
      auto end =
          i + 1 < entries_.size() ? entries_[i + 1].start : model::kafka_offset(log_end.value());
      return entry{entries_[i].epoch, end};
    }
  }
  return std::nullopt;
}

}  // namespace strom::storage
