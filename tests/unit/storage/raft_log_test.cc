// The log as a Raft log: internal entries that take a Raft index, the offset map, the Raft
// API, and the defects that appear as soon as a term-start entry is written.
#include <chrono>
#include <future>

#include "log_fixture.h"
#include "strom/storage/errc.h"

namespace strom::storage::test {
namespace {

using namespace std::chrono_literals;
using raft_log_test = log_fixture;

// A flush round captures its target, fsyncs, then raises the flushed offset. A truncation
// that runs during the fsync (it must not wait for it: the owner thread never blocks on a
// disk) removes data the round counted; the round must not claim it.
TEST_F(raft_log_test, AFlushRoundNeverClaimsWhatATruncationDuringItRemoved) {
  manual_flush_ = true;
  open_log(true);
  append(5);  // offsets 0..4
  append(5);  // offsets 5..9
  std::atomic<int> done{0};
  std::atomic<bool> flushed_ok{false};
  l_->flush_async([&](status s) {
    flushed_ok = s.has_value();
    ++done;
  });
  ASSERT_EQ(manual_.pending(), 1u);

  std::atomic<bool> fired{false};
  std::future<result<kafka_next_offset>> cut;
  bool cut_in_time = false;
  fs_->on_sync([&] {
    if (fired.exchange(true))
      return;
    cut = std::async(std::launch::async, [&] { return l_->truncate(kafka_next_offset(5)); });
    cut_in_time = cut.wait_for(5s) == std::future_status::ready;
  });
  ASSERT_TRUE(manual_.run_one());  // the round, with the truncation inside its fsync
  fs_->on_sync(nullptr);
  EXPECT_TRUE(cut_in_time) << "the truncation waited for the flush round";
  auto end = cut.get();
  ASSERT_TRUE(end) << end.error().message();
  EXPECT_EQ(end->value(), 5);
  EXPECT_EQ(done.load(), 1);
  EXPECT_TRUE(flushed_ok.load());
  EXPECT_LE(l_->flushed_offset().value(), 5) << "flushed offset past the truncation";
  EXPECT_LE(l_->flushed_offset(), l_->log_end());

  // New data after the cut is not durable until a round that saw it says so.
  append(2);  // 5, 6
  EXPECT_LE(l_->flushed_offset().value(), 5);
  auto claimed = l_->flushed_offset();
  mem_->crash();  // nothing the first round did not sync survives
  manual_.run_all();
  l_.reset();
  manual_flush_ = false;
  open_log(false);
  EXPECT_GE(l_->log_end(), claimed);
}

// Two elections with no data between them: two term-start entries at one Kafka position, in
// two segments (one term per segment) with the same Kafka base offset.
TEST_F(raft_log_test, TwoTermStartsWithNoDataBetweenKeepBothSegments) {
  append(3, leader_epoch(1));
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(2)));
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(3)));
  EXPECT_EQ(append(2, leader_epoch(3)).base.value(), 3);
  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(l_->log_end().value(), 5);
    EXPECT_EQ(l_->segment_count(), 3u);
    read_options ro;
    ro.include_internal = true;
    auto hs = read_headers(kafka_offset(0), ro);
    ASSERT_EQ(hs.size(), 4u);
    EXPECT_FALSE(hs[0].is_internal());
    EXPECT_TRUE(hs[1].is_internal());
    EXPECT_EQ(hs[1].partition_leader_epoch, 2);
    EXPECT_TRUE(hs[2].is_internal());
    EXPECT_EQ(hs[2].partition_leader_epoch, 3);
    EXPECT_EQ(hs[3].base_offset, 3);
    auto fetch = read_headers(kafka_offset(0));
    ASSERT_EQ(fetch.size(), 2u);
    EXPECT_EQ(fetch[1].base_offset, 3);
  };
  check("written");
  reopen_clean();
  check("after a clean restart");
  l_.reset();
  open_log(false);
  check("after an unclean restart");
}

