// A replicated partition: the partition's member of its Raft group (raft-design §2). The
// partition log is the Raft log (raft::storage_log_store), so a record is stored once; the
// group decides what commits, and the high watermark is the committed Kafka offset.

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "strom/base/logging.h"
#include "strom/bytes/endian.h"
#include "strom/cluster/partition.h"
#include "strom/cluster/topic_table.h"
#include "strom/metrics/metrics.h"
#include "strom/model/record_batch.h"
#include "strom/net/await.h"
#include "strom/raft/node.h"
#include "strom/raft/storage_log.h"

namespace strom::cluster {

namespace {

namespace asio = net::asio;
using raft::raft_index;

spdlog::logger& lg() {
  return logging::get("cluster");
}

// The state-machine bytes of a replicated partition's Raft snapshot (docs/storage-format.md):
// a magic, the log start a DeleteRecords set, the producer state's length and bytes, then the
// owner's state to the end. Snapshots written before the magic hold the producer state alone.
constexpr uint32_t snapshot_data_magic = 0x53505354;  // "SPST"
constexpr size_t snapshot_data_header = 16;

std::vector<std::byte> encode_snapshot_data(model::kafka_offset log_start,
                                            std::span<const std::byte> producers,
                                            std::span<const std::byte> state) {
  constexpr auto at = static_cast<ptrdiff_t>(snapshot_data_header);
  std::vector<std::byte> out(snapshot_data_header + producers.size() + state.size());
  bytes::write_be<uint32_t>(out.data(), snapshot_data_magic);
  bytes::write_be<int64_t>(out.data() + 4, log_start.value());
  bytes::write_be<uint32_t>(out.data() + 12, static_cast<uint32_t>(producers.size()));
  std::copy(producers.begin(), producers.end(), out.begin() + at);
  std::copy(state.begin(), state.end(),
            out.begin() + at + static_cast<ptrdiff_t>(producers.size()));
  return out;
}

struct snapshot_data {
  model::kafka_offset log_start{0};
  std::span<const std::byte> producers;
  std::span<const std::byte> state;
};

snapshot_data decode_snapshot_data(std::span<const std::byte> in) {
  if (in.size() < snapshot_data_header ||
      bytes::read_be<uint32_t>(in.data()) != snapshot_data_magic)
    return {model::kafka_offset(0), in, {}};
  auto start = std::max<int64_t>(0, bytes::read_be<int64_t>(in.data() + 4));
  auto rest = in.subspan(snapshot_data_header);
  auto n = bytes::read_be<uint32_t>(in.data() + 12);
  if (n > rest.size())
    return {model::kafka_offset(start), rest, {}};  // damaged: the producers' decoder refuses it
  return {model::kafka_offset(start), rest.first(n), rest.subspan(n)};
}

/// The log_start entry's offset (8 bytes, big-endian); nullopt for any other entry.
std::optional<int64_t> log_start_of(const raft::entry& e) {
  if (e.kind != raft::entry_kind::log_start || e.payload.size() != 8)
    return std::nullopt;
  return bytes::read_be<int64_t>(e.payload.data());
}

class partition_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "partition"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<partition_errc>(c)) {
      case partition_errc::not_leader:
        return "this broker does not lead the partition";
      case partition_errc::not_enough_replicas:
        return "fewer in-sync replicas than min.insync.replicas";
      case partition_errc::backpressure:
        return "too many uncommitted writes";
      case partition_errc::replica_failed:
        return "the replica stopped after a storage failure";
      case partition_errc::unsupported:
        return "not supported on a replicated partition";
      case partition_errc::fate_unknown:
        return "the leader stepped down before the write's fate was known";
    }
    return "unknown partition error";
  }
};

}  // namespace

const std::error_category& partition_category() {
  static const partition_category_impl c;
  return c;
}

/// The Raft side of a replicated partition. Owned by its partition (shared, so that flush
/// completions posted after the partition is gone find it expired).
struct replica_state : std::enable_shared_from_this<replica_state> {
  replica_state(partition& p, replica_options o) : part(p), opts(std::move(o)) {}

