// Log compaction: what is kept, offsets and reads across gaps, tombstones, codecs, idempotent
// producers, crashes at every step of the rewrite and swap, and races with truncation.
#include "log_fixture.h"

#include <cerrno>
#include <limits>
#include <map>
#include <thread>

#include "strom/bytes/crc32c.h"
#include "strom/model/batch_builder.h"
#include "strom/model/compression.h"
#include "strom/model/records.h"
#include "strom/storage/errc.h"
#include "support/raw_records.h"

namespace strom::storage::test {
namespace {

using opt_str = std::optional<std::string>;

struct rec {
  int64_t offset = 0;
  opt_str key;
  opt_str value;
  timestamp_ms ts = 0;
  bool operator==(const rec&) const = default;
};

std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class compaction_test : public log_fixture {
 protected:
  void SetUp() override {
    cfg_.retention_ms = -1;
    cfg_.cleanup_compact = true;
    cfg_.cleanup_delete = false;
    cfg_.delete_retention_ms = 1000;
    open_log(true);
  }

  /// Appends one batch of (key, value) records; returns its base offset.
  int64_t put(const std::vector<std::pair<opt_str, opt_str>>& kvs,
              model::compression codec = model::compression::none, int64_t pid = -1,
              int32_t seq = -1) {
    model::batch_builder b(clock_.now_ms());
    b.codec(codec);
    if (pid >= 0)
      b.producer(pid, 0, seq);
    for (const auto& [k, v] : kvs) {
      std::optional<std::string_view> kv, vv;
      if (k)
        kv = *k;
      if (v)
        vv = *v;
      b.add(kv, vv, clock_.now_ms());
    }
    auto bytes = b.build();
    auto r = l_->append(bytes, epoch_);
    EXPECT_TRUE(r) << r.error().message();
    for (size_t i = 0; i < kvs.size(); ++i)
      written_.push_back({r ? r->base.value() + static_cast<int64_t>(i) : -1, kvs[i].first,
                          kvs[i].second, clock_.now_ms()});
    return r ? r->base.value() : -1;
  }

  /// Closes the active segment (roll by age).
  void roll() {
    auto saved = cfg_.segment_ms;
    cfg_.segment_ms = 1;
    l_->set_config(cfg_);
    clock_.advance(std::chrono::milliseconds(2));
    ASSERT_TRUE(l_->housekeeping(false));
    cfg_.segment_ms = saved;
    l_->set_config(cfg_);
  }

  /// Every data batch of the log, from the log start, checked: CRC, counts within the
  /// offsets spanned, offsets increasing.
  std::vector<model::batch_header> batches() {
    std::vector<model::batch_header> out;
    auto bytes = read_everything();
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto h = model::decode_header(std::span(bytes).subspan(pos));
      EXPECT_TRUE(h);
      if (!h)
        break;
      EXPECT_LE(pos + h->size_bytes(), bytes.size());
      auto b = std::span(bytes).subspan(pos, h->size_bytes());
      EXPECT_EQ(bytes::crc32c(b.subspan(model::batch_layout::crc_start)), h->crc);
      EXPECT_EQ(h->magic, model::kafka_magic);
      EXPECT_GT(h->records_count, 0);
      EXPECT_LE(h->records_count, h->last_offset_delta + 1);
      if (!out.empty()) {
        EXPECT_GE(h->base_offset, out.back().next_offset().value());
      }
      out.push_back(*h);
      pos += h->size_bytes();
    }
    return out;
  }

  /// The bytes a consumer fetching from the log start to the end receives.
  std::vector<std::byte> read_everything() {
    std::vector<std::byte> all;
    auto from = l_->log_start();
    while (from.value() < l_->log_end().value()) {
      auto r = l_->read(from, read_options{1 << 20, {}, false, true});
      EXPECT_TRUE(r) << r.error().message();
      if (!r || r->bytes == 0)
        break;
      auto b = r->copy();
      EXPECT_TRUE(b);
      all.insert(all.end(), b->begin(), b->end());
      from = model::first_at(r->next);
    }
    return all;
  }