// A new partition whose only entry is a term start: retention and the age roll must leave it
// alone (nothing in it has expired) and never re-create a segment under a name in use.
TEST_F(raft_log_test, ASegmentOfOnlyInternalEntriesSurvivesRetentionAndRolls) {
  cfg_.retention_ms = 60'000;
  cfg_.segment_ms = 60'000;
  l_->set_config(cfg_);
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(1)));
  clock_.advance(std::chrono::hours(1));
  auto deleted = l_->housekeeping();
  ASSERT_TRUE(deleted) << deleted.error().message();
  EXPECT_FALSE(dir_->offline()) << dir_->offline_reason();
  read_options ro;
  ro.include_internal = true;
  EXPECT_EQ(read_headers(kafka_offset(0), ro).size(), 1u) << "the term start is gone";
  // Still writable; a second term start after the first, then data.
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(2)));
  clock_.advance(std::chrono::hours(1));
  ASSERT_TRUE(l_->housekeeping());
  EXPECT_FALSE(dir_->offline()) << dir_->offline_reason();
  EXPECT_EQ(append(2, leader_epoch(2), clock_.now_ms()).base.value(), 0);
  EXPECT_EQ(read_headers(kafka_offset(0), ro).size(), 3u);
  // DeleteRecords to the log end rolls the active segment: a new name, not an existing one.
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(2)));
  EXPECT_FALSE(dir_->offline()) << dir_->offline_reason();
  reopen_clean();
  EXPECT_EQ(l_->log_end().value(), 2);
}

// Writes `bytes` as the whole file `p` (synced), as an older version of Strom left it.
void write_file(io::file_system& fs, const std::filesystem::path& p,
                std::span<const std::byte> bytes) {
  auto f = fs.open(p, io::open_mode::create);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write_at(0, bytes));
  ASSERT_TRUE((*f)->sync());
}

std::vector<std::byte> stamped_batch(int records, int64_t base, int32_t epoch) {
  auto b = strom::test::make_batch(records);
  model::stamp_batch(b, kafka_offset(base), leader_epoch(epoch));
  return b;
}

// Every entry the log holds, with the Raft index the log's offset map gives it.
std::vector<std::pair<int64_t, bool>> raft_indexes(log& l) {
  std::vector<std::pair<int64_t, bool>> out;  // (index, internal)
  read_options ro;
  ro.include_internal = true;
  ro.max_bytes = 1 << 30;
  auto r = l.read(l.log_start(), ro);
  EXPECT_TRUE(r);
  auto bytes = r->copy();
  EXPECT_TRUE(bytes);
  size_t pos = 0;
  size_t internal_seen = 0;
  while (pos < bytes->size()) {
    auto h = model::decode_header(std::span(*bytes).subspan(pos));
    EXPECT_TRUE(h);
    if (h->is_internal()) {
      const auto& entries = l.offsets().entries();
      // The map holds every internal Raft entry, in log order.
      EXPECT_LT(internal_seen, entries.size());
      if (internal_seen < entries.size()) {
        EXPECT_EQ(entries[internal_seen].position.value(), h->base_offset);
        out.emplace_back(entries[internal_seen].index.value(), true);
        if (auto stored = h->stored_raft_index()) {
          EXPECT_EQ(*stored, entries[internal_seen].index);
        }
      }
      ++internal_seen;
    } else {
      out.emplace_back(l.offsets().to_raft(h->first_offset()).value(), false);
    }
    pos += h->size_bytes();
  }
  return out;
}

