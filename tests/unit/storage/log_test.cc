#include "log_fixture.h"

#include <limits>
#include <tuple>

#include "strom/storage/errc.h"

namespace strom::storage::test {
namespace {

using log_test = log_fixture;

TEST_F(log_test, AppendAssignsContiguousOffsets) {
  EXPECT_EQ(append(5).base.value(), 0);
  auto r = append(5);
  EXPECT_EQ(r.base.value(), 5);
  EXPECT_EQ(r.last.value(), 9);
  EXPECT_EQ(append(1).base.value(), 10);
  EXPECT_EQ(l_->log_end().value(), 11);
  EXPECT_EQ(l_->log_start().value(), 0);
}

TEST_F(log_test, AppendRejectsBadBatchesAndStoresNothing) {
  auto b = strom::test::make_batch(3);
  b[b.size() - 2] ^= std::byte{0x40};
  auto r = l_->append(b, leader_epoch(0));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_batch));
  cfg_.max_batch_bytes = 100;
  l_->set_config(cfg_);
  auto big = strom::test::make_batch(10, 1000, 0, 50);
  EXPECT_TRUE(l_->append(big, leader_epoch(0)).error().is(errc::batch_too_large));
  EXPECT_EQ(l_->log_end().value(), 0);
  EXPECT_EQ(l_->size_bytes(), 0u);
}

TEST_F(log_test, StoresBatchesByteForByteWithOffsetAndEpochRewritten) {
  auto b = strom::test::make_batch(4);
  auto original = b;
  ASSERT_TRUE(l_->append(b, leader_epoch(0)));
  ASSERT_TRUE(l_->append(b, leader_epoch(0)));
  auto r = l_->read(kafka_offset(4), {});
  ASSERT_TRUE(r);
  auto bytes = r->copy();
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), original.size());
  // Bytes 0..7 (base offset) and 12..15 (epoch) differ; everything else is as produced.
  EXPECT_TRUE(std::equal(bytes->begin() + 16, bytes->end(), original.begin() + 16));
  EXPECT_TRUE(std::equal(bytes->begin() + 8, bytes->begin() + 12, original.begin() + 8));
  auto h = model::decode_header(*bytes);
  EXPECT_EQ(h->base_offset, 4);
  EXPECT_EQ(h->partition_leader_epoch, 0);
}

TEST_F(log_test, ReadInsideBatchReturnsWholeContainingBatch) {
  append(5);
  append(5);
  append(5);
  auto hs = read_headers(kafka_offset(7));
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].base_offset, 5);
  EXPECT_EQ(hs[1].base_offset, 10);
  auto r = l_->read(kafka_offset(7), {});
  EXPECT_EQ(r->next.value(), 15);
}

TEST_F(log_test, ReadHonoursByteBudgetButReturnsAtLeastOneBatch) {
  auto a = append(5);
  append(5);
  (void)a;
  auto one = strom::test::make_batch(5).size();
  read_options ro;
  ro.max_bytes = one + one / 2;
  EXPECT_EQ(read_headers(kafka_offset(0), ro).size(), 1u);
  ro.max_bytes = 1;
  EXPECT_EQ(read_headers(kafka_offset(0), ro).size(), 1u);
  ro.min_one_batch = false;
  EXPECT_EQ(read_headers(kafka_offset(0), ro).size(), 0u);
}

TEST_F(log_test, ReadStopsAtUpperBound) {
  append(5);
  append(5);
  read_options ro;
  ro.max_offset = kafka_next_offset(5);
  auto hs = read_headers(kafka_offset(0), ro);
  ASSERT_EQ(hs.size(), 1u);
  ro.max_offset = kafka_next_offset(7);  // the second batch is not wholly below the bound
  EXPECT_EQ(read_headers(kafka_offset(0), ro).size(), 1u);
}

TEST_F(log_test, ReadOutsideTheLogIsOutOfRange) {
  append(3);
  EXPECT_TRUE(l_->read(kafka_offset(4), {}).error().is(errc::offset_out_of_range));
  auto at_end = l_->read(kafka_offset(3), {});
  ASSERT_TRUE(at_end);
  EXPECT_EQ(at_end->bytes, 0u);
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(2)));
  EXPECT_TRUE(l_->read(kafka_offset(1), {}).error().is(errc::offset_out_of_range));
}

