#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

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
#include "strom/raft/message.h"
#include "strom/storage/log.h"

namespace strom::io {
class file_system;
}

namespace strom::cluster {

struct partition_settings {
  bool flush_before_ack = true;  ///< acks=all waits for fsync (write.caching=false)
  bool log_append_time = false;  ///< message.timestamp.type=LogAppendTime
  /// producer.id.expiration.ms and the producers remembered at most (producer_state).
  producer_state::limits producers;
  /// min.insync.replicas: a replicated partition refuses acks=all writes with fewer in-sync
  /// replicas (NOT_ENOUGH_REPLICAS).
  int32_t min_insync_replicas = 1;
};

/// Why a replicated partition refused a request.
enum class partition_errc {
  /// This replica does not lead the partition, or leads it but is not ready yet (its
  /// term-start entry has not committed): NOT_LEADER_OR_FOLLOWER.
  not_leader = 1,
  /// Fewer in-sync replicas than min.insync.replicas: NOT_ENOUGH_REPLICAS.
  not_enough_replicas,
  /// The leader holds as many uncommitted entries as it may: REQUEST_TIMED_OUT (retriable).
  backpressure,
  /// The replica stopped after a storage failure: KAFKA_STORAGE_ERROR.
  replica_failed,
  /// Not done on a replicated partition yet: POLICY_VIOLATION.
  unsupported,
  /// An acks=all write whose leader stopped leading before it knew the write's fate: it may
  /// still commit under the next leader, or not. NOT_LEADER_OR_FOLLOWER, as Kafka answers a
  /// write waiting for its replicas when the leadership moves: the client retries at the new
  /// leader with the same sequence, which recognises the batch if it committed.
  /// (REQUEST_TIMED_OUT was tried: librdkafka producers then met OUT_OF_ORDER_SEQUENCE_NUMBER
  /// for the batch after the retried one, a fatal error; docs/architecture.md.)
  fate_unknown,
};
const std::error_category& partition_category();
inline std::error_code make_error_code(partition_errc e) {
  return {static_cast<int>(e), partition_category()};
}

/// Messages of the partitions' Raft groups on one shard, collected so that one tick of every
/// group goes out as one batch (to the controller's connections, which batch them per broker).
struct replica_outbox {
  std::vector<std::pair<uint64_t, raft::message>> messages;
  /// While set, flush() waits (the shard's tick of all its groups is under way).
  bool holding = false;
  std::function<void(std::vector<std::pair<uint64_t, raft::message>>)> send;
  /// When given, flush() does not send at once: it has `later` run the send once, after the
  /// work the shard has queued already: the appends to every partition that a Produce request
  /// (or a burst of them) writes leave in one batch, not one batch per partition.
  std::function<void(std::function<void()>)> later;
  bool scheduled = false;
  /// What one merged append may carry (raft::coalesce; replica.fetch.max.bytes).
  size_t max_append_bytes = 1 << 20;
  /// Messages sent, and merged into others before they left.
  uint64_t sent = 0;
  uint64_t merged = 0;
  void flush() {
    if (holding || messages.empty() || !send)
      return;
    if (!later)
      return send_now();
    if (scheduled)
      return;
    scheduled = true;
    later([this] {
      scheduled = false;
      if (!holding)
        send_now();
    });
  }
  /// Sends what was gathered, consecutive appends to one follower (and answers to one leader)
  /// of a group merged into one message: a Produce burst that wrote a partition several times
  /// reaches each follower as one append, which it writes and answers once.
  void send_now() {
    if (messages.empty() || !send)
      return;
    merged += raft::coalesce(messages, max_append_bytes);
    sent += messages.size();
    send(std::exchange(messages, {}));
  }
};

/// How a replicated partition's Raft group runs (partition::enable_replication).
struct replica_options {
  int32_t self = 0;
  uint64_t group = 0;
  /// The partition's replicas (controller assignment; during a move, the ones it moves to):
  /// the voters its leader brings the group to, the first one preferred as leader.
  std::vector<int32_t> replicas;
  /// The voters of a group that has no configuration of its own yet (an empty log): the
  /// replicas the partition had before a move in flight, so that a replica the move adds joins
  /// as a non-voter and learns the group's configuration from its leader. Empty: `replicas`.
  std::vector<int32_t> bootstrap;
  /// A move is in flight (the controller holds `replicas` as its target).
  bool moving = false;
  int election_ticks = 30;
  int heartbeat_ticks = 3;
  /// How often the owner shard ticks the group (raft.tick_ms).
  std::chrono::milliseconds tick{50};
  /// Bytes of entries in one append to a follower (replica.fetch.max.bytes; at least one
  /// entry is always sent).
  size_t max_append_bytes = 1 << 20;
  /// replica.lag.time.max.ms in ticks: a voter that answered within it is in sync.
  int64_t in_sync_ticks = 200;
  uint64_t random_seed = 0;
  /// The term a group without a saved term starts from (leader epochs never go backwards
  /// for a topic name: controller_stm::epoch_floors).
  int64_t initial_term = 0;
  /// Created without Raft state, the replica may stand for one this broker held and lost (a
  /// replaced disk): it starts rebuilding (raft::node::rebuilding). Otherwise a replica without
  /// state is a new one, which lost nothing.
  bool may_replace_lost = false;
  io::file_system* fs = nullptr;
  /// The owner shard's context (flush completions are posted to it).
  net::asio::io_context* io = nullptr;
  replica_outbox* outbox = nullptr;
  /// The owner shard's recovery throttle (raft::options::recovery); none when null.
  raft::recovery_budget* recovery = nullptr;
  /// The owner shard's view of which brokers went silent (raft::options::liveness): idle
  /// groups go quiet; none when null.
  const raft::peer_liveness* liveness = nullptr;
  int quiet_keepalive_ticks = 200;
  /// Called on the owner shard when this replica became the ready leader of `term`.
  std::function<void(int64_t term)> on_leader;
  /// Whether the controller, as this broker knows it (and only while it knows a controller
  /// leader), records this replica as the leader of `term` (what Metadata names); taken as
  /// yes when unset. Any shard.
  std::function<bool(int64_t term)> named_leader;
};

/// What a writer waits for before its batch counts as written (Kafka's `acks`).
enum class ack_level : int16_t {
  none = 0,    ///< nothing: the answer (if any) does not wait
  leader = 1,  ///< in the leader's log
  all = -1,    ///< committed: in the log of every in-sync replica, durable there unless
               ///< write caching is on (partition_settings::flush_before_ack)
};

struct replica_state;

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
    set_write_caching(!s.flush_before_ack);
  }

  /// Makes this replica a member of the partition's Raft group (a replication factor above
  /// 1): from now on appends go through the group, the high watermark is the committed Kafka
  /// offset, and only the ready leader serves clients. Before the shard starts, or on it.
  status enable_replication(replica_options o);
  [[nodiscard]] bool replicated() const { return rep_ != nullptr; }
  /// Ok when this replica may serve clients (always, unless replicated: then only as the
  /// ready leader); partition_errc::not_leader otherwise.
  [[nodiscard]] status serving() const;
  /// A replicated partition's last leader that lost its majority (check-quorum stepped it
  /// down: too few replicas answer, say one of two down), not held up, that has heard of no
  /// leader for an election timeout since, in its own term or a later one, while the
  /// controller still records it as the leader of its term (replica_options::named_leader).
  /// Metadata names it then; no write can commit until a majority is back, so it answers
  /// writes NOT_ENOUGH_REPLICAS (as Kafka's leader does when its ISR is below
  /// min.insync.replicas) and serves what was committed (readable()), not
  /// NOT_LEADER_OR_FOLLOWER, which would send clients back to the Metadata that names it.
  /// A replica restarted meanwhile is no such leader (it led no term since its start).
  [[nodiscard]] bool orphaned() const;
  /// Ok when this replica may serve its committed records: serving(), or orphaned() (what
  /// it knows committed stays committed under any later leader).
  [[nodiscard]] status readable() const;
  /// The replica's Raft group: time passes, a message arrives. Owner shard only.
  void tick();
  void step(raft::message m);
  /// A replicated partition's write caching (write.caching): acks=all is answered once the
  /// batch is in the log of a majority, before their fsyncs.
  void set_write_caching(bool on);
  /// Leader balancing (auto_leader_rebalance): a ready leader that is not the partition's
  /// preferred replica (the first of the assignment) hands the leadership to it once it holds
  /// the whole log and answers. Returns whether a transfer started.
  bool move_to_preferred_leader();
  /// An operator's leadership transfer: a ready leader hands the partition to `target` (one of
  /// its replicas), or with none to the most caught-up voter that answers; done once that voter
  /// holds the whole log. Errors: not_leader, unsupported (not replicated), invalid_argument (a
  /// target without a replica here), not_enough_replicas (no voter to take it). Returns the
  /// broker the leadership goes to.
  result<int32_t> transfer_leadership(std::optional<int32_t> target);
  /// Retention of a replicated partition: the log before the point where retention by age and
  /// size would cut it (no further than the commit) is replaced by a Raft snapshot of the log
  /// start and the producer state, which a follower behind it installs. Each replica applies
  /// the topic's retention to its own log. Returns 1 when the log start moved.
  size_t apply_retention();
  /// Where a replicated partition can be checkpointed: its commit index and the Kafka offset
  /// after it (everything below is committed), and the last index of its Raft snapshot.
  struct checkpoint_point {
    int64_t index = 0;
    model::kafka_next_offset end{0};
    int64_t snapshot_index = 0;
  };
  [[nodiscard]] std::optional<checkpoint_point> checkpoint_at() const;
  /// The state its owner (the group coordinator) keeps in the partition's Raft snapshot, as
  /// checkpoint() stored it; empty without one.
  [[nodiscard]] std::vector<std::byte> snapshot_state() const;
  /// Compaction of a replicated log by its owner: the entries up to `p.index` are replaced by
  /// a Raft snapshot holding `state` (what they amount to, with the previous snapshot's) and
  /// the producer state; a follower behind receives it. Refused when the snapshot changed
  /// since `p` was taken (a leader's snapshot was installed meanwhile).
  status checkpoint(const checkpoint_point& p, std::span<const std::byte> state);
  /// Controlled shutdown: the replica stops campaigning, and a leader asks the most caught-up
  /// live voter to take over (done once that voter holds the whole log). Returns whether a
  /// handover is under way (this replica leads and another voter answered within an election
  /// timeout).
  bool hand_over_leadership();
  /// A new assignment from the controller: the replicas (during a move, the target) and
  /// whether a move is in flight. The leader brings the group's voters to them
  /// (converge_membership).
  void set_assignment(std::vector<int32_t> replicas, bool moving);
  /// What converge_membership() found.
  enum class membership { none, changing, settled };
  /// A move (leader only): one step of bringing the group's voters to the assignment, one
  /// server at a time (raft-design §4.4): a missing replica joins as a learner and is promoted
  /// once it holds every committed entry; only then does a replica that is not wanted leave,
  /// the leader last, after handing the leadership to a wanted replica. Returns `none` on a
  /// replica that does not lead (or a partition that is not replicated), `changing` while a
  /// step is under way, and `settled` once the voters are the assignment and that
  /// configuration committed.
  membership converge_membership();
  /// A move is in flight here (set_assignment).
  [[nodiscard]] bool moving() const;
  /// The voters of a replicated partition (its assignment, the preferred leader first); empty
  /// otherwise.
  [[nodiscard]] const std::vector<int32_t>& replica_set() const;
  /// The group's id, 0 when not replicated.
  [[nodiscard]] uint64_t group() const;
  /// A replicated partition's state for monitoring: role, term, leader, commit and log ends.
  struct replica_info {
    bool leader = false;
    int64_t term = 0;
    int32_t leader_id = -1;
    int64_t commit_index = 0;
    int64_t last_index = 0;
    size_t in_sync = 0;  ///< leader: voters in sync (Kafka's ISR), itself included
    size_t voters = 0;
    int64_t follower_lag = 0;             ///< leader: Raft indexes the furthest-behind voter lacks
    uint64_t elections_won = 0;           ///< times this replica became the ready leader
    bool rebuilding = false;              ///< started without its state (raft::node::rebuilding)
    uint64_t votes_while_rebuilding = 0;  ///< vote requests refused while rebuilding
  };
  [[nodiscard]] std::optional<replica_info> replica() const;
  /// The term this replica leads in as the ready leader; nullopt otherwise (cheap: what a
  /// tick of every group asks).
  [[nodiscard]] std::optional<int64_t> led_term() const;
  /// The leader told the replica it hands its leadership to to campaign (raft::node::
  /// handing_over): another leader may exist already, so state kept in memory beside the log
  /// (a group coordinator's) must not be served. serving() still holds for the log itself,
  /// whose committed records another leader keeps.
  [[nodiscard]] bool handing_over() const;
  /// The ready leader: the brokers of the replicas in sync (itself included), in id order
  /// (Kafka's ISR as its leader knows it). Empty on any other role.
  [[nodiscard]] std::vector<int32_t> in_sync_replicas() const;

  [[nodiscard]] model::leader_epoch leader_epoch() const { return epoch_; }
  /// Exclusive: the first offset not yet visible to consumers. The partition advances it as
  /// entries commit (today a single replica: an append commits at once); it never passes
  /// the log end.
  [[nodiscard]] model::kafka_next_offset high_watermark() const { return high_watermark_; }
  /// The first offset readers may ask for: the log's start, or a replicated DeleteRecords'
  /// offset above it (the log keeps the batch that holds it).
  [[nodiscard]] model::kafka_offset log_start() const {
    return std::max(log_->log_start(), deleted_before_);
  }

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
  /// The same on any replica, leader or not (the replica's own upkeep: compaction).
  result<storage::read_result> read_committed(model::kafka_offset from, size_t max_bytes,
                                              bool min_one_batch) const;
  /// ListOffsets by time; `ts` == -3 asks for the record with the largest timestamp.
  result<std::optional<storage::timestamp_lookup>> offset_for_timestamp(timestamp_ms ts) const;
  /// DeleteRecords: raises the log start offset (-1 = the high watermark) and returns it. On
  /// a replicated partition the leader makes it a decision of the group (a log_start entry)
  /// and answers once it committed; every replica applies it then (its log start moves, and
  /// the log before the entry holding the new start becomes a Raft snapshot). Refused on
  /// internal topics that are replicated (their snapshot holds the coordinator's state).
  net::awaitable<result<model::kafka_offset>> delete_records(int64_t offset);
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
  void wake_waiters();
  /// Fails the writers waiting for a commit; the group takes no more input.
  void stop_replication();

  friend struct replica_state;
  /// An idempotent producer's batch checked against its sequence: a retry of one of its last
  /// batches comes back as a duplicate with the original offsets.
  [[nodiscard]] result<append_outcome> check_producer(const model::batch_header& h) const;
  net::awaitable<result<append_outcome>> replicate_through_group(model::validated_batch batch,
                                                                 ack_level acks);
  /// Forgets the idempotent producers and reads them back (after the replicated log was cut):
  /// producers_before(nullopt).
  status rebuild_producer_state();
  /// The idempotent-producer state of a replicated log before Kafka offset `end` (the whole
  /// log when nullopt): its Raft snapshot's state, then the batches after the snapshot. A
  /// Raft snapshot holds the state at its own index, never batches after it that a later
  /// truncation may cut (a follower that installed it would otherwise take a retry of a
  /// batch no longer in the log for a duplicate), and a truncation reads the state back from
  /// the snapshot as well as from the log.
  [[nodiscard]] result<producer_state> producers_before(std::optional<int64_t> end) const;

  net::awaitable<result<model::kafka_offset>> delete_records_through_group(int64_t target);

  std::shared_ptr<replica_state> rep_;
  /// A replicated DeleteRecords' offset, once applied (0: none); kept in the Raft snapshot.
  model::kafka_offset deleted_before_{0};
  model::leader_epoch epoch_{0};
  model::kafka_next_offset high_watermark_;
  uint64_t next_waiter_ = 1;
  std::map<uint64_t, std::function<void()>> waiters_;
  producer_state producers_;
  std::shared_ptr<metrics::topic_metrics> traffic_;
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::partition_errc> : std::true_type {};
