#include "sim/checker.h"

#include <cstring>

#include <fmt/format.h>

#include "strom/bytes/endian.h"
#include "strom/model/record_batch.h"

namespace strom::sim {

using raft::raft_index;

namespace {
uint64_t fnv(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (i * 8)) & 0xff;
    h *= 1099511628211ULL;
  }
  return h;
}
}  // namespace

uint64_t checker::payload_id(const raft::entry& e) {
  uint64_t id = 0;
  // A record batch (the partition log's payloads) carries it as its base timestamp.
  if (e.payload.size() >= model::batch_layout::header_size &&
      static_cast<int8_t>(e.payload[model::batch_layout::magic]) == model::kafka_magic) {
    return static_cast<uint64_t>(
        bytes::read_be<int64_t>(e.payload.data() + model::batch_layout::base_timestamp));
  }
  if (e.payload.size() >= sizeof(id)) {
    std::memcpy(&id, e.payload.data(), sizeof(id));
  }
  return id;
}

uint64_t checker::fingerprint(const raft::entry& e) {
  uint64_t h = 14695981039346656037ULL;
  h = fnv(h, static_cast<uint64_t>(e.term.value()));
  h = fnv(h, static_cast<uint64_t>(e.kind));
  h = fnv(h, static_cast<uint64_t>(e.kafka_base.value()));
  h = fnv(h, static_cast<uint64_t>(e.kafka_count));
  h = fnv(h, payload_id(e));
  h = fnv(h, e.payload.size());
  if (e.config) {
    for (auto v : e.config->voters) {
      h = fnv(h, static_cast<uint64_t>(v.value()));
    }
    h = fnv(h, 0xffff);
    for (auto v : e.config->learners) {
      h = fnv(h, static_cast<uint64_t>(v.value()));
    }
  }
  return h;
}

void checker::fail(std::string what) {
  if (!violation_) {
    violation_ = std::move(what);
  }
}

void checker::on_start(int n, const raft::node& core, const raft::log_view& log) {
  auto meta = log.snapshot_meta();
  next_apply_index_[n] = meta.last_index.value() + 1;
  next_apply_kafka_[n] = meta.next_kafka_offset.value();
  life_[n] = per_life{core.term().value(), core.commit_index().value()};
}

void checker::on_wipe(int n) {
  persisted_term_.erase(n);
  std::erase_if(votes_, [n](const auto& v) { return v.first.first == n; });
  life_.erase(n);
}

void checker::on_restore(int n, const raft::snapshot_metadata& meta) {
  next_apply_index_[n] = meta.last_index.value() + 1;
  next_apply_kafka_[n] = meta.next_kafka_offset.value();
}

void checker::on_append(int n, const std::vector<raft::entry>& es, const raft::log_view& log) {
  for (const auto& e : es) {
    raft_index p = raft::prev(e.index);
    auto pt = log.term_at(p);
    if (!pt) {
      fail(fmt::format("log: node {} appended {} with no entry before it", n, e.index));
      return;
    }
    int64_t expected_kafka = p == log.snapshot_meta().last_index
                                 ? log.snapshot_meta().next_kafka_offset.value()
                                 : log.entries(p, 0).front().next_kafka_offset().value();
    if (e.kafka_base.value() != expected_kafka) {
      fail(
          fmt::format("kafka offsets: node {} entry {} (term {}) has Kafka offset {}, its "
                      "predecessor ends at {}",
                      n, e.index, e.term, e.kafka_base, expected_kafka));
      return;
    }
    if (raft::has_kafka_offsets(e.kind) != (e.kafka_count > 0)) {
      fail(fmt::format("kafka offsets: node {} entry {} of kind {} spans {} offsets", n, e.index,
                       raft::to_string(e.kind), e.kafka_count));
      return;
    }
    auto key = std::pair(e.index.value(), e.term.value());
    registered r{fingerprint(e), pt->value()};
    auto [it, inserted] = registry_.emplace(key, r);
    if (!inserted && (it->second.fp != r.fp || it->second.prev_term != r.prev_term)) {
      fail(fmt::format("log matching: node {} holds a different entry at index {} term {}", n,
                       e.index, e.term));
      return;
    }
  }
}