  partition& part;
  replica_options opts;
  std::unique_ptr<raft::storage_log_store> store;
  std::unique_ptr<raft::file_hard_state_store> hs;
  std::unique_ptr<raft::node> core;
  bool flushing = false;
  bool failed = false;
  bool destroyed = false;
  uint64_t elections_won = 0;
  /// Ticks since this replica stopped leading with acks=all writers still waiting.
  int64_t waiting_as_follower = 0;
  /// Ticks in a row this replica knew no leader, not leading itself (partition::orphaned).
  int64_t leaderless_ticks = 0;
  /// When the group last ticked (none yet: the epoch).
  std::chrono::steady_clock::time_point ticked_at{};
  /// Ticks after which the others may have elected another leader: an election timeout less
  /// the heartbeat interval the leader may have been silent before, and a tick of margin for
  /// the phase between the members' tickers (raft::node::held_up).
  [[nodiscard]] int lease_ticks() const {
    return std::max(1, opts.election_ticks - opts.heartbeat_ticks - 1);
  }
  /// Not ticked for longer than the lease by `now` (a stopped process, a starved thread): the
  /// others may have elected another leader meanwhile.
  [[nodiscard]] bool held_up(std::chrono::steady_clock::time_point now) const {
    return ticked_at != std::chrono::steady_clock::time_point{} &&
           now - ticked_at > opts.tick * lease_ticks();
  }
  /// An entry not yet known committed: the Kafka offset after it, and when this replica
  /// appended it as the leader (none: as a follower).
  struct pending_entry {
    model::kafka_next_offset next;
    std::optional<std::chrono::steady_clock::time_point> led_at;
  };
  /// Entries not yet known committed, by last Raft index.
  std::map<raft_index, pending_entry> pending;
  /// acks=all writers by the Raft index of their entry.
  struct waiter {
    raft::term term;
    std::function<void(status)> done;
  };
  std::map<raft_index, waiter> waiters;

  void fatal(const std::string& what, const error& e) {
    if (!failed)
      lg().error("{}: {}: {}; this replica stops taking part in the partition's group",
                 part.name().dir_name(), what, e.message());
    failed = true;
    fail_waiters(partition_errc::replica_failed);
  }
  void fail_waiters(partition_errc why) {
    auto ws = std::exchange(waiters, {});
    for (auto& [i, w] : ws)
      w.done(error(why));
  }
  void drain();
  void maybe_flush();
  /// A proposal's outcome for a writer: the ticket once appended (and sent), or why not.
  result<raft::ticket> proposed(result<raft::ticket> t) {
    if (!t) {
      if (t.error().is(raft::errc::backpressure))
        return error(partition_errc::backpressure);
      return error(partition_errc::not_leader, t.error().message());
    }
    drain();
    if (failed)
      return error(partition_errc::replica_failed);
    return t;
  }
  /// Completes once the entry of `t` committed (an error when the group dropped it).
  static net::awaitable<status> committed(std::shared_ptr<replica_state> rep, raft::ticket t) {
    auto start = [rep, t](std::function<void(status)> done) {
      rep->waiters[t.index] = replica_state::waiter{t.term, std::move(done)};
    };
    auto op = net::await_callback<status>(start);
    co_return co_await std::move(op);
  }
  /// log_start entries (replicated DeleteRecords) not applied yet: Raft index -> offset.
  std::map<raft_index, int64_t> log_starts;

  void on_commit(raft_index c);
  void on_appended(std::optional<raft_index> truncate_from, const std::vector<raft::entry>& es);
  /// A committed DeleteRecords: readers start at `x` from now on, and the log before the
  /// entry that holds `x` (no further than the commit) becomes a Raft snapshot.
  void apply_log_start(int64_t x);
  /// Replaces the log up to `upto` (at most the commit index) by a Raft snapshot holding the
  /// DeleteRecords log start, the producer state and the owner's `state` (retention,
  /// DeleteRecords, the owner's compaction); nothing when the snapshot reaches `upto`
  /// already. Returns whether the group took one; `why` names the cause in the log.
  bool compact(raft_index upto, std::span<const std::byte> state, std::string_view why,
               status* refused = nullptr) {
    if (upto <= store->snapshot_meta().last_index)
      return false;
    // The producers as of `upto`: batches after it may yet be cut by a truncation.
    auto es = store->entries(upto, 1);
    if (es.empty() || es.front().last() != upto) {
      if (refused)
        *refused = status{raft::errc::invalid_argument, "a compaction point must end an entry"};
      return false;
    }
    auto producers = part.producers_before(es.front().next_kafka_offset().value());
    if (!producers) {
      lg().warn("{}: {} at Raft index {}: reading the producer state: {}", part.name().dir_name(),
                why, upto.value(), producers.error().message());
      return false;
    }
    auto data = encode_snapshot_data(part.deleted_before_, producers->encode(), state);
    if (auto s = core->compact(upto, std::move(data)); !s) {
      lg().debug("{}: {} at Raft index {}: {}", part.name().dir_name(), why, upto.value(),
                 s.error().message());
      if (refused)
        *refused = std::move(s);
      return false;
    }
    return true;
  }
};

