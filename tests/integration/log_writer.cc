// A small log-writing process for crash tests: appends numbered batches to one partition log
// on the real file system, flushes every few batches and reports each flushed end offset on
// stdout ("flushed <offset>"). It runs until killed or until its bounds are reached.
//
// usage: strom-log-writer DATA_DIR [BATCHES_PER_FLUSH] [MAX_SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>

#include <fmt/format.h>

#include "strom/io/file_system.h"
#include "strom/model/batch_builder.h"
#include "strom/storage/log_manager.h"

using namespace strom;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR [BATCHES_PER_FLUSH] [MAX_SECONDS]\n", argv[0]);
    return 2;
  }
  int per_flush = argc > 2 ? std::atoi(argv[2]) : 10;
  int max_seconds = argc > 3 ? std::atoi(argv[3]) : 60;
  storage::log_manager::options o;
  o.data_dirs = {argv[1]};
  o.fs = io::make_posix_file_system();
  storage::log_config cfg;
  cfg.segment_bytes = 256 * 1024;  // many rolls during a short run
  cfg.retention_ms = -1;
  o.defaults = cfg;
  // The topic file that claims the partition, as stromd's CreateTopics writes it: stromd
  // removes partition directories that no topic claims.
  auto topics_dir = std::filesystem::path(argv[1]) / ".strom" / "topics";
  std::string topic_file = "partitions=1\nreplication_factor=1\n";
  if (auto s = o.fs->create_directories(topics_dir);
      !s ||
      !o.fs->write_file_atomic(topics_dir / "writer.topic", std::as_bytes(std::span(topic_file)))) {
    std::fprintf(stderr, "cannot write the topic file\n");
    return 1;
  }
  auto m = storage::log_manager::open(o);
  if (!m) {
    std::fprintf(stderr, "open: %s\n", m.error().message().c_str());
    return 1;
  }
  model::ntp name{"writer", model::partition_id(0)};
  auto* l = (*m)->get(name);
  if (l == nullptr) {
    auto created = (*m)->create(name, cfg);
    if (!created) {
      std::fprintf(stderr, "create: %s\n", created.error().message().c_str());
      return 1;
    }
    l = *created;
  }
  std::printf("start %ld\n", static_cast<long>(l->log_end().value()));
  std::fflush(stdout);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  for (int n = 0; n < 10'000'000 && std::chrono::steady_clock::now() < deadline; ++n) {
    // Record i of the batch starting at offset b holds "seq-<b+i>": a reader can check that
    // every recovered record sits at the offset it was written for.
    int64_t base = l->log_end().value();
    model::batch_builder b(1'700'000'000'000 + base);
    int records = 1 + n % 7;
    for (int i = 0; i < records; ++i) {
      auto key = fmt::format("k{}", base + i);
      auto value = fmt::format("seq-{}-{}", base + i, std::string(100 + (n % 13) * 37, 'x'));
      b.add(std::optional<std::string_view>(key), std::optional<std::string_view>(value),
            1'700'000'000'000 + base + i);
    }
    auto bytes = b.build();
    auto r = l->append(bytes, model::leader_epoch(0));
    if (!r) {
      std::fprintf(stderr, "append: %s\n", r.error().message().c_str());
      return 1;
    }
    if ((n + 1) % per_flush == 0) {
      if (auto s = l->flush(); !s) {
        std::fprintf(stderr, "flush: %s\n", s.error().message().c_str());
        return 1;
      }
      std::printf("flushed %ld\n", static_cast<long>(l->flushed_offset().value()));
      std::fflush(stdout);
    }
  }
  return (*m)->shutdown() ? 0 : 1;
}
