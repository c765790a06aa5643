#pragma once

// Shared by the micro benchmarks: a scratch directory, producer-like batches, and a log in
// a fresh log manager on the real file system.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "strom/io/file_system.h"
#include "strom/model/batch_builder.h"
#include "strom/storage/log_manager.h"

namespace strom {

/// The benchmarks' scratch directory: made at first use, removed with everything in it when the
/// program exits.
struct bench_root {
  std::filesystem::path path;
  bench_root() {
    const char* env = std::getenv("STROM_BENCH_DIR");
    std::string base = env != nullptr ? env : std::filesystem::temp_directory_path().string();
    std::string tmpl = (std::filesystem::path(base) / "strom-bench-XXXXXX").string();
    path = std::filesystem::path(::mkdtemp(tmpl.data()));
  }
  ~bench_root() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  bench_root(const bench_root&) = delete;
  bench_root& operator=(const bench_root&) = delete;
};

inline const std::filesystem::path& bench_dir() {
  static bench_root root;
  return root.path;
}

/// A producer-like batch of about `bytes` total size made of records with `value_size`-byte
/// values (1 KiB-ish by default); at least one record.
inline std::vector<std::byte> batch_of(size_t bytes, size_t value_size = 1000) {
  model::batch_builder b(1'700'000'000'000);
  std::string value(std::min<size_t>(bytes, value_size), 'v');
  size_t total = 61;
  int i = 0;
  while (total + value.size() + 20 <= bytes || i == 0) {
    auto key = std::to_string(i++);
    b.add(std::optional<std::string_view>(key), std::optional<std::string_view>(value),
          1'700'000'000'000);
    total += value.size() + key.size() + 12;
  }
  return b.build();
}

struct bench_log {
  std::unique_ptr<storage::log_manager> mgr;
  storage::log* log = nullptr;
  std::filesystem::path dir;

  explicit bench_log(const std::string& name) {
    storage::log_manager::options o;
    dir = bench_dir() / name;
    o.data_dirs = {dir};
    std::filesystem::remove_all(o.data_dirs[0]);
    o.fs = io::make_posix_file_system();
    storage::log_config cfg;
    cfg.segment_bytes = 128 << 20;
    cfg.retention_bytes = -1;
    cfg.retention_ms = -1;
    cfg.max_batch_bytes = 8 << 20;
    if (const char* wb = std::getenv("STROM_BENCH_WRITEBACK_BYTES"))
      cfg.writeback_bytes = std::strtoull(wb, nullptr, 10);
    o.defaults = cfg;
    mgr = std::move(*storage::log_manager::open(o));
    log = *mgr->create(model::ntp{"bench", model::partition_id(0)}, cfg);
  }
  ~bench_log() {
    (void)mgr->shutdown();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace strom
