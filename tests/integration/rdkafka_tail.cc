// rdkafka_tail: reads one partition from its beginning with librdkafka's C API (a consumer
// with a manual assignment), printing "offset value" for each message on standard output,
// until it has `count` messages or `timeout_s` seconds passed.
//
//   rdkafka_tail BOOTSTRAP TOPIC PARTITION COUNT TIMEOUT_S
//
// Exit status: 0 with `count` messages, no consumer error and a fetch size that never grew
// (librdkafka doubles it when a fetch answer holds no whole batch); 1 on a timeout; 2 after a
// consumer error; 3 when the fetch size grew. Errors and a summary go to standard error.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::atomic<int> fetch_size_grew{0};
std::atomic<int> fetch_lines{0};  // the debug context was on: the count above means something

void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (std::strcmp(fac, "FETCH") == 0)
    ++fetch_lines;
  if (std::strstr(buf, "Increasing max fetch bytes") != nullptr)
    ++fetch_size_grew;
  if (level <= 3)
    std::fprintf(stderr, "librdkafka %s: %s\n", fac, buf);
}

bool set(rd_kafka_conf_t* c, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(c, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "%s: %s\n", key, err);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC PARTITION COUNT TIMEOUT_S\n", argv[0]);
    return 64;
  }
  const std::string topic = argv[2];
  const int partition = std::atoi(argv[3]);
  const long count = std::atol(argv[4]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atol(argv[5]));

  auto* conf = rd_kafka_conf_new();
  // The "fetch" debug context is where librdkafka reports a fetch size it grows.
  if (!set(conf, "bootstrap.servers", argv[1]) || !set(conf, "group.id", "rdkafka-tail") ||
      !set(conf, "enable.auto.commit", "false") || !set(conf, "debug", "fetch") ||
      !set(conf, "topic.metadata.refresh.interval.ms", "1000")) {
    return 64;
  }
  rd_kafka_conf_set_log_cb(conf, on_log);
  char err[512];
  auto* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 64;
  }
  auto* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);

  long got = 0;
  int errors = 0;
  while (got < count && std::chrono::steady_clock::now() < deadline) {
    auto* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::printf("%lld %.*s\n", static_cast<long long>(m->offset), static_cast<int>(m->len),
                  static_cast<const char*>(m->payload));
      ++got;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::fprintf(stderr, "consumer error at offset %lld: %s\n", static_cast<long long>(m->offset),
                   rd_kafka_message_errstr(m));
      ++errors;
    }
    rd_kafka_message_destroy(m);
  }
  std::fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  std::fprintf(stderr,
               "rdkafka_tail: %ld message(s), %d consumer error(s), fetch size grew %d time(s) "
               "in %d fetch log line(s)\n",
               got, errors, fetch_size_grew.load(), fetch_lines.load());
  if (errors > 0)
    return 2;
  if (fetch_size_grew.load() > 0)
    return 3;
  return got < count ? 1 : 0;
}