// A directory as Strom wrote it before Raft indexes: names without a Raft base, internal
// entries without a stored index, no index files. It opens with the indexes its entries
// would have had, and a roll after it names the new segment's Raft base.
TEST_F(raft_log_test, ALogInTheFormatBeforeRaftIndexesOpensWithTheRightIndexes) {
  l_.reset();
  auto dir = std::filesystem::path("data") / name_.dir_name();
  ASSERT_TRUE(fs_->create_directories(dir));
  std::vector<std::byte> a = stamped_batch(3, 0, 1);  // 0..2: indexes 0..2
  auto config = model::make_internal_entry(model::internal_kind::configuration,
                                           kafka_next_offset(3), leader_epoch(1), 1000, {});
  a.insert(a.end(), config.begin(), config.end());  // index 3
  std::vector<std::byte> b = model::make_internal_entry(
      model::internal_kind::term_start, kafka_next_offset(3), leader_epoch(2), 1000, {});  // 4
  auto data = stamped_batch(2, 3, 2);  // 3..4: indexes 5..6
  b.insert(b.end(), data.begin(), data.end());
  write_file(*fs_, dir / "00000000000000000000-1.log", a);
  write_file(*fs_, dir / "00000000000000000003-2.log", b);
  for (bool clean : {true, false}) {
    SCOPED_TRACE(clean ? "clean" : "unclean");
    open_log(clean);
    ASSERT_TRUE(l_);
    EXPECT_EQ(l_->log_end().value(), 5);
    EXPECT_EQ(l_->next_index().value(), 7);
    EXPECT_EQ(raft_indexes(*l_), (std::vector<std::pair<int64_t, bool>>{
                                     {0, false}, {3, true}, {4, true}, {5, false}}));
    // Only the term that wrote data is in the epoch cache... and both are (both did).
    EXPECT_EQ(l_->epochs().entries().size(), 2u);
    l_.reset();
  }
  open_log(true);
  // A new term: the segment's name now carries its Raft base (7), which differs from its
  // Kafka base (5).
  auto ts = l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(3));
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->index.value(), 7);
  EXPECT_EQ(ts->position.value(), 5);
  auto r = append(1, leader_epoch(3));
  EXPECT_EQ(r.base.value(), 5);
  EXPECT_EQ(r.base_index.value(), 8);
  EXPECT_TRUE(*fs_->exists(dir / "00000000000000000005-r00000000000000000007-3.log"));
  EXPECT_TRUE(*fs_->exists(dir / "00000000000000000005-r00000000000000000007.index"));
  auto expected = std::vector<std::pair<int64_t, bool>>{{0, false}, {3, true}, {4, true},
                                                        {5, false}, {7, true}, {8, false}};
  EXPECT_EQ(raft_indexes(*l_), expected);
  reopen_clean();
  EXPECT_EQ(raft_indexes(*l_), expected);
  l_.reset();
  open_log(false);
  EXPECT_EQ(raft_indexes(*l_), expected);
  EXPECT_EQ(l_->next_index().value(), 9);
}

// A log without internal entries keeps today's names: single-node logs do not change.
TEST_F(raft_log_test, DataAloneKeepsTheNamesOfBeforeAndIndexEqualsOffset) {
  cfg_.segment_bytes = 300;
  l_->set_config(cfg_);
  for (int i = 0; i < 20; ++i) {
    auto r = append(2, leader_epoch(1));
    EXPECT_EQ(r.base_index.value(), r.base.value());
    EXPECT_EQ(r.last_index.value(), r.last.value());
  }
  EXPECT_GT(l_->segment_count(), 2u);
  auto names = fs_->list(std::filesystem::path("data") / name_.dir_name());
  ASSERT_TRUE(names);
  for (const auto& n : *names)
    EXPECT_EQ(n.find("-r"), std::string::npos) << n;
  EXPECT_EQ(l_->last_index().value(), 39);
}

// Prefix truncation and Kafka truncation keep the map right; Kafka offsets stay dense.
TEST_F(raft_log_test, TruncationsKeepTheOffsetMapRight) {
  append(2, leader_epoch(1));                                                               // 0..1
  ASSERT_TRUE(l_->append_internal(model::internal_kind::term_start, {}, leader_epoch(2)));  // 2
  append(2, leader_epoch(2));                                                               // 3..4
  ASSERT_TRUE(l_->append_internal(model::internal_kind::configuration, {}, leader_epoch(2)));  // 5
  append(2, leader_epoch(2));  // 6..7
  EXPECT_EQ(l_->next_index().value(), 8);
  auto end = l_->truncate(kafka_next_offset(4));  // removes the config entry and data 4..5
  ASSERT_TRUE(end);
  EXPECT_EQ(end->value(), 4);
  EXPECT_EQ(l_->next_index().value(), 5);
  auto r = append(1, leader_epoch(2));
  EXPECT_EQ(r.base.value(), 4);
  EXPECT_EQ(r.base_index.value(), 5);
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(4)));
  reopen_clean();
  EXPECT_EQ(l_->log_start().value(), 4);
  EXPECT_EQ(l_->offsets().to_raft(kafka_offset(4)).value(), 5);
  EXPECT_EQ(l_->next_index().value(), 6);
}

}  // namespace
}  // namespace strom::storage::test
