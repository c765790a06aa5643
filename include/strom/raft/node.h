#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "strom/base/result.h"
#include "strom/raft/errc.h"
#include "strom/raft/log.h"
#include "strom/raft/message.h"
#include "strom/raft/types.h"

namespace strom::raft {

/// Deliberate bugs for the simulator's self-test (`strom-sim --mutate`). TEST ONLY: each one
/// breaks Raft's safety; production code never sets them.
struct test_mutations {
  bool commit_old_term = false;   ///< commit by counting replicas of an earlier term's entry
  bool ack_before_flush = false;  ///< count a follower's received index instead of its flushed one
  bool double_vote = false;       ///< grant a second vote in a term already voted in
  bool count_rebuilding_votes = false;  ///< count a rebuilding voter's grant like any other
};

struct options {
  node_id id;
  /// Ticks without hearing from a leader before a follower campaigns; the actual timeout is
  /// drawn from [election_ticks, 2 * election_ticks) at each reset.
  int election_ticks = 10;
  /// Ticks between a leader's heartbeats.
  int heartbeat_ticks = 2;
  /// AppendEntries in flight per follower in replicate mode (the pipeline window).
  size_t max_inflight = 16;
  /// Upper bound of one AppendEntries (always at least one entry).
  size_t max_append_bytes = 64 * 1024;
  /// Raft indexes the leader may hold beyond its commit index; propose() is refused with
  /// errc::backpressure above it.
  int64_t max_uncommitted = 4096;
  bool pre_vote = true;
  bool check_quorum = true;
  /// Write caching (a topic's write.caching): an entry commits once it is in the log of a
  /// majority, flushed or not; a crash of a majority before their flushes may lose it.
  bool write_caching = false;
  /// Recovery throttle (replication.recovery_max_bytes_per_sec); none when null.
  recovery_budget* recovery = nullptr;
  /// replica.lag.time.max.ms in ticks: a follower that has not kept up within it (or was
  /// dropped) is out of sync, and what it lacks of the committed log is recovery.
  int64_t in_sync_ticks = 200;
  /// Quiescence (none when null): a leader whose members hold its whole log and know its
  /// commit index for a few heartbeats in a row goes quiet and sends a heartbeat only every
  /// `quiet_keepalive_ticks`; its quiet followers hold their election timeout while the
  /// leader's node is alive here. Anything to send wakes the group.
  const peer_liveness* liveness = nullptr;
  int quiet_keepalive_ticks = 200;
  /// The replica preferred as leader of a new group: while its log is empty and it has heard
  /// of no leader, its election timeout is drawn from [2, 2 + heartbeat_ticks) ticks for up to
  /// four pre-votes, so that a new group is led by it within a few ticks, not by whichever
  /// replica's timeout ran out first (to be moved to it later). Only with pre_vote: a pre-vote
  /// changes no term and persists nothing; the real election it leads to, which persists a
  /// vote on every voter, gets the usual timeout, and so does any campaign after those four.
  bool eager_first_election = false;
  /// Seed of the node's random source (election timeout jitter). Deterministic for a seed.
  uint64_t random_seed = 0;
  test_mutations mutations;  ///< TEST ONLY, all off by default
};

enum class role : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view to_string(role r);

/// A proposal accepted by the leader: the entry it became.
struct ticket {
  raft::term term;
  raft_index index;  ///< first index of the entry
  raft_index last;   ///< last index of the entry
  friend bool operator==(const ticket&, const ticket&) = default;
};

/// committed: the entry committed in the term that appended it. lost: it was replaced or
/// removed (the write did not happen). unknown: a snapshot replaced the log before the node
/// could tell (the write may have happened).
enum class ticket_outcome : uint8_t { committed, lost, unknown };

struct ticket_result {
  raft::ticket ticket;
  ticket_outcome outcome;
};

enum class leadership_event_kind : uint8_t {
  became_leader,  ///< won an election; not ready for clients yet
  leader_ready,   ///< the term-start entry committed: serve clients in this term
  stepped_down,   ///< was leader (or candidate) and is a follower now
  leader_known,   ///< a follower learnt who leads `term`
};

struct leadership_event {
  leadership_event_kind kind;
  raft::term term;
  std::optional<node_id> leader;
};

/// A message to send; `after_persist` means "only once `ready::hard_state` is saved".
struct outbound {
  raft::message msg;
  bool after_persist = false;
};

/// Everything a step produced, in the order the runtime must act on it:
///  1. `install`: install the snapshot in the log store (replaces the whole log) and restore
///     the state machine from it.
///  2. `hard_state`: save it durably.
///  3. `truncate_from` + `entries`: append to the log store (visible at once), then start a
///     flush and report its completion with node::on_flushed().
///  4. `messages`: send (those marked after_persist only if step 2 succeeded).
///  5. `commit`: apply the log's entries up to it (after step 3, they are readable).
///  6. `compact`: save this snapshot and drop the log up to it (log_store::compact).
/// The runtime must do steps 1 and 3 before it gives the node any other input.
struct ready {
  std::optional<snapshot> install;
  std::optional<raft::hard_state> hard_state;
  std::optional<raft_index> truncate_from;
  std::vector<entry> entries;
  std::vector<outbound> messages;
  std::optional<raft_index> commit;  ///< set when the commit index moved
  std::optional<snapshot> compact;
  std::vector<leadership_event> events;
  std::vector<ticket_result> outcomes;

