// Running out of descriptors or memory is not a dead disk: the call fails with a retriable
// error (resource_exhausted), is logged once in a while rather than every time, the data
// directory stays online, and a roll or flush that failed half way leaves the log consistent
// and writable once the shortage ends.
#include "log_fixture.h"

#include <cerrno>

#include "storage/resource_errors.h"
#include "strom/storage/errc.h"

namespace strom::storage::test {
namespace {

class resource_errors_test : public log_fixture, public ::testing::WithParamInterface<int> {
 protected:
  std::filesystem::path log_dir() const { return std::filesystem::path("data") / name_.dir_name(); }

  std::vector<std::string> files() {
    auto names = fs_->list(log_dir());
    EXPECT_TRUE(names);
    return names ? *names : std::vector<std::string>{};
  }

  /// Appends one 1-record batch; returns the error, if any.
  status try_append(leader_epoch e = leader_epoch(0)) {
    auto b = strom::test::make_batch(1);
    auto r = l_->append(b, e);
    if (!r)
      return r.error();
    return ok();
  }

  /// Every record of the log, read back from offset 0, must be there once.
  void expect_readable(int64_t records) {
    auto hs = read_headers(kafka_offset(0));
    int64_t next = 0;
    for (const auto& h : hs) {
      EXPECT_EQ(h.base_offset, next);
      next = h.next_offset().value();
    }
    EXPECT_EQ(next, records);
  }
};

std::string errno_name(const ::testing::TestParamInfo<int>& p) {
  return p.param == EMFILE ? "EMFILE" : p.param == ENFILE ? "ENFILE" : "ENOMEM";
}

INSTANTIATE_TEST_SUITE_P(errnos, resource_errors_test, ::testing::Values(EMFILE, ENFILE, ENOMEM),
                         errno_name);

TEST_P(resource_errors_test, ARollThatCannotOpenItsFilesFailsTheAppendOnly) {
  cfg_.segment_bytes = 1;  // every append after the first rolls
  l_->set_config(cfg_);
  ASSERT_TRUE(try_append());
  ASSERT_TRUE(l_->flush());
  auto before = files();
  // The new segment has three files: fail at the first, second and third open.
  for (int64_t after = 0; after < 3; ++after) {
    fs_->fail_opens_with(GetParam(), after);
    auto s = try_append();
    fs_->fail_opens_with(0);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::resource_exhausted)) << s.error().message();
    EXPECT_FALSE(l_->offline());
    EXPECT_EQ(l_->log_end().value(), 1);
    EXPECT_EQ(l_->segment_count(), 1u);
    EXPECT_EQ(files(), before) << "a half-opened segment left files behind";
  }
  // Once descriptors are back the same append works, and nothing is lost or doubled.
  ASSERT_TRUE(try_append());
  ASSERT_TRUE(try_append());
  EXPECT_EQ(l_->segment_count(), 3u);
  expect_readable(3);
  ASSERT_TRUE(l_->close());
  for (bool clean : {true, false}) {
    auto report = open_log(clean);
    ASSERT_TRUE(l_);
    EXPECT_EQ(report.segments, 3u);
    expect_readable(3);
  }
}

TEST_P(resource_errors_test, ANewEpochWhoseCheckpointCannotBeWrittenAppendsNothing) {
  ASSERT_TRUE(try_append());
  fs_->fail_opens_with(GetParam());
  auto s = try_append(leader_epoch(3));
  fs_->fail_opens_with(0);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::resource_exhausted)) << s.error().message();
  EXPECT_FALSE(l_->offline());
  EXPECT_EQ(l_->log_end().value(), 1);
  // The retry appends once, and the checkpoint records the epoch.
  ASSERT_TRUE(try_append(leader_epoch(3)));
  EXPECT_EQ(l_->log_end().value(), 2);
  ASSERT_EQ(l_->epochs().entries().size(), 2u);
  EXPECT_EQ(l_->epochs().entries().back().epoch.value(), 3);
  auto text = fs_->read_small_file(log_dir() / "leader-epoch-checkpoint", 1024);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("\n3 1\n"), std::string::npos) << *text;
  expect_readable(2);
}