  /// Every record a consumer reads, in order.
  std::vector<rec> records() {
    std::vector<rec> out;
    auto bytes = read_everything();
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto h = model::decode_header(std::span(bytes).subspan(pos));
      if (!h)
        break;
      auto b = std::span(bytes).subspan(pos, h->size_bytes());
      auto section = model::records_section(b, *h, 1 << 26);
      EXPECT_TRUE(section) << section.error().message();
      if (section) {
        auto s =
            model::for_each_record_in(*section, h->records_count, [&](const model::record_view& r) {
              rec x;
              x.offset = h->base_offset + r.offset_delta;
              if (r.key)
                x.key = str(*r.key);
              if (r.value)
                x.value = str(*r.value);
              x.ts = h->base_timestamp + r.timestamp_delta;
              out.push_back(x);
              return true;
            });
        EXPECT_TRUE(s) << s.error().message();
      }
      pos += h->size_bytes();
    }
    return out;
  }

  /// The newest record of every key among what was written (tombstones included).
  std::map<std::string, rec> newest_written() const {
    std::map<std::string, rec> m;
    for (const auto& r : written_) {
      if (r.key)
        m[*r.key] = r;
    }
    return m;
  }

  /// The log holds the newest record of every key, with its offset, value and timestamp,
  /// and every record it holds was written at that offset.
  void expect_newest_values_kept() {
    auto got = records();
    std::map<int64_t, rec> by_offset;
    for (const auto& r : written_)
      by_offset[r.offset] = r;
    std::map<std::string, rec> last_seen;
    for (const auto& r : got) {
      ASSERT_TRUE(by_offset.count(r.offset)) << "record at " << r.offset << " never written";
      EXPECT_EQ(by_offset[r.offset], r) << "at offset " << r.offset;
      if (r.key)
        last_seen[*r.key] = r;
    }
    for (const auto& [k, r] : newest_written()) {
      if (!r.value && !last_seen.count(k))
        continue;  // a tombstone may be gone once its horizon passed
      ASSERT_TRUE(last_seen.count(k)) << "key " << k << " lost";
      EXPECT_EQ(last_seen[k], r) << "key " << k;
    }
  }

  /// Files of an unfinished compaction in the log directory.
  size_t staged_files() {
    auto names = mem_->list("data/t-0");
    EXPECT_TRUE(names.has_value());
    if (!names.has_value())
      return 0;
    std::vector<std::string> list = std::move(names).value();
    return static_cast<size_t>(std::count_if(list.begin(), list.end(), [](const std::string& f) {
      return f.ends_with(".cleaned") || f.ends_with(".swap");
    }));
  }

  std::vector<rec> written_;
  leader_epoch epoch_{0};  ///< of the batches put() appends
};

std::string key(int i) {
  return fmt::format("key-{}", i);
}

TEST_F(compaction_test, KeepsTheNewestRecordPerKeyWithOffsetsUnchanged) {
  for (int seg = 0; seg < 6; ++seg) {
    for (int b = 0; b < 8; ++b) {
      std::vector<std::pair<opt_str, opt_str>> kvs;
      for (int i = 0; i < 5; ++i) {
        int n = seg * 40 + b * 5 + i;
        kvs.emplace_back(key(n % 7), fmt::format("value-{}", n));
      }
      put(kvs);
    }
    roll();
  }
  put({{key(0), "in the active segment"}});
  ASSERT_TRUE(l_->flush());
  auto end = l_->log_end();
  auto before = l_->size_bytes();
  ASSERT_TRUE(l_->compaction_due());

  auto r = l_->compact();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->segments_read, 6u);
  EXPECT_GT(r->segments_rewritten, 0u);
  EXPECT_GT(r->records_removed, 200u);
  EXPECT_LT(l_->size_bytes(), before);
  EXPECT_EQ(l_->log_end(), end);
  EXPECT_FALSE(l_->compaction_due());

  expect_newest_values_kept();
  // The closed segments hold at most one record per key.
  std::map<std::string, int> count;
  for (const auto& x : records()) {
    if (x.offset < l_->recent_segments_start(1).value())
      ++count[*x.key];
  }
  for (const auto& [k, n] : count)
    EXPECT_EQ(n, 1) << k;
  // Every offset reads: a fetch inside a gap returns the next batch that exists.
  for (int64_t o = 0; o < end.value(); ++o) {
    auto rr = l_->read(kafka_offset(o), read_options{1, {}, false, true});
    ASSERT_TRUE(rr) << o << ": " << rr.error().message();
    ASSERT_GT(rr->bytes, 0u) << o;
    auto bytes = rr->copy();
    auto h = model::decode_header(*bytes);
    ASSERT_TRUE(h);
    EXPECT_GE(h->last_offset().value(), o);
  }
  (void)batches();
  // Appends continue at the same end; a second compaction with nothing new does nothing.
  EXPECT_EQ(put({{key(1), "after"}}), end.value());
  auto again = l_->compact();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->segments_rewritten, 0u);

  // The compacted log reopens the same, cleanly and after a crash.
  auto expected = records();
  reopen_clean();
  EXPECT_EQ(records(), expected);
  ASSERT_TRUE(l_->flush());
  l_.reset();
  mem_->crash();
  open_log(false);
  EXPECT_EQ(records(), expected);
  EXPECT_EQ(l_->log_end().value(), end.value() + 1);
}

