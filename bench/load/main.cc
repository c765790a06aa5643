// strom-bench: a Kafka load generator on librdkafka's C API.
//
//   strom-bench produce  -b HOST:PORT -t TOPIC [options]   producers only
//   strom-bench consume  -b HOST:PORT -t TOPIC [options]   consumers only (from the start)
//   strom-bench e2e      -b HOST:PORT -t TOPIC [options]   both; end-to-end latency
//   strom-bench --workload bench/workloads/FILE [options]  a workload file; options override it
//   strom-bench delete   -b HOST:PORT -t TOPIC             delete a topic
//
// Every message carries, in its first 20 bytes, the time it was meant to be sent (ns since the
// epoch), the index of its producer and its sequence number. With a fixed --rate, a producer
// follows a schedule and latencies are measured from the scheduled time, so a stall of the
// broker or the client shows up in the latency instead of silently lowering the rate (no
// coordinated omission). Produce latency: scheduled send to delivery report. End-to-end
// latency: scheduled send to receipt by a consumer.
//
// Consumers either split the partitions among themselves with assign() (the default; no
// group coordinator needed) or join one consumer group (--group).
#include <librdkafka/rdkafka.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "histogram.h"
#include "workload.h"

namespace strom::bench {
namespace {

constexpr size_t header_bytes = 20;  // scheduled time (8), producer (4), sequence (8)
constexpr int64_t ns_per_s = 1'000'000'000;

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * ns_per_s + ts.tv_nsec;
}

void sleep_until_ns(int64_t t) {
  timespec ts{};
  ts.tv_sec = t / ns_per_s;
  ts.tv_nsec = t % ns_per_s;
  while (::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void put_u64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<unsigned char>(v >> (8 * i));
  }
}
uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t{p[i]} << (8 * i);
  }
  return v;
}
void put_u32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<unsigned char>(v >> (8 * i));
  }
}
uint32_t get_u32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= uint32_t{p[i]} << (8 * i);
  }
  return v;
}

struct options {
  std::string mode;
  std::string workload;
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "strom-bench";
  int partitions = 0;
  bool create_topic = false;
  bool delete_topic = false;
  int replication_factor = 1;
  size_t message_size = 1024;
  std::string keys = "none";
  uint64_t key_count = 1000;
  double rate = 0;
  int producers = 1;
  int consumers = 1;
  std::string acks = "1";
  double linger_ms = 1;
  int batch_size = 131072;
  std::string compression = "none";
  double duration = 10;
  double warmup = 2;
  bool idempotence = false;
  bool group = false;
  std::string group_id = "strom-bench";
  std::string from = "earliest";
  double drain_timeout = 15;
  bool check = false;
  std::string json;
  bool quiet = false;
  std::vector<std::string> props;
};

std::string fmt_rate(double v) {
  char buf[64];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}
std::string fmt_us(uint64_t ns) {
  char buf[64];
  double us = static_cast<double>(ns) / 1e3;
  if (us >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1f ms", us / 1e3);
  } else if (us >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.2f ms", us / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f us", us);
  }
  return buf;
}

/// Counts and latencies of one kind of event (acks, receipts). One thread records into a
/// `local` copy and publishes it into the shared one every so often.
struct tally {
  uint64_t msgs = 0;          ///< all events
  uint64_t bytes = 0;         ///< payload bytes of all events
  uint64_t window_msgs = 0;   ///< events inside the measurement window
  uint64_t window_bytes = 0;  ///< their payload bytes
  uint64_t errors = 0;
  int64_t first_event = 0;  ///< time of the first event in the window (0: none)
  int64_t last_event = 0;   ///< time of the last event in the window
  histogram latency;        ///< messages scheduled inside the window

  void add(const tally& o) {
    msgs += o.msgs;
    bytes += o.bytes;
    window_msgs += o.window_msgs;
    window_bytes += o.window_bytes;
    errors += o.errors;
    if (o.first_event != 0 && (first_event == 0 || o.first_event < first_event)) {
      first_event = o.first_event;
    }
    last_event = std::max(last_event, o.last_event);
    latency.merge(o.latency);
  }
  void clear() {
    msgs = bytes = window_msgs = window_bytes = errors = 0;
    first_event = last_event = 0;
    latency.reset();
  }
};

struct shared_tally {
  std::mutex mu;
  tally t;
  void publish(tally& local) {
    std::lock_guard lk(mu);
    t.add(local);
    local.clear();
  }
  tally snapshot() {
    std::lock_guard lk(mu);
    return t;
  }
};

