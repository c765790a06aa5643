#include "kafka/server/errors.h"

#include "strom/cluster/controller_stm.h"
#include "strom/cluster/partition.h"
#include "strom/cluster/producer_state.h"
#include "strom/cluster/topic_config.h"
#include "strom/cluster/topic_table.h"
#include "strom/model/record_batch.h"
#include "strom/storage/errc.h"

namespace strom::kafka::server {

using protocol::error_code;

error_code to_kafka_error(groups::errc e) {
  using groups::errc;
  switch (e) {
    case errc::none:
      return error_code::none;
    case errc::coordinator_load_in_progress:
      return error_code::coordinator_load_in_progress;
    case errc::coordinator_not_available:
      return error_code::coordinator_not_available;
    case errc::not_coordinator:
      return error_code::not_coordinator;
    case errc::invalid_group_id:
      return error_code::invalid_group_id;
    case errc::member_id_required:
      return error_code::member_id_required;
    case errc::unknown_member_id:
      return error_code::unknown_member_id;
    case errc::illegal_generation:
      return error_code::illegal_generation;
    case errc::rebalance_in_progress:
      return error_code::rebalance_in_progress;
    case errc::invalid_session_timeout:
      return error_code::invalid_session_timeout;
    case errc::inconsistent_group_protocol:
      return error_code::inconsistent_group_protocol;
    case errc::fenced_instance_id:
      return error_code::fenced_instance_id;
    case errc::group_max_size_reached:
      return error_code::group_max_size_reached;
    case errc::group_id_not_found:
      return error_code::group_id_not_found;
    case errc::non_empty_group:
      return error_code::non_empty_group;
    case errc::group_subscribed_to_topic:
      return error_code::group_subscribed_to_topic;
    case errc::offset_metadata_too_large:
      return error_code::offset_metadata_too_large;
    case errc::unknown_topic_or_partition:
      return error_code::unknown_topic_or_partition;
    case errc::storage_error:
      // Retriable for clients: they look the coordinator up again and retry.
      return error_code::coordinator_not_available;
    case errc::commit_too_large:
      return error_code::invalid_commit_offset_size;  // as Kafka: the batch is too large
  }
  return error_code::unknown_server_error;
}

error_code to_kafka_error(const error& e) {
  const auto c = e.code();
  if (c.category() == storage::storage_category()) {
    switch (static_cast<storage::errc>(c.value())) {
      case storage::errc::offset_out_of_range:
        return error_code::offset_out_of_range;
      case storage::errc::invalid_batch:
        return error_code::corrupt_message;
      case storage::errc::batch_too_large:
        return error_code::message_too_large;
      case storage::errc::log_dir_offline:
        return error_code::kafka_storage_error;
      case storage::errc::resource_exhausted:
        // Out of descriptors or memory, the directory still online: KAFKA_STORAGE_ERROR is
        // retriable in every client (Java: a retriable InvalidMetadataException; librdkafka
        // and kafka-python refresh metadata and retry), so producers and consumers retry.
        return error_code::kafka_storage_error;
      case storage::errc::stale_epoch:
        return error_code::fenced_leader_epoch;
      case storage::errc::invalid_offset:
        return error_code::offset_out_of_range;
      case storage::errc::log_not_found:
        return error_code::unknown_topic_or_partition;
      case storage::errc::record_without_key:
        return error_code::invalid_record;  // Kafka: "Compacted topic cannot accept message without
                                            // key"
      default:
        return error_code::unknown_server_error;
    }
  }
  if (c.category() == cluster::partition_category()) {
    switch (static_cast<cluster::partition_errc>(c.value())) {
      case cluster::partition_errc::not_leader:
        return error_code::not_leader_or_follower;
      case cluster::partition_errc::not_enough_replicas:
        return error_code::not_enough_replicas;
      case cluster::partition_errc::backpressure:
        return error_code::request_timed_out;
      case cluster::partition_errc::replica_failed:
        return error_code::kafka_storage_error;
      case cluster::partition_errc::unsupported:
        return error_code::policy_violation;
      case cluster::partition_errc::fate_unknown:
        return error_code::not_leader_or_follower;
    }
    return error_code::not_leader_or_follower;
  }
  if (c.category() == model::batch_category()) {
    // As Kafka answers a produced batch (UnifiedLog, LogValidator, DefaultRecord).
    switch (static_cast<model::batch_errc>(c.value())) {
      case model::batch_errc::truncated:
      case model::batch_errc::bad_length:
      case model::batch_errc::bad_crc:
      case model::batch_errc::bad_attributes:
      case model::batch_errc::bad_compression:
        return error_code::corrupt_message;
      case model::batch_errc::bad_magic:
      case model::batch_errc::bad_count:
      case model::batch_errc::invalid_record:
      case model::batch_errc::missing_key:
        return error_code::invalid_record;
      case model::batch_errc::invalid_timestamp:
        return error_code::invalid_timestamp;
      case model::batch_errc::too_large:
        return error_code::message_too_large;
    }
    return error_code::corrupt_message;
  }
  if (c.category() == cluster::topic_category()) {
    switch (static_cast<cluster::topic_errc>(c.value())) {
      case cluster::topic_errc::invalid_name:
      case cluster::topic_errc::reserved_name:
        return error_code::invalid_topic_exception;
      case cluster::topic_errc::exists:
        return error_code::topic_already_exists;
      case cluster::topic_errc::not_found:
        return error_code::unknown_topic_or_partition;
      case cluster::topic_errc::invalid_partitions:
        return error_code::invalid_partitions;
      case cluster::topic_errc::invalid_replication_factor:
        return error_code::invalid_replication_factor;
      case cluster::topic_errc::partition_limit:
        return error_code::policy_violation;
      case cluster::topic_errc::invalid_replica_assignment:
        return error_code::invalid_replica_assignment;
      case cluster::topic_errc::no_reassignment:
        return error_code::no_reassignment_in_progress;
      case cluster::topic_errc::election_not_needed:
        return error_code::election_not_needed;
      case cluster::topic_errc::preferred_leader_unavailable:
        return error_code::preferred_leader_not_available;
      case cluster::topic_errc::unclean_election:
        return error_code::eligible_leaders_not_available;
      case cluster::topic_errc::corrupt_topic_file:
      case cluster::topic_errc::stale_revision:  // the table's own; never reaches a client
        return error_code::unknown_server_error;
    }
  }
  if (c.category() == cluster::config_category()) {
    return error_code::invalid_config;
  }
  if (c.category() == cluster::controller_category()) {
    switch (static_cast<cluster::controller_errc>(c.value())) {
      case cluster::controller_errc::not_controller:
        return error_code::not_controller;
      case cluster::controller_errc::timeout:
      case cluster::controller_errc::shutting_down:
        return error_code::request_timed_out;
      case cluster::controller_errc::not_found:
        return error_code::resource_not_found;
      default:
        return error_code::unknown_server_error;
    }
  }
  if (c.category() == cluster::producer_category()) {
    switch (static_cast<cluster::producer_errc>(c.value())) {
      case cluster::producer_errc::out_of_order_sequence:
        return error_code::out_of_order_sequence_number;
      case cluster::producer_errc::invalid_producer_epoch:
        return error_code::invalid_producer_epoch;
      case cluster::producer_errc::invalid_sequence:
        return error_code::invalid_record;
    }
  }
  return error_code::unknown_server_error;
}

error_code check_leader_epoch(int32_t requested, model::leader_epoch current) {
  if (requested < 0)
    return error_code::none;
  if (requested < current.value())
    return error_code::fenced_leader_epoch;
  if (requested > current.value())
    return error_code::unknown_leader_epoch;
  return error_code::none;
}

error_code missing_partition(const cluster::topic_table& topics, const model::ntp& n,
                             error_code e) {
  if (e != error_code::unknown_topic_or_partition)
    return e;
  auto snap = topics.snapshot();
  auto it = snap->find(n.topic);
  if (it != snap->end() && n.partition.value() >= 0 && n.partition.value() < it->second.partitions)
    return error_code::not_leader_or_follower;
  return e;
}

}  // namespace strom::kafka::server