TEST_P(resource_errors_test, AFlushThatCannotOpenFailsItsWaitersAndKeepsTheWorkQueued) {
  cfg_.segment_bytes = 1;
  l_->set_config(cfg_);
  ASSERT_TRUE(try_append());
  fs_->fail_opens_with(GetParam());
  EXPECT_FALSE(try_append());  // the roll cannot open the new segment
  // Descriptors for the new segment's three files, none after: the roll succeeds and the
  // flush it starts cannot rewrite the recovery point.
  fs_->fail_opens_with(GetParam(), 3);
  ASSERT_TRUE(try_append());
  auto s = l_->flush();
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::resource_exhausted)) << s.error().message();
  EXPECT_FALSE(l_->offline());
  EXPECT_LT(l_->flushed_offset().value(), l_->log_end().value());
  fs_->fail_opens_with(0);
  ASSERT_TRUE(l_->flush());
  EXPECT_EQ(l_->flushed_offset().value(), 2);
  auto rp = fs_->read_small_file(log_dir() / "recovery-point", 64);
  ASSERT_TRUE(rp);
  EXPECT_EQ(*rp, "2\n");
  // Everything acknowledged as flushed survives a crash.
  l_.reset();
  mem_->crash();
  open_log(false);
  ASSERT_TRUE(l_);
  expect_readable(2);
}

TEST_P(resource_errors_test, HousekeepingLeavesARollForTheNextTick) {
  cfg_.segment_ms = 1000;
  l_->set_config(cfg_);
  ASSERT_TRUE(try_append());
  clock_.advance(std::chrono::milliseconds(1000));
  fs_->fail_opens_with(GetParam());
  auto r = l_->housekeeping(true);
  fs_->fail_opens_with(0);
  ASSERT_TRUE(r) << r.error().message();  // nothing for the caller to log every tick
  EXPECT_EQ(l_->segment_count(), 1u);
  EXPECT_FALSE(l_->offline());
  ASSERT_TRUE(l_->housekeeping(true));
  EXPECT_EQ(l_->segment_count(), 2u);
}

TEST_P(resource_errors_test, AStormOfFailuresIsLoggedOnce) {
  cfg_.segment_bytes = 1;
  l_->set_config(cfg_);
  ASSERT_TRUE(try_append());
  auto noted = resource_exhaustions_noted();
  auto lines = resource_exhaustion_log_lines();
  fs_->fail_opens_with(GetParam());
  for (int i = 0; i < 200; ++i)
    EXPECT_FALSE(try_append());
  fs_->fail_opens_with(0);
  EXPECT_GE(resource_exhaustions_noted() - noted, 200u);
  EXPECT_LE(resource_exhaustion_log_lines() - lines, 1u);
}

using io_error_test = log_fixture;

TEST_F(io_error_test, AnIoErrorStillTakesTheDirectoryOffline) {
  // The contrast: a failure that is not a resource shortage is a disk failure.
  cfg_.segment_bytes = 1;
  l_->set_config(cfg_);
  append(1);
  fs_->fail_opens_with(EIO);
  auto b = strom::test::make_batch(1);
  auto r = l_->append(b, leader_epoch(0));
  fs_->fail_opens_with(0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::log_dir_offline));
  EXPECT_TRUE(l_->offline());
}

TEST(resource_errors, Classification) {
  for (int e : {EMFILE, ENFILE, ENOMEM})
    EXPECT_TRUE(is_resource_exhaustion(std::error_code(e, std::generic_category()))) << e;
  for (int e : {EIO, ENOSPC, EROFS, ENOENT, EEXIST})
    EXPECT_FALSE(is_resource_exhaustion(std::error_code(e, std::generic_category()))) << e;
  EXPECT_TRUE(is_resource_exhaustion(make_error_code(errc::resource_exhausted)));
  EXPECT_FALSE(is_resource_exhaustion(make_error_code(errc::log_dir_offline)));
}

}  // namespace
}  // namespace strom::storage::test
