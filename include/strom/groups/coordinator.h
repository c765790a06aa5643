#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strom/base/clock.h"
#include "strom/cluster/partition_manager.h"
#include "strom/cluster/topic_table.h"
#include "strom/cluster/topics_frontend.h"
#include "strom/groups/group.h"
#include "strom/net/asio.h"

namespace strom::groups {

using net::awaitable;

/// The internal topic holding committed offsets and group metadata.
inline constexpr std::string_view offsets_topic = "__consumer_offsets";

/// Java's String.hashCode of an ASCII group id, made non-negative as Kafka does, modulo
/// `partitions`: the `__consumer_offsets` partition that coordinates the group.
int32_t offsets_partition_of(std::string_view group_id, int32_t partitions);

/// The group coordinator of this node.
///
/// Every group lives on the shard that owns its `__consumer_offsets` partition; requests are
/// carried there (by the coroutine methods, callable from any shard, completing on the
/// caller's executor) and run without locks. Offsets and group metadata are written to that
/// partition through the ordinary append path and answered once committed; on start the
/// partition is replayed to rebuild the groups, and requests meanwhile get
/// COORDINATOR_LOAD_IN_PROGRESS. A replicated offsets partition's groups live with its ready
/// leader: loaded when this replica becomes it, dropped when it no longer is (NOT_COORDINATOR).
class coordinator {
 public:
  struct options {
    int32_t partitions = 50;  ///< offsets.topic.num.partitions
    int16_t replication_factor = 1;
    group_limits limits;
    int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  ///< offsets.retention.minutes
    size_t max_metadata_bytes = 4096;                       ///< offset.metadata.max.bytes
    std::chrono::milliseconds tick{100};
    std::string segment_bytes = "104857600";
    /// A replicated offsets partition is compacted once its log grew by this many bytes (or
    /// twice its compacted state, if more) since the last compaction.
    uint64_t compaction_bytes = 16u << 20;
    /// The broker's random source (member ids) and metrics registry; null: the process
    /// defaults (default_random, metrics::default_registry), for tests and tools.
    random_source* random = nullptr;
    metrics::registry* metrics = nullptr;
  };

  /// Reads the offsets topic in `topics`, creates it through `frontend` and reaches its
  /// partitions through `partitions`; each outlives the coordinator.
  coordinator(cluster::partition_manager& partitions, cluster::topics_frontend& frontend,
              const cluster::topic_table& topics, options opts, clock& clk = clock::system());
  ~coordinator();
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;

  /// Starts, on every shard, the replay of the offsets partitions it owns and the group timer.
  /// Call before or after the shards start.
  void start();
  /// Drops every group (and the requests they hold) and the timers. Call after the shards
  /// stopped and before their contexts are destroyed.
  void release_shard_objects();

  [[nodiscard]] const options& opts() const { return opts_; }
  [[nodiscard]] int32_t partition_of(std::string_view group_id) const {
    return offsets_partition_of(group_id, opts_.partitions);
  }
  /// Creates `__consumer_offsets` when it does not exist yet.
  awaitable<errc> ensure_topic();

  awaitable<join_result> join(std::string group_id, join_request req);
  awaitable<sync_result> sync(std::string group_id, sync_request req);
  awaitable<errc> heartbeat(std::string group_id, std::string member_id,
                            std::optional<std::string> instance_id, int32_t generation);
  struct leave_result {
    errc error = errc::none;
    std::vector<errc> members;
  };
  awaitable<leave_result> leave(std::string group_id, std::vector<group::leaving> who);

  struct commit_entry {
    std::string topic;
    int32_t partition = 0;
    offset_entry value;
    errc error = errc::none;  ///< set by the caller (unknown partition) or by commit()
  };
  struct commit_request {
    std::string member_id;
    std::optional<std::string> instance_id;
    int32_t generation = -1;
    std::vector<commit_entry> entries;
  };
  /// Returns the entries with their outcome.
  awaitable<std::vector<commit_entry>> commit(std::string group_id, commit_request req);

  struct fetched_offsets {
    errc error = errc::none;
    std::vector<std::pair<topic_partition, offset_entry>> offsets;
  };
  /// The committed offsets of the listed partitions (all of them when `which` is empty);
  /// partitions without a commit are left out.
  awaitable<fetched_offsets> fetch_offsets(std::string group_id,
                                           std::optional<std::vector<topic_partition>> which);

  struct description {
    errc error = errc::none;
    group_state state = group_state::dead;
    std::string protocol_type;
    std::string protocol;
    std::vector<member_snapshot> members;
  };
  awaitable<description> describe(std::string group_id);