TEST_F(compaction_test, AStoredRecordWithAForgedOffsetDeltaSupersedesNothing) {
  // Data stored before produce validation existed: a batch whose record claims an offset far
  // beyond its batch (1 + 1000). Compaction must not take it for the newest value of its key,
  // which would delete the value written after it.
  put({{"a", "1"}});
  ASSERT_TRUE(l_->close());
  {
    strom::test::raw_record r;
    r.offset_delta = 1000;
    r.key = "a";
    r.value = "forged";
    auto b = strom::test::raw_batch(strom::test::record_bytes(r));
    model::stamp_batch(b, kafka_offset(1), leader_epoch(0));
    auto f = fs_->open("data/t-0/00000000000000000000-0.log", io::open_mode::read_write);
    ASSERT_TRUE(f) << f.error().message();
    auto size = (*f)->size();
    ASSERT_TRUE(size);
    ASSERT_TRUE((*f)->write_at(*size, b));
  }
  open_log(false);  // recovery re-reads the segment and keeps the batch (its CRC is valid)
  ASSERT_EQ(l_->log_end().value(), 2);
  put({{"a", "2"}});
  roll();
  auto st = l_->compact();
  ASSERT_TRUE(st) << st.error().message();
  bool kept = false;
  for (const auto& r : records())
    kept = kept || (r.offset == 2 && r.value == "2");
  EXPECT_TRUE(kept) << "the value written after the forged record was removed";
}

TEST_F(compaction_test, RemovedTailKeepsTheSegmentEndAndTheLogEnd) {
  put({{"k", "v1"}});
  put({{"k", "v2"}});
  roll();
  put({{"k", "v3"}});
  roll();
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records(), (std::vector<rec>{written_[2]}));
  EXPECT_EQ(l_->log_end().value(), 3);
  // The first segment is now only an entry at offset 2: offsets 0 and 1 are a gap.
  auto r = l_->read(kafka_offset(0), {});
  ASSERT_TRUE(r);
  auto h = model::decode_header(*r->copy());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, 2);
  // Truncating into the gap never moves the end below the truncation point.
  auto t = l_->truncate(kafka_next_offset(2));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value(), 2);
  EXPECT_EQ(put({{"k", "v4"}}), 2);
  auto t1 = l_->truncate(kafka_next_offset(1));
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->value(), 1);
  EXPECT_EQ(put({{"k", "v5"}}), 1);
  reopen_clean();
  EXPECT_EQ(l_->log_end().value(), 2);
}

TEST_F(compaction_test, NewDataSupersedesWhatAnEarlierCompactionKept) {
  cfg_.min_cleanable_dirty_ratio = 0.1;
  l_->set_config(cfg_);
  put({{"a", "1"}, {"b", "1"}});
  roll();
  ASSERT_TRUE(l_->flush());
  auto first = l_->compact();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->records_removed, 0u);
  // Only the new segment is mapped now; it still removes "a" from the compacted one.
  put({{"a", "2"}});
  roll();
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compaction_due());
  auto second = l_->compact();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->records_removed, 1u);
  auto got = records();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "b");
  EXPECT_EQ(got[1].value, "2");
  expect_newest_values_kept();
}