TEST_F(log_test, RollsBySize) {
  auto one = strom::test::make_batch(2, 1000, 0, 100).size();
  cfg_.segment_bytes = one * 3;
  l_->set_config(cfg_);
  for (int i = 0; i < 10; ++i)
    append(2, leader_epoch(0), 1000, 100);
  EXPECT_EQ(l_->segment_count(), 4u);  // 3 + 3 + 3 + 1
  auto hs = read_headers(kafka_offset(0), read_options{1 << 20, {}, false, true});
  EXPECT_EQ(hs.size(), 10u);
  for (size_t i = 0; i < hs.size(); ++i)
    EXPECT_EQ(hs[i].base_offset, static_cast<int64_t>(2 * i));
}

TEST_F(log_test, RollsWhenTheOffsetIndexIsFull) {
  cfg_.index_interval_bytes = 0;  // an entry per batch
  cfg_.index_max_bytes = 3 * index_entry::disk_size;
  open_log(true);  // the interval applies to segments created from now on
  for (int i = 0; i < 7; ++i)
    append(1);
  EXPECT_EQ(l_->segment_count(), 3u);  // 3 + 3 + 1
  EXPECT_EQ(read_headers(kafka_offset(0)).size(), 7u);
}

TEST_F(log_test, JitterRollsEarlierButNeverBeforeHalfOfSegmentMs) {
  cfg_.segment_ms = 1000;
  cfg_.segment_jitter_ms = std::numeric_limits<int64_t>::max();
  l_->set_config(cfg_);
  for (int round = 0; round < 20; ++round) {
    append(1);
    auto before = l_->segment_count();
    clock_.advance(std::chrono::milliseconds(499));
    ASSERT_TRUE(l_->housekeeping(false));
    EXPECT_EQ(l_->segment_count(), before) << "rolled before half of segment.ms";
    clock_.advance(std::chrono::milliseconds(501));
    ASSERT_TRUE(l_->housekeeping(false));
    EXPECT_EQ(l_->segment_count(), before + 1) << "not rolled by segment.ms";
  }
}

TEST_F(log_test, RollsByAge) {
  cfg_.segment_ms = 1000;
  l_->set_config(cfg_);
  append(1);
  clock_.advance(std::chrono::milliseconds(999));
  append(1);
  EXPECT_EQ(l_->segment_count(), 1u);
  clock_.advance(std::chrono::milliseconds(1));
  append(1);
  EXPECT_EQ(l_->segment_count(), 2u);
  clock_.advance(std::chrono::milliseconds(1000));
  ASSERT_TRUE(l_->housekeeping());  // an idle but old active segment rolls too
  EXPECT_EQ(l_->segment_count(), 3u);
}

TEST_F(log_test, EpochChangeRollsAndIsCheckpointed) {
  append(2, leader_epoch(1));
  append(2, leader_epoch(1));
  append(3, leader_epoch(3));
  EXPECT_EQ(l_->segment_count(), 2u);
  EXPECT_EQ(l_->active_epoch().value(), 3);
  auto stale = strom::test::make_batch(1);
  auto r = l_->append(stale, leader_epoch(2));
  EXPECT_TRUE(r.error().is(errc::stale_epoch));
  std::vector<epoch_cache::entry> want = {{leader_epoch(1), kafka_offset(0)},
                                          {leader_epoch(3), kafka_offset(4)}};
  EXPECT_EQ(l_->epochs().entries(), want);
  EXPECT_TRUE(*fs_->exists("data/t-0/00000000000000000000-1.log"));
  EXPECT_TRUE(*fs_->exists("data/t-0/00000000000000000004-3.log"));
  auto end = l_->epochs().end_offset_for(leader_epoch(2), l_->log_end());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->epoch.value(), 1);
  EXPECT_EQ(end->start.value(), 4);
  reopen_clean();
  EXPECT_EQ(l_->epochs().entries(), want);
}

