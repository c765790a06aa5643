#include "sim/cluster.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "strom/base/assert.h"
#include "strom/bytes/endian.h"
#include "strom/model/batch_builder.h"
#include "strom/model/record_batch.h"

namespace strom::sim {

using raft::node_id;
using raft::raft_index;

namespace {

/// Every simulated group's heartbeat interval; the lease of a produce's checks derives from it.
constexpr int heartbeat_ticks = 2;

std::vector<std::byte> encode_u64(uint64_t v) {
  std::vector<std::byte> out(sizeof(v));
  std::memcpy(out.data(), &v, sizeof(v));
  return out;
}
uint64_t decode_u64(const std::vector<std::byte>& b) {
  uint64_t v = 0;
  if (b.size() >= sizeof(v)) {
    std::memcpy(&v, b.data(), sizeof(v));
  }
  return v;
}
/// The batch header of an idempotent producer's data entry, its offsets assigned.
std::optional<model::batch_header> producer_batch(const raft::entry& e) {
  if (e.kind != raft::entry_kind::data) {
    return std::nullopt;
  }
  auto h = model::decode_header(e.payload);
  if (!h || h->producer_id < 0) {
    return std::nullopt;
  }
  h->base_offset = e.kafka_base.value();
  return *h;
}
}  // namespace

cluster::cluster(const sim_options& o) : opts_(o), rng_(o.seed) {
  quiesce_ = o.quiesce >= 0 ? o.quiesce > 0 : o.seed % 2 == 0;
  eager_first_ = o.eager_first >= 0 ? o.eager_first > 0 : o.seed / 4 % 2 == 1;
  outbox_ms_ = o.outbox_ms >= 0 ? o.outbox_ms
                                : (o.seed / 2 % 2 == 0 ? 0 : 1 + static_cast<int64_t>(o.seed % 4));
  faults_on_ = o.random_faults;
  network_faults_ = o.random_faults || o.network_faults;
  checker_.set_check_commit_rule(o.check_commit_rule);
  client_on_ = o.client;
  for (int i = 1; i <= o.nodes; ++i) {
    initial_.meta.config.voters.insert(node_id(i));
  }
  for (int i = o.nodes + 1; i <= o.nodes + o.learners; ++i) {
    initial_.meta.config.learners.insert(node_id(i));
  }
  nodes_.resize(static_cast<size_t>(o.nodes + o.learners));
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].id = static_cast<int>(i + 1);
    nodes_[i].disk = make_disk(o.disk, initial_);
  }
  for (auto& sn : nodes_) {
    start_node(sn);
  }
  producers_.resize(static_cast<size_t>(std::max(0, o.producers)));
  for (size_t i = 0; i < producers_.size(); ++i) {
    producers_[i].id = 1000 + static_cast<int64_t>(i);
  }
  if (faults_on_) {
    schedule(
        event{now_ + between(o.faults.fault_interval_ms / 2, o.faults.fault_interval_ms * 3 / 2),
              0,
              ev_kind::fault,
              0,
              0,
              {}});
  }
  if (client_on_) {
    schedule(
        event{now_ + between(1, 2 * o.faults.client_interval_ms), 0, ev_kind::client, 0, 0, {}});
  }
}

int64_t cluster::recovery_per_tick() const {
  if (opts_.recovery_bytes_per_tick >= 0)
    return opts_.recovery_bytes_per_tick;
  return opts_.seed % 3 == 0 ? 1024 + static_cast<int64_t>(opts_.seed / 3 % 7) * 512 : 0;
}

raft::options cluster::node_options(int id) {
  raft::options ro;
  ro.recovery = recovery_per_tick() > 0 ? &nodes_[idx(id)].recovery : nullptr;
  ro.id = node_id(id);
  ro.election_ticks = opts_.election_ticks;
  ro.heartbeat_ticks = heartbeat_ticks;
  ro.max_inflight = 8;
  ro.max_append_bytes = opts_.max_append_bytes;
  ro.max_uncommitted = 256;
  ro.random_seed =
      opts_.seed * 1000003ULL + static_cast<uint64_t>(id) * 7919ULL + nodes_[idx(id)].incarnation;
  ro.mutations = opts_.mutations;
  ro.pre_vote = opts_.pre_vote;
  ro.check_quorum = opts_.check_quorum;
  ro.eager_first_election = eager_first_ && id == 1;
  if (quiesce_) {
    ro.liveness = &nodes_[idx(id)].liveness;
    ro.quiet_keepalive_ticks = 5 * opts_.election_ticks;
  }
  return ro;
}

