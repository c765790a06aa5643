// nats-js-bench: measures NATS JetStream on a local server for comparison with Strom. It
// (re)creates a file-backed stream of one replica, publishes --count messages of --size bytes
// with asynchronous publishes (at most --max-pending unacknowledged), waits for every PubAck,
// checks the stream holds them all, then reads them back with a pull consumer (no acks,
// batches of 1000). Prints `name value` lines.
#include <nats/nats.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

namespace {

constexpr const char* stream_name = "STROMBENCH";
constexpr const char* subject = "strombench.data";

std::atomic<uint64_t> publish_errors{0};

void on_pub_error(jsCtx* /*js*/, jsPubAckErr* /*pae*/, void* /*closure*/) {
  ++publish_errors;
}

int fail(const char* what, natsStatus s) {
  std::fprintf(stderr, "nats-js-bench: %s: %s\n", what, natsStatus_GetText(s));
  return 1;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "nats://127.0.0.1:4222";
  int size = 1024;
  int64_t count = 100000;
  int64_t max_pending = 4096;
  CLI::App app("NATS JetStream async publish and pull-consume benchmark");
  app.add_option("--url", url)->capture_default_str();
  app.add_option("--size", size, "payload bytes")->check(CLI::Range(1, 1 << 20));
  app.add_option("--count", count, "messages")->check(CLI::Range(int64_t{1}, int64_t{1} << 32));
  app.add_option("--max-pending", max_pending, "unacknowledged publishes in flight")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  CLI11_PARSE(app, argc, argv);

  natsConnection* nc = nullptr;
  if (natsStatus s = natsConnection_ConnectTo(&nc, url.c_str()); s != NATS_OK) {
    return fail("connect", s);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = max_pending;
  jo.PublishAsync.ErrHandler = on_pub_error;
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_JetStream(&js, nc, &jo); s != NATS_OK) {
    return fail("jetstream context", s);
  }
  (void)js_DeleteStream(js, stream_name, nullptr, nullptr);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = stream_name;
  const char* subjects[] = {subject};
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  sc.Replicas = 1;
  jsStreamInfo* si = nullptr;
  if (natsStatus s = js_AddStream(&si, js, &sc, nullptr, nullptr); s != NATS_OK) {
    return fail("add stream", s);
  }
  jsStreamInfo_Destroy(si);

  std::vector<char> payload(static_cast<size_t>(size), 'n');
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < count; ++i) {
    if (natsStatus s = js_PublishAsync(js, subject, payload.data(), size, nullptr); s != NATS_OK) {
      return fail("publish", s);
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 120000;
  if (natsStatus s = js_PublishAsyncComplete(js, &po); s != NATS_OK) {
    return fail("waiting for acknowledgements", s);
  }
  const double pub_s = seconds_since(t0);

  si = nullptr;
  if (natsStatus s = js_GetStreamInfo(&si, js, stream_name, nullptr, nullptr); s != NATS_OK) {
    return fail("stream info", s);
  }
  const auto stored = static_cast<int64_t>(si->State.Msgs);
  jsStreamInfo_Destroy(si);

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Config.AckPolicy = js_AckNone;
  so.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  if (natsStatus s = js_PullSubscribe(&sub, js, subject, "bench", nullptr, &so, nullptr);
      s != NATS_OK) {
    return fail("pull subscribe", s);
  }
  int64_t got = 0;
  auto t1 = std::chrono::steady_clock::now();
  while (got < stored) {
    natsMsgList list{};
    natsStatus s = natsSubscription_Fetch(&list, sub, 1000, 5000, nullptr);
    if (s == NATS_TIMEOUT) {
      break;
    }
    if (s != NATS_OK) {
      return fail("fetch", s);
    }
    got += list.Count;
    natsMsgList_Destroy(&list);
  }
  const double con_s = seconds_since(t1);
  natsSubscription_Destroy(sub);
  (void)js_DeleteStream(js, stream_name, nullptr, nullptr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();

  std::printf("published %" PRId64 "\n", count);
  std::printf("stored %" PRId64 "\n", stored);
  std::printf("publish_errors %" PRIu64 "\n", publish_errors.load());
  std::printf("publish_msgs_per_s %.0f\n", static_cast<double>(count) / pub_s);
  std::printf("publish_mb_per_s %.1f\n", static_cast<double>(count) * size / 1e6 / pub_s);
  std::printf("consumed %" PRId64 "\n", got);
  std::printf("consume_msgs_per_s %.0f\n", static_cast<double>(got) / con_s);
  return stored == count && got == stored && publish_errors == 0 ? 0 : 1;
}
