#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "strom/base/clock.h"
#include "strom/base/result.h"
#include "strom/cluster/producer_state.h"
#include "strom/cluster/topic_config.h"
#include "strom/metrics/metrics.h"
#include "strom/model/ntp.h"
#include "strom/model/offsets.h"
#include "strom/model/validated_batch.h"
#include "strom/net/asio.h"
#include "strom/net/shard_runtime.h"
#include "strom/storage/log.h"

namespace strom::cluster {

struct partition_settings {
  bool flush_before_ack = true;  ///< acks=all waits for fsync (write.caching=false)
  bool log_append_time = false;  ///< message.timestamp.type=LogAppendTime
  /// producer.id.expiration.ms and the producers remembered at most (producer_state).
  producer_state::limits producers;
};

/// What a writer waits for before its batch counts as written (Kafka's `acks`).
enum class ack_level : int16_t {
  none = 0,    ///< nothing: the answer (if any) does not wait
  leader = 1,  ///< in the leader's log
  all = -1,    ///< committed: in the log of every in-sync replica, durable there unless
               ///< write caching is on (partition_settings::flush_before_ack)
};

/// A partition's settings from the broker defaults and a topic's overrides.
partition_settings settings_for(const topic_defaults& defaults, const topic_configs& overrides);

/// A partition replica on this node: owns leadership, the high watermark and the append path
/// over its log. Produce and Fetch reach the log only through here; this is where Raft
/// replication plugs in (today a single replica: every append is committed at once).
/// Owned by one shard; touched only on that shard's thread. Once bound to its shard
/// (bind_shard), the methods that read or change its state assert that.
class partition {
 public:
  /// `m`: the broker's metrics registry (the topic's traffic, flush latency).
  partition(model::ntp name, storage::log* log, partition_settings s, clock& clk,
            metrics::registry& m = metrics::default_registry())
      : name_(std::move(name)),
        log_(log),
        settings_(s),
        clock_(clk),
        metrics_(m),
        high_watermark_(log->log_end()),
        producers_(s.producers),
        traffic_(m.topic(name_.topic)) {}
  /// Hands the log the final producer state (written at close) and stops its snapshots.
  ~partition();
  partition(const partition&) = delete;
  partition& operator=(const partition&) = delete;

  /// Binds the partition to its owner shard: from now on its entry points assert that they
  /// run there (net::shard_affinity). Unbound, as in unit tests, nothing is checked.
  void bind_shard(net::shard_affinity owner) { owner_ = owner; }

  [[nodiscard]] const model::ntp& name() const { return name_; }
  [[nodiscard]] storage::log& log() { return *log_; }
  [[nodiscard]] const storage::log& log() const { return *log_; }
  [[nodiscard]] const partition_settings& settings() const { return settings_; }
  /// The topic's traffic counters (their series live as long as some partition does).
  [[nodiscard]] const std::shared_ptr<metrics::topic_metrics>& traffic() const { return traffic_; }
  void set_settings(partition_settings s) {
    owner_.check();
    settings_ = s;
    producers_.set_limits(s.producers);
  }

  [[nodiscard]] model::leader_epoch leader_epoch() const { return epoch_; }
  /// Exclusive: the first offset not yet visible to consumers. The partition advances it as
  /// entries commit (today a single replica: an append commits at once); it never passes
  /// the log end.
  [[nodiscard]] model::kafka_next_offset high_watermark() const { return high_watermark_; }
  [[nodiscard]] model::kafka_offset log_start() const { return log_->log_start(); }

  struct append_outcome {
    storage::append_result offsets;
    timestamp_ms log_append_time = -1;  ///< -1 unless the topic uses LogAppendTime
    bool duplicate = false;             ///< a producer retry: offsets are the original ones
  };
  /// How a batch bound for this partition is validated (model::validate_for_append): the
  /// log's size limit and cleanup policy, and the topic's timestamp type.
  [[nodiscard]] model::validation_policy validation_policy(model::append_origin origin) const;
  /// Appends a validated batch and wakes fetch waiters. Batches of an idempotent producer are
  /// checked against its sequence: a retry of one of its last five batches returns the
  /// original offsets and appends nothing. With LogAppendTime the batch is stamped with the
  /// time (CRC recomputed). The batch's bytes are modified in place and stored as they are.
  /// This is the leader-local step of replicate(); writers use replicate().
  result<append_outcome> append(model::validated_batch batch);
  /// The acknowledgement contract, the one way a writer (Produce, the group coordinator)
  /// stores a batch: appends it as append() does and completes, on the awaiting executor,
  /// once it is acknowledged as `acks` asks. For ack_level::all that is once committed
  /// (today: this replica's log, flushed first unless write caching is on); a duplicate of
  /// an idempotent producer's batch waits the same. A failure after the append (the flush)
  /// is returned as the error. The batch's bytes stay alive until it completes.
  net::awaitable<result<append_outcome>> replicate(model::validated_batch batch, ack_level acks);
  /// Whole batches from the one holding `from`, up to the high watermark (Fetch).
  result<storage::read_result> read(model::kafka_offset from, size_t max_bytes,
                                    bool min_one_batch) const;
  /// ListOffsets by time; `ts` == -3 asks for the record with the largest timestamp.
  result<std::optional<storage::timestamp_lookup>> offset_for_timestamp(timestamp_ms ts) const;
  /// DeleteRecords: raises the log start offset (-1 = the high watermark).
  result<model::kafka_offset> delete_records_before(int64_t offset);
  /// Where the log lives and how large it is (DescribeLogDirs).
  [[nodiscard]] std::string data_dir() const { return log_->path().parent_path().string(); }
  [[nodiscard]] uint64_t size_bytes() const { return log_->size_bytes(); }

  /// Makes everything appended so far durable; `done` runs on the flush thread.
  void flush_async(std::function<void(status)> done);

  /// Rebuilds the idempotent-producer state (after a restart): the newest intact snapshot
  /// and the batches after it, else every batch from the log start; then snapshots the state
  /// at every roll of the log (docs/storage-format.md, "State snapshots").
  status load_producer_state();
  /// Forgets idempotent producers idle for producer.id.expiration.ms (housekeeping).
  size_t expire_producers() {
    owner_.check();
    return producers_.expire(clock_.now_ms());
  }
  [[nodiscard]] const producer_state& producers() const { return producers_; }

  /// Registers `fn` to run (once) when the high watermark next advances; returns an id to
  /// cancel it.
  uint64_t add_waiter(std::function<void()> fn);
  void remove_waiter(uint64_t id) {
    owner_.check();
    waiters_.erase(id);
  }
  void clear_waiters() {
    owner_.check();
    waiters_.clear();
  }

 private:
  model::ntp name_;
  storage::log* log_;
  partition_settings settings_;
  clock& clock_;
  metrics::registry& metrics_;
  net::shard_affinity owner_;
  /// Raises the high watermark (never past the log end) and wakes the fetch waiters.
  void advance_high_watermark(model::kafka_next_offset to);

  model::leader_epoch epoch_{0};
  model::kafka_next_offset high_watermark_;
  uint64_t next_waiter_ = 1;
  std::map<uint64_t, std::function<void()>> waiters_;
  producer_state producers_;
  std::shared_ptr<metrics::topic_metrics> traffic_;
};

}  // namespace strom::cluster