void cluster::schedule(event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

void cluster::mix(uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    hash_ ^= (v >> (i * 8)) & 0xff;
    hash_ *= 1099511628211ULL;
  }
}

void cluster::start_node(sim_node& sn) {
  sn.core = std::make_unique<raft::node>(node_options(sn.id), sn.disk->store(),
                                         sn.disk->hard_state().load());
  auto snap = sn.disk->store().load_snapshot();
  sn.applied = snap.meta.last_index;
  sn.sm_digest = decode_u64(snap.data);
  sn.producers = producers_before(sn, std::nullopt);
  for (const auto& other : nodes_) {
    sn.last_heard[other.id] = now_;  // a starting node gives every other one a timeout
  }
  sn.liveness.silent.clear();
  sn.last_flush_done = now_;
  sn.held = 0;
  checker_.on_start(sn.id, *sn.core, sn.disk->store());
  if (on_start)
    on_start(sn.id);
  schedule(event{now_ + between(1, opts_.tick_ms), 0, ev_kind::tick, sn.id, sn.incarnation, {}});
}

void cluster::crash(int n) {
  auto& sn = nodes_[idx(n)];
  if (!sn.core) {
    return;
  }
  mix(0xC4A54);
  mix(static_cast<uint64_t>(n));
  sn.core.reset();
  sn.disk->crash();
  ++sn.incarnation;
  ++crashes_;
  sn.held = 0;
  sn.outbox.clear();  // not sent yet: gone with the process
  sn.outbox_scheduled = false;
}

void cluster::restart(int n) {
  auto& sn = nodes_[idx(n)];
  if (sn.core) {
    return;
  }
  mix(0x5EA57);
  mix(static_cast<uint64_t>(n));
  start_node(sn);
}

void cluster::wipe(int n) {
  crash(n);
  auto& sn = nodes_[idx(n)];
  mix(0x3193E);
  mix(static_cast<uint64_t>(n));
  sn.lost_disk = std::move(sn.disk);
  sn.disk = make_disk(opts_.disk, initial_);
  ++sn.disk_generation;
  ++wipes_;
  // As a missing state file reads (raft::file_hard_state_store): a node without its state.
  (void)sn.disk->hard_state().save(raft::hard_state{raft::term(0), std::nullopt, true});
  checker_.on_wipe(n);
  start_node(sn);
}

void cluster::block(int from, int to) {
  blocked_.insert({from, to});
}
void cluster::unblock(int from, int to) {
  blocked_.erase({from, to});
}
void cluster::isolate(int n) {
  for (int i = 1; i <= size(); ++i) {
    if (i != n) {
      block(n, i);
      block(i, n);
    }
  }
}
void cluster::heal() {
  blocked_.clear();
}

void cluster::hold_flushes(int n, bool hold) {
  auto& sn = nodes_[idx(n)];
  sn.hold_flushes = hold;
  if (!hold) {
    for (; sn.held > 0; --sn.held) {
      schedule(event{now_, 0, ev_kind::flush_done, n, sn.incarnation, {}});
    }
  }
}

void cluster::send(const raft::message& m) {
  ++messages_;
  mix(static_cast<uint64_t>(m.type));
  mix(static_cast<uint64_t>(m.from.value()) << 32 | static_cast<uint32_t>(m.to.value()));
  if (blocked_.contains({m.from.value(), m.to.value()})) {
    return;
  }
  if (network_faults_ && chance(opts_.faults.drop)) {
    return;
  }
  int copies = network_faults_ && chance(opts_.faults.duplicate) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    event e;
    e.at = now_ + between(opts_.faults.min_delay_ms, opts_.faults.max_delay_ms);
    e.kind = ev_kind::deliver;
    e.node = m.to.value();
    e.incarnation = nodes_[idx(m.from.value())].disk_generation;  // the sender's disk
    e.msg = m;
    schedule(std::move(e));
  }
}