  [[nodiscard]] bool empty() const {
    return !install && !hard_state && !truncate_from && entries.empty() && messages.empty() &&
           !commit && !compact && events.empty() && outcomes.empty();
  }
};

/// A membership change, one server at a time (Ongaro's thesis §4.1).
struct config_change {
  enum class kind : uint8_t { add_learner, promote, add_voter, remove };
  kind what = kind::add_learner;
  node_id node;
};

/// One member's view of one Raft group: a pure state machine (no I/O, no clock, no threads).
///
/// Inputs: tick() (time passes), step() (a message arrives), propose() (a client write),
/// change_config(), transfer_leadership(), compact(), on_flushed() (the log store's flush
/// completed). Each input queues outputs that take_ready() hands over (see `ready`). The node
/// reads its log through `log_view`, which must reflect every `ready` taken so far.
///
/// Rules it keeps: pre-vote and leader stickiness (a node that heard from a leader within the
/// election timeout ignores votes unless they come from a leadership transfer); check-quorum (a
/// leader that did not hear from a majority in an election timeout steps down); commit = the
/// highest index flushed on a majority of voters (the leader counted after its own flush) whose
/// entry has the leader's term; a term-start entry on election, the leader ready once it
/// commits; at most one configuration change pending, none before the leader is ready.
///
/// Single-threaded: the owner calls it from one thread. Owns no storage.
class node {
 public:
  /// `log` holds what was durable at start-up; `hs` the saved hard state.
  node(const options& opts, const log_view& log, const hard_state& hs);

