#include "strom/groups/coordinator.h"

#include <algorithm>
#include <set>

#include "strom/base/logging.h"
#include "strom/groups/records.h"
#include "strom/model/batch_builder.h"
#include "strom/model/records.h"
#include "strom/net/await.h"

namespace strom::groups {

namespace {
spdlog::logger& lg() {
  return logging::get("groups");
}
namespace asio = net::asio;

std::string_view as_chars(const bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Records per batch written to the offsets topic (tombstones of a large group).
constexpr size_t records_per_batch = 500;
/// A compacted state travels whole in a snapshot install, which an inter-broker frame
/// (64 MiB) must hold.
constexpr size_t max_state_bytes = size_t{48} << 20;
}  // namespace

int32_t offsets_partition_of(std::string_view group_id, int32_t partitions) {
  uint32_t h = 0;
  for (char c : group_id)
    h = 31 * h + static_cast<uint8_t>(c);
  return static_cast<int32_t>((h & 0x7fffffffU) % static_cast<uint32_t>(partitions));
}

struct coordinator::partition_state {
  bool loading = true;
  /// The leader epoch it was loaded in (0 for a partition without replicas elsewhere): the
  /// groups are this leadership's; another term loads them again.
  int32_t epoch = 0;
  /// Tells one loading of the partition on this shard from the next (load()).
  uint64_t generation = 0;
  std::map<std::string, std::shared_ptr<group>, std::less<>> groups;
};

struct coordinator::shard_state {
  std::map<int32_t, std::unique_ptr<partition_state>> partitions;
  uint64_t next_generation = 1;
  /// Compaction of the replicated offsets partitions of the shard, leader or follower.
  struct checkpoint_track {
    bool running = false;
    uint64_t size_after = 0;   ///< the log's bytes after the last one
    uint64_t state_bytes = 0;  ///< the compacted state's bytes then
  };
  std::map<int32_t, checkpoint_track> checkpoints;
  std::unique_ptr<asio::steady_timer> timer;
  timestamp_ms next_retention_check = 0;
};

coordinator::coordinator(cluster::partition_manager& partitions, cluster::topics_frontend& frontend,
                         const cluster::topic_table& topics, options opts, clock& clk)
    : partitions_(partitions),
      frontend_(frontend),
      topics_(topics),
      opts_(std::move(opts)),
      clock_(clk),
      shards_(partitions.runtime()) {}

coordinator::~coordinator() = default;

model::ntp coordinator::ntp_of(int32_t partition) const {
  return model::ntp{std::string(offsets_topic), model::partition_id(partition)};
}

size_t coordinator::shard_of_group(std::string_view group_id) const {
  return partitions_.shard_of(ntp_of(partition_of(group_id)));
}

void coordinator::start() {
  for (size_t i = 0; i < shards_.size(); ++i)
    partitions_.runtime().spawn(i, [this, i] { return tick_loop(this, i); });
}

void coordinator::release_shard_objects() {
  for (size_t shard = 0; shard < shards_.size(); ++shard) {
    auto* s = &shards_.on(shard);
    s->timer.reset();
    // Held join and sync callbacks are destroyed uncalled: the requests waiting on them end
    // now, while every shard context still exists.
    s->partitions.clear();
  }
}

awaitable<errc> coordinator::ensure_topic() {
  auto topics = topics_.snapshot();
  if (topics->contains(offsets_topic))
    co_return errc::none;
  cluster::topic_metadata t;
  t.name = std::string(offsets_topic);
  t.partitions = opts_.partitions;
  t.replication_factor = opts_.replication_factor;
  t.configs = {{"cleanup.policy", "compact"}, {"segment.bytes", opts_.segment_bytes}};
  auto s = co_await frontend_.create_topic(t, false, true);
  if (!s && !s.error().is(cluster::topic_errc::exists)) {
    lg().error("cannot create {}: {}", offsets_topic, s.error().message());
    co_return errc::coordinator_not_available;
  }
  if (s)
    lg().info("created {} with {} partitions", offsets_topic, t.partitions);
  co_return errc::none;
}

void coordinator::unload(shard_state& ss, int32_t partition) {
  auto it = ss.partitions.find(partition);
  if (it == ss.partitions.end())
    return;
  // Taken out first: answering a held request may come back here.
  auto ps = std::move(it->second);
  ss.partitions.erase(it);
  if (!ps->loading)
    lg().info("{}: no longer the coordinator of its {} groups", ntp_of(partition).dir_name(),
              ps->groups.size());
  for (auto& [id, g] : ps->groups)
    g->kill(errc::not_coordinator);
}

coordinator::partition_state* coordinator::state_for(int32_t partition, errc& err) {
  auto n = ntp_of(partition);
  auto shard = partitions_.shard_of(n);
  auto& ss = shards_.on(shard);
  auto* p = partitions_.local(n);
  if (!p) {
    unload(ss, partition);
    // Another broker leads it (a cluster), or it is not made here yet: as Kafka, the client
    // looks the coordinator up again (NOT_COORDINATOR, which every client retries at once).
    auto topics = topics_.snapshot();
    err = topics->contains(offsets_topic) ? errc::not_coordinator : errc::coordinator_not_available;
    return nullptr;
  }
  // A replicated offsets partition: the groups live with its ready leader, loaded afresh in
  // each of its terms (a follower's log may have gained entries since it last led).
  int32_t epoch = 0;
  if (p->replicated()) {
    // Handing the leadership over: its successor may be elected at once and take commits this
    // one's groups would not show (their next term loads them again).
    if (!p->serving() || p->handing_over()) {
      if (!p->led_term() || p->handing_over())
        unload(ss, partition);  // a leader's short lapse (its lease) keeps its groups loaded
      err = errc::not_coordinator;
      return nullptr;
    }
    epoch = p->leader_epoch().value();
  }
  auto it = ss.partitions.find(partition);
  if (it != ss.partitions.end() && it->second->epoch != epoch) {
    unload(ss, partition);
    it = ss.partitions.end();
  }
  if (it == ss.partitions.end()) {
    auto ps = std::make_unique<partition_state>();
    ps->epoch = epoch;
    ps->generation = ss.next_generation++;
    // An empty log has nothing to replay, unless a compacted state comes before it.
    ps->loading = p->high_watermark().value() > p->log_start().value() ||
                  (p->replicated() && !p->snapshot_state().empty());
    auto generation = ps->generation;
    it = ss.partitions.emplace(partition, std::move(ps)).first;
    if (it->second->loading) {
      partitions_.runtime().spawn(
          shard, [this, partition, generation] { return load(this, partition, generation); });
    }
  }
  if (it->second->loading) {
    err = errc::coordinator_load_in_progress;
    return nullptr;
  }
  err = errc::none;
  return it->second.get();
}

std::shared_ptr<group> coordinator::find_group(std::string_view group_id, errc& err) {
  auto* ps = state_for(partition_of(group_id), err);
  if (!ps)
    return nullptr;
  auto it = ps->groups.find(group_id);
  return it == ps->groups.end() ? nullptr : it->second;
}

std::shared_ptr<group> coordinator::make_group(partition_state& ps, const std::string& group_id) {
  auto partition = partition_of(group_id);
  auto persist = [this, partition, group_id](const group_snapshot& s,
                                             std::function<void(bool)> done) {
    std::vector<std::pair<bytes, std::optional<bytes>>> recs;
    recs.emplace_back(encode_key(group_key{group_id}), encode_group_value(s));
    auto work = [](coordinator* self, int32_t p, auto rs,
                   std::function<void(bool)> cb) -> awaitable<void> {
      auto op = self->write(p, std::move(rs));
      auto e = co_await std::move(op);
      cb(e == errc::none);
    };
    partitions_.runtime().spawn(
        partitions_.shard_of(ntp_of(partition)),
        [this, work, partition, recs = std::move(recs), done = std::move(done)]() mutable {
          return work(this, partition, std::move(recs), std::move(done));
        });
  };
  auto g = std::make_shared<group>(group_id, opts_.limits, clock_, std::move(persist),
                                   opts_.random ? *opts_.random : default_random(),
                                   opts_.metrics ? *opts_.metrics : metrics::default_registry());
  ps.groups.emplace(group_id, g);
  return g;
}

awaitable<errc> coordinator::write(int32_t partition,
                                   std::vector<std::pair<bytes, std::optional<bytes>>> records,
                                   bool whole) {
  auto* p = partitions_.local(ntp_of(partition));
  if (!p)
    co_return errc::storage_error;
  auto now = clock_.now_ms();
  const size_t per_batch = whole ? records.size() : records_per_batch;
  for (size_t at = 0; at < records.size(); at += per_batch) {
    model::batch_builder b(now);
    for (size_t i = at; i < std::min(records.size(), at + per_batch); ++i) {
      const auto& [k, v] = records[i];
      std::optional<std::string_view> value;
      if (v)
        value = as_chars(*v);
      b.add(as_chars(k), value, now);
    }
    auto batch = b.build();
    if (whole && batch.size() > p->log().config().max_batch_bytes)
      co_return errc::commit_too_large;  // nothing written: all or nothing
    auto valid =
        model::validate_for_append(batch, p->validation_policy(model::append_origin::internal));
    if (!valid) {
      STROM_LOG_LIMITED(lg(), err, "{}: cannot write: {}", ntp_of(partition).dir_name(),
                        valid.error().message());
      co_return errc::storage_error;
    }
    // Committed (acks=all) once the last batch is: the earlier ones are then too.
    bool last = at + per_batch >= records.size();
    auto r = co_await p->replicate(std::move(*valid),
                                   last ? cluster::ack_level::all : cluster::ack_level::leader);
    if (!r) {
      // As Kafka answers a failed write of the offsets topic: a lost leadership sends the
      // client to the new coordinator, a group short of replicas or busy is retried.
      if (r.error().is(cluster::partition_errc::not_leader) ||
          r.error().is(cluster::partition_errc::fate_unknown))
        co_return errc::not_coordinator;
      if (r.error().is(cluster::partition_errc::not_enough_replicas) ||
          r.error().is(cluster::partition_errc::backpressure))
        co_return errc::coordinator_not_available;
      STROM_LOG_LIMITED(lg(), err, "{}: cannot write: {}", ntp_of(partition).dir_name(),
                        r.error().message());
      co_return errc::storage_error;
    }
  }
  co_return errc::none;
}

awaitable<bool> coordinator::replay(coordinator* self, int32_t partition,
                                    std::optional<model::kafka_next_offset> end, record_fn fn) {
  auto n = self->ntp_of(partition);
  auto* p = self->partitions_.local(n);
  auto from = p ? p->log_start() : model::kafka_offset(0);
  while (p) {
    auto stop = end ? *end : p->high_watermark();
    if (from.value() >= stop.value())
      co_return true;
    auto r = p->read_committed(from, 1 << 20, true);
    if (!r) {
      lg().error("{}: replay stopped at {}: {}", n.dir_name(), from.value(), r.error().message());
      co_return false;
    }
    auto buf = r->copy();
    if (!buf || r->next.value() <= from.value())
      co_return false;
    std::span<const std::byte> rest(*buf);
    while (rest.size() >= model::batch_layout::header_size) {
      auto h = model::decode_header(rest);
      if (!h || h->size_bytes() > rest.size())
        break;
      auto batch = rest.first(h->size_bytes());
      rest = rest.subspan(h->size_bytes());
      if (h->is_internal() || h->is_control() || h->base_offset >= stop.value())
        continue;
      auto s = model::for_each_record(batch, *h, [&](const model::record_view& rec) {
        if (rec.key)
          fn(*rec.key, rec.value);
        return true;
      });
      if (!s)
        lg().warn("{}: skipping a batch at {}: {}", n.dir_name(), h->base_offset,
                  s.error().message());
    }
    from = model::kafka_offset(r->next.value());
    // Let other work on this shard run between chunks.
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, asio::use_awaitable);
    p = self->partitions_.local(n);
  }
  co_return false;
}

awaitable<void> coordinator::load(coordinator* self, int32_t partition, uint64_t generation) {
  auto n = self->ntp_of(partition);
  auto started = std::chrono::steady_clock::now();
  struct loaded_group {
    std::optional<group_snapshot> snapshot;
    std::map<topic_partition, offset_entry> offsets;
  };
  std::map<std::string, loaded_group> found;
  size_t records = 0;
  auto apply = [&](std::span<const std::byte> k,
                   const std::optional<std::span<const std::byte>>& value) {
    ++records;
    auto key = decode_key(k);
    if (!key)
      return;
    if (auto* ok = std::get_if<offset_key>(&*key)) {
      auto& g = found[ok->group];
      topic_partition tp{ok->topic, ok->partition};
      if (!value) {
        g.offsets.erase(tp);
      } else if (auto v = decode_offset_value(*value)) {
        g.offsets[tp] = *v;
      }
    } else if (auto* gk = std::get_if<group_key>(&*key)) {
      auto& g = found[gk->group];
      if (!value) {
        g.snapshot.reset();
      } else if (auto v = decode_group_value(*value)) {
        g.snapshot = std::move(*v);
      }
    }
  };
  // A replicated partition's compacted state (its Raft snapshot) comes before its log. A
  // compaction of the partition that ends while the log is read moves the log start past
  // what was read: the replay then starts again from the new snapshot (a third failure keeps
  // what was read, as a damaged log would).
  for (int attempt = 1;; ++attempt) {
    found.clear();
    records = 0;
    if (auto* p = self->partitions_.local(n)) {
      auto state = decode_state(p->snapshot_state());
      if (!state) {
        lg().error("{}: compacted state: {}", n.dir_name(), state.error().message());
      } else {
        for (const auto& [k, v] : *state)
          apply(k, std::span<const std::byte>(v));
      }
    }
    auto op = replay(self, partition, std::nullopt, apply);
    if (co_await std::move(op) || attempt == 3)
      break;
    lg().warn("{}: reading the groups again (attempt {})", n.dir_name(), attempt + 1);
  }
  auto& ss = self->shards_.on(self->partitions_.shard_of(n));
  auto it = ss.partitions.find(partition);
  if (it == ss.partitions.end() || it->second->generation != generation)
    co_return;  // the leadership moved meanwhile: its next term loads again
  auto& ps = *it->second;
  size_t groups = 0;
  for (auto& [id, lgp] : found) {
    if (!lgp.snapshot && lgp.offsets.empty())
      continue;
    auto g = self->make_group(ps, id);
    if (lgp.snapshot)
      g->restore(*lgp.snapshot);
    g->offsets() = std::move(lgp.offsets);
    ++groups;
  }
  ps.loading = false;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started);
  lg().info("{}: loaded {} groups from {} records in {} ms", n.dir_name(), groups, records,
            ms.count());
}

