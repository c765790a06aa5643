// Kafka front-end micro benchmarks: decoding Produce and Fetch requests and encoding their
// responses (the codec of include/strom/kafka/protocol), validating record batches the way a
// produce does, and the Fetch path from a segment file to a loopback TCP socket (log read,
// response encoding, write + sendfile), against a copying read for comparison.
//
// Request versions are the ones librdkafka 2.0.2 sends: Produce v7, Fetch v11.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench_log.h"
#include "strom/kafka/protocol/codec.h"
#include "strom/model/record_batch.h"
#include "strom/model/validated_batch.h"

namespace strom {
namespace {

namespace kp = kafka::protocol;

constexpr int16_t produce_version = 7;
constexpr int16_t fetch_version = 11;

std::vector<std::byte> payload_of(const result<kp::frame>& f) {
  auto bytes = f->flatten();
  std::vector<std::byte> out(bytes->begin() + 4, bytes->end());  // without the size prefix
  return out;
}

kp::request_header header_for(kp::api_key key, int16_t version) {
  kp::request_header h;
  h.key = key;
  h.version = version;
  h.correlation_id = 7;
  h.client_id = "rdkafka";
  return h;
}

// ---- Produce ---------------------------------------------------------------------------------

/// A Produce request with one batch of about `batch_bytes` (records of `value_size` bytes) for
/// each of `partitions` partitions of one topic.
std::vector<std::byte> produce_request_payload(int partitions, size_t batch_bytes,
                                               size_t value_size,
                                               std::vector<std::vector<std::byte>>& keep) {
  kp::produce_request req;
  req.acks = 1;
  req.timeout_ms = 30000;
  auto& t = req.topic_data.emplace_back();
  t.name = "bench-topic";
  for (int p = 0; p < partitions; ++p) {
    keep.push_back(batch_of(batch_bytes, value_size));
    auto& pd = t.partition_data.emplace_back();
    pd.index = p;
    pd.records = kp::records(keep.back());
  }
  return payload_of(
      kp::encode_request_frame(header_for(kp::api_key::produce, produce_version), req));
}

void BM_ProduceRequestDecode(benchmark::State& state) {
  std::vector<std::vector<std::byte>> keep;
  const int partitions = static_cast<int>(state.range(0));
  auto payload = produce_request_payload(partitions, static_cast<size_t>(state.range(1)),
                                         static_cast<size_t>(state.range(2)), keep);
  for (auto _ : state) {
    auto r = kp::decode_request(payload);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
  state.SetItemsProcessed(state.iterations());
  state.counters["request_bytes"] = static_cast<double>(payload.size());
}
BENCHMARK(BM_ProduceRequestDecode)
    ->ArgNames({"partitions", "batch", "value"})
    ->Args({1, 16384, 1000})
    ->Args({16, 16384, 1000})
    ->Args({100, 16384, 1000})
    ->Args({16, 16384, 100})
    ->Args({1, 1 << 20, 1000});

void BM_ProduceRequestEncode(benchmark::State& state) {
  // Client side, for comparison: what a producer's serialisation of the same request costs.
  const int partitions = static_cast<int>(state.range(0));
  std::vector<std::vector<std::byte>> keep;
  kp::produce_request req;
  req.acks = 1;
  req.timeout_ms = 30000;
  auto& t = req.topic_data.emplace_back();
  t.name = "bench-topic";
  for (int p = 0; p < partitions; ++p) {
    keep.push_back(batch_of(16384));
    auto& pd = t.partition_data.emplace_back();
    pd.index = p;
    pd.records = kp::records(keep.back());
  }
  const auto h = header_for(kp::api_key::produce, produce_version);
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto f = kp::encode_request_frame(h, req).value();
    bytes += f.size_bytes();
    benchmark::DoNotOptimize(f);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProduceRequestEncode)->ArgNames({"partitions"})->Arg(1)->Arg(16)->Arg(100);

void BM_ProduceResponseEncode(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  kp::produce_response resp;
  auto& t = resp.responses.emplace_back();
  t.name = "bench-topic";
  for (int p = 0; p < partitions; ++p) {
    auto& pr = t.partition_responses.emplace_back();
    pr.index = p;
    pr.base_offset = 123456789 + p;
    pr.log_start_offset = 0;
  }
  for (auto _ : state) {
    auto f = kp::encode_response_frame(7, produce_version, resp);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProduceResponseEncode)->ArgNames({"partitions"})->Arg(1)->Arg(16)->Arg(100);

// ---- Record batch validation ----------------------------------------------------------------

void BM_ValidateBatch(benchmark::State& state) {
  auto batch = batch_of(static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)));
  for (auto _ : state) {
    auto h = model::validate_batch(batch, 8 << 20);
    if (!h) {
      state.SkipWithError(h.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetItemsProcessed(state.iterations());
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
}
BENCHMARK(BM_ValidateBatch)
    ->ArgNames({"batch", "value"})
    ->Args({1024, 1000})
    ->Args({16384, 1000})
    ->Args({16384, 100})
    ->Args({1 << 20, 1000});

// What the produce path runs per batch: the checks above plus every record parsed (and, for a
// compressed batch, decompressed first).
void BM_ValidateForAppend(benchmark::State& state) {
  auto batch = batch_of(static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)));
  model::validation_policy p;
  p.max_batch_bytes = 8 << 20;
  for (auto _ : state) {
    auto v = model::validate_for_append(batch, p);
    if (!v) {
      state.SkipWithError(v.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
  state.SetItemsProcessed(state.iterations());
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
}
BENCHMARK(BM_ValidateForAppend)
    ->ArgNames({"batch", "value"})
    ->Args({1024, 1000})
    ->Args({16384, 1000})
    ->Args({16384, 100})
    ->Args({1 << 20, 1000});

// ---- Fetch -----------------------------------------------------------------------------------

void BM_FetchRequestDecode(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  kp::fetch_request req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.max_bytes = 52428800;
  auto& t = req.topics.emplace_back();
  t.topic = "bench-topic";
  for (int p = 0; p < partitions; ++p) {
    auto& fp = t.partitions.emplace_back();
    fp.partition = p;
    fp.fetch_offset = 1000000 + p;
    fp.partition_max_bytes = 1 << 20;
  }
  auto payload =
      payload_of(kp::encode_request_frame(header_for(kp::api_key::fetch, fetch_version), req));
  for (auto _ : state) {
    auto r = kp::decode_request(payload);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FetchRequestDecode)->ArgNames({"partitions"})->Arg(1)->Arg(16)->Arg(100);

/// Fetch response encoding with each partition's records either a file range (what the
/// broker sends: no copy) or 16 KiB in memory (copied into the frame).
void BM_FetchResponseEncode(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  const bool from_file = state.range(1) != 0;
  auto batch = batch_of(16384);
  auto keepalive = std::make_shared<int>(0);
  kp::fetch_response resp;
  auto& t = resp.responses.emplace_back();
  t.topic = "bench-topic";
  for (int p = 0; p < partitions; ++p) {
    auto& pd = t.partitions.emplace_back();
    pd.partition_index = p;
    pd.high_watermark = 5000000;
    pd.log_start_offset = 0;
    if (from_file) {
      pd.records.append(kp::file_range{keepalive, 3, uint64_t(p) * batch.size(), batch.size()});
    } else {
      pd.records.append(batch);
    }
  }
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto f = kp::encode_response_frame(7, fetch_version, resp).value();
    bytes += f.size_bytes();
    benchmark::DoNotOptimize(f);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FetchResponseEncode)
    ->ArgNames({"partitions", "file"})
    ->Args({1, 1})
    ->Args({16, 1})
    ->Args({100, 1})
    ->Args({16, 0});

/// A connected loopback TCP pair whose receiving end is drained by a thread.
class drained_socket {
 public:
  drained_socket() {
    int ls = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(ls, 1);
    socklen_t len = sizeof a;
    ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int peer = ::accept(ls, nullptr, nullptr);
    ::close(ls);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    drain_ = std::thread([peer] {
      std::vector<char> buf(1 << 20);
      while (::read(peer, buf.data(), buf.size()) > 0) {
      }
      ::close(peer);
    });
  }
  ~drained_socket() {
    ::shutdown(fd_, SHUT_WR);
    drain_.join();
    ::close(fd_);
  }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] bool ok() const { return ok_ && fd_ >= 0; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::thread drain_;
};

bool write_all(int fd, std::span<const std::byte> b) {
  while (!b.empty()) {
    ssize_t n = ::write(fd, b.data(), b.size());
    if (n <= 0) {
      return false;
    }
    b = b.subspan(static_cast<size_t>(n));
  }
  return true;
}

bool sendfile_all(int out, int in, uint64_t offset, uint64_t length) {
  auto off = static_cast<off_t>(offset);
  while (length > 0) {
    ssize_t n = ::sendfile(out, in, &off, length);
    if (n <= 0) {
      return false;
    }
    length -= static_cast<uint64_t>(n);
  }
  return true;
}

/// The broker's Fetch path for one partition, minus the event loop: read the log from the
/// page cache, encode a Fetch response whose records are file ranges, write the in-memory
/// chunks and sendfile the file ranges to a loopback socket. `copy` = 1 reads the ranges into
/// a buffer and writes that instead (what a copying broker would do).
void BM_FetchToSocket(benchmark::State& state) {
  const auto max_bytes = static_cast<size_t>(state.range(0));
  const bool copy = state.range(1) != 0;
  bench_log bl("fetch");
  auto proto = batch_of(16384);
  constexpr int batches = 8192;  // 128 MiB
  for (int i = 0; i < batches; ++i) {
    auto b = proto;
    if (!bl.log->append(b, model::leader_epoch(0))) {
      state.SkipWithError("append failed");
      return;
    }
  }
  drained_socket sock;
  if (!sock.ok()) {
    state.SkipWithError("no loopback connection");
    return;
  }
  std::vector<std::byte> buf(max_bytes + (1 << 16));
  storage::read_options ro;
  ro.max_bytes = max_bytes;
  model::kafka_offset at(0);
  int64_t bytes = 0;
  for (auto _ : state) {
    if (at.value() >= bl.log->log_end().value()) {
      at = bl.log->log_start();
    }
    auto r = bl.log->read(at, ro);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      break;
    }
    kp::fetch_response resp;
    auto& t = resp.responses.emplace_back();
    t.topic = "bench";
    auto& pd = t.partitions.emplace_back();
    pd.high_watermark = bl.log->log_end().value();
    for (const auto& s : r->slices) {
      if (copy) {
        auto n = s.file->read_at(s.position, std::span(buf).subspan(0, s.length));
        if (!n) {
          state.SkipWithError("read failed");
          break;
        }
        pd.records.append(std::span<const std::byte>(buf).subspan(0, *n));
      } else {
        pd.records.append(kp::file_range{s.file, s.file->native_handle(), s.position, s.length});
      }
    }
    auto f = kp::encode_response_frame(7, fetch_version, resp).value();
    bytes += static_cast<int64_t>(f.size_bytes());
    for (const auto& c : f.chunks()) {
      bool ok = std::holds_alternative<std::vector<std::byte>>(c)
                    ? write_all(sock.fd(), std::get<std::vector<std::byte>>(c))
                    : sendfile_all(sock.fd(), std::get<kp::file_range>(c).fd,
                                   std::get<kp::file_range>(c).offset,
                                   std::get<kp::file_range>(c).length);
      if (!ok) {
        state.SkipWithError("socket write failed");
        break;
      }
    }
    at = model::first_at(r->next);
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FetchToSocket)
    ->ArgNames({"max_bytes", "copy"})
    ->Args({1 << 20, 0})
    ->Args({1 << 20, 1})
    ->Args({64 << 10, 0})
    ->MinTime(2.0)
    ->UseRealTime();

}  // namespace
}  // namespace strom