void cluster::send_outbox(sim_node& sn) {
  sn.outbox_scheduled = false;
  coalesced_ += static_cast<int64_t>(raft::coalesce(sn.outbox, opts_.max_append_bytes));
  for (const auto& [group, m] : sn.outbox) {
    net_.send(m);
  }
  sn.outbox.clear();
}

void cluster::apply_committed(sim_node& sn, raft_index commit) {
  while (sn.applied < commit && !failed()) {
    auto es = sn.disk->store().entries(raft::next(sn.applied), 16 * 1024);
    for (const auto& e : es) {
      if (e.last() > commit) {
        return;
      }
      checker_.on_apply(sn.id, e);
      if (on_apply)
        on_apply(sn.id, e);
      sn.sm_digest = sn.sm_digest * 1099511628211ULL ^ checker::fingerprint(e);
      sn.applied = e.last();
    }
  }
}

void cluster::process_ready(sim_node& sn) {
  while (sn.core && sn.core->has_ready() && !failed()) {
    raft::ready r = sn.core->take_ready();
    raft_index old_commit = r.commit ? std::min(sn.applied, *r.commit) : sn.applied;
    if (r.install) {
      auto st = sn.disk->store().install(*r.install);
      STROM_ASSERT(st.has_value(), "install: {}", st.error().message());
      sn.applied = r.install->meta.last_index;
      sn.sm_digest = decode_u64(r.install->data);
      sn.producers = producers_before(sn, std::nullopt);
      checker_.on_restore(sn.id, r.install->meta);
      mix(0x1257);
    }
    if (r.hard_state) {
      auto st = sn.disk->hard_state().save(*r.hard_state);
      if (!st) {
        crash(sn.id);
        return;
      }
      mix(static_cast<uint64_t>(r.hard_state->term.value()));
    }
    if (r.truncate_from || !r.entries.empty()) {
      auto st = sn.disk->store().append(r.truncate_from, r.entries);
      STROM_ASSERT(st.has_value(), "node {} append: {}", sn.id, st.error().message());
      checker_.on_append(sn.id, r.entries, sn.disk->store());
      if (r.truncate_from) {
        sn.producers = producers_before(sn, std::nullopt);  // holds r.entries already
      } else {
        for (const auto& e : r.entries) {
          if (auto h = producer_batch(e)) {
            sn.producers.record(*h, 0);
          }
        }
      }
      mix(static_cast<uint64_t>(sn.disk->store().last_index().value()));
    }
    if (sn.disk->dirty()) {
      sn.disk->begin_flush();
      int64_t d = faults_on_ && chance(opts_.faults.slow_fsync)
                      ? between(50, 300)
                      : between(opts_.faults.min_fsync_ms, opts_.faults.max_fsync_ms);
      sn.last_flush_done = std::max(sn.last_flush_done, now_ + d);
      schedule(event{sn.last_flush_done, 0, ev_kind::flush_done, sn.id, sn.incarnation, {}});
    }
    for (auto& o : r.messages) {
      sn.outbox.emplace_back(0, std::move(o.msg));
    }
    if (!sn.outbox.empty() && !sn.outbox_scheduled) {
      if (outbox_ms_ == 0) {
        send_outbox(sn);
      } else {
        sn.outbox_scheduled = true;
        schedule(event{
            now_ + between(1, outbox_ms_), 0, ev_kind::send_outbox, sn.id, sn.incarnation, {}});
      }
    }
    if (r.commit) {
      std::vector<node_view> views;
      for (const auto& n : nodes_) {
        views.push_back(node_view{n.id, n.core.get(), &n.disk->store(), n.disk.get(),
                                  n.disk->hard_state().load(), n.lost_disk.get()});
      }
      checker_.on_commit(views, sn.id, old_commit);
      apply_committed(sn, *r.commit);
      mix(static_cast<uint64_t>(r.commit->value()));
    }
    if (r.compact) {
      r.compact->data =
          snapshot_data(sn, opts_.producers_at_log_end
                                ? std::nullopt
                                : std::optional(r.compact->meta.next_kafka_offset.value()));
      auto st = sn.disk->store().compact(*r.compact);
      STROM_ASSERT(st.has_value(), "compact: {}", st.error().message());
    }
    for (const auto& ev : r.events) {
      mix(static_cast<uint64_t>(ev.kind) << 48 | static_cast<uint64_t>(ev.term.value()));
      if (ev.kind == raft::leadership_event_kind::became_leader) {
        ++elections_;
        checker_.on_became_leader(sn.id, *sn.core, sn.disk->store());
      }
    }
    for (const auto& oc : r.outcomes) {
      auto key = std::pair(oc.ticket.term.value(), oc.ticket.index.value());
      auto it = tickets_.find(key);
      if (it == tickets_.end() || it->second.node != sn.id ||
          it->second.incarnation != sn.incarnation) {
        continue;
      }
      if (oc.outcome == raft::ticket_outcome::committed) {
        checker_.on_ack(sn.id, oc.ticket, it->second.payload);
        if (it->second.producer >= 0) {
          producer_acked(static_cast<size_t>(it->second.producer), it->second.payload);
        }
      }
      mix(static_cast<uint64_t>(oc.outcome));
      tickets_.erase(it);
    }
  }
}

