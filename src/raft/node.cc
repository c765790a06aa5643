#include "strom/raft/node.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "strom/base/assert.h"
#include "strom/raft/errc.h"

namespace strom::raft {

node::node(const options& opts, const log_view& log, const hard_state& hs)
    : opts_(opts),
      log_(log),
      term_(hs.term),
      vote_(hs.vote),
      rebuilding_(hs.rebuilding),
      rng_state_(opts.random_seed ^
                 (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(opts.id.value() + 1))) {
  STROM_ASSERT(opts_.election_ticks > opts_.heartbeat_ticks && opts_.heartbeat_ticks > 0,
               "election_ticks must exceed heartbeat_ticks > 0");
  auto meta = log_.snapshot_meta();
  commit_ = meta.last_index;     // a snapshot holds committed entries only
  flushed_ = log_.last_index();  // what the log holds at start-up is durable
  base_config_ = meta.config;
  for (raft_index i = log_.first_index(); i <= log_.last_index();) {
    auto es = log_.entries(i, size_t{1} << 20);
    for (const auto& e : es) {
      if (e.kind == entry_kind::configuration && e.config) {
        config_log_[e.index] = *e.config;
      }
    }
    i = next(es.back().last());
  }
  refresh_config();
  eager_tries_ = opts_.eager_first_election && opts_.pre_vote && log_.last_index() == raft_index(0)
                     ? eager_pre_votes
                     : 0;
  reset_election_timeout();
}

uint64_t node::random() {
  // splitmix64: small, seedable, identical on every platform.
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void node::reset_election_timeout() {
  uint64_t r = random();
  if (eager_tries_ > 0) {
    randomized_timeout_ = 2 + static_cast<int>(r % static_cast<uint64_t>(opts_.heartbeat_ticks));
    return;
  }
  randomized_timeout_ =
      opts_.election_ticks + static_cast<int>(r % static_cast<uint64_t>(opts_.election_ticks));
}

// ---- the log as seen through the pending output -------------------------------------------

raft_index node::first_index() const {
  return ready_.install ? next(ready_.install->meta.last_index) : log_.first_index();
}

raft_index node::base_last() const {
  raft_index l = ready_.install ? ready_.install->meta.last_index : log_.last_index();
  if (ready_.truncate_from) {
    l = std::min(l, prev(*ready_.truncate_from));
  }
  return l;
}

raft_index node::last_index() const {
  return ready_.entries.empty() ? base_last() : ready_.entries.back().last();
}

std::optional<term> node::term_at(raft_index i) const {
  if (!ready_.entries.empty() && i >= ready_.entries.front().index) {
    if (i > ready_.entries.back().last()) {
      return std::nullopt;
    }
    auto it = std::upper_bound(ready_.entries.begin(), ready_.entries.end(), i,
                               [](raft_index v, const entry& e) { return v < e.index; });
    return std::prev(it)->term;
  }
  if (i > base_last()) {
    return std::nullopt;
  }
  if (ready_.install) {
    if (i == ready_.install->meta.last_index) {
      return ready_.install->meta.last_term;
    }
    return std::nullopt;
  }
  return log_.term_at(i);
}

std::vector<entry> node::read(raft_index from, size_t max_bytes) const {
  std::vector<entry> out;
  size_t bytes = 0;
  raft_index bl = base_last();
  if (!ready_.install && from <= bl && from >= log_.first_index()) {
    out = log_.entries(from, max_bytes);
    while (!out.empty() && out.back().index > bl) {
      out.pop_back();
    }
    for (const auto& e : out) {
      bytes += e.size_bytes();
    }
    // Entries not yet taken continue the log only where the stored part reached its end: a
    // stored part cut short by the byte limit ends the read (else it would skip entries).
    if (bytes > max_bytes || (!out.empty() && out.back().last() < bl)) {
      return out;
    }
  }
  for (const auto& e : ready_.entries) {
    if (e.last() < from) {
      continue;
    }
    bytes += e.size_bytes();
    if (!out.empty() && bytes > max_bytes) {
      break;
    }
    out.push_back(e);
  }
  return out;
}

kafka_offset node::next_kafka_offset() const {
  if (!ready_.entries.empty()) {
    return ready_.entries.back().next_kafka_offset();
  }
  if (ready_.install) {
    return ready_.install->meta.next_kafka_offset;
  }
  raft_index bl = base_last();
  if (bl < log_.first_index()) {
    return log_.snapshot_meta().next_kafka_offset;
  }
  if (bl == log_.last_index()) {
    return log_.next_kafka_offset();  // without reading the last entry's payload
  }
  return log_.entries(bl, 0).front().next_kafka_offset();
}

entry node::make_entry(entry_kind k) const {
  entry e;
  e.index = next(last_index());
  e.term = term_;
  e.kind = k;
  e.kafka_base = next_kafka_offset();
  return e;
}

void node::append_local(entry e) {
  std::vector<entry> es;
  es.push_back(std::move(e));  // not through an initializer list, which copies the bytes
  append_local(std::nullopt, std::move(es));
}

void node::append_local(std::optional<raft_index> truncate_from, std::vector<entry> es) {
  if (truncate_from) {
    raft_index t = *truncate_from;
    STROM_ASSERT(t > commit_, "node {}: truncation at {} below the commit index {}", opts_.id, t,
                 commit_);
    if (!ready_.entries.empty() && t >= ready_.entries.front().index) {
      while (!ready_.entries.empty() && ready_.entries.back().index >= t) {
        ready_.entries.pop_back();
      }
    } else {
      ready_.entries.clear();
      if (t <= base_last()) {
        ready_.truncate_from = t;
      }
    }
    flushed_ = std::min(flushed_, prev(t));
    matched_ = std::min(matched_, prev(t));
    config_log_.erase(config_log_.lower_bound(t), config_log_.end());
    refresh_config();
  }
  for (auto& e : es) {
    STROM_ASSERT(e.index == next(last_index()), "node {}: entry at {} after {}", opts_.id, e.index,
                 last_index());
    if (e.kind == entry_kind::configuration && e.config) {
      config_log_[e.index] = *e.config;
    }
    ready_.entries.push_back(std::move(e));
  }
  refresh_config();
}

void node::refresh_config() {
  config_ = config_log_.empty() ? base_config_ : config_log_.rbegin()->second;
  if (role_ != role::leader) {
    return;
  }
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = config_.is_member(it->first) ? std::next(it) : progress_.erase(it);
  }
  for (node_id n : config_.members()) {
    if (n != opts_.id && !progress_.contains(n)) {
      progress p;
      p.next = next(last_index());
      p.recent_active = true;
      p.heard_tick = ticks_;
      mark_keep_up(p);
      progress_.emplace(n, p);
    }
  }
}

// ---- roles -------------------------------------------------------------------------------

void node::persist_hard_state() {
  ready_.hard_state = hard_state{term_, vote_, rebuilding_};
}

void node::check_rebuilt() {
  // The leader's commit index (not this node's, which a follower caps at what it holds), at
  // an entry of the current term: the leader's log held every entry committed before (leader
  // completeness). This log matches the leader's up to it (matched_ is of this term), and
  // holds it durably: a crash must not take back what the saved end of rebuilding stands for.
  if (!rebuilding_ || term_ == raft::term(0))
    return;
  raft_index target = role_ == role::leader ? commit_ : leader_commit_;
  raft_index held = std::min(role_ == role::leader ? last_index() : matched_, flushed_);
  if (target > raft_index(0) && target <= held && term_at(target) == term_) {
    rebuilding_ = false;
    persist_hard_state();
  }
}

void node::send(message m, bool after_persist) {
  m.from = opts_.id;
  if (m.term == raft::term(0)) {
    m.term = term_;
  }
  ready_.messages.push_back(outbound{std::move(m), after_persist || ready_.hard_state.has_value()});
}

void node::reset(raft::term t) {
  if (t != term_) {
    STROM_ASSERT(t > term_, "node {}: term going back from {} to {}", opts_.id, term_, t);
    term_ = t;
    vote_.reset();
    persist_hard_state();
  }
  leader_.reset();
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_election_timeout();
  votes_.clear();
  rebuilding_grants_.clear();
  progress_.clear();
  transfer_target_.reset();
  handing_over_ = false;
  leader_ready_ = false;
  matched_ = raft_index(0);
  leader_commit_ = raft_index(0);
  quiet_ = false;
  quiet_rounds_ = 0;
}

void node::become_follower(raft::term t, std::optional<node_id> leader) {
  bool was_leader = role_ == role::leader;
  bool was_campaigning = role_ == role::candidate || role_ == role::pre_candidate;
  if (leader)
    eager_tries_ = 0;  // before reset() draws the election timeout
  reset(t);
  role_ = role::follower;
  if (was_leader || was_campaigning) {
    ready_.events.push_back({leadership_event_kind::stepped_down, term_, std::nullopt});
  }
  if (leader) {
    leader_ = leader;
    ready_.events.push_back({leadership_event_kind::leader_known, term_, leader});
  }
}

void node::become_leader() {
  reset(term_);
  role_ = role::leader;
  leader_ = opts_.id;
  refresh_config();  // progress for every member
  entry e = make_entry(entry_kind::term_start);
  term_start_ = e.index;
  append_local(std::move(e));
  for (auto& [id, p] : progress_) {
    p.next = term_start_;   // send the term-start entry first
    p.heard_tick = ticks_;  // a new leader gives every member an interval to answer
    mark_keep_up(p);        // in sync once it holds the term-start entry
    p.kept_up_tick = -1;
    p.dropped = false;
  }
  ready_.events.push_back({leadership_event_kind::became_leader, term_, opts_.id});
  broadcast_append();
  maybe_commit();
}

void node::campaign(bool pre, bool transfer) {
  raft::term vote_term;
  if (pre) {
    eager_tries_ = std::max(0, eager_tries_ - 1);
    role_ = role::pre_candidate;
    leader_.reset();
    votes_.clear();
    rebuilding_grants_.clear();
    vote_term = raft::term(term_.value() + 1);
  } else {
    // A real election persists a vote on every voter: its round gets the full timeout.
    eager_tries_ = 0;
    reset(raft::term(term_.value() + 1));
    role_ = role::candidate;
    vote_ = opts_.id;
    persist_hard_state();
    vote_term = term_;
  }
  votes_[opts_.id] = true;
  if (rebuilding_)
    rebuilding_grants_.insert(opts_.id);
  message m;
  m.type = message_type::vote_request;
  m.term = vote_term;
  m.pre_vote = pre;
  m.transfer = transfer;
  m.last_index = last_index();
  m.last_term = term_at(m.last_index).value_or(raft::term(0));
  for (node_id v : config_.voters) {
    if (v != opts_.id) {
      m.to = v;
      send(m, !pre);
    }
  }
  // A single voter wins at once.
  if (config_.quorum() <= 1) {
    if (pre) {
      campaign(false, transfer);
    } else {
      become_leader();
    }
  }
}

bool node::in_lease() const {
  return opts_.check_quorum && leader_.has_value() && election_elapsed_ < opts_.election_ticks;
}

bool node::log_up_to_date(raft_index last, raft::term t) const {
  raft_index my_last = last_index();
  raft::term my_term = term_at(my_last).value_or(raft::term(0));
  return t > my_term || (t == my_term && last >= my_last);
}

size_t node::heard_voters(int64_t within_ticks) const {
  if (role_ != role::leader)
    return 0;
  size_t n = config_.is_voter(opts_.id) ? 1 : 0;
  for (const auto& [id, p] : progress_) {
    if (config_.is_voter(id) && heard(id, p, within_ticks))
      ++n;
  }
  return n;
}

size_t node::in_sync_voters(int64_t within_ticks) const {
  // On the produce path (min.insync.replicas): counted, not collected.
  if (role_ != role::leader)
    return 0;
  size_t n = config_.is_voter(opts_.id) ? 1 : 0;
  for (const auto& [id, p] : progress_) {
    if (config_.is_voter(id) && kept_up(p, within_ticks))
      ++n;
  }
  return n;
}

std::vector<node_id> node::in_sync_set(int64_t within_ticks) const {
  std::vector<node_id> out;
  if (role_ != role::leader)
    return out;
  if (config_.is_voter(opts_.id))
    out.push_back(opts_.id);
  for (const auto& [id, p] : progress_) {
    if (config_.is_voter(id) && kept_up(p, within_ticks))
      out.push_back(id);
  }
  return out;
}

bool node::kept_up(const progress& p, int64_t within_ticks) const {
  return !p.dropped && p.kept_up_tick >= 0 && ticks_ - p.kept_up_tick <= within_ticks;
}

void node::mark_keep_up(progress& p) {
  p.keep_up_mark = last_index();
  p.mark_tick = ticks_;
}

void node::note_kept_up(progress& p) {
  if (p.state != progress::mode::replicate || p.match < p.keep_up_mark)
    return;
  p.kept_up_tick = p.mark_tick;
  p.dropped = false;
  mark_keep_up(p);
}

bool node::heard(node_id id, const progress& p, int64_t within) const {
  // A quiet group's members answer only the keepalives: one whose node is alive is as good
  // as heard.
  return ticks_ - p.heard_tick <= within ||
         (quiet_ && !p.silent && opts_.liveness && opts_.liveness->alive(id));
}

bool node::may_quiesce() const {
  if (!opts_.liveness || !leader_ready_ || transfer_target_ || commit_ != last_index())
    return false;
  for (const auto& [id, p] : progress_) {
    if (p.match != commit_ || p.commit_known < commit_ ||
        ticks_ - p.heard_tick > 2 * int64_t{opts_.heartbeat_ticks} || !opts_.liveness->alive(id))
      return false;
  }
  return true;
}

bool node::quiet_leader_tick() {
  size_t alive = config_.is_voter(opts_.id) ? 1 : 0;
  bool back = false;
  for (auto& [id, p] : progress_) {
    if (!opts_.liveness->alive(id)) {
      p.silent = true;
    } else {
      // A member whose node went silent and came back may have restarted: it must hear from
      // its leader before it times out.
      back = back || p.silent;
      if (config_.is_voter(id))
        ++alive;
    }
  }
  if (back || alive < config_.quorum()) {
    wake();  // check-quorum decides again, with heartbeats
    return false;
  }
  election_elapsed_ = 0;
  if (heartbeat_elapsed_ >= opts_.quiet_keepalive_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
  return true;
}

void node::wake() {
  if (!quiet_)
    return;
  quiet_ = false;
  quiet_rounds_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = opts_.heartbeat_ticks;  // a heartbeat at the next tick
  for (auto& [id, p] : progress_) {
    p.recent_active = false;
    if (!p.silent)
      p.heard_tick = ticks_;  // alive until now: an interval to answer
    p.silent = false;
  }
}

// ---- inputs ------------------------------------------------------------------------------

void node::tick() {
  ++ticks_;
  if (role_ == role::leader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    for (auto& [id, p] : progress_) {
      if (!heard(id, p, opts_.election_ticks)) {
        // Gone, though it may hold the log: back, it must first reach the end as of then.
        p.dropped = true;
        mark_keep_up(p);
      } else {
        note_kept_up(p);  // an idle group's followers, which have nothing new to answer
      }
    }
    // Still leading long after timeout_now went, the transfer over: the target's campaign,
    // which a lease does not hold back, has ended without it (a candidate's timeout is below
    // two election timeouts); later campaigns wait for the lease like any other.
    if (handing_over_ && !transfer_target_ &&
        ticks_ - handed_over_tick_ >= 2 * opts_.election_ticks)
      handing_over_ = false;
    if (quiet_ && quiet_leader_tick())
      return;
    if (election_elapsed_ >= opts_.election_ticks) {
      election_elapsed_ = 0;
      transfer_target_.reset();  // a transfer that did not finish in an election timeout
      if (opts_.check_quorum) {
        size_t active = config_.is_voter(opts_.id) ? 1 : 0;
        for (auto& [id, p] : progress_) {
          if (config_.is_voter(id) && p.recent_active) {
            ++active;
          }
          p.recent_active = false;
        }
        if (active < config_.quorum()) {
          become_follower(term_, std::nullopt);
          return;
        }
      }
    }
    if (heartbeat_elapsed_ >= opts_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      // Idle for a few rounds: the last heartbeats tell the followers to go quiet too.
      quiet_rounds_ = may_quiesce() ? quiet_rounds_ + 1 : 0;
      quiet_ = quiet_rounds_ >= 3;
      broadcast_heartbeat();
    }
    return;
  }
  ++election_elapsed_;
  if (quiet_) {
    if (leader_ && opts_.liveness && opts_.liveness->alive(*leader_) &&
        ticks_ - quiet_heard_ <= 2 * int64_t{opts_.quiet_keepalive_ticks}) {
      election_elapsed_ = 0;
      return;
    }
    quiet_ = false;  // the leader's node went silent, or its keepalives stopped
  }
  // The only voter of its group (a partition of one replica growing into a group, its new
  // replicas learners yet) needs nobody's vote: it campaigns at once rather than leaving the
  // group without a leader for an election timeout.
  bool alone = config_.quorum() <= 1;
  if (promotable() && (election_elapsed_ >= randomized_timeout_ || alone)) {
    election_elapsed_ = 0;
    reset_election_timeout();
    campaign(opts_.pre_vote, false);
  }
}

void node::held_up(int64_t ticks) {
  if (role_ == role::leader && ticks + opts_.heartbeat_ticks >= opts_.election_ticks)
    become_follower(term_, std::nullopt);
}

void node::step(message m) {
  if (m.term > term_) {
    if (m.type == message_type::vote_request && !m.transfer && in_lease()) {
      wake();  // a quiet leader: the member campaigning has not heard from it
      return;  // stickiness: a leader is alive; do not let a rejoining node disrupt it
    }
    if ((m.type == message_type::vote_request && m.pre_vote) ||
        (m.type == message_type::vote_response && m.pre_vote && m.granted)) {
      // A pre-vote never changes terms.
    } else {
      bool from_leader = m.type == message_type::append || m.type == message_type::heartbeat ||
                         m.type == message_type::install_snapshot;
      become_follower(m.term, from_leader ? std::optional(m.from) : std::nullopt);
    }
  } else if (m.term < term_) {
    if (m.type == message_type::append || m.type == message_type::heartbeat ||
        m.type == message_type::install_snapshot) {
      // Tell a stale leader about the newer term so that it steps down.
      message r;
      r.type = message_type::heartbeat_response;
      r.to = m.from;
      send(r);
    } else if (m.type == message_type::vote_request && m.pre_vote) {
      message r;
      r.type = message_type::vote_response;
      r.to = m.from;
      r.pre_vote = true;
      r.granted = false;
      send(r);
    }
    return;
  }

  switch (m.type) {
    case message_type::vote_request:
      handle_vote_request(m);
      break;
    case message_type::vote_response:
      if ((role_ == role::pre_candidate && m.pre_vote) ||
          (role_ == role::candidate && !m.pre_vote)) {
        handle_vote_response(m);
      }
      break;
    case message_type::append:
    case message_type::heartbeat:
    case message_type::install_snapshot:
      if (role_ == role::leader) {
        return;  // two leaders in one term: impossible unless a test mutation is on
      }
      if (role_ != role::follower) {
        become_follower(term_, m.from);
      } else if (leader_ != m.from) {
        leader_ = m.from;
        if (eager_tries_ > 0) {
          eager_tries_ = 0;
          reset_election_timeout();
        }
        ready_.events.push_back({leadership_event_kind::leader_known, term_, m.from});
      }
      election_elapsed_ = 0;
      quiet_ = m.type == message_type::heartbeat && m.quiesce;
      if (quiet_)
        quiet_heard_ = ticks_;
      if (m.type == message_type::append) {
        handle_append(m);
      } else if (m.type == message_type::heartbeat) {
        handle_heartbeat(m);
      } else {
        handle_snapshot(m);
      }
      break;
    case message_type::append_response:
      if (role_ == role::leader) {
        wake();
        handle_append_response(m);
      }
      break;
    case message_type::heartbeat_response:
      if (role_ == role::leader) {
        handle_heartbeat_response(m);
      }
      break;
    case message_type::timeout_now:
      if (promotable() && role_ != role::leader) {
        campaign(false, true);
      }
      break;
  }
}

void node::handle_vote_request(const message& m) {
  bool can_vote = vote_ == m.from || (!vote_ && !leader_) || (m.pre_vote && m.term > term_);
  if (!m.pre_vote && opts_.mutations.double_vote) {
    can_vote = true;  // TEST ONLY: votes again in a term it already voted in
  }
  message r;
  r.type = message_type::vote_response;
  r.to = m.from;
  r.pre_vote = m.pre_vote;
  // A grant that counts only where most voters are rebuilding (handle_vote_response).
  r.rebuilding = rebuilding_;
  if (rebuilding_)
    ++votes_while_rebuilding_;
  if (can_vote && log_up_to_date(m.last_index, m.last_term)) {
    r.term = m.term;
    r.granted = true;
    if (!m.pre_vote) {
      vote_ = m.from;
      election_elapsed_ = 0;
      persist_hard_state();
    }
    send(r, !m.pre_vote);
  } else {
    r.granted = false;
    send(r);
  }
}

void node::handle_vote_response(const message& m) {
  if (!config_.is_voter(m.from)) {
    return;
  }
  if (m.pre_vote && m.granted && m.term != raft::term(term_.value() + 1)) {
    return;  // an answer to an older pre-vote round
  }
  votes_[m.from] = m.granted;
  if (m.granted && m.rebuilding && !opts_.mutations.count_rebuilding_votes) {
    rebuilding_grants_.insert(m.from);
  } else {
    rebuilding_grants_.erase(m.from);
  }
  // The grants of voters rebuilding (node::rebuilding) count only when they are a majority
  // themselves (a new group, whose voters all start without state); otherwise the others'
  // grants must make the majority on their own.
  size_t granted = 0;
  size_t granted_rebuilding = 0;
  size_t rejected = 0;
  for (node_id v : config_.voters) {
    auto it = votes_.find(v);
    if (it != votes_.end()) {
      if (!it->second) {
        ++rejected;
      } else if (rebuilding_grants_.contains(v)) {
        ++granted_rebuilding;
      } else {
        ++granted;
      }
    }
  }
  if (granted >= config_.quorum() || granted_rebuilding >= config_.quorum()) {
    if (role_ == role::pre_candidate) {
      campaign(false, false);
    } else {
      become_leader();
    }
  } else if (config_.voters.size() - rejected < config_.quorum()) {
    become_follower(term_, std::nullopt);
  }
}

void node::reply_append(node_id to, raft_index index) {
  message r;
  r.type = message_type::append_response;
  r.to = to;
  r.index = index;
  r.flushed = std::min(flushed_, matched_);
  r.commit = commit_;
  send(r);
}

raft_index node::find_conflict_by_term(raft_index index, raft::term t) const {
  raft_index floor = prev(first_index());
  while (index > floor) {
    auto ti = term_at(index);
    if (!ti || *ti <= t) {
      break;
    }
    index = prev(index);
  }
  return index;
}

void node::handle_append(message& m) {
  if (m.prev_index < commit_) {
    matched_ = std::max(matched_, commit_);
    reply_append(m.from, commit_);
    return;
  }
  auto pt = term_at(m.prev_index);
  if (!pt || *pt != m.prev_term) {
    message r;
    r.type = message_type::append_response;
    r.to = m.from;
    r.reject = true;
    r.index = m.prev_index;
    r.hint_index = find_conflict_by_term(std::min(m.prev_index, last_index()), m.prev_term);
    r.hint_term = term_at(r.hint_index).value_or(raft::term(0));
    send(r);
    return;
  }
  size_t k = 0;
  for (; k < m.entries.size(); ++k) {
    auto t = term_at(m.entries[k].index);
    if (!t || *t != m.entries[k].term) {
      break;
    }
  }
  raft_index last_new = m.entries.empty() ? m.prev_index : m.entries.back().last();
  if (k < m.entries.size()) {
    raft_index from = m.entries[k].index;
    // The message is this node's: its entries move into the log, their bytes not copied.
    std::vector<entry> rest(
        std::make_move_iterator(m.entries.begin() + static_cast<std::ptrdiff_t>(k)),
        std::make_move_iterator(m.entries.end()));
    append_local(from <= last_index() ? std::optional(from) : std::nullopt, std::move(rest));
  }
  matched_ = std::max(matched_, last_new);
  set_commit(std::min(m.commit, last_new));
  leader_commit_ = std::max(leader_commit_, m.commit);
  check_rebuilt();
  reply_append(m.from, last_new);
}

void node::handle_heartbeat(const message& m) {
  set_commit(std::min(m.commit, matched_));
  leader_commit_ = std::max(leader_commit_, m.index);
  check_rebuilt();
  message r;
  r.type = message_type::heartbeat_response;
  r.to = m.from;
  r.index = matched_;
  r.flushed = std::min(flushed_, matched_);
  r.commit = commit_;
  send(r);
}

void node::handle_snapshot(const message& m) {
  if (!m.snapshot) {
    return;
  }
  const auto& meta = m.snapshot->meta;
  if (meta.last_index <= commit_) {
    matched_ = std::max(matched_, commit_);
    reply_append(m.from, commit_);
    return;
  }
  auto t = term_at(meta.last_index);
  if (t && *t == meta.last_term) {
    // The log already holds the snapshot's last entry: keep it and move the commit up.
    matched_ = std::max(matched_, meta.last_index);
    set_commit(meta.last_index);
    reply_append(m.from, meta.last_index);
    return;
  }
  ready_.truncate_from.reset();
  ready_.entries.clear();
  ready_.install = *m.snapshot;
  base_config_ = meta.config;
  config_log_.clear();
  refresh_config();
  flushed_ = meta.last_index;  // the installation is durable
  matched_ = meta.last_index;
  commit_ = meta.last_index;
  ready_.commit = commit_;
  check_tickets();
  reply_append(m.from, meta.last_index);
}

// ---- leader ------------------------------------------------------------------------------

void node::send_append(node_id to, progress& p, bool allow_empty) {
  wake();  // something to send: the group is not idle
  if (p.state == progress::mode::snapshot || (p.state == progress::mode::probe && p.probe_sent) ||
      (p.state == progress::mode::replicate && p.inflight.size() >= opts_.max_inflight)) {
    return;
  }
  raft_index last = last_index();
  message m;
  m.type = message_type::append;
  m.to = to;
  m.commit = commit_;
  if (p.next > last) {
    if (!allow_empty && p.state != progress::mode::probe) {
      return;
    }
    m.prev_index = last;
  } else if (p.next >= first_index()) {
    // A follower out of sync that lacks committed entries is recovering (Kafka throttles
    // only replicas out of the ISR): its appends spend the recovery budget, and wait while it
    // is spent (the next heartbeat answer tries again). One in sync that trails the other
    // followers, which carry the commit past it, is replicating: throttled, it would fall
    // further behind.
    bool recovering = opts_.recovery != nullptr && p.next <= commit_ &&
                      !kept_up(p, std::max<int64_t>(1, opts_.in_sync_ticks));
    if (recovering && opts_.recovery->limited && opts_.recovery->available <= 0) {
      return;
    }
    m.entries = read(p.next, opts_.max_append_bytes);
    m.prev_index = prev(m.entries.front().index);
    if (recovering) {
      for (const auto& e : m.entries) {
        auto size = static_cast<int64_t>(e.size_bytes());
        opts_.recovery->available -= size;
        opts_.recovery->sent += size;
      }
    }
  } else {
    m.prev_index = raft_index(-1);
  }
  auto pt = m.prev_index >= raft_index(0) ? term_at(m.prev_index) : std::nullopt;
  if (!pt) {
    // The follower needs entries this log no longer holds: send the snapshot.
    message s;
    s.type = message_type::install_snapshot;
    s.to = to;
    s.snapshot = log_.load_snapshot();
    p.state = progress::mode::snapshot;
    p.pending_snapshot = s.snapshot->meta.last_index;
    p.inflight.clear();
    send(std::move(s));
    return;
  }
  m.prev_term = *pt;
  if (!m.entries.empty()) {
    raft_index sent_last = m.entries.back().last();
    if (p.state == progress::mode::replicate) {
      p.next = next(sent_last);
      p.inflight.push_back(sent_last);
    }
  }
  if (p.state == progress::mode::probe) {
    p.probe_sent = true;
  }
  send(std::move(m));
}

void node::broadcast_append() {
  for (auto& [id, p] : progress_) {
    send_append(id, p);
  }
}

void node::broadcast_commit() {
  if (role_ == role::leader)
    broadcast_heartbeat();
}

void node::broadcast_heartbeat() {
  for (auto& [id, p] : progress_) {
    message m;
    m.type = message_type::heartbeat;
    m.to = id;
    m.commit = std::min(p.match, commit_);
    m.index = commit_;  // uncapped: what a rebuilding follower must hold (check_rebuilt)
    m.quiesce = quiet_;
    send(std::move(m));
  }
}

void node::handle_append_response(const message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) {
    return;
  }
  progress& p = it->second;
  p.recent_active = true;
  p.heard_tick = ticks_;
  p.commit_known = std::max(p.commit_known, m.commit);
  if (m.reject) {
    if (p.state == progress::mode::snapshot) {
      return;
    }
    if (m.hint_index < p.match) {
      // The follower holds less than it once received: it crashed and lost its unflushed
      // tail, or lost what it had flushed too (its disk was replaced and it starts empty),
      // or this is an old answer. Its word is taken in every case: waiting for entries it
      // no longer holds would leave it behind for good, and an old answer costs a resend
      // that the next answer corrects (a lower flushed index only delays a commit: the
      // commit index never moves back).
      p.match = m.hint_index;
      p.flushed = std::min(p.flushed, m.hint_index);
    }
    if (m.index <= p.match || m.index >= p.next) {
      return;  // an answer to an append that no longer matters
    }
    raft_index hint = m.hint_index;
    if (m.hint_term > raft::term(0)) {
      hint = find_conflict_by_term(m.hint_index, m.hint_term);
    }
    p.next = std::max(std::min(m.index, next(hint)), next(p.match));
    p.state = progress::mode::probe;
    p.probe_sent = false;
    p.inflight.clear();
    send_append(m.from, p);
    return;
  }
  if (m.index > p.match) {
    p.match = m.index;
  }
  p.flushed = std::max(p.flushed, std::min(m.flushed, p.match));
  if (p.next <= p.match) {
    p.next = next(p.match);
  }
  if (p.state == progress::mode::probe ||
      (p.state == progress::mode::snapshot && p.match >= p.pending_snapshot)) {
    p.state = progress::mode::replicate;
    p.probe_sent = false;
    p.inflight.clear();
    p.next = next(p.match);
  }
  while (!p.inflight.empty() && p.inflight.front() <= m.index) {
    p.inflight.pop_front();
  }
  note_kept_up(p);
  maybe_commit();
  if (role_ != role::leader) {
    return;
  }
  if (transfer_target_ == m.from) {
    maybe_send_timeout_now(m.from, p);
  }
  send_append(m.from, p);
}

void node::handle_heartbeat_response(const message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) {
    return;
  }
  progress& p = it->second;
  p.recent_active = true;
  p.heard_tick = ticks_;
  p.commit_known = std::max(p.commit_known, m.commit);
  if (m.index > p.match) {
    p.match = m.index;
    if (p.next <= p.match) {
      p.next = next(p.match);
    }
  }
  p.flushed = std::max(p.flushed, std::min(m.flushed, p.match));
  if (m.index < p.match && p.state != progress::mode::snapshot) {
    // The follower does not know that it matches (it restarted) or lost a tail: probe at the
    // end of the log so that it learns the match and the commit index.
    p.match = std::max(p.flushed, m.index);
    p.state = progress::mode::probe;
    p.probe_sent = false;
    p.inflight.clear();
    p.next = std::min(p.next, next(last_index()));
    send_append(m.from, p, true);
  }
  note_kept_up(p);  // after the check above: a match the follower does not confirm is no proof
  maybe_commit();
  if (role_ != role::leader) {
    return;
  }
  bool stalled = false;
  if (p.state == progress::mode::replicate && p.match < last_index() && !p.inflight.empty()) {
    // No progress over two heartbeats while appends are outstanding: they were lost.
    stalled = p.match == p.match_at_heartbeat && ++p.stalled_heartbeats >= 2;
  } else {
    p.stalled_heartbeats = 0;
  }
  if (p.match != p.match_at_heartbeat) {
    p.stalled_heartbeats = 0;
  }
  p.match_at_heartbeat = p.match;
  if (p.state == progress::mode::probe) {
    p.probe_sent = false;
  } else if (stalled) {
    p.stalled_heartbeats = 0;
    p.state = progress::mode::probe;
    p.probe_sent = false;
    p.inflight.clear();
    p.next = next(p.match);
  } else if (p.state == progress::mode::snapshot) {
    // The snapshot may have been lost: try again from the probe state.
    p.state = progress::mode::probe;
    p.probe_sent = false;
  }
  if (p.match < last_index()) {
    send_append(m.from, p);
  }
  if (transfer_target_ == m.from) {
    maybe_send_timeout_now(m.from, p);
  }
}

