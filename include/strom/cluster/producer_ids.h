#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "strom/base/result.h"
#include "strom/io/file_system.h"

namespace strom::cluster {

/// Hands out producer ids for InitProducerId, never the same one twice, across restarts too:
/// ids are reserved in blocks whose end is written (atomically, durably) to a file before any
/// id of the block is used. Thread-safe.
class producer_id_allocator {
 public:
  static constexpr int64_t block_size = 1000;

  static result<std::unique_ptr<producer_id_allocator>> open(std::shared_ptr<io::file_system> fs,
                                                             std::filesystem::path file);
  /// The next id. In a cluster, errc::resource_unavailable_try_again while a new block is on
  /// its way from the controller (the client retries).
  result<int64_t> next();

  /// Asks for a block of block_size ids: calls back (on any thread) with its first id, or an
  /// error.
  using block_source = std::function<void(std::function<void(result<int64_t>)>)>;
  /// Makes this a cluster broker's allocator: blocks come from `source` (the controller, which
  /// hands every block once across the cluster) instead of the file; the next block is asked
  /// for when half of the current one is used. Call before next().
  void use_blocks_from(block_source source);
  /// The end of the last block the file reserved (0 without a file): ids below it may have
  /// been handed out before this broker joined a cluster.
  [[nodiscard]] int64_t persisted_end() const { return persisted_end_; }

 private:
  producer_id_allocator(std::shared_ptr<io::file_system> fs, std::filesystem::path file)
      : fs_(std::move(fs)), file_(std::move(file)) {}

  std::shared_ptr<io::file_system> fs_;
  std::filesystem::path file_;
  void request_block();  // REQUIRES mu_ held

  std::mutex mu_;  // guards what follows
  int64_t next_ = 0;
  int64_t block_end_ = 0;
  int64_t persisted_end_ = 0;
  block_source source_;
  bool requested_ = false;
  std::optional<int64_t> spare_;  ///< the first id of the next block, once it came
};

}  // namespace strom::cluster