TEST_F(compaction_test, TombstonesGoOnlyAfterDeleteRetention) {
  put({{"a", "1"}, {"b", "1"}});
  put({{"a", std::nullopt}, {"c", "1"}});
  roll();
  put({{"d", "1"}});
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  auto got = records();
  ASSERT_EQ(got.size(), 4u);  // b, the tombstone of a, c, d
  EXPECT_EQ(got[0].key, "b");
  EXPECT_EQ(got[1].key, "a");
  EXPECT_FALSE(got[1].value);
  EXPECT_EQ(got[1].ts, written_[2].ts);  // timestamps survive the delete horizon
  EXPECT_FALSE(l_->compaction_due());

  clock_.advance(std::chrono::milliseconds(cfg_.delete_retention_ms - 1));
  EXPECT_FALSE(l_->compaction_due());
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records().size(), 4u);

  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(l_->compaction_due());
  auto r = l_->compact();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->tombstones_removed, 1u);
  got = records();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& x : got)
    EXPECT_NE(x.key, "a");
  expect_newest_values_kept();
}

TEST_F(compaction_test, DeleteRetentionAtInt64MaxKeepsTombstonesForever) {
  // now + delete.retention.ms saturates instead of overflowing into the past.
  cfg_.delete_retention_ms = std::numeric_limits<int64_t>::max();
  l_->set_config(cfg_);
  put({{"a", "1"}, {"b", "1"}});
  put({{"a", std::nullopt}, {"c", "1"}});
  roll();
  put({{"d", "1"}});
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  auto got = records();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].key, "a");
  EXPECT_FALSE(got[1].value);
  EXPECT_EQ(got[1].ts, written_[2].ts);
  clock_.advance(std::chrono::hours(24 * 365 * 100));
  EXPECT_FALSE(l_->compaction_due());
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records().size(), 4u);
}

TEST_F(compaction_test, OutOfDescriptorsAtTheSwapRollsBackOrCompletesNeverOffline) {
  auto staged_files = [&] {
    auto names = fs_->list(std::filesystem::path("data") / name_.dir_name());
    EXPECT_TRUE(names);
    return std::count_if(names->begin(), names->end(), [](const std::string& n) {
      return n.ends_with(".cleaned") || n.ends_with(".swap");
    });
  };
  put({{"a", "1"}});
  put({{"a", "2"}});
  roll();
  put({{"b", "1"}});
  ASSERT_TRUE(l_->flush());
  // The first directory sync (the commit point) cannot open the directory: rolled back.
  auto job = l_->prepare_compaction();
  ASSERT_TRUE(job);
  ASSERT_TRUE(job->run());
  fs_->fail_opens_with(EMFILE);
  auto r = l_->finish_compaction(*job);
  fs_->fail_opens_with(0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::compaction_aborted)) << r.error().message();
  EXPECT_FALSE(l_->offline());
  EXPECT_EQ(staged_files(), 0);
  EXPECT_EQ(records().size(), 3u);
  // The second one (after the commit point): the swap stands, durable with the next flush.
  job = l_->prepare_compaction();
  ASSERT_TRUE(job);
  ASSERT_TRUE(job->run());
  fs_->fail_opens_with(EMFILE, 1);
  r = l_->finish_compaction(*job);
  fs_->fail_opens_with(0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(l_->offline());
  EXPECT_EQ(staged_files(), 0);
  EXPECT_EQ(records().size(), 2u);
  expect_newest_values_kept();
  ASSERT_TRUE(l_->flush());
  reopen_clean();
  EXPECT_EQ(records().size(), 2u);
  expect_newest_values_kept();
}

TEST_F(compaction_test, MinCompactionLagKeepsRecentSegmentsUntouched) {
  cfg_.min_compaction_lag_ms = 60'000;
  l_->set_config(cfg_);
  put({{"k", "1"}});
  put({{"k", "2"}});
  roll();
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records().size(), 2u);
  clock_.advance(std::chrono::milliseconds(60'000));
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records().size(), 1u);
}

