#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "strom/raft/types.h"

namespace strom::raft {

enum class message_type : uint8_t {
  vote_request,  ///< pre_vote: "would you vote for me?" (no term change); transfer: skip stickiness
  vote_response,       ///< granted or not
  append,              ///< AppendEntries: prev_index/prev_term, entries, commit
  append_response,     ///< success: received up to `index`, flushed `flushed`; else hints
  heartbeat,           ///< leader liveness plus commit (min(commit, follower's match))
  heartbeat_response,  ///< the follower's term
  install_snapshot,    ///< the leader's snapshot for a follower behind its log start
  timeout_now,         ///< leadership transfer: campaign now, bypassing stickiness
};
std::string_view to_string(message_type t);

/// One message of one group between two members. A flat struct (etcd's style): each type
/// uses the fields its comment names; the others keep their defaults.
struct message {
  message_type type = message_type::heartbeat;
  node_id from;
  node_id to;
  raft::term term;  ///< the sender's term (a pre-vote request: the term it would campaign in)

  // vote_request
  bool pre_vote = false;
  bool transfer = false;
  raft_index last_index;
  raft::term last_term;
  // vote_response; rebuilding: the voter started without its state (node::rebuilding)
  bool granted = false;
  bool rebuilding = false;

  // append: prev_index, prev_term, entries, commit. heartbeat: commit (capped at what the
  // follower holds), index (the leader's commit index itself), and quiesce: the group is idle,
  // hold the election timeout while the leader's node is alive. Both responses carry the
  // follower's commit index in `commit`.
  bool quiesce = false;
  raft_index prev_index;
  raft::term prev_term;
  std::vector<entry> entries;
  raft_index commit;

  // append_response: success = !reject. index = last index received and matching the leader;
  // flushed = the part of it that is durable. On reject: index = the rejected prev_index,
  // hint_index/hint_term = where the leader should look next (fast backtracking).
  bool reject = false;
  raft_index index;
  raft_index flushed;
  raft_index hint_index;
  raft::term hint_term;

  // install_snapshot
  std::optional<raft::snapshot> snapshot;
};

/// Messages on their way out, each with the Raft group it belongs to.
using group_messages = std::vector<std::pair<uint64_t, message>>;

/// Merges, in a batch of messages about to leave together, a message into the one before it
/// of the same group from the same sender to the same receiver, when the receiver would end
/// in the same state handling the merged message as handling the two in turn:
/// - two appends of one term, the second continuing the first (its prev_index/prev_term are the
///   last entry of the first): one append with the entries of both and the higher commit, as
///   long as its entries hold at most `max_append_bytes` (size_bytes());
/// - two successful append answers of one term: one with the highest index, flushed and commit
///   (a leader keeps the maximum of each, whatever the order they arrive in).
/// Any other message between them (a heartbeat, a rejection, another term) keeps them apart,
/// so each receiver sees its messages in the order they were sent. Returns how many messages
/// were merged away.
size_t coalesce(group_messages& batch, size_t max_append_bytes);

}  // namespace strom::raft
