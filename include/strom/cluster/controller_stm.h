#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "strom/base/copy_on_write.h"
#include "strom/base/result.h"
#include "strom/cluster/security_state.h"
#include "strom/cluster/topic_table.h"

namespace strom::cluster {

/// What a broker tells the controller about itself when it registers.
struct broker_registration {
  int32_t id = 0;
  /// The advertised address of its Kafka client listener (what Metadata lists).
  std::string host;
  int32_t port = 0;
  /// The address of its internal (inter-broker RPC) listener.
  std::string internal_host;
  int32_t internal_port = 0;
  std::optional<std::string> rack;
  friend bool operator==(const broker_registration&, const broker_registration&) = default;
};

/// A registered broker. A fenced broker missed its heartbeats: it is reported down, left out
/// of Metadata and given no new replicas, until it heartbeats again.
struct broker_record {
  broker_registration reg;
  bool fenced = false;
  /// Being decommissioned (decommission_broker_cmd): it gets no new replicas, and the
  /// controller leader moves the ones it holds to other brokers.
  bool decommissioned = false;
  friend bool operator==(const broker_record&, const broker_record&) = default;
};

// The controller commands. Each names the state it leads to, so that applying one needs nothing
// but the state machine, and applying the same commands in the same order gives the same state
// on every broker.

/// Written once by the first controller leader: the cluster's id.
struct bootstrap_cmd {
  std::string cluster_id;
  friend bool operator==(const bootstrap_cmd&, const bootstrap_cmd&) = default;
};
/// Adds a broker or replaces its registration (a restart with new listeners); unfences it.
struct register_broker_cmd {
  broker_registration reg;
  friend bool operator==(const register_broker_cmd&, const register_broker_cmd&) = default;
};
/// Fences or unfences a registered broker.
struct fence_broker_cmd {
  int32_t id = 0;
  bool fenced = true;
  friend bool operator==(const fence_broker_cmd&, const fence_broker_cmd&) = default;
};
/// Reserves the next `count` producer ids for `broker` (the block starts at the state
/// machine's next producer id, which the command moves past it).
struct allocate_producer_ids_cmd {
  int32_t broker = 0;
  int64_t count = 0;
  friend bool operator==(const allocate_producer_ids_cmd&,
                         const allocate_producer_ids_cmd&) = default;
};
/// Raises the next producer id to at least `next` (the import of a single-node broker's block).
struct producer_id_floor_cmd {
  int64_t next = 0;
  friend bool operator==(const producer_id_floor_cmd&, const producer_id_floor_cmd&) = default;
};

/// Creates a topic: a new name, a new non-zero id, and one replica list per partition.
struct add_topic_cmd {
  topic_metadata topic;
  friend bool operator==(const add_topic_cmd&, const add_topic_cmd&) = default;
};
/// Deletes the topic `name` if its id is `id`.
struct remove_topic_cmd {
  std::string name;
  topic_uuid id{};
  friend bool operator==(const remove_topic_cmd&, const remove_topic_cmd&) = default;
};
/// Adds partitions to topic `name` (id `id`): one replica list per new partition.
struct add_partitions_cmd {
  std::string name;
  topic_uuid id{};
  std::vector<std::vector<int32_t>> added;
  friend bool operator==(const add_partitions_cmd&, const add_partitions_cmd&) = default;
};
/// Replaces the config overrides of topic `name` (id `id`).
struct update_topic_configs_cmd {
  std::string name;
  topic_uuid id{};
  topic_configs configs;
  friend bool operator==(const update_topic_configs_cmd&,
                         const update_topic_configs_cmd&) = default;
};

/// A change of the cluster-wide defaults of the broker-level configs (by their broker names,
/// "log.retention.ms"): what topics without an override of their own use on every broker
/// (Kafka's dynamic default broker configs). `replace`: `set` becomes the whole set
/// (AlterConfigs); otherwise `set` is merged in and `remove` taken out (IncrementalAlterConfigs,
/// applied in log order, so concurrent changes of different names never undo each other).
struct set_cluster_configs_cmd {
  topic_configs set;
  std::vector<std::string> remove;
  bool replace = true;
  friend bool operator==(const set_cluster_configs_cmd&, const set_cluster_configs_cmd&) = default;
};

/// A replicated partition's leader as its Raft group elected it: `leader` leads partition
/// `partition` of topic `name` (id `id`) in `term` (the partition's leader epoch). Taken only
/// when `term` is above the one recorded (a report of an older election changes nothing), so
/// the leader epochs every broker hands out never go backwards.
struct partition_leader_cmd {
  std::string name;
  topic_uuid id{};
  int32_t partition = 0;
  int32_t leader = 0;
  int64_t term = 0;
  friend bool operator==(const partition_leader_cmd&, const partition_leader_cmd&) = default;
};

/// The replicas in sync as a partition's leader counts them (Kafka's ISR, which AlterPartition
/// reports): `leader`, leading partition `partition` of topic `name` (id `id`) in `term`,
/// holds the brokers `isr` in sync, itself included. Taken only from the leader recorded for
/// that term (a report of an older term, or of a leadership not yet recorded, changes
/// nothing); every broker answers Metadata with it.
struct partition_isr_cmd {
  std::string name;
  topic_uuid id{};
  int32_t partition = 0;
  int32_t leader = 0;
  int64_t term = 0;
  std::vector<int32_t> isr;
  friend bool operator==(const partition_isr_cmd&, const partition_isr_cmd&) = default;
};

/// Starts moving partition `partition` of topic `name` (id `id`) to the replicas `target`
/// (the first one preferred as leader), replacing a move in flight; an empty `target` cancels
/// the move in flight (the partition keeps the replicas it had). A move to the replicas the
/// partition has ends the one in flight, if any. The partition's leader carries the move out
/// and reports its end with finish_move_cmd.
struct move_partition_cmd {
  std::string name;
  topic_uuid id{};
  int32_t partition = 0;
  std::vector<int32_t> target;
  friend bool operator==(const move_partition_cmd&, const move_partition_cmd&) = default;
};
/// The move of partition `partition` of topic `name` (id `id`) to `replicas` completed: its
/// Raft group's voters are those replicas. Taken only while that is the move in flight (a
/// report of a move replaced or cancelled meanwhile changes nothing).
struct finish_move_cmd {
  std::string name;
  topic_uuid id{};
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  friend bool operator==(const finish_move_cmd&, const finish_move_cmd&) = default;
};

/// Decommissions broker `id` (`on`), or takes it back (recommission): a decommissioned broker
/// is given no new replica, and the controller leader moves every replica it holds elsewhere.
struct decommission_broker_cmd {
  int32_t id = 0;
  bool on = true;
  friend bool operator==(const decommission_broker_cmd&, const decommission_broker_cmd&) = default;
};
/// ElectLeaders (preferred): partitions `partitions` of topic `name` (id `id`) are to be led by
/// their preferred replica (the first of their assignment). Each stays asked for until the
/// controller records that replica as its leader; meanwhile its leader hands the leadership
/// over as soon as that replica holds the whole log.
struct elect_preferred_cmd {
  std::string name;
  topic_uuid id{};
  std::vector<int32_t> partitions;
  friend bool operator==(const elect_preferred_cmd&, const elect_preferred_cmd&) = default;
};

using controller_command =
    std::variant<bootstrap_cmd, register_broker_cmd, fence_broker_cmd, allocate_producer_ids_cmd,
                 producer_id_floor_cmd, add_topic_cmd, remove_topic_cmd, add_partitions_cmd,
                 update_topic_configs_cmd, set_cluster_configs_cmd, partition_leader_cmd,
                 move_partition_cmd, finish_move_cmd, decommission_broker_cmd, elect_preferred_cmd,
                 upsert_scram_cmd, delete_scram_cmd, create_acls_cmd, delete_acls_cmd,
                 alter_quotas_cmd, partition_isr_cmd>;

/// Partitions by topic name and index.
using partition_set = std::set<std::pair<std::string, int32_t>>;

/// The elected leader of a replicated partition and its term (leader epoch), and the brokers
/// in sync as that leader last reported them (partition_isr_cmd; empty: none reported in this
/// term), in id order.
struct partition_leader {
  int32_t leader = -1;
  int64_t term = 0;
  std::vector<int32_t> isr;
  friend bool operator==(const partition_leader&, const partition_leader&) = default;
};
/// The leaders of the replicated partitions, by topic name and partition.
using leader_map = std::map<std::pair<std::string, int32_t>, partition_leader>;

/// Why a command was refused (it was still consumed: the applied index moved).
enum class controller_errc {
  /// The cluster id is set already.
  already_bootstrapped = 1,
  /// A command names a broker that never registered.
  unknown_broker,
  /// A field is outside what the state machine accepts (a negative count, an empty id).
  invalid_command,
  /// The bytes are not a command or a snapshot of this format.
  corrupt,
  /// This broker is not the controller leader (or none is known).
  not_controller,
  /// The controller did not answer within the request's time.
  timeout,
  /// The broker is stopping.
  shutting_down,
  /// The command names something that does not exist (a user's credential).
  not_found,
};
const std::error_category& controller_category();
inline std::error_code make_error_code(controller_errc e) {
  return {static_cast<int>(e), controller_category()};
}

/// The encoding of one command (docs/storage-format.md, "Controller log"): a format version,
/// a command type, then its fields. decode() checks every length before it uses it.
std::vector<std::byte> encode(const controller_command& c);
result<controller_command> decode_command(std::span<const std::byte> in);

/// The controller's state machine: the cluster id, the brokers and their liveness, the next
/// producer id, the topics (ids, partitions, replica assignment, configs). Pure and deterministic:
/// apply() is the only way the state moves, and two state machines fed the same commands at the
/// same indexes are equal (operator==), snapshots included. Owned by the controller's thread;
/// others read copies.
class controller_stm {
 public:
  /// Applies `cmd`, the entry at Raft index `index` of the controller log. Indexes at or
  /// below applied_index() were applied already and change nothing (a replay). A command
  /// that does not fit the state is refused (a controller_errc, or a topic_errc for topic
  /// commands: exists, not_found, invalid_partitions, invalid_name) and changes nothing but
  /// applied_index(). Returns the command's value: for allocate_producer_ids_cmd the first id
  /// of the block; 0 otherwise.
  result<int64_t> apply(int64_t index, const controller_command& cmd);