TEST_F(compaction_test, OnlyFlushedDataSupersedesOlderRecords) {
  put({{"k", "1"}});
  roll();
  ASSERT_TRUE(l_->flush());
  // Hold the flush thread: what is appended from now on is not durable.
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  pool_.submit([opened] { opened.wait(); });
  put({{"k", "2"}});
  roll();
  auto r = l_->compact();
  ASSERT_TRUE(r) << r.error().message();
  // The second segment is not flushed: it is neither compacted nor used to drop "1".
  EXPECT_EQ(records().size(), 2u);
  gate.set_value();
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records().size(), 1u);
}

TEST_F(compaction_test, RetentionAppliesOnlyWithTheDeletePolicy) {
  cfg_.retention_ms = 10;
  l_->set_config(cfg_);
  put({{"k", "1"}});
  roll();
  put({{"j", "1"}});
  clock_.advance(std::chrono::milliseconds(1000));
  auto d = l_->housekeeping(true);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, 0u);
  EXPECT_EQ(records().size(), 2u);
  cfg_.cleanup_delete = true;  // compact,delete
  l_->set_config(cfg_);
  d = l_->housekeeping(true);
  ASSERT_TRUE(d);
  EXPECT_GT(*d, 0u);
}

TEST_F(compaction_test, KeylessRecordsAreRefusedAndOldOnesRemoved) {
  model::batch_builder b(1000);
  b.add(std::nullopt, std::optional<std::string_view>("no key"), 1000);
  auto bytes = b.build();
  auto r = l_->append(bytes, leader_epoch(0));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::record_without_key));
  EXPECT_EQ(l_->log_end().value(), 0);
  // Compressed too.
  model::batch_builder z(1000);
  z.codec(model::compression::zstd);
  z.add(std::optional<std::string_view>("k"), std::optional<std::string_view>("v"), 1000);
  z.add(std::nullopt, std::optional<std::string_view>("no key"), 1000);
  auto zb = z.build();
  EXPECT_TRUE(l_->append(zb, leader_epoch(0)).error().is(errc::record_without_key));

  // Written before the topic became compacted: compaction drops them, as Kafka does.
  cfg_.cleanup_compact = false;
  l_->set_config(cfg_);
  put({{std::nullopt, "old"}, {"k", "v"}});
  roll();
  cfg_.cleanup_compact = true;
  l_->set_config(cfg_);
  ASSERT_TRUE(l_->flush());
  auto c = l_->compact();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->keyless_removed, 1u);
  auto got = records();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "k");
  EXPECT_EQ(got[0].offset, 1);
}

class codec_compaction_test : public compaction_test,
                              public ::testing::WithParamInterface<model::compression> {};

TEST_P(codec_compaction_test, PartlyKeptBatchesAreRebuiltWithTheirCodecAndProducerFields) {
  auto codec = GetParam();
  for (int b = 0; b < 10; ++b) {
    std::vector<std::pair<opt_str, opt_str>> kvs;
    for (int i = 0; i < 20; ++i)
      kvs.emplace_back(key(b * 10 + i), fmt::format("v{}-{}", b, i));  // half overlaps b + 1
    put(kvs, codec, 42, b * 20);
    clock_.advance(std::chrono::milliseconds(5));
  }
  roll();
  put({{key(0), "last"}}, codec);
  ASSERT_TRUE(l_->flush());
  auto before = batches();
  auto r = l_->compact();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GT(r->batches_rebuilt, 0u);
  expect_newest_values_kept();
  auto after = batches();
  ASSERT_FALSE(after.empty());
  for (const auto& h : after) {
    EXPECT_EQ(h.codec(), codec);
    // Find the original batch: same base offset, same span, same producer fields.
    auto it = std::find_if(before.begin(), before.end(),
                           [&](const auto& o) { return o.base_offset == h.base_offset; });
    ASSERT_NE(it, before.end());
    EXPECT_EQ(h.last_offset_delta, it->last_offset_delta);
    EXPECT_EQ(h.producer_id, it->producer_id);
    EXPECT_EQ(h.producer_epoch, it->producer_epoch);
    EXPECT_EQ(h.base_sequence, it->base_sequence);
    EXPECT_EQ(h.max_timestamp, it->max_timestamp);
    EXPECT_EQ(h.attributes & 0x3f, it->attributes & 0x3f);
  }
}

