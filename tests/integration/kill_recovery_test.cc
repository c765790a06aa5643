// Kills a real log-writing process with SIGKILL in the middle of its appends, then recovers
// the log on the real file system and checks that every flushed batch is intact and that
// nothing invalid is returned. Repeated, so recovery also runs on already-recovered logs.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "strom/io/file_system.h"
#include "strom/model/records.h"
#include "strom/storage/log_manager.h"

extern char** environ;

namespace strom {
namespace {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strom-kill-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

/// Runs the writer until it has reported `flushes` flushes, kills it with SIGKILL after a
/// random short delay, and returns the last flushed offset it reported.
int64_t run_and_kill(const std::filesystem::path& dir, int flushes, std::mt19937& rng) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::string exe = STROM_LOG_WRITER;
  std::string d = dir.string();
  char* args[] = {exe.data(), d.data(), const_cast<char*>("5"), const_cast<char*>("60"), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(::posix_spawn(&pid, exe.c_str(), &fa, nullptr, args, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  FILE* in = ::fdopen(out[0], "r");
  int64_t flushed = -1;
  int seen = 0;
  char line[256];
  while (seen < flushes && std::fgets(line, sizeof line, in) != nullptr) {
    long v = 0;
    if (std::sscanf(line, "flushed %ld", &v) == 1) {
      flushed = v;
      ++seen;
    }
  }
  // Let it run on into unflushed appends, then kill it mid-write.
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
  ::kill(pid, SIGKILL);
  // Drain what it printed before dying: those flushes completed too.
  while (std::fgets(line, sizeof line, in) != nullptr) {
    long v = 0;
    if (std::sscanf(line, "flushed %ld", &v) == 1)
      flushed = v;
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer should have been killed, status " << status;
  EXPECT_GE(seen, flushes);
  return flushed;
}

TEST(KillRecovery, FlushedBatchesSurviveSigkillMidAppend) {
  temp_dir tmp;
  std::mt19937 rng(12345);
  for (int round = 0; round < 4; ++round) {
    int64_t flushed = run_and_kill(tmp.path, 30 + round * 10, rng);
    ASSERT_GT(flushed, 0);

    storage::log_manager::options o;
    o.data_dirs = {tmp.path};
    o.fs = io::make_posix_file_system();
    auto m = storage::log_manager::open(o);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_FALSE((*m)->recovered_cleanly());
    auto* l = (*m)->get(model::ntp{"writer", model::partition_id(0)});
    ASSERT_NE(l, nullptr);
    ASSERT_GE(l->log_end().value(), flushed) << "round " << round;

    // Read everything back: every batch valid, every record at the offset it names.
    int64_t expect = 0;
    while (expect < l->log_end().value()) {
      auto r =
          l->read(model::kafka_offset(expect), storage::read_options{1 << 20, {}, false, true});
      ASSERT_TRUE(r) << r.error().message();
      auto bytes = r->copy();
      ASSERT_TRUE(bytes);
      size_t pos = 0;
      while (pos < bytes->size()) {
        auto hh = model::decode_header(std::span(*bytes).subspan(pos));
        ASSERT_TRUE(hh);
        auto batch = std::span(*bytes).subspan(pos, hh->size_bytes());
        auto h = model::validate_batch(batch, 1 << 30);
        ASSERT_TRUE(h) << h.error().message();
        ASSERT_EQ(h->base_offset, expect);
        ASSERT_TRUE(model::for_each_record(batch, *h, [&](const model::record_view& rec) {
          std::string v(reinterpret_cast<const char*>(rec.value->data()), rec.value->size());
          auto want = "seq-" + std::to_string(h->base_offset + rec.offset_delta) + "-";
          EXPECT_EQ(v.substr(0, want.size()), want);
          return true;
        }));
        expect = h->next_offset().value();
        pos += h->size_bytes();
      }
    }
    EXPECT_EQ(expect, l->log_end().value());
    ASSERT_TRUE((*m)->shutdown());
  }
}

}  // namespace
}  // namespace strom