  [[nodiscard]] int64_t applied_index() const { return applied_; }
  [[nodiscard]] const std::string& cluster_id() const { return cluster_id_; }
  [[nodiscard]] const std::map<int32_t, broker_record>& brokers() const { return brokers_; }
  [[nodiscard]] int64_t next_producer_id() const { return next_producer_id_; }
  /// Copy-on-write: a command that changes topics replaces the map.
  [[nodiscard]] const std::shared_ptr<const topic_map>& topics() const { return topics_; }
  /// The cluster-wide config defaults (set_cluster_configs_cmd).
  [[nodiscard]] const topic_configs& cluster_configs() const { return cluster_configs_; }
  /// The replicated partitions' leaders (partition_leader_cmd), as they are now: later
  /// commands do not change what this returns. The commands applied between two calls copy
  /// the map once (a report of one leader does not copy every partition's).
  [[nodiscard]] std::shared_ptr<const leader_map> leaders() const { return leaders_.share(); }
  /// By topic name, the highest leader epoch a deleted topic of that name reached: a topic
  /// created again under the name starts its partitions' terms there, so that the epochs
  /// clients saw for the name never go backwards.
  [[nodiscard]] const std::map<std::string, int64_t>& epoch_floors() const { return epoch_floors_; }
  /// The partitions asked to be led by their preferred replica (elect_preferred_cmd) that are
  /// not yet. Copy-on-write.
  [[nodiscard]] const std::shared_ptr<const partition_set>& preferred_elections() const {
    return elections_;
  }
  /// Users and their credentials (upsert_scram_cmd, delete_scram_cmd). Copy-on-write.
  [[nodiscard]] const std::shared_ptr<const security_state>& security() const { return security_; }