/// Which (producer, sequence) pairs were seen; grows on demand.
struct seen_set {
  std::vector<std::vector<bool>> bits;
  /// Marks one; true when it was new.
  bool mark(uint32_t producer, uint64_t seq) {
    if (producer >= bits.size()) {
      bits.resize(producer + 1);
    }
    auto& b = bits[producer];
    if (seq >= b.size()) {
      b.resize(std::max<uint64_t>(seq + 1, b.size() * 2));
    }
    if (b[seq]) {
      return false;
    }
    b[seq] = true;
    return true;
  }
  [[nodiscard]] bool has(uint32_t producer, uint64_t seq) const {
    return producer < bits.size() && seq < bits[producer].size() && bits[producer][seq];
  }
};

struct run_state {
  options opt;
  int64_t start = 0;         ///< producers' schedule starts here
  int64_t window_begin = 0;  ///< warm-up ends here
  int64_t window_end = 0;    ///< producers stop scheduling here
  std::atomic<bool> stop_consumers{false};
  std::atomic<uint64_t> produced_acked{0};   ///< delivered, all producers (exact at the end)
  std::atomic<uint64_t> consumed_unique{0};  ///< distinct (producer, sequence) received
  std::atomic<int> producers_done{0};
  std::atomic<int> assigned_partitions{0};
  shared_tally produce;
  shared_tally consume;
  std::mutex seen_mu;
  std::vector<seen_set> acked_sets;     ///< per producer thread
  std::vector<seen_set> consumed_sets;  ///< per consumer thread
  std::map<int32_t, int64_t> start_offsets;
  std::map<int32_t, int64_t> end_offsets;  ///< consume mode: stop at these
  std::atomic<bool> fatal{false};
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "strom-bench: %s\n", msg.c_str());
  std::exit(2);
}

void set_conf(rd_kafka_conf_t* c, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(c, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    die("librdkafka property " + k + "=" + v + ": " + err);
  }
}

void log_cb(const rd_kafka_t* /*rk*/, int level, const char* fac, const char* buf) {
  if (level <= 4) {
    std::fprintf(stderr, "librdkafka %s: %s\n", fac, buf);
  }
}

rd_kafka_conf_t* base_conf(const options& o) {
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  set_conf(c, "bootstrap.servers", o.bootstrap);
  set_conf(c, "client.id", "strom-bench");
  rd_kafka_conf_set_log_cb(c, log_cb);
  for (const auto& p : o.props) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      die("-X expects key=value, got " + p);
    }
    set_conf(c, p.substr(0, eq), p.substr(eq + 1));
  }
  return c;
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* c) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, c, err, sizeof err);
  if (rk == nullptr) {
    die(std::string("creating a client: ") + err);
  }
  return rk;
}

// ---- topic setup ----------------------------------------------------------------------------

int partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int n = -1;
  if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      n = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  return n;
}

void create_topic(rd_kafka_t* rk, const options& o) {
  char err[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, o.replication_factor, err, sizeof err);
  if (nt == nullptr) {
    die(std::string("topic: ") + err);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (ev == nullptr) {
    die("CreateTopics timed out");
  }
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    die(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev));
  }
  size_t n = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  for (size_t i = 0; i < n; ++i) {
    auto e = rd_kafka_topic_result_error(res[i]);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      if (!o.quiet) {
        std::fprintf(stderr, "topic %s exists already; using it\n", o.topic.c_str());
      }
    } else if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      die("CreateTopics " + o.topic + ": " + rd_kafka_topic_result_error_string(res[i]));
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
}

void delete_topic(const options& o) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, base_conf(o));
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(o.topic.c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DeleteTopics(rk, &dt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (ev == nullptr) {
    std::fprintf(stderr, "DeleteTopics timed out\n");
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "DeleteTopics: %s\n", rd_kafka_event_error_string(ev));
    }
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_topic_result_error(res[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::fprintf(stderr, "DeleteTopics %s: %s\n", o.topic.c_str(),
                     rd_kafka_topic_result_error_string(res[i]));
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_DeleteTopic_destroy(dt);
  rd_kafka_destroy(rk);
}

/// Creates the topic when asked, waits until its metadata is visible, returns its partition
/// count and the low and high watermarks of every partition.
int prepare_topic(run_state& st, std::map<int32_t, std::pair<int64_t, int64_t>>& marks) {
  const options& o = st.opt;
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, base_conf(o));
  if (o.create_topic) {
    if (o.partitions <= 0) {
      die("--create-topic needs --partitions");
    }
    create_topic(rk, o);
  }
  int n = -1;
  for (int i = 0; i < 100 && n <= 0; ++i) {
    n = partition_count(rk, o.topic, 5000);
    if (n <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (n <= 0) {
    die("topic " + o.topic + " not found (use --create-topic --partitions N)");
  }
  if (o.partitions > 0 && n != o.partitions && !o.quiet) {
    std::fprintf(stderr, "topic %s has %d partitions (asked for %d)\n", o.topic.c_str(), n,
                 o.partitions);
  }
  for (int32_t p = 0; p < n; ++p) {
    int64_t lo = 0;
    int64_t hi = 0;
    // A replicated partition has no leader until its group elected one: wait for it (30 s).
    auto e = rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &lo, &hi, 10000);
    for (int i = 0; i < 300 && e != RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      e = rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &lo, &hi, 10000);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      die("watermarks of partition " + std::to_string(p) + ": " + rd_kafka_err2str(e));
    }
    marks[p] = {lo, hi};
  }
  rd_kafka_destroy(rk);
  return n;
}

// ---- producers ------------------------------------------------------------------------------

struct producer_ctx {
  run_state* st = nullptr;
  uint32_t index = 0;
  tally local;
  seen_set* acked = nullptr;
  int64_t last_publish = 0;  ///< touched by the thread serving delivery reports only
};

void delivery_cb(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
  auto* ctx = static_cast<producer_ctx*>(opaque);
  run_state& st = *ctx->st;
  tally& t = ctx->local;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (t.errors++ == 0) {
      std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
    return;
  }
  const int64_t now = now_ns();
  const auto scheduled = static_cast<int64_t>(reinterpret_cast<uintptr_t>(m->_private));
  t.msgs++;
  t.bytes += m->len;
  if (now >= st.window_begin && now < st.window_end) {
    t.window_msgs++;
    t.window_bytes += m->len;
    if (t.first_event == 0) {
      t.first_event = now;
    }
    t.last_event = now;
  }
  if (scheduled >= st.window_begin && scheduled < st.window_end) {
    t.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now - scheduled)));
  }
  if (ctx->acked != nullptr && m->len >= header_bytes) {
    const auto* p = static_cast<const unsigned char*>(m->payload);
    ctx->acked->mark(get_u32(p + 8), get_u64(p + 12));
  }
  st.produced_acked.fetch_add(1, std::memory_order_relaxed);
}

