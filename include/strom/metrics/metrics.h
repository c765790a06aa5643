#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace strom::metrics {

/// Kafka requests of one API (`strom_kafka_requests_total`, `..._errors_total`,
/// `strom_kafka_request_latency_seconds`).
struct api_metrics {
  prometheus::Counter* requests;
  prometheus::Counter* errors;
  prometheus::Histogram* latency;
};

/// Traffic of one topic (`strom_kafka_{bytes,records}_{in,out}_total`).
struct topic_metrics {
  prometheus::Counter* bytes_in;
  prometheus::Counter* records_in;
  prometheus::Counter* bytes_out;
  prometheus::Counter* records_out;
};

/// One broker's counters and histograms updated on the hot paths, in a prometheus-cpp
/// registry of its own: each broker owns one and hands it to the modules that count (the
/// Kafka handler, partitions, groups), so two brokers in one process never share a series
/// and each one's `/metrics` shows only its own. Metric objects are created once and
/// cached; updating them is an atomic add, safe from any thread; every method is
/// thread-safe. Gauges that describe state (partitions, log sizes, groups) are computed when
/// scraped, by the admin module, not kept here.
class registry {
 public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// The prometheus-cpp registry to collect (scrape).
  prometheus::Registry& prometheus();

  /// The metrics of API `key`, labelled `name` the first time. Keys outside 0..127 (no Kafka
  /// API has one) share one series labelled "Unknown", whatever `name` says, so a client
  /// cannot create series or borrow another API's.
  api_metrics& api(int16_t key, std::string_view name);

  /// The series of topic `name`, created on first use. They live while a handle does: each
  /// partition of an existing topic holds one, so the series of a deleted topic are removed
  /// with its last partition, and a name nobody created never gets any. A handle may outlive
  /// the registry (it keeps what it points to alive).
  std::shared_ptr<topic_metrics> topic(const std::string& name);
  /// Topics that have series now (tests, monitoring of the registry itself).
  [[nodiscard]] size_t topic_series_count() const;

  /// Time from asking for a flush to its completion (`strom_storage_flush_latency_seconds`).
  prometheus::Histogram& flush_latency();
  /// Leader of a replicated partition: time from appending an entry to its commit
  /// (`strom_replication_commit_latency_seconds`).
  prometheus::Histogram& commit_latency();
  /// Completed rebalances (`strom_group_rebalances_total`).
  prometheus::Counter& rebalances();
  /// SASL authentications that succeeded or failed (`strom_sasl_authentications_total`).
  prometheus::Counter& authentications(bool success);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

/// A process-wide registry for components built without a broker (unit tests, tools). A
/// broker never uses it: it injects its own.
registry& default_registry();

}  // namespace strom::metrics