  struct listed {
    std::string group_id;
    std::string protocol_type;
    group_state state = group_state::empty;
  };
  struct listing {
    errc error = errc::none;
    std::vector<listed> groups;
  };
  awaitable<listing> list();
  /// Groups as monitoring sees them: state, members and committed offsets.
  struct group_info {
    std::string group_id;
    group_state state = group_state::empty;
    size_t members = 0;
    std::vector<std::pair<topic_partition, int64_t>> offsets;
  };
  awaitable<std::vector<group_info>> group_infos();
  awaitable<errc> delete_group(std::string group_id);
  struct offset_delete_result {
    errc error = errc::none;
    std::vector<errc> partitions;
  };
  awaitable<offset_delete_result> delete_offsets(std::string group_id,
                                                 std::vector<topic_partition> which);

 private:
  struct partition_state;
  struct shard_state;
  struct load_progress;

  [[nodiscard]] model::ntp ntp_of(int32_t partition) const;
  [[nodiscard]] size_t shard_of_group(std::string_view group_id) const;
  /// The state of an offsets partition on this shard, starting its replay on first use.
  /// `err` is set when it cannot serve (missing topic, still loading).
  partition_state* state_for(int32_t partition, errc& err);
  std::shared_ptr<group> find_group(std::string_view group_id, errc& err);
  std::shared_ptr<group> make_group(partition_state& ps, const std::string& group_id);
  /// Drops `g` from its partition when it holds nothing (group::unused). On its shard.
  void forget_if_unused(const std::string& group_id, const std::shared_ptr<group>& g);
  /// Appends records (value nullopt = tombstone) to an offsets partition and waits until they
  /// are durable. With `whole`, they go in one batch, or nothing is written when that batch
  /// would be larger than the partition takes (commit_too_large); otherwise in batches of a
  /// bounded count. On the partition's shard.
  awaitable<errc> write(int32_t partition,
                        std::vector<std::pair<bytes, std::optional<bytes>>> records,
                        bool whole = false);
  /// Replays an offsets partition into its groups; `generation` names the partition_state
  /// it fills (dropped when the leadership moved meanwhile).
  static awaitable<void> load(coordinator* self, int32_t partition, uint64_t generation);
  using record_fn = std::function<void(std::span<const std::byte> key,
                                       const std::optional<std::span<const std::byte>>& value)>;
  /// Calls `fn` for each keyed record of an offsets partition from its log start up to `end`
  /// (the high watermark as it moves when nullopt), in order, between chunks letting other
  /// work of the shard run. False when the log could not be read through.
  static awaitable<bool> replay(coordinator* self, int32_t partition,
                                std::optional<model::kafka_next_offset> end, record_fn fn);
  /// Starts the compaction of the replicated offsets partitions of `shard` that grew enough.
  void maybe_checkpoint(size_t shard);
  /// Compacts a replicated offsets partition: its Raft snapshot's state and its committed
  /// records become one state (the newest value of each key) in a new snapshot, and the log
  /// before it goes. Every replica does it for itself.
  static awaitable<void> checkpoint(coordinator* self, int32_t partition);
  /// Drops the groups of an offsets partition (this node no longer coordinates them): their
  /// held requests are answered NOT_COORDINATOR.
  void unload(shard_state& ss, int32_t partition);
  /// Brings the offsets partitions of `shard` in line with their leadership: loads those it
  /// leads, unloads the others.
  void follow_leadership(size_t shard);
  static awaitable<void> tick_loop(coordinator* self, size_t shard);
  void tick_shard(size_t shard);
  static awaitable<void> write_detached(
      coordinator* self, int32_t partition,
      std::vector<std::pair<bytes, std::optional<bytes>>> records);
  static awaitable<void> expire_group(coordinator* self, int32_t partition,
                                      std::shared_ptr<group> g);
  /// Runs `work` on `shard` (that of a group's offsets partition) through the runtime's
  /// invoke_on; completes on the caller's executor.
  template <typename T>
  awaitable<T> on_shard(size_t shard, awaitable<T> work);

  // The bodies of the public operations, on the group's shard.
  static awaitable<join_result> join_here(coordinator* self, std::string group_id,
                                          join_request req);
  static awaitable<sync_result> sync_here(coordinator* self, std::string group_id,
                                          sync_request req);
  static awaitable<std::vector<commit_entry>> commit_here(coordinator* self, std::string group_id,
                                                          commit_request req);
  static awaitable<errc> delete_group_here(coordinator* self, std::string group_id);
  static awaitable<offset_delete_result> delete_offsets_here(coordinator* self,
                                                             std::string group_id,
                                                             std::vector<topic_partition> which);

  cluster::partition_manager& partitions_;
  cluster::topics_frontend& frontend_;
  const cluster::topic_table& topics_;
  options opts_;
  clock& clock_;
  net::sharded<shard_state> shards_;
};

}  // namespace strom::groups