awaitable<void> coordinator::tick_loop(coordinator* self, size_t shard) {
  auto& ss = self->shards_.on(shard);
  ss.timer = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor);
  self->follow_leadership(shard);
  while (ss.timer) {
    ss.timer->expires_after(self->opts_.tick);
    boost::system::error_code ec;
    co_await ss.timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !ss.timer)
      break;
    self->tick_shard(shard);
  }
}

void coordinator::follow_leadership(size_t shard) {
  if (!topics_.snapshot()->contains(offsets_topic))
    return;
  for (int32_t p = 0; p < opts_.partitions; ++p) {
    if (partitions_.shard_of(ntp_of(p)) == shard) {
      errc e;
      (void)state_for(p, e);
    }
  }
}

void coordinator::tick_shard(size_t shard) {
  // Loads the groups of the offsets partitions this shard leads right away, not on first
  // use, and gives up those of the partitions it no longer leads (their held requests are
  // answered NOT_COORDINATOR).
  follow_leadership(shard);
  auto& ss = shards_.on(shard);
  auto now = clock_.now_ms();
  bool retention = now >= ss.next_retention_check;
  if (retention) {
    ss.next_retention_check = now + 1000;
    maybe_checkpoint(shard);
  }
  for (auto& [p, ps] : ss.partitions) {
    if (ps->loading)
      continue;
    std::vector<std::shared_ptr<group>> expired;
    std::vector<std::string> unused;
    for (auto& [id, g] : ps->groups) {
      g->tick();
      if (g->unused()) {
        unused.push_back(id);  // e.g. its pending members expired: nothing to keep
        continue;
      }
      if (!retention || g->state() != group_state::empty)
        continue;
      if (g->protocol_type().empty()) {
        // A consumer without group management (assign()): each offset expires on its own,
        // counted from its last commit, as in Kafka.
        std::vector<topic_partition> old;
        for (const auto& [tp, e] : g->offsets()) {
          if (now - e.commit_timestamp >= opts_.offsets_retention_ms)
            old.push_back(tp);
        }
        if (old.empty())
          continue;
        if (old.size() == g->offsets().size()) {
          expired.push_back(g);
          continue;
        }
        std::vector<std::pair<bytes, std::optional<bytes>>> recs;
        for (const auto& tp : old) {
          g->offsets().erase(tp);
          recs.emplace_back(encode_key(offset_key{g->id(), tp.first, tp.second}), std::nullopt);
        }
        partitions_.runtime().spawn(shard, [this, p, recs = std::move(recs)]() mutable {
          return write_detached(this, p, std::move(recs));
        });
      } else if (now - g->state_timestamp() >= opts_.offsets_retention_ms) {
        // KIP-211: a group's offsets expire once it has been empty long enough.
        expired.push_back(g);
      }
    }
    for (const auto& id : unused)
      ps->groups.erase(id);
    for (auto& g : expired) {
      g->kill();
      ps->groups.erase(g->id());
      partitions_.runtime().spawn(shard, [this, p, g] { return expire_group(this, p, g); });
    }
  }
}

