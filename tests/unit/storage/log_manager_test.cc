// The log manager's data directories: which entries are logs (names starting with '.' too),
// partition directories no topic claims, delete markers, stale directories under a new
// log's name, and names up to the longest a file system accepts.
#include "strom/storage/log_manager.h"

#include <gtest/gtest.h>

#include <set>

#include "strom/io/fault_file_system.h"
#include "strom/io/memory_file_system.h"
#include "strom/storage/errc.h"
#include "support/batches.h"

namespace strom::storage {
namespace {

using model::ntp;
using model::partition_id;

class log_manager_test : public ::testing::Test {
 protected:
  std::shared_ptr<io::memory_file_system> mem = std::make_shared<io::memory_file_system>();
  std::shared_ptr<io::fault_file_system> fs = std::make_shared<io::fault_file_system>(mem);
  manual_clock clk;
  log_config cfg;
  std::set<ntp> claimed;
  bool use_claims = false;

  log_manager::options opts(std::vector<std::filesystem::path> dirs = {"d1"}) {
    log_manager::options o;
    o.data_dirs = std::move(dirs);
    o.fs = fs;
    o.clk = &clk;
    o.defaults = cfg;
    if (use_claims)
      o.claimed = [this](const ntp& n) { return claimed.contains(n); };
    return o;
  }
  std::unique_ptr<log_manager> open(std::vector<std::filesystem::path> dirs = {"d1"}) {
    auto m = log_manager::open(opts(std::move(dirs)));
    EXPECT_TRUE(m) << m.error().message();
    return m ? std::move(*m) : nullptr;
  }
  void append(log_manager& m, const ntp& n, int records) {
    auto* l = m.get(n);
    ASSERT_NE(l, nullptr);
    auto b = strom::test::make_batch(records);
    ASSERT_TRUE(l->append(b, model::leader_epoch(0)));
  }
  std::vector<std::string> entries(const std::filesystem::path& d) { return *mem->list(d); }

