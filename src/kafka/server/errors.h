#pragma once

#include "strom/base/result.h"
#include "strom/cluster/topic_table.h"
#include "strom/groups/errc.h"
#include "strom/kafka/protocol/error_code.h"
#include "strom/model/ntp.h"

namespace strom::kafka::server {

/// The one place where Strom's internal errors become Kafka error codes.
protocol::error_code to_kafka_error(const error& e);
protocol::error_code to_kafka_error(groups::errc e);
/// The error for a partition this broker has no object for: `e` as it is, unless it is
/// UNKNOWN_TOPIC_OR_PARTITION and the topic has that partition (on another broker, or not
/// made here yet): then NOT_LEADER_OR_FOLLOWER, so that the client refreshes its metadata
/// and goes to the broker that leads it.
protocol::error_code missing_partition(const cluster::topic_table& topics, const model::ntp& n,
                                       protocol::error_code e);
/// A request's `current_leader_epoch` against the partition's (KIP-320): -1 is not checked;
/// older is FENCED_LEADER_EPOCH (the client's metadata is stale), newer UNKNOWN_LEADER_EPOCH
/// (this broker's is).
protocol::error_code check_leader_epoch(int32_t requested, model::leader_epoch current);

}  // namespace strom::kafka::server