void publish_if_due(producer_ctx& ctx, int64_t now) {
  if (now - ctx.last_publish >= 50'000'000) {
    ctx.st->produce.publish(ctx.local);
    ctx.last_publish = now;
  }
}

void producer_main(run_state& st, uint32_t index) {
  const options& o = st.opt;
  producer_ctx ctx;
  ctx.st = &st;
  ctx.index = index;
  ctx.acked = o.check ? &st.acked_sets[index] : nullptr;
  rd_kafka_conf_t* c = base_conf(o);
  set_conf(c, "acks", o.acks);
  set_conf(c, "linger.ms", std::to_string(o.linger_ms));
  set_conf(c, "batch.size", std::to_string(o.batch_size));
  set_conf(c, "compression.codec", o.compression);
  set_conf(c, "enable.idempotence", o.idempotence ? "true" : "false");
  rd_kafka_conf_set_dr_msg_cb(c, delivery_cb);
  rd_kafka_conf_set_opaque(c, &ctx);
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, c);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);

  std::vector<unsigned char> payload(o.message_size);
  std::mt19937_64 rng(0x5eed + index);
  for (auto& b : payload) {
    b = static_cast<unsigned char>(rng());
  }
  std::uniform_int_distribution<uint64_t> key_dist(0, o.key_count - 1);
  char key[32];

  const double per_producer = o.rate / o.producers;
  const double interval = per_producer > 0 ? 1e9 / per_producer : 0;
  // Producers start a fraction of an interval apart so their sends interleave.
  const int64_t offset = static_cast<int64_t>(interval * index / o.producers);

  // Delivery reports are served by a thread of their own, so an acknowledgement is timed
  // when it arrives, not when the sending loop next gets round to polling.
  std::atomic<bool> sending{true};
  std::thread poller([&] {
    ctx.last_publish = now_ns();
    while (sending.load(std::memory_order_relaxed)) {
      rd_kafka_poll(rk, 20);
      publish_if_due(ctx, now_ns());
    }
  });

  uint64_t seq = 0;
  while (!st.fatal.load(std::memory_order_relaxed)) {
    int64_t now = now_ns();
    int64_t scheduled = now;
    if (interval > 0) {
      scheduled = st.start + offset + static_cast<int64_t>(static_cast<double>(seq) * interval);
      if (scheduled >= st.window_end) {
        break;
      }
      if (scheduled > now) {
        sleep_until_ns(scheduled);
        continue;
      }
    } else if (now >= st.window_end) {
      break;
    }
    if (o.message_size >= header_bytes) {
      put_u64(payload.data(), static_cast<uint64_t>(scheduled));
      put_u32(payload.data() + 8, index);
      put_u64(payload.data() + 12, seq);
    }
    const char* kp = nullptr;
    size_t klen = 0;
    if (o.keys == "random") {
      klen = static_cast<size_t>(std::snprintf(key, sizeof key, "k%" PRIu64, key_dist(rng)));
      kp = key;
    } else if (o.keys == "sequential") {
      klen = static_cast<size_t>(std::snprintf(key, sizeof key, "k%" PRIu64, seq % o.key_count));
      kp = key;
    }
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload.data(),
                            payload.size(), kp, klen,
                            reinterpret_cast<void*>(static_cast<uintptr_t>(scheduled))) == -1) {
      auto e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        st.fatal = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ++seq;
  }
  sending = false;
  poller.join();
  auto left = rd_kafka_flush(rk, static_cast<int>(o.drain_timeout * 1000));
  if (left != RD_KAFKA_RESP_ERR_NO_ERROR) {
    int n = rd_kafka_outq_len(rk);
    std::fprintf(stderr, "producer %u: %d messages not delivered within %.0f s\n", index, n,
                 o.drain_timeout);
    ctx.local.errors += static_cast<uint64_t>(n);
    // Drop what is left so that destroying the client does not wait for it.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 100);
  }
  st.produce.publish(ctx.local);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  st.producers_done.fetch_add(1);
}