constexpr model::compression all_codecs[] = {model::compression::none, model::compression::gzip,
                                             model::compression::snappy, model::compression::lz4,
                                             model::compression::zstd};

std::string codec_name(const ::testing::TestParamInfo<model::compression>& p) {
  static const char* const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return names[static_cast<int>(p.param)];
}

INSTANTIATE_TEST_SUITE_P(Codecs, codec_compaction_test, ::testing::ValuesIn(all_codecs),
                         codec_name);

TEST_F(compaction_test, IdempotentProducerStateSurvivesItsBatchesRemoval) {
  put({{"a", "1"}, {"b", "1"}}, model::compression::none, 7, 0);
  put({{"a", "2"}, {"b", "2"}}, model::compression::none, 7, 2);
  roll();
  put({{"a", "3"}, {"b", "3"}});  // not idempotent: supersedes both batches of producer 7
  roll();
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  EXPECT_EQ(records().size(), 2u);
  std::vector<model::batch_header> seen;
  ASSERT_TRUE(l_->visit_headers(kafka_offset(0), [&](const auto& h) {
    if (h.producer_id == 7)
      seen.push_back(h);
  }));
  // The newest batch of producer 7 is remembered (offsets 2..3, sequence 2..3).
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base_offset, 2);
  EXPECT_EQ(seen[0].base_sequence, 2);
  EXPECT_EQ(seen[0].last_offset_delta, 1);
  // Still there after another compaction and a restart.
  put({{"c", "1"}});
  roll();
  ASSERT_TRUE(l_->flush());
  ASSERT_TRUE(l_->compact());
  reopen_clean();
  seen.clear();
  ASSERT_TRUE(l_->visit_headers(kafka_offset(0), [&](const auto& h) {
    if (h.producer_id == 7)
      seen.push_back(h);
  }));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base_sequence, 2);
}

