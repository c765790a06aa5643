// Values and names the storage engine must survive: staged-file names of any length, client
// timestamps and settings at the ends of the int64 range, damaged offsets on disk, and the
// directory fsync that makes a rolled segment's files durable.
#include "log_fixture.h"

#include <limits>

#include "strom/model/batch_builder.h"
#include "strom/model/records.h"
#include "strom/storage/errc.h"

namespace strom::storage::test {
namespace {

constexpr int64_t i64_max = std::numeric_limits<int64_t>::max();

class robustness_test : public log_fixture {
 protected:
  std::filesystem::path log_dir() const { return std::filesystem::path("data") / name_.dir_name(); }

  void write_file(const std::string& name, std::string_view text) {
    auto f = mem_->open(log_dir() / name, io::open_mode::create);
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->write_at(0, std::as_bytes(std::span(text))));
    ASSERT_TRUE((*f)->sync());
  }
};

TEST_F(robustness_test, StagedFileNamesOfAnyLengthAreSafeAtOpen) {
  append(3);
  append(2);
  ASSERT_TRUE(l_->close());
  l_.reset();
  // Junk with the staged suffixes, shorter than a segment name or not one at all.
  const std::vector<std::string> junk = {".swap",
                                         "a.swap",
                                         "0.swap",
                                         "123.cleaned",
                                         "00000000000000000000.swap",
                                         "x.index.swap",
                                         "0000000000000000000.index.swap"};
  for (const auto& n : junk)
    write_file(n, "junk");
  // A real leftover of a committed swap: an index file staged as `.swap`.
  auto index = segment_names::index_name(kafka_offset(0));
  auto* bytes = mem_->contents(log_dir() / index);
  ASSERT_NE(bytes, nullptr);
  write_file(index + ".swap",
             std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  auto report = open_log(true);
  ASSERT_TRUE(l_);
  EXPECT_EQ(report.segments_recovered, 1u);  // the swapped-in segment is re-read
  EXPECT_EQ(read_headers(kafka_offset(0)).size(), 2u);
  EXPECT_EQ(l_->log_end().value(), 5);
  EXPECT_EQ(mem_->contents(log_dir() / (index + ".swap")), nullptr);
  for (const auto& n : junk)
    EXPECT_NE(mem_->contents(log_dir() / n), nullptr) << n << " is not ours to remove";
}

TEST_F(robustness_test, JunkWithTheCleanedSuffixDoesNotRollBackACommittedSwap) {
  append(3);
  ASSERT_TRUE(l_->close());
  l_.reset();
  write_file("1.cleaned", "junk");
  auto index = segment_names::index_name(kafka_offset(0));
  auto* bytes = mem_->contents(log_dir() / index);
  ASSERT_NE(bytes, nullptr);
  write_file(index + ".swap",
             std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  open_log(true);
  ASSERT_TRUE(l_);
  // Completed (renamed over the original), not deleted as a roll-back would.
  EXPECT_EQ(mem_->contents(log_dir() / (index + ".swap")), nullptr);
  EXPECT_NE(mem_->contents(log_dir() / index), nullptr);
  EXPECT_EQ(l_->log_end().value(), 3);
}

TEST_F(robustness_test, RetentionAndCompactionLagAtTheEndsOfTheRange) {
  // now - retention.ms and now - min.compaction.lag.ms must not overflow, whatever the clock.
  cfg_.retention_ms = i64_max;
  cfg_.cleanup_delete = true;
  cfg_.segment_bytes = 1;  // one batch per segment
  l_->set_config(cfg_);
  for (int i = 0; i < 4; ++i)
    append(1, leader_epoch(0), i64_max - 1);
  clock_.set(-1'000);
  auto deleted = l_->housekeeping(true);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 0u);
  EXPECT_EQ(l_->segment_count(), 4u);
  cfg_.cleanup_compact = true;
  cfg_.min_compaction_lag_ms = i64_max;
  l_->set_config(cfg_);
  ASSERT_TRUE(l_->flush());
  EXPECT_EQ(l_->prepare_compaction(), nullptr);  // nothing old enough
  // retention.ms = 0 with a clock at the bottom of the range deletes nothing younger.
  clock_.set(std::numeric_limits<int64_t>::min() + 5);
  cfg_.retention_ms = 10;
  cfg_.cleanup_compact = false;
  l_->set_config(cfg_);
  ASSERT_TRUE(l_->housekeeping(true));
  EXPECT_EQ(l_->segment_count(), 4u);
}

TEST_F(robustness_test, RecordTimestampsThatOverflowAreRefused) {
  // base + delta beyond a Java long: refused before anything is stored, so every stored
  // record timestamp is a plain sum and a timestamp lookup never meets an overflow.
  model::batch_builder b(0);
  b.add("k0", "v0");
  b.add("k1", "v1");
  auto built = b.build();
  auto bh = model::decode_header(built);
  ASSERT_TRUE(bh);
  std::vector<std::vector<std::byte>> rests;
  ASSERT_TRUE(model::for_each_record(built, *bh, [&](const model::record_view& r) {
    auto rest = r.body.subspan(r.key_pos);
    rests.emplace_back(rest.begin(), rest.end());
    return true;
  }));
  ASSERT_EQ(rests.size(), 2u);
  std::vector<std::byte> records;
  model::append_record(records, 0, 0, 0, rests[0]);
  model::append_record(records, 0, 100, 1, rests[1]);  // base + 100 overflows
  model::batch_header h = *bh;
  h.base_timestamp = i64_max - 10;
  h.max_timestamp = i64_max;
  h.records_count = 2;
  h.last_offset_delta = 1;
  auto batch = model::encode_batch(h, records);
  auto refused = l_->append(batch, leader_epoch(0));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::invalid_batch)) << refused.error().message();
  EXPECT_EQ(l_->log_end().value(), 0);
  append(1, leader_epoch(0), i64_max - 1);
  auto hit = l_->find_offset_by_timestamp(i64_max - 1);
  ASSERT_TRUE(hit);
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->offset.value(), 0);
  EXPECT_EQ((*hit)->timestamp, i64_max - 1);
}

