#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>

#include "strom/base/result.h"
#include "strom/groups/group.h"

namespace strom::groups {

/// Records of `__consumer_offsets`, in Kafka's layout so that tools reading the topic decode
/// them: every key and value starts with an int16 schema version; strings are int16-length
/// prefixed, bytes int32-length prefixed, all big-endian.
///
/// key v1 {group, topic, partition i32} → offset value v3 {offset i64, leader_epoch i32,
///   metadata, commit_timestamp i64}
/// key v2 {group} → group value v3 {protocol_type, generation i32, protocol nullable, leader
///   nullable, current_state_timestamp i64, members [member_id, group_instance_id nullable,
///   client_id, client_host, rebalance_timeout i32, session_timeout i32, subscription bytes,
///   assignment bytes]}
/// A null value (tombstone) deletes the key.
struct offset_key {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  friend bool operator==(const offset_key&, const offset_key&) = default;
};
struct group_key {
  std::string group;
  friend bool operator==(const group_key&, const group_key&) = default;
};
/// Keys of versions this broker does not know (e.g. KIP-848 groups) decode to monostate.
using record_key = std::variant<std::monostate, offset_key, group_key>;

bytes encode_key(const offset_key& k);
bytes encode_key(const group_key& k);
bytes encode_offset_value(const offset_entry& e);
bytes encode_group_value(const group_snapshot& g);

result<record_key> decode_key(std::span<const std::byte> in);
/// Value versions 0 to 3.
result<offset_entry> decode_offset_value(std::span<const std::byte> in);
/// Value versions 0 to 3.
result<group_snapshot> decode_group_value(std::span<const std::byte> in);

/// A replicated offsets partition's compacted state: the newest value of every key that its
/// records left without a tombstone, as kept in its Raft snapshot (coordinator checkpoints).
/// Encoded as a version (int16, 1), a count (int32) and per key its bytes and its value's
/// (int32-length prefixed), keys in order.
using compacted_state = std::map<bytes, bytes>;
bytes encode_state(const compacted_state& s);
result<compacted_state> decode_state(std::span<const std::byte> in);

}  // namespace strom::groups