TEST_F(compaction_test, AReplicatedLogKeepsEveryOffsetInAnEntryOfItsTermAndAFollowerTakesIt) {
  // A Raft log (term-start entries, two terms): each batch whose records all go stays with
  // none, so that every Raft index is still in an entry of the term it was written in, and a
  // follower catching up from these bytes gets the same log.
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(1)));
  epoch_ = leader_epoch(1);
  put({{"a", "1"}, {"b", "1"}}, model::compression::lz4, 7, 0);
  put({{"a", "2"}});
  put({{"c", "1"}, {"a", "3"}}, model::compression::zstd);
  roll();
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(2)));
  epoch_ = leader_epoch(2);
  put({{"b", "2"}, {"c", std::nullopt}});
  put({{"a", "4"}});
  roll();
  put({{"a", "5"}, {"b", "3"}});
  roll();
  put({{"d", "active"}});
  ASSERT_TRUE(l_->flush());
  auto first = l_->first_index();
  auto last = l_->last_index();
  std::vector<leader_epoch> terms;
  for (auto i = first; i <= last; i = model::raft_index(i.value() + 1))
    terms.push_back(*l_->term_at(i));

  // Bounded: the segments reaching past the limit stay as they are (nothing there supersedes).
  auto second_segment = l_->recent_segments_start(3);
  auto st = l_->compact({model::kafka_next_offset(second_segment.value()), true});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->segments_read, 1u);
  EXPECT_EQ(st->records_removed, 2u);  // a=1 and a=2 by a=3
  st = l_->compact({l_->log_end(), true});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_GT(st->records_removed, 0u);

  // Every index in an entry of its term, entries contiguous, some of them empty batches.
  auto entries = l_->read_entries(first, 1 << 30);
  ASSERT_TRUE(entries) << entries.error().message();
  auto next = first;
  size_t empty = 0;
  for (const auto& e : *entries) {
    EXPECT_EQ(e.index, next);
    auto span = e.header.is_internal() ? 1 : e.header.offset_count();
    for (int64_t k = 0; k < span; ++k) {
      auto i = e.index.value() + k;
      EXPECT_EQ(leader_epoch(e.header.partition_leader_epoch), terms[i - first.value()]) << i;
      EXPECT_EQ(l_->term_at(model::raft_index(i)), terms[i - first.value()]) << i;
    }
    if (!e.header.is_internal() && e.header.records_count == 0) {
      ++empty;
      EXPECT_EQ(e.header.codec(), model::compression::none);
    }
    next = model::raft_index(e.index.value() + span);
  }
  EXPECT_EQ(next.value(), last.value() + 1);
  EXPECT_EQ(empty, 4u);  // {a=1 b=1}, {a=2}, {c=1 a=3}, {a=4}
  // A consumer gets the records only (no empty batch reaches it) and every key's newest.
  (void)batches();
  expect_newest_values_kept();
  // The producer state is read back from the kept headers as before.
  std::vector<model::batch_header> seen;
  ASSERT_TRUE(l_->visit_headers(kafka_offset(0), [&](const auto& h) {
    if (h.producer_id == 7)
      seen.push_back(h);
  }));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base_sequence, 0);

  // A follower appends what the leader serves, entry by entry, and holds the same bytes.
  log_recovery report;
  auto follower =
      log::open(model::ntp{"t", model::partition_id(1)},
                log::options{fs_.get(), &clock_, &pool_, dir_, cfg_, nullptr, nullptr, nullptr},
                true, report);
  ASSERT_TRUE(follower) << follower.error().message();
  auto& f = **follower;
  for (const auto& e : *entries) {
    auto r = f.append_stamped(e.bytes, e.index);
    ASSERT_TRUE(r) << e.index.value() << ": " << r.error().message();
  }
  auto copied = f.read_entries(first, 1 << 30);
  ASSERT_TRUE(copied);
  ASSERT_EQ(copied->size(), entries->size());
  for (size_t i = 0; i < copied->size(); ++i)
    EXPECT_EQ((*copied)[i].bytes, (*entries)[i].bytes) << i;
  ASSERT_TRUE(f.close());

  // The leader's compacted log reopens the same after a crash (recovery takes empty batches).
  auto expected = records();
  ASSERT_TRUE(l_->flush());
  l_.reset();
  mem_->crash();
  open_log(false);
  EXPECT_EQ(records(), expected);
  EXPECT_EQ(l_->last_index(), last);
  auto again = l_->read_entries(first, 1 << 30);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), entries->size());
}

