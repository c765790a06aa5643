#pragma once

#include <cstdint>
#include <string_view>

namespace strom::groups {

/// Outcomes of group and offset operations; kafka/server maps each to a Kafka error code.
enum class errc : uint8_t {
  none = 0,
  coordinator_load_in_progress,  ///< the offsets partition is being replayed
  coordinator_not_available,     ///< the group is dead or the offsets topic is unusable
  not_coordinator,               ///< this node does not own the group's offsets partition
  invalid_group_id,
  member_id_required,  ///< a v4+ join without a member id: rejoin with the id handed out
  unknown_member_id,
  illegal_generation,
  rebalance_in_progress,
  invalid_session_timeout,
  inconsistent_group_protocol,
  fenced_instance_id,  ///< another member owns this group.instance.id
  group_max_size_reached,
  group_id_not_found,
  non_empty_group,
  group_subscribed_to_topic,
  offset_metadata_too_large,
  unknown_topic_or_partition,
  storage_error,  ///< writing the offsets topic failed
  /// An OffsetCommit whose records do not fit in one batch of the offsets topic.
  commit_too_large,
};

std::string_view to_string(errc e);

}  // namespace strom::groups