void cluster::observe() {
  std::vector<node_view> views;
  views.reserve(nodes_.size());
  for (const auto& n : nodes_) {
    views.push_back(node_view{n.id, n.core.get(), &n.disk->store(), n.disk.get(),
                              n.disk->hard_state().load(), n.lost_disk.get()});
  }
  checker_.observe(views);
}

bool cluster::step() {
  if (queue_.empty() || failed()) {
    return false;
  }
  event e = queue_.top();
  queue_.pop();
  now_ = e.at;
  ++steps_;
  mix(static_cast<uint64_t>(e.at));
  mix(static_cast<uint64_t>(e.kind) << 32 | static_cast<uint32_t>(e.node));
  switch (e.kind) {
    case ev_kind::deliver: {
      auto& sn = nodes_[idx(e.node)];
      if (!sn.core || blocked_.contains({e.msg.from.value(), e.msg.to.value()})) {
        break;
      }
      if (e.incarnation != nodes_[idx(e.msg.from.value())].disk_generation) {
        // Sent before the sender lost its disk: gone with the connections of that process
        // (a process restarts on a new disk long after what it sent before its end arrived).
        break;
      }
      mix(static_cast<uint64_t>(e.msg.type));
      sn.last_heard[e.msg.from.value()] = now_;
      sn.core->step(e.msg);
      process_ready(sn);
      break;
    }
    case ev_kind::send_outbox: {
      auto& sn = nodes_[idx(e.node)];
      if (sn.core && sn.incarnation == e.incarnation) {
        send_outbox(sn);
      }
      break;
    }
    case ev_kind::ping: {
      auto& sn = nodes_[idx(e.node)];
      if (sn.core && !blocked_.contains({e.msg.from.value(), e.node})) {
        sn.last_heard[e.msg.from.value()] = now_;
      }
      break;
    }
    case ev_kind::tick: {
      auto& sn = nodes_[idx(e.node)];
      if (!sn.core || sn.incarnation != e.incarnation) {
        break;
      }
      if (auto per_tick = recovery_per_tick(); per_tick > 0) {
        sn.recovery.available = std::min(sn.recovery.available + per_tick, 2 * per_tick);
      }
      if (quiesce_) {
        refresh_liveness(sn);
        if (++sn.ticks % 3 == 0) {
          ping(sn);
        }
      }
      sn.core->tick();
      if (sn.core->quiet() && sn.core->role() == raft::role::leader) {
        ++quiet_leader_ticks_;
      }
      process_ready(sn);
      if (sn.core && sn.incarnation == e.incarnation) {
        schedule(event{now_ + opts_.tick_ms, 0, ev_kind::tick, e.node, e.incarnation, {}});
      }
      break;
    }
    case ev_kind::flush_done: {
      auto& sn = nodes_[idx(e.node)];
      if (!sn.core || sn.incarnation != e.incarnation) {
        break;
      }
      if (sn.hold_flushes) {
        ++sn.held;
        break;
      }
      if (sn.disk->flushes_in_progress() == 0) {
        break;
      }
      if (faults_on_ && chance(opts_.faults.fsync_failure)) {
        crash(e.node);  // a failed fsync: the disk loses what was not flushed
        schedule(event{now_ + between(20, 500), 0, ev_kind::restart, e.node, 0, {}});
        break;
      }
      raft_index f = sn.disk->complete_flush();
      mix(static_cast<uint64_t>(f.value()));
      sn.core->on_flushed(f);
      process_ready(sn);
      break;
    }
    case ev_kind::restart:
      restart(e.node);
      break;
    case ev_kind::fault:
      if (faults_on_) {
        random_fault();
        schedule(event{now_ + between(opts_.faults.fault_interval_ms / 2,
                                      opts_.faults.fault_interval_ms * 3 / 2),
                       0,
                       ev_kind::fault,
                       0,
                       0,
                       {}});
      }
      break;
    case ev_kind::client:
      if (client_on_) {
        client_step();
        schedule(event{
            now_ + between(1, 2 * opts_.faults.client_interval_ms), 0, ev_kind::client, 0, 0, {}});
      }
      break;
  }
  observe();
  return true;
}

