// Idempotent-producer state across restarts: rebuilt from the newest intact snapshot plus the
// batches after it (an older snapshot, or every batch, when snapshots are damaged), equal to
// what the recovered log implies whatever step a crash interrupts; and the snapshot payload
// decoder refuses damaged input without allocating from it.
#include <gtest/gtest.h>

#include <random>

#include "strom/base/blocking_pool.h"
#include "strom/bytes/endian.h"
#include "strom/cluster/partition.h"
#include "strom/io/fault_file_system.h"
#include "strom/io/memory_file_system.h"
#include "strom/model/batch_builder.h"
#include "strom/model/validated_batch.h"
#include "strom/storage/log.h"

namespace strom::cluster {
namespace {

using model::kafka_offset;

class producer_snapshot_test : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.retention_ms = -1;
    cfg_.segment_bytes = 1;  // one batch per segment: many rolls
    open(true);
  }
  void TearDown() override { part_.reset(); }

  void open(bool clean) {
    part_.reset();
    log_.reset();
    storage::log_recovery report;
    auto l = storage::log::open(
        name_, storage::log::options{fs_.get(), &clock_, &pool_, dir_, cfg_, nullptr, nullptr},
        clean, report);
    ASSERT_TRUE(l) << l.error().message();
    log_ = std::move(*l);
    part_ = std::make_unique<partition>(name_, log_.get(), settings_, clock_);
    auto s = part_->load_producer_state();
    ASSERT_TRUE(s) << s.error().message();
  }

  /// A clean stop as stromd does it: partitions first, then the logs.
  void restart_clean() {
    part_.reset();
    ASSERT_TRUE(log_->close());
    open(true);
  }

  /// A crash: nothing closed, unsynced data lost.
  void restart_crashed() {
    part_.reset();
    log_.reset();
    mem_->crash();
    dir_ = std::make_shared<storage::log_dir>("data");
    open(false);
  }

  std::vector<std::byte> batch(int64_t pid, int16_t epoch, int32_t seq, int records) {
    model::batch_builder b(clock_.now_ms());
    b.producer(pid, epoch, seq);
    for (int i = 0; i < records; ++i)
      b.add("k", "v");
    return b.build();
  }

  /// Produces as a client would; returns (base offset, duplicate) or the error.
  result<std::pair<int64_t, bool>> produce(int64_t pid, int16_t epoch, int32_t seq,
                                           int records = 1) {
    auto b = batch(pid, epoch, seq, records);
    auto valid =
        model::validate_for_append(b, part_->validation_policy(model::append_origin::client));
    if (!valid)
      return valid.error();
    auto r = part_->append(*valid);
    if (!r)
      return r.error();
    return std::pair(r->offsets.base.value(), r->duplicate);
  }

  /// The producer state a full scan of the log gives (the reference).
  producer_state scanned() {
    producer_state s(settings_.producers);
    EXPECT_TRUE(log_->visit_headers(
        log_->log_start(), [&](const model::batch_header& h) { s.record(h, h.max_timestamp); }));
    return s;
  }

  void expect_same_producers(const producer_state& got, const producer_state& want,
                             const std::string& where) {
    EXPECT_EQ(got.producers(), want.producers()) << where;
    for (int64_t pid = 0; pid < 100; ++pid) {
      const auto* g = got.find(pid);
      const auto* w = want.find(pid);
      ASSERT_EQ(g == nullptr, w == nullptr) << where << " producer " << pid;
      if (g == nullptr)
        continue;
      EXPECT_EQ(g->epoch, w->epoch) << where << " producer " << pid;
      ASSERT_EQ(g->count, w->count) << where << " producer " << pid;
      for (size_t i = 0; i < g->count; ++i)
        EXPECT_EQ(g->batches[i], w->batches[i]) << where << " producer " << pid << " #" << i;
    }
  }

  std::filesystem::path snapshot_file(model::kafka_next_offset at) const {
    return std::filesystem::path("data") / name_.dir_name() /
           storage::segment_names::snapshot_name(at);
  }