TEST_F(compaction_test, CrashAtEveryStepOfRewriteAndSwapLosesNothing) {
  // What a reader sees, without timestamps (the clock moves between rounds).
  auto shape = [&] {
    std::vector<std::tuple<int64_t, opt_str, opt_str>> out;
    for (const auto& r : records())
      out.emplace_back(r.offset, r.key, r.value);
    return out;
  };
  decltype(shape()) compacted;
  bool completed = false;
  int64_t steps = 0;
  // Round -1 runs without a fault and gives the compacted state; round n fails the n-th
  // file-system operation of the compaction and every later one, then cuts the power.
  for (int64_t n = -1; n < 400 && !completed; ++n) {
    SCOPED_TRACE(fmt::format("crash after {} operations", n));
    mem_ = std::make_shared<io::memory_file_system>();
    fs_ = std::make_shared<io::fault_file_system>(mem_);
    dir_ = std::make_shared<log_dir>("data");
    written_.clear();
    open_log(true);
    for (int seg = 0; seg < 4; ++seg) {
      for (int b = 0; b < 4; ++b) {
        std::vector<std::pair<opt_str, opt_str>> kvs;
        for (int i = 0; i < 4; ++i) {
          int x = seg * 16 + b * 4 + i;
          kvs.emplace_back(key(x % 5), x % 11 == 10 ? opt_str() : opt_str(fmt::format("v{}", x)));
        }
        put(kvs, seg % 2 == 0 ? model::compression::none : model::compression::lz4);
      }
      roll();
    }
    put({{key(1), "active"}});
    ASSERT_TRUE(l_->flush());
    auto end = l_->log_end();
    auto original = shape();
    auto start_ops = fs_->ops();

    fs_->fail_ops_after(n);
    auto r = l_->compact();
    fs_->fail_ops_after(-1);
    if (n == -1) {
      ASSERT_TRUE(r) << r.error().message();
      ASSERT_GT(r->segments_rewritten, 1u);
      compacted = shape();
      ASSERT_LT(compacted.size(), original.size());
      continue;
    }
    completed = r.has_value();
    if (completed)
      steps = static_cast<int64_t>(fs_->ops() - start_ops);
    // Power cut: unsynced bytes vanish; then an unclean restart.
    l_.reset();
    mem_->crash();
    dir_ = std::make_shared<log_dir>("data");
    open_log(false);
    ASSERT_TRUE(l_);
    EXPECT_EQ(l_->log_end(), end);
    expect_newest_values_kept();
    (void)batches();
    EXPECT_EQ(staged_files(), 0u);
    // The swap is atomic over all the segments of the run: all old or all new.
    auto now = shape();
    EXPECT_TRUE(now == original || now == compacted) << now.size() << " records";
    if (completed) {
      EXPECT_EQ(now, compacted);
    }
    // The recovered log compacts and takes appends.
    auto again = l_->compact();
    ASSERT_TRUE(again) << again.error().message();
    expect_newest_values_kept();
    EXPECT_EQ(put({{key(2), "after"}}), end.value());
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(steps, 10);  // the loop really went through every step
}

TEST_F(compaction_test, TruncationOrRetentionDuringCompactionAbortsTheSwap) {
  for (int seg = 0; seg < 3; ++seg) {
    for (int b = 0; b < 3; ++b)
      put({{key(b), fmt::format("v{}", seg)}, {key(9), "x"}});
    roll();
  }
  put({{key(0), "active"}});
  ASSERT_TRUE(l_->flush());

  // Truncation into the closed segments while the job runs on another thread.
  auto job = l_->prepare_compaction();
  ASSERT_TRUE(job);
  EXPECT_FALSE(l_->prepare_compaction());  // one at a time
  std::thread worker([&] { (void)job->run(); });
  auto t = l_->truncate(kafka_next_offset(8));
  worker.join();
  ASSERT_TRUE(t);
  auto r = l_->finish_compaction(*job);
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().is(errc::log_dir_offline)) << r.error().message();
  EXPECT_EQ(l_->log_end().value(), 8);
  written_.resize(8);
  expect_newest_values_kept();
  EXPECT_EQ(records().size(), 8u);  // nothing was compacted away
  EXPECT_EQ(staged_files(), 0u);

  // DeleteRecords between run and swap.
  put({{key(1), "z"}});
  roll();
  ASSERT_TRUE(l_->flush());
  job = l_->prepare_compaction();
  ASSERT_TRUE(job);
  ASSERT_TRUE(job->run());
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(6)));
  r = l_->finish_compaction(*job);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::compaction_aborted));
  EXPECT_EQ(l_->log_start().value(), 6);
  // And the next compaction goes through.
  auto again = l_->compact();
  ASSERT_TRUE(again) << again.error().message();
  for (const auto& x : records())
    EXPECT_GE(x.offset, 6);
  reopen_clean();
  EXPECT_EQ(l_->log_start().value(), 6);
}

TEST_F(compaction_test, DueOnlyWithEnoughNewClosedData) {
  EXPECT_FALSE(l_->compaction_due());
  for (int i = 0; i < 4; ++i)
    put({{key(i % 2), "v"}});
  EXPECT_FALSE(l_->compaction_due());  // nothing closed yet
  roll();
  ASSERT_TRUE(l_->flush());
  EXPECT_TRUE(l_->compaction_due());
  ASSERT_TRUE(l_->compact());
  EXPECT_FALSE(l_->compaction_due());
  put({{key(5), "v"}});
  roll();
  EXPECT_FALSE(l_->compaction_due());  // a third of the closed bytes are new
  put({{key(6), "v"}});
  put({{key(7), "v"}});
  roll();
  EXPECT_TRUE(l_->compaction_due());  // more new closed data than compacted data
  cfg_.cleanup_compact = false;
  l_->set_config(cfg_);
  EXPECT_FALSE(l_->compaction_due());
  EXPECT_FALSE(l_->prepare_compaction());
}

}  // namespace
}  // namespace strom::storage::test