  /// The whole state, as of applied_index().
  [[nodiscard]] std::vector<std::byte> snapshot() const;
  /// A state machine holding what `snapshot()` returned.
  static result<controller_stm> restore(std::span<const std::byte> in);

  friend bool operator==(const controller_stm& a, const controller_stm& b) {
    return a.applied_ == b.applied_ && a.cluster_id_ == b.cluster_id_ && a.brokers_ == b.brokers_ &&
           a.next_producer_id_ == b.next_producer_id_ && *a.topics_ == *b.topics_ &&
           a.cluster_configs_ == b.cluster_configs_ && *a.leaders_ == *b.leaders_ &&
           a.epoch_floors_ == b.epoch_floors_ && *a.elections_ == *b.elections_ &&
           *a.security_ == *b.security_;
  }

 private:
  result<int64_t> apply_topic(const add_topic_cmd& c);
  result<int64_t> apply_topic(const remove_topic_cmd& c);
  result<int64_t> apply_topic(const add_partitions_cmd& c);
  result<int64_t> apply_topic(const update_topic_configs_cmd& c);
  result<int64_t> apply_topic(const partition_leader_cmd& c);
  result<int64_t> apply_topic(const partition_isr_cmd& c);
  result<int64_t> apply_topic(const move_partition_cmd& c);
  result<int64_t> apply_topic(const finish_move_cmd& c);
  result<int64_t> apply_topic(const elect_preferred_cmd& c);
  /// Drops the elections asked for `name`'s partitions that `keep` refuses.
  template <typename Keep>
  void prune_elections(const std::string& name, Keep keep);

  int64_t applied_ = 0;
  std::string cluster_id_;
  topic_configs cluster_configs_;
  std::map<int32_t, broker_record> brokers_;
  int64_t next_producer_id_ = 0;
  std::shared_ptr<const topic_map> topics_ = std::make_shared<const topic_map>();
  copy_on_write<leader_map> leaders_;
  std::map<std::string, int64_t> epoch_floors_;
  std::shared_ptr<const partition_set> elections_ = std::make_shared<const partition_set>();
  std::shared_ptr<const security_state> security_ = std::make_shared<const security_state>();
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::controller_errc> : std::true_type {};
