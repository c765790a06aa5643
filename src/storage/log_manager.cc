#include "strom/storage/log_manager.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "strom/base/logging.h"
#include "strom/storage/errc.h"

namespace strom::storage {

namespace {
spdlog::logger& lg() {
  return logging::get("storage");
}
}  // namespace

log_manager::log_manager(options opts)
    : opts_(std::move(opts)),
      pool_(std::make_unique<blocking_pool>(opts_.flush_threads)),
      files_(std::make_unique<file_cache>(opts_.max_open_segment_files)),
      writeback_pool_(std::make_unique<blocking_pool>(1)),
      compaction_pool_(std::make_unique<blocking_pool>(1)) {}

log_manager::~log_manager() = default;

result<std::unique_ptr<log_manager>> log_manager::open(options opts) {
  if (opts.data_dirs.empty())
    return error(errc::invalid_name, "no data directories");
  std::unique_ptr<log_manager> m(new log_manager(std::move(opts)));
  if (auto s = m->load(); !s)
    return s.error();
  return m;
}

log::options log_manager::log_options(const std::shared_ptr<log_dir>& dir, const log_config& c) {
  return log::options{opts_.fs.get(),        opts_.clk,   pool_.get(), dir, c, cancel_,
                      writeback_pool_.get(), files_.get()};
}

status log_manager::load() {
  auto& fs = *opts_.fs;
  for (const auto& p : opts_.data_dirs) {
    STROM_TRY(fs.create_directories(p));
    auto dir = std::make_shared<log_dir>(p);
    dirs_.push_back(dir);
    auto marker = p / clean_shutdown_marker;
    auto has_marker = fs.exists(marker);
    if (!has_marker)
      return has_marker.error();
    auto names = fs.list(p);
    if (!names)
      return names.error();
    // A directory without logs has nothing to recover, marker or not.
    bool has_logs = std::any_of(names->begin(), names->end(), [](const std::string& n) {
      return !n.starts_with(".") && model::ntp::parse_dir_name(n).has_value();
    });
    bool clean = *has_marker || !has_logs;
    if (!clean)
      all_clean_ = false;
    for (const auto& n : *names) {
      if (n.starts_with("."))
        continue;
      auto isdir = fs.is_directory(p / n);
      if (!isdir)
        return isdir.error();
      if (!*isdir)
        continue;
      auto name = model::ntp::parse_dir_name(n);
      if (!name) {
        lg().warn("ignoring directory {} in {}: not <topic>-<partition>", n, p.string());
        continue;
      }
      if (logs_.contains(*name)) {
        return error(errc::log_exists, fmt::format("{} exists in more than one data directory", n));
      }
      log_recovery report;
      auto l = log::open(*name, log_options(dir, opts_.defaults), clean, report);
      if (!l) {
        return error(l.error().code(),
                     fmt::format("opening {}: {}", (p / n).string(), l.error().message()));
      }
      summary_.segments += report.segments;
      summary_.segments_recovered += report.segments_recovered;
      summary_.segments_removed += report.segments_removed;
      summary_.bytes_truncated += report.bytes_truncated;
      summary_.indexes_rebuilt += report.indexes_rebuilt;
      for (auto& note : report.notes)
        summary_.notes.push_back(n + ": " + note);
      placement_[*name] = dir;
      logs_.emplace(*name, std::move(*l));
    }
    // From now on a crash must be noticed at the next start.
    if (*has_marker) {
      STROM_TRY(fs.remove(marker));
      STROM_TRY(fs.sync_directory(p));
    }
  }
  lg().info(
      "opened {} log(s) in {} data dir(s) after {} shutdown: {} segment(s), {} recovered, "
      "{} bytes truncated, {} index(es) rebuilt; closed segments' log files kept open: at "
      "most {}",
      logs_.size(), dirs_.size(), all_clean_ ? "a clean" : "an unclean", summary_.segments,
      summary_.segments_recovered, summary_.bytes_truncated, summary_.indexes_rebuilt,
      files_->capacity());
  return ok();
}

result<log*> log_manager::create(const model::ntp& name, const log_config& config) {
  std::lock_guard lock(mu_);
  if (logs_.contains(name))
    return error(errc::log_exists, name.dir_name());
  std::shared_ptr<log_dir> best;
  size_t best_count = SIZE_MAX;
  for (const auto& d : dirs_) {
    if (d->offline())
      continue;
    size_t count = std::count_if(placement_.begin(), placement_.end(),
                                 [&](const auto& e) { return e.second == d; });
    if (count < best_count) {
      best = d;
      best_count = count;
    }
  }
  if (!best)
    return error(errc::log_dir_offline, "every data directory is offline");
  log_recovery report;
  auto l = log::open(name, log_options(best, config), true, report);
  if (!l)
    return l.error();
  STROM_TRY(opts_.fs->sync_directory(best->path()));
  auto* raw = l->get();
  placement_[name] = best;
  logs_.emplace(name, std::move(*l));
  return raw;
}

log* log_manager::get(const model::ntp& name) {
  std::lock_guard lock(mu_);
  auto it = logs_.find(name);
  return it == logs_.end() ? nullptr : it->second.get();
}

status log_manager::remove(const model::ntp& name) {
  std::lock_guard lock(mu_);
  auto it = logs_.find(name);
  if (it == logs_.end())
    return error(errc::log_not_found, name.dir_name());
  auto path = it->second->path();
  auto dir = placement_[name];
  logs_.erase(it);
  placement_.erase(name);
  STROM_TRY(opts_.fs->remove_all(path));
  return opts_.fs->sync_directory(dir->path());
}

std::vector<model::ntp> log_manager::partitions() const {
  std::lock_guard lock(mu_);
  std::vector<model::ntp> out;
  out.reserve(logs_.size());
  for (const auto& [n, _] : logs_)
    out.push_back(n);
  return out;
}

size_t log_manager::housekeeping(bool retention) {
  size_t deleted = 0;
  for (auto& [n, l] : logs_) {
    auto r = l->housekeeping(retention);
    if (r) {
      deleted += *r;
    } else if (!r.error().is(errc::log_dir_offline)) {
      lg().warn("{}: housekeeping failed: {}", n.dir_name(), r.error().message());
    }
  }
  return deleted;
}

size_t log_manager::compact_all() {
  size_t done = 0;
  for (auto& [n, l] : logs_) {
    if (!l->compaction_due())
      continue;
    auto r = l->compact();
    if (r) {
      done += r->segments_rewritten > 0 ? 1 : 0;
    } else if (!r.error().is(errc::log_dir_offline)) {
      lg().warn("{}: compaction failed: {}", n.dir_name(), r.error().message());
    }
  }
  return done;
}

status log_manager::shutdown() {
  if (shut_down_)
    return ok();
  shut_down_ = true;
  stop_compactions();
  status first = ok();
  std::set<const log_dir*> unclean;  // no marker: the next start recovers
  for (auto& [n, l] : logs_) {
    if (placement_[n]->offline())
      continue;
    if (auto s = l->close(); !s) {
      lg().error("{}: close failed: {}", n.dir_name(), s.error().message());
      // Out of descriptors or memory is no disk failure; the directory just is not clean.
      if (!is_resource_exhaustion(s.error().code()))
        placement_[n]->take_offline(s.error().message());
      unclean.insert(placement_[n].get());
      if (first)
        first = s;
    }
  }
  logs_.clear();
  for (const auto& d : dirs_) {
    if (d->offline() || unclean.contains(d.get()))
      continue;
    auto marker = d->path() / clean_shutdown_marker;
    auto s = opts_.fs->write_file_atomic(marker, {});
    if (!s) {
      lg().error("writing {} failed: {}", marker.string(), s.error().message());
      if (first)
        first = s;
    }
  }
  lg().info("storage shut down{}", first ? " cleanly" : " with errors");
  return first;
}

}  // namespace strom::storage