TEST_F(log_test, FindsOffsetByTimestamp) {
  model::batch_builder b(1000);
  b.add(std::optional<std::string_view>("a"), std::optional<std::string_view>("1"), 1000);
  b.add(std::optional<std::string_view>("b"), std::optional<std::string_view>("2"), 1500);
  b.add(std::optional<std::string_view>("c"), std::optional<std::string_view>("3"), 2000);
  auto bytes = b.build();
  ASSERT_TRUE(l_->append(bytes, leader_epoch(0)));
  append(2, leader_epoch(0), 3000);
  append(2, leader_epoch(0), 5000);
  auto at = [&](timestamp_ms ts) { return l_->find_offset_by_timestamp(ts); };
  EXPECT_EQ((*at(0))->offset.value(), 0);
  EXPECT_EQ((*at(1200))->offset.value(), 1);
  EXPECT_EQ((*at(1200))->timestamp, 1500);
  EXPECT_EQ((*at(2000))->offset.value(), 2);
  EXPECT_EQ((*at(2001))->offset.value(), 3);
  EXPECT_EQ((*at(4000))->offset.value(), 5);
  EXPECT_FALSE(at(5001)->has_value());
}

TEST_F(log_test, FindsTheExactRecordInsideCompressedBatches) {
  for (auto codec : {model::compression::gzip, model::compression::snappy, model::compression::lz4,
                     model::compression::zstd}) {
    model::batch_builder b(1000);
    b.codec(codec);
    for (int i = 0; i < 10; ++i)
      b.add(std::optional<std::string_view>("k"), std::optional<std::string_view>("v"),
            1000 + 100 * i);
    auto bytes = b.build();
    auto base = l_->append(bytes, leader_epoch(0));
    ASSERT_TRUE(base) << base.error().message();
    auto first = base->base.value();
    // Between records 4 and 5, on record 7, before the batch, after it.
    auto hit = l_->find_offset_by_timestamp(1450);
    ASSERT_TRUE(hit && *hit);
    EXPECT_EQ((*hit)->offset.value(), first + 5) << static_cast<int>(codec);
    EXPECT_EQ((*hit)->timestamp, 1500);
    hit = l_->find_offset_by_timestamp(1700);
    EXPECT_EQ((*hit)->offset.value(), first + 7);
    EXPECT_EQ((*hit)->timestamp, 1700);
    EXPECT_EQ((*l_->find_offset_by_timestamp(0))->offset.value(), 0);
    EXPECT_FALSE(l_->find_offset_by_timestamp(1901)->has_value());
    // The next round's batch repeats the timestamps later in the log.
    ASSERT_TRUE(l_->truncate(model::kafka_next_offset(0)));
  }
}

TEST_F(log_test, TimestampLookupSpansSegments) {
  cfg_.segment_bytes = 1;  // one batch per segment
  l_->set_config(cfg_);
  for (int i = 0; i < 5; ++i)
    append(1, leader_epoch(0), 1000 * (i + 1));
  EXPECT_EQ(l_->segment_count(), 5u);
  EXPECT_EQ((*l_->find_offset_by_timestamp(3500))->offset.value(), 3);
  reopen_clean();
  EXPECT_EQ((*l_->find_offset_by_timestamp(3500))->offset.value(), 3);
}

TEST_F(log_test, TruncateRemovesSuffixAndEpochs) {
  append(5, leader_epoch(1));
  append(5, leader_epoch(2));
  append(5, leader_epoch(3));
  auto end = l_->truncate(kafka_next_offset(5));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->value(), 5);
  EXPECT_EQ(l_->log_end().value(), 5);
  ASSERT_EQ(l_->epochs().entries().size(), 1u);
  EXPECT_EQ(l_->epochs().latest()->value(), 1);
  EXPECT_EQ(read_headers(kafka_offset(0)).size(), 1u);
  // A batch that straddles the cut is removed whole.
  EXPECT_EQ(l_->truncate(kafka_next_offset(3))->value(), 0);
  EXPECT_EQ(append(2, leader_epoch(4)).base.value(), 0);
  reopen_clean();
  EXPECT_EQ(l_->log_end().value(), 2);
  EXPECT_EQ(l_->epochs().latest()->value(), 4);
}