// ---- consumers ------------------------------------------------------------------------------

struct consumer_ctx {
  run_state* st = nullptr;
  int index = 0;
  std::vector<int32_t> partitions;  ///< assign mode
};

rd_kafka_topic_partition_list_t* partitions_with_offsets(run_state& st,
                                                         const std::vector<int32_t>& ps) {
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(ps.size()));
  for (int32_t p : ps) {
    auto* tp = rd_kafka_topic_partition_list_add(list, st.opt.topic.c_str(), p);
    auto it = st.start_offsets.find(p);
    tp->offset = it != st.start_offsets.end() ? it->second : RD_KAFKA_OFFSET_BEGINNING;
  }
  return list;
}

void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  auto* ctx = static_cast<consumer_ctx*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    std::vector<int32_t> ps;
    for (int i = 0; i < parts->cnt; ++i) {
      ps.push_back(parts->elems[i].partition);
    }
    auto* list = partitions_with_offsets(*ctx->st, ps);
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    ctx->st->assigned_partitions.fetch_add(parts->cnt);
  } else {
    ctx->st->assigned_partitions.fetch_sub(parts->cnt);
    rd_kafka_assign(rk, nullptr);
  }
}

void consumer_main(run_state& st, consumer_ctx& ctx, std::atomic<int>& ready) {
  const options& o = st.opt;
  rd_kafka_conf_t* c = base_conf(o);
  set_conf(c, "group.id", o.group_id);
  set_conf(c, "enable.auto.commit", "false");
  set_conf(c, "auto.offset.reset", o.from);
  set_conf(c, "enable.partition.eof", "false");
  rd_kafka_conf_set_opaque(c, &ctx);
  if (o.group) {
    rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
  }
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, c);
  rd_kafka_poll_set_consumer(rk);
  if (o.group) {
    auto* sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto e = rd_kafka_subscribe(rk, sub); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      die(std::string("subscribe: ") + rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(sub);
  } else if (!ctx.partitions.empty()) {
    auto* list = partitions_with_offsets(st, ctx.partitions);
    if (auto e = rd_kafka_assign(rk, list); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      die(std::string("assign: ") + rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(list);
    st.assigned_partitions.fetch_add(static_cast<int>(ctx.partitions.size()));
  }
  ready.fetch_add(1);

  const bool e2e = o.mode == "e2e";
  seen_set* seen = o.check ? &st.consumed_sets[static_cast<size_t>(ctx.index)] : nullptr;
  // consume mode: stop once every assigned partition reached its end offset.
  std::map<int32_t, int64_t> remaining;
  if (o.mode == "consume" && !o.group) {
    for (int32_t p : ctx.partitions) {
      if (st.end_offsets[p] > st.start_offsets[p]) {
        remaining[p] = st.end_offsets[p];
      }
    }
  }
  tally local;
  int64_t last_publish = now_ns();
  uint64_t error_count = 0;
  while (!st.stop_consumers.load(std::memory_order_relaxed)) {
    if (o.mode == "consume" && !o.group && remaining.empty()) {
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    const int64_t now = now_ns();
    if (now - last_publish >= 50'000'000) {
      st.consume.publish(local);
      last_publish = now;
    }
    if (m == nullptr) {
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (error_count++ < 5) {
        std::fprintf(stderr, "consumer %d: %s\n", ctx.index, rd_kafka_message_errstr(m));
      }
      local.errors++;
      rd_kafka_message_destroy(m);
      continue;
    }
    local.msgs++;
    local.bytes += m->len;
    if (now >= st.window_begin && now < st.window_end) {
      local.window_msgs++;
      local.window_bytes += m->len;
      if (local.first_event == 0) {
        local.first_event = now;
      }
      local.last_event = now;
    }
    if (m->len >= header_bytes) {
      const auto* p = static_cast<const unsigned char*>(m->payload);
      const auto scheduled = static_cast<int64_t>(get_u64(p));
      if (e2e && scheduled >= st.window_begin && scheduled < st.window_end) {
        local.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now - scheduled)));
      }
      if (seen != nullptr && seen->mark(get_u32(p + 8), get_u64(p + 12))) {
        st.consumed_unique.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!remaining.empty()) {
      auto it = remaining.find(m->partition);
      if (it != remaining.end() && m->offset + 1 >= it->second) {
        remaining.erase(it);
      }
    }
    rd_kafka_message_destroy(m);
  }
  st.consume.publish(local);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

// ---- reporting ------------------------------------------------------------------------------

struct summary_part {
  std::string name;
  uint64_t msgs = 0;
  uint64_t errors = 0;
  double seconds = 0;
  double msgs_per_s = 0;
  double mb_per_s = 0;
  const histogram* latency = nullptr;
};

summary_part summarize(const std::string& name, const tally& t, const run_state& st,
                       bool have_latency) {
  summary_part s;
  s.name = name;
  s.msgs = t.msgs;
  s.errors = t.errors;
  // The window is the configured one, cut short when the events stopped early (a consumer
  // that reached the end of the log).
  int64_t end = st.window_end;
  if (t.last_event != 0 && t.last_event < end && st.opt.mode == "consume") {
    end = t.last_event;
  }
  int64_t begin = st.window_begin;
  s.seconds = static_cast<double>(std::max<int64_t>(end - begin, 1)) / 1e9;
  s.msgs_per_s = static_cast<double>(t.window_msgs) / s.seconds;
  s.mb_per_s = static_cast<double>(t.window_bytes) / 1e6 / s.seconds;
  s.latency = have_latency && t.latency.count() > 0 ? &t.latency : nullptr;
  return s;
}

const std::vector<std::pair<std::string, double>> percentiles = {
    {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};

void print_summary(const std::vector<summary_part>& parts, const run_state& st) {
  const options& o = st.opt;
  std::printf(
      "\n%s: topic %s, %zu B messages, %s, %d producer(s), %d consumer(s), acks=%s, "
      "linger %.1f ms, batch %d B, compression %s%s\n",
      o.mode.c_str(), o.topic.c_str(), o.message_size,
      o.rate > 0 ? ("rate " + fmt_rate(o.rate) + " msgs/s").c_str() : "unlimited rate", o.producers,
      o.consumers, o.acks.c_str(), o.linger_ms, o.batch_size, o.compression.c_str(),
      o.idempotence ? ", idempotent" : "");
  std::printf("%-10s %12s %12s %10s %10s", "", "msgs", "msgs/s", "MB/s", "errors");
  for (const auto& [n, q] : percentiles) {
    std::printf(" %10s", n.c_str());
  }
  std::printf(" %10s\n", "max");
  for (const auto& s : parts) {
    std::printf("%-10s %12" PRIu64 " %12.0f %10.1f %10" PRIu64, s.name.c_str(), s.msgs,
                s.msgs_per_s, s.mb_per_s, s.errors);
    if (s.latency != nullptr) {
      for (const auto& [n, q] : percentiles) {
        std::printf(" %10s", fmt_us(s.latency->percentile(q)).c_str());
      }
      std::printf(" %10s", fmt_us(s.latency->max()).c_str());
    }
    std::printf("\n");
  }
  std::printf(
      "(latency: produce = scheduled send to ack, e2e = scheduled send to receipt; "
      "MB = 10^6 payload bytes; window %.1f s after %.1f s warm-up)\n",
      parts.empty() ? 0.0 : parts[0].seconds, o.warmup);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

void write_json(const std::vector<summary_part>& parts, const run_state& st,
                const std::string& check, uint64_t missing) {
  const options& o = st.opt;
  std::ostringstream j;
  j.precision(10);
  j << "{\n  \"mode\": \"" << o.mode << "\",\n  \"config\": {\"topic\": \"" << json_escape(o.topic)
    << "\", \"partitions\": " << o.partitions << ", \"message_size\": " << o.message_size
    << ", \"keys\": \"" << o.keys << "\", \"rate\": " << o.rate
    << ", \"producers\": " << o.producers << ", \"consumers\": " << o.consumers << ", \"acks\": \""
    << o.acks << "\", \"linger_ms\": " << o.linger_ms << ", \"batch_size\": " << o.batch_size
    << ", \"compression\": \"" << o.compression << "\", \"duration_s\": " << o.duration
    << ", \"warmup_s\": " << o.warmup << ", \"idempotence\": " << (o.idempotence ? "true" : "false")
    << ", \"group\": " << (o.group ? "true" : "false") << "}";
  for (const auto& s : parts) {
    j << ",\n  \"" << s.name << "\": {\"msgs\": " << s.msgs << ", \"errors\": " << s.errors
      << ", \"seconds\": " << s.seconds << ", \"msgs_per_s\": " << s.msgs_per_s
      << ", \"mb_per_s\": " << s.mb_per_s;
    if (s.latency != nullptr) {
      j << ", \"latency_us\": {";
      for (const auto& [n, q] : percentiles) {
        j << "\"" << n << "\": " << static_cast<double>(s.latency->percentile(q)) / 1e3 << ", ";
      }
      j << "\"max\": " << static_cast<double>(s.latency->max()) / 1e3
        << ", \"mean\": " << s.latency->mean() / 1e3 << ", \"count\": " << s.latency->count()
        << "}";
    }
    j << "}";
  }
  if (!check.empty()) {
    j << ",\n  \"check\": {\"result\": \"" << check << "\", \"missing\": " << missing << "}";
  }
  j << "\n}\n";
  if (o.json == "-") {
    std::cout << j.str();
  } else {
    std::ofstream f(o.json);
    f << j.str();
    if (!f) {
      die("cannot write " + o.json);
    }
  }
}

// ---- command line ---------------------------------------------------------------------------

void add_options(CLI::App& app, options& o) {
  app.add_option("mode,--mode", o.mode, "produce, consume, e2e, or delete (the topic)")
      ->check(CLI::IsMember({"produce", "consume", "e2e", "delete"}));
  app.add_option("-w,--workload", o.workload,
                 "workload file of 'option: value' lines; command-line options override it");
  app.add_option("-b,--bootstrap", o.bootstrap, "bootstrap servers")->capture_default_str();
  app.add_option("-t,--topic", o.topic, "topic")->capture_default_str();
  app.add_option("-p,--partitions", o.partitions,
                 "partitions of the topic to create (with --create-topic)");
  app.add_flag("--create-topic", o.create_topic,
               "create the topic with the admin API (an existing topic is used as it is)");
  app.add_flag("--delete-topic", o.delete_topic,
               "delete the topic with the admin API at the end (frees the broker's disk)");
  app.add_option("--replication-factor", o.replication_factor)->capture_default_str();
  app.add_option("-s,--message-size", o.message_size, "payload bytes per message")
      ->capture_default_str()
      ->check(CLI::Range(1, 64 << 20));
  app.add_option("--keys", o.keys, "message keys: none, random or sequential")
      ->check(CLI::IsMember({"none", "random", "sequential"}))
      ->capture_default_str();
  app.add_option("--key-count", o.key_count, "distinct keys for random and sequential keys")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("-r,--rate", o.rate,
                 "messages/s over all producers, on a fixed schedule; 0 = as fast as possible")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("-P,--producers", o.producers, "producer clients (one thread each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("-C,--consumers", o.consumers, "consumer clients (one thread each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("-a,--acks", o.acks, "0, 1 or all")
      ->check(CLI::IsMember({"0", "1", "all", "-1"}))
      ->capture_default_str();
  app.add_option("--linger-ms", o.linger_ms, "producer linger.ms")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "producer batch.size in bytes")
      ->capture_default_str();
  app.add_option("--compression", o.compression, "none, gzip, snappy, lz4 or zstd")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}))
      ->capture_default_str();
  app.add_option("-d,--duration", o.duration, "measured seconds (after the warm-up)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "seconds before measuring")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--idempotence", o.idempotence, "idempotent producers");
  app.add_flag("--group", o.group,
               "consumers join one consumer group (default: partitions split with assign())");
  app.add_option("--group-id", o.group_id)->capture_default_str();
  app.add_option("--from", o.from, "consume mode: start at the earliest or latest offsets")
      ->check(CLI::IsMember({"earliest", "latest"}))
      ->capture_default_str();
  app.add_option("--drain-timeout", o.drain_timeout,
                 "seconds to wait for outstanding deliveries and receipts at the end")
      ->capture_default_str();
  app.add_flag("--check", o.check,
               "e2e: exit 1 unless every acknowledged message was consumed and nothing failed");
  app.add_option("--json", o.json, "write the summary as JSON to this file ('-': stdout)");
  app.add_flag("-q,--quiet", o.quiet, "no progress lines");
  app.add_option("-X", o.props, "librdkafka property key=value for every client (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
}

/// Turns a workload file into command-line arguments placed before the real ones, so that
/// the command line wins. Unknown keys are errors naming the file and line.
std::vector<std::string> workload_args(CLI::App& app, const std::string& path) {
  std::vector<std::string> out;
  for (const auto& e : load_workload(path)) {
    if (e.key == "workload") {
      throw std::runtime_error(path + ":" + std::to_string(e.line) + ": nested workload");
    }
    const std::string name = e.key == "mode" ? "--mode" : "--" + e.key;
    auto* opt = app.get_option_no_throw(name);
    if (opt == nullptr) {
      throw std::runtime_error(path + ":" + std::to_string(e.line) + ": unknown option '" + e.key +
                               "'");
    }
    if (opt->get_expected_min() == 0) {  // a flag
      if (e.value == "true" || e.value == "yes" || e.value == "1" || e.value.empty()) {
        out.push_back(name);
      } else if (e.value != "false" && e.value != "no" && e.value != "0") {
        throw std::runtime_error(path + ":" + std::to_string(e.line) + ": '" + e.key +
                                 "' takes true or false");
      }
    } else {
      out.push_back(name + "=" + e.value);
    }
  }
  return out;
}

}  // namespace

int run(int argc, char** argv) {
  run_state st;
  options& o = st.opt;
  CLI::App app("strom-bench: Kafka load generator (librdkafka)", "strom-bench");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_options(app, o);

  std::vector<std::string> args(argv + 1, argv + argc);
  // Find --workload / -w before parsing, so the file's values go in first.
  std::string wl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--workload" || a == "-w") && i + 1 < args.size()) {
      wl = args[i + 1];
    } else if (a.rfind("--workload=", 0) == 0) {
      wl = a.substr(11);
    }
  }
  if (!wl.empty()) {
    try {
      auto pre = workload_args(app, wl);
      args.insert(args.begin(), pre.begin(), pre.end());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "strom-bench: %s\n", e.what());
      return 2;
    }
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (o.mode.empty()) {
    std::fprintf(stderr, "strom-bench: a mode is needed: produce, consume or e2e\n");
    return 2;
  }
  if (o.mode == "delete") {
    delete_topic(o);
    return 0;
  }
  if (o.acks == "-1") {
    o.acks = "all";
  }
  if ((o.mode == "e2e" || o.check) && o.message_size < header_bytes) {
    die("e2e latency and --check need messages of at least 20 bytes");
  }
  if (o.idempotence && o.acks != "all") {
    die("--idempotence needs --acks all");
  }
  if (o.check && o.mode != "e2e") {
    die("--check works in e2e mode");
  }

  std::map<int32_t, std::pair<int64_t, int64_t>> marks;
  const int partitions = prepare_topic(st, marks);
  for (const auto& [p, lohi] : marks) {
    st.start_offsets[p] = (o.mode == "consume" && o.from == "earliest") ? lohi.first : lohi.second;
    st.end_offsets[p] = lohi.second;
  }
  o.partitions = partitions;
  const bool run_producers = o.mode != "consume";
  const bool run_consumers = o.mode != "produce";
  st.acked_sets.resize(static_cast<size_t>(o.producers));
  st.consumed_sets.resize(static_cast<size_t>(o.consumers));

  uint64_t consume_target = 0;
  if (o.mode == "consume") {
    for (const auto& [p, off] : st.start_offsets) {
      consume_target += static_cast<uint64_t>(st.end_offsets[p] - off);
    }
    if (consume_target == 0 && o.from == "earliest") {
      die("topic " + o.topic + " is empty: nothing to consume");
    }
  }

  // Consumers first (e2e: they must be in place before the first message goes out).
  std::vector<std::unique_ptr<consumer_ctx>> cctx;
  std::vector<std::thread> consumers;
  std::atomic<int> ready{0};
  if (run_consumers) {
    // The window of a consume run starts when the consumers do.
    st.start = now_ns();
    st.window_begin = st.start + static_cast<int64_t>(o.warmup * 1e9);
    st.window_end = st.window_begin + static_cast<int64_t>(o.duration * 1e9);
    for (int i = 0; i < o.consumers; ++i) {
      auto c = std::make_unique<consumer_ctx>();
      c->st = &st;
      c->index = i;
      for (int32_t p = i; p < partitions; p += o.consumers) {
        c->partitions.push_back(p);
      }
      cctx.push_back(std::move(c));
    }
    for (auto& c : cctx) {
      consumers.emplace_back([&st, &c, &ready] { consumer_main(st, *c, ready); });
    }
    while (ready.load() < o.consumers) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (o.group && o.mode == "e2e") {
      const int64_t deadline = now_ns() + 30 * ns_per_s;
      while (st.assigned_partitions.load() < partitions && now_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (st.assigned_partitions.load() < partitions) {
        st.stop_consumers = true;
        for (auto& t : consumers) {
          t.join();
        }
        die("the consumer group got " + std::to_string(st.assigned_partitions.load()) + " of " +
            std::to_string(partitions) +
            " partitions within 30 s (does the broker serve "
            "consumer groups? without --group, consumers use assign())");
      }
    }
  }

  std::vector<std::thread> producers;
  if (run_producers) {
    st.start = now_ns() + 50'000'000;  // let every producer connect before its schedule begins
    st.window_begin = st.start + static_cast<int64_t>(o.warmup * 1e9);
    st.window_end = st.window_begin + static_cast<int64_t>(o.duration * 1e9);
    for (int i = 0; i < o.producers; ++i) {
      producers.emplace_back([&st, i] { producer_main(st, static_cast<uint32_t>(i)); });
    }
  }

  // Progress once a second until the producers are done (or, consuming only, until the
  // consumers reached the end or the window closed).
  uint64_t last_p = 0;
  uint64_t last_pb = 0;
  uint64_t last_c = 0;
  uint64_t last_cb = 0;
  int64_t last_t = now_ns();
  int64_t next = st.start + ns_per_s;
  int64_t drain_deadline = 0;
  uint64_t last_unique = 0;
  while (true) {
    const int64_t now = now_ns();
    bool done = false;
    if (run_producers) {
      done = st.producers_done.load() == o.producers;
    } else {
      done = now >= st.window_end || st.consume.snapshot().msgs >= consume_target ||
             st.stop_consumers.load();
    }
    if (done && o.mode == "e2e") {
      // Wait for the consumers to catch up with everything acknowledged.
      const uint64_t acked = st.produced_acked.load();
      const uint64_t got = o.check ? st.consumed_unique.load() : st.consume.snapshot().msgs;
      if (got >= acked) {
        break;
      }
      if (drain_deadline == 0 || got != last_unique) {
        drain_deadline = now + static_cast<int64_t>(o.drain_timeout * 1e9);
        last_unique = got;
      }
      if (now >= drain_deadline) {
        std::fprintf(stderr, "consumers stalled at %" PRIu64 " of %" PRIu64 " messages\n", got,
                     acked);
        break;
      }
    } else if (done) {
      break;
    }
    if (now >= next) {
      auto p = st.produce.snapshot();
      auto c = st.consume.snapshot();
      const double dt = static_cast<double>(now - last_t) / 1e9;
      if (!o.quiet) {
        std::string line = "[" + std::to_string((now - st.start + ns_per_s / 2) / ns_per_s) + "s]";
        char buf[256];
        if (run_producers) {
          std::snprintf(buf, sizeof buf, " produced %s msgs/s %.1f MB/s",
                        fmt_rate(static_cast<double>(p.msgs - last_p) / dt).c_str(),
                        static_cast<double>(p.bytes - last_pb) / 1e6 / dt);
          line += buf;
          if (p.latency.count() > 0) {
            line += " p50 " + fmt_us(p.latency.percentile(50)) + " p99 " +
                    fmt_us(p.latency.percentile(99));
          }
        }
        if (run_consumers) {
          std::snprintf(buf, sizeof buf, "%s consumed %s msgs/s %.1f MB/s",
                        run_producers ? " |" : "",
                        fmt_rate(static_cast<double>(c.msgs - last_c) / dt).c_str(),
                        static_cast<double>(c.bytes - last_cb) / 1e6 / dt);
          line += buf;
          if (c.latency.count() > 0) {
            line += " e2e p50 " + fmt_us(c.latency.percentile(50)) + " p99 " +
                    fmt_us(c.latency.percentile(99));
          }
        }
        if (now < st.window_begin) {
          line += " (warm-up)";
        }
        std::fprintf(stderr, "%s\n", line.c_str());
      }
      last_p = p.msgs;
      last_pb = p.bytes;
      last_c = c.msgs;
      last_cb = c.bytes;
      last_t = now;
      next += ns_per_s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& t : producers) {
    t.join();
  }
  st.stop_consumers = true;
  for (auto& t : consumers) {
    t.join();
  }

  std::vector<summary_part> parts;
  tally pt = st.produce.snapshot();
  tally ct = st.consume.snapshot();
  if (run_producers) {
    parts.push_back(summarize("produce", pt, st, true));
  }
  if (run_consumers) {
    parts.push_back(summarize(o.mode == "e2e" ? "e2e" : "consume", ct, st, o.mode == "e2e"));
  }
  int rc = 0;
  std::string check;
  uint64_t missing = 0;
  if (o.check) {
    uint64_t acked = 0;
    for (const auto& set : st.acked_sets) {
      const auto& bits = set.bits;
      for (size_t q = 0; q < bits.size(); ++q) {
        for (size_t s = 0; s < bits[q].size(); ++s) {
          if (!bits[q][s]) {
            continue;
          }
          ++acked;
          bool found = false;
          for (const auto& cs : st.consumed_sets) {
            found = found || cs.has(static_cast<uint32_t>(q), s);
          }
          if (!found) {
            ++missing;
          }
        }
      }
    }
    const bool ok = missing == 0 && pt.errors == 0 && acked > 0 && acked == pt.msgs;
    check = ok ? "ok" : "failed";
    std::printf("check: %" PRIu64 " messages acknowledged, %" PRIu64 " distinct consumed, %" PRIu64
                " missing, %" PRIu64 " delivery errors: %s\n",
                acked, st.consumed_unique.load(), missing, pt.errors, check.c_str());
    if (!ok) {
      rc = 1;
    }
  }
  print_summary(parts, st);
  if (!o.json.empty()) {
    write_json(parts, st, check, missing);
  }
  if (o.delete_topic) {
    delete_topic(o);
  }
  if (st.fatal) {
    rc = 1;
  }
  return rc;
}

}  // namespace strom::bench

int main(int argc, char** argv) {
  return strom::bench::run(argc, argv);
}
