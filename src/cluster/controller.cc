#include "strom/cluster/controller.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "strom/base/blocking_pool.h"
#include "strom/base/logging.h"
#include "strom/base/random.h"
#include "strom/bytes/cursor.h"
#include "strom/bytes/writer.h"
#include "strom/model/batch_builder.h"
#include "strom/model/record_batch.h"
#include "strom/model/records.h"
#include "strom/raft/node.h"
#include "strom/raft/storage_log.h"
#include "strom/rpc/errc.h"
#include "strom/rpc/raft_network.h"
#include "strom/rpc/rpc.h"
#include "strom/storage/log.h"

namespace strom::cluster {

namespace {

namespace asio = net::asio;
using net::awaitable;
using rpc::bytes_t;
using steady = std::chrono::steady_clock;
using raft::raft_index;

spdlog::logger& lg() {
  return logging::get("cluster");
}

/// Inter-broker methods of the controller (rpc::raft_batch_method is 1).
constexpr uint16_t submit_method = 2;
constexpr uint16_t heartbeat_method = 3;
constexpr uint16_t usage_method = 4;
constexpr uint16_t applied_method = 5;

/// The most partitions one usage report names (the largest go first).
constexpr size_t max_usage_entries = 20000;

/// The controller log's name in its directory.
const model::ntp controller_ntp{"__controller", model::partition_id(0)};

/// A reply to submit or heartbeat: an error category (0: controller_errc, 1: topic_errc) and
/// code (0: none), the command's value, the controller log index it applied at, and a message.
struct reply {
  int8_t category = 0;
  int16_t code = 0;
  int64_t value = 0;
  int64_t index = 0;
  std::string message;
};

std::vector<std::byte> encode_reply(const reply& r) {
  bytes::writer w;
  w.put<int8_t>(r.category);
  w.put<int16_t>(r.code);
  w.put<int64_t>(r.value);
  w.put<int64_t>(r.index);
  w.put_string(r.message.size() > 1000 ? r.message.substr(0, 1000) : r.message);
  return w.take();
}

result<reply> decode_reply(std::span<const std::byte> in) {
  bytes::cursor c(in);
  reply r;
  r.category = c.read_int8();
  r.code = c.read_int16();
  r.value = c.read_int64();
  r.index = c.read_int64();
  r.message = std::string(c.read_string(bytes::length_prefix::int16));
  if (!c.ok() || !c.at_end())
    return error(controller_errc::corrupt, "controller reply");
  return r;
}

/// A usage report: the reporting broker and the bytes of the partitions it leads.
std::vector<std::byte> encode_usage(int32_t broker, std::vector<partition_bytes> parts) {
  if (parts.size() > max_usage_entries) {
    std::nth_element(parts.begin(), parts.begin() + max_usage_entries, parts.end(),
                     [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
    parts.resize(max_usage_entries);
  }
  bytes::writer w;
  w.put<int8_t>(0);  // version
  w.put<int32_t>(broker);
  w.put<int32_t>(static_cast<int32_t>(parts.size()));
  for (const auto& p : parts) {
    w.put_string(p.topic);
    w.put<int32_t>(p.partition);
    w.put<int64_t>(p.bytes);
  }
  return w.take();
}

result<std::pair<int32_t, std::vector<partition_bytes>>> decode_usage(
    std::span<const std::byte> in) {
  bytes::cursor c(in);
  auto version = c.read_int8();
  auto broker = c.read_int32();
  auto n = c.read_int32();
  if (!c.ok() || version != 0 || n < 0 || static_cast<size_t>(n) > max_usage_entries)
    return error(controller_errc::corrupt, "usage report");
  std::vector<partition_bytes> parts;
  parts.reserve(std::min(static_cast<size_t>(n), c.remaining() / 14));
  for (int32_t i = 0; i < n && c.ok(); ++i) {
    partition_bytes p;
    p.topic = std::string(c.read_string(bytes::length_prefix::int16));
    p.partition = c.read_int32();
    p.bytes = c.read_int64();
    parts.push_back(std::move(p));
  }
  if (!c.ok() || !c.at_end())
    return error(controller_errc::corrupt, "usage report");
  return std::pair(broker, std::move(parts));
}

reply error_reply(const error& e) {
  reply r;
  if (e.code().category() == controller_category()) {
    r.code = static_cast<int16_t>(e.code().value());
  } else if (e.code().category() == topic_category()) {
    r.category = 1;
    r.code = static_cast<int16_t>(e.code().value());
  } else {
    r.code = static_cast<int16_t>(controller_errc::invalid_command);
  }
  r.message = e.detail().empty() ? e.message() : e.detail();
  return r;
}

error reply_error(const reply& r) {
  if (r.category == 1)
    return error(static_cast<topic_errc>(r.code), r.message);
  return error(static_cast<controller_errc>(r.code), r.message);
}

bool is_not_controller(const reply& r) {
  return r.category == 0 && r.code == static_cast<int16_t>(controller_errc::not_controller);
}

/// A command as a controller log entry: a record batch of one record whose value is the
/// command (the controller log is a partition log).
std::vector<std::byte> to_batch(const controller_command& cmd, timestamp_ms now) {
  auto bytes = encode(cmd);
  model::batch_builder b(now);
  b.add(std::nullopt,
        std::optional<std::string_view>(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())),
        now);
  return b.build();
}

result<std::vector<controller_command>> from_batch(std::span<const std::byte> batch) {
  auto h = model::decode_header(batch);
  if (!h)
    return h.error();
  std::vector<controller_command> out;
  status failed;
  auto s = model::for_each_record(batch, *h, [&](const model::record_view& r) {
    if (!r.value) {
      failed = error(controller_errc::corrupt, "a controller record without a value");
      return false;
    }
    auto cmd = decode_command(*r.value);
    if (!cmd) {
      failed = cmd.error();
      return false;
    }
    out.push_back(std::move(*cmd));
    return true;
  });
  if (!s)
    return s.error();
  if (!failed)
    return failed.error();
  return out;
}

std::string random_cluster_id() {
  // 16 random bytes, URL-safe base64 without padding: the shape of Kafka's cluster ids.
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto& rnd = default_random();
  std::string id;
  for (int i = 0; i < 22; ++i)
    id += alphabet[rnd.next() % 64];
  return id;
}

}  // namespace

/// A caller waiting for a command's outcome, or for the controller to reach an index.
struct controller_waiter {
  explicit controller_waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  raft::term term{0};
  std::optional<result<int64_t>> res;
  void done(result<int64_t> r) {
    if (res)
      return;
    res = std::move(r);
    timer.cancel();
  }
};

struct controller::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& i, std::shared_ptr<io::file_system> f, clock& c, options opts)
      : io(i), fs(std::move(f)), clk(c), o(std::move(opts)) {}