void replica_state::on_appended(std::optional<raft_index> truncate_from,
                                const std::vector<raft::entry>& es) {
  if (truncate_from) {
    pending.erase(pending.lower_bound(*truncate_from), pending.end());
    log_starts.erase(log_starts.lower_bound(*truncate_from), log_starts.end());
    // Batches of idempotent producers may have been cut: the state is read back from the
    // snapshot and the log, which holds `es` already.
    if (auto s = part.rebuild_producer_state(); !s)
      lg().warn("{}: producer state after a truncation: {}", part.name().dir_name(),
                s.error().message());
  }
  auto now = part.clock_.now_ms();
  // Timed for strom_replication_commit_latency_seconds: an entry this replica appended as the
  // leader (its own proposals; a follower's come from the leader's appends).
  std::optional<std::chrono::steady_clock::time_point> led_at;
  if (core->role() == raft::role::leader)
    led_at = std::chrono::steady_clock::now();
  for (const auto& e : es) {
    pending[e.last()] = {model::kafka_next_offset(e.next_kafka_offset().value()), led_at};
    if (auto x = log_start_of(e))
      log_starts[e.index] = *x;
    if (e.kind != raft::entry_kind::data || truncate_from)
      continue;
    auto h = model::decode_header(e.payload);
    if (h && h->producer_id >= 0) {
      auto stamped = *h;
      stamped.base_offset = e.kafka_base.value();
      part.producers_.record(stamped, now);
    }
  }
}

void replica_state::on_commit(raft_index c) {
  std::optional<model::kafka_next_offset> hw;
  bool exact = false;
  std::optional<std::chrono::steady_clock::time_point> now;
  while (!pending.empty() && pending.begin()->first <= c) {
    const auto& p = pending.begin()->second;
    hw = p.next;
    exact = pending.begin()->first == c;
    if (p.led_at) {
      if (!now)
        now = std::chrono::steady_clock::now();
      part.metrics_.commit_latency().Observe(
          std::chrono::duration<double>(*now - *p.led_at).count());
    }
    pending.erase(pending.begin());
  }
  if (!exact && c >= store->first_index() && c <= store->last_index()) {
    // An entry written before this replica started (or above the ones it tracks): read it.
    auto es = store->entries(c, 1);
    if (!es.empty()) {
      const auto& e = es.front();
      hw = model::kafka_next_offset(c == e.last() ? e.next_kafka_offset().value()
                                                  : e.kafka_base.value());
    }
  }
  if (hw)
    part.advance_high_watermark(*hw);
  while (!log_starts.empty() && log_starts.begin()->first <= c) {
    auto x = log_starts.begin()->second;
    log_starts.erase(log_starts.begin());
    apply_log_start(x);
  }
}

void replica_state::apply_log_start(int64_t x) {
  if (x <= part.log_start().value())
    return;
  part.deleted_before_ = model::kafka_offset(x);
  lg().info("{}: the log starts at {} (DeleteRecords)", part.name().dir_name(), x);
  // The entry holding x (its batch, or an internal entry positioned at it) stays; the ones
  // before it go through a snapshot, as retention's do.
  auto& log = *part.log_;
  auto base = x;
  if (x < log.log_end().value()) {
    storage::read_options ro;
    ro.max_bytes = 1;
    ro.min_one_batch = true;
    auto r = log.read(model::kafka_offset(x), ro);
    if (!r)
      return;
    auto buf = r->copy();
    if (!buf)
      return;
    auto h = model::decode_header(*buf);
    if (!h)
      return;
    base = std::min(x, h->base_offset);
  }
  // Core indexes count from 1, the log's from 0: the log index of the first entry at `base`
  // is the core index of the last entry before it.
  auto upto =
      std::min(raft_index(log.offsets().first_index_at(model::kafka_next_offset(base)).value()),
               core->commit_index());
  compact(upto, {}, "DeleteRecords");
}

