// Partition reassignment for stromctl (`partition move`, `reassignments`, `topic alter
// --replication-factor`, and replication factor changes in `apply`) and preferred leader
// elections (`partition elect-leaders`): the values operators type, the new replica lists of a
// replication factor change, the text of an election's outcome and the progress of a move from
// log sizes. Pure: no I/O, no librdkafka; unit-tested.
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

/// The partition log sizes one broker reported (DescribeLogDirs).
struct broker_log_sizes {
  /// (topic, partition) -> bytes on disk of the partition's log on the broker.
  std::map<std::pair<std::string, int32_t>, int64_t> sizes;
  /// False when one of the broker's log directories could not be read (offline): a partition it
  /// does not list may still be there.
  bool complete = true;
};
/// Broker id -> what it reported; a broker that did not answer has no entry.
using log_size_reports = std::map<int32_t, broker_log_sizes>;

/// How far a partition move has copied the partition, estimated from log sizes.
struct move_progress {
  std::optional<int64_t> copied_bytes;  ///< on the least advanced replica being added
  std::optional<int64_t> leader_bytes;  ///< on the partition's leader
  std::optional<double> percent;        ///< 0 to 100; nullopt: unknown
  friend bool operator==(const move_progress&, const move_progress&) = default;
};

/// `copied` of `leader` bytes as a percentage rounded down to one decimal (so 100 only once
/// caught up): 100 when the leader holds nothing or `copied` is larger (compaction, retention
/// and segment boundaries make replicas differ), 0 for a negative `copied`.
double progress_percent(int64_t copied, int64_t leader);

/// The size of the partition's log on a replica being added, from `reports`: the size listed;
/// 0 when its broker answered for every directory and lists none (no log yet); nullopt when the
/// broker did not answer or a directory of it could not be read.
std::optional<int64_t> added_replica_size(const log_size_reports& reports, int32_t broker,
                                          const std::string& topic, int32_t partition);

/// The progress of a move of `topic`/`partition` that adds the replicas `adding`: the bytes on
/// the least advanced of them (unknown when any of them is unknown), the bytes on `leader`
/// (unknown without a leader, when its broker did not answer or does not list the partition),
/// and the percentage of both when both are known. A move that adds no replica has nothing left
/// to copy: 100 %, the leader's size as copied.
move_progress estimate_move_progress(const std::string& topic, int32_t partition,
                                     std::optional<int32_t> leader,
                                     const std::vector<int32_t>& adding,
                                     const log_size_reports& reports);

/// "42.5%" (one decimal), or "-" when unknown.
std::string format_progress(std::optional<double> percent);
/// The number of bytes, or "-" when unknown.
std::string format_size(std::optional<int64_t> bytes);

}  // namespace strom::ctl