  asio::io_context& io;
  std::shared_ptr<io::file_system> fs;
  clock& clk;
  options o;

  std::unique_ptr<blocking_pool> flush_pool;
  std::unique_ptr<storage::log> log;
  std::unique_ptr<raft::storage_log_store> store;
  std::unique_ptr<raft::file_hard_state_store> hs;
  std::unique_ptr<raft::node> core;
  std::unique_ptr<rpc::server> srv;
  std::unique_ptr<rpc::raft_network> net;
  uint16_t bound_port = 0;

  controller_stm stm;
  raft_index applied{0};
  raft_index snapshot_index{0};
  bool flushing = false;
  bool stopped = false;
  /// A flush of the partitions' messages is posted (send_group_messages).
  bool group_flush_posted = false;
  /// Other groups' messages of the inbound batch being delivered.
  std::vector<std::pair<uint64_t, raft::message>> inbound;
  bool failed = false;
  bool bootstrap_proposed = false;
  std::optional<int32_t> published_leader;
  int64_t published_applied = -1;
  uint64_t leader_changes = 0;
  bool published_caught_up = false;
  bool published_rebuilding = false;
  uint64_t published_rebuilding_votes = 0;
  bool caught_up = false;
  /// Leader: the commit index last broadcast.
  raft_index commit_told{0};
  /// The leader's applied index from its first heartbeat reply (-1: none yet).
  int64_t catch_up_target = -1;
  /// The leader another broker named when this one asked it (a broker outside the seeds learns
  /// the leader this way before the leader adds it to the group).
  std::optional<int32_t> leader_hint;
  /// The next seed a broker that knows no leader asks.
  size_t seed_turn = 0;
  /// Controlled shutdown under way: no more heartbeats, and this broker stays fenced.
  bool leaving = false;
  /// Brokers whose internal address is being resolved, and the addresses resolved so far.
  std::set<int32_t> resolving;
  std::map<int32_t, std::pair<std::string, int32_t>> resolved;

  /// Local proposals by Raft index.
  std::map<int64_t, std::shared_ptr<controller_waiter>> proposals;
  /// Callers waiting for the applied index to reach a value.
  std::multimap<int64_t, std::shared_ptr<controller_waiter>> index_waiters;
  /// Read barriers waiting for the next question to the leader, and whether one is out.
  std::vector<std::shared_ptr<controller_waiter>> sync_queue;
  bool sync_running = false;
  /// Leader only: when each broker last heartbeated, and when a change of it was last proposed.
  std::map<int32_t, steady::time_point> last_seen;
  std::map<int32_t, steady::time_point> proposed_at;
  /// Leader only (guarded by mu): the bytes of each partition as its leader last reported,
  /// when each broker last reported, and since when this broker leads.
  partition_usage_map usage;
  std::map<int32_t, steady::time_point> usage_seen;
  std::optional<steady::time_point> leading_since;
  /// When this broker last reported its own usage.
  steady::time_point usage_sent{};

  mutable std::mutex mu;  // guards view_ and board
  std::shared_ptr<rpc::peer_board> board;
  std::shared_ptr<const cluster_view> view_ = std::make_shared<const cluster_view>();

  status open();
  void fatal(const std::string& what, const error& e) {
    if (!failed)
      lg().critical("controller: {}: {}; this broker stops taking part in the controller group",
                    what, e.message());
    failed = true;
  }
  void drain();
  void maybe_flush();
  void apply_to(raft_index commit);
  void apply_entry(const raft::entry& e);
  void publish();
  result<raft::ticket> propose(const controller_command& cmd, std::shared_ptr<controller_waiter> w);
  void propose_quietly(const controller_command& cmd);
  void on_heartbeat(const broker_registration& reg);
  void on_usage(int32_t broker, std::vector<partition_bytes> parts);
  awaitable<void> report_usage();
  void check_liveness();
  [[nodiscard]] bool is_leader() const { return core && core->is_ready_leader(); }
  [[nodiscard]] std::optional<int32_t> leader() const {
    if (!core || !core->leader())
      return std::nullopt;
    return core->leader()->value();
  }
  void fail_waiters(controller_errc why);
  [[nodiscard]] bool is_seed(int32_t id) const {
    return std::any_of(o.voters.begin(), o.voters.end(),
                       [id](const voter& v) { return v.id == id; });
  }
  /// The leader as the group knows it, else as another broker named it.
  [[nodiscard]] std::optional<int32_t> known_leader() const {
    if (auto l = leader())
      return l;
    if (leader_hint && *leader_hint != o.self.id)
      return leader_hint;
    return std::nullopt;
  }
  /// Remembers the leader a not_controller reply names.
  void note_hint(const reply& r) {
    if (is_not_controller(r) && r.value >= 0 && r.value != o.self.id)
      leader_hint = static_cast<int32_t>(r.value);
    else
      leader_hint.reset();
  }
  /// The not_controller reply, naming the leader when this broker knows one.
  [[nodiscard]] reply not_controller_reply() const {
    auto r = error_reply(error(controller_errc::not_controller));
    r.value = leader().value_or(-1);
    return r;
  }
  void sync_peers();
  awaitable<void> resolve_peer(int32_t id, std::string host, int32_t port);
  void add_learners();
  void check_caught_up() {
    if (caught_up)
      return;
    // Caught up also takes this broker's own registration, as it is now and unfenced, applied:
    // until then the leader places no replica on it, and a client that this broker answers
    // (it names itself) would make topics that leave it out.
    auto self = stm.brokers().find(o.self.id);
    if (self == stm.brokers().end() || self->second.fenced || self->second.reg != o.self)
      return;
    if ((is_leader() && applied >= core->commit_index()) ||
        (catch_up_target >= 0 && applied.value() >= catch_up_target)) {
      caught_up = true;
      lg().info("controller: caught up at index {}", applied.value());
    }
  }

