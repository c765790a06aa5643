// The partition log as a Raft log: storage_log_store over a real storage::log (on an in-memory
// file system) against memory_log_store, the reference, under random appends, truncations,
// flushes, compactions, snapshot installs and crashes; and the file-backed hard state.
#include "strom/raft/storage_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "strom/bytes/crc32c.h"
#include "strom/bytes/endian.h"
#include "strom/raft/memory_log.h"
#include "support/raft_disk.h"

namespace strom::raft {
namespace {

using test::raft_disk;

configuration three() {
  configuration c;
  c.voters = {node_id(1), node_id(2), node_id(3)};
  return c;
}

snapshot initial_snapshot() {
  snapshot s;
  s.meta.config = three();
  return s;
}

entry make_entry(raft_index index, term t, entry_kind kind, kafka_offset kafka, int32_t count,
                 uint64_t id) {
  entry e;
  e.index = index;
  e.term = t;
  e.kind = kind;
  e.kafka_base = kafka;
  if (kind == entry_kind::data) {
    e.kafka_count = count;
    e.payload = raft_disk::make_payload(id, count);
  } else if (kind == entry_kind::configuration) {
    e.config = three();
    e.config->learners.insert(node_id(static_cast<int32_t>(4 + id % 3)));
  } else if (kind == entry_kind::log_start) {
    std::vector<std::byte> start(8);
    bytes::write_be<int64_t>(start.data(), static_cast<int64_t>(id));
    e.payload = std::move(start);
  }
  return e;
}

/// Compares everything a reader of the two logs can see.
void expect_same(const log_view& want, const log_view& got, const std::string& where) {
  ASSERT_EQ(want.first_index(), got.first_index()) << where;
  ASSERT_EQ(want.last_index(), got.last_index()) << where;
  ASSERT_EQ(want.next_kafka_offset(), got.next_kafka_offset()) << where;
  ASSERT_EQ(want.snapshot_meta(), got.snapshot_meta()) << where;
  for (auto i = prev(want.first_index()); i <= want.last_index(); i = next(i))
    ASSERT_EQ(want.term_at(i), got.term_at(i)) << where << " index " << i.value();
  ASSERT_EQ(got.term_at(next(got.last_index())), std::nullopt) << where;
  if (want.last_index() < want.first_index())
    return;
  auto a = want.entries(want.first_index(), size_t{1} << 30);
  auto b = got.entries(got.first_index(), size_t{1} << 30);
  ASSERT_EQ(a.size(), b.size()) << where;
  for (size_t k = 0; k < a.size(); ++k)
    ASSERT_EQ(a[k], b[k]) << where << " entry " << k << " at " << a[k].index.value();
  // A read from the middle of a data entry starts with that entry.
  auto last = b.back();
  auto from_inside = got.entries(last.last(), 0);
  ASSERT_EQ(from_inside.size(), 1u) << where;
  ASSERT_EQ(from_inside.front().index, last.index) << where;
}

/// A reference that holds what `disk` holds.
std::unique_ptr<memory_log_store> copy_of(const log_view& v) {
  auto m = std::make_unique<memory_log_store>(v.load_snapshot());
  if (v.last_index() >= v.first_index()) {
    EXPECT_TRUE(m->append(std::nullopt, v.entries(v.first_index(), size_t{1} << 30)));
  }
  return m;
}

class StorageLogProperty : public ::testing::TestWithParam<uint64_t> {};

TEST_P(StorageLogProperty, BehavesLikeTheReferenceThroughCrashes) {
  const uint64_t seed = GetParam();
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  raft_disk disk(initial_snapshot(), 2048);
  auto ref = std::make_unique<memory_log_store>(initial_snapshot());
  uint64_t ids = 1;
  term current(1);

  // STROM_TRACE=1 prints every operation (to replay a failing seed by eye).
  const bool trace = std::getenv("STROM_TRACE") != nullptr;
  auto note = [&](const std::string& what) {
    if (trace)
      fprintf(stderr, "%s -> [%ld, %ld] kafka %ld\n", what.c_str(),
              static_cast<long>(ref->first_index().value()),
              static_cast<long>(ref->last_index().value()),
              static_cast<long>(ref->next_kafka_offset().value()));
  };
  auto append_some = [&](std::optional<raft_index> cut) {
    std::vector<entry> es;
    auto at = cut ? *cut : next(ref->last_index());
    // The Kafka offset after the entry before `at`.
    kafka_offset kafka = ref->snapshot_meta().next_kafka_offset;
    if (prev(at) > ref->snapshot_meta().last_index)
      kafka = ref->entries(prev(at), 0).front().next_kafka_offset();
    if (cut || pick(0, 5) == 0) {
      current = term(current.value() + 1);
      es.push_back(make_entry(at, current, entry_kind::term_start, kafka, 0, ids++));
      at = next(at);
    }
    for (int64_t k = pick(1, 5); k > 0; --k) {
      auto roll = pick(0, 19);
      auto kind = roll < 2    ? entry_kind::configuration
                  : roll == 2 ? entry_kind::log_start
                              : entry_kind::data;
      auto count = static_cast<int32_t>(pick(1, 4));
      auto e = make_entry(at, current, kind, kafka, count, ids++);
      at = next(e.last());
      kafka = e.next_kafka_offset();
      es.push_back(std::move(e));
    }
    if (trace) {
      fprintf(stderr, "  append%s:", cut ? (" from " + std::to_string(cut->value())).c_str() : "");
      for (const auto& e : es)
        fprintf(stderr, " %ld/%s/t%ld/k%ld+%d", static_cast<long>(e.index.value()),
                std::string(to_string(e.kind)).c_str(), static_cast<long>(e.term.value()),
                static_cast<long>(e.kafka_base.value()), e.kafka_count);
      fprintf(stderr, "\n");
    }
    ASSERT_TRUE(ref->append(cut, es).has_value());
    auto s = disk.store().append(cut, es);
    ASSERT_TRUE(s.has_value()) << s.error().message();
  };

  for (int step = 0; step < 300 && !HasFatalFailure(); ++step) {
    auto where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
    auto op = pick(0, 99);
    if (op < 40) {
      append_some(std::nullopt);
    } else if (op < 55) {
      // A new leader's log replaces a suffix (never inside the snapshot).
      if (ref->last_index() >= ref->first_index()) {
        auto from = raft_index(pick(ref->first_index().value(), ref->last_index().value()));
        // Truncations happen at entry boundaries.
        from = ref->entries(from, 0).front().index;
        append_some(from);
      }
    } else if (op < 65) {
      ref->begin_flush();
      disk.begin_flush();
      (void)ref->complete_flush();
      while (disk.flushes_in_progress() > 0)
        (void)disk.complete_flush();
      ASSERT_EQ(disk.store().flushed_index(), disk.store().last_index()) << where;
    } else if (op < 72) {
      // Compaction to the end of an entry in the log.
      if (ref->last_index() >= ref->first_index()) {
        auto i = raft_index(pick(ref->first_index().value(), ref->last_index().value()));
        auto e = ref->entries(i, 0).front();
        snapshot s;
        s.meta = {e.last(), e.term, three(), e.next_kafka_offset()};
        s.data = {std::byte{1}, std::byte{2}};
        ASSERT_TRUE(ref->compact(s).has_value());
        auto st = disk.store().compact(s);
        ASSERT_TRUE(st.has_value()) << where << ": " << st.error().message();
      }
    } else if (op < 77) {
      // A snapshot from a leader that is ahead replaces the whole log.
      // Every Kafka offset takes a Raft index: the leader's log is ahead by at least as many
      // indexes as offsets.
      snapshot s;
      current = term(current.value() + 1);
      auto ahead = pick(1, 20);
      s.meta = {raft_index(ref->last_index().value() + ahead), current, three(),
                kafka_offset(ref->next_kafka_offset().value() + pick(0, ahead))};
      s.data = {std::byte{7}};
      ASSERT_TRUE(ref->install(s).has_value());
      auto st = disk.store().install(s);
      ASSERT_TRUE(st.has_value()) << where << ": " << st.error().message();
    } else if (op < 85) {
      // A crash: what the disk reported flushed survives; the rest may or may not.
      auto flushed = disk.store().flushed_index();
      auto before = copy_of(disk.store());
      disk.crash();
      const auto& got = disk.store();
      ASSERT_GE(got.last_index(), flushed) << where;
      ASSERT_LE(got.last_index(), before->last_index()) << where;
      ASSERT_EQ(got.snapshot_meta(), before->snapshot_meta()) << where;
      for (auto i = got.first_index(); i <= got.last_index(); i = next(i))
        ASSERT_EQ(got.term_at(i), before->term_at(i)) << where << " index " << i.value();
      ref = copy_of(got);
      if (auto t = ref->term_at(ref->last_index()); t && *t > current)
        current = *t;
    } else {
      // Reads from a random point.
      if (ref->last_index() >= ref->first_index()) {
        auto i = raft_index(pick(ref->first_index().value(), ref->last_index().value()));
        auto max = static_cast<size_t>(pick(0, 600));
        ASSERT_EQ(ref->entries(i, max).front(), disk.store().entries(i, max).front()) << where;
      }
    }
    note(where + " op " + std::to_string(op));
    expect_same(*ref, disk.store(), where);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, StorageLogProperty, ::testing::Range<uint64_t>(1, 101));

/// Whether two logs show a reader the same thing (expect_same, as a predicate).
bool same_log(const log_view& a, const log_view& b) {
  if (a.first_index() != b.first_index() || a.last_index() != b.last_index() ||
      a.next_kafka_offset() != b.next_kafka_offset() || a.snapshot_meta() != b.snapshot_meta())
    return false;
  if (a.last_index() < a.first_index())
    return true;
  return a.entries(a.first_index(), size_t{1} << 30) == b.entries(b.first_index(), size_t{1} << 30);
}

TEST(StorageLog, ACrashAtEveryStepOfItsOnDiskProtocolsLeavesTheLogBeforeOrAfter) {
  // The steps replication added to the partition log, each cut by a crash after every
  // possible file operation (write, sync, rename, removal, directory sync): a term change that
  // rolls a segment, a compaction into a snapshot (snapshot file, then the segments before it
  // go), a snapshot from the leader that replaces the whole log, and a configuration change.
  // After the crash and a restart the log is exactly what it was before or what the step
  // made of it, never a mix (a snapshot ahead of its log, a segment half gone, a torn entry).
  enum class step { term_change, compact, install, configuration };
  for (auto which : {step::term_change, step::compact, step::install, step::configuration}) {
    bool reached_the_end = false;
    for (int64_t n = 0; n < 200 && !reached_the_end; ++n) {
      const auto where = "step " + std::to_string(static_cast<int>(which)) + ", crash after " +
                         std::to_string(n) + " operations";
      raft_disk disk(initial_snapshot(), 512);
      // A flushed log of two terms over several segments.
      std::vector<entry> es;
      kafka_offset kafka(0);
      raft_index at(1);
      uint64_t id = 1;
      for (int t = 1; t <= 2; ++t) {
        es.push_back(make_entry(at, term(t), entry_kind::term_start, kafka, 0, id++));
        at = next(at);
        for (int k = 0; k < 6; ++k) {
          auto e = make_entry(at, term(t), entry_kind::data, kafka, 3, id++);
          at = next(e.last());
          kafka = e.next_kafka_offset();
          es.push_back(std::move(e));
        }
      }
      ASSERT_TRUE(disk.store().append(std::nullopt, es));
      disk.begin_flush();
      while (disk.flushes_in_progress() > 0)
        (void)disk.complete_flush();
      auto before = copy_of(disk.store());
      auto after = copy_of(disk.store());
      std::vector<entry> more;
      snapshot s;
      s.data = {std::byte{9}};
      switch (which) {
        case step::term_change:
          more.push_back(make_entry(at, term(3), entry_kind::term_start, kafka, 0, id++));
          more.push_back(make_entry(next(at), term(3), entry_kind::data, kafka, 2, id++));
          ASSERT_TRUE(after->append(std::nullopt, more));
          break;
        case step::configuration:
          more.push_back(make_entry(at, term(2), entry_kind::configuration, kafka, 0, id++));
          ASSERT_TRUE(after->append(std::nullopt, more));
          break;
        case step::compact: {
          auto e = before->entries(raft_index(10), 0).front();
          s.meta = {e.last(), e.term, three(), e.next_kafka_offset()};
          ASSERT_TRUE(after->compact(s));
          break;
        }
        case step::install:
          s.meta = {raft_index(at.value() + 30), term(4), three(),
                    kafka_offset(kafka.value() + 20)};
          ASSERT_TRUE(after->install(s));
          break;
      }
      disk.faults().fail_ops_after(n);
      status st = ok();
      if (which == step::compact) {
        st = disk.store().compact(s);
      } else if (which == step::install) {
        st = disk.store().install(s);
      } else {
        st = disk.store().append(std::nullopt, more);
        if (st) {
          disk.begin_flush();
          while (disk.flushes_in_progress() > 0)
            (void)disk.complete_flush();
        }
      }
      // Done before the crash point: this n and the larger ones cut nothing more.
      reached_the_end = st.has_value() && disk.store().flushed_index() == disk.store().last_index();
      disk.crash();
      const auto& got = disk.store();
      EXPECT_TRUE(same_log(*before, got) || same_log(*after, got))
          << where << ": the log is [" << got.first_index().value() << ", "
          << got.last_index().value() << "] after a snapshot to "
          << got.snapshot_meta().last_index.value();
      if (reached_the_end) {
        EXPECT_TRUE(same_log(*after, got)) << where << ": a completed step was lost";
      }
      if (HasFailure())
        return;
    }
    EXPECT_TRUE(reached_the_end) << "step " << static_cast<int>(which) << " never completed";
  }
}

TEST(StorageLog, ATermStartAtTheLogEndIsTruncatedAndAppendedAgain) {
  raft_disk disk(initial_snapshot());
  auto& s = disk.store();
  std::vector<entry> es = {
      make_entry(raft_index(1), term(1), entry_kind::term_start, kafka_offset(0), 0, 1),
      make_entry(raft_index(2), term(1), entry_kind::data, kafka_offset(0), 3, 2),
      make_entry(raft_index(5), term(2), entry_kind::term_start, kafka_offset(3), 0, 3)};
  ASSERT_TRUE(s.append(std::nullopt, es).has_value());
  EXPECT_EQ(s.last_index(), raft_index(5));
  EXPECT_EQ(s.term_at(raft_index(5)), term(2));
  // The entry at the end holds no Kafka offset: it goes by its Raft index alone.
  ASSERT_TRUE(s.append(raft_index(5), {make_entry(raft_index(5), term(3), entry_kind::term_start,
                                                  kafka_offset(3), 0, 4)})
                  .has_value());
  EXPECT_EQ(s.term_at(raft_index(5)), term(3));
  EXPECT_EQ(s.next_kafka_offset(), kafka_offset(3));
  disk.begin_flush();
  EXPECT_EQ(disk.complete_flush(), raft_index(5));
  disk.crash();
  EXPECT_EQ(disk.store().last_index(), raft_index(5));
  EXPECT_EQ(disk.store().term_at(raft_index(5)), term(3));
}

TEST(StorageLog, InternalEntriesAtTheEndAreFlushedOnlyOnceSynced) {
  raft_disk disk(initial_snapshot());
  auto& s = disk.store();
  ASSERT_TRUE(s.append(std::nullopt, {make_entry(raft_index(1), term(1), entry_kind::data,
                                                 kafka_offset(0), 2, 1)})
                  .has_value());
  disk.begin_flush();
  EXPECT_EQ(disk.complete_flush(), raft_index(2));
  // A new term's first entry sits at the Kafka log end: the flushed Kafka offset says nothing
  // about it.
  ASSERT_TRUE(s.append(std::nullopt, {make_entry(raft_index(3), term(2), entry_kind::term_start,
                                                 kafka_offset(2), 0, 2)})
                  .has_value());
  EXPECT_EQ(s.flushed_index(), raft_index(2));
  disk.begin_flush();
  while (disk.flushes_in_progress() > 0)
    (void)disk.complete_flush();
  EXPECT_EQ(s.flushed_index(), raft_index(3));
}

TEST(StorageLog, AFollowerAppendThatDoesNotContinueTheLogIsRefused) {
  raft_disk disk(initial_snapshot());
  auto& s = disk.store();
  ASSERT_TRUE(s.append(std::nullopt, {make_entry(raft_index(1), term(1), entry_kind::data,
                                                 kafka_offset(0), 2, 1)})
                  .has_value());
  // Index 4 after 2, and Kafka offset 5 after 2: both refused, nothing written.
  EXPECT_FALSE(s.append(std::nullopt, {make_entry(raft_index(4), term(1), entry_kind::data,
                                                  kafka_offset(2), 1, 2)})
                   .has_value());
  EXPECT_FALSE(s.append(std::nullopt, {make_entry(raft_index(3), term(1), entry_kind::data,
                                                  kafka_offset(5), 1, 3)})
                   .has_value());
  // A payload that is no batch of the entry's record count.
  auto bad = make_entry(raft_index(3), term(1), entry_kind::data, kafka_offset(2), 3, 4);
  bad.payload = raft_disk::make_payload(4, 2);
  EXPECT_FALSE(s.append(std::nullopt, {bad}).has_value());
  EXPECT_EQ(s.last_index(), raft_index(2));
  EXPECT_EQ(s.next_kafka_offset(), kafka_offset(2));
}

// A data entry is stored stamped with its Kafka offset and term, and the entry itself (which
// the node keeps, and sends to followers as the producer sent it) is left as it came; a
// damaged payload is refused without a write.
TEST(StorageLog, ADataEntryIsStoredStampedAndLeftAsItCame) {
  raft_disk disk(initial_snapshot());
  auto& s = disk.store();
  auto first = make_entry(raft_index(1), term(3), entry_kind::data, kafka_offset(0), 2, 1);
  auto second = make_entry(raft_index(3), term(3), entry_kind::data, kafka_offset(2), 4, 2);
  const auto sent = second.payload;
  ASSERT_TRUE(s.append(std::nullopt, {first, second}).has_value());
  EXPECT_EQ(second.payload, sent);
  auto stored = disk.log().read_entries(model::raft_index(2), size_t{1} << 20);
  ASSERT_TRUE(stored) << stored.error().message();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().header.base_offset, 2);
  EXPECT_EQ(stored->front().header.partition_leader_epoch, 3);
  ASSERT_EQ(stored->front().bytes.size(), sent.size());
  auto h = model::decode_header(stored->front().bytes);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, 2);
  EXPECT_EQ(h->partition_leader_epoch, 3);
  EXPECT_TRUE(std::equal(sent.begin() + model::batch_layout::header_size, sent.end(),
                         stored->front().bytes.begin() + model::batch_layout::header_size));
  // Read back as an entry, it is what was appended.
  auto back = s.entries(raft_index(3), size_t{1} << 20);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.front(), second);