TEST_F(log_test, TruncateInsideActiveSegmentKeepsIndexUsable) {
  cfg_.index_interval_bytes = 1;  // index every batch
  l_->set_config(cfg_);
  for (int i = 0; i < 20; ++i)
    append(1);
  ASSERT_TRUE(l_->truncate(kafka_next_offset(12)));
  EXPECT_EQ(l_->log_end().value(), 12);
  for (int i = 0; i < 12; ++i) {
    auto hs = read_headers(kafka_offset(i), read_options{1, {}, false, true});
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].base_offset, i);
  }
  append(1);
  EXPECT_EQ(l_->log_end().value(), 13);
  reopen_clean();
  EXPECT_EQ(l_->log_end().value(), 13);
  EXPECT_EQ(read_headers(kafka_offset(12)).size(), 1u);
}

TEST_F(log_test, PrefixTruncateDeletesWholeSegmentsAndPersistsStart) {
  cfg_.segment_bytes = 1;
  l_->set_config(cfg_);
  for (int i = 0; i < 5; ++i)
    append(2);
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(5)));
  EXPECT_EQ(l_->log_start().value(), 5);
  EXPECT_EQ(l_->segment_count(), 3u);  // segments starting at 4, 6, 8
  auto hs = read_headers(kafka_offset(5));
  ASSERT_FALSE(hs.empty());
  EXPECT_EQ(hs[0].base_offset, 4);  // the batch holding offset 5 comes back whole
  reopen_clean();
  EXPECT_EQ(l_->log_start().value(), 5);
  EXPECT_TRUE(l_->prefix_truncate(kafka_offset(11)).error().is(errc::invalid_offset));
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(10)));
  EXPECT_EQ(l_->log_start().value(), 10);
  EXPECT_EQ(append(1).base.value(), 10);
}

TEST_F(log_test, RetentionBySize) {
  auto one = strom::test::make_batch(1, 1000, 0, 200).size();
  cfg_.segment_bytes = one * 2;
  cfg_.retention_bytes = static_cast<int64_t>(one * 5);
  cfg_.retention_ms = -1;
  l_->set_config(cfg_);
  for (int i = 0; i < 10; ++i)
    append(1, leader_epoch(0), 1000, 200);
  EXPECT_EQ(l_->segment_count(), 5u);
  auto deleted = l_->housekeeping();
  ASSERT_TRUE(deleted);
  // As Kafka: delete the oldest segment while the log stays at or above retention.bytes
  // without it: 10 batches -> 6 batches kept, never less than retention.bytes.
  EXPECT_EQ(*deleted, 2u);
  EXPECT_EQ(l_->log_start().value(), 4);
  EXPECT_EQ(l_->size_bytes(), one * 6);
  reopen_clean();
  EXPECT_EQ(l_->log_start().value(), 4);
}