int64_t cluster::run_steps(int64_t steps) {
  int64_t start = steps_;
  while (steps_ - start < steps && step()) {
  }
  return steps_ - start;
}

void cluster::run_for(int64_t ms) {
  int64_t until = now_ + ms;
  while (!queue_.empty() && queue_.top().at <= until && step()) {
  }
  if (!failed()) {
    now_ = std::max(now_, until);
  }
}

bool cluster::run_until(const std::function<bool()>& pred, int64_t max_ms) {
  int64_t until = now_ + max_ms;
  while (!pred()) {
    if (queue_.empty() || queue_.top().at > until || !step()) {
      return pred();
    }
  }
  return true;
}

void cluster::settle() {
  if (failed() || opts_.settle_ms <= 0) {
    return;
  }
  faults_on_ = false;
  network_faults_ = false;
  client_on_ = false;
  heal();
  for (auto& sn : nodes_) {
    hold_flushes(sn.id, false);
    restart(sn.id);
  }
  int64_t max_ack = 0;
  for (int n = 1; n <= size(); ++n) {
    max_ack = std::max(max_ack, core(n).commit_index().value());
  }
  bool ok = run_until(
      [&] {
        int l = leader();
        if (l < 0) {
          return false;
        }
        for (int n = 1; n <= size(); ++n) {
          if (core(n).commit_index() < core(l).commit_index() ||
              core(n).commit_index().value() < max_ack) {
            return false;
          }
        }
        return true;
      },
      opts_.settle_ms);
  if (failed()) {
    return;
  }
  if (!ok) {
    checker_.fail(fmt::format("liveness: no converged ready leader within {} ms of healing",
                              opts_.settle_ms));
    return;
  }
  std::vector<node_view> views;
  for (const auto& n : nodes_) {
    views.push_back(node_view{n.id, n.core.get(), &n.disk->store(), n.disk.get(),
                              n.disk->hard_state().load(), n.lost_disk.get()});
  }
  checker_.check_converged(views);
}

std::string cluster::describe() const {
  std::string out;
  for (const auto& sn : nodes_) {
    if (!sn.core) {
      out += fmt::format("  node {} down, log [{}, {}] durable to {}\n", sn.id,
                         sn.disk->store().first_index(), sn.disk->store().last_index(),
                         sn.disk->durable_last_index());
      continue;
    }
    const auto& c = *sn.core;
    out += fmt::format(
        "  node {} {} term {} vote {} leader {} commit {} applied {} log [{}, {}] flushed {} "
        "durable {} {}\n",
        sn.id, raft::to_string(c.role()), c.term(), c.vote() ? c.vote()->value() : -1,
        c.leader() ? c.leader()->value() : -1, c.commit_index(), sn.applied,
        sn.disk->store().first_index(), sn.disk->store().last_index(), c.flushed_index(),
        sn.disk->durable_last_index(), raft::to_string(c.config()));
  }
  return out;
}