  /// Producer 7 writes twice, then producer 8 writes enough to roll many times: 7's batches
  /// lie far behind the two newest segments.
  void write_history() {
    ASSERT_EQ(produce(7, 0, 0, 3)->first, 0);
    ASSERT_EQ(produce(7, 0, 3, 2)->first, 3);
    for (int i = 0; i < 12; ++i)
      ASSERT_TRUE(produce(8, 0, i));
    ASSERT_TRUE(log_->flush());
    ASSERT_GT(log_->segment_count(), 10u);
  }

  /// Producer 7 continues: its last batch is recognised as a retry and its next sequence
  /// follows on.
  void expect_producer_7_remembered(const std::string& where) {
    auto end = log_->log_end().value();
    auto dup = produce(7, 0, 3, 2);
    ASSERT_TRUE(dup) << where;
    EXPECT_TRUE(dup->second) << where << ": the retry was appended again";
    EXPECT_EQ(dup->first, 3) << where;
    EXPECT_EQ(log_->log_end().value(), end) << where;
    auto gap = produce(7, 0, 9);
    ASSERT_FALSE(gap) << where;
    EXPECT_TRUE(gap.error().is(producer_errc::out_of_order_sequence)) << where;
    auto next = produce(7, 0, 5);
    ASSERT_TRUE(next) << where;
    EXPECT_FALSE(next->second) << where;
  }

  std::shared_ptr<io::memory_file_system> mem_ = std::make_shared<io::memory_file_system>();
  std::shared_ptr<io::fault_file_system> fs_ = std::make_shared<io::fault_file_system>(mem_);
  manual_clock clock_;
  blocking_pool pool_{1, "flush"};
  std::shared_ptr<storage::log_dir> dir_ = std::make_shared<storage::log_dir>("data");
  model::ntp name_{"t", model::partition_id(0)};
  storage::log_config cfg_;
  partition_settings settings_;
  std::unique_ptr<storage::log> log_;
  std::unique_ptr<partition> part_;
};

TEST_F(producer_snapshot_test, AProducerBehindTheNewestSegmentsSurvivesACleanRestart) {
  write_history();
  restart_clean();
  expect_producer_7_remembered("clean restart");
}

TEST_F(producer_snapshot_test, AProducerBehindTheNewestSegmentsSurvivesACrash) {
  write_history();
  restart_crashed();
  expect_producer_7_remembered("crash");
  expect_same_producers(part_->producers(), scanned(), "after the crash");
}

TEST_F(producer_snapshot_test, ADamagedSnapshotFallsBackToAnOlderOneOrToEveryBatch) {
  write_history();
  restart_clean();
  auto snaps = log_->snapshots();
  ASSERT_GE(snaps.size(), 2u);
  // The newest is damaged: an older one and the batches after it.
  auto* f = mem_->contents(snapshot_file(snaps.back()));
  ASSERT_NE(f, nullptr);
  (*f)[f->size() / 2] ^= std::byte{0x10};
  auto end = log_->log_end();
  part_.reset();  // no close: the damaged file stays the newest
  log_.reset();
  open(true);
  ASSERT_EQ(log_->log_end(), end);
  expect_producer_7_remembered("older snapshot");
  ASSERT_TRUE(log_->flush());  // the snapshots of the rolls just made are written
  // Every snapshot damaged: a scan of the whole log.
  for (auto at : log_->snapshots()) {
    auto* g = mem_->contents(snapshot_file(at));
    ASSERT_NE(g, nullptr);
    g->resize(g->size() - 1);
  }
  part_.reset();
  log_.reset();
  open(true);
  auto retry = produce(7, 0, 5);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->second) << "the full scan missed producer 7's last batch";
  expect_same_producers(part_->producers(), scanned(), "full scan");
}