void node::maybe_send_timeout_now(node_id to, const progress& p) {
  if (p.match == last_index()) {
    message m;
    m.type = message_type::timeout_now;
    m.to = to;
    send(std::move(m));
    handing_over_ = true;
    handed_over_tick_ = ticks_;
  }
}

void node::maybe_commit() {
  if (role_ != role::leader) {
    return;
  }
  std::vector<raft_index> acked;
  for (node_id v : config_.voters) {
    if (v == opts_.id) {
      acked.push_back(opts_.write_caching ? last_index() : std::min(flushed_, last_index()));
    } else if (auto it = progress_.find(v); it != progress_.end()) {
      // Write caching counts what a follower received; so does a TEST ONLY mutation.
      bool received = opts_.write_caching || opts_.mutations.ack_before_flush;
      acked.push_back(received ? it->second.match : it->second.flushed);
    } else {
      acked.push_back(raft_index(0));
    }
  }
  if (acked.empty()) {
    return;
  }
  std::sort(acked.begin(), acked.end(), std::greater<>());
  raft_index q = acked[config_.quorum() - 1];
  if (q <= commit_) {
    return;
  }
  // Only an entry of the leader's own term commits by counting replicas (Raft §5.4.2);
  // earlier entries commit with it. TEST ONLY mutation: skip that rule.
  if (term_at(q) == term_ || opts_.mutations.commit_old_term) {
    set_commit(q);
  }
}