TEST_F(robustness_test, DamagedBaseOffsetOnDiskIsCutNotComputedWith) {
  append(3);
  append(3);
  append(3);
  ASSERT_TRUE(l_->close());
  l_.reset();
  // The base offset is not covered by the CRC: set the third batch's to INT64_MAX.
  auto* bytes =
      mem_->contents(log_dir() / segment_names::log_name(kafka_offset(0), leader_epoch(0)));
  ASSERT_NE(bytes, nullptr);
  auto one = strom::test::make_batch(3).size();
  for (size_t i = 0; i < 8; ++i)
    (*bytes)[2 * one + i] = i == 0 ? std::byte{0x7f} : std::byte{0xff};
  for (bool clean : {true, false}) {
    auto report = open_log(clean);
    ASSERT_TRUE(l_);
    EXPECT_EQ(l_->log_end().value(), 6) << (clean ? "clean" : "unclean");
    EXPECT_EQ(read_headers(kafka_offset(0)).size(), 2u);
    if (clean) {
      EXPECT_EQ(report.bytes_truncated, one);
    }
    ASSERT_TRUE(l_->close());
  }
}

TEST_F(robustness_test, ARollMakesTheNewSegmentsDirectoryEntriesDurableBeforeAFlushCompletes) {
  // An epoch change replaces the empty active segment: no segment is closed, yet the new
  // files must be durable entries of the directory before data in them counts as flushed.
  ASSERT_TRUE(l_->flush());
  append(2, leader_epoch(1));
  ASSERT_EQ(l_->active_epoch().value(), 1);
  auto before = fs_->dir_syncs();
  ASSERT_TRUE(l_->flush());
  EXPECT_GT(fs_->dir_syncs(), before);
  // A roll that closes a segment does the same (its own background flush may be the one).
  cfg_.segment_bytes = 1;
  l_->set_config(cfg_);
  before = fs_->dir_syncs();
  append(2, leader_epoch(1));
  ASSERT_EQ(l_->segment_count(), 2u);
  ASSERT_TRUE(l_->flush());
  EXPECT_GT(fs_->dir_syncs(), before);
}

}  // namespace
}  // namespace strom::storage::test
