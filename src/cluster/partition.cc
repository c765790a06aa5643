#include "strom/cluster/partition.h"

#include "strom/model/record_batch.h"

namespace strom::cluster {

result<partition::append_outcome> partition::append(std::span<std::byte> batch) {
  append_outcome out;
  if (settings_.log_append_time && batch.size() >= model::batch_layout::header_size) {
    out.log_append_time = clock_.now_ms();
    // The CRC is checked by the log after this rewrite, so verify the client's first.
    auto h = model::validate_batch(batch, log_->config().max_batch_bytes);
    if (!h)
      return error(storage::errc::invalid_batch, h.error().message());
    model::set_log_append_time(batch, out.log_append_time);
  }
  auto r = log_->append(batch, epoch_);
  if (!r)
    return r.error();
  out.offsets = *r;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, fn] : waiters)
    fn();
  return out;
}

uint64_t partition::add_waiter(std::function<void()> fn) {
  auto id = next_waiter_++;
  waiters_.emplace(id, std::move(fn));
  return id;
}

}  // namespace strom::cluster
