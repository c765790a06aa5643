#pragma once

#include <system_error>

namespace strom::raft {

/// Why the Raft core refused a request (a proposal, a configuration change, a transfer).
enum class errc {
  not_leader = 1,         ///< this node is not the leader of the group
  leader_not_ready,       ///< elected, but the term-start entry has not committed yet
  backpressure,           ///< too many uncommitted entries: retry when the window drains
  transfer_in_progress,   ///< a leadership transfer is under way: retry on the new leader
  config_change_pending,  ///< a configuration change has not committed yet
  invalid_config_change,  ///< the change does not apply to the current configuration
  invalid_argument,       ///< a bad input (empty batch, index outside the log, ...)
  snapshot_out_of_range,  ///< a compaction point above what was applied
};

const std::error_category& raft_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), raft_category()};
}

}  // namespace strom::raft

template <>
struct std::is_error_code_enum<strom::raft::errc> : std::true_type {};