void node::set_commit(raft_index c) {
  if (c <= commit_) {
    return;
  }
  STROM_ASSERT(c <= last_index(), "node {}: commit {} beyond the log end {}", opts_.id, c,
               last_index());
  commit_ = c;
  ready_.commit = c;
  check_tickets();
  if (role_ != role::leader) {
    return;
  }
  check_rebuilt();
  if (!leader_ready_ && commit_ >= term_start_) {
    leader_ready_ = true;
    ready_.events.push_back({leadership_event_kind::leader_ready, term_, opts_.id});
  }
  // A leader removed from the voters leads until that change commits, then steps down.
  if (!config_.is_voter(opts_.id) &&
      (config_log_.empty() || config_log_.rbegin()->first <= commit_)) {
    become_follower(term_, std::nullopt);
  }
}

void node::check_tickets() {
  while (!tickets_.empty()) {
    const ticket& t = tickets_.front();
    if (t.index > commit_) {
      break;
    }
    auto at = term_at(t.index);
    if (at && *at != t.term) {
      ready_.outcomes.push_back({t, ticket_outcome::lost});
    } else if (!at) {
      ready_.outcomes.push_back({t, ticket_outcome::unknown});
    } else if (t.last <= commit_) {
      ready_.outcomes.push_back({t, ticket_outcome::committed});
    } else {
      break;
    }
    tickets_.pop_front();
  }
}