  awaitable<void> tick_loop();
  awaitable<void> heartbeat_loop();
  awaitable<result<int64_t>> submit(controller_command cmd, steady::time_point deadline);
  awaitable<void> leave(std::chrono::milliseconds limit);
  awaitable<status> sync(steady::time_point deadline);
  /// Asks the leader what it applied, for the barriers queued before the question, until none
  /// is queued.
  awaitable<void> sync_rounds();
  /// Completes `w` once this broker applied `index`.
  void when_applied(int64_t index, const std::shared_ptr<controller_waiter>& w) {
    if (applied.value() >= index)
      w->done(int64_t{0});
    else
      index_waiters.emplace(index, w);
  }
  /// Voters that are registered and not fenced, this broker included.
  [[nodiscard]] std::vector<int32_t> live_voters() const {
    std::vector<int32_t> out;
    for (const auto& v : o.voters) {
      auto b = stm.brokers().find(v.id);
      if (v.id == o.self.id || (b != stm.brokers().end() && !b->second.fenced))
        out.push_back(v.id);
    }
    return out;
  }
  awaitable<result<bytes_t>> serve_submit(bytes_t payload);
  awaitable<bool> wait(std::shared_ptr<controller_waiter> w, steady::time_point deadline);
  awaitable<void> sleep(std::chrono::milliseconds d);
};

status controller::impl::open() {
  STROM_TRY(fs->create_directories(o.dir));
  flush_pool = std::make_unique<blocking_pool>(1, "ctl-flush");
  storage::log_config cfg;
  cfg.segment_bytes = o.segment_bytes;
  cfg.retention_ms = -1;
  cfg.retention_bytes = -1;
  storage::log_recovery report;
  auto l = storage::log::open(controller_ntp,
                              storage::log::options{fs.get(), &clk, flush_pool.get(),
                                                    std::make_shared<storage::log_dir>(o.dir), cfg,
                                                    nullptr, nullptr, nullptr, nullptr},
                              false, report);
  if (!l)
    return l.error();
  log = std::move(*l);
  for (const auto& n : report.notes)
    lg().warn("controller log recovery: {}", n);

  raft::snapshot initial;
  for (const auto& v : o.voters)
    initial.meta.config.voters.insert(raft::node_id(v.id));
  auto s = raft::storage_log_store::open(*log, *fs, clk, initial);
  if (!s)
    return s.error();
  store = std::move(*s);
  auto h = raft::file_hard_state_store::open(*fs, log->path() / "raft.state");
  if (!h)
    return h.error();
  hs = std::move(*h);

  auto snap = store->load_snapshot();
  if (!snap.data.empty()) {
    auto restored = controller_stm::restore(snap.data);
    if (!restored)
      return restored.error();
    stm = std::move(*restored);
  }
  applied = snapshot_index = snap.meta.last_index;

  raft::options ro;
  ro.id = raft::node_id(o.self.id);
  auto ticks = [this](std::chrono::milliseconds d) {
    return std::max<int>(1, static_cast<int>(d.count() / std::max<int64_t>(1, o.tick.count())));
  };
  ro.election_ticks = std::max(3, ticks(o.election_timeout));
  ro.heartbeat_ticks = std::min(ro.election_ticks - 1, ticks(o.raft_heartbeat));
  ro.random_seed = default_random().next() ^ static_cast<uint64_t>(o.self.id);
  core = std::make_unique<raft::node>(ro, *store, hs->load());

  std::map<raft::node_id, net::tcp::endpoint> peers;
  for (const auto& v : o.voters) {
    if (v.id == o.self.id)
      continue;
    asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto found = resolver.resolve(v.host, std::to_string(v.port), ec);
    if (ec || found.empty()) {
      return error(std::make_error_code(std::errc::host_unreachable),
                   fmt::format("cannot resolve seed {} at {}: {}", v.id, v.host, ec.message()));
    }
    peers[raft::node_id(v.id)] = found.begin()->endpoint();
  }
  rpc::client::options co;
  co.connect_timeout = std::chrono::milliseconds(1000);
  co.backoff_max = std::chrono::milliseconds(1000);
  co.tls = o.peer_tls;
  net = std::make_unique<rpc::raft_network>(io, raft::node_id(o.self.id), std::move(peers), co);
  {
    std::lock_guard lock(mu);
    board = net->board();
  }
  rpc::server::options so;
  so.tls = o.listener_tls;
  srv = std::make_unique<rpc::server>(io, so);
  return {};
}

