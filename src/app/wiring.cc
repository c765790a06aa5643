#include "app/wiring.h"

#include <algorithm>

namespace strom::app {

storage::log_config log_config(const config::log_defaults& d) {
  storage::log_config l;
  l.segment_bytes = static_cast<uint64_t>(d.segment_bytes);
  l.segment_ms = d.segment_ms;
  l.retention_ms = d.retention_ms;
  l.retention_bytes = d.retention_bytes;
  l.index_interval_bytes = static_cast<uint32_t>(d.index_interval_bytes);
  l.max_batch_bytes = static_cast<uint32_t>(d.message_max_bytes);
  l.flush_messages = d.flush_interval_messages;
  l.flush_ms = d.flush_interval_ms;
  return l;
}

storage::log_manager::options storage_options(const config::broker_config& c,
                                              std::shared_ptr<io::file_system> fs) {
  storage::log_manager::options o;
  for (const auto& d : c.node.data_dirs)
    o.data_dirs.emplace_back(d);
  o.fs = std::move(fs);
  o.defaults = log_config(c.cluster_defaults.log);
  o.flush_threads = 1;
  return o;
}

std::chrono::milliseconds housekeeping_interval(const config::broker_config& c) {
  const auto& l = c.cluster_defaults.log;
  int64_t ms = std::min<int64_t>(l.retention_check_interval_ms, 1000);
  if (l.flush_interval_ms)
    ms = std::min(ms, *l.flush_interval_ms);
  return std::chrono::milliseconds(std::max<int64_t>(ms, 10));
}

}  // namespace strom::app
