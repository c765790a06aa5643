// Crash and corruption recovery through the fault-injecting io seam.
#include "log_fixture.h"

#include "strom/storage/errc.h"
#include "strom/storage/log_manager.h"

namespace strom::storage::test {
namespace {

using recovery_test = log_fixture;

std::string seg_path(const std::string& name) {
  return "data/t-0/" + name;
}

/// Every offset in [0, end) reads back as a valid batch holding it.
void expect_readable(log& l, int64_t end) {
  for (int64_t o = 0; o < end; ++o) {
    auto r = l.read(kafka_offset(o), read_options{1, {}, false, true});
    ASSERT_TRUE(r) << "offset " << o << ": " << r.error().message();
    auto bytes = r->copy();
    ASSERT_TRUE(bytes);
    auto h = model::validate_batch(*bytes, 1 << 30);
    ASSERT_TRUE(h) << "offset " << o << ": " << h.error().message();
    EXPECT_LE(h->base_offset, o);
    EXPECT_GE(h->last_offset().value(), o);
  }
}

TEST_F(recovery_test, WriteThatStopsHalfWayIsCutAtTheLastValidBatch) {
  for (int i = 0; i < 10; ++i)
    append(2, leader_epoch(0), 1000, 100);
  ASSERT_TRUE(l_->flush());
  auto one = strom::test::make_batch(2, 1000, 0, 100).size();
  fs_->fail_writes_after(static_cast<int64_t>(one / 2));
  auto b = strom::test::make_batch(2, 1000, 0, 100);
  auto r = l_->append(b, leader_epoch(0));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::log_dir_offline));
  fs_->fail_writes_after(-1);
  // The half-written batch is on "disk" (the OS wrote it back before the crash).
  auto* data = mem_->contents(seg_path("00000000000000000000-0.log"));
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->size(), one * 10 + one / 2);

  dir_ = std::make_shared<log_dir>("data");
  auto report = open_log(false);
  EXPECT_EQ(report.bytes_truncated, one / 2);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_EQ(l_->log_end().value(), 20);
  expect_readable(*l_, 20);
  EXPECT_EQ(append(1).base.value(), 20);
}

TEST_F(recovery_test, PowerLossDropsOnlyUnflushedBatches) {
  for (int i = 0; i < 5; ++i)
    append(2);
  ASSERT_TRUE(l_->flush());
  // The round that answered the flush may still be deciding whether to run again: once it is
  // done, nothing flushes what comes next.
  l_->wait_flushes();
  for (int i = 0; i < 5; ++i)
    append(2);  // never flushed
  l_.reset();
  mem_->crash();
  auto report = open_log(false);
  EXPECT_EQ(l_->log_end().value(), 10);
  expect_readable(*l_, 10);
  EXPECT_TRUE(l_->read(kafka_offset(10), {}));
  EXPECT_EQ(l_->read(kafka_offset(10), {})->bytes, 0u);
}

TEST_F(recovery_test, CorruptByteInTheLastSegmentTruncatesFromThatBatch) {
  cfg_.segment_bytes = 4000;
  l_->set_config(cfg_);
  for (int i = 0; i < 20; ++i)
    append(1, leader_epoch(0), 1000, 200);  // segments of 14 + 6
  ASSERT_EQ(l_->segment_count(), 2u);
  ASSERT_TRUE(l_->flush());
  auto one = strom::test::make_batch(1, 1000, 0, 200).size();
  // Find the active segment and corrupt a byte in the middle of its third batch.
  auto names = *mem_->list("data/t-0");
  std::string active;
  for (auto& n : names) {
    if (n.ends_with(".log"))
      active = n;  // sorted: the last is the active one
  }
  auto parsed = segment_names::parse_log_name(active);
  ASSERT_TRUE(parsed);
  auto* data = mem_->contents(seg_path(active));
  ASSERT_NE(data, nullptr);
  ASSERT_GE(data->size(), one * 4);
  (*data)[one * 2 + one / 2] ^= std::byte{0xff};

  auto report = open_log(false);
  int64_t good_end = parsed->base.value() + 2;
  EXPECT_EQ(l_->log_end().value(), good_end);
  EXPECT_GT(report.bytes_truncated, 0u);
  expect_readable(*l_, good_end);
  // Nothing from the corrupt batch on is returned as valid.
  EXPECT_TRUE(l_->read(kafka_offset(good_end + 1), {}).error().is(errc::offset_out_of_range));
  auto tail = l_->read(kafka_offset(good_end), {});
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->bytes, 0u);
}

