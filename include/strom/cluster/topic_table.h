#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "strom/base/result.h"
#include "strom/base/strong_type.h"
#include "strom/cluster/topic_config.h"
#include "strom/model/ntp.h"

namespace strom::cluster {

/// A Kafka topic id: 16 bytes (a UUID); all zero means none.
using topic_uuid = std::array<std::byte, 16>;

struct topic_metadata {
  std::string name;
  int32_t partitions = 1;
  int16_t replication_factor = 1;
  topic_configs configs;
  /// The topic's id, given at creation (zero for a topic created before ids existed; the
  /// controller gives it one when it adopts it).
  topic_uuid id{};
  /// In a cluster: the replicas of each partition (broker ids, the first one the leader), one
  /// list per partition. Empty on a single-node broker (every partition is on it), which also
  /// marks a topic a broker had before it joined a cluster.
  std::vector<std::vector<int32_t>> replicas{};
  /// In a cluster: the partitions being moved (reassignment), each with the replicas it moves
  /// to. `replicas` holds the ones it moves from until the move completes; both sets hold a
  /// replica meanwhile.
  std::map<int32_t, std::vector<int32_t>> moving{};

  /// Whether partition `p` has a replica on `node` (always, without an assignment or a node):
  /// one of its replicas, or of those a move in flight adds.
  [[nodiscard]] bool hosted_on(int32_t p, std::optional<int32_t> node) const {
    if (replicas.empty() || !node)
      return true;
    if (p < 0 || static_cast<size_t>(p) >= replicas.size())
      return false;
    const auto& r = replicas[static_cast<size_t>(p)];
    if (std::find(r.begin(), r.end(), *node) != r.end())
      return true;
    auto m = moving.find(p);
    return m != moving.end() &&
           std::find(m->second.begin(), m->second.end(), *node) != m->second.end();
  }
  /// The replicas partition `p` has, or will have once its move completes (the first one
  /// preferred as leader); empty without an assignment.
  [[nodiscard]] std::vector<int32_t> target_replicas(int32_t p) const {
    if (auto m = moving.find(p); m != moving.end())
      return m->second;
    if (p < 0 || static_cast<size_t>(p) >= replicas.size())
      return {};
    return replicas[static_cast<size_t>(p)];
  }
  /// Whether partition `p` is a Raft group for certain: more than one replica, or a move in
  /// flight. (A partition that a move left with one replica stays a group: readers also take
  /// a leader the controller recorded for it as its leader.)
  [[nodiscard]] bool replicated(int32_t p) const {
    return (p >= 0 && static_cast<size_t>(p) < replicas.size() &&
            replicas[static_cast<size_t>(p)].size() > 1) ||
           moving.contains(p);
  }
  /// Every broker that holds a replica of partition `p` now: its replicas, then the ones a move
  /// in flight adds (what Metadata lists during a move).
  [[nodiscard]] std::vector<int32_t> all_replicas(int32_t p) const {
    std::vector<int32_t> out;
    if (p >= 0 && static_cast<size_t>(p) < replicas.size())
      out = replicas[static_cast<size_t>(p)];
    if (auto m = moving.find(p); m != moving.end()) {
      for (auto b : m->second) {
        if (std::find(out.begin(), out.end(), b) == out.end())
          out.push_back(b);
      }
    }
    return out;
  }
  /// The broker that leads partition `p` (its first replica); nullopt without an assignment.
  [[nodiscard]] std::optional<int32_t> leader_of(int32_t p) const {
    if (p < 0 || static_cast<size_t>(p) >= replicas.size() ||
        replicas[static_cast<size_t>(p)].empty())
      return std::nullopt;
    return replicas[static_cast<size_t>(p)].front();
  }
  bool operator==(const topic_metadata&) const = default;
};

using topic_map = std::map<std::string, topic_metadata, std::less<>>;

/// The name of the topic of `topics` whose id is `id` (never for the zero id).
inline std::optional<std::string> find_topic_by_id(const topic_map& topics, const topic_uuid& id) {
  if (id == topic_uuid{})
    return std::nullopt;
  for (const auto& [name, t] : topics) {
    if (t.id == id)
      return name;
  }
  return std::nullopt;
}

enum class topic_errc {
  invalid_name = 1,
  exists,
  not_found,
  invalid_partitions,
  invalid_replication_factor,
  reserved_name,
  /// The broker's partition limit would be exceeded (Kafka: POLICY_VIOLATION).
  partition_limit,
  /// A topic file on disk cannot be read back.
  corrupt_topic_file,
  /// A topic change at a revision the topic table has already passed (topic_table::apply).
  stale_revision,
  /// A replica assignment that cannot be: no replica, a broker twice, an unknown broker
  /// (Kafka: INVALID_REPLICA_ASSIGNMENT).
  invalid_replica_assignment,
  /// A cancellation of a partition move when none is in flight (Kafka:
  /// NO_REASSIGNMENT_IN_PROGRESS).
  no_reassignment,
  /// ElectLeaders of a partition its preferred replica leads already (Kafka:
  /// ELECTION_NOT_NEEDED).
  election_not_needed,
  /// ElectLeaders of a partition whose preferred replica is down (Kafka:
  /// PREFERRED_LEADER_NOT_AVAILABLE).
  preferred_leader_unavailable,
  /// An unclean leader election: a Raft group elects only a replica holding every committed
  /// write (Kafka: ELIGIBLE_LEADERS_NOT_AVAILABLE).
  unclean_election,
};
const std::error_category& topic_category();
inline std::error_code make_error_code(topic_errc e) {
  return {static_cast<int>(e), topic_category()};
}

/// The most replicas a partition has (each is a Raft voter: more only slow the commit down).
inline constexpr int16_t max_replication_factor = 7;

/// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
status validate_topic_name(std::string_view name);
/// Kafka's longest topic name.
inline constexpr size_t max_topic_name_bytes = 249;
/// No topic ever has more partitions, whatever the configuration: the partition directory
/// `<topic>-<partition>` of a 249-character name and partition 99999 is 255 bytes, the
/// longest name a Linux file system accepts.
inline constexpr int32_t max_partitions_hard_limit = 100000;
/// Names starting with "__" are internal (e.g. __consumer_offsets).
inline bool is_internal_topic(std::string_view name) {
  return name.starts_with("__");
}

/// The position of a topic change in the sequence of changes the topic table applies. Today
/// the topics front end numbers its changes from the table's revision at start-up (0); with
/// replication it is the index of the command in the controller log.
using topic_revision = strong_type<int64_t, struct topic_revision_tag>;

/// The changes the topic table applies (topic_table::apply). Each names the state it leads
/// to, not a delta to compute, so applying one needs nothing but the table.
struct create_topic_cmd {
  topic_metadata topic;
};
struct delete_topic_cmd {
  std::string name;
};
/// Raises a topic's partition count to `partitions` (and, in a cluster, sets the replicas of
/// every partition to `replicas` when it is not empty).
struct create_partitions_cmd {
  std::string name;
  int32_t partitions = 0;
  std::vector<std::vector<int32_t>> replicas{};
};
/// Replaces a topic's whole description (a cluster adopting a topic a broker had before it
/// joined: the id and the assignment change, the data stays).
struct replace_topic_cmd {
  topic_metadata topic;
};
/// Replaces a topic's config overrides with `configs`.
struct set_topic_configs_cmd {
  std::string name;
  topic_configs configs;
};
using topic_command = std::variant<create_topic_cmd, delete_topic_cmd, create_partitions_cmd,
                                   set_topic_configs_cmd, replace_topic_cmd>;

/// The topics of the cluster as this node knows them: names, partition counts, replication
/// factors, config overrides. A view that moves only forward, through apply(): commands in
/// revision order, each applied at most once. The table holds no files and does no I/O:
/// today the topics front end feeds it each change after the change's topic file committed
/// it (topic_store); with replication the controller's state machine feeds it the commands of
/// the controller log.
/// Thread-safe: apply() serialises on a mutex; readers on any thread take an immutable
/// snapshot (copy-on-write).
class topic_table {
 public:
  /// An empty table at revision 0.
  topic_table() = default;
  /// The table holding `topics` at revision 0: the state at start-up (topic_store::load).
  explicit topic_table(topic_map topics)
      : topics_(std::make_shared<const topic_map>(std::move(topics))) {}
  topic_table(const topic_table&) = delete;
  topic_table& operator=(const topic_table&) = delete;

