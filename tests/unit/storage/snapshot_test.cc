// State snapshots: taken at each roll, written by the flush that makes the data before them
// durable, checked when read back, removed with their segments and beyond a truncation, and
// never ahead of the recovered log whatever step a crash interrupts.
#include "log_fixture.h"

#include "strom/storage/errc.h"

namespace strom::storage::test {
namespace {

std::string text(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::vector<std::byte> bytes_of(const std::string& s) {
  auto b = std::as_bytes(std::span(s));
  return {b.begin(), b.end()};
}

class snapshot_test : public log_fixture {
 protected:
  void SetUp() override {
    cfg_.retention_ms = -1;
    cfg_.segment_bytes = 1;  // one batch per segment
    open_log(true);
    watch();
  }

  /// The state a snapshot records here: the log end when it was taken.
  void watch() {
    l_->set_snapshot_source(
        [this] { return bytes_of(fmt::format("end={}", l_->log_end().value())); });
  }

  std::filesystem::path file(int64_t at) const {
    return std::filesystem::path("data") / name_.dir_name() /
           segment_names::snapshot_name(kafka_next_offset(at));
  }

  std::vector<int64_t> offsets() const {
    std::vector<int64_t> out;
    for (auto o : l_->snapshots())
      out.push_back(o.value());
    return out;
  }

  std::string read(int64_t at) {
    auto r = l_->read_snapshot(kafka_next_offset(at), 1 << 20);
    EXPECT_TRUE(r) << r.error().message();
    return r ? text(*r) : std::string();
  }
};

TEST_F(snapshot_test, EachRollSnapshotsTheStateAtTheNewSegmentsBase) {
  for (int i = 0; i < 3; ++i)
    append(2);
  ASSERT_TRUE(l_->flush());
  EXPECT_EQ(offsets(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(read(2), "end=2");
  EXPECT_EQ(read(4), "end=4");
  EXPECT_NE(mem_->contents(file(4)), nullptr);
}

TEST_F(snapshot_test, OnlyTheNewestFewAreKept) {
  for (int i = 0; i < 10; ++i)
    append(1);
  ASSERT_TRUE(l_->flush());
  EXPECT_EQ(offsets(), (std::vector<int64_t>{7, 8, 9}));
  for (int64_t o = 1; o < 7; ++o)
    EXPECT_EQ(mem_->contents(file(o)), nullptr) << o;
  EXPECT_EQ(read(9), "end=9");
}

TEST_F(snapshot_test, CloseWritesOneAtTheLogEndFromTheSourceOrTheStash) {
  append(1);
  append(1);
  ASSERT_TRUE(l_->close());
  open_log(true);
  EXPECT_EQ(offsets(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(read(2), "end=2");
  // No source any more (its owner went first): the stash is written if it is still current.
  append(1);
  l_->set_snapshot_source(nullptr);
  l_->stash_snapshot(bytes_of("stashed"));
  ASSERT_TRUE(l_->close());
  open_log(true);
  EXPECT_EQ(offsets().back(), 3);
  EXPECT_EQ(read(3), "stashed");
  // A stash older than the log end is not written.
  l_->set_snapshot_source(nullptr);
  l_->stash_snapshot(bytes_of("stale"));
  append(1);
  cfg_.segment_bytes = 1 << 20;  // no roll: the stash is all there is
  l_->set_config(cfg_);
  ASSERT_TRUE(l_->close());
  open_log(true);
  EXPECT_NE(offsets().back(), 4);
}

TEST_F(snapshot_test, DamagedSnapshotsAreRefused) {
  append(1);
  append(1);
  append(1);
  ASSERT_TRUE(l_->flush());
  ASSERT_EQ(offsets(), (std::vector<int64_t>{1, 2}));
  auto* f = mem_->contents(file(2));
  ASSERT_NE(f, nullptr);
  (*f)[f->size() - 1] ^= std::byte{1};
  auto r = l_->read_snapshot(kafka_next_offset(2), 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::corrupt_checkpoint)) << r.error().message();
  f->resize(5);
  EXPECT_TRUE(
      l_->read_snapshot(kafka_next_offset(2), 1 << 20).error().is(errc::corrupt_checkpoint));
  // A file under another offset's name.
  *mem_->contents(file(2)) = *mem_->contents(file(1));
  EXPECT_TRUE(
      l_->read_snapshot(kafka_next_offset(2), 1 << 20).error().is(errc::corrupt_checkpoint));
  // Larger than the caller allows: refused before it is read.
  EXPECT_FALSE(l_->read_snapshot(kafka_next_offset(1), 2));
  EXPECT_EQ(read(1), "end=1");
}

TEST_F(snapshot_test, SnapshotsGoWithTheirSegmentsAndBeyondATruncation) {
  for (int i = 0; i < 4; ++i)
    append(1);
  ASSERT_TRUE(l_->flush());
  ASSERT_EQ(offsets(), (std::vector<int64_t>{1, 2, 3}));
  ASSERT_TRUE(l_->prefix_truncate(kafka_offset(2)));  // segments 0 and 1 go
  EXPECT_EQ(offsets(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(mem_->contents(file(1)), nullptr);
  auto end = l_->truncate(kafka_next_offset(2));
  ASSERT_TRUE(end);
  EXPECT_EQ(offsets(), (std::vector<int64_t>{2}));
  EXPECT_EQ(mem_->contents(file(3)), nullptr);
  // At the next open, leftovers outside the log are dropped too.
  ASSERT_TRUE(l_->close());
  auto stray = mem_->open(file(40), io::open_mode::create);
  ASSERT_TRUE(stray);
  stray->reset();
  open_log(true);
  for (auto o : offsets())
    EXPECT_LE(o, l_->log_end().value());
  EXPECT_EQ(mem_->contents(file(40)), nullptr);
}

TEST_F(snapshot_test, ACrashAtAnyStepNeverLeavesASnapshotAheadOfTheLog) {
  for (int64_t n = 0;; ++n) {
    l_.reset();  // before the file system it uses goes
    mem_ = std::make_shared<io::memory_file_system>();
    fs_ = std::make_shared<io::fault_file_system>(mem_);
    open_log(true);
    watch();
    for (int i = 0; i < 3; ++i)
      append(1);
    ASSERT_TRUE(l_->flush());
    fs_->fail_ops_after(n);
    bool failed = false;
    for (int i = 0; i < 4; ++i) {
      auto b = strom::test::make_batch(1);
      failed = !l_->append(b, leader_epoch(0)) || failed;
    }
    failed = !l_->flush() || failed;
    l_.reset();  // no close: a crash
    fs_->fail_ops_after(-1);
    mem_->crash();
    dir_ = std::make_shared<log_dir>("data");
    open_log(false);
    ASSERT_TRUE(l_) << "n=" << n;
    auto end = l_->log_end().value();
    EXPECT_GE(end, 3) << "n=" << n;  // flushed before the faults began
    for (auto o : offsets()) {
      EXPECT_LE(o, end) << "n=" << n;
      EXPECT_EQ(read(o), fmt::format("end={}", o)) << "n=" << n;
    }
    if (!failed) {
      EXPECT_EQ(end, 7);
      EXPECT_EQ(offsets().back(), 6);
      break;
    }
    ASSERT_LT(n, 500) << "the scenario never completed";
  }
}

}  // namespace
}  // namespace strom::storage::test
