#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "strom/base/result.h"

namespace strom::security {

/// One line of the audit log.
struct audit_event {
  /// "authentication", "authorization" or "admin".
  std::string type;
  /// Who: "User:alice", or "User:ANONYMOUS" before authentication.
  std::string principal;
  /// From where: the client's "host:port".
  std::string client;
  /// What: the mechanism of an authentication, the API of an authorization or admin operation.
  std::string operation;
  /// On what: "Topic:clicks", "Group:g", "Cluster:kafka-cluster", "User:bob"; empty for an
  /// authentication.
  std::string resource;
  /// "success", "failure" or "denied".
  std::string result;
  /// Why it failed, or what changed; never a password or key.
  std::string detail;
};

/// The security audit trail: JSON lines in a file of its own (docs/security.md), one per
/// authentication, authorization denial and admin operation, with the time in UTC. Rotated by
/// size: past max_file_bytes the file becomes `<path>.1` (the older ones shift up to
/// `<path>.<max_files>`, the oldest is removed) and a new file starts. Each line is written
/// and flushed whole under a mutex: record() is thread-safe and called from every shard (the
/// events are rare next to requests: connections and admin operations). A failed write is
/// counted and logged (rate-limited), never fatal: clients keep working without the trail.
class audit_log {
 public:
  struct options {
    std::filesystem::path path;
    uint64_t max_file_bytes = 100ull << 20;
    int32_t max_files = 10;
  };
  /// Opens (appends to) the file, creating its directory.
  static result<std::unique_ptr<audit_log>> open(options o);
  ~audit_log();
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  void record(const audit_event& e);
  /// Lines that could not be written.
  [[nodiscard]] uint64_t failed_writes() const;

  /// The JSON line of `e` at `unix_ms` (without the newline).
  static std::string format(const audit_event& e, int64_t unix_ms);

 private:
  explicit audit_log(options o) : opts_(std::move(o)) {}
  status reopen();
  void rotate();

  options opts_;
  mutable std::mutex mu_;  // guards everything below
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace strom::security