// ---- requests ----------------------------------------------------------------------------

result<ticket> node::propose(std::vector<std::byte> payload, int32_t kafka_count) {
  if (kafka_count < 1) {
    return {errc::invalid_argument, "a data entry holds at least one Kafka offset"};
  }
  return propose_entry(entry_kind::data, std::move(payload), kafka_count);
}

result<ticket> node::propose_log_start(std::vector<std::byte> payload) {
  return propose_entry(entry_kind::log_start, std::move(payload), 0);
}

result<ticket> node::propose_entry(entry_kind kind, std::vector<std::byte> payload,
                                   int32_t kafka_count) {
  if (role_ != role::leader) {
    return errc::not_leader;
  }
  if (!leader_ready_) {
    return errc::leader_not_ready;
  }
  if (transfer_target_) {
    return errc::transfer_in_progress;
  }
  if (last_index().value() - commit_.value() >= opts_.max_uncommitted) {
    return errc::backpressure;
  }
  entry e = make_entry(kind);
  e.kafka_count = kafka_count;
  e.payload = std::move(payload);
  ticket t{term_, e.index, e.last()};
  append_local(std::move(e));
  tickets_.push_back(t);
  broadcast_append();
  maybe_commit();
  return t;
}

result<ticket> node::change_config(const config_change& change) {
  if (role_ != role::leader) {
    return errc::not_leader;
  }
  // A new leader commits an entry of its term (the term-start entry) before any change: the
  // single-server change bug (raft-dev, 2015).
  if (!leader_ready_) {
    return errc::leader_not_ready;
  }
  if (transfer_target_) {
    return errc::transfer_in_progress;
  }
  if (config_pending()) {
    return errc::config_change_pending;
  }
  configuration c = config_;
  node_id n = change.node;
  switch (change.what) {
    case config_change::kind::add_learner:
      if (c.is_member(n)) {
        return errc::invalid_config_change;
      }
      c.learners.insert(n);
      break;
    case config_change::kind::add_voter:
      if (c.is_member(n)) {
        return errc::invalid_config_change;
      }
      c.voters.insert(n);
      break;
    case config_change::kind::promote:
      if (!c.learners.contains(n)) {
        return errc::invalid_config_change;
      }
      c.learners.erase(n);
      c.voters.insert(n);
      break;
    case config_change::kind::remove:
      if (!c.is_member(n) || (c.is_voter(n) && c.voters.size() == 1)) {
        return errc::invalid_config_change;
      }
      c.voters.erase(n);
      c.learners.erase(n);
      break;
  }
  entry e = make_entry(entry_kind::configuration);
  e.config = c;
  ticket t{term_, e.index, e.last()};
  append_local(std::move(e));
  tickets_.push_back(t);
  broadcast_append();
  maybe_commit();
  return t;
}