void replica_state::drain() {
  if (failed || destroyed)
    return;
  // A new commit reaches the followers with the next append, or with the next heartbeat: not
  // a message to each follower (and its answer) for every commit, which under load cost more
  // than the appends. Clients read from leaders only; a follower's commit index serves a
  // later leadership, which commits an entry of its own term before it answers.
  while (core->has_ready()) {
    auto r = core->take_ready();
    if (r.install) {
      if (auto s = store->install(*r.install); !s)
        return fatal("installing a snapshot", s.error());
      pending.clear();
      auto data = decode_snapshot_data(r.install->data);
      log_starts.clear();
      part.deleted_before_ = std::max(part.deleted_before_, data.log_start);
      if (auto s = part.producers_.decode(data.producers); !s)
        lg().warn("{}: producer state of a snapshot: {}", part.name().dir_name(),
                  s.error().message());
      lg().info("{}: installed the leader's snapshot: the log starts again at offset {}",
                part.name().dir_name(), r.install->meta.next_kafka_offset.value());
      part.advance_high_watermark(
          model::kafka_next_offset(r.install->meta.next_kafka_offset.value()));
    }
    bool hs_saved = true;
    if (r.hard_state) {
      if (auto s = hs->save(*r.hard_state); !s) {
        fatal("saving the term and vote", s.error());
        hs_saved = false;
      }
    }
    if (r.truncate_from || !r.entries.empty()) {
      if (auto s = store->append(r.truncate_from, r.entries); !s)
        return fatal("appending to the log", s.error());
      on_appended(r.truncate_from, r.entries);
    }
    for (auto& m : r.messages) {
      if (!m.after_persist || hs_saved)
        opts.outbox->messages.emplace_back(opts.group, std::move(m.msg));
    }
    if (!hs_saved)
      return;
    if (r.commit)
      on_commit(*r.commit);
    if (r.compact) {
      // Retention: the snapshot (log start, producer state) replaces the log before it.
      if (auto s = store->compact(*r.compact); !s)
        lg().warn("{}: retention at Raft index {}: {}", part.name().dir_name(),
                  r.compact->meta.last_index.value(), s.error().message());
    }
    for (const auto& ev : r.events) {
      switch (ev.kind) {
        case raft::leadership_event_kind::leader_ready:
          part.epoch_ = model::leader_epoch(static_cast<int32_t>(ev.term.value()));
          ++elections_won;
          lg().info("{}: leader in term {}", part.name().dir_name(), ev.term.value());
          if (opts.on_leader)
            opts.on_leader(ev.term.value());
          break;
        case raft::leadership_event_kind::stepped_down:
          // The writers keep waiting: their entries may still commit under the next leader
          // (a leadership transfer), which this replica learns as a follower (tick() gives
          // up after two election timeouts).
          waiting_as_follower = 0;
          part.wake_waiters();  // fetches and retried writes waiting here look again
          break;
        default:
          break;
      }
    }
    for (const auto& out : r.outcomes) {
      auto it = waiters.find(out.ticket.index);
      if (it == waiters.end() || it->second.term != out.ticket.term)
        continue;
      auto w = std::move(it->second);
      waiters.erase(it);
      if (out.outcome == raft::ticket_outcome::committed)
        w.done(ok());
      else
        w.done(error(partition_errc::not_leader, "the write was not committed"));
    }
  }
  maybe_flush();
  opts.outbox->flush();
}

void replica_state::maybe_flush() {
  if (flushing || failed || !store->dirty())
    return;
  flushing = true;
  // Timed like a partition's own flush (partition::flush_async): from asking to completion.
  // The registry outlives the partition (the broker owns it); the completion may not.
  auto* latency = &part.metrics_.flush_latency();
  store->begin_flush([w = weak_from_this(), io = opts.io, latency,
                      asked = std::chrono::steady_clock::now()](status s) {
    latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
    asio::post(*io, [w, s = std::move(s)] {
      auto self = w.lock();
      if (!self || self->destroyed)
        return;
      self->flushing = false;
      if (!s)
        return self->fatal("flushing the log", s.error());
      self->core->on_flushed(self->store->flushed_index());
      self->drain();
    });
  });
}

