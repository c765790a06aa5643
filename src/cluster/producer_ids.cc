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
    a->next_ = a->block_end_ = a->persisted_end_ = v;
  }
  return a;
}

void producer_id_allocator::use_blocks_from(block_source source) {
  std::lock_guard lock(mu_);
  source_ = std::move(source);
  next_ = block_end_ = 0;
  request_block();
}

void producer_id_allocator::request_block() {
  if (requested_ || spare_)
    return;
  requested_ = true;
  // The callback may come at once, on this thread: it takes the lock itself.
  auto source = source_;
  mu_.unlock();
  source([this](result<int64_t> first) {
    std::lock_guard lock(mu_);
    requested_ = false;
    if (first)
      spare_ = *first;
  });
  mu_.lock();
}

result<int64_t> producer_id_allocator::next() {
  std::unique_lock lock(mu_);
  if (source_) {
    if (next_ >= block_end_ && spare_) {
      next_ = *spare_;
      block_end_ = next_ + block_size;
      spare_.reset();
    }
    if (block_end_ - next_ <= block_size / 2)
      request_block();
    if (next_ >= block_end_) {
      return error(std::make_error_code(std::errc::resource_unavailable_try_again),
                   "a block of producer ids is on its way from the controller");
    }
    return next_++;
  }
  if (next_ >= block_end_) {
    auto end = next_ + block_size;
    auto text = fmt::format("{}\n", end);
    STROM_TRY(fs_->write_file_atomic(file_, std::as_bytes(std::span(text))));
    block_end_ = end;
  }
  return next_++;
}

}  // namespace strom::cluster