status node::transfer_leadership(node_id to) {
  if (role_ != role::leader) {
    return errc::not_leader;
  }
  if (to == opts_.id || !config_.is_voter(to)) {
    return {errc::invalid_argument, "the target must be another voter"};
  }
  wake();
  transfer_target_ = to;
  election_elapsed_ = 0;
  auto& p = progress_.at(to);
  maybe_send_timeout_now(to, p);
  send_append(to, p);
  return {};
}

bool node::caught_up(node_id n, int64_t within_ticks) const {
  if (role_ != role::leader)
    return false;
  auto it = progress_.find(n);
  // A transfer waits for the rest anyway (proposals refused meanwhile) before it sends
  // timeout_now.
  return it != progress_.end() && config_.is_voter(n) &&
         kept_up(it->second, std::max(1, opts_.election_ticks / 2)) &&
         heard(n, it->second, within_ticks);
}

bool node::holds_commit(node_id n, int64_t within_ticks) const {
  if (role_ != role::leader)
    return false;
  auto it = progress_.find(n);
  return it != progress_.end() && config_.is_member(n) && it->second.match >= commit_ &&
         heard(n, it->second, within_ticks);
}

int64_t node::max_follower_lag() const {
  if (role_ != role::leader)
    return 0;
  int64_t lag = 0;
  for (const auto& [id, p] : progress_) {
    if (config_.is_voter(id))
      lag = std::max(lag, last_index().value() - p.match.value());
  }
  return lag;
}