  void tick();
  /// The owner did not run for `ticks` ticks (its process was stopped or starved) and did not
  /// tick meanwhile. A leader held up long enough for the others to have elected another one
  /// (an election timeout, less the heartbeat interval it may have been quiet before) cannot
  /// know it still leads: it steps down, as check-quorum would have, instead of taking writes
  /// as a deposed leader that has not heard of its successor yet.
  void held_up(int64_t ticks);
  /// A message arrives (taken by value: an append's entries move into the log when the
  /// caller hands the message over).
  void step(message m);
  /// Appends a data entry of `kafka_count` Kafka offsets on the leader.
  [[nodiscard]] result<ticket> propose(std::vector<std::byte> payload, int32_t kafka_count);
  /// Appends a log_start entry (a replicated DeleteRecords) carrying `payload` on the leader.
  [[nodiscard]] result<ticket> propose_log_start(std::vector<std::byte> payload);
  [[nodiscard]] result<ticket> change_config(const config_change& change);
  [[nodiscard]] status transfer_leadership(node_id to);
  /// The state machine saved its state up to `index` (REQUIRES index <= commit): the log up to
  /// it may be replaced by a snapshot carrying `data`.
  [[nodiscard]] status compact(raft_index index, std::vector<std::byte> data);
  /// The log store made everything up to `index` durable.
  void on_flushed(raft_index index);
  /// Leader: tells every member the commit index now (a heartbeat each) instead of with the
  /// next append or heartbeat, so that followers apply a committed entry without waiting a
  /// heartbeat interval. Nothing on a follower.
  void broadcast_commit();
  /// Turns write caching (options::write_caching) on or off.
  void set_write_caching(bool on);
  /// A node that is not electable still votes and replicates but never campaigns, not even on
  /// a leadership transfer's TimeoutNow (a broker on its way out).
  void set_electable(bool on) { electable_ = on; }

  [[nodiscard]] bool has_ready() const { return !ready_.empty(); }
  [[nodiscard]] ready take_ready();

  [[nodiscard]] node_id id() const { return opts_.id; }
  [[nodiscard]] raft::role role() const { return role_; }
  [[nodiscard]] raft::term term() const { return term_; }
  [[nodiscard]] std::optional<node_id> vote() const { return vote_; }
  [[nodiscard]] std::optional<node_id> leader() const { return leader_; }
  [[nodiscard]] raft_index commit_index() const { return commit_; }
  [[nodiscard]] raft_index flushed_index() const { return flushed_; }
  /// Leader whose term-start entry committed.
  [[nodiscard]] bool is_ready_leader() const { return role_ == role::leader && leader_ready_; }
  /// The group is quiet (options::liveness): no heartbeats but the keepalives.
  [[nodiscard]] bool quiet() const { return quiet_; }
  [[nodiscard]] const configuration& config() const { return config_; }
  [[nodiscard]] raft_index last_index() const;
  [[nodiscard]] std::optional<raft::term> term_at(raft_index i) const;
  /// Leader: the voters (itself included) that answered within the last `within_ticks` ticks;
  /// 0 on any other role.
  [[nodiscard]] size_t heard_voters(int64_t within_ticks) const;
  /// Leader: the voters in sync (Kafka's ISR, with `within_ticks` as replica.lag.time.max.ms):
  /// itself, and each holding what the leader held `within_ticks` ticks ago or later, not
  /// silent for an election timeout since; one that was (a broker down, restarted) counts
  /// again once it has reached the leader's end as of its return. 0 on any other role.
  [[nodiscard]] size_t in_sync_voters(int64_t within_ticks) const;
  /// Leader: the voters in_sync_voters() counts, by id (empty on any other role).
  [[nodiscard]] std::vector<node_id> in_sync_set(int64_t within_ticks) const;
  /// Leader: voter `n` answered within `within_ticks` ticks and keeps up: it holds what the
  /// leader held half an election timeout ago or later. A target a leadership transfer
  /// completes with well within the election timeout that bounds it, also while producers
  /// keep the log growing (then the whole log is rarely on a follower at the instant a caller
  /// looks, and a follower slower than another is rarely at the commit index).
  [[nodiscard]] bool caught_up(node_id n, int64_t within_ticks) const;
  /// Leader: member `n` (a learner too) holds every committed entry and answered within
  /// `within_ticks` ticks: a learner that may be promoted without slowing the commit down.
  [[nodiscard]] bool holds_commit(node_id n, int64_t within_ticks) const;
  /// Leader: a leadership transfer is under way.
  [[nodiscard]] bool transferring() const { return transfer_target_.has_value(); }
  /// Leader: a transfer told its target to campaign, and that campaign may still be running.
  /// It skips the others' wait for an election timeout, so this leader's lease no longer
  /// tells that no other leader exists: what it holds in memory alone (a group's state) may be
  /// stale. Until it steps down, or two election timeouts after the last timeout_now with
  /// the transfer over (a transfer that did not end, another target asked for meanwhile).
  [[nodiscard]] bool handing_over() const { return handing_over_; }
  /// The last configuration in the log has not committed yet (the next change must wait).
  [[nodiscard]] bool config_pending() const {
    return !config_log_.empty() && config_log_.rbegin()->first > commit_;
  }
  /// The node started without its state and has not yet held an entry committed in a term
  /// it saw (hard_state::rebuilding). It may have acknowledged entries and voted before it
  /// lost them, so its vote could elect a candidate lacking entries it helped commit (two
  /// brokers of three holding a committed entry, one of them restarted with an empty
  /// directory, would let the third, which missed the entry, win). Its answers to vote
  /// requests say so, and a candidate counts the grants of rebuilding voters only when they
  /// alone make a majority (a new group, whose voters all start without state); otherwise the
  /// grants of the others must. It still replicates, its acknowledgements counting for what
  /// it holds, and campaigns.
  [[nodiscard]] bool rebuilding() const { return rebuilding_; }
  /// Vote requests (pre-votes too) this node answered while rebuilding, since it started.
  [[nodiscard]] uint64_t votes_while_rebuilding() const { return votes_while_rebuilding_; }
  /// Leader: the Raft indexes the voter furthest behind lacks (0 on any other role).
  [[nodiscard]] int64_t max_follower_lag() const;
  /// Leader: the other voter that answered within `within_ticks` ticks and holds the most of
  /// the log (the one a leadership transfer completes soonest with); none on another role.
  [[nodiscard]] std::optional<node_id> transfer_candidate(int64_t within_ticks) const;

