#include "strom/io/memory_file_system.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace strom::io {

struct memory_file_system::node {
  std::mutex mu;  // guards data and synced
  std::vector<std::byte> data;
  std::vector<std::byte> synced;
};

namespace {

std::string key(const std::filesystem::path& p) {
  return p.lexically_normal().string();
}

error not_found(const std::filesystem::path& p) {
  return error(std::make_error_code(std::errc::no_such_file_or_directory), p.string());
}

/// As Linux: a path component longer than NAME_MAX fails with ENAMETOOLONG.
status check_name_length(const std::filesystem::path& p) {
  for (const auto& part : p) {
    if (part.native().size() > max_name_bytes)
      return error(std::make_error_code(std::errc::filename_too_long), p.string());
  }
  return ok();
}

class memory_file final : public file {
 public:
  using file::write_at;  // the two-part write: its parts one after the other
  memory_file(std::shared_ptr<memory_file_system::node> n,
              std::shared_ptr<memory_file_system::open_counter> open)
      : n_(std::move(n)), open_(std::move(open)) {
    auto now = ++open_->count;
    auto peak = open_->peak.load();
    while (peak < now && !open_->peak.compare_exchange_weak(peak, now)) {
    }
  }
  ~memory_file() override { --open_->count; }
  memory_file(const memory_file&) = delete;
  memory_file& operator=(const memory_file&) = delete;

  result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    std::lock_guard lock(n_->mu);
    if (offset >= n_->data.size())
      return size_t{0};
    size_t n = std::min<size_t>(out.size(), n_->data.size() - offset);
    if (n > 0)
      std::memcpy(out.data(), n_->data.data() + offset, n);
    return n;
  }
  status write_at(uint64_t offset, std::span<const std::byte> d) override {
    std::lock_guard lock(n_->mu);
    if (n_->data.size() < offset + d.size())
      n_->data.resize(offset + d.size());
    if (!d.empty())
      std::memcpy(n_->data.data() + offset, d.data(), d.size());
    return ok();
  }
  status sync() override {
    std::lock_guard lock(n_->mu);
    n_->synced = n_->data;
    return ok();
  }
  status truncate(uint64_t size) override {
    std::lock_guard lock(n_->mu);
    n_->data.resize(size);
    return ok();
  }
  result<uint64_t> size() override {
    std::lock_guard lock(n_->mu);
    return static_cast<uint64_t>(n_->data.size());
  }

 private:
  std::shared_ptr<memory_file_system::node> n_;
  std::shared_ptr<memory_file_system::open_counter> open_;
};

}  // namespace

memory_file_system::memory_file_system() {
  dirs_["."] = true;
}
memory_file_system::~memory_file_system() = default;

result<std::shared_ptr<file>> memory_file_system::open(const std::filesystem::path& p,
                                                       open_mode mode) {
  STROM_TRY(check_name_length(p));
  std::lock_guard lock(mu_);
  auto k = key(p);
  auto it = files_.find(k);
  if (it == files_.end()) {
    if (mode == open_mode::read_only || mode == open_mode::read_write)
      return not_found(p);
    if (!dirs_.contains(key(p.parent_path().empty() ? "." : p.parent_path()))) {
      return not_found(p.parent_path());
    }
    it = files_.emplace(k, std::make_shared<node>()).first;
  } else if (mode == open_mode::create_new) {
    return error(std::make_error_code(std::errc::file_exists), p.string());
  }
  return std::shared_ptr<file>(std::make_shared<memory_file>(it->second, open_));
}

result<bool> memory_file_system::exists(const std::filesystem::path& p) {
  std::lock_guard lock(mu_);
  auto k = key(p);
  return files_.contains(k) || dirs_.contains(k);
}

result<std::vector<std::string>> memory_file_system::list(const std::filesystem::path& dir) {
  std::lock_guard lock(mu_);
  auto d = key(dir);
  if (!dirs_.contains(d))
    return not_found(dir);
  std::vector<std::string> out;
  if (d == ".") {
    auto collect = [&](const std::string& k) {
      std::filesystem::path kp(k);
      if (kp.parent_path().empty())
        out.push_back(kp.filename().string());
    };
    for (auto& [k, _] : files_)
      collect(k);
    for (auto& [k, _] : dirs_) {
      if (k != d)
        collect(k);
    }
  } else {
    // Keys under `d` sort between "d/" and "d0" ('0' follows '/'): visit only those.
    auto prefix = d + "/";
    auto end = d + "0";
    auto collect = [&](auto& map) {
      for (auto it = map.lower_bound(prefix); it != map.end() && it->first < end; ++it) {
        auto rest = std::string_view(it->first).substr(prefix.size());
        if (!rest.empty() && rest.find('/') == std::string_view::npos)
          out.emplace_back(rest);
      }
    };
    collect(files_);
    collect(dirs_);
  }
  std::sort(out.begin(), out.end());
  return out;
}