void coordinator::maybe_checkpoint(size_t shard) {
  auto& ss = shards_.on(shard);
  for (int32_t partition = 0; partition < opts_.partitions; ++partition) {
    auto n = ntp_of(partition);
    if (partitions_.shard_of(n) != shard)
      continue;
    auto* p = partitions_.local(n);
    if (!p || !p->replicated())
      continue;
    auto& c = ss.checkpoints[partition];
    auto size = p->size_bytes();
    // Not while this shard reads the partition's groups (load()).
    auto loading = ss.partitions.find(partition);
    if (loading != ss.partitions.end() && loading->second->loading)
      continue;
    if (c.running ||
        size < c.size_after + std::max<uint64_t>(opts_.compaction_bytes, 2 * c.state_bytes))
      continue;
    c.running = true;
    partitions_.runtime().spawn(shard, [this, partition] { return checkpoint(this, partition); });
  }
}

awaitable<void> coordinator::checkpoint(coordinator* self, int32_t partition) {
  auto n = self->ntp_of(partition);
  auto shard = self->partitions_.shard_of(n);
  auto finish = [&](uint64_t state_bytes) {
    auto& c = self->shards_.on(shard).checkpoints[partition];
    c.running = false;
    auto* p = self->partitions_.local(n);
    c.size_after = p ? p->size_bytes() : 0;
    if (state_bytes > 0)
      c.state_bytes = state_bytes;
  };
  auto* p = self->partitions_.local(n);
  auto point = p ? p->checkpoint_at() : std::nullopt;
  if (!point) {
    finish(0);
    co_return;
  }
  auto prior = decode_state(p->snapshot_state());
  if (!prior) {
    lg().error("{}: compacted state: {}", n.dir_name(), prior.error().message());
    finish(0);
    co_return;
  }
  auto state = std::move(*prior);
  auto start = p->log_start();
  auto apply = [&state](std::span<const std::byte> k,
                        const std::optional<std::span<const std::byte>>& value) {
    bytes key(k.begin(), k.end());
    if (value)
      state.insert_or_assign(std::move(key), bytes(value->begin(), value->end()));
    else
      state.erase(key);
  };
  auto op = replay(self, partition, point->end, apply);
  bool read = co_await std::move(op);
  p = self->partitions_.local(n);
  if (!read || !p) {
    finish(0);
    co_return;
  }
  auto encoded = encode_state(state);
  if (encoded.size() > max_state_bytes) {
    STROM_LOG_LIMITED(lg(), warn, "{}: not compacted: its state takes {} bytes, above {}",
                      n.dir_name(), encoded.size(), max_state_bytes);
    finish(encoded.size());
    co_return;
  }
  if (auto s = p->checkpoint(*point, encoded); !s) {
    lg().debug("{}: compaction: {}", n.dir_name(), s.error().message());
    finish(0);
    co_return;
  }
  lg().info("{}: compacted offsets {}..{} into {} keys ({} bytes)", n.dir_name(), start.value(),
            point->end.value(), state.size(), encoded.size());
  finish(encoded.size());
}

