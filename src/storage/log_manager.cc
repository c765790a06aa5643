#include "strom/storage/log_manager.h"

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "strom/base/logging.h"
#include "strom/storage/errc.h"

namespace strom::storage {

namespace {
spdlog::logger& lg() {
  return logging::get("storage");
}

/// Entries Strom keeps in a data directory that are not partition directories.
bool is_own_entry(const std::string& n) {
  static const std::string marker_tmp =
      io::temp_path_for(log_manager::clean_shutdown_marker).filename().string();
  return n == ".lock" || n == ".strom" || n == log_manager::clean_shutdown_marker ||
         n == marker_tmp;
}

/// Unique within a process (a counter) and across restarts (a random start).
uint64_t next_marker_id() {
  static std::atomic<uint64_t> next{std::random_device{}() * 0x9e3779b97f4a7c15ull};
  return next.fetch_add(1);
}
}  // namespace

std::string log_manager::marker_name(const model::ntp& name, std::string_view suffix) {
  auto tail = fmt::format("-{}.{:016x}{}", name.partition.value(), next_marker_id(), suffix);
  auto keep = std::min(name.topic.size(), io::max_name_bytes - tail.size());
  return name.topic.substr(0, keep) + tail;
}

log_manager::log_manager(options opts)
    : opts_(std::move(opts)),
      pool_(std::make_unique<blocking_pool>(opts_.flush_threads, "flush")),
      files_(std::make_unique<file_cache>(opts_.max_open_segment_files)),
      writeback_pool_(std::make_unique<blocking_pool>(1, "writeback")),
      compaction_pool_(std::make_unique<blocking_pool>(1, "compaction")) {}

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
  return log::options{opts_.fs.get(),        opts_.clk,    pool_.get(), dir, c, cancel_,
                      writeback_pool_.get(), files_.get(), opts_.random};
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
    auto listed = fs.list(p);
    if (!listed)
      return listed.error();
    std::vector<std::string> names;
    for (auto& n : *listed) {
      if (!is_own_entry(n))
        names.push_back(std::move(n));
    }
    // A directory without logs has nothing to recover, marker or not.
    bool has_logs = std::any_of(names.begin(), names.end(), [](const std::string& n) {
      return model::ntp::parse_dir_name(n).has_value();
    });
    bool clean = *has_marker || !has_logs;
    if (!clean)
      all_clean_ = false;
    auto logs = sweep(dir, clean, names);
    if (!logs)
      return logs.error();
    for (const auto& n : *logs) {
      auto name = model::ntp::parse_dir_name(n);
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

result<std::vector<std::string>> log_manager::sweep(const std::shared_ptr<log_dir>& dir, bool clean,
                                                    const std::vector<std::string>& names) {
  auto& fs = *opts_.fs;
  const auto& p = dir->path();
  std::vector<std::string> logs;
  bool changed = false;
  for (const auto& n : names) {
    auto isdir = fs.is_directory(p / n);
    if (!isdir)
      return isdir.error();
    if (!*isdir)
      continue;
    if (n.ends_with(delete_suffix)) {
      // A deleted partition whose removal a crash interrupted.
      STROM_TRY(fs.remove_all(p / n));
      changed = true;
      summary_.notes.push_back(fmt::format("removed {} (a deleted partition)", (p / n).string()));
      continue;
    }
    if (n.ends_with(stray_suffix)) {
      lg().warn("{} is a quarantined partition directory; remove it when it is not needed",
                (p / n).string());
      continue;
    }
    auto name = model::ntp::parse_dir_name(n);
    if (!name) {
      lg().warn("ignoring directory {} in {}: not <topic>-<partition>", n, p.string());
      continue;
    }
    if (opts_.claimed && !opts_.claimed(*name)) {
      if (clean) {
        // Not expected after a clean shutdown: keep the data, out of the way of a new topic.
        auto stray = marker_name(*name, stray_suffix);
        STROM_TRY(fs.rename(p / n, p / stray));
        summary_.notes.push_back(
            fmt::format("no topic claims partition directory {}: renamed to {}; remove it when it "
                        "is not needed",
                        (p / n).string(), stray));
      } else {
        STROM_TRY(fs.remove_all(p / n));
        summary_.notes.push_back(
            fmt::format("removed partition directory {}: no topic claims it (a topic creation or "
                        "deletion that a crash interrupted)",
                        (p / n).string()));
      }
      changed = true;
      continue;
    }
    logs.push_back(n);
  }
  if (changed)
    STROM_TRY(fs.sync_directory(p));
  return logs;
}

result<log*> log_manager::create(const model::ntp& name, const log_config& config, bool sync_dirs) {
  std::lock_guard lock(mu_);
  if (logs_.contains(name))
    return error(errc::log_exists, name.dir_name());
  retry_leftovers();
  auto dir_name = name.dir_name();
  if (dir_name.size() > io::max_name_bytes) {
    return error(errc::invalid_name,
                 fmt::format("{}: longer than {} bytes", dir_name, io::max_name_bytes));
  }
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
  std::vector<std::shared_ptr<log_dir>> touched{best};
  for (const auto& d : dirs_) {
    if (d->offline())
      continue;
    auto stale = d->path() / dir_name;
    auto exists = opts_.fs->exists(stale);
    if (!exists)
      return exists.error();
    if (*exists) {
      lg().warn("removing {} before creating {}: left over from a failed removal", stale.string(),
                dir_name);
      STROM_TRY(opts_.fs->remove_all(stale));
      if (d != best)
        touched.push_back(d);
    }
  }
  log_recovery report;
  auto l = log::open(name, log_options(best, config), true, report);
  if (!l) {
    // Whatever part of the directory was made must not be adopted later.
    (void)opts_.fs->remove_all(best->path() / dir_name);
    return l.error();
  }
  if (sync_dirs) {
    for (const auto& d : touched)
      STROM_TRY(opts_.fs->sync_directory(d->path()));
  }
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

status log_manager::sync_dirs() {
  for (const auto& d : dirs_) {
    if (!d->offline())
      STROM_TRY(opts_.fs->sync_directory(d->path()));
  }
  return ok();
}

result<std::filesystem::path> log_manager::release(const model::ntp& name) {
  std::unique_ptr<log> gone;  // closed after the lock is released
  std::lock_guard lock(mu_);
  auto it = logs_.find(name);
  if (it == logs_.end())
    return error(errc::log_not_found, name.dir_name());
  auto path = it->second->path();
  gone = std::move(it->second);
  logs_.erase(it);
  placement_.erase(name);
  return path;
}

void log_manager::retry_leftovers() {
  std::erase_if(leftovers_, [&](const std::filesystem::path& d) {
    return opts_.fs->remove_all(d).has_value();
  });
}

status log_manager::delete_directories(const std::vector<std::filesystem::path>& dirs) {
  auto& fs = *opts_.fs;
  {
    std::lock_guard lock(mu_);
    retry_leftovers();
  }
  status first = ok();
  auto keep_first = [&](const status& s) {
    if (!s && first)
      first = s;
  };
  std::vector<std::filesystem::path> doomed;
  std::set<std::filesystem::path> parents;
  for (const auto& d : dirs) {
    auto name = model::ntp::parse_dir_name(d.filename().string());
    if (!name) {
      keep_first(error(errc::invalid_name, d.string()));
      continue;
    }
    auto marker = d.parent_path() / marker_name(*name, delete_suffix);
    if (auto s = fs.rename(d, marker); s) {
      doomed.push_back(marker);
      parents.insert(d.parent_path());
    } else {
      lg().warn("renaming {} to {}: {}; removing it in place", d.string(), marker.string(),
                s.error().message());
      doomed.push_back(d);
    }
  }
  for (const auto& p : parents)
    keep_first(fs.sync_directory(p));
  for (const auto& d : doomed) {
    auto s = fs.remove_all(d);
    if (!s) {
      lg().warn("removing {}: {}; trying again later", d.string(), s.error().message());
      std::lock_guard lock(mu_);
      leftovers_.push_back(d);
    }
    keep_first(s);
  }
  return first;
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

void log_manager::wait_flushes() const {
  std::lock_guard lock(mu_);
  for (const auto& [n, l] : logs_)
    l->wait_flushes();
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
