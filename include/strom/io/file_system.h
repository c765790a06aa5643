#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "strom/base/result.h"
#include "strom/io/errc.h"

namespace strom::io {

/// The longest file or directory name (one path component) Linux file systems accept
/// (NAME_MAX); longer names fail with ENAMETOOLONG.
inline constexpr size_t max_name_bytes = 255;

/// The temporary file write_file_atomic writes before renaming it over `p`: `<name>.tmp`, or,
/// when that would exceed max_name_bytes, a prefix of the name, '~', a 16-digit hash of the
/// name and `.tmp`. Either way it ends in `.tmp` and lives in `p`'s directory.
std::filesystem::path temp_path_for(const std::filesystem::path& p);

/// An open file. Positional reads and writes only: there is no shared cursor, so one writer
/// and any number of readers and one syncing thread may use a file at the same time.
/// Owned through shared_ptr so that a reader or the flusher can outlive a segment's removal.
class file {
 public:
  virtual ~file() = default;

  /// Reads up to out.size() bytes at `offset`; returns the count read (0 at end of file).
  [[nodiscard]] virtual result<size_t> read_at(uint64_t offset, std::span<std::byte> out) = 0;
  /// Writes all of `data` at `offset` or fails. A failure may leave part of `data` written.
  [[nodiscard]] virtual status write_at(uint64_t offset, std::span<const std::byte> data) = 0;
  /// Writes `head` and then `body` at `offset` as one write (a stamped batch header before the
  /// records it was taken from, without joining the two in memory). Fails as write_at().
  [[nodiscard]] virtual status write_at(uint64_t offset, std::span<const std::byte> head,
                                        std::span<const std::byte> body) {
    STROM_TRY(write_at(offset, head));
    return write_at(offset + head.size(), body);
  }
  /// Durably stores the file's data (fdatasync). An error here is final: the caller must treat
  /// everything written since the last successful sync as lost and never retry.
  [[nodiscard]] virtual status sync() = 0;
  /// Starts writing the range back to the device without waiting and without any durability
  /// promise (sync_file_range WRITE): written steadily, dirty pages never pile up into the
  /// kernel's periodic bursts. No-op where there is no page cache.
  [[nodiscard]] virtual status start_writeback(uint64_t /*offset*/, uint64_t /*length*/) {
    return ok();
  }
  [[nodiscard]] virtual status truncate(uint64_t size) = 0;
  [[nodiscard]] virtual result<uint64_t> size() = 0;
  /// The OS descriptor for zero-copy sends, or -1 when the file is not backed by one.
  [[nodiscard]] virtual int native_handle() const { return -1; }

  /// Reads exactly out.size() bytes or fails with errc::short_read.
  [[nodiscard]] status read_exact(uint64_t offset, std::span<std::byte> out);
};

enum class open_mode {
  read_only,   ///< must exist
  read_write,  ///< must exist
  create,      ///< read-write; created when missing, kept when present
  create_new,  ///< read-write; fails when it exists
};

/// The file-system seam: posix for production, in-memory for simulation, fault-injecting for
/// crash tests. Implementations are thread-safe.
class file_system {
 public:
  virtual ~file_system() = default;

  [[nodiscard]] virtual result<std::shared_ptr<file>> open(const std::filesystem::path& p,
                                                           open_mode mode) = 0;
  [[nodiscard]] virtual result<bool> exists(const std::filesystem::path& p) = 0;
  /// Names (not paths) of the entries of a directory, sorted.
  [[nodiscard]] virtual result<std::vector<std::string>> list(const std::filesystem::path& dir) = 0;
  [[nodiscard]] virtual result<bool> is_directory(const std::filesystem::path& p) = 0;
  /// Creates a directory and its parents; succeeds when it already exists.
  [[nodiscard]] virtual status create_directories(const std::filesystem::path& p) = 0;
  /// Removes a file or an empty directory.
  [[nodiscard]] virtual status remove(const std::filesystem::path& p) = 0;
  /// Removes a directory tree.
  [[nodiscard]] virtual status remove_all(const std::filesystem::path& p) = 0;
  /// Atomically replaces `to` with `from`.
  [[nodiscard]] virtual status rename(const std::filesystem::path& from,
                                      const std::filesystem::path& to) = 0;
  /// Makes the directory's entries (creations, renames, removals) durable.
  [[nodiscard]] virtual status sync_directory(const std::filesystem::path& dir) = 0;
  /// Makes every file and directory of the file system holding `p` durable (syncfs): one
  /// call in place of a sync() per file when many files have unsynced writes. Errors as for
  /// file::sync().
  [[nodiscard]] virtual status sync_file_system(const std::filesystem::path& p) = 0;
  /// Bytes available to an unprivileged user on the file system holding `p`.
  [[nodiscard]] virtual result<uint64_t> free_space(const std::filesystem::path& p) = 0;

  /// Writes `data` to `p` atomically and durably: temp file (temp_path_for), sync, rename, sync
  /// directory. Works for every name up to max_name_bytes.
  [[nodiscard]] status write_file_atomic(const std::filesystem::path& p,
                                         std::span<const std::byte> data);
  /// Reads a whole small file, refusing files larger than `max_bytes`.
  [[nodiscard]] result<std::string> read_small_file(const std::filesystem::path& p,
                                                    size_t max_bytes);
};

/// The real file system (POSIX calls, pread/pwrite/fdatasync).
std::shared_ptr<file_system> make_posix_file_system();

}  // namespace strom::io
