#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "strom/base/clock.h"
#include "strom/base/random.h"
#include "strom/groups/errc.h"
#include "strom/metrics/metrics.h"

namespace strom::groups {

using bytes = std::vector<std::byte>;

/// Kafka's classic group states (KIP-848 groups are not served).
enum class group_state : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };
/// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead" (DescribeGroups).
std::string_view to_string(group_state s);

/// Broker settings every group obeys.
struct group_limits {
  int32_t min_session_timeout_ms = 6000;
  int32_t max_session_timeout_ms = 1800000;
  int32_t initial_rebalance_delay_ms = 3000;
  size_t max_size = 1000;  ///< members per group
};

struct protocol_entry {
  std::string name;
  bytes metadata;
  friend bool operator==(const protocol_entry&, const protocol_entry&) = default;
};

struct join_request {
  std::string member_id;  ///< "" on a first join
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  ///< -1: use the session timeout (JoinGroup v0)
  std::string protocol_type;
  std::vector<protocol_entry> protocols;
  bool require_known_member_id = true;  ///< JoinGroup v4+: hand out an id first
  bool can_skip_assignment = false;     ///< JoinGroup v9+
};

struct join_member {
  std::string member_id;
  std::optional<std::string> instance_id;
  bytes metadata;
};

struct join_result {
  errc error = errc::none;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<join_member> members;  ///< the leader's answer only
};

struct sync_request {
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, bytes>> assignments;  ///< the leader's only
};

struct sync_result {
  errc error = errc::none;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  bytes assignment;
};

using join_callback = std::function<void(join_result)>;
using sync_callback = std::function<void(sync_result)>;

/// A member as persisted and described: what survives a restart.
struct member_snapshot {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  bytes subscription;  ///< metadata of the selected protocol
  bytes assignment;
  friend bool operator==(const member_snapshot&, const member_snapshot&) = default;
};

/// The persisted form of a group (one record in __consumer_offsets).
struct group_snapshot {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  timestamp_ms state_timestamp = -1;
  std::vector<member_snapshot> members;
  friend bool operator==(const group_snapshot&, const group_snapshot&) = default;
};

/// A committed offset.
struct offset_entry {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  timestamp_ms commit_timestamp = -1;
  friend bool operator==(const offset_entry&, const offset_entry&) = default;
};

using topic_partition = std::pair<std::string, int32_t>;

/// One consumer group: membership, the classic rebalance state machine and committed offsets.
///
/// Pure logic: time comes from the clock, timeouts advance only in tick(), and persistence of
/// the group's metadata is a callback (`persist`) that reports back through `done`. Join and
/// sync answers may be held (callbacks kept) until the rebalance moves on; every held callback
/// is called exactly once, or dropped when the group is destroyed.
/// Owned by the shard of its offsets partition; touched only on that shard's thread.
class group : public std::enable_shared_from_this<group> {
 public:
  using persist_fn = std::function<void(const group_snapshot&, std::function<void(bool ok)> done)>;