TEST_F(producer_snapshot_test, IdleProducersInASnapshotStillExpire) {
  settings_.producers.expiration_ms = 60'000;
  open(true);
  write_history();
  clock_.advance(std::chrono::milliseconds(30'000));
  ASSERT_TRUE(produce(9, 0, 0));
  clock_.advance(std::chrono::milliseconds(30'000));
  restart_clean();
  EXPECT_EQ(part_->producers().find(7), nullptr);
  EXPECT_EQ(part_->producers().find(8), nullptr);
  EXPECT_NE(part_->producers().find(9), nullptr);
  // An expired producer is unknown: accepted with any sequence.
  EXPECT_TRUE(produce(7, 0, 42));
}

TEST_F(producer_snapshot_test, ACrashAtAnyStepRebuildsWhatTheRecoveredLogHolds) {
  for (int64_t n = 0;; ++n) {
    std::string where = fmt::format("crash point {}", n);
    part_.reset();
    log_.reset();  // before the file system it uses goes
    mem_ = std::make_shared<io::memory_file_system>();
    fs_ = std::make_shared<io::fault_file_system>(mem_);
    dir_ = std::make_shared<storage::log_dir>("data");
    open(true);
    ASSERT_TRUE(produce(1, 0, 0, 2));
    ASSERT_TRUE(produce(2, 0, 0));
    ASSERT_TRUE(log_->flush());
    fs_->fail_ops_after(n);
    bool failed = false;
    for (int i = 0; i < 6; ++i)
      failed = !produce(i % 2 == 0 ? 3 : 1, 0, i % 2 == 0 ? i / 2 : 2 + i / 2) || failed;
    failed = !log_->flush() || failed;
    fs_->fail_ops_after(-1);
    restart_crashed();
    expect_same_producers(part_->producers(), scanned(), where);
    // Whatever the crash kept, producer 1 carries on from where the log says it is.
    const auto* p1 = part_->producers().find(1);
    ASSERT_NE(p1, nullptr) << where;
    auto next = p1->batches[p1->count - 1].last_seq + 1;
    auto r = produce(1, 0, next);
    ASSERT_TRUE(r) << where << ": " << r.error().message();
    EXPECT_FALSE(r->second) << where;
    if (!failed)
      break;
    ASSERT_LT(n, 1000) << "the scenario never completed";
  }
}

TEST(producer_snapshot, DecodeRefusesDamagedPayloadsAndKeepsItsState) {
  producer_state s;
  model::batch_header h;
  h.producer_id = 5;
  h.producer_epoch = 2;
  h.base_sequence = 10;
  h.last_offset_delta = 1;
  h.records_count = 2;
  h.base_offset = 40;
  s.record(h, 123);
  auto good = s.encode();
  producer_state t;
  ASSERT_TRUE(t.decode(good));
  ASSERT_NE(t.find(5), nullptr);
  EXPECT_EQ(*t.find(5), *s.find(5));
  // Every truncation and a byte flipped in every field is refused or decodes to something
  // whose checks still hold; never a crash, never an allocation from a bogus count.
  for (size_t n = 0; n < good.size(); ++n) {
    producer_state u;
    u.record(h, 1);
    EXPECT_FALSE(u.decode(std::span(good).first(n))) << n;
    EXPECT_NE(u.find(5), nullptr) << "a failed decode changed the state";
  }
  auto huge = good;
  bytes::write_be<uint32_t>(huge.data(), 0xffffffff);
  EXPECT_FALSE(t.decode(huge));
  auto twice = good;
  twice.insert(twice.end(), good.begin() + 4, good.end());
  bytes::write_be<uint32_t>(twice.data(), 2);
  EXPECT_FALSE(t.decode(twice));  // one producer twice
  auto extra = good;
  extra.push_back(std::byte{0});
  EXPECT_FALSE(t.decode(extra));
  std::minstd_rand rng(7);
  for (int i = 0; i < 2000; ++i) {
    auto junk = good;
    junk[rng() % junk.size()] = static_cast<std::byte>(rng());
    producer_state v;
    (void)v.decode(junk);
  }
}

}  // namespace
}  // namespace strom::cluster
