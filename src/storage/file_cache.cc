#include "strom/storage/file_cache.h"

#include <vector>

#include "storage/resource_errors.h"
#include "strom/storage/errc.h"

namespace strom::storage {

namespace {
std::atomic<uint64_t> next_handle_id{1};
}  // namespace

// --- file_cache --------------------------------------------------------------------------------

file_cache::file_cache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

size_t file_cache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void file_cache::insert(uint64_t id, std::shared_ptr<io::file> f) {
  std::vector<std::shared_ptr<io::file>> closing;  // closed after the lock is released
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(id); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      it->second.file = std::move(f);
    } else {
      lru_.push_front(id);
      entries_.emplace(id, entry{std::move(f), lru_.begin()});
    }
    while (entries_.size() > capacity_) {
      auto victim = lru_.back();
      lru_.pop_back();
      auto it = entries_.find(victim);
      closing.push_back(std::move(it->second.file));
      entries_.erase(it);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }
}

bool file_cache::touch(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end())
    return false;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return true;
}

void file_cache::erase(uint64_t id) {
  std::shared_ptr<io::file> closing;
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end())
    return;
  closing = std::move(it->second.file);
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

// --- cached_file -------------------------------------------------------------------------------

cached_file::cached_file(io::file_system* fs, std::filesystem::path path, file_cache* cache)
    : fs_(fs), path_(std::move(path)), cache_(cache), id_(next_handle_id.fetch_add(1)) {}

cached_file::~cached_file() {
  if (cache_ != nullptr)
    cache_->erase(id_);
}

result<std::shared_ptr<io::file>> cached_file::get() {
  std::lock_guard lock(mu_);
  if (auto f = file_.lock()) {
    if (cache_ != nullptr) {
      // Recency only matters relative to the files opened since: touch once per insert.
      auto gen = cache_->generation();
      if (touched_ != gen) {
        if (!cache_->touch(id_))
          cache_->insert(id_, f);  // evicted while in use: open anyway, so count it again
        touched_ = cache_->generation();
      }
    }
    return f;
  }
  auto f = fs_->open(path_, io::open_mode::read_only);
  if (!f) {
    if (is_resource_exhaustion(f.error().code()))
      return note_resource_exhaustion("reopening a closed segment", f.error());
    return f.error();
  }
  file_ = *f;
  if (cache_ == nullptr) {
    held_ = *f;
  } else {
    cache_->reopens_.fetch_add(1, std::memory_order_relaxed);
    cache_->insert(id_, *f);
    touched_ = cache_->generation();
  }
  return std::move(*f);
}

void cached_file::adopt(std::shared_ptr<io::file> f) {
  std::lock_guard lock(mu_);
  file_ = f;
  if (cache_ == nullptr) {
    held_ = std::move(f);
    return;
  }
  cache_->insert(id_, std::move(f));
  touched_ = cache_->generation();
}

void cached_file::track(const std::shared_ptr<io::file>& f) {
  std::lock_guard lock(mu_);
  file_ = f;
  held_.reset();
  if (cache_ != nullptr)
    cache_->erase(id_);
}

void cached_file::set_path(std::filesystem::path p) {
  std::lock_guard lock(mu_);
  path_ = std::move(p);
}

}  // namespace strom::storage
