#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
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
  // vote_response
  bool granted = false;

  // append: prev_index, prev_term, entries, commit. heartbeat: commit, and quiesce: the group
  // is idle, hold the election timeout while the leader's node is alive. Both responses carry
  // the follower's commit index in `commit`.
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

}  // namespace strom::raft
