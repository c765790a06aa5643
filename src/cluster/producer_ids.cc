#include "strom/cluster/producer_ids.h"

#include <charconv>

#include <fmt/format.h>

#include "strom/cluster/topic_table.h"

namespace strom::cluster {

result<std::unique_ptr<producer_id_allocator>> producer_id_allocator::open(
    std::shared_ptr<io::file_system> fs, std::filesystem::path file) {
  std::unique_ptr<producer_id_allocator> a(new producer_id_allocator(fs, file));
  STROM_TRY(fs->create_directories(file.parent_path()));
  auto exists = fs->exists(file);
  if (!exists)
    return exists.error();
  if (*exists) {
    auto text = fs->read_small_file(file, 64);
    if (!text)
      return text.error();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || v < 0) {
      return error(std::make_error_code(std::errc::invalid_argument),
                   fmt::format("bad producer id block in {}", file.string()));
    }
    a->next_ = a->block_end_ = v;
  }
  return a;
}

result<int64_t> producer_id_allocator::next() {
  std::lock_guard lock(mu_);
  if (next_ >= block_end_) {
    auto end = next_ + block_size;
    auto text = fmt::format("{}\n", end);
    STROM_TRY(fs_->write_file_atomic(file_, std::as_bytes(std::span(text))));
    block_end_ = end;
  }
  return next_++;
}

}  // namespace strom::cluster