 private:
  struct progress {
    raft_index match{0};    // highest index known to match the leader's log
    raft_index flushed{0};  // highest index the follower reported durable (<= match)
    raft_index next{1};
    enum class mode : uint8_t { probe, replicate, snapshot } state = mode::probe;
    bool probe_sent = false;
    bool recent_active = false;
    raft_index pending_snapshot{0};
    raft_index match_at_heartbeat{0};  // to notice a pipeline that lost its appends
    int stalled_heartbeats = 0;
    int64_t heard_tick = 0;  // node::ticks_ when it last answered
    // Kept up (Kafka's last caught-up time, in ticks): the follower holds what the leader's
    // log held at tick kept_up_tick (-1: not yet in this term). keep_up_mark is the leader's
    // last index at mark_tick, the next point to reach; reaching it, the follower is at most
    // the time since behind, however long its round trips take. Dropped: silent for an
    // election timeout (Kafka's controller drops a failed broker from every ISR), until it
    // reaches the leader's end as of its return.
    raft_index keep_up_mark{0};
    int64_t mark_tick = 0;
    int64_t kept_up_tick = -1;
    bool dropped = false;
    raft_index commit_known{0};       // the commit index it last reported
    bool silent = false;              // quiet leader: its node went silent meanwhile
    std::deque<raft_index> inflight;  // last index of each append in flight
  };

  // The log as this node sees it: the log_view plus what was produced and not yet taken.
  [[nodiscard]] raft_index first_index() const;
  [[nodiscard]] raft_index base_last() const;
  [[nodiscard]] std::vector<entry> read(raft_index from, size_t max_bytes) const;
  [[nodiscard]] kafka_offset next_kafka_offset() const;
  void append_local(std::optional<raft_index> truncate_from, std::vector<entry> es);
  void append_local(entry e);
  entry make_entry(entry_kind k) const;
  /// A leader's proposal of an entry of `kind` (data, log_start), appended and sent.
  result<ticket> propose_entry(entry_kind kind, std::vector<std::byte> payload,
                               int32_t kafka_count);