void controller::impl::drain() {
  if (stopped || failed)
    return;
  for (;;) {
    while (core->has_ready()) {
      auto r = core->take_ready();
      if (r.install) {
        if (auto s = store->install(*r.install); !s)
          return fatal("installing a snapshot", s.error());
        auto restored = controller_stm::restore(r.install->data);
        if (!restored)
          return fatal("restoring the state machine", restored.error());
        stm = std::move(*restored);
        applied = snapshot_index = r.install->meta.last_index;
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
          return fatal("appending to the controller log", s.error());
      }
      for (const auto& m : r.messages) {
        if (!m.after_persist || hs_saved)
          net->group(0).send(m.msg);
      }
      if (!hs_saved)
        return;
      if (r.commit)
        apply_to(*r.commit);
      if (r.compact) {
        if (auto s = store->compact(*r.compact); !s)
          lg().warn("controller snapshot: {}", s.error().message());
        else
          snapshot_index = r.compact->meta.last_index;
      }
      for (const auto& ev : r.events) {
        if (ev.kind == raft::leadership_event_kind::leader_ready) {
          lg().info("controller: this broker leads the controller group in term {}",
                    ev.term.value());
          last_seen.clear();
          proposed_at.clear();
          if (stm.cluster_id().empty() && !bootstrap_proposed) {
            bootstrap_proposed = true;
            propose_quietly(
                bootstrap_cmd{o.cluster_id.empty() ? random_cluster_id() : o.cluster_id});
          }
        } else if (ev.kind == raft::leadership_event_kind::stepped_down) {
          bootstrap_proposed = false;
        }
      }
      for (const auto& out : r.outcomes) {
        if (out.outcome == raft::ticket_outcome::committed)
          continue;
        auto it = proposals.find(out.ticket.index.value());
        if (it != proposals.end() && it->second->term == out.ticket.term) {
          it->second->done(error(controller_errc::not_controller, "the proposal was lost"));
          proposals.erase(it);
        }
      }
    }
    // A new commit goes to the followers at once: brokers apply a topic change within a round
    // trip of the leader, not a heartbeat interval later.
    if (is_leader() && core->commit_index() > commit_told) {
      commit_told = core->commit_index();
      core->broadcast_commit();
      continue;
    }
    break;
  }
  maybe_flush();
  net->flush();
  check_caught_up();
  publish();
}

void controller::impl::maybe_flush() {
  if (flushing || !store->dirty())
    return;
  flushing = true;
  store->begin_flush([w = weak_from_this(), &io = io](status s) {
    asio::post(io, [w, s = std::move(s)] {
      auto self = w.lock();
      if (!self || self->stopped)
        return;
      self->flushing = false;
      if (!s)
        return self->fatal("flushing the controller log", s.error());
      self->core->on_flushed(self->store->flushed_index());
      self->drain();
    });
  });
}

void controller::impl::apply_to(raft_index commit) {
  while (applied < commit && !failed) {
    auto from = raft::next(applied);
    if (from < store->first_index() || from > store->last_index())
      return fatal(
          "applying the controller log",
          error(controller_errc::corrupt, fmt::format("index {} is not in the log", from.value())));
    for (const auto& e : store->entries(from, 1u << 20)) {
      if (e.index > commit)
        break;
      apply_entry(e);
      applied = e.last();
    }
  }
  // Callers waiting for an index reached.
  while (!index_waiters.empty() && index_waiters.begin()->first <= applied.value()) {
    index_waiters.begin()->second->done(int64_t{0});
    index_waiters.erase(index_waiters.begin());
  }
  if (applied.value() - snapshot_index.value() >= o.snapshot_every) {
    if (auto s = core->compact(applied, stm.snapshot()); !s)
      lg().warn("controller snapshot at {}: {}", applied.value(), s.error().message());
  }
}

void controller::impl::apply_entry(const raft::entry& e) {
  if (e.kind != raft::entry_kind::data)
    return;
  auto waiter = proposals.find(e.index.value());
  std::shared_ptr<controller_waiter> w;
  if (waiter != proposals.end()) {
    w = waiter->second;
    proposals.erase(waiter);
    if (w->term != e.term) {
      w->done(error(controller_errc::not_controller, "the proposal was replaced"));
      w.reset();
    }
  }
  auto cmds = from_batch(e.payload);
  if (!cmds) {
    // Every broker refuses the same bytes the same way: the state machines stay equal.
    lg().error("controller entry {}: {}", e.index.value(), cmds.error().message());
    if (w)
      w->done(cmds.error());
    return;
  }
  for (const auto& cmd : *cmds) {
    auto r = stm.apply(e.index.value(), cmd);
    if (std::holds_alternative<bootstrap_cmd>(cmd) && r)
      lg().info("controller: cluster id {}", stm.cluster_id());
    if (const auto* f = std::get_if<fence_broker_cmd>(&cmd); f && r)
      lg().info("controller: broker {} {}", f->id, f->fenced ? "fenced" : "unfenced");
    if (const auto* reg = std::get_if<register_broker_cmd>(&cmd); reg && r)
      lg().info("controller: broker {} registered ({}:{})", reg->reg.id, reg->reg.host,
                reg->reg.port);
    if (w)
      w->done(std::move(r));
  }
}

void controller::impl::publish() {
  auto lead = leader();
  if (lead == published_leader && stm.applied_index() == published_applied &&
      caught_up == published_caught_up && core->rebuilding() == published_rebuilding &&
      core->votes_while_rebuilding() == published_rebuilding_votes)
    return;
  if (lead && lead != published_leader)
    ++leader_changes;
  published_leader = lead;
  published_applied = stm.applied_index();
  published_caught_up = caught_up;
  published_rebuilding = core->rebuilding();
  published_rebuilding_votes = core->votes_while_rebuilding();
  auto v = std::make_shared<cluster_view>();
  v->cluster_id = stm.cluster_id();
  v->controller_id = lead;
  v->leader_changes = leader_changes;
  v->brokers = stm.brokers();
  v->topics = stm.topics();
  v->cluster_configs = stm.cluster_configs();
  v->leaders = stm.leaders();
  v->epoch_floors = stm.epoch_floors();
  v->preferred_elections = stm.preferred_elections();
  v->security = stm.security();
  v->applied_index = stm.applied_index();
  v->caught_up = caught_up;
  v->rebuilding = published_rebuilding;
  v->votes_while_rebuilding = published_rebuilding_votes;
  {
    std::lock_guard lock(mu);
    view_ = std::move(v);
  }
  if (o.on_change)
    o.on_change();
}

