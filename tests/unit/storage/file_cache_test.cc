// Descriptors: closed segments close their index files and leave their log file to a bounded
// cache shared by every log, so a log of any number of segments holds a bounded number of
// open files (counted by the memory file system), and reads, truncation, retention,
// compaction and reopening still see every byte after files were closed and reopened.
#include "log_fixture.h"

#include <atomic>
#include <random>
#include <thread>

#include "strom/model/batch_builder.h"
#include "strom/storage/errc.h"
#include "strom/storage/file_cache.h"

namespace strom::storage::test {
namespace {

constexpr size_t capacity = 8;
constexpr int segments = 120;
/// The active segment's three files, one reopened file in use by a read, and a segment
/// opened or closed next to another one (open and roll).
constexpr int64_t margin = 3 + 1 + 3;

class file_cache_test : public log_fixture {
 protected:
  void SetUp() override {
    cfg_.retention_ms = -1;
    cfg_.segment_bytes = 1;  // one batch per segment
    cache_ = std::make_unique<file_cache>(capacity);
    open_log(true);
  }

  /// `segments` one-batch segments, each appended after the flush that followed the last roll
  /// (as when producers are slower than the disk: a closed segment keeps its files until the
  /// flush after its roll completes); all closed segments released at the end.
  void fill() {
    for (int i = 0; i < segments; ++i) {
      append(2, leader_epoch(0), 1000 + i, 100);
      ASSERT_TRUE(l_->flush());
    }
    ASSERT_EQ(l_->segment_count(), static_cast<size_t>(segments));
    settle();
  }

  void settle() {
    ASSERT_TRUE(l_->flush());
    ASSERT_TRUE(l_->housekeeping(false));
  }

  /// Every batch from `from` on, read back as a consumer does (a batch or two per read, each read's
  /// files let go before the next) and checked: offsets contiguous, CRC valid.
  void expect_all_readable(int64_t from, int64_t end) {
    int64_t next = from;
    while (next < end) {
      auto hs = read_headers(kafka_offset(next), read_options{512, {}, false, true});
      ASSERT_FALSE(hs.empty()) << "nothing read at " << next;
      for (const auto& h : hs) {
        EXPECT_EQ(h.base_offset, next);
        next = h.next_offset().value();
      }
    }
    EXPECT_EQ(next, end);
  }

  int64_t open_files() const { return mem_->open_files(); }
};

TEST_F(file_cache_test, ManySegmentsHoldABoundedNumberOfFiles) {
  mem_->reset_peak_open_files();
  fill();
  EXPECT_LE(open_files(), static_cast<int64_t>(capacity) + margin);
  EXPECT_LE(mem_->peak_open_files(), static_cast<int64_t>(capacity) + margin);
  // Reading every segment reopens their files one after another, within the bound.
  mem_->reset_peak_open_files();
  expect_all_readable(0, 2 * segments);
  EXPECT_LE(mem_->peak_open_files(), static_cast<int64_t>(capacity) + margin);
  EXPECT_LE(cache_->size(), capacity);
  EXPECT_GT(cache_->evictions(), 0u);
  EXPECT_GT(cache_->reopens(), 0u);
  // Twice: what was evicted is reopened, and reads stay correct.
  expect_all_readable(0, 2 * segments);
  expect_all_readable(2 * segments - 8, 2 * segments);
}

TEST_F(file_cache_test, OpeningALogOfManySegmentsStaysWithinTheBound) {
  fill();
  ASSERT_TRUE(l_->close());
  for (bool clean : {true, false}) {
    l_.reset();
    mem_->reset_peak_open_files();
    auto report = open_log(clean);
    ASSERT_TRUE(l_);
    EXPECT_EQ(report.segments, static_cast<size_t>(segments));
    EXPECT_LE(mem_->peak_open_files(), static_cast<int64_t>(capacity) + margin)
        << (clean ? "clean" : "unclean");
    EXPECT_LE(open_files(), static_cast<int64_t>(capacity) + margin);
    expect_all_readable(0, 2 * segments);
  }
}

TEST_F(file_cache_test, ASliceKeepsItsFileReadableAfterEviction) {
  fill();
  auto first = l_->read(kafka_offset(0), read_options{1, {}, false, true});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->slices.size(), 1u);
  // Read everything else: segment 0's file leaves the cache, the slice still holds it.
  expect_all_readable(2, 2 * segments);
  auto bytes = first->copy();
  ASSERT_TRUE(bytes);
  auto h = model::validate_batch(*bytes, 1 << 20);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->base_offset, 0);
  EXPECT_EQ(h->max_timestamp, 1000);
  first->slices.clear();
  EXPECT_LE(open_files(), static_cast<int64_t>(capacity) + margin);
}

TEST_F(file_cache_test, TruncationIntoAReleasedSegmentReopensItForWriting) {
  fill();
  auto end = l_->truncate(kafka_next_offset(21));  // inside segment 10: it goes whole
  ASSERT_TRUE(end) << end.error().message();
  EXPECT_EQ(end->value(), 20);
  EXPECT_EQ(l_->segment_count(), 11u);  // segment 10 is the active one, emptied
  auto r = append(3);
  EXPECT_EQ(r.base.value(), 20);
  expect_all_readable(0, 23);
  settle();
  EXPECT_LE(open_files(), static_cast<int64_t>(capacity) + margin);
  ASSERT_TRUE(l_->close());
  open_log(true);
  expect_all_readable(0, 23);
}