result<bool> memory_file_system::is_directory(const std::filesystem::path& p) {
  std::lock_guard lock(mu_);
  return dirs_.contains(key(p));
}

status memory_file_system::create_directories(const std::filesystem::path& p) {
  STROM_TRY(check_name_length(p));
  std::lock_guard lock(mu_);
  std::filesystem::path cur;
  for (auto& part : p.lexically_normal()) {
    cur /= part;
    if (files_.contains(key(cur))) {
      return error(std::make_error_code(std::errc::not_a_directory), cur.string());
    }
    dirs_[key(cur)] = true;
  }
  return ok();
}

status memory_file_system::remove(const std::filesystem::path& p) {
  std::lock_guard lock(mu_);
  auto k = key(p);
  if (files_.erase(k) > 0)
    return ok();
  if (dirs_.contains(k)) {
    for (auto& [f, _] : files_) {
      if (f.starts_with(k + "/")) {
        return error(std::make_error_code(std::errc::directory_not_empty), p.string());
      }
    }
    dirs_.erase(k);
  }
  return ok();
}

status memory_file_system::remove_all(const std::filesystem::path& p) {
  std::lock_guard lock(mu_);
  auto k = key(p);
  auto prefix = k + "/";
  std::erase_if(files_, [&](auto& e) { return e.first == k || e.first.starts_with(prefix); });
  std::erase_if(dirs_, [&](auto& e) { return e.first == k || e.first.starts_with(prefix); });
  return ok();
}

status memory_file_system::rename(const std::filesystem::path& from,
                                  const std::filesystem::path& to) {
  STROM_TRY(check_name_length(to));
  std::lock_guard lock(mu_);
  auto it = files_.find(key(from));
  if (it == files_.end()) {
    auto d = dirs_.find(key(from));
    if (d == dirs_.end())
      return not_found(from);
    // Directory rename: move every entry under it.
    auto fk = key(from), tk = key(to);
    std::map<std::string, std::shared_ptr<node>> moved_files;
    std::map<std::string, bool> moved_dirs;
    for (auto f = files_.begin(); f != files_.end();) {
      if (f->first.starts_with(fk + "/")) {
        moved_files[tk + f->first.substr(fk.size())] = f->second;
        f = files_.erase(f);
      } else {
        ++f;
      }
    }
    for (auto x = dirs_.begin(); x != dirs_.end();) {
      if (x->first == fk || x->first.starts_with(fk + "/")) {
        moved_dirs[tk + x->first.substr(fk.size())] = true;
        x = dirs_.erase(x);
      } else {
        ++x;
      }
    }
    files_.merge(moved_files);
    dirs_.merge(moved_dirs);
    return ok();
  }
  auto n = it->second;
  files_.erase(it);
  files_[key(to)] = std::move(n);
  return ok();
}

status memory_file_system::sync_directory(const std::filesystem::path&) {
  return ok();
}

status memory_file_system::sync_file_system(const std::filesystem::path&) {
  std::lock_guard lock(mu_);
  for (auto& [_, n] : files_) {
    std::lock_guard nl(n->mu);
    n->synced = n->data;
  }
  return ok();
}

result<uint64_t> memory_file_system::free_space(const std::filesystem::path&) {
  return uint64_t{1} << 40;
}

void memory_file_system::crash() {
  std::lock_guard lock(mu_);
  for (auto& [_, n] : files_) {
    std::lock_guard nl(n->mu);
    n->data = n->synced;
  }
}

std::vector<std::byte>* memory_file_system::contents(const std::filesystem::path& p) {
  std::lock_guard lock(mu_);
  auto it = files_.find(key(p));
  return it == files_.end() ? nullptr : &it->second->data;
}

}  // namespace strom::io
