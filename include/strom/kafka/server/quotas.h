#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "strom/cluster/security_state.h"

namespace strom::kafka::server {

/// Enforces the client quotas of one broker, as Kafka does: the byte rates
/// (producer_byte_rate, consumer_byte_rate: bytes per second) and the request time
/// (request_percentage: the time a client's requests ran, as a percentage of one thread's
/// time). What each quota entity used is summed over a sliding window of `samples` samples of
/// `sample` each; a response that takes the rate over the quota is delayed by the time the
/// client would have had to wait to stay within it, (rate - quota) / quota * window, and says
/// so in throttle_time_ms. A quota of a user (or a default user) is shared by that user's
/// connections, over all shards. Thread-safe (one mutex, taken only while some quota exists).
/// Windows not touched for a whole window are dropped, and at most `max_entities` are kept
/// (the least recently used goes first).
class quota_manager {
 public:
  /// produce and fetch count bytes; request_time counts nanoseconds of run time.
  enum class kind { produce, fetch, request_time };
  using clock = std::chrono::steady_clock;

  explicit quota_manager(std::chrono::milliseconds sample = std::chrono::seconds(1),
                         int samples = 11, size_t max_entities = 100000)
      : sample_(sample), samples_(samples), max_entities_(max_entities) {}

  /// Counts `amount` (bytes, or nanoseconds for request_time) used by `user` (the name of an
  /// authenticated principal, "ANONYMOUS" otherwise) connecting as `client_id`, under the
  /// quotas of `s`; returns how long to delay the response (zero without a quota or within
  /// it), at most max_delay.
  std::chrono::milliseconds record(kind k, const std::string& user, const std::string& client_id,
                                   int64_t amount, const cluster::security_state& s,
                                   clock::time_point now = clock::now());

  /// The quota key of `k`.
  static std::string_view key_of(kind k);

  /// The longest delay of one response.
  static constexpr std::chrono::milliseconds max_delay{10000};

  [[nodiscard]] size_t tracked() const;

  /// Whether some request_percentage quota exists, as the last response that looked found
  /// (request_context::request_time_throttle() tells). Until one does, requests run on the
  /// shard's plain executor, their run time not measured. Thread-safe.
  [[nodiscard]] bool timing_requests() const {
    return timing_requests_.load(std::memory_order_relaxed);
  }
  void set_timing_requests(bool on) {
    if (timing_requests_.load(std::memory_order_relaxed) != on)
      timing_requests_.store(on, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> timing_requests_{false};
  struct window {
    /// Per sample: its start and what was used in it.
    std::deque<std::pair<clock::time_point, double>> samples;
    clock::time_point last_used;
  };
  void expire(clock::time_point now);
  clock::time_point last_expiry_{};

  std::chrono::milliseconds sample_;
  int samples_;
  size_t max_entities_;
  mutable std::mutex mu_;  // guards windows_
  std::unordered_map<std::string, window> windows_;
};

}  // namespace strom::kafka::server