TEST_F(log_test, RetentionByAge) {
  cfg_.segment_bytes = 1;
  cfg_.segment_ms = 1'000'000;
  cfg_.retention_ms = 10'000;
  l_->set_config(cfg_);
  auto now = clock_.now_ms();
  append(1, leader_epoch(0), now - 20'000);
  append(1, leader_epoch(0), now - 15'000);
  append(1, leader_epoch(0), now - 5'000);
  append(1, leader_epoch(0), now);
  EXPECT_EQ(*l_->housekeeping(), 2u);
  EXPECT_EQ(l_->log_start().value(), 2);
  clock_.advance(std::chrono::milliseconds(20'000));
  EXPECT_EQ(*l_->housekeeping(), 2u);  // the active segment expired too: rolled, then deleted
  EXPECT_EQ(l_->log_start().value(), 4);
  EXPECT_EQ(l_->log_end().value(), 4);
  EXPECT_EQ(append(1).base.value(), 4);
}

TEST_F(log_test, ReopenAfterCleanShutdownLoadsIndexes) {
  cfg_.segment_bytes = 2000;
  l_->set_config(cfg_);
  for (int i = 0; i < 50; ++i)
    append(3, leader_epoch(0), 1000 + i, 50);
  auto end = l_->log_end();
  auto segs = l_->segment_count();
  auto report = reopen_clean();
  EXPECT_EQ(report.segments_recovered, 0u);
  EXPECT_EQ(report.indexes_rebuilt, 0u);
  EXPECT_EQ(l_->log_end(), end);
  EXPECT_EQ(l_->segment_count(), segs);
  for (int o = 0; o < end.value(); o += 7) {
    auto hs = read_headers(kafka_offset(o), read_options{1, {}, false, true});
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_LE(hs[0].base_offset, o);
    EXPECT_GE(hs[0].last_offset().value(), o);
  }
}

TEST_F(log_test, InternalEntriesTakeNoOffsetAndAreHiddenFromFetch) {
  append(3, leader_epoch(1));
  auto at = l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(2));
  ASSERT_TRUE(at);
  EXPECT_EQ(at->position.value(), 3);
  EXPECT_EQ(at->index.value(), 3);
  EXPECT_EQ(l_->log_end().value(), 3);
  EXPECT_EQ(append(2, leader_epoch(2)).base.value(), 3);
  ASSERT_TRUE(l_->append_internal(model::internal_kind::configuration, {}, leader_epoch(2)));
  EXPECT_EQ(append(2, leader_epoch(2)).base.value(), 5);

  auto check = [&] {
    auto fetch = read_headers(kafka_offset(0));
    ASSERT_EQ(fetch.size(), 3u);
    for (auto& h : fetch)
      EXPECT_FALSE(h.is_internal());
    read_options ro;
    ro.include_internal = true;
    auto repl = read_headers(kafka_offset(0), ro);
    ASSERT_EQ(repl.size(), 5u);
    EXPECT_TRUE(repl[1].is_internal());
    EXPECT_TRUE(repl[3].is_internal());
    // Reading from 3 for replication starts at the internal entry positioned before 3.
    auto from3 = read_headers(kafka_offset(3), ro);
    ASSERT_FALSE(from3.empty());
    EXPECT_TRUE(from3[0].is_internal());
  };
  check();
  reopen_clean();
  check();
  open_log(false);  // full recovery keeps them and re-flags them in the index
  check();
}

TEST_F(log_test, FlushGroupsConcurrentRequests) {
  // Hold the flush pool so that every request below queues behind one flush.
  std::promise<void> gate;
  auto released = gate.get_future().share();
  pool_.submit([released] { released.wait(); });
  append(1);
  auto before = fs_->syncs();
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < 20; ++i) {
    append(1);
    l_->flush_async([&](status s) {
      if (!s)
        ++failed;
      ++done;
    });
  }
  gate.set_value();
  ASSERT_TRUE(l_->flush());
  EXPECT_EQ(done.load(), 20);
  EXPECT_EQ(failed.load(), 0);
  // One segment = 3 files synced per flush; 20 requests were served by one or two flushes.
  EXPECT_LE(fs_->syncs() - before, 6u);
  EXPECT_EQ(l_->flushed_offset(), l_->log_end());
}

TEST_F(log_test, FsyncFailureTakesDirectoryOfflineAndIsNotRetried) {
  append(1);
  fs_->fail_syncs(true);
  auto s = l_->flush();
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::log_dir_offline));
  EXPECT_TRUE(dir_->offline());
  fs_->fail_syncs(false);
  auto syncs = fs_->syncs();
  EXPECT_TRUE(l_->flush().error().is(errc::log_dir_offline));  // not retried
  EXPECT_EQ(fs_->syncs(), syncs);
  auto b = strom::test::make_batch(1);
  EXPECT_TRUE(l_->append(b, leader_epoch(0)).error().is(errc::log_dir_offline));
  EXPECT_LT(l_->flushed_offset(), l_->log_end());
}

TEST_F(log_test, FlushPolicyByMessagesAndByTime) {
  cfg_.flush_messages = 10;
  l_->set_config(cfg_);
  append(5);
  ASSERT_TRUE(l_->flush());  // establishes a baseline
  auto syncs = fs_->syncs();
  append(5);
  append(4);
  // 9 messages since the last flush: no forced flush yet.
  EXPECT_EQ(fs_->syncs(), syncs);
  append(1);  // the 10th forces one
  for (int i = 0; i < 1000 && l_->flushed_offset() < l_->log_end(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(l_->flushed_offset(), l_->log_end());

  cfg_.flush_messages.reset();
  cfg_.flush_ms = 1000;
  l_->set_config(cfg_);
  append(1);
  ASSERT_TRUE(l_->housekeeping());
  EXPECT_LT(l_->flushed_offset(), l_->log_end());
  clock_.advance(std::chrono::milliseconds(1000));
  ASSERT_TRUE(l_->housekeeping());
  for (int i = 0; i < 1000 && l_->flushed_offset() < l_->log_end(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(l_->flushed_offset(), l_->log_end());
}

// Where each read starts, how long each run is, and where the reader resumes: what Fetch sees.
std::vector<std::tuple<uint64_t, uint64_t, int64_t>> read_shape(const log& l, kafka_offset from,
                                                                const read_options& ro) {
  std::vector<std::tuple<uint64_t, uint64_t, int64_t>> out;
  auto r = l.read(from, ro);
  EXPECT_TRUE(r) << r.error().message();
  if (!r)
    return out;
  for (const auto& s : r->slices)
    out.emplace_back(s.position, s.length, 0);
  out.emplace_back(0, r->bytes, r->next.value());
  return out;
}

TEST_F(log_test, ReadsAtTheTailTakeHeadersFromMemory) {
  for (int i = 0; i < 200; ++i)
    append(1, leader_epoch(0), 1000, 100);
  // A consumer keeping up asks for the last few batches: no file read is needed to find them.
  auto before = fs_->reads();
  auto r = l_->read(kafka_offset(195), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->next.value(), 200);
  EXPECT_EQ(fs_->reads(), before) << "headers of recent batches are read from memory";
  // Older batches are walked a window at a time, not one read per header: 130 batches of
  // about 170 bytes (22 KiB) fit in a handful of 8 KiB windows.
  before = fs_->reads();
  r = l_->read(kafka_offset(0), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->next.value(), 200);
  EXPECT_LE(fs_->reads() - before, 6u);
}

TEST_F(log_test, ReadsAgreeWithAndWithoutRecentHeaders) {
  // Batches of mixed sizes (some larger than a read-ahead window), internal entries, a
  // truncation and rolls: every read must come out the same from memory as from the files.
  cfg_.segment_bytes = 64 << 10;
  cfg_.index_interval_bytes = 4096;
  l_->set_config(cfg_);
  for (int i = 0; i < 300; ++i) {
    append(1 + i % 4, leader_epoch(0), 1000, (i % 37 == 0) ? 10000 : 50 + (i * 97) % 900);
    if (i % 50 == 7) {
      ASSERT_TRUE(l_->append_internal(model::internal_kind::configuration, {}, leader_epoch(0)));
    }
  }
  ASSERT_TRUE(l_->truncate(kafka_next_offset(l_->log_end().value() - 9)));
  for (int i = 0; i < 20; ++i)
    append(2, leader_epoch(0), 1000, 300);
  auto end = l_->log_end().value();
  std::vector<read_options> shapes{
      {}, {1, {}, false, true}, {5000, {}, false, true}, {1 << 20, {}, true, true}};
  std::vector<std::vector<std::tuple<uint64_t, uint64_t, int64_t>>> warm;
  for (int64_t o = 0; o < end; ++o)
    for (const auto& ro : shapes)
      warm.push_back(read_shape(*l_, kafka_offset(o), ro));
  reopen_clean();
  size_t k = 0;
  for (int64_t o = 0; o < end; ++o)
    for (const auto& ro : shapes)
      ASSERT_EQ(read_shape(*l_, kafka_offset(o), ro), warm[k++]) << "offset " << o;
}

// Opens `n` more logs in the fixture's directory, one batch in each.
std::vector<std::unique_ptr<log>> open_more_logs(io::file_system* fs, manual_clock* clock,
                                                 blocking_pool* pool,
                                                 const std::shared_ptr<log_dir>& dir,
                                                 const log_config& cfg, int n, bool append_one) {
  std::vector<std::unique_ptr<log>> logs;
  for (int i = 0; i < n; ++i) {
    log_recovery report;
    auto r = log::open(model::ntp("round", model::partition_id(i)),
                       log::options{fs, clock, pool, dir, cfg, nullptr}, false, report);
    EXPECT_TRUE(r) << r.error().message();
    if (!r)
      break;
    if (append_one) {
      auto b = strom::test::make_batch(1);
      EXPECT_TRUE((*r)->append(b, leader_epoch(0)));
    }
    logs.push_back(std::move(*r));
  }
  return logs;
}

TEST_F(log_test, OneFlushRoundCoversEveryWaitingLogOfTheDirectory) {
  auto logs = open_more_logs(fs_.get(), &clock_, &pool_, dir_, cfg_, 8, true);
  ASSERT_EQ(logs.size(), 8u);
  // Hold the flush pool while all eight ask for a flush: they meet in one round.
  std::promise<void> gate;
  auto released = gate.get_future().share();
  pool_.submit([released] { released.wait(); });
  auto syncs = fs_->syncs();
  auto rounds = dir_->flush_rounds();
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  for (auto& l : logs) {
    l->flush_async([&](status st) {
      if (!st)
        ++failed;
      ++done;
    });
  }
  gate.set_value();
  for (int i = 0; i < 5000 && done.load() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(done.load(), 8);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(dir_->flush_rounds() - rounds, 1u);
  EXPECT_EQ(fs_->syncs() - syncs, 1u) << "one file-system sync, not one per file";
  for (auto& l : logs)
    EXPECT_EQ(l->flushed_offset().value(), 1);
  // What the round acknowledged survives a power cut.
  logs.clear();
  mem_->crash();
  logs = open_more_logs(fs_.get(), &clock_, &pool_, dir_, cfg_, 8, false);
  ASSERT_EQ(logs.size(), 8u);
  for (auto& l : logs)
    EXPECT_EQ(l->log_end().value(), 1);
}

TEST_F(log_test, AFailedFlushRoundFailsEveryLogInItAndTakesTheDirectoryOffline) {
  auto logs = open_more_logs(fs_.get(), &clock_, &pool_, dir_, cfg_, 3, true);
  ASSERT_EQ(logs.size(), 3u);
  std::promise<void> gate;
  auto released = gate.get_future().share();
  pool_.submit([released] { released.wait(); });
  fs_->fail_syncs(true);
  std::atomic<int> failed{0};
  for (auto& l : logs) {
    l->flush_async([&](status st) {
      if (!st)
        ++failed;
    });
  }
  gate.set_value();
  for (int i = 0; i < 5000 && failed.load() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(failed.load(), 3);
  EXPECT_TRUE(dir_->offline());
  for (auto& l : logs)
    EXPECT_EQ(l->flushed_offset().value(), 0);
  fs_->fail_syncs(false);
}

TEST_F(log_test, AppendedDataIsHandedToWritebackInWholePagesAsItGrows) {
  cfg_.writeback_bytes = 8192;
  cfg_.segment_bytes = 1 << 30;
  l_->set_config(cfg_);
  reopen_clean();
  for (int i = 0; i < 40; ++i)
    append(1, leader_epoch(0), 1000, 1000);
  auto written = l_->size_bytes();
  EXPECT_GE(fs_->writebacks(), 3u);
  // Every range ends on a page boundary; together they cover all but the last stretch.
  EXPECT_EQ(fs_->writeback_bytes() % 4096, 0u);
  EXPECT_LE(fs_->writeback_bytes(), written);
  EXPECT_GT(fs_->writeback_bytes() + 8192 + 4096, written);

  cfg_.writeback_bytes = 0;
  l_->set_config(cfg_);
  reopen_clean();
  auto before = fs_->writebacks();
  for (int i = 0; i < 40; ++i)
    append(1, leader_epoch(0), 1000, 1000);
  EXPECT_EQ(fs_->writebacks(), before) << "0 leaves writeback to the kernel";
}

}  // namespace
}  // namespace strom::storage::test