result<raft::ticket> controller::impl::propose(const controller_command& cmd,
                                               std::shared_ptr<controller_waiter> w) {
  auto t = core->propose(to_batch(cmd, clk.now_ms()), 1);
  if (!t)
    return t.error();
  if (w) {
    w->term = t->term;
    proposals[t->index.value()] = std::move(w);
  }
  drain();
  return t;
}

void controller::impl::propose_quietly(const controller_command& cmd) {
  if (auto t = propose(cmd, nullptr); !t)
    lg().debug("controller proposal refused: {}", t.error().message());
}

void controller::impl::on_heartbeat(const broker_registration& reg) {
  auto now = clk.steady_now();
  last_seen[reg.id] = now;
  const auto& brokers = stm.brokers();
  auto it = brokers.find(reg.id);
  bool changed = it == brokers.end() || it->second.reg != reg;
  bool fenced = it != brokers.end() && it->second.fenced;
  if (!changed && !fenced)
    return;
  // One proposal per broker at a time (its effect shows in the state machine once applied).
  auto p = proposed_at.find(reg.id);
  if (p != proposed_at.end() && now - p->second < o.election_timeout)
    return;
  proposed_at[reg.id] = now;
  if (changed)
    propose_quietly(register_broker_cmd{reg});
  else
    propose_quietly(fence_broker_cmd{reg.id, false});
}

void controller::impl::on_usage(int32_t broker, std::vector<partition_bytes> parts) {
  auto topics = stm.topics();
  std::lock_guard lock(mu);
  usage_seen[broker] = clk.steady_now();
  for (auto& p : parts) {
    auto t = topics->find(p.topic);
    if (t != topics->end() && p.partition >= 0 && p.partition < t->second.partitions &&
        p.bytes >= 0)
      usage[{std::move(p.topic), p.partition}] = p.bytes;
  }
  // Partitions that are gone (deleted topics, fewer partitions of a topic made again).
  std::erase_if(usage, [&](const auto& e) {
    auto t = topics->find(e.first.first);
    return t == topics->end() || e.first.second >= t->second.partitions;
  });
  std::erase_if(usage_seen, [&](const auto& e) { return !stm.brokers().contains(e.first); });
}

awaitable<void> controller::impl::report_usage() {
  auto self = shared_from_this();
  auto now = clk.steady_now();
  if (stopped || failed || !net || !o.local_usage || now - usage_sent < o.usage_interval)
    co_return;
  usage_sent = now;
  if (is_leader()) {
    on_usage(o.self.id, o.local_usage());
    co_return;
  }
  auto to = known_leader();
  auto* c = to ? net->peer(raft::node_id(*to)) : nullptr;
  if (!c)
    co_return;
  auto call = c->call(usage_method, encode_usage(o.self.id, o.local_usage()), o.broker_heartbeat);
  if (auto r = co_await std::move(call); !r)
    STROM_LOG_LIMITED(lg(), debug, "usage report to controller {}: {}", *to, r.error().message());
}

void controller::impl::check_liveness() {
  auto now = clk.steady_now();
  for (const auto& [id, b] : stm.brokers()) {
    if (b.fenced || id == o.self.id)
      continue;
    auto seen = last_seen.try_emplace(id, now).first->second;  // a new leader's grace period
    if (now - seen <= o.broker_session_timeout)
      continue;
    auto p = proposed_at.find(id);
    if (p != proposed_at.end() && now - p->second < o.election_timeout)
      continue;
    proposed_at[id] = now;
    lg().warn("controller: broker {} missed its heartbeats for {} ms; fencing it", id,
              std::chrono::duration_cast<std::chrono::milliseconds>(now - seen).count());
    propose_quietly(fence_broker_cmd{id, true});
  }
}

void controller::impl::sync_peers() {
  // Brokers outside the seeds are reached at the internal address they registered; the seeds
  // keep the addresses of cluster.seeds.
  for (const auto& [id, b] : stm.brokers()) {
    if (id == o.self.id || is_seed(id) || b.reg.internal_host.empty() || b.reg.internal_port <= 0 ||
        b.reg.internal_port > 65535)
      continue;
    auto want = std::pair(b.reg.internal_host, b.reg.internal_port);
    if (auto r = resolved.find(id); r != resolved.end() && r->second == want)
      continue;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(b.reg.internal_host, ec);
    if (!ec) {
      net->add_peer(raft::node_id(id),
                    net::tcp::endpoint(addr, static_cast<uint16_t>(b.reg.internal_port)));
      resolved[id] = want;
    } else if (resolving.insert(id).second) {
      asio::co_spawn(io, resolve_peer(id, b.reg.internal_host, b.reg.internal_port),
                     asio::detached);
    }
  }
}

awaitable<void> controller::impl::resolve_peer(int32_t id, std::string host, int32_t port) {
  auto self = shared_from_this();
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto op = resolver.async_resolve(host, std::to_string(port),
                                   asio::redirect_error(asio::use_awaitable, ec));
  auto found = co_await std::move(op);
  resolving.erase(id);
  if (stopped || !net)
    co_return;
  if (ec || found.empty()) {
    STROM_LOG_LIMITED(lg(), warn, "controller: cannot resolve broker {} at {}: {}", id, host,
                      ec.message());
    co_return;
  }
  net->add_peer(raft::node_id(id), found.begin()->endpoint());
  resolved[id] = {host, port};
}