status partition::enable_replication(replica_options o) {
  auto st = std::make_shared<replica_state>(*this, std::move(o));
  raft::snapshot initial;
  for (auto r : st->opts.bootstrap.empty() ? st->opts.replicas : st->opts.bootstrap)
    initial.meta.config.voters.insert(raft::node_id(r));
  initial.meta.next_kafka_offset = raft::kafka_offset(log_->log_end().value());
  if (log_->next_index().value() > 0 && log_->first_index().value() > 0) {
    // A log written before it was a group's (a partition with one replica that a move gives
    // more) whose start retention moved: the group's log starts there too, as after a
    // snapshot of what went before.
    initial.meta.last_index = raft_index(log_->first_index().value());
    initial.meta.next_kafka_offset = raft::kafka_offset(log_->log_start().value());
  }
  auto s = raft::storage_log_store::open(*log_, *st->opts.fs, clock_, initial);
  if (!s)
    return s.error();
  st->store = std::move(*s);
  auto h = raft::file_hard_state_store::open(*st->opts.fs, log_->path() / "raft.state");
  if (!h)
    return h.error();
  st->hs = std::move(*h);
  // A new group's epochs start above a deleted namesake's; a replica without state is a new
  // one unless it may stand for one this broker lost.
  auto loaded = st->hs->load();
  auto want = loaded;
  if (want.term.value() < st->opts.initial_term) {
    want.term = raft::term(st->opts.initial_term);
    want.vote.reset();
  }
  if (!st->hs->existed())
    want.rebuilding = st->opts.may_replace_lost;
  if (want != loaded)
    STROM_TRY(st->hs->save(want));
  raft::options ro;
  ro.id = raft::node_id(st->opts.self);
  ro.election_ticks = std::max(3, st->opts.election_ticks);
  ro.heartbeat_ticks = std::clamp(st->opts.heartbeat_ticks, 1, ro.election_ticks - 1);
  ro.max_append_bytes = std::max<size_t>(st->opts.max_append_bytes, 1);
  ro.random_seed = st->opts.random_seed;
  ro.recovery = st->opts.recovery;
  ro.in_sync_ticks = std::max<int64_t>(1, st->opts.in_sync_ticks);
  ro.liveness = st->opts.liveness;
  ro.quiet_keepalive_ticks = std::max(1, st->opts.quiet_keepalive_ticks);
  ro.write_caching = !settings_.flush_before_ack;
  // A new partition is led by its preferred replica from the start: no election won by
  // another replica, then a move of the leadership (and of its clients) a few seconds later.
  ro.eager_first_election =
      !st->opts.moving && !st->opts.replicas.empty() && st->opts.replicas.front() == st->opts.self;
  st->core = std::make_unique<raft::node>(ro, *st->store, st->hs->load());
  // The high watermark is what the group committed: nothing beyond the snapshot until the
  // leader says so (a restarted replica learns it within a heartbeat).
  auto snap = st->store->snapshot_meta();
  high_watermark_ = model::kafka_next_offset(log_->log_start().value());
  if (snap.last_index.value() > 0) {
    high_watermark_ =
        std::max(high_watermark_, model::kafka_next_offset(std::min(snap.next_kafka_offset.value(),
                                                                    log_->log_end().value())));
  }
  epoch_ = model::leader_epoch(-1);
  // A DeleteRecords the snapshot covers, and those in the log after it (applied again once
  // the commit index, learned anew, reaches them).
  deleted_before_ = decode_snapshot_data(st->store->load_snapshot().data).log_start;
  for (const auto& ie : log_->offsets().entries()) {
    auto i = raft_index(ie.index.value() + 1);
    if (i <= snap.last_index || i < st->store->first_index() || i > st->store->last_index())
      continue;
    auto es = st->store->entries(i, 1);
    if (!es.empty() && es.front().index == i) {
      if (auto x = log_start_of(es.front()))
        st->log_starts[i] = *x;
    }
  }
  rep_ = std::move(st);
  return ok();
}

net::awaitable<result<model::kafka_offset>> partition::delete_records_through_group(
    int64_t target) {
  auto rep = rep_;  // the partition may be dropped while this waits
  if (is_internal_topic(name_.topic)) {
    co_return error(partition_errc::unsupported,
                    "DeleteRecords on a replicated internal topic: its snapshot holds its state");
  }
  if (target <= log_start().value())
    co_return log_start();
  std::vector<std::byte> payload(8);
  bytes::write_be<int64_t>(payload.data(), target);
  auto t = rep->proposed(rep->core->propose_log_start(std::move(payload)));
  if (!t)
    co_return t.error();
  auto op = replica_state::committed(rep, *t);
  if (auto s = co_await std::move(op); !s)
    co_return s.error();
  co_return log_start();
}

void partition::stop_replication() {
  if (!rep_)
    return;
  rep_->destroyed = true;
  rep_->fail_waiters(partition_errc::fate_unknown);
}

status partition::serving() const {
  if (!rep_)
    return ok();
  if (rep_->failed)
    return error(partition_errc::replica_failed);
  if (!rep_->core->is_ready_leader())
    return error(partition_errc::not_leader);
  // Held up (a stopped process, a starved thread) for longer than it takes the others to elect
  // another leader, and not ticked since: this may be a deposed leader that has not heard of
  // its successor yet. Its next tick steps it down (raft::node::held_up).
  if (rep_->held_up(clock_.steady_now()))
    return error(partition_errc::not_leader, "held up for longer than an election timeout");
  // Not heard from a majority for that long (cut off, or its answers lost): the others may
  // have elected another leader, whose writes this one has not seen. Check-quorum steps it
  // down within an election timeout; until then it answers as a follower.
  // (Only where the lease spans a few heartbeats: a follower's last answer is up to a heartbeat
  // interval old at any time.)
  const auto& core = *rep_->core;
  if (rep_->lease_ticks() > 2 * rep_->opts.heartbeat_ticks &&
      core.heard_voters(rep_->lease_ticks()) < core.config().quorum())
    return error(partition_errc::not_leader, "no majority of replicas heard from lately");
  return ok();
}