awaitable<void> coordinator::write_detached(
    coordinator* self, int32_t partition,
    std::vector<std::pair<bytes, std::optional<bytes>>> records) {
  auto op = self->write(partition, std::move(records));
  co_await std::move(op);
}

awaitable<void> coordinator::expire_group(coordinator* self, int32_t partition,
                                          std::shared_ptr<group> g) {
  std::vector<std::pair<bytes, std::optional<bytes>>> recs;
  for (const auto& [tp, e] : g->offsets())
    recs.emplace_back(encode_key(offset_key{g->id(), tp.first, tp.second}), std::nullopt);
  recs.emplace_back(encode_key(group_key{g->id()}), std::nullopt);
  auto n = g->offsets().size();
  auto op = self->write(partition, std::move(recs));
  if (co_await std::move(op) == errc::none)
    lg().info("group {}: expired with {} committed offsets", g->id(), n);
}

template <typename T>
awaitable<T> coordinator::on_shard(size_t shard, awaitable<T> work) {
  return partitions_.runtime().invoke_on(shard,
                                         [w = std::move(work)]() mutable { return std::move(w); });
}

awaitable<join_result> coordinator::join(std::string group_id, join_request req) {
  auto shard = shard_of_group(group_id);
  auto work = join_here(this, std::move(group_id), std::move(req));
  return on_shard(shard, std::move(work));
}

