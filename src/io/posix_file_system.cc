#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <fmt/format.h>

#include "strom/io/file_system.h"

namespace strom::io {
namespace {

error errno_error(const char* what, const std::filesystem::path& p, int e = errno) {
  return error(std::error_code(e, std::generic_category()), fmt::format("{} {}", what, p.string()));
}

class posix_file final : public file {
 public:
  posix_file(int fd, std::filesystem::path p) : fd_(fd), path_(std::move(p)) {}
  ~posix_file() override { ::close(fd_); }
  posix_file(const posix_file&) = delete;
  posix_file& operator=(const posix_file&) = delete;

  result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    for (;;) {
      ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
      if (n >= 0)
        return static_cast<size_t>(n);
      if (errno != EINTR)
        return errno_error("read", path_);
    }
  }

  status write_at(uint64_t offset, std::span<const std::byte> data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return errno_error("write", path_);
      }
      data = data.subspan(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return ok();
  }

  status write_at(uint64_t offset, std::span<const std::byte> head,
                  std::span<const std::byte> body) override {
    while (!head.empty()) {
      std::array<iovec, 2> parts{iovec{const_cast<std::byte*>(head.data()), head.size()},
                                 iovec{const_cast<std::byte*>(body.data()), body.size()}};
      ssize_t n = ::pwritev(fd_, parts.data(), body.empty() ? 1 : 2, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return errno_error("write", path_);
      }
      auto done = static_cast<size_t>(n);
      offset += done;
      size_t in_head = std::min(done, head.size());
      head = head.subspan(in_head);
      body = body.subspan(done - in_head);
    }
    return write_at(offset, body);
  }

  status sync() override {
    if (::fdatasync(fd_) != 0)
      return errno_error("fdatasync", path_);
    return ok();
  }

  status start_writeback(uint64_t offset, uint64_t length) override {
    if (::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(length),
                          SYNC_FILE_RANGE_WRITE) != 0)
      return errno_error("sync_file_range", path_);
    return ok();
  }

  status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return errno_error("truncate", path_);
    return ok();
  }

  result<uint64_t> size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0)
      return errno_error("stat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  [[nodiscard]] int native_handle() const override { return fd_; }

 private:
  int fd_;
  std::filesystem::path path_;
};

class posix_file_system final : public file_system {
 public:
  result<std::shared_ptr<file>> open(const std::filesystem::path& p, open_mode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case open_mode::read_only:
        flags |= O_RDONLY;
        break;
      case open_mode::read_write:
        flags |= O_RDWR;
        break;
      case open_mode::create:
        flags |= O_RDWR | O_CREAT;
        break;
      case open_mode::create_new:
        flags |= O_RDWR | O_CREAT | O_EXCL;
        break;
    }
    int fd = ::open(p.c_str(), flags, 0644);
    if (fd < 0)
      return errno_error("open", p);
    return std::shared_ptr<file>(std::make_shared<posix_file>(fd, p));
  }

  result<bool> exists(const std::filesystem::path& p) override {
    std::error_code ec;
    bool e = std::filesystem::exists(p, ec);
    if (ec)
      return error(ec, p.string());
    return e;
  }

  result<std::vector<std::string>> list(const std::filesystem::path& dir) override {
    std::error_code ec;
    std::vector<std::string> names;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec)
      return error(ec, fmt::format("list {}", dir.string()));
    std::sort(names.begin(), names.end());
    return names;
  }

  result<bool> is_directory(const std::filesystem::path& p) override {
    std::error_code ec;
    bool d = std::filesystem::is_directory(p, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
      return error(ec, p.string());
    return d;
  }

  status create_directories(const std::filesystem::path& p) override {
    std::error_code ec;
    std::filesystem::create_directories(p, ec);
    if (ec)
      return error(ec, fmt::format("create directory {}", p.string()));
    return ok();
  }

  status remove(const std::filesystem::path& p) override {
    if (::remove(p.c_str()) != 0 && errno != ENOENT)
      return errno_error("remove", p);
    return ok();
  }

  status remove_all(const std::filesystem::path& p) override {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
    if (ec)
      return error(ec, fmt::format("remove {}", p.string()));
    return ok();
  }

  status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return errno_error("rename", from);
    return ok();
  }

  status sync_directory(const std::filesystem::path& dir) override {
    auto d = dir.empty() ? std::filesystem::path(".") : dir;
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return errno_error("open directory", d);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0)
      return errno_error("fsync directory", d, e);
    return ok();
  }

  status sync_file_system(const std::filesystem::path& dir) override {
    auto d = dir.empty() ? std::filesystem::path(".") : dir;
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return errno_error("open directory", d);
    int rc = ::syncfs(fd);  // reports writeback errors since Linux 5.8
    int e = errno;
    ::close(fd);
    if (rc != 0)
      return errno_error("syncfs", d, e);
    return ok();
  }

  result<uint64_t> free_space(const std::filesystem::path& p) override {
    struct statvfs st {};
    if (::statvfs(p.c_str(), &st) != 0)
      return errno_error("statvfs", p);
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }
};

}  // namespace

std::shared_ptr<file_system> make_posix_file_system() {
  return std::make_shared<posix_file_system>();
}

}  // namespace strom::io
