#include "strom/cluster/partition.h"

#include <chrono>

#include "strom/metrics/metrics.h"

#include <fmt/format.h>

#include "strom/model/record_batch.h"

namespace strom::cluster {

model::validation_policy partition::validation_policy(model::append_origin origin) const {
  auto p = log_->validation_policy(origin);
  p.log_append_time = settings_.log_append_time;
  return p;
}

result<partition::append_outcome> partition::append(model::validated_batch batch) {
  append_outcome out;
  if (batch.header().producer_id >= 0) {
    auto dup = producers_.check(batch.header());
    if (!dup)
      return dup.error();
    if (*dup) {
      out.offsets.base = model::kafka_offset((*dup)->base_offset);
      out.offsets.last = model::kafka_offset((*dup)->last_offset);
      out.duplicate = true;
      return out;
    }
  }
  if (settings_.log_append_time) {
    out.log_append_time = clock_.now_ms();
    batch.set_log_append_time(out.log_append_time);
  }
  auto r = log_->append(batch, epoch_);
  if (!r)
    return r.error();
  out.offsets = *r;
  if (batch.header().producer_id >= 0)
    producers_.record(batch.header());
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, fn] : waiters)
    fn();
  return out;
}

result<storage::read_result> partition::read(model::kafka_offset from, size_t max_bytes,
                                             bool min_one_batch) const {
  storage::read_options ro;
  ro.max_bytes = max_bytes;
  ro.max_offset = high_watermark();  // consumers never see what is not committed
  ro.min_one_batch = min_one_batch;
  return log_->read(from, ro);
}

result<std::optional<storage::timestamp_lookup>> partition::offset_for_timestamp(
    timestamp_ms ts) const {
  if (ts == -3) {
    ts = log_->max_timestamp();
    if (ts < 0)
      return std::optional<storage::timestamp_lookup>{};
  }
  return log_->find_offset_by_timestamp(ts);
}

result<model::kafka_offset> partition::delete_records_before(int64_t offset) {
  auto target = offset == -1 ? high_watermark().value() : offset;
  if (target < 0 || target > high_watermark().value()) {
    return error(storage::errc::offset_out_of_range,
                 fmt::format("{} is outside [0, {}]", offset, high_watermark().value()));
  }
  STROM_TRY(log_->prefix_truncate(model::kafka_offset(target)));
  return log_start();
}

void partition::flush_async(std::function<void(status)> done) {
  auto asked = std::chrono::steady_clock::now();
  log_->flush_async([asked, done = std::move(done)](status s) {
    metrics::flush_latency().Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
    done(std::move(s));
  });
}

status partition::load_producer_state() {
  return log_->visit_headers(log_->recent_segments_start(2),
                             [this](const model::batch_header& h) { producers_.record(h); });
}

uint64_t partition::add_waiter(std::function<void()> fn) {
  auto id = next_waiter_++;
  waiters_.emplace(id, std::move(fn));
  return id;
}

}  // namespace strom::cluster