  auto damaged = make_entry(raft_index(7), term(3), entry_kind::data, kafka_offset(6), 2, 3);
  auto bad_bytes = damaged.payload.to_vector();
  bad_bytes.back() ^= std::byte{1};
  damaged.payload = std::move(bad_bytes);
  auto r = s.append(std::nullopt, {damaged});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(s.last_index(), raft_index(6));
  EXPECT_EQ(disk.log().log_end().value(), 6);
}

TEST(StorageLog, ConfigurationEncodingRoundTripsAndRefusesDamage) {
  configuration c = three();
  c.learners = {node_id(7), node_id(9)};
  auto bytes = storage_log_store::encode_configuration(c);
  auto back = storage_log_store::decode_configuration(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, c);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(storage_log_store::decode_configuration(std::span(bytes).first(n)).has_value())
        << n;
  }
  // A member count far beyond the input.
  std::vector<std::byte> huge = {std::byte{0x7f}, std::byte{0xff}, std::byte{0xff},
                                 std::byte{0xff}};
  EXPECT_FALSE(storage_log_store::decode_configuration(huge).has_value());
}

TEST(FileHardState, SavesAtomicallyAndRefusesADamagedFile) {
  auto mem = std::make_shared<io::memory_file_system>();
  ASSERT_TRUE(mem->create_directories("g").has_value());
  {
    auto hs = file_hard_state_store::open(*mem, "g/raft.state");
    ASSERT_TRUE(hs.has_value());
    // No file: a node without its state, rebuilding until it holds a committed entry.
    EXPECT_EQ((*hs)->load(), (hard_state{term(0), std::nullopt, true}));
    ASSERT_TRUE((*hs)->save(hard_state{term(5), node_id(2), true}).has_value());
    ASSERT_TRUE((*hs)->save(hard_state{term(6), std::nullopt, false}).has_value());
  }
  mem->crash();  // what save() returned for is durable
  auto again = file_hard_state_store::open(*mem, "g/raft.state");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)->load(), (hard_state{term(6), std::nullopt, false}));
  ASSERT_TRUE((*again)->save(hard_state{term(7), node_id(3), true}).has_value());
  auto rebuilding = file_hard_state_store::open(*mem, "g/raft.state");
  ASSERT_TRUE(rebuilding.has_value());
  EXPECT_EQ((*rebuilding)->load(), (hard_state{term(7), node_id(3), true}));
  ASSERT_TRUE((*again)->save(hard_state{term(6), std::nullopt, false}).has_value());
  auto* bytes = mem->contents("g/raft.state");
  ASSERT_NE(bytes, nullptr);
  (*bytes)[9] ^= std::byte{1};
  EXPECT_FALSE(file_hard_state_store::open(*mem, "g/raft.state").has_value());
}

TEST(FileHardState, AFileWithoutTheFlagsByteIsOfANodeNotRebuilding) {
  auto mem = std::make_shared<io::memory_file_system>();
  ASSERT_TRUE(mem->create_directories("g").has_value());
  // The layout before the flags byte: magic, CRC-32C of the body, term, has-vote, vote.
  std::vector<std::byte> body(13);
  bytes::write_be<int64_t>(body.data(), 9);
  body[8] = std::byte{1};
  bytes::write_be<int32_t>(body.data() + 9, 2);
  std::vector<std::byte> file(8);
  bytes::write_be<uint32_t>(file.data(), 0x53524853);
  bytes::write_be<uint32_t>(file.data() + 4, bytes::crc32c(body));
  file.insert(file.end(), body.begin(), body.end());
  ASSERT_TRUE(mem->write_file_atomic("g/raft.state", file).has_value());
  auto hs = file_hard_state_store::open(*mem, "g/raft.state");
  ASSERT_TRUE(hs.has_value());
  EXPECT_EQ((*hs)->load(), (hard_state{term(9), node_id(2), false}));
}

}  // namespace
}  // namespace strom::raft