  [[nodiscard]] std::shared_ptr<const topic_map> snapshot() const;
  /// The revision of the last command applied (0 when none was).
  [[nodiscard]] topic_revision revision() const;
  /// True when `n`'s topic exists and has more than n.partition partitions.
  [[nodiscard]] bool claims(const model::ntp& n) const;

  /// Applies `cmd` as the change at revision `rev`.
  ///
  /// A revision at or below revision() is already applied: the command is refused with
  /// topic_errc::stale_revision and nothing changes, so delivering a change twice (a replay)
  /// never applies it twice. Revisions may skip numbers (a controller log holds other
  /// commands too).
  ///
  /// At a new revision the command is checked against the table and refused, changing no
  /// topic, when it does not fit: create of a name that exists (exists), delete, create
  /// partitions or set configs of a name that does not (not_found), a partition count outside
  /// 1..max_partitions_hard_limit or, for create partitions, not larger than the current one
  /// (invalid_partitions). Refused or not, the command is consumed: the revision becomes
  /// `rev`, so replicas applying the same commands in the same order reach the same table and
  /// revision. Otherwise: create adds the topic, delete removes it, create partitions raises
  /// the count, set configs replaces the overrides. Names, replication factors and config
  /// values are the front end's to check.
  status apply(topic_revision rev, const topic_command& cmd);

 private:
  /// The topics after `cmd`, or why `cmd` does not fit `topics`.
  static result<topic_map> next_state(const topic_map& topics, const topic_command& cmd);

  mutable std::mutex mu_;  // guards topics_ (the pointer) and revision_
  std::shared_ptr<const topic_map> topics_ = std::make_shared<const topic_map>();
  topic_revision revision_{0};
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::topic_errc> : std::true_type {};
