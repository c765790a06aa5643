// Storage micro benchmarks: log append (page cache and fsync'd), sequential read, CRC-32C,
// and memcpy as the in-process ceiling. Appends go to a real directory (STROM_BENCH_DIR, or
// a fresh one under the system temp directory).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_log.h"
#include "strom/bytes/crc32c.h"

namespace strom {
namespace {

void BM_Append(benchmark::State& state) {
  bench_log bl("append");
  auto proto = batch_of(static_cast<size_t>(state.range(0)));
  auto batch = proto;
  bool fsync = state.range(1) != 0;
  for (auto _ : state) {
    std::memcpy(batch.data(), proto.data(), proto.size());
    auto r = bl.log->append(batch, model::leader_epoch(0));
    if (!r)
      state.SkipWithError(r.error().message().c_str());
    if (fsync) {
      if (auto s = bl.log->flush(); !s)
        state.SkipWithError(s.error().message().c_str());
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetItemsProcessed(state.iterations());
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
}
// Page-cache appends write a fixed 1 GiB into a fresh log, the same volume as the fio
// ceiling run, with no segment deleted while timing (retention's page-cache invalidation is
// not part of the append path). fsync'd appends run for a fixed time.
BENCHMARK(BM_Append)
    ->ArgNames({"batch", "fsync"})
    ->Args({1024, 0})
    ->Iterations((1 << 30) / 1071)
    ->UseRealTime();
BENCHMARK(BM_Append)
    ->ArgNames({"batch", "fsync"})
    ->Args({16384, 0})
    ->Iterations((1 << 30) / 16227)
    ->UseRealTime();
BENCHMARK(BM_Append)
    ->ArgNames({"batch", "fsync"})
    ->Args({1024, 1})
    ->Args({16384, 1})
    ->MinTime(2.0)
    ->UseRealTime();

void BM_SequentialRead(benchmark::State& state) {
  bench_log bl("read");
  auto proto = batch_of(16384);
  constexpr int batches = 16384;  // 256 MiB
  for (int i = 0; i < batches; ++i) {
    auto b = proto;
    if (!bl.log->append(b, model::leader_epoch(0)))
      state.SkipWithError("append failed");
  }
  std::vector<std::byte> buf(1 << 20);
  int64_t bytes = 0;
  model::kafka_offset at(0);
  storage::read_options ro;
  ro.max_bytes = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    if (at.value() >= bl.log->log_end().value())
      at = bl.log->log_start();
    auto r = bl.log->read(at, ro);
    if (!r)
      state.SkipWithError(r.error().message().c_str());
    // Copy into a user buffer: what a non-sendfile fetch path costs.
    size_t done = 0;
    for (const auto& s : r->slices) {
      auto n = s.file->read_at(s.position,
                               std::span(buf).subspan(0, std::min<size_t>(s.length, buf.size())));
      if (n)
        done += *n;
    }
    bytes += static_cast<int64_t>(done);
    at = model::first_at(r->next);
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_SequentialRead)->ArgNames({"max_bytes"})->Arg(1 << 20)->MinTime(2.0)->UseRealTime();

void BM_Crc32c(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<size_t>(state.range(0)), std::byte{0x5a});
  for (auto _ : state)
    benchmark::DoNotOptimize(bytes::crc32c(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(1024)->Arg(16384)->Arg(1 << 20);

void BM_Memcpy(benchmark::State& state) {
  std::vector<std::byte> src(static_cast<size_t>(state.range(0)), std::byte{1});
  std::vector<std::byte> dst(src.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Memcpy)->Arg(16384)->Arg(64 << 20);

}  // namespace
}  // namespace strom