void checker::on_apply(int n, const raft::entry& e) {
  if (e.index.value() != next_apply_index_[n]) {
    fail(fmt::format("state machine: node {} applied {} while expecting {}", n, e.index,
                     next_apply_index_[n]));
    return;
  }
  next_apply_index_[n] = e.last().value() + 1;
  if (e.kafka_base.value() != next_apply_kafka_[n]) {
    fail(fmt::format("kafka offsets: node {} applied entry {} at Kafka offset {}, expected {}", n,
                     e.index, e.kafka_base, next_apply_kafka_[n]));
    return;
  }
  next_apply_kafka_[n] = e.next_kafka_offset().value();
  committed_entry c{e.term.value(), fingerprint(e)};
  auto [it, inserted] = applied_.emplace(e.index.value(), c);
  if (!inserted && (it->second.term != c.term || it->second.fp != c.fp)) {
    fail(
        fmt::format("state machine safety: node {} applied term {} at index {}, another node "
                    "applied term {}",
                    n, e.term, e.index, it->second.term));
    return;
  }
  if (raft::has_kafka_offsets(e.kind)) {
    auto [k, fresh] = kafka_owner_.emplace(e.kafka_base.value(), c.fp);
    if (!fresh && k->second != c.fp) {
      fail(fmt::format("kafka offsets: offset {} reused by node {} for another entry", e.kafka_base,
                       n));
      return;
    }
    auto h = model::decode_header(e.payload);
    if (!h || h->producer_id < 0) {
      return;
    }
    auto [s, first] =
        sequences_.emplace(std::pair(h->producer_id, h->base_sequence), e.kafka_base.value());
    if (!first) {
      if (s->second != e.kafka_base.value()) {
        fail(
            fmt::format("idempotence: producer {} sequence {} committed twice, at offsets {} "
                        "and {}",
                        h->producer_id, h->base_sequence, s->second, e.kafka_base));
      }
      return;
    }
    auto& next = next_sequence_[h->producer_id];
    if (h->base_sequence != next) {
      fail(fmt::format("idempotence: producer {} committed sequence {} at offset {}, expected {}",
                       h->producer_id, h->base_sequence, e.kafka_base, next));
      return;
    }
    next = h->base_sequence + h->last_offset_delta + 1;
  }
}

void checker::on_producer_ack(int64_t id, int32_t seq) {
  if (!sequences_.contains({id, seq})) {
    fail(
        fmt::format("idempotence: producer {} got an answer for sequence {}, which is not "
                    "committed",
                    id, seq));
  }
}

void checker::on_read(int n, const raft::entry& e) {
  auto it = committed_.find(e.index.value());
  if (it == committed_.end() || it->second.term != e.term.value() ||
      it->second.fp != fingerprint(e)) {
    fail(
        fmt::format("reads: node {} served index {} (term {}, Kafka offset {}) below its high "
                    "watermark, which is not the committed entry there",
                    n, e.index, e.term, e.kafka_base));
  }
}

void checker::on_commit(const std::vector<node_view>& nodes, int n, raft_index old_commit) {
  const node_view& v = nodes[static_cast<size_t>(n - 1)];
  const auto& log = *v.log;
  raft_index c = v.core->commit_index();
  raft_index from = std::max(raft::next(old_commit), log.first_index());
  for (raft_index i = from; i <= c && i <= log.last_index();) {
    auto es = log.entries(i, size_t{1} << 20);
    for (const auto& e : es) {
      if (e.index > c) {
        break;
      }
      committed_entry ce{e.term.value(), fingerprint(e)};
      auto [it, inserted] = committed_.emplace(e.index.value(), ce);
      if (!inserted && (it->second.term != ce.term || it->second.fp != ce.fp)) {
        fail(
            fmt::format("state machine safety: node {} committed term {} at index {}, term {} "
                        "was committed there before",
                        n, e.term, e.index, it->second.term));
        return;
      }
    }
    i = raft::next(es.back().last());
  }
  if (v.core->role() != raft::role::leader) {
    return;
  }
  auto t = log.term_at(c);
  if (check_commit_rule_ && t != v.core->term()) {
    fail(fmt::format("commit rule: leader {} of term {} committed {} of term {}", n, v.core->term(),
                     c, t ? t->value() : -1));
    return;
  }
  size_t durable = 0;
  for (auto voter : v.core->config().voters) {
    const node_view& w = nodes[static_cast<size_t>(voter.value() - 1)];
    bool rebuilding = w.core ? w.core->rebuilding() : w.persisted.rebuilding;
    if (t && (w.disk->durably_holds(c, *t) ||
              (w.lost_disk && rebuilding && w.lost_disk->durably_holds(c, *t)))) {
      ++durable;
    }
  }
  if (durable < v.core->config().quorum()) {
    fail(
        fmt::format("durability: leader {} committed {} (term {}) but only {} voters hold it "
                    "durably",
                    n, c, t ? t->value() : -1, durable));
  }
}