bool partition::orphaned() const {
  if (!rep_ || rep_->failed || rep_->destroyed)
    return false;
  const auto& core = *rep_->core;
  // An election timeout without a leader: a leader held up (a stopped process) steps down as
  // it resumes and hears of its successor within a heartbeat; meanwhile it says
  // NOT_LEADER_OR_FOLLOWER, which sends clients to Metadata, where they find the successor.
  // A later term without a leader (a campaign that failed) changes nothing to clients: the
  // controller still names this replica until another leader reports itself.
  return rep_->leaderless_ticks >= rep_->opts.election_ticks && !core.leader() &&
         core.role() != raft::role::leader && epoch_.value() >= 0 &&
         core.term().value() >= epoch_.value() && !rep_->held_up(clock_.steady_now()) &&
         (!rep_->opts.named_leader || rep_->opts.named_leader(epoch_.value()));
}

status partition::readable() const {
  auto s = serving();
  if (!s && orphaned())
    return ok();
  return s;
}

std::optional<int64_t> partition::led_term() const {
  if (!rep_ || rep_->failed || rep_->destroyed || !rep_->core->is_ready_leader())
    return std::nullopt;
  return rep_->core->term().value();
}

bool partition::handing_over() const {
  return rep_ && !rep_->failed && !rep_->destroyed && rep_->core->handing_over();
}

std::vector<int32_t> partition::in_sync_replicas() const {
  std::vector<int32_t> out;
  if (!led_term())
    return out;
  for (auto id : rep_->core->in_sync_set(rep_->opts.in_sync_ticks))
    out.push_back(static_cast<int32_t>(id.value()));
  std::sort(out.begin(), out.end());
  return out;
}

void partition::tick() {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return;
  auto now = clock_.steady_now();
  if (rep_->held_up(now))  // the same test as serving()'s
    rep_->core->held_up(rep_->opts.election_ticks);
  rep_->ticked_at = now;
  rep_->core->tick();
  if (rep_->core->role() != raft::role::leader && !rep_->core->leader())
    ++rep_->leaderless_ticks;
  else
    rep_->leaderless_ticks = 0;
  if (rep_->core->role() != raft::role::leader && !rep_->waiters.empty()) {
    if (++rep_->waiting_as_follower > 2 * int64_t{rep_->opts.election_ticks})
      rep_->fail_waiters(partition_errc::fate_unknown);
  }
  rep_->drain();
}

void partition::step(raft::message m) {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return;
  rep_->core->step(std::move(m));
  rep_->drain();
}

void partition::set_write_caching(bool on) {
  if (!rep_ || rep_->failed || rep_->destroyed)
    return;
  rep_->core->set_write_caching(on);
  rep_->drain();
}

bool partition::move_to_preferred_leader() {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed || rep_->opts.replicas.empty())
    return false;
  auto& core = *rep_->core;
  auto preferred = raft::node_id(rep_->opts.replicas.front());
  if (!core.is_ready_leader() || preferred == core.id() || core.transferring() ||
      !core.caught_up(preferred, rep_->opts.election_ticks))
    return false;
  if (auto s = core.transfer_leadership(preferred); !s)
    return false;
  lg().info("{}: handing the leadership to its preferred replica, broker {}", name_.dir_name(),
            preferred.value());
  rep_->drain();
  return true;
}

result<int32_t> partition::transfer_leadership(std::optional<int32_t> target) {
  owner_.check();
  if (!rep_ || rep_->destroyed)
    return error(partition_errc::unsupported, "not a replicated partition");
  if (rep_->failed)
    return error(partition_errc::replica_failed);
  auto& core = *rep_->core;
  if (!core.is_ready_leader())
    return error(partition_errc::not_leader);
  std::optional<raft::node_id> to;
  if (target) {
    const auto& replicas = rep_->opts.replicas;
    if (*target == rep_->opts.self ||
        std::find(replicas.begin(), replicas.end(), *target) == replicas.end()) {
      return error(
          std::make_error_code(std::errc::invalid_argument),
          fmt::format("broker {} is not another replica of {}", *target, name_.dir_name()));
    }
    to = raft::node_id(*target);
  } else {
    to = core.transfer_candidate(rep_->opts.election_ticks);
    if (!to)
      return error(partition_errc::not_enough_replicas, "no other replica answers");
  }
  STROM_TRY(core.transfer_leadership(*to));
  lg().info("{}: handing the leadership to broker {} (asked by an operator)", name_.dir_name(),
            to->value());
  rep_->drain();
  return to->value();
}

size_t partition::apply_retention() {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return 0;
  auto point = log_->retention_point();
  if (!point)
    return 0;
  auto& core = *rep_->core;
  // Core indexes count from 1, the log's from 0; only what the group committed may go.
  auto upto = std::min(raft_index(point->value() + 1), core.commit_index());
  auto before = log_->log_start();
  if (!rep_->compact(upto, {}, "retention"))
    return 0;
  rep_->drain();
  return log_->log_start() > before ? 1 : 0;
}

