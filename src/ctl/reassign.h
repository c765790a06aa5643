// Partition reassignment for stromctl (`partition move`, `reassignments`, `topic alter
// --replication-factor`, and replication factor changes in `apply`) and preferred leader
// elections (`partition elect-leaders`): the values operators type, the new replica lists of a
// replication factor change and the text of an election's outcome. Pure: no I/O, no librdkafka;
// unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strom/base/result.h"

namespace strom::ctl {

/// "TOPIC/PARTITION", e.g. "clicks/3": split at the last '/', a non-empty topic and a
/// partition from 0 to INT32_MAX.
result<std::pair<std::string, int32_t>> parse_topic_partition(std::string_view text);

/// "1,2,3": one or more broker ids from 0 to INT32_MAX, none twice, the first the preferred
/// leader.
result<std::vector<int32_t>> parse_replica_list(std::string_view text);

/// A broker id as an operator types it: a whole number from 0 to INT32_MAX.
result<int32_t> parse_broker_id(std::string_view text);

/// "TOPIC" (every partition of the topic) or "TOPIC/PARTITION" (one), as
/// `partition elect-leaders` takes them.
struct partition_selector {
  std::string topic;
  std::optional<int32_t> partition;  ///< nullopt: every partition
  friend bool operator==(const partition_selector&, const partition_selector&) = default;
};
/// A text with a '/' is TOPIC/PARTITION (parse_topic_partition), one without a whole topic.
result<partition_selector> parse_partition_selector(std::string_view text);

/// Partitions of one topic, as a request names them.
struct topic_partitions {
  std::string topic;
  std::vector<int32_t> partitions;
  friend bool operator==(const topic_partitions&, const topic_partitions&) = default;
};
/// The partitions `selectors` name: TOPIC/PARTITION as given, TOPIC as partitions 0 to its
/// count in `partition_counts` (topic -> partitions, from Metadata); the topics in the order
/// first named, each partition once. A TOPIC `partition_counts` lacks is an error saying that it
/// does not exist.
result<std::vector<topic_partitions>> expand_partition_selectors(
    const std::vector<partition_selector>& selectors,
    const std::map<std::string, int32_t>& partition_counts);

/// The broker's answer for one partition of an ElectLeaders request.
struct election_outcome {
  static constexpr int16_t election_not_needed = 84;  ///< ELECTION_NOT_NEEDED: it leads already
  std::string topic;
  int32_t partition = 0;
  int16_t error_code = 0;
  std::string error_name;  ///< "NONE", "PREFERRED_LEADER_NOT_AVAILABLE", ...
  std::string message;     ///< the broker's message, or empty
  /// Neither elected nor led by its preferred replica already.
  [[nodiscard]] bool failed() const { return error_code != 0 && error_code != election_not_needed; }
};
/// "elected" (no error), "not needed" (ELECTION_NOT_NEEDED), else "ERROR_NAME: message" (the
/// name alone without a message).
std::string election_result_text(const election_outcome& o);

/// "1,2,3", or "-" for none.
std::string format_replica_list(const std::vector<int32_t>& ids);

/// One partition's replicas.
struct partition_replicas {
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  friend bool operator==(const partition_replicas&, const partition_replicas&) = default;
};

/// The replica lists that give every partition of a topic `replication_factor` replicas, for
/// the partitions whose list changes (in the order of `current`). Each list keeps its replicas
/// in order: growing appends, one at a time, the live broker it lacks that holds the fewest
/// replicas of the topic (counting the lists as they change; the lowest id on a tie); shrinking
/// drops replicas from the end. `current` holds every partition of the topic (for a partition
/// being moved, the replicas it moves to); `live_brokers` the brokers that can take a replica.
/// A factor below 1, or a partition that would need more live brokers than there are, is an
/// error saying so.
result<std::vector<partition_replicas>> replicas_for_factor(
    const std::vector<partition_replicas>& current, const std::vector<int32_t>& live_brokers,
    int32_t replication_factor);

}  // namespace strom::ctl