TEST_F(file_cache_test, RetentionDropsReleasedSegmentsAndTheirCacheEntries) {
  fill();
  expect_all_readable(0, 2 * segments);  // fill the cache with old segments
  cfg_.retention_bytes = 0;
  cfg_.cleanup_delete = true;
  l_->set_config(cfg_);
  auto deleted = l_->housekeeping(true);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, static_cast<size_t>(segments - 1));
  EXPECT_EQ(cache_->size(), 0u);  // the active segment holds its own files
  EXPECT_EQ(open_files(), 3);
}

TEST_F(file_cache_test, CompactionOfManySegmentsStaysWithinTheBound) {
  cfg_.cleanup_compact = true;
  cfg_.cleanup_delete = false;
  open_log(true);
  // A key updated in every segment: compaction rewrites every closed segment.
  for (int i = 0; i < segments; ++i) {
    model::batch_builder b(1000 + i);
    b.add("k", "value");
    b.add(fmt::format("own-{}", i), "value");
    auto bytes = b.build();
    ASSERT_TRUE(l_->append(bytes, leader_epoch(0)));
  }
  settle();
  mem_->reset_peak_open_files();
  auto stats = l_->compact();
  ASSERT_TRUE(stats) << stats.error().message();
  // All closed segments but the newest, whose copy of "k" is the newest within the range.
  EXPECT_EQ(stats->segments_rewritten, static_cast<size_t>(segments - 2));
  EXPECT_LE(mem_->peak_open_files(), static_cast<int64_t>(capacity) + margin + 3);
  EXPECT_LE(open_files(), static_cast<int64_t>(capacity) + margin);
  // Every segment still reads, each batch now holding its own key only (but its offsets).
  auto r = l_->read(kafka_offset(0), read_options{size_t{1} << 30, {}, false, true});
  ASSERT_TRUE(r);
  auto bytes = r->copy();
  ASSERT_TRUE(bytes);
  int64_t next = 0;
  for (size_t pos = 0; pos < bytes->size();) {
    auto h = model::decode_header(std::span(*bytes).subspan(pos));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, next);
    next = h->next_offset().value();
    pos += h->size_bytes();
  }
  EXPECT_EQ(next, 2 * segments);
}

TEST(file_cache, EvictsTheLeastRecentlyUsedAndCountsFilesInUse) {
  auto mem = std::make_shared<io::memory_file_system>();
  std::vector<std::shared_ptr<cached_file>> handles;
  file_cache cache(2);
  for (int i = 0; i < 3; ++i) {
    auto p = std::filesystem::path(fmt::format("f{}", i));
    auto f = mem->open(p, io::open_mode::create);
    ASSERT_TRUE(f);
    auto text = fmt::format("file {}", i);
    ASSERT_TRUE((*f)->write_at(0, std::as_bytes(std::span(text))));
    handles.push_back(std::make_shared<cached_file>(mem.get(), p, &cache));
  }
  auto read = [&](int i) {
    auto f = handles[i]->get();
    EXPECT_TRUE(f);
    std::string text(6, '\0');
    EXPECT_TRUE((*f)->read_exact(0, std::as_writable_bytes(std::span(text))));
    EXPECT_EQ(text, fmt::format("file {}", i));
  };
  read(0);
  read(1);
  EXPECT_EQ(cache.reopens(), 2u);
  read(0);  // 0 is now more recent than 1
  read(2);  // evicts 1
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_EQ(mem->open_files(), 2);
  read(0);
  EXPECT_EQ(cache.reopens(), 3u);  // 0 stayed open
  read(1);
  EXPECT_EQ(cache.reopens(), 4u);  // 1 had been closed
  // A file in use outlives its eviction and is counted again when asked for.
  auto in_use = handles[2]->get();
  ASSERT_TRUE(in_use);
  read(0);
  read(1);  // 2 is evicted from the cache but stays open for its holder
  EXPECT_EQ(mem->open_files(), 3);
  EXPECT_EQ(cache.size(), 2u);
  in_use->reset();
  EXPECT_EQ(mem->open_files(), 2);
  handles.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(mem->open_files(), 0);
}

TEST(file_cache, ManyThreadsShareOneCache) {
  auto mem = std::make_shared<io::memory_file_system>();
  constexpr int files = 40;
  constexpr int threads = 4;
  file_cache cache(5);
  std::vector<std::shared_ptr<cached_file>> handles;
  for (int i = 0; i < files; ++i) {
    auto p = std::filesystem::path(fmt::format("f{}", i));
    auto f = mem->open(p, io::open_mode::create);
    ASSERT_TRUE(f);
    auto text = fmt::format("{:04}", i);
    ASSERT_TRUE((*f)->write_at(0, std::as_bytes(std::span(text))));
    handles.push_back(std::make_shared<cached_file>(mem.get(), p, &cache));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::minstd_rand rng(static_cast<unsigned>(t));
      for (int n = 0; n < 5000; ++n) {
        int i = static_cast<int>(rng() % files);
        auto f = handles[i]->get();
        std::string text(4, '\0');
        if (!f || !(*f)->read_exact(0, std::as_writable_bytes(std::span(text))) ||
            text != fmt::format("{:04}", i))
          ++wrong;
      }
    });
  }
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 5u);
  // The cache, plus per thread the file it reads and one it opened while others evicted.
  EXPECT_LE(mem->peak_open_files(), static_cast<int64_t>(5 + 2 * threads));
}

}  // namespace
}  // namespace strom::storage::test