void controller::impl::add_learners() {
  // Every registered broker follows the controller log; one membership change at a time.
  for (const auto& [id, b] : stm.brokers()) {
    auto n = raft::node_id(id);
    if (core->config().is_member(n) || !net->peer(n))
      continue;
    auto t = core->change_config(raft::config_change{raft::config_change::kind::add_learner, n});
    if (t)
      lg().info("controller: broker {} joins the controller group as a learner", id);
    drain();
    return;
  }
}

void controller::impl::fail_waiters(controller_errc why) {
  for (auto& [i, w] : proposals)
    w->done(error(why));
  proposals.clear();
  for (auto& [i, w] : index_waiters)
    w->done(error(why));
  index_waiters.clear();
  for (auto& w : sync_queue)
    w->done(error(why));
  sync_queue.clear();
}

awaitable<void> controller::impl::sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(io);
  t.expires_after(d);
  boost::system::error_code ec;
  auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_await std::move(op);
}

awaitable<bool> controller::impl::wait(std::shared_ptr<controller_waiter> w,
                                       steady::time_point deadline) {
  if (!w->res) {
    w->timer.expires_at(deadline);
    boost::system::error_code ec;
    auto op = w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_await std::move(op);
  }
  co_return w->res.has_value();
}

awaitable<void> controller::impl::tick_loop() {
  auto self = shared_from_this();
  asio::steady_timer t(io);
  auto next = steady::now();
  while (!stopped) {
    next += o.tick;
    t.expires_at(next);
    boost::system::error_code ec;
    auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_await std::move(op);
    if (stopped)
      break;
    if (steady::now() - next > 10 * o.tick)
      next = steady::now();  // the thread was held up: do not tick in a burst
    if (failed)
      continue;
    core->tick();
    drain();
    // Every broker pair hears from each other at least this often (quiet partition groups
    // wait on it).
    if (net)
      net->keepalive(o.raft_heartbeat);
  }
}

awaitable<void> controller::impl::heartbeat_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto slept = sleep(o.broker_heartbeat);
    co_await std::move(slept);
    if (stopped || failed)
      break;
    sync_peers();
    {
      std::lock_guard lock(mu);
      if (!is_leader()) {
        leading_since.reset();
        usage.clear();
        usage_seen.clear();
      } else if (!leading_since) {
        leading_since = clk.steady_now();
      }
    }
    if (!leaving)
      asio::co_spawn(io, report_usage(), asio::detached);  // not to hold the heartbeat up
    if (is_leader()) {
      // Leaving, it stays fenced, but while it (still, or again) leads it keeps the liveness
      // of the others and the learners up to date.
      if (!leaving)
        on_heartbeat(o.self);
      check_liveness();
      add_learners();
      check_caught_up();
      publish();
      continue;
    }
    if (leaving)
      continue;
    // The leader, else a seed in turn: a seed that is not the leader names it.
    auto to = known_leader();
    if (!to) {
      std::vector<int32_t> others;
      for (const auto& v : o.voters) {
        if (v.id != o.self.id)
          others.push_back(v.id);
      }
      if (others.empty())
        continue;
      to = others[seed_turn++ % others.size()];
    }
    auto* c = net->peer(raft::node_id(*to));
    if (!c)
      continue;
    auto call = c->call(heartbeat_method, encode(register_broker_cmd{o.self}), o.broker_heartbeat);
    auto r = co_await std::move(call);
    auto rep = r ? decode_reply(*r) : result<reply>(r.error());
    if (stopped || failed)
      break;
    if (!rep) {
      STROM_LOG_LIMITED(lg(), debug, "heartbeat to controller {}: {}", *to, rep.error().message());
      leader_hint.reset();
      continue;
    }
    if (rep->code != 0) {
      note_hint(*rep);
      continue;
    }
    if (catch_up_target < 0) {
      catch_up_target = rep->index;
      check_caught_up();
      publish();
    }
  }
}

awaitable<result<int64_t>> controller::impl::submit(controller_command cmd,
                                                    steady::time_point deadline) {
  auto self = shared_from_this();
  while (true) {
    if (stopped)
      co_return error(controller_errc::shutting_down);
    if (steady::now() >= deadline)
      co_return error(controller_errc::timeout, "no controller leader answered in time");
    bool retry = false;
    if (is_leader() && !failed) {
      auto w = std::make_shared<controller_waiter>(io);
      auto t = propose(cmd, w);
      if (!t) {
        retry = true;
      } else {
        auto waited = wait(w, deadline);
        if (!co_await std::move(waited))
          co_return error(controller_errc::timeout, "the command did not commit in time");
        if (!*w->res && w->res->error().is(controller_errc::not_controller))
          retry = true;
        else
          co_return std::move(*w->res);
      }
    } else if (auto lead = known_leader(); lead && *lead != o.self.id && !failed) {
      auto* c = net->peer(raft::node_id(*lead));
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (c && left.count() > 0) {
        auto call = c->call(submit_method, encode(cmd), left);
        auto raw = co_await std::move(call);
        auto rep = raw ? decode_reply(*raw) : result<reply>(raw.error());
        if (!rep || is_not_controller(*rep)) {
          if (rep)
            note_hint(*rep);
          else
            leader_hint.reset();
          retry = true;
        } else if (rep->code != 0) {
          co_return reply_error(*rep);
        } else {
          // Read your writes: answer once this broker applied the command too.
          auto w = std::make_shared<controller_waiter>(io);
          if (applied.value() < rep->index)
            index_waiters.emplace(rep->index, w);
          else
            w->done(int64_t{0});
          auto waited = wait(w, deadline);
          if (!co_await std::move(waited))
            co_return error(controller_errc::timeout, "the command did not reach this broker");
          if (!*w->res)
            co_return w->res->error();
          co_return rep->value;
        }
      } else {
        retry = true;
      }
    } else {
      retry = true;
    }
    if (retry) {
      auto slept = sleep(std::max(o.tick, std::chrono::milliseconds(20)));
      co_await std::move(slept);
    }
  }
}