  void become_follower(raft::term t, std::optional<node_id> leader);
  void become_pre_candidate();
  void become_candidate(bool transfer);
  void become_leader();
  void campaign(bool pre, bool transfer);
  void reset(raft::term t);
  void persist_hard_state();
  /// Ends rebuilding once the node holds durably the log up to its current leader's commit
  /// index (leader_commit_), at an entry of that leader's term.
  void check_rebuilt();
  void send(message m, bool after_persist = false);
  void reset_election_timeout();
  [[nodiscard]] bool in_lease() const;
  [[nodiscard]] bool log_up_to_date(raft_index last, raft::term t) const;
  [[nodiscard]] bool promotable() const { return electable_ && config_.is_voter(opts_.id); }

  void handle_vote_request(const message& m);
  void handle_vote_response(const message& m);
  void handle_append(message& m);
  void handle_heartbeat(const message& m);
  void handle_snapshot(const message& m);
  void handle_append_response(const message& m);
  void handle_heartbeat_response(const message& m);

  void send_append(node_id to, progress& p, bool allow_empty = false);
  void broadcast_append();
  void broadcast_heartbeat();
  void maybe_commit();
  void set_commit(raft_index c);
  void reply_append(node_id to, raft_index index);
  [[nodiscard]] raft_index find_conflict_by_term(raft_index index, raft::term t) const;
  void refresh_config();
  void on_config_appended(const entry& e);
  void check_tickets();
  void maybe_send_timeout_now(node_id to, const progress& p);
  /// Quiescence: whether the leader may go quiet now; its tick while quiet (false: it woke);
  /// waking up; whether member `id` counts as heard within `within` ticks.
  [[nodiscard]] bool may_quiesce() const;
  bool quiet_leader_tick();
  void wake();
  [[nodiscard]] bool heard(node_id id, const progress& p, int64_t within) const;
  /// `p` holds what the leader's log held `within_ticks` ago or later, and is not dropped.
  [[nodiscard]] bool kept_up(const progress& p, int64_t within_ticks) const;
  /// The leader's end now is the next point `p` must reach to keep up.
  void mark_keep_up(progress& p);
  /// `p` reached its mark (and is known to match: replicating): it kept up, to the mark's tick.
  void note_kept_up(progress& p);
  [[nodiscard]] uint64_t random();

  options opts_;
  const log_view& log_;
  ready ready_;

  raft::role role_ = role::follower;
  raft::term term_{0};
  std::optional<node_id> vote_;
  std::optional<node_id> leader_;
  raft_index commit_{0};
  raft_index flushed_{0};
  raft_index matched_{0};  // follower: highest index known to match the current leader
  configuration config_;
  configuration base_config_;                       // the snapshot's
  std::map<raft_index, configuration> config_log_;  // configuration entries above the snapshot
  raft_index term_start_{0};
  bool leader_ready_ = false;

  int64_t ticks_ = 0;  // ticks since the node was made
  bool electable_ = true;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  /// options::eager_first_election: the quick pre-votes left (none once a leader is known or
  /// a real election began).
  static constexpr int eager_pre_votes = 4;
  int eager_tries_ = 0;
  std::map<node_id, bool> votes_;
  std::set<node_id> rebuilding_grants_;  // voters granting while rebuilding, this round
  bool rebuilding_ = false;
  raft_index leader_commit_{0};  // follower: the highest commit index its leader sent, this term
  uint64_t votes_while_rebuilding_ = 0;
  std::map<node_id, progress> progress_;
  std::optional<node_id> transfer_target_;
  bool handing_over_ = false;     // timeout_now sent (handing_over())
  int64_t handed_over_tick_ = 0;  // ticks_ when the last one went
  int transfer_elapsed_ = 0;
  bool quiet_ = false;
  int quiet_rounds_ = 0;     // leader: heartbeat rounds in a row that found the group idle
  int64_t quiet_heard_ = 0;  // quiet follower: the tick of the leader's last keepalive
  std::deque<ticket> tickets_;
  uint64_t rng_state_;
};

}  // namespace strom::raft
