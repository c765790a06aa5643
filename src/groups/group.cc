#include "strom/groups/group.h"

#include <fmt/format.h>

#include "strom/bytes/cursor.h"
#include "strom/metrics/metrics.h"

#include <algorithm>
#include <set>

namespace strom::groups {

std::string_view to_string(group_state s) {
  switch (s) {
    case group_state::empty:
      return "Empty";
    case group_state::preparing_rebalance:
      return "PreparingRebalance";
    case group_state::completing_rebalance:
      return "CompletingRebalance";
    case group_state::stable:
      return "Stable";
    case group_state::dead:
      return "Dead";
  }
  return "Dead";
}

std::string_view to_string(errc e) {
  switch (e) {
    case errc::none:
      return "none";
    case errc::coordinator_load_in_progress:
      return "coordinator load in progress";
    case errc::coordinator_not_available:
      return "coordinator not available";
    case errc::not_coordinator:
      return "not coordinator";
    case errc::invalid_group_id:
      return "invalid group id";
    case errc::member_id_required:
      return "member id required";
    case errc::unknown_member_id:
      return "unknown member id";
    case errc::illegal_generation:
      return "illegal generation";
    case errc::rebalance_in_progress:
      return "rebalance in progress";
    case errc::invalid_session_timeout:
      return "invalid session timeout";
    case errc::inconsistent_group_protocol:
      return "inconsistent group protocol";
    case errc::fenced_instance_id:
      return "fenced instance id";
    case errc::group_max_size_reached:
      return "group max size reached";
    case errc::group_id_not_found:
      return "group id not found";
    case errc::non_empty_group:
      return "group not empty";
    case errc::group_subscribed_to_topic:
      return "group subscribed to topic";
    case errc::offset_metadata_too_large:
      return "offset metadata too large";
    case errc::unknown_topic_or_partition:
      return "unknown topic or partition";
    case errc::storage_error:
      return "offsets storage error";
    case errc::commit_too_large:
      return "offset commit too large";
  }
  return "unknown";
}

group::group(std::string id, const group_limits& limits, clock& clk, persist_fn persist,
             random_source& rng, metrics::registry& m)
    : id_(std::move(id)),
      limits_(limits),
      clock_(clk),
      random_(rng),
      metrics_(m),
      persist_(std::move(persist)),
      state_timestamp_(clk.now_ms()) {}

group::~group() = default;

void group::set_state(group_state s) {
  state_ = s;
  state_timestamp_ = now();
}

std::string group::new_member_id(const std::string& client_id) const {
  uint64_t a = random_.next(), b = random_.next();
  // A random (version 4) UUID, as Kafka forms member ids.
  return fmt::format("{}-{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", client_id, a >> 32,
                     (a >> 16) & 0xffff, a & 0xfff, ((b >> 48) & 0x3fff) | 0x8000,
                     b & 0xffffffffffffULL);
}

bool group::supports(const join_request& req) const {
  if (req.protocol_type.empty() || req.protocols.empty())
    return false;
  if (members_.empty())
    return true;
  if (req.protocol_type != protocol_type_)
    return false;
  // Some name the new member offers must be supported by every current member.
  for (const auto& p : req.protocols) {
    bool everyone = std::all_of(members_.begin(), members_.end(), [&](const auto& kv) {
      const auto& ps = kv.second.protocols;
      return std::any_of(ps.begin(), ps.end(), [&](const auto& q) { return q.name == p.name; });
    });
    if (everyone)
      return true;
  }
  return false;
}

errc group::check_member(const std::string& member_id,
                         const std::optional<std::string>& iid) const {
  if (iid) {
    auto it = static_members_.find(*iid);
    if (it != static_members_.end() && it->second != member_id)
      return errc::fenced_instance_id;
  }
  auto m = members_.find(member_id);
  if (m == members_.end())
    return errc::unknown_member_id;
  if (iid && m->second.instance_id != iid)
    return errc::fenced_instance_id;
  return errc::none;
}

void group::join(join_request req, join_callback cb) {
  auto fail = [&](errc e, std::string member_id = {}) {
    join_result r;
    r.error = e;
    r.member_id = std::move(member_id);
    cb(std::move(r));
  };
  if (state_ == group_state::dead)
    return fail(errc::coordinator_not_available, req.member_id);
  if (req.session_timeout_ms < limits_.min_session_timeout_ms ||
      req.session_timeout_ms > limits_.max_session_timeout_ms)
    return fail(errc::invalid_session_timeout, req.member_id);
  if (req.rebalance_timeout_ms < 0)
    req.rebalance_timeout_ms = req.session_timeout_ms;
  if (!supports(req))
    return fail(errc::inconsistent_group_protocol, req.member_id);

  if (req.member_id.empty()) {
    if (req.instance_id && static_members_.contains(*req.instance_id))
      return replace_static_member(std::move(req), std::move(cb));
    if (members_.size() + pending_members_.size() >= limits_.max_size)
      return fail(errc::group_max_size_reached);
    auto id = new_member_id(req.client_id);
    if (req.require_known_member_id && !req.instance_id) {
      // KIP-394: hand the id out first; the member must come back with it.
      pending_members_[id] = now() + req.session_timeout_ms;
      return fail(errc::member_id_required, id);
    }
    return add_member_and_rebalance(std::move(req), std::move(id), std::move(cb));
  }

  if (auto p = pending_members_.find(req.member_id); p != pending_members_.end()) {
    auto id = p->first;
    pending_members_.erase(p);
    if (members_.size() >= limits_.max_size)
      return fail(errc::group_max_size_reached, id);
    return add_member_and_rebalance(std::move(req), std::move(id), std::move(cb));
  }
  if (auto e = check_member(req.member_id, req.instance_id); e != errc::none)
    return fail(e, req.member_id);

  auto& m = members_.at(req.member_id);
  switch (state_) {
    case group_state::preparing_rebalance:
      return update_member_and_rebalance(m, std::move(req), std::move(cb));
    case group_state::completing_rebalance:
      if (m.protocols == req.protocols) {
        // A retried join: answer with the generation already formed.
        m.last_heard = now();
        return cb(current_join_result(m, leader_ == m.id));
      }
      return update_member_and_rebalance(m, std::move(req), std::move(cb));
    case group_state::stable:
      if (leader_ == m.id || m.protocols != req.protocols)
        return update_member_and_rebalance(m, std::move(req), std::move(cb));
      m.last_heard = now();
      return cb(current_join_result(m, false));
    case group_state::empty:
    case group_state::dead:
      return fail(errc::unknown_member_id, req.member_id);
  }
}

void group::replace_static_member(join_request req, join_callback cb) {
  auto old_id = static_members_.at(*req.instance_id);
  auto node = members_.extract(old_id);
  auto& old = node.mapped();
  // The previous incarnation's held requests are fenced.
  if (old.awaiting_join) {
    join_result r;
    r.error = errc::fenced_instance_id;
    r.member_id = old_id;
    std::exchange(old.awaiting_join, nullptr)(std::move(r));
  }
  if (old.awaiting_sync) {
    sync_result r;
    r.error = errc::fenced_instance_id;
    std::exchange(old.awaiting_sync, nullptr)(std::move(r));
  }
  auto id = new_member_id(req.client_id);
  node.key() = id;
  old.id = id;
  old.client_id = req.client_id;
  old.client_host = req.client_host;
  old.session_timeout_ms = req.session_timeout_ms;
  old.rebalance_timeout_ms = req.rebalance_timeout_ms;
  old.last_heard = now();
  static_members_[*req.instance_id] = id;
  if (leader_ == old_id)
    leader_ = id;
  auto& m = members_.insert(std::move(node)).position->second;

  if (state_ == group_state::stable) {
    bool same_protocol =
        protocol_ && std::any_of(req.protocols.begin(), req.protocols.end(),
                                 [&](const auto& p) { return p.name == *protocol_; });
    bool leader = leader_ == id;
    if (same_protocol && (!leader || req.can_skip_assignment)) {
      // KIP-345: a restarted static member gets its assignment back without a rebalance.
      m.protocols = std::move(req.protocols);
      auto gen = generation_;
      auto self = shared_from_this();
      auto answer = [self, id, gen, leader, cb = std::move(cb)](bool ok) {
        auto it = self->members_.find(id);
        if (!ok || it == self->members_.end() || self->generation_ != gen) {
          join_result r;
          r.error = ok ? errc::fenced_instance_id : errc::storage_error;
          r.member_id = id;
          return cb(std::move(r));
        }
        auto r = self->current_join_result(it->second, leader);
        r.skip_assignment = leader;
        cb(std::move(r));
      };
      persist_(snapshot(), std::move(answer));
      return;
    }
  }
  update_member_and_rebalance(m, std::move(req), std::move(cb));
}

void group::add_member_and_rebalance(join_request req, std::string id, join_callback cb) {
  if (members_.empty())
    protocol_type_ = req.protocol_type;
  member m;
  m.id = id;
  m.instance_id = req.instance_id;
  m.client_id = std::move(req.client_id);
  m.client_host = std::move(req.client_host);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = std::move(req.protocols);
  m.last_heard = now();
  m.join_order = next_join_order_++;
  m.awaiting_join = std::move(cb);
  m.is_new = true;
  if (m.instance_id)
    static_members_[*m.instance_id] = id;
  members_.emplace(id, std::move(m));
  if (state_ == group_state::preparing_rebalance && initial_delay_until_) {
    // New members keep arriving: wait a little longer, up to the rebalance timeout.
    initial_delay_until_ = std::min(now() + limits_.initial_rebalance_delay_ms, initial_delay_cap_);
  }
  if (state_ == group_state::preparing_rebalance)
    maybe_complete_join();
  else
    prepare_rebalance();
}

void group::update_member_and_rebalance(member& m, join_request req, join_callback cb) {
  m.protocols = std::move(req.protocols);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.client_id = std::move(req.client_id);
  m.client_host = std::move(req.client_host);
  m.last_heard = now();
  if (m.awaiting_join) {
    // A duplicate join replaces the earlier one, which is told to rejoin.
    join_result r;
    r.error = errc::rebalance_in_progress;
    r.member_id = m.id;
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
  m.awaiting_join = std::move(cb);
  if (state_ == group_state::preparing_rebalance)
    maybe_complete_join();
  else
    prepare_rebalance();
}

void group::prepare_rebalance() {
  if (state_ == group_state::completing_rebalance) {
    for (auto& [id, m] : members_) {
      m.assignment.clear();
      if (m.awaiting_sync) {
        sync_result r;
        r.error = errc::rebalance_in_progress;
        std::exchange(m.awaiting_sync, nullptr)(std::move(r));
      }
    }
  }
  bool was_empty = state_ == group_state::empty;
  int32_t timeout = 0;
  for (const auto& [id, m] : members_)
    timeout = std::max(timeout, m.rebalance_timeout_ms);
  set_state(group_state::preparing_rebalance);
  rebalance_deadline_ = now() + timeout;
  initial_delay_until_.reset();
  if (was_empty && limits_.initial_rebalance_delay_ms > 0) {
    initial_delay_cap_ = now() + std::max(timeout, limits_.initial_rebalance_delay_ms);
    initial_delay_until_ = std::min(now() + limits_.initial_rebalance_delay_ms, initial_delay_cap_);
  }
  maybe_complete_join();
}

bool group::all_joined() const {
  return pending_members_.empty() &&
         std::all_of(members_.begin(), members_.end(),
                     [](const auto& kv) { return bool(kv.second.awaiting_join); });
}

void group::maybe_complete_join() {
  if (state_ != group_state::preparing_rebalance || initial_delay_until_)
    return;
  if (all_joined())
    complete_join();
}

std::string group::select_protocol() const {
  // Candidates: names every member supports. Each member votes for its first candidate.
  std::vector<std::string> candidates;
  const member* first = nullptr;
  for (const auto& [id, m] : members_) {
    if (!first || m.join_order < first->join_order)
      first = &m;
  }
  for (const auto& p : first->protocols) {
    bool everyone = std::all_of(members_.begin(), members_.end(), [&](const auto& kv) {
      const auto& ps = kv.second.protocols;
      return std::any_of(ps.begin(), ps.end(), [&](const auto& q) { return q.name == p.name; });
    });
    if (everyone)
      candidates.push_back(p.name);
  }
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_) {
    for (const auto& p : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best;
  int most = -1;
  for (const auto& c : candidates) {  // ties go to the first member's preference
    if (votes[c] > most) {
      most = votes[c];
      best = c;
    }
  }
  return best;
}

const bytes* group::selected_metadata(const member& m) const {
  if (!protocol_)
    return nullptr;
  for (const auto& p : m.protocols) {
    if (p.name == *protocol_)
      return &p.metadata;
  }
  return nullptr;
}

join_result group::current_join_result(const member& m, bool with_members) const {
  join_result r;
  r.generation = generation_;
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_;
  r.leader = leader_.value_or("");
  r.member_id = m.id;
  if (with_members) {
    std::vector<const member*> order;
    for (const auto& [id, x] : members_)
      order.push_back(&x);
    std::sort(order.begin(), order.end(),
              [](const member* a, const member* b) { return a->join_order < b->join_order; });
    for (const auto* x : order) {
      const auto* md = selected_metadata(*x);
      r.members.push_back({x->id, x->instance_id, md ? *md : bytes{}});
    }
  }
  return r;
}

void group::complete_join() {
  // Members that did not rejoin in time are dropped.
  std::vector<std::string> gone;
  for (const auto& [id, m] : members_) {
    if (!m.awaiting_join)
      gone.push_back(id);
  }
  for (const auto& id : gone)
    remove_member(id);
  pending_members_.clear();
  initial_delay_until_.reset();
  ++generation_;
  if (members_.empty()) {
    protocol_.reset();
    leader_.reset();
    set_state(group_state::empty);
    persist_(snapshot(), [](bool) {});
    return;
  }
  protocol_ = select_protocol();
  if (!leader_ || !members_.contains(*leader_)) {
    const member* first = nullptr;
    for (const auto& [id, m] : members_) {
      if (!first || m.join_order < first->join_order)
        first = &m;
    }
    leader_ = first->id;
  }
  set_state(group_state::completing_rebalance);
  metrics_.rebalances().Increment();
  for (auto& [id, m] : members_) {
    auto r = current_join_result(m, id == *leader_);
    m.is_new = false;
    m.last_heard = now();
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
}

void group::sync(sync_request req, sync_callback cb) {
  auto fail = [&](errc e) {
    sync_result r;
    r.error = e;
    cb(std::move(r));
  };
  if (state_ == group_state::dead)
    return fail(errc::coordinator_not_available);
  if (auto e = check_member(req.member_id, req.instance_id); e != errc::none)
    return fail(e);
  if (req.generation != generation_)
    return fail(errc::illegal_generation);
  if ((req.protocol_type && *req.protocol_type != protocol_type_) ||
      (req.protocol_name && req.protocol_name != protocol_))
    return fail(errc::inconsistent_group_protocol);
  auto& m = members_.at(req.member_id);
  switch (state_) {
    case group_state::empty:
    case group_state::dead:
      return fail(errc::unknown_member_id);
    case group_state::preparing_rebalance:
      return fail(errc::rebalance_in_progress);
    case group_state::stable: {
      m.last_heard = now();
      sync_result r;
      r.protocol_type = protocol_type_;
      r.protocol_name = protocol_;
      r.assignment = m.assignment;
      return cb(std::move(r));
    }
    case group_state::completing_rebalance:
      break;
  }
  m.last_heard = now();
  if (m.awaiting_sync) {
    sync_result r;
    r.error = errc::rebalance_in_progress;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
  m.awaiting_sync = std::move(cb);
  if (leader_ != m.id || persisting_)
    return;
  // The leader's assignment: missing members get an empty one.
  for (auto& [id, x] : members_)
    x.assignment.clear();
  for (auto& [id, a] : req.assignments) {
    if (auto it = members_.find(id); it != members_.end())
      it->second.assignment = std::move(a);
  }
  persisting_ = true;
  auto self = shared_from_this();
  auto gen = generation_;
  persist_(snapshot(), [self, gen](bool ok) { self->on_persisted(gen, ok); });
}

void group::on_persisted(int32_t generation, bool ok) {
  persisting_ = false;
  if (state_ != group_state::completing_rebalance || generation != generation_)
    return;  // the rebalance moved on; held syncs were already answered
  if (!ok) {
    for (auto& [id, m] : members_) {
      m.assignment.clear();
      if (m.awaiting_sync) {
        sync_result r;
        r.error = errc::storage_error;
        std::exchange(m.awaiting_sync, nullptr)(std::move(r));
      }
    }
    prepare_rebalance();
    return;
  }
  set_state(group_state::stable);
  for (auto& [id, m] : members_) {
    if (!m.awaiting_sync)
      continue;
    sync_result r;
    r.protocol_type = protocol_type_;
    r.protocol_name = protocol_;
    r.assignment = m.assignment;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
}

errc group::heartbeat(const std::string& member_id, const std::optional<std::string>& iid,
                      int32_t generation) {
  if (state_ == group_state::dead)
    return errc::coordinator_not_available;
  if (auto e = check_member(member_id, iid); e != errc::none)
    return e;
  if (generation != generation_)
    return errc::illegal_generation;
  auto& m = members_.at(member_id);
  switch (state_) {
    case group_state::empty:
    case group_state::dead:
      return errc::unknown_member_id;
    case group_state::preparing_rebalance:
      m.last_heard = now();
      return errc::rebalance_in_progress;
    case group_state::completing_rebalance:
    case group_state::stable:
      m.last_heard = now();
      return errc::none;
  }
  return errc::none;
}

std::vector<errc> group::leave(const std::vector<leaving>& who) {
  std::vector<errc> out;
  bool removed = false;
  for (const auto& l : who) {
    if (state_ == group_state::dead) {
      out.push_back(errc::coordinator_not_available);
      continue;
    }
    std::string id = l.member_id;
    if (l.instance_id) {
      auto it = static_members_.find(*l.instance_id);
      if (it == static_members_.end()) {
        out.push_back(errc::unknown_member_id);
        continue;
      }
      if (!id.empty() && id != it->second) {
        out.push_back(errc::fenced_instance_id);
        continue;
      }
      id = it->second;
    }
    if (pending_members_.erase(id) > 0) {
      out.push_back(errc::none);
      removed = true;
      continue;
    }
    if (!members_.contains(id)) {
      out.push_back(errc::unknown_member_id);
      continue;
    }
    remove_member(id);
    removed = true;
    out.push_back(errc::none);
  }
  if (removed) {
    if (state_ == group_state::stable || state_ == group_state::completing_rebalance)
      prepare_rebalance();
    else if (state_ == group_state::preparing_rebalance)
      maybe_complete_join();
  }
  return out;
}

void group::remove_member(const std::string& id) {
  auto it = members_.find(id);
  if (it == members_.end())
    return;
  auto& m = it->second;
  if (m.awaiting_join) {
    join_result r;
    r.error = errc::unknown_member_id;
    r.member_id = id;
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
  if (m.awaiting_sync) {
    sync_result r;
    r.error = errc::unknown_member_id;
    std::exchange(m.awaiting_sync, nullptr)(std::move(r));
  }
  if (m.instance_id) {
    auto s = static_members_.find(*m.instance_id);
    if (s != static_members_.end() && s->second == id)
      static_members_.erase(s);
  }
  members_.erase(it);
  if (leader_ == id)
    leader_.reset();
}

errc group::check_commit(const std::string& member_id, const std::optional<std::string>& iid,
                         int32_t generation) {
  if (state_ == group_state::dead)
    return errc::coordinator_not_available;
  if (generation < 0 && member_id.empty() && !iid) {
    // A consumer that manages its own partitions (assign()): only while nobody is a member.
    return state_ == group_state::empty ? errc::none : errc::unknown_member_id;
  }
  if (auto e = check_member(member_id, iid); e != errc::none)
    return e;
  if (generation != generation_)
    return errc::illegal_generation;
  switch (state_) {
    case group_state::completing_rebalance:
      return errc::rebalance_in_progress;
    case group_state::stable:
    case group_state::preparing_rebalance:
      members_.at(member_id).last_heard = now();
      return errc::none;
    case group_state::empty:
    case group_state::dead:
      return errc::unknown_member_id;
  }
  return errc::none;
}

void group::tick() {
  auto t = now();
  std::erase_if(pending_members_, [t](const auto& kv) { return kv.second <= t; });
  if (state_ == group_state::dead)
    return;
  // Session expiry: a member that is not waiting in a join and has not been heard from.
  std::vector<std::string> expired;
  for (const auto& [id, m] : members_) {
    if (!m.awaiting_join && t - m.last_heard > m.session_timeout_ms)
      expired.push_back(id);
  }
  for (const auto& id : expired)
    remove_member(id);
  if (!expired.empty()) {
    if (state_ == group_state::stable || state_ == group_state::completing_rebalance)
      prepare_rebalance();
  }
  if (state_ != group_state::preparing_rebalance)
    return;
  if (initial_delay_until_ && t >= *initial_delay_until_)
    initial_delay_until_.reset();
  if (!initial_delay_until_ && (all_joined() || t >= rebalance_deadline_))
    complete_join();
}

void group::kill(errc reason) {
  for (auto& [id, m] : members_) {
    if (m.awaiting_join) {
      join_result r;
      r.error = reason;
      r.member_id = id;
      std::exchange(m.awaiting_join, nullptr)(std::move(r));
    }
    if (m.awaiting_sync) {
      sync_result r;
      r.error = reason;
      std::exchange(m.awaiting_sync, nullptr)(std::move(r));
    }
  }
  members_.clear();
  static_members_.clear();
  pending_members_.clear();
  leader_.reset();
  protocol_.reset();
  set_state(group_state::dead);
}

namespace {
// ConsumerProtocol subscription: version i16, topics [string] (i32 count, i16 lengths); the
// rest (user data, owned partitions, rack) is not needed here.
std::optional<std::vector<std::string>> subscription_topics(const bytes& b) {
  using ::strom::bytes::length_prefix;
  ::strom::bytes::cursor c(b);
  (void)c.read_int16();
  auto n = c.read_count(length_prefix::int32, 2);  // a string takes at least its length
  if (n < 0)
    return std::nullopt;
  std::vector<std::string> out;
  for (int64_t i = 0; i < n && c.ok(); ++i)
    out.emplace_back(c.read_string(length_prefix::int16));
  if (!c.ok())
    return std::nullopt;
  return out;
}
}  // namespace

std::optional<std::vector<std::string>> group::subscribed_topics() const {
  if (protocol_type_ != "consumer")
    return std::nullopt;
  std::set<std::string> all;
  for (const auto& [id, m] : members_) {
    const auto* md = selected_metadata(m);
    if (!md)
      return std::nullopt;
    auto t = subscription_topics(*md);
    if (!t)
      return std::nullopt;
    all.insert(t->begin(), t->end());
  }
  return std::vector<std::string>(all.begin(), all.end());
}

std::vector<member_snapshot> group::describe_members() const {
  std::vector<const member*> order;
  for (const auto& [id, m] : members_)
    order.push_back(&m);
  std::sort(order.begin(), order.end(),
            [](const member* a, const member* b) { return a->join_order < b->join_order; });
  std::vector<member_snapshot> out;
  for (const auto* m : order) {
    const auto* md = selected_metadata(*m);
    out.push_back({m->id, m->instance_id, m->client_id, m->client_host, m->rebalance_timeout_ms,
                   m->session_timeout_ms, md ? *md : bytes{}, m->assignment});
  }
  return out;
}

group_snapshot group::snapshot() const {
  group_snapshot s;
  s.protocol_type = protocol_type_;
  s.generation = generation_;
  s.protocol = protocol_;
  s.leader = leader_;
  s.state_timestamp = state_timestamp_;
  if (state_ == group_state::stable || state_ == group_state::completing_rebalance)
    s.members = describe_members();
  return s;
}

void group::restore(const group_snapshot& s) {
  members_.clear();
  static_members_.clear();
  pending_members_.clear();
  protocol_type_ = s.protocol_type;
  generation_ = s.generation;
  protocol_ = s.protocol;
  leader_ = s.leader;
  for (const auto& ms : s.members) {
    member m;
    m.id = ms.id;
    m.instance_id = ms.instance_id;
    m.client_id = ms.client_id;
    m.client_host = ms.client_host;
    m.rebalance_timeout_ms = ms.rebalance_timeout_ms;
    m.session_timeout_ms = ms.session_timeout_ms;
    if (protocol_)
      m.protocols.push_back({*protocol_, ms.subscription});
    m.assignment = ms.assignment;
    m.last_heard = now();
    m.join_order = next_join_order_++;
    if (m.instance_id)
      static_members_[*m.instance_id] = m.id;
    members_.emplace(m.id, std::move(m));
  }
  if (members_.empty()) {
    leader_.reset();
    state_ = group_state::empty;
  } else {
    state_ = group_state::stable;
  }
  state_timestamp_ = s.state_timestamp >= 0 ? s.state_timestamp : now();
}

}  // namespace strom::groups