void checker::on_became_leader(int n, const raft::node& core, const raft::log_view& log) {
  auto [it, inserted] = leaders_.emplace(core.term().value(), n);
  if (!inserted && it->second != n) {
    fail(fmt::format("election safety: nodes {} and {} both lead term {}", it->second, n,
                     core.term()));
    return;
  }
  for (auto ci = committed_.lower_bound(log.first_index().value()); ci != committed_.end(); ++ci) {
    auto t = log.term_at(raft_index(ci->first));
    if (!t || t->value() != ci->second.term) {
      fail(
          fmt::format("leader completeness: leader {} of term {} lacks committed index {} "
                      "(term {})",
                      n, core.term(), ci->first, ci->second.term));
      return;
    }
  }
}

void checker::on_ack(int n, const raft::ticket& t, uint64_t payload) {
  auto it = committed_.find(t.index.value());
  if (it == committed_.end() || it->second.term != t.term.value()) {
    fail(fmt::format("acknowledged: node {} acknowledged index {} term {} that is not committed", n,
                     t.index, t.term));
    return;
  }
  acked_.push_back(ack{t.index.value(), t.term.value(), payload});
}

void checker::observe(const std::vector<node_view>& nodes) {
  for (const auto& v : nodes) {
    auto pt = persisted_term_.find(v.id);
    if (pt != persisted_term_.end() && v.persisted.term.value() < pt->second) {
      fail(fmt::format("terms: node {} persisted term went back from {} to {}", v.id, pt->second,
                       v.persisted.term));
      return;
    }
    persisted_term_[v.id] = v.persisted.term.value();
    if (v.persisted.vote) {
      auto [it, inserted] =
          votes_.emplace(std::pair(v.id, v.persisted.term.value()), v.persisted.vote->value());
      if (!inserted && it->second != v.persisted.vote->value()) {
        fail(fmt::format("double vote: node {} voted for {} and {} in term {}", v.id, it->second,
                         v.persisted.vote->value(), v.persisted.term));
        return;
      }
    }
    if (!v.core) {
      continue;
    }
    auto& life = life_[v.id];
    if (v.core->term().value() < life.term) {
      fail(fmt::format("terms: node {} went back from term {} to {}", v.id, life.term,
                       v.core->term()));
      return;
    }
    if (v.core->commit_index().value() < life.commit) {
      fail(fmt::format("commit: node {} commit index went back from {} to {}", v.id, life.commit,
                       v.core->commit_index()));
      return;
    }
    life = per_life{v.core->term().value(), v.core->commit_index().value()};
    if (v.core->role() == raft::role::leader) {
      auto [it, inserted] = leaders_.emplace(v.core->term().value(), v.id);
      if (!inserted && it->second != v.id) {
        fail(fmt::format("election safety: nodes {} and {} both lead term {}", it->second, v.id,
                         v.core->term()));
        return;
      }
    }
  }
}

void checker::check_converged(const std::vector<node_view>& nodes) {
  for (const auto& v : nodes) {
    if (!v.core) {
      continue;
    }
    for (const auto& a : acked_) {
      const auto& log = *v.log;
      bool covered = log.snapshot_meta().last_index.value() >= a.index;
      auto t = log.term_at(raft_index(a.index));
      if (v.core->commit_index().value() < a.index || (!covered && (!t || t->value() != a.term))) {
        fail(
            fmt::format("liveness: acknowledged index {} (term {}) not committed on node {} "
                        "after settling (commit {})",
                        a.index, a.term, v.id, v.core->commit_index()));
        return;
      }
    }
  }
}

}  // namespace strom::sim