TEST_F(recovery_test, CorruptionInEarlierUnflushedSegmentDropsLaterSegments) {
  cfg_.segment_bytes = 1;  // one batch per segment
  l_->set_config(cfg_);
  for (int i = 0; i < 6; ++i)
    append(1);
  l_.reset();  // no clean close
  // The crash came before the flushes that follow each roll had moved the recovery point.
  std::string rp = "0\n";
  ASSERT_TRUE(fs_->write_file_atomic("data/t-0/recovery-point", std::as_bytes(std::span(rp))));
  auto* data = mem_->contents(seg_path("00000000000000000003-0.log"));
  ASSERT_NE(data, nullptr);
  (*data)[data->size() - 1] ^= std::byte{1};
  auto report = open_log(false);
  EXPECT_EQ(l_->log_end().value(), 3);
  EXPECT_EQ(report.segments_removed, 2u);
  expect_readable(*l_, 3);
  EXPECT_EQ(append(1).base.value(), 3);
}

TEST_F(recovery_test, MissingIndexIsRebuilt) {
  cfg_.index_interval_bytes = 1;
  l_->set_config(cfg_);
  for (int i = 0; i < 20; ++i)
    append(3);
  ASSERT_TRUE(l_->close());
  l_.reset();
  ASSERT_TRUE(fs_->remove(seg_path("00000000000000000000.index")));
  auto report = open_log(true);
  EXPECT_EQ(report.indexes_rebuilt, 1u);
  EXPECT_EQ(l_->log_end().value(), 60);
  expect_readable(*l_, 60);
  auto idx = mem_->contents(seg_path("00000000000000000000.index"));
  ASSERT_NE(idx, nullptr);
  EXPECT_EQ(idx->size(), 20 * index_entry::disk_size);
}

TEST_F(recovery_test, GarbageIndexIsRebuilt) {
  for (int i = 0; i < 20; ++i)
    append(3);
  ASSERT_TRUE(l_->close());
  l_.reset();
  auto* idx = mem_->contents(seg_path("00000000000000000000.index"));
  ASSERT_NE(idx, nullptr);
  idx->assign(24, std::byte{0x7f});
  auto report = open_log(true);
  EXPECT_EQ(report.indexes_rebuilt, 1u);
  expect_readable(*l_, 60);
}

TEST_F(recovery_test, LogManagerRecoversWhenTheCleanMarkerIsMissing) {
  l_.reset();
  log_manager::options o;
  o.data_dirs = {"d1", "d2"};
  o.fs = fs_;
  o.clk = &clock_;
  {
    auto m = log_manager::open(o);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_TRUE((*m)->recovered_cleanly());  // fresh directories count as clean
    for (int p = 0; p < 4; ++p) {
      auto l = (*m)->create(model::ntp{"orders", model::partition_id(p)}, cfg_);
      ASSERT_TRUE(l);
      auto b = strom::test::make_batch(p + 1);
      ASSERT_TRUE((*l)->append(b, leader_epoch(0)));
    }
    ASSERT_TRUE((*m)->shutdown());
  }
  EXPECT_TRUE(*fs_->exists("d1/.strom_clean_shutdown"));
  EXPECT_TRUE(*fs_->exists("d2/.strom_clean_shutdown"));
  {
    auto m = log_manager::open(o);
    ASSERT_TRUE(m);
    EXPECT_TRUE((*m)->recovered_cleanly());
    EXPECT_EQ((*m)->recovery_summary().segments_recovered, 0u);
    EXPECT_EQ((*m)->partitions().size(), 4u);
    EXPECT_FALSE(*fs_->exists("d1/.strom_clean_shutdown"));  // removed while running
    for (int p = 0; p < 4; ++p) {
      EXPECT_EQ((*m)->get(model::ntp{"orders", model::partition_id(p)})->log_end().value(), p + 1);
    }
    auto* l = (*m)->get(model::ntp{"orders", model::partition_id(0)});
    auto b = strom::test::make_batch(1);
    ASSERT_TRUE(l->append(b, leader_epoch(0)));
    ASSERT_TRUE(l->flush());
    m->reset();  // a crash: no shutdown(), so no clean-shutdown marker
  }
  auto m = log_manager::open(o);
  ASSERT_TRUE(m);
  EXPECT_FALSE((*m)->recovered_cleanly());
  EXPECT_GT((*m)->recovery_summary().segments_recovered, 0u);
  EXPECT_EQ((*m)->get(model::ntp{"orders", model::partition_id(0)})->log_end().value(), 2);
}

}  // namespace
}  // namespace strom::storage::test