std::optional<partition::checkpoint_point> partition::checkpoint_at() const {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return std::nullopt;
  checkpoint_point p;
  p.index = rep_->core->commit_index().value();
  p.end = high_watermark_;
  p.snapshot_index = rep_->store->snapshot_meta().last_index.value();
  return p;
}

std::vector<std::byte> partition::snapshot_state() const {
  owner_.check();
  if (!rep_)
    return {};
  auto snap = rep_->store->load_snapshot();
  auto state = decode_snapshot_data(snap.data).state;
  return {state.begin(), state.end()};
}

status partition::checkpoint(const checkpoint_point& p, std::span<const std::byte> state) {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return error(partition_errc::replica_failed);
  if (rep_->store->snapshot_meta().last_index.value() != p.snapshot_index)
    return error(partition_errc::not_leader, "the snapshot changed meanwhile");
  status refused = ok();
  if (rep_->compact(raft_index(p.index), state, "compaction", &refused))
    rep_->drain();
  return refused;
}

bool partition::hand_over_leadership() {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return false;
  auto& core = *rep_->core;
  core.set_electable(false);  // on its way out: never takes a partition (back)
  if (core.role() != raft::role::leader)
    return false;
  // A voter heard from within an election timeout, the most caught up first; with none, the
  // partition stays here (nobody could take it).
  auto to = core.transfer_candidate(rep_->opts.election_ticks);
  if (!to)
    return false;
  if (auto s = core.transfer_leadership(*to); !s) {
    lg().debug("{}: handing the leadership to {}: {}", name_.dir_name(), to->value(),
               s.error().message());
  }
  rep_->drain();
  return true;
}

void partition::set_assignment(std::vector<int32_t> replicas, bool moving) {
  owner_.check();
  if (!rep_ || replicas.empty())
    return;
  rep_->opts.replicas = std::move(replicas);
  rep_->opts.moving = moving;
}

bool partition::moving() const {
  return rep_ && rep_->opts.moving;
}

partition::membership partition::converge_membership() {
  owner_.check();
  if (!rep_ || rep_->failed || rep_->destroyed)
    return membership::none;
  auto& core = *rep_->core;
  if (!core.is_ready_leader())
    return membership::none;
  const auto& want = rep_->opts.replicas;
  auto wanted = [&want](raft::node_id n) {
    return std::find(want.begin(), want.end(), n.value()) != want.end();
  };
  const auto& cfg = core.config();
  if (core.config_pending())
    return membership::changing;
  auto change = [&](raft::config_change::kind k, raft::node_id n, std::string_view what) {
    auto t = core.change_config(raft::config_change{k, n});
    if (t) {
      lg().info("{}: broker {} {}", name_.dir_name(), n.value(), what);
      rep_->drain();
    } else {
      lg().debug("{}: broker {} {}: {}", name_.dir_name(), n.value(), what, t.error().message());
    }
    return membership::changing;
  };
  // A wanted replica the group lacks joins as a learner (no vote: the quorum stays as it is).
  for (auto r : want) {
    if (!cfg.is_member(raft::node_id(r)))
      return change(raft::config_change::kind::add_learner, raft::node_id(r),
                    "joins the partition's group as a learner");
  }
  // A learner that holds every committed entry becomes a voter; one no longer wanted leaves.
  for (auto l : cfg.learners) {
    if (!wanted(l))
      return change(raft::config_change::kind::remove, l, "leaves the partition's group");
    if (core.holds_commit(l, rep_->opts.election_ticks))
      return change(raft::config_change::kind::promote, l, "caught up: now a voter");
  }
  if (!cfg.learners.empty())
    return membership::changing;  // catching up
  // Every wanted replica votes: the others leave, the leader last.
  auto self = raft::node_id(rep_->opts.self);
  for (auto v : cfg.voters) {
    if (!wanted(v) && v != self)
      return change(raft::config_change::kind::remove, v, "leaves the partition's group");
  }
  if (!wanted(self)) {
    if (core.transferring())
      return membership::changing;  // under way (it times out by itself if it cannot end)
    std::optional<raft::node_id> to;
    for (auto r : want) {
      if (core.caught_up(raft::node_id(r), rep_->opts.election_ticks)) {
        to = raft::node_id(r);
        break;
      }
    }
    if (to && core.transfer_leadership(*to)) {
      lg().info("{}: handing the leadership to broker {}: this replica leaves the partition",
                name_.dir_name(), to->value());
      rep_->drain();
    }
    return membership::changing;
  }
  return membership::settled;
}

const std::vector<int32_t>& partition::replica_set() const {
  static const std::vector<int32_t> none;
  return rep_ ? rep_->opts.replicas : none;
}

uint64_t partition::group() const {
  return rep_ ? rep_->opts.group : 0;
}