awaitable<status> controller::impl::sync(steady::time_point deadline) {
  auto self = shared_from_this();
  if (stopped || failed)
    co_return error(controller_errc::shutting_down);
  auto w = std::make_shared<controller_waiter>(io);
  if (is_leader()) {
    when_applied(core->commit_index().value(), w);
  } else {
    sync_queue.push_back(w);
    if (!sync_running) {
      sync_running = true;
      asio::co_spawn(io, sync_rounds(), asio::detached);
    }
  }
  auto waited = wait(w, deadline);
  if (!co_await std::move(waited))
    co_return error(controller_errc::timeout, "this broker did not catch up with the controller");
  if (!*w->res)
    co_return w->res->error();
  co_return ok();
}

awaitable<void> controller::impl::sync_rounds() {
  auto self = shared_from_this();
  while (!sync_queue.empty() && !stopped) {
    auto batch = std::move(sync_queue);
    sync_queue.clear();
    result<int64_t> index = error(controller_errc::not_controller, "no controller leader known");
    if (is_leader()) {
      index = core->commit_index().value();
    } else if (auto to = known_leader(); to && !failed) {
      if (auto* c = net->peer(raft::node_id(*to))) {
        auto call = c->call(applied_method, {}, o.broker_heartbeat);
        auto r = co_await std::move(call);
        auto rep = r ? decode_reply(*r) : result<reply>(r.error());
        if (!rep) {
          index = rep.error();
        } else if (rep->code != 0) {
          note_hint(*rep);
          index = reply_error(*rep);
        } else {
          index = rep->index;
        }
      }
    }
    for (const auto& w : batch) {
      if (index)
        when_applied(*index, w);
      else
        w->done(index.error());
    }
  }
  sync_running = false;
}

awaitable<void> controller::impl::leave(std::chrono::milliseconds limit) {
  auto self = shared_from_this();
  if (stopped || failed || leaving)
    co_return;
  leaving = true;
  auto deadline = steady::now() + limit;
  auto live = live_voters();
  if (live.size() < std::max<size_t>(1, o.voters.size() / 2 + 1)) {
    lg().info("controlled shutdown: no quorum of live controller voters; leaving at once");
    co_return;
  }
  // Fenced first (while this broker may still lead: a local commit), so that Metadata stops
  // naming it before it stops answering.
  auto fence = submit(fence_broker_cmd{o.self.id, true}, deadline);
  if (auto r = co_await std::move(fence); !r)
    lg().warn("controlled shutdown: fencing this broker failed: {}", r.error().message());
  // Each other live voter in turn gets an election timeout to take over (a transfer to one
  // that is down or far behind lapses).
  for (auto to : live) {
    if (!is_leader() || stopped || steady::now() >= deadline)
      break;
    if (to == o.self.id)
      continue;
    if (auto s = core->transfer_leadership(raft::node_id(to)); !s) {
      lg().warn("controlled shutdown: handing the controller leadership to {} failed: {}", to,
                s.error().message());
      continue;
    }
    lg().info("controlled shutdown: handing the controller leadership to broker {}", to);
    drain();
    auto until = std::min(deadline, steady::now() + o.election_timeout);
    while (is_leader() && !stopped && steady::now() < until) {
      auto slept = sleep(std::max(o.tick, std::chrono::milliseconds(10)));
      co_await std::move(slept);
    }
  }
  lg().info("controlled shutdown: {}",
            is_leader() ? "still the controller leader at the limit" : "done with the controller");
}

awaitable<result<bytes_t>> controller::impl::serve_submit(bytes_t payload) {
  auto self = shared_from_this();
  auto cmd = decode_command(payload);
  if (!cmd)
    co_return encode_reply(error_reply(cmd.error()));
  if (!is_leader() || failed)
    co_return encode_reply(not_controller_reply());
  auto w = std::make_shared<controller_waiter>(io);
  auto t = propose(*cmd, w);
  if (!t)
    co_return encode_reply(not_controller_reply());
  auto waited = wait(w, steady::now() + o.request_timeout);
  if (!co_await std::move(waited))
    co_return encode_reply(error_reply(error(controller_errc::timeout)));
  if (!*w->res)
    co_return encode_reply(error_reply(w->res->error()));
  reply rep;
  rep.value = **w->res;
  rep.index = t->index.value();
  co_return encode_reply(rep);
}

controller::controller(net::asio::io_context& io, std::shared_ptr<io::file_system> fs, clock& clk,
                       options o)
    : impl_(std::make_shared<impl>(io, std::move(fs), clk, std::move(o))) {}

controller::~controller() {
  stop();
}

