#include "strom/storage/errc.h"

#include <cerrno>
#include <string>

namespace strom::storage {
namespace {
class storage_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.storage"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::log_dir_offline:
        return "log directory offline";
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::stale_epoch:
        return "stale leader epoch";
      case errc::invalid_batch:
        return "invalid record batch";
      case errc::batch_too_large:
        return "record batch too large";
      case errc::invalid_offset:
        return "invalid offset";
      case errc::log_exists:
        return "log already exists";
      case errc::log_not_found:
        return "log not found";
      case errc::invalid_name:
        return "invalid name";
      case errc::corrupt_checkpoint:
        return "corrupt checkpoint";
      case errc::compaction_aborted:
        return "compaction aborted";
      case errc::record_without_key:
        return "record without a key in a compacted topic";
      case errc::resource_exhausted:
        return "out of file descriptors or memory";
      case errc::index_mismatch:
        return "Raft index does not fit the log";
    }
    return "unknown storage error";
  }
};
}  // namespace

const std::error_category& storage_category() {
  static storage_category_impl c;
  return c;
}

bool is_resource_exhaustion(const std::error_code& e) {
  if (e.category() == storage_category())
    return static_cast<errc>(e.value()) == errc::resource_exhausted;
  if (e.category() != std::generic_category() && e.category() != std::system_category())
    return false;
  return e.value() == EMFILE || e.value() == ENFILE || e.value() == ENOMEM;
}

}  // namespace strom::storage