int cluster::leader() const {
  int best = -1;
  for (const auto& sn : nodes_) {
    if (sn.core && sn.core->is_ready_leader() &&
        (best < 0 || sn.core->term() > nodes_[idx(best)].core->term())) {
      best = sn.id;
    }
  }
  return best;
}

result<raft::ticket> cluster::propose(int n, int32_t kafka_count) {
  if (n < 1 || n > size()) {
    return raft::errc::not_leader;
  }
  auto& sn = nodes_[idx(n)];
  if (!sn.core) {
    return raft::errc::not_leader;
  }
  uint64_t payload = next_payload_++;
  auto t = sn.core->propose(sn.disk->make_payload(payload, kafka_count), kafka_count);
  if (t) {
    tickets_[std::pair(t->term.value(), t->index.value())] =
        pending_ticket{n, sn.incarnation, payload};
    mix(payload);
  }
  process_ready(sn);
  return t;
}

status cluster::transfer(int n, int to) {
  auto& sn = nodes_[idx(n)];
  if (!sn.core) {
    return raft::errc::not_leader;
  }
  auto st = sn.core->transfer_leadership(node_id(to));
  process_ready(sn);
  return st;
}

result<raft::ticket> cluster::change_config(int n, raft::config_change c) {
  auto& sn = nodes_[idx(n)];
  if (!sn.core) {
    return raft::errc::not_leader;
  }
  auto t = sn.core->change_config(c);
  process_ready(sn);
  return t;
}

status cluster::compact(int n) {
  auto& sn = nodes_[idx(n)];
  if (!sn.core || sn.applied <= sn.disk->store().snapshot_meta().last_index) {
    return raft::errc::snapshot_out_of_range;
  }
  auto st = sn.core->compact(sn.applied, encode_u64(sn.sm_digest));
  process_ready(sn);
  return st;
}

void cluster::force_election(int n) {
  auto& sn = nodes_[idx(n)];
  if (!sn.core) {
    return;
  }
  for (int i = 0;
       i < 2 * opts_.election_ticks && sn.core && sn.core->role() == raft::role::follower; ++i) {
    sn.core->tick();
  }
  process_ready(sn);
}

int cluster::pick(bool ready_only) {
  std::vector<int> leaders;
  for (const auto& sn : nodes_) {
    if (sn.core &&
        (ready_only ? sn.core->is_ready_leader() : sn.core->role() == raft::role::leader)) {
      leaders.push_back(sn.id);
    }
  }
  if (leaders.empty()) {
    return -1;
  }
  return leaders[static_cast<size_t>(between(0, static_cast<int64_t>(leaders.size()) - 1))];
}

void cluster::client_propose() {
  if (int n = pick(true); n > 0) {
    (void)propose(n, static_cast<int32_t>(between(1, 4)));
  }
}

void cluster::random_fault() {
  const auto& f = opts_.faults;
  double r = std::uniform_real_distribution<double>(0, 1)(rng_);
  int n = static_cast<int>(between(1, size()));
  int other = static_cast<int>(between(1, size()));
  mix(0xFA17);
  if (r < f.compaction) {
    (void)compact(n);
    return;
  }
  r -= f.compaction;
  if (r < f.transfer) {
    int l = leader();
    if (l > 0 && other != l) {
      (void)transfer(l, other);
    }
    return;
  }
  r -= f.transfer;
  if (r < f.log_start) {
    propose_log_start();
    return;
  }
  r -= f.log_start;
  if (r < f.wipe) {
    bool rebuilding = false;
    for (const auto& sn : nodes_) {
      rebuilding |= sn.core ? sn.core->rebuilding() : sn.disk->hard_state().load().rebuilding;
    }
    if (!rebuilding && f.membership == 0 && opts_.learners == 0) {
      wipe(n);
    }
    return;
  }
  r -= f.wipe;
  if (r < 0.22) {
    crash(n);
    schedule(event{now_ + between(20, 800), 0, ev_kind::restart, n, 0, {}});
  } else if (r < 0.34) {
    isolate(n);
  } else if (r < 0.44) {
    if (n != other) {
      block(n, other);
    }
  } else if (r < 0.70) {
    heal();
  }
}