  /// `rng` draws member ids; `m` counts rebalances (the broker's own, injected).
  group(std::string id, const group_limits& limits, clock& clk, persist_fn persist,
        random_source& rng = default_random(), metrics::registry& m = metrics::default_registry());
  ~group();
  group(const group&) = delete;
  group& operator=(const group&) = delete;

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] group_state state() const { return state_; }
  [[nodiscard]] int32_t generation() const { return generation_; }
  [[nodiscard]] const std::string& protocol_type() const { return protocol_type_; }
  [[nodiscard]] const std::optional<std::string>& protocol() const { return protocol_; }
  [[nodiscard]] const std::optional<std::string>& leader() const { return leader_; }
  [[nodiscard]] size_t member_count() const { return members_.size(); }
  [[nodiscard]] bool has_member(const std::string& id) const { return members_.contains(id); }
  /// Nothing in it and nothing stored: no members (pending ones included), no generation yet,
  /// no offsets, no write in flight. Such a group (left by a refused JoinGroup, or once its
  /// pending members expired) is dropped by the coordinator.
  [[nodiscard]] bool unused() const {
    return state_ == group_state::empty && members_.empty() && pending_members_.empty() &&
           generation_ == 0 && offsets_.empty() && !persisting_;
  }
  /// When the group entered its current state (for offsets retention of empty groups).
  [[nodiscard]] timestamp_ms state_timestamp() const { return state_timestamp_; }

  void join(join_request req, join_callback cb);
  void sync(sync_request req, sync_callback cb);
  errc heartbeat(const std::string& member_id, const std::optional<std::string>& instance_id,
                 int32_t generation);
  struct leaving {
    std::string member_id;
    std::optional<std::string> instance_id;
  };
  /// Removes members (LeaveGroup); one outcome per entry.
  std::vector<errc> leave(const std::vector<leaving>& who);
  /// Whether an OffsetCommit from this member and generation may be applied now; refreshes the
  /// member's session when it may.
  errc check_commit(const std::string& member_id, const std::optional<std::string>& instance_id,
                    int32_t generation);
  /// Advances timers: pending member ids, the initial delay, the rebalance timeout and session
  /// expiry.
  void tick();
  /// Marks the group dead (deleted): held requests are answered, members are dropped.
  void kill(errc reason = errc::coordinator_not_available);

  /// Topics the members subscribed to (consumer protocol); nullopt when unknown.
  [[nodiscard]] std::optional<std::vector<std::string>> subscribed_topics() const;

  [[nodiscard]] group_snapshot snapshot() const;
  /// Replaces membership with a persisted snapshot (replay of the offsets topic).
  void restore(const group_snapshot& s);
  [[nodiscard]] std::vector<member_snapshot> describe_members() const;

  // Committed offsets (applied after they were persisted).
  std::map<topic_partition, offset_entry>& offsets() { return offsets_; }
  [[nodiscard]] const std::map<topic_partition, offset_entry>& offsets() const { return offsets_; }

 private:
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<protocol_entry> protocols;
    bytes assignment;
    timestamp_ms last_heard = 0;
    uint64_t join_order = 0;
    join_callback awaiting_join;
    sync_callback awaiting_sync;
    bool is_new = false;
  };

  timestamp_ms now() const { return clock_.now_ms(); }
  void set_state(group_state s);
  bool supports(const join_request& req) const;
  errc check_member(const std::string& member_id, const std::optional<std::string>& iid) const;
  void add_member_and_rebalance(join_request req, std::string id, join_callback cb);
  void update_member_and_rebalance(member& m, join_request req, join_callback cb);
  void replace_static_member(join_request req, join_callback cb);
  void remove_member(const std::string& id);
  void prepare_rebalance();
  void maybe_complete_join();
  void complete_join();
  void on_persisted(int32_t generation, bool ok);
  [[nodiscard]] bool all_joined() const;
  [[nodiscard]] std::string select_protocol() const;
  [[nodiscard]] join_result current_join_result(const member& m, bool with_members) const;
  [[nodiscard]] const bytes* selected_metadata(const member& m) const;
  [[nodiscard]] std::string new_member_id(const std::string& client_id) const;

  std::string id_;
  group_limits limits_;
  clock& clock_;
  random_source& random_;
  metrics::registry& metrics_;
  persist_fn persist_;
  group_state state_ = group_state::empty;
  timestamp_ms state_timestamp_;
  int32_t generation_ = 0;
  std::string protocol_type_;
  std::optional<std::string> protocol_;
  std::optional<std::string> leader_;
  std::map<std::string, member> members_;
  std::map<std::string, std::string> static_members_;    // instance id -> member id
  std::map<std::string, timestamp_ms> pending_members_;  // member id -> expiry
  std::map<topic_partition, offset_entry> offsets_;
  uint64_t next_join_order_ = 0;
  // PreparingRebalance timers.
  timestamp_ms rebalance_deadline_ = 0;
  std::optional<timestamp_ms> initial_delay_until_;
  timestamp_ms initial_delay_cap_ = 0;
  bool persisting_ = false;
};

}  // namespace strom::groups
