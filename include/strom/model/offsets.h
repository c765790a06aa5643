#pragma once

#include <cstdint>

#include "strom/base/strong_type.h"

namespace strom::model {

/// The offset of one Kafka record (inclusive position). Starts at 0.
using kafka_offset = strong_type<int64_t, struct kafka_offset_tag>;

/// An exclusive Kafka offset: "the next offset", as in log end offset, high watermark or
/// last stable offset. Distinct from kafka_offset so the two can't be mixed up: the off-by-one
/// between them was the root of real aborted-read bugs in other brokers.
using kafka_next_offset = strong_type<int64_t, struct kafka_next_offset_tag>;

/// The leader epoch (Raft term) stamped into every batch's partitionLeaderEpoch.
using leader_epoch = strong_type<int32_t, struct leader_epoch_tag>;

/// The position of an entry in a partition's Raft log (inclusive). Every entry that Raft
/// replicates has one: a data batch covering N Kafka offsets spans N consecutive indexes,
/// an internal entry (term start, configuration, prefix truncation) one. Where both exist,
/// raft_index = kafka_offset + delta, and the delta changes only at internal entries. A
/// raft_index converts to a Kafka offset (and back) only through a log's offset map
/// (storage::offset_map): the two coordinates are never mixed by arithmetic elsewhere.
using raft_index = strong_type<int64_t, struct raft_index_tag>;
/// The Raft term. It is the leader epoch (raft-design §2.5): one type, one value.
using raft_term = leader_epoch;

using node_id = strong_type<int32_t, struct node_id_tag>;
using partition_id = strong_type<int32_t, struct partition_id_tag>;

/// The exclusive offset just after `o`.
[[nodiscard]] constexpr kafka_next_offset next(kafka_offset o) {
  return kafka_next_offset(o.value() + 1);
}
/// The first offset at or after an exclusive position.
[[nodiscard]] constexpr kafka_offset first_at(kafka_next_offset n) {
  return kafka_offset(n.value());
}
/// The last offset before an exclusive position. REQUIRES: n > 0.
[[nodiscard]] constexpr kafka_offset last_before(kafka_next_offset n) {
  return kafka_offset(n.value() - 1);
}

}  // namespace strom::model