::strom::cluster::producer_state cluster::producers_before(const sim_node& sn,
                                                           std::optional<int64_t> end) {
  ::strom::cluster::producer_state out;
  const auto& log = sn.disk->store();
  auto snap = log.load_snapshot();
  if (snap.data.size() > sizeof(uint64_t)) {
    if (auto st = out.decode(std::span(snap.data).subspan(sizeof(uint64_t))); !st) {
      checker_.fail(fmt::format("idempotence: node {} snapshot's producer state: {}", sn.id,
                                st.error().message()));
    }
  }
  for (raft_index i = log.first_index(); i <= log.last_index();) {
    auto es = log.entries(i, size_t{1} << 20);
    if (es.empty()) {
      break;
    }
    for (const auto& e : es) {
      auto h = producer_batch(e);
      if (h && (!end || h->base_offset < *end)) {
        out.record(*h, 0);
      }
    }
    i = raft::next(es.back().last());
  }
  return out;
}

std::vector<std::byte> cluster::snapshot_data(const sim_node& sn, std::optional<int64_t> end) {
  auto out = encode_u64(sn.sm_digest);
  if (producers_.empty()) {
    return out;
  }
  auto p = producers_before(sn, end).encode();
  out.insert(out.end(), p.begin(), p.end());
  return out;
}

void cluster::ping(sim_node& sn) {
  // The liveness signal of a broker pair: any frame counts, a ping when there is nothing else.
  for (const auto& other : nodes_) {
    if (other.id == sn.id || blocked_.contains({sn.id, other.id}) ||
        (network_faults_ && chance(opts_.faults.drop))) {
      continue;
    }
    event e;
    e.at = now_ + between(opts_.faults.min_delay_ms, opts_.faults.max_delay_ms);
    e.kind = ev_kind::ping;
    e.node = other.id;
    e.msg.from = raft::node_id(sn.id);
    schedule(std::move(e));
  }
}

void cluster::refresh_liveness(sim_node& sn) {
  sn.liveness.silent.clear();
  for (const auto& [id, at] : sn.last_heard) {
    if (id != sn.id && now_ - at > opts_.election_ticks * opts_.tick_ms) {
      sn.liveness.silent.insert(raft::node_id(id));
    }
  }
}

void cluster::client_step() {
  if (quiesce_) {
    // Now and then the clients pause, so that the group goes idle and quiet.
    if (now_ < client_idle_until_) {
      return;
    }
    if (chance(0.005)) {
      client_idle_until_ = now_ + between(300, 1500);
      return;
    }
  }
  double r = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (producers_.empty() || r < 0.45) {
    client_propose();
  } else if (r < 0.85) {
    producer_step();
  } else {
    consumer_read();
  }
}

