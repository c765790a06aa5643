#include "strom/kafka/server/quotas.h"

#include <algorithm>

namespace strom::kafka::server {

std::string_view quota_manager::key_of(kind k) {
  switch (k) {
    case kind::produce:
      return cluster::producer_byte_rate;
    case kind::fetch:
      return cluster::consumer_byte_rate;
    case kind::request_time:
      break;
  }
  return cluster::request_percentage;
}

std::chrono::milliseconds quota_manager::record(kind k, const std::string& user,
                                                const std::string& client_id, int64_t amount,
                                                const cluster::security_state& s,
                                                clock::time_point now) {
  if (s.quotas.empty())
    return std::chrono::milliseconds(0);
  auto q = s.quota_for(key_of(k), user, client_id);
  if (!q)
    return std::chrono::milliseconds(0);
  // Per second: bytes, or nanoseconds of run time (100 percent: one thread's every second).
  double limit = k == kind::request_time ? q->value / 100.0 * 1e9 : q->value;
  // The window is shared by what the matching entity covers: one per user for a user's (or the
  // default user's) quota, one per client id for a client's.
  std::string key(k == kind::produce ? "p" : k == kind::fetch ? "f" : "r");
  key += q->entity.user ? "u:" + user : std::string("u*");
  key += '\0';
  key += q->entity.client_id ? "c:" + client_id : std::string("c*");

  std::lock_guard lock(mu_);
  expire(now);
  auto& w = windows_[key];
  w.last_used = now;
  // Samples that started a whole window ago no longer count (a client seen only now and then
  // keeps fewer samples than the window has).
  while (!w.samples.empty() && now - w.samples.front().first >= sample_ * samples_)
    w.samples.pop_front();
  if (w.samples.empty() || now - w.samples.back().first >= sample_)
    w.samples.emplace_back(now, 0.0);
  w.samples.back().second += static_cast<double>(amount);
  while (static_cast<int>(w.samples.size()) > samples_)
    w.samples.pop_front();
  double total = 0;
  for (const auto& [start, b] : w.samples)
    total += b;
  // The rate over the whole window, as if full (a young window does not make a burst look
  // slower than it is, nor faster: Kafka measures over the configured window).
  auto window_ms =
      static_cast<double>(sample_.count()) * (samples_ - 1) +
      std::max(1.0,
               std::chrono::duration<double, std::milli>(now - w.samples.back().first).count());
  double rate = total / (window_ms / 1000.0);
  if (rate <= limit)
    return std::chrono::milliseconds(0);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>((rate - limit) / limit * window_ms));
  return std::min(delay, max_delay);
}

void quota_manager::expire(clock::time_point now) {
  if (now - last_expiry_ < sample_ && windows_.size() < max_entities_)
    return;  // at most once a sample: this walks every window
  last_expiry_ = now;
  auto horizon = sample_ * samples_;
  std::erase_if(windows_, [&](const auto& e) { return now - e.second.last_used > horizon; });
  while (windows_.size() >= max_entities_) {
    auto oldest = std::min_element(
        windows_.begin(), windows_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    windows_.erase(oldest);
  }
}

size_t quota_manager::tracked() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace strom::kafka::server
