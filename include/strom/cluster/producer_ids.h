#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

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
  result<int64_t> next();

 private:
  producer_id_allocator(std::shared_ptr<io::file_system> fs, std::filesystem::path file)
      : fs_(std::move(fs)), file_(std::move(file)) {}

  std::shared_ptr<io::file_system> fs_;
  std::filesystem::path file_;
  std::mutex mu_;  // guards next_ and block_end_
  int64_t next_ = 0;
  int64_t block_end_ = 0;
};

}  // namespace strom::cluster