awaitable<join_result> coordinator::join_here(coordinator* self, std::string group_id,
                                              join_request req) {
  errc err;
  auto* ps = self->state_for(self->partition_of(group_id), err);
  if (!ps) {
    join_result r;
    r.error = err;
    r.member_id = req.member_id;
    co_return r;
  }
  auto it = ps->groups.find(group_id);
  std::shared_ptr<group> g;
  if (it != ps->groups.end()) {
    g = it->second;
  } else {
    if (!req.member_id.empty()) {
      join_result r;
      r.error = errc::unknown_member_id;
      r.member_id = req.member_id;
      co_return r;
    }
    g = self->make_group(*ps, group_id);
  }
  auto start = [g, req = std::move(req)](join_callback done) mutable {
    g->join(std::move(req), std::move(done));
  };
  auto result = co_await net::await_callback<join_result>(std::move(start));
  // A refused join leaves nothing behind: a group exists only once a request was accepted.
  self->forget_if_unused(group_id, g);
  co_return result;
}

void coordinator::forget_if_unused(const std::string& group_id, const std::shared_ptr<group>& g) {
  if (!g->unused())
    return;
  errc err;
  auto* ps = state_for(partition_of(group_id), err);
  if (ps == nullptr)
    return;
  if (auto it = ps->groups.find(group_id); it != ps->groups.end() && it->second == g)
    ps->groups.erase(it);
}

