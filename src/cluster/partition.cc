#include "strom/cluster/partition.h"

#include <algorithm>
#include <chrono>

#include "strom/metrics/metrics.h"

#include <fmt/format.h>

#include "strom/base/logging.h"
#include "strom/model/record_batch.h"
#include "strom/net/await.h"

namespace strom::cluster {

namespace {
spdlog::logger& lg() {
  return logging::get("cluster");
}
}  // namespace

model::validation_policy partition::validation_policy(model::append_origin origin) const {
  auto p = log_->validation_policy(origin);
  p.log_append_time = settings_.log_append_time;
  return p;
}

result<partition::append_outcome> partition::check_producer(const model::batch_header& h) const {
  append_outcome out;
  if (h.producer_id < 0)
    return out;
  auto dup = producers_.check(h);
  if (!dup)
    return dup.error();
  if (*dup) {
    out.offsets.base = model::kafka_offset((*dup)->base_offset);
    out.offsets.last = model::kafka_offset((*dup)->last_offset);
    out.duplicate = true;
  }
  return out;
}

result<partition::append_outcome> partition::append(model::validated_batch batch) {
  owner_.check();
  auto checked = check_producer(batch.header());
  if (!checked || checked->duplicate)
    return checked;
  auto out = *checked;
  if (settings_.log_append_time) {
    out.log_append_time = clock_.now_ms();
    batch.set_log_append_time(out.log_append_time);
  }
  auto r = log_->append(batch, epoch_);
  if (!r)
    return r.error();
  out.offsets = *r;
  if (batch.header().producer_id >= 0)
    producers_.record(batch.header(), clock_.now_ms());
  // A single replica: the in-sync set is this one, so what is in its log is committed.
  advance_high_watermark(log_->log_end());
  return out;
}

net::awaitable<result<partition::append_outcome>> partition::replicate(model::validated_batch batch,
                                                                       ack_level acks) {
  if (rep_) {
    auto op = replicate_through_group(std::move(batch), acks);
    co_return co_await std::move(op);
  }
  auto out = append(std::move(batch));
  if (!out || acks != ack_level::all || !settings_.flush_before_ack)
    co_return out;
  auto flushed = co_await net::await_callback<status>(
      [this](std::function<void(status)> done) { flush_async(std::move(done)); });
  if (!flushed)
    co_return flushed.error();
  co_return out;
}

void partition::advance_high_watermark(model::kafka_next_offset to) {
  to = std::min(to, log_->log_end());
  if (to <= high_watermark_)
    return;
  high_watermark_ = to;
  wake_waiters();
}

void partition::wake_waiters() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, fn] : waiters)
    fn();
}

result<storage::read_result> partition::read(model::kafka_offset from, size_t max_bytes,
                                             bool min_one_batch) const {
  owner_.check();
  STROM_TRY(readable());
  return read_committed(from, max_bytes, min_one_batch);
}

result<storage::read_result> partition::read_committed(model::kafka_offset from, size_t max_bytes,
                                                       bool min_one_batch) const {
  owner_.check();
  if (from < deleted_before_) {
    return error(storage::errc::offset_out_of_range,
                 fmt::format("{}: offset {} is below the log start {}", name_.dir_name(),
                             from.value(), deleted_before_.value()));
  }
  storage::read_options ro;
  ro.max_bytes = max_bytes;
  ro.max_offset = high_watermark();  // consumers never see what is not committed
  ro.min_one_batch = min_one_batch;
  return log_->read(from, ro);
}

result<std::optional<storage::timestamp_lookup>> partition::offset_for_timestamp(
    timestamp_ms ts) const {
  owner_.check();
  STROM_TRY(readable());
  if (ts == -3) {
    ts = log_->max_timestamp();
    if (ts < 0)
      return std::optional<storage::timestamp_lookup>{};
  }
  auto found = log_->find_offset_by_timestamp(ts);
  // Records below a replicated DeleteRecords' offset are no longer readable.
  if (found && *found && found->value().offset < deleted_before_)
    found->value().offset = deleted_before_;
  return found;
}

net::awaitable<result<model::kafka_offset>> partition::delete_records(int64_t offset) {
  owner_.check();
  if (auto s = serving(); !s)
    co_return s.error();
  auto target = offset == -1 ? high_watermark().value() : offset;
  if (target < 0 || target > high_watermark().value()) {
    co_return error(storage::errc::offset_out_of_range,
                    fmt::format("{} is outside [0, {}]", offset, high_watermark().value()));
  }
  if (rep_) {
    auto op = delete_records_through_group(target);
    co_return co_await std::move(op);
  }
  if (auto s = log_->prefix_truncate(model::kafka_offset(target)); !s)
    co_return s.error();
  co_return log_start();
}

void partition::flush_async(std::function<void(status)> done) {
  owner_.check();
  auto asked = std::chrono::steady_clock::now();
  // The registry outlives the partition (the broker owns it); the completion may not.
  auto* latency = &metrics_.flush_latency();
  log_->flush_async([asked, latency, done = std::move(done)](status s) {
    latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
    done(std::move(s));
  });
}

status partition::load_producer_state() {
  auto now = clock_.now_ms();
  // A batch read back counts as seen at its timestamp, never later than now (Kafka's rule).
  auto replay = [&](model::kafka_offset from) {
    return log_->visit_headers(from, [&](const model::batch_header& h) {
      producers_.record(h, std::min(h.max_timestamp, now));
    });
  };
  // The newest snapshot that reads back intact, then the batches after it; else every batch.
  auto snaps = log_->snapshots();
  auto max_bytes = producer_state::encoded_size_bound(
      std::max<size_t>(producers_.current_limits().max_producers, 1));
  bool loaded = false;
  for (auto it = snaps.rbegin(); it != snaps.rend() && !loaded; ++it) {
    auto payload = log_->read_snapshot(*it, max_bytes);
    status s = payload ? producers_.decode(*payload) : status(payload.error());
    if (!s) {
      lg().warn("{}: producer state snapshot at {} not used: {}", name_.dir_name(), it->value(),
                s.error().message());
      continue;
    }
    STROM_TRY(replay(model::first_at(*it)));
    loaded = true;
  }
  if (!loaded) {
    producer_state fresh(producers_.current_limits());
    producers_ = std::move(fresh);
    STROM_TRY(replay(log_->log_start()));
  }
  producers_.sort_by_last_seen();
  producers_.expire(now);
  // From now on every roll snapshots the state, and the last one is kept for close().
  log_->set_snapshot_source([this] { return producers_.encode(); });
  return ok();
}

partition::~partition() {
  stop_replication();
  // Shutdown destroys partitions before their logs close: hand over the final state.
  log_->set_snapshot_source(nullptr);
  log_->stash_snapshot(producers_.encode());
}

partition_settings settings_for(const topic_defaults& d, const topic_configs& o) {
  partition_settings s{flush_before_ack(d, o), log_append_time(d, o), {}};
  s.min_insync_replicas = min_insync_replicas(d, o);
  s.producers.expiration_ms = producer_id_expiration_ms(d, o);
  s.producers.max_producers = d.max_producers_per_partition;
  return s;
}

uint64_t partition::add_waiter(std::function<void()> fn) {
  owner_.check();
  auto id = next_waiter_++;
  waiters_.emplace(id, std::move(fn));
  return id;
}

}  // namespace strom::cluster