std::optional<node_id> node::transfer_candidate(int64_t within_ticks) const {
  if (role_ != role::leader)
    return std::nullopt;
  std::optional<node_id> best;
  raft_index best_match{-1};
  for (const auto& [id, p] : progress_) {
    if (!config_.is_voter(id) || id == opts_.id || !heard(id, p, within_ticks))
      continue;
    if (p.match > best_match) {
      best = id;
      best_match = p.match;
    }
  }
  return best;
}

status node::compact(raft_index index, std::vector<std::byte> data) {
  if (index > commit_) {
    return {errc::snapshot_out_of_range, "compaction above the commit index"};
  }
  if (index <= prev(first_index())) {
    return {errc::snapshot_out_of_range, "compaction below the snapshot"};
  }
  auto es = read(index, 0);
  if (es.empty() || es.front().last() != index) {
    return {errc::invalid_argument, "a compaction point must end an entry"};
  }
  snapshot s;
  s.meta.last_index = index;
  s.meta.last_term = es.front().term;
  s.meta.next_kafka_offset = es.front().next_kafka_offset();
  auto it = config_log_.upper_bound(index);
  s.meta.config = it == config_log_.begin() ? base_config_ : std::prev(it)->second;
  s.data = std::move(data);
  base_config_ = s.meta.config;
  config_log_.erase(config_log_.begin(), it);
  ready_.compact = std::move(s);
  return {};
}

void node::set_write_caching(bool on) {
  opts_.write_caching = on;
  maybe_commit();
}

void node::on_flushed(raft_index index) {
  raft_index f = std::min(index, last_index());
  if (f <= flushed_) {
    return;
  }
  flushed_ = f;
  check_rebuilt();
  if (role_ == role::leader) {
    maybe_commit();
  } else if (leader_ && matched_ > raft_index(0)) {
    reply_append(*leader_, matched_);
  }
}

ready node::take_ready() {
  ready r = std::move(ready_);
  ready_ = ready{};
  return r;
}

}  // namespace strom::raft