awaitable<sync_result> coordinator::sync(std::string group_id, sync_request req) {
  auto shard = shard_of_group(group_id);
  auto work = sync_here(this, std::move(group_id), std::move(req));
  return on_shard(shard, std::move(work));
}

awaitable<sync_result> coordinator::sync_here(coordinator* self, std::string group_id,
                                              sync_request req) {
  errc err;
  auto g = self->find_group(group_id, err);
  if (!g) {
    sync_result r;
    r.error = err == errc::none ? errc::unknown_member_id : err;
    co_return r;
  }
  auto start = [g, req = std::move(req)](sync_callback done) mutable {
    g->sync(std::move(req), std::move(done));
  };
  co_return co_await net::await_callback<sync_result>(std::move(start));
}

awaitable<errc> coordinator::heartbeat(std::string group_id, std::string member_id,
                                       std::optional<std::string> instance_id, int32_t generation) {
  auto work = [](coordinator* self, std::string gid, std::string mid,
                 std::optional<std::string> iid, int32_t gen) -> awaitable<errc> {
    errc err;
    auto g = self->find_group(gid, err);
    if (!g)
      co_return err == errc::none ? errc::unknown_member_id : err;
    co_return g->heartbeat(mid, iid, gen);
  };
  return on_shard(shard_of_group(group_id),
                  work(this, group_id, std::move(member_id), std::move(instance_id), generation));
}

awaitable<coordinator::leave_result> coordinator::leave(std::string group_id,
                                                        std::vector<group::leaving> who) {
  auto work = [](coordinator* self, std::string gid,
                 std::vector<group::leaving> w) -> awaitable<leave_result> {
    leave_result out;
    errc err;
    auto g = self->find_group(gid, err);
    if (!g) {
      out.error = err == errc::none ? errc::unknown_member_id : err;
      co_return out;
    }
    out.members = g->leave(w);
    co_return out;
  };
  return on_shard(shard_of_group(group_id), work(this, group_id, std::move(who)));
}