  void SetUp() override { cfg.retention_ms = -1; }
};

TEST_F(log_manager_test, a_topic_whose_name_starts_with_a_dot_is_recovered_after_a_crash) {
  ntp hidden{".hidden", partition_id(0)};
  {
    auto m = open();
    ASSERT_TRUE(m->create(hidden, cfg));
    append(*m, hidden, 3);
    ASSERT_TRUE(m->get(hidden)->flush());
    // The round that answered the flush may still be deciding whether to run again: once it
    // is done, nothing flushes what comes next.
    m->get(hidden)->wait_flushes();
    append(*m, hidden, 2);  // unflushed: lost in the power cut
  }                         // no shutdown(): a crash
  mem->crash();
  // A torn tail the crash left behind, after the synced batches.
  auto* seg = mem->contents("d1/.hidden-0/00000000000000000000-0.log");
  ASSERT_NE(seg, nullptr);
  auto valid = seg->size();
  seg->resize(valid + 30, std::byte{0x5a});
  auto m = open();
  EXPECT_FALSE(m->recovered_cleanly());
  ASSERT_NE(m->get(hidden), nullptr);
  EXPECT_EQ(m->recovery_summary().bytes_truncated, 30u);
  EXPECT_GE(m->recovery_summary().segments_recovered, 1u);
  EXPECT_EQ(m->get(hidden)->log_end().value(), 3);
  EXPECT_EQ(mem->contents("d1/.hidden-0/00000000000000000000-0.log")->size(), valid);
}

TEST_F(log_manager_test, only_stroms_own_dot_entries_are_skipped) {
  ASSERT_TRUE(mem->create_directories("d1/.strom/topics"));
  ASSERT_TRUE(mem->open("d1/.lock", io::open_mode::create));
  {
    auto m = open();
    ASSERT_TRUE(m->create(ntp{".a.b-c", partition_id(12)}, cfg));
    ASSERT_TRUE(m->shutdown());
  }
  auto m = open();
  EXPECT_TRUE(m->recovered_cleanly());
  EXPECT_EQ(m->partitions(), (std::vector<ntp>{ntp{".a.b-c", partition_id(12)}}));
  EXPECT_TRUE(*mem->exists("d1/.strom/topics"));
  EXPECT_TRUE(*mem->exists("d1/.lock"));
}

TEST_F(log_manager_test, unclaimed_partition_directories_go_after_a_crash) {
  use_claims = true;
  ntp kept{"kept", partition_id(0)};
  ntp orphan{"orphan", partition_id(0)};
  ntp extra{"kept", partition_id(1)};  // beyond the topic's partition count
  claimed = {kept};
  {
    auto m = open();
    for (const auto& n : {kept, orphan, extra}) {
      ASSERT_TRUE(m->create(n, cfg));
      append(*m, n, 2);
      ASSERT_TRUE(m->get(n)->flush());
    }
  }  // crash
  auto m = open();
  EXPECT_FALSE(m->recovered_cleanly());
  EXPECT_EQ(m->partitions(), std::vector<ntp>{kept});
  EXPECT_EQ(entries("d1"), std::vector<std::string>{"kept-0"});
  EXPECT_EQ(m->recovery_summary().notes.size(), 2u);
  // A recreated topic starts empty.
  auto created = m->create(orphan, cfg);
  ASSERT_TRUE(created);
  EXPECT_EQ((*created)->log_end().value(), 0);
}

TEST_F(log_manager_test, unclaimed_partition_directories_are_quarantined_after_a_clean_stop) {
  ntp orphan{"orphan", partition_id(3)};
  {
    auto m = open();  // no claims: every directory is a log
    ASSERT_TRUE(m->create(orphan, cfg));
    append(*m, orphan, 2);
    ASSERT_TRUE(m->shutdown());
  }
  use_claims = true;
  {
    auto m = open();
    EXPECT_TRUE(m->partitions().empty());
    auto names = entries("d1");  // the clean-shutdown marker was removed at open
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(names[0].starts_with("orphan-3.")) << names[0];
    EXPECT_TRUE(names[0].ends_with("-stray")) << names[0];
    // The data is kept, out of the way of a new topic of that name.
    auto created = m->create(orphan, cfg);
    ASSERT_TRUE(created);
    EXPECT_EQ((*created)->log_end().value(), 0);
    claimed = {orphan};
    ASSERT_TRUE(m->shutdown());
  }
  auto m = open();  // quarantined directories stay where they are
  EXPECT_EQ(m->partitions(), std::vector<ntp>{orphan});
  EXPECT_EQ(entries("d1").size(), 2u);  // the new log and the quarantined one
}

TEST_F(log_manager_test, a_new_log_never_adopts_a_stale_directory_of_its_name) {
  ntp n{"t", partition_id(0)};
  {
    auto m = open({"d1", "d2"});
    ASSERT_TRUE(m->create(ntp{"u", partition_id(0)}, cfg));  // d1
    ASSERT_TRUE(m->create(n, cfg));                          // d2
    append(*m, n, 5);
    ASSERT_TRUE(m->get(n)->flush());
    auto path = m->release(n);  // as a delete that could not remove the directory
    ASSERT_TRUE(path);
    EXPECT_EQ(*path, std::filesystem::path("d2/t-0"));
    EXPECT_EQ(m->get(n), nullptr);
    ASSERT_TRUE(m->create(ntp{"x", partition_id(0)}, cfg));  // d2
    // The new log goes to d1; the stale directory in d2 goes.
    auto created = m->create(n, cfg);
    ASSERT_TRUE(created);
    EXPECT_EQ((*created)->path(), std::filesystem::path("d1/t-0"));
    EXPECT_EQ((*created)->log_end().value(), 0);
    EXPECT_FALSE(*mem->exists(*path));
    // Same data directory: the stale directory is replaced.
    ASSERT_TRUE(m->release(n));
    created = m->create(n, cfg);
    ASSERT_TRUE(created);
    EXPECT_EQ((*created)->log_end().value(), 0);
    ASSERT_TRUE(m->shutdown());
  }
  auto m = open({"d1", "d2"});  // exactly one directory of that name
  EXPECT_EQ(m->get(n)->log_end().value(), 0);
}

TEST_F(log_manager_test, deleted_directories_go_through_delete_markers) {
  std::string longest(249, 'x');
  std::vector<ntp> names{{"t", partition_id(0)}, {longest, partition_id(99999)}};
  {
    auto m = open();
    std::vector<std::filesystem::path> dirs;
    for (const auto& n : names) {
      ASSERT_TRUE(m->create(n, cfg)) << n.dir_name();
      append(*m, n, 2);
      auto d = m->release(n);
      ASSERT_TRUE(d);
      dirs.push_back(*d);
    }
    EXPECT_EQ(longest.size() + 1 + 5, io::max_name_bytes);
    // A crash right after the renames and the directory fsync: the markers stay.
    fs->fail_ops_after(3);
    EXPECT_FALSE(m->delete_directories(dirs));
    fs->fail_ops_after(-1);
    auto left = entries("d1");
    ASSERT_EQ(left.size(), 2u);
    for (const auto& e : left) {
      EXPECT_TRUE(e.ends_with("-delete")) << e;
      EXPECT_LE(e.size(), io::max_name_bytes);
    }
    EXPECT_EQ(log_manager::marker_name(names[1], log_manager::delete_suffix).size(),
              io::max_name_bytes);
  }
  auto m = open();  // markers are removed at open, whatever the claims
  EXPECT_TRUE(entries("d1").empty());
  EXPECT_TRUE(m->partitions().empty());
  EXPECT_EQ(m->recovery_summary().notes.size(), 2u);
}

TEST_F(log_manager_test, delete_directories_removes_everything_when_nothing_fails) {
  auto m = open();
  ntp n{"t", partition_id(7)};
  ASSERT_TRUE(m->create(n, cfg));
  auto d = m->release(n);
  ASSERT_TRUE(d);
  ASSERT_TRUE(m->delete_directories({*d}));
  EXPECT_TRUE(entries("d1").empty());
  EXPECT_FALSE(m->release(n));
}

TEST_F(log_manager_test, partition_directory_names_beyond_name_max_are_refused) {
  auto m = open();
  auto r = m->create(ntp{std::string(249, 'x'), partition_id(100000)}, cfg);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_name));
  EXPECT_TRUE(entries("d1").empty());
}

TEST_F(log_manager_test, a_failed_create_leaves_no_directory) {
  auto m = open();
  ntp n{"t", partition_id(0)};
  for (int64_t k = 0;; ++k) {
    fs->fail_one_op_after(k);
    auto r = m->create(n, cfg);
    fs->fail_one_op_after(-1);
    if (r)
      break;
    EXPECT_TRUE(entries("d1").empty()) << "failing op " << k;
    EXPECT_EQ(m->get(n), nullptr);
  }
  EXPECT_NE(m->get(n), nullptr);
}

}  // namespace
}  // namespace strom::storage