status controller::start() {
  auto& st = *impl_;
  STROM_TRY(st.open());
  auto at = net::tcp::endpoint(asio::ip::make_address(st.o.listen_host), st.o.listen_port);
  auto port = st.srv->listen(at);
  if (!port)
    return port.error();
  st.bound_port = *port;
  std::weak_ptr<impl> w = impl_;
  st.net->serve(
      *st.srv,
      [w](rpc::group_id g, raft::message m) {
        auto self = w.lock();
        if (!self || self->stopped)
          return;
        if (g != 0) {
          self->inbound.emplace_back(g, std::move(m));
          return;
        }
        if (self->failed)
          return;
        self->core->step(m);
        self->drain();
      },
      [w] {
        // The batch's messages for the partitions leave together (one hand-over per shard).
        auto self = w.lock();
        if (!self || self->inbound.empty())
          return;
        auto batch = std::move(self->inbound);
        self->inbound.clear();
        if (!self->stopped && self->o.on_group_messages)
          self->o.on_group_messages(std::move(batch));
      });
  st.srv->handle(submit_method, [w](bytes_t payload) -> awaitable<result<bytes_t>> {
    auto self = w.lock();
    if (!self)
      co_return error(rpc::errc::shutting_down);
    auto op = self->serve_submit(std::move(payload));
    co_return co_await std::move(op);
  });
  st.srv->handle(heartbeat_method, [w](bytes_t payload) -> awaitable<result<bytes_t>> {
    auto self = w.lock();
    if (!self)
      co_return error(rpc::errc::shutting_down);
    auto cmd = decode_command(payload);
    if (!cmd || !std::holds_alternative<register_broker_cmd>(*cmd))
      co_return error(rpc::errc::bad_payload);
    if (!self->is_leader() || self->failed)
      co_return encode_reply(self->not_controller_reply());
    self->on_heartbeat(std::get<register_broker_cmd>(*cmd).reg);
    reply rep;
    rep.index = self->applied.value();  // what the broker must apply to be caught up
    co_return encode_reply(rep);
  });
  st.srv->handle(applied_method, [w](bytes_t) -> awaitable<result<bytes_t>> {
    auto self = w.lock();
    if (!self)
      co_return error(rpc::errc::shutting_down);
    if (!self->is_leader() || self->failed)
      co_return encode_reply(self->not_controller_reply());
    reply rep;
    rep.index = self->applied.value();
    co_return encode_reply(rep);
  });
  st.srv->handle(usage_method, [w](bytes_t payload) -> awaitable<result<bytes_t>> {
    auto self = w.lock();
    if (!self)
      co_return error(rpc::errc::shutting_down);
    auto report = decode_usage(payload);
    if (!report)
      co_return error(rpc::errc::bad_payload);
    if (!self->is_leader() || self->failed)
      co_return encode_reply(self->not_controller_reply());
    self->on_usage(report->first, std::move(report->second));
    co_return encode_reply(reply{});
  });
  st.sync_peers();  // the learners the log already names
  asio::co_spawn(st.io, st.tick_loop(), asio::detached);
  asio::co_spawn(st.io, st.heartbeat_loop(), asio::detached);
  lg().info("controller: node {} ({}) of [{}], internal listener on {}:{}", st.o.self.id,
            st.is_seed(st.o.self.id) ? "voter" : "learner: not among cluster.seeds",
            raft::to_string(st.core->config()), st.o.listen_host, st.bound_port);
  return {};
}

void controller::stop() {
  auto& st = *impl_;
  if (st.stopped)
    return;
  st.stopped = true;
  st.fail_waiters(controller_errc::shutting_down);
  // The connections go now, while the io_context they were made on still exists (the
  // controller itself may outlive it: its loops hold it until the context drops them).
  if (st.net)
    st.net->stop();
  if (st.srv)
    st.srv->stop();
  st.net.reset();
  st.srv.reset();
  st.core.reset();
  st.store.reset();
  if (st.log) {
    // close() flushes through the pool: it goes before the pool does.
    if (auto s = st.log->close(); !s)
      lg().warn("controller log close: {}", s.error().message());
  }
  st.flush_pool.reset();  // runs what is queued (completions post to the stopped context)
  st.log.reset();
}

void controller::send_group_messages(const std::vector<std::pair<uint64_t, raft::message>>& msgs) {
  auto& st = *impl_;
  if (st.stopped || !st.net)
    return;
  for (const auto& [g, m] : msgs)
    st.net->group(g).send(m);
  // Sent after what this shard has queued already: the batches of the other shards, posted
  // meanwhile, go out in the same frame to each broker.
  if (st.group_flush_posted)
    return;
  st.group_flush_posted = true;
  asio::post(st.io, [w = st.weak_from_this()] {
    auto self = w.lock();
    if (!self)
      return;
    self->group_flush_posted = false;
    if (!self->stopped && self->net)
      self->net->flush();
  });
}

uint16_t controller::port() const {
  return impl_->bound_port;
}

std::shared_ptr<rpc::peer_board> controller::peers_heard() const {
  std::lock_guard lock(impl_->mu);
  return impl_->board;
}

std::optional<partition_usage_map> controller::partition_usage() const {
  auto& st = *impl_;
  auto now = st.clk.steady_now();
  auto v = view();
  std::lock_guard lock(st.mu);
  if (!st.leading_since || now - *st.leading_since < 2 * st.o.usage_interval)
    return std::nullopt;
  for (const auto& b : v->placeable_brokers()) {
    auto seen = st.usage_seen.find(b.id);
    if (seen == st.usage_seen.end() || now - seen->second > 3 * st.o.usage_interval)
      return std::nullopt;
  }
  return st.usage;
}

std::shared_ptr<const cluster_view> controller::view() const {
  std::lock_guard lock(impl_->mu);
  return impl_->view_;
}

awaitable<result<int64_t>> controller::submit(controller_command cmd) {
  auto self = impl_;
  auto op = self->submit(std::move(cmd), steady::now() + self->o.request_timeout);
  co_return co_await std::move(op);
}

awaitable<status> controller::sync(std::chrono::milliseconds limit) {
  auto self = impl_;
  auto op = self->sync(steady::now() + limit);
  co_return co_await std::move(op);
}

awaitable<void> controller::leave(std::chrono::milliseconds limit) {
  auto self = impl_;
  auto op = self->leave(limit);
  co_await std::move(op);
}

}  // namespace strom::cluster