void cluster::producer_step() {
  auto& p =
      producers_[static_cast<size_t>(between(0, static_cast<int64_t>(producers_.size()) - 1))];
  if (!p.in_flight) {
    p.in_flight = true;
    p.count = static_cast<int32_t>(between(1, 3));
    p.payload = next_payload_++;
    model::batch_builder b(static_cast<timestamp_ms>(p.payload));
    b.producer(p.id, 0, p.next_seq);
    for (int32_t i = 0; i < p.count; ++i) {
      auto v = fmt::format("{}/{}", p.id, p.next_seq + i);
      b.add(std::nullopt, std::optional<std::string_view>(v), static_cast<timestamp_ms>(p.payload));
    }
    p.batch = b.build();
    p.retry_at = now_;
  }
  if (now_ < p.retry_at) {
    return;
  }
  int n = pick(true);
  if (n < 0) {
    return;
  }
  auto& sn = nodes_[idx(n)];
  p.retry_at = now_ + between(20, 200);
  // The leader's checks before a produce (cluster::partition::serving and
  // replicate_through_group): one that heard from no majority within its lease may have been
  // deposed unawares, and one handing its leadership over may have a successor already; each
  // answers NOT_LEADER_OR_FOLLOWER, and the producer tries again.
  int lease = std::max(1, opts_.election_ticks - heartbeat_ticks - 1);
  if (sn.core->transferring() ||
      (lease > 2 * heartbeat_ticks && sn.core->heard_voters(lease) < sn.core->config().quorum())) {
    return;
  }
  auto h = model::decode_header(p.batch);
  STROM_ASSERT(h.has_value(), "a workload batch");
  // The leader's check of a produce (cluster::partition::check_producer): a retry of a batch
  // in its log is answered once that commits; nothing else may be refused, as every batch of
  // this producer before this one is committed.
  auto dup = sn.producers.check(*h);
  if (!dup) {
    checker_.fail(fmt::format("idempotence: leader {} refused producer {} sequence {}: {}", n, p.id,
                              p.next_seq, dup.error().message()));
    return;
  }
  mix(0x1D3 ^ static_cast<uint64_t>(p.id));
  if (*dup) {
    // Answered with the earlier batch's offsets once the high watermark passed them.
    if (high_watermark(sn) > (*dup)->last_offset) {
      producer_acked(static_cast<size_t>(&p - producers_.data()), p.payload);
    }
    return;
  }
  auto t = sn.core->propose(p.batch, p.count);
  if (t) {
    tickets_[std::pair(t->term.value(), t->index.value())] =
        pending_ticket{n, sn.incarnation, p.payload, static_cast<int>(&p - producers_.data())};
    mix(p.payload);
  }
  process_ready(sn);
}

int64_t cluster::high_watermark(const sim_node& sn) const {
  const auto& log = sn.disk->store();
  raft_index c = sn.core->commit_index();
  if (c < log.first_index() || c > log.last_index()) {
    return log.snapshot_meta().next_kafka_offset.value();
  }
  auto es = log.entries(c, 1);
  if (es.empty()) {
    return log.snapshot_meta().next_kafka_offset.value();
  }
  return c == es.front().last() ? es.front().next_kafka_offset().value()
                                : es.front().kafka_base.value();
}

void cluster::producer_acked(size_t k, uint64_t payload) {
  auto& p = producers_[k];
  if (!p.in_flight || p.payload != payload) {
    return;  // an answer to an earlier attempt of a batch acknowledged already
  }
  checker_.on_producer_ack(p.id, p.next_seq);
  p.next_seq += p.count;
  p.in_flight = false;
}

void cluster::consumer_read() {
  // A fetch from any node that believes it leads (a deposed one too): what it serves lies
  // below its high watermark, the Kafka offset after its commit index.
  int n = pick(false);
  if (n < 0) {
    return;
  }
  const auto& sn = nodes_[idx(n)];
  const auto& log = sn.disk->store();
  raft_index commit = std::min(sn.core->commit_index(), log.last_index());
  if (commit < log.first_index()) {
    return;
  }
  raft_index from(between(log.first_index().value(), commit.value()));
  for (const auto& e : log.entries(from, 4096)) {
    if (e.last() > commit) {
      break;
    }
    checker_.on_read(n, e);
  }
  mix(0xFE7C4 ^ static_cast<uint64_t>(from.value()));
}

void cluster::propose_log_start() {
  int l = leader();
  if (l < 0) {
    return;
  }
  auto& sn = nodes_[idx(l)];
  std::vector<std::byte> payload(sizeof(int64_t));
  int64_t hw = sn.disk->store().snapshot_meta().next_kafka_offset.value();
  bytes::write_be<int64_t>(payload.data(), between(hw, hw + 50));
  auto t = sn.core->propose_log_start(std::move(payload));
  if (t) {
    tickets_[std::pair(t->term.value(), t->index.value())] =
        pending_ticket{l, sn.incarnation, next_payload_++};
  }
  process_ready(sn);
}

}  // namespace strom::sim
