#include "strom/metrics/metrics.h"

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>

namespace strom::metrics {

namespace {

prometheus::Histogram::BucketBoundaries latency_buckets() {
  // 50 µs to ~100 s, doubling.
  prometheus::Histogram::BucketBoundaries b;
  for (double v = 50e-6; v < 120; v *= 2)
    b.push_back(v);
  return b;
}

/// Slots 0..127 are API keys; the last one is every other key.
constexpr size_t unknown_api_slot = 128;

}  // namespace

struct registry::state {
  prometheus::Registry prom;
  prometheus::Family<prometheus::Counter>& requests = prometheus::BuildCounter()
                                                          .Name("strom_kafka_requests_total")
                                                          .Help("Kafka requests received, by API")
                                                          .Register(prom);
  prometheus::Family<prometheus::Counter>& errors =
      prometheus::BuildCounter()
          .Name("strom_kafka_request_errors_total")
          .Help("Kafka requests that failed to decode, were not served, or closed the connection")
          .Register(prom);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("strom_kafka_request_latency_seconds")
          .Help("Time from a request's arrival to its response, by API")
          .Register(prom);
  prometheus::Family<prometheus::Counter>& bytes_in =
      prometheus::BuildCounter()
          .Name("strom_kafka_bytes_in_total")
          .Help("Record batch bytes appended by producers, by topic")
          .Register(prom);
  prometheus::Family<prometheus::Counter>& records_in =
      prometheus::BuildCounter()
          .Name("strom_kafka_records_in_total")
          .Help("Records appended by producers, by topic")
          .Register(prom);
  prometheus::Family<prometheus::Counter>& bytes_out =
      prometheus::BuildCounter()
          .Name("strom_kafka_bytes_out_total")
          .Help("Record batch bytes sent to consumers, by topic")
          .Register(prom);
  prometheus::Family<prometheus::Counter>& records_out =
      prometheus::BuildCounter()
          .Name("strom_kafka_records_out_total")
          .Help("Offsets sent to consumers, by topic")
          .Register(prom);
  prometheus::Histogram& flush =
      prometheus::BuildHistogram()
          .Name("strom_storage_flush_latency_seconds")
          .Help("Time from asking for a log flush (fsync) to its completion")
          .Register(prom)
          .Add({}, latency_buckets());
  prometheus::Histogram& commit =
      prometheus::BuildHistogram()
          .Name("strom_replication_commit_latency_seconds")
          .Help(
              "Leader of a replicated partition: time from appending an entry to its commit "
              "(held, and flushed unless write caching, on a majority)")
          .Register(prom)
          .Add({}, latency_buckets());
  prometheus::Counter& rebalances = prometheus::BuildCounter()
                                        .Name("strom_group_rebalances_total")
                                        .Help("Consumer-group generations formed")
                                        .Register(prom)
                                        .Add({});
  prometheus::Family<prometheus::Counter>& auth_family =
      prometheus::BuildCounter()
          .Name("strom_sasl_authentications_total")
          .Help("SASL authentications on the Kafka listeners, by result")
          .Register(prom);
  prometheus::Counter& auth_ok = auth_family.Add({{"result", "success"}});
  prometheus::Counter& auth_failed = auth_family.Add({{"result", "failure"}});

  std::mutex mu;  // guards owned_apis and topics
  std::array<std::atomic<api_metrics*>, 129> apis{};
  std::array<std::unique_ptr<api_metrics>, 129> owned_apis;
  std::map<std::string, std::weak_ptr<topic_metrics>, std::less<>> topics;

  /// Removes a topic's series when its last handle goes, unless a newer handle for the same
  /// name took the entry meanwhile (the topic was re-created): then both share the series.
  void drop_topic_series(const std::string& name, topic_metrics* m) {
    {
      std::lock_guard lock(mu);
      auto it = topics.find(name);
      if (it != topics.end() && it->second.expired()) {
        topics.erase(it);
        bytes_in.Remove(m->bytes_in);
        records_in.Remove(m->records_in);
        bytes_out.Remove(m->bytes_out);
        records_out.Remove(m->records_out);
      }
    }
    delete m;
  }
};

registry::registry() : state_(std::make_shared<state>()) {}

registry::~registry() = default;

prometheus::Registry& registry::prometheus() {
  return state_->prom;
}

api_metrics& registry::api(int16_t key, std::string_view name) {
  auto& s = *state_;
  auto slot = key >= 0 && key < 128 ? static_cast<size_t>(key) : unknown_api_slot;
  if (slot == unknown_api_slot)
    name = "Unknown";  // as the protocol names keys it does not know
  if (auto* m = s.apis[slot].load(std::memory_order_acquire))
    return *m;
  std::lock_guard lock(s.mu);
  if (auto* m = s.apis[slot].load(std::memory_order_relaxed))
    return *m;
  prometheus::Labels l{{"api", std::string(name)}};
  s.owned_apis[slot] = std::make_unique<api_metrics>(
      api_metrics{&s.requests.Add(l), &s.errors.Add(l), &s.latency.Add(l, latency_buckets())});
  s.apis[slot].store(s.owned_apis[slot].get(), std::memory_order_release);
  return *s.owned_apis[slot];
}

std::shared_ptr<topic_metrics> registry::topic(const std::string& name) {
  auto& s = *state_;
  std::lock_guard lock(s.mu);
  auto& slot = s.topics[name];
  if (auto m = slot.lock())
    return m;
  prometheus::Labels l{{"topic", name}};
  std::shared_ptr<topic_metrics> m(
      new topic_metrics{&s.bytes_in.Add(l), &s.records_in.Add(l), &s.bytes_out.Add(l),
                        &s.records_out.Add(l)},
      [name, keep = state_](topic_metrics* p) { keep->drop_topic_series(name, p); });
  slot = m;
  return m;
}

size_t registry::topic_series_count() const {
  std::lock_guard lock(state_->mu);
  return state_->topics.size();
}

prometheus::Histogram& registry::flush_latency() {
  return state_->flush;
}

prometheus::Histogram& registry::commit_latency() {
  return state_->commit;
}

prometheus::Counter& registry::rebalances() {
  return state_->rebalances;
}

prometheus::Counter& registry::authentications(bool success) {
  return success ? state_->auth_ok : state_->auth_failed;
}

registry& default_registry() {
  static registry r;
  return r;
}

}  // namespace strom::metrics