std::optional<partition::replica_info> partition::replica() const {
  if (!rep_)
    return std::nullopt;
  replica_info i;
  const auto& c = *rep_->core;
  i.leader = c.is_ready_leader();
  i.term = c.term().value();
  i.leader_id = c.leader() ? c.leader()->value() : -1;
  i.commit_index = c.commit_index().value();
  i.last_index = c.last_index().value();
  i.in_sync = c.in_sync_voters(rep_->opts.in_sync_ticks);
  i.voters = c.config().voters.size();
  i.follower_lag = c.max_follower_lag();
  i.elections_won = rep_->elections_won;
  i.rebuilding = c.rebuilding();
  i.votes_while_rebuilding = c.votes_while_rebuilding();
  return i;
}

status partition::rebuild_producer_state() {
  auto fresh = producers_before(std::nullopt);
  if (!fresh) {
    producer_state empty(producers_.current_limits());
    producers_ = std::move(empty);
    return fresh.error();
  }
  producers_ = std::move(*fresh);
  return ok();
}

result<producer_state> partition::producers_before(std::optional<int64_t> end) const {
  producer_state out(producers_.current_limits());
  auto from = log_->log_start();
  if (rep_) {
    auto snap = rep_->store->load_snapshot();
    auto data = decode_snapshot_data(snap.data);
    if (snap.meta.last_index.value() > 0 && !data.producers.empty()) {
      if (auto s = out.decode(data.producers); !s) {
        lg().warn("{}: the producer state of the Raft snapshot at {}: {}", name_.dir_name(),
                  snap.meta.last_index.value(), s.error().message());
      } else {
        from = std::max(from, model::kafka_offset(snap.meta.next_kafka_offset.value()));
      }
    }
  }
  auto now = clock_.now_ms();
  STROM_TRY(log_->visit_headers(from, [&](const model::batch_header& h) {
    if (!end || h.base_offset < *end)
      out.record(h, std::min(h.max_timestamp, now));
  }));
  out.sort_by_last_seen();
  return out;
}

net::awaitable<result<partition::append_outcome>> partition::replicate_through_group(
    model::validated_batch batch, ack_level acks) {
  owner_.check();
  auto rep = rep_;  // the partition may be dropped while this waits
  if (auto s = serving(); !s) {
    if (orphaned())
      co_return error(partition_errc::not_enough_replicas,
                      "the leader lost its majority: too few replicas answer");
    co_return s.error();
  }
  // A leader handing its leadership over takes no new entry, and its successor may hold
  // batches of this producer it has not seen: the producer's state here is no answer.
  if (rep->core->transferring())
    co_return error(partition_errc::not_leader, "handing the leadership over");
  if (acks == ack_level::all && settings_.min_insync_replicas > 1 &&
      rep->core->in_sync_voters(rep->opts.in_sync_ticks) <
          static_cast<size_t>(settings_.min_insync_replicas)) {
    co_return error(partition_errc::not_enough_replicas,
                    fmt::format("{} in-sync replicas, min.insync.replicas is {}",
                                rep->core->in_sync_voters(rep->opts.in_sync_ticks),
                                settings_.min_insync_replicas));
  }
  auto checked = check_producer(batch.header());
  if (!checked)
    co_return checked.error();
  auto out = *checked;
  if (!out.duplicate) {
    if (settings_.log_append_time) {
      out.log_append_time = clock_.now_ms();
      batch.set_log_append_time(out.log_append_time);
    }
    auto count = static_cast<int32_t>(batch.header().offset_count());
    auto base = rep->store->next_kafka_offset().value();
    std::vector<std::byte> payload(batch.bytes().begin(), batch.bytes().end());
    auto t = rep->proposed(rep->core->propose(std::move(payload), count));
    if (!t)
      co_return t.error();
    out.offsets.base = model::kafka_offset(base);
    out.offsets.last = model::kafka_offset(base + count - 1);
    if (acks == ack_level::all) {
      auto op = replica_state::committed(rep, *t);
      if (auto s = co_await std::move(op); !s)
        co_return s.error();
    }
    co_return out;
  }
  // A producer's retry of a batch already in the log: acknowledged once it is committed.
  if (acks != ack_level::all)
    co_return out;
  while (high_watermark_.value() <= out.offsets.last.value()) {
    if (rep->destroyed || !rep->core->is_ready_leader())
      co_return error(partition_errc::fate_unknown);  // in the log; the next leader decides
    auto start = [this](std::function<void(status)> done) {
      add_waiter([done = std::move(done)] { done(ok()); });
    };
    auto op = net::await_callback<status>(start);
    (void)co_await std::move(op);  // woken: the high watermark moved, or leadership did
  }
  co_return out;
}

}  // namespace strom::cluster