awaitable<std::vector<coordinator::commit_entry>> coordinator::commit(std::string group_id,
                                                                      commit_request req) {
  auto shard = shard_of_group(group_id);
  auto work = commit_here(this, std::move(group_id), std::move(req));
  return on_shard(shard, std::move(work));
}

awaitable<std::vector<coordinator::commit_entry>> coordinator::commit_here(coordinator* self,
                                                                           std::string group_id,
                                                                           commit_request req) {
  auto fail_all = [&](errc e) {
    for (auto& c : req.entries) {
      if (c.error == errc::none)
        c.error = e;
    }
    return std::move(req.entries);
  };
  errc err;
  auto* ps = self->state_for(self->partition_of(group_id), err);
  if (!ps)
    co_return fail_all(err);
  std::shared_ptr<group> g;
  if (auto it = ps->groups.find(group_id); it != ps->groups.end()) {
    g = it->second;
    if (auto e = g->check_commit(req.member_id, req.instance_id, req.generation); e != errc::none)
      co_return fail_all(e);
  } else if (req.generation >= 0 || !req.member_id.empty() || req.instance_id) {
    co_return fail_all(errc::illegal_generation);
  }
  // Otherwise: offsets of a consumer without group management; its group is created below,
  // once something was written.
  std::vector<std::pair<bytes, std::optional<bytes>>> recs;
  auto now = self->clock_.now_ms();
  for (auto& c : req.entries) {
    if (c.error != errc::none)
      continue;
    if (c.value.metadata.size() > self->opts_.max_metadata_bytes) {
      c.error = errc::offset_metadata_too_large;
      continue;
    }
    c.value.commit_timestamp = now;
    recs.emplace_back(encode_key(offset_key{group_id, c.topic, c.partition}),
                      encode_offset_value(c.value));
  }
  if (recs.empty())
    co_return std::move(req.entries);
  // One batch: a commit is stored whole or not at all.
  auto op = self->write(self->partition_of(group_id), std::move(recs), true);
  auto written = co_await std::move(op);
  bool ok = written == errc::none;
  if (ok) {
    // The group may have been created, or deleted, while the write was in flight.
    auto* now_ps = self->state_for(self->partition_of(group_id), err);
    if (now_ps == nullptr) {
      ok = false;
    } else if (auto it = now_ps->groups.find(group_id); it != now_ps->groups.end()) {
      g = it->second;
    } else {
      g = self->make_group(*now_ps, group_id);
    }
  }
  for (auto& c : req.entries) {
    if (c.error != errc::none)
      continue;
    if (!ok)
      c.error = written == errc::none ? errc::storage_error : written;
    else
      g->offsets()[{c.topic, c.partition}] = c.value;
  }
  co_return std::move(req.entries);
}

awaitable<coordinator::fetched_offsets> coordinator::fetch_offsets(
    std::string group_id, std::optional<std::vector<topic_partition>> which) {
  auto work = [](coordinator* self, std::string gid,
                 std::optional<std::vector<topic_partition>> wanted) -> awaitable<fetched_offsets> {
    fetched_offsets out;
    errc err;
    auto g = self->find_group(gid, err);
    if (err != errc::none) {
      out.error = err;
      co_return out;
    }
    if (!g)
      co_return out;
    const auto& offsets = g->offsets();
    if (!wanted) {
      out.offsets.assign(offsets.begin(), offsets.end());
    } else {
      for (const auto& tp : *wanted) {
        if (auto it = offsets.find(tp); it != offsets.end())
          out.offsets.emplace_back(*it);
      }
    }
    co_return out;
  };
  return on_shard(shard_of_group(group_id), work(this, group_id, std::move(which)));
}

awaitable<coordinator::description> coordinator::describe(std::string group_id) {
  auto work = [](coordinator* self, std::string gid) -> awaitable<description> {
    description out;
    errc err;
    auto g = self->find_group(gid, err);
    out.error = err;
    if (!g)
      co_return out;
    out.state = g->state();
    out.protocol_type = g->protocol_type();
    out.protocol = g->protocol().value_or("");
    out.members = g->describe_members();
    co_return out;
  };
  return on_shard(shard_of_group(group_id), work(this, group_id));
}

awaitable<coordinator::listing> coordinator::list() {
  auto on_shard = [](shard_state& ss) {
    listing part;
    for (auto& [p, ps] : ss.partitions) {
      if (ps->loading) {
        part.error = errc::coordinator_load_in_progress;
        continue;
      }
      for (auto& [id, g] : ps->groups)
        part.groups.push_back({id, g->protocol_type(), g->state()});
    }
    return part;
  };
  auto parts = co_await shards_.invoke_on_all(on_shard);
  listing out;
  for (auto& part : parts) {
    if (part.error != errc::none)
      out.error = part.error;
    for (auto& g : part.groups)
      out.groups.push_back(std::move(g));
  }
  co_return out;
}

awaitable<std::vector<coordinator::group_info>> coordinator::group_infos() {
  auto on_shard = [](shard_state& ss) {
    std::vector<group_info> part;
    for (auto& [p, ps] : ss.partitions) {
      for (auto& [id, g] : ps->groups) {
        group_info i{id, g->state(), g->member_count(), {}};
        for (const auto& [tp, e] : g->offsets())
          i.offsets.emplace_back(tp, e.offset);
        part.push_back(std::move(i));
      }
    }
    return part;
  };
  auto parts = co_await shards_.invoke_on_all(on_shard);
  std::vector<group_info> out;
  for (auto& part : parts) {
    for (auto& g : part)
      out.push_back(std::move(g));
  }
  co_return out;
}

awaitable<errc> coordinator::delete_group(std::string group_id) {
  auto shard = shard_of_group(group_id);
  auto work = delete_group_here(this, std::move(group_id));
  return on_shard(shard, std::move(work));
}

awaitable<errc> coordinator::delete_group_here(coordinator* self, std::string group_id) {
  errc err;
  auto* ps = self->state_for(self->partition_of(group_id), err);
  if (!ps)
    co_return err;
  auto it = ps->groups.find(group_id);
  if (it == ps->groups.end() || it->second->state() == group_state::dead)
    co_return errc::group_id_not_found;
  auto g = it->second;
  if (g->state() != group_state::empty)
    co_return errc::non_empty_group;
  g->kill();
  ps->groups.erase(it);
  std::vector<std::pair<bytes, std::optional<bytes>>> recs;
  for (const auto& [tp, e] : g->offsets())
    recs.emplace_back(encode_key(offset_key{group_id, tp.first, tp.second}), std::nullopt);
  recs.emplace_back(encode_key(group_key{group_id}), std::nullopt);
  auto op = self->write(self->partition_of(group_id), std::move(recs));
  co_return co_await std::move(op);
}

awaitable<coordinator::offset_delete_result> coordinator::delete_offsets(
    std::string group_id, std::vector<topic_partition> which) {
  auto shard = shard_of_group(group_id);
  auto work = delete_offsets_here(this, std::move(group_id), std::move(which));
  return on_shard(shard, std::move(work));
}

awaitable<coordinator::offset_delete_result> coordinator::delete_offsets_here(
    coordinator* self, std::string group_id, std::vector<topic_partition> which) {
  offset_delete_result out;
  errc err;
  auto g = self->find_group(group_id, err);
  if (err != errc::none) {
    out.error = err;
    co_return out;
  }
  if (!g || g->state() == group_state::dead) {
    out.error = errc::group_id_not_found;
    co_return out;
  }
  std::set<std::string> subscribed;
  if (g->state() != group_state::empty) {
    auto topics = g->subscribed_topics();
    if (!topics) {
      out.error = errc::non_empty_group;  // members whose subscriptions are unknown
      co_return out;
    }
    subscribed.insert(topics->begin(), topics->end());
  }
  std::vector<std::pair<bytes, std::optional<bytes>>> recs;
  for (const auto& tp : which) {
    if (subscribed.contains(tp.first)) {
      out.partitions.push_back(errc::group_subscribed_to_topic);
      continue;
    }
    out.partitions.push_back(errc::none);
    if (g->offsets().contains(tp))
      recs.emplace_back(encode_key(offset_key{group_id, tp.first, tp.second}), std::nullopt);
  }
  if (recs.empty())
    co_return out;
  auto op = self->write(self->partition_of(group_id), std::move(recs));
  if (auto e = co_await std::move(op); e != errc::none) {
    out.error = e;
    co_return out;
  }
  for (size_t i = 0; i < which.size(); ++i) {
    if (out.partitions[i] == errc::none)
      g->offsets().erase(which[i]);
  }
  co_return out;
}

}  // namespace strom::groups
