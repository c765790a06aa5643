#include "strom/config/broker_config.h"

#include "config/binding.h"
#include "strom/base/assert.h"

namespace strom::config {

std::string_view to_string(mode v) {
  return detail::enum_name(detail::mode_values, static_cast<int>(v));
}
std::string_view to_string(security_protocol v) {
  return detail::enum_name(detail::security_protocol_values, static_cast<int>(v));
}
std::string_view to_string(tls_client_auth v) {
  return detail::enum_name(detail::tls_client_auth_values, static_cast<int>(v));
}
std::string_view to_string(cleanup_policy v) {
  return detail::enum_name(detail::cleanup_policy_values, static_cast<int>(v));
}
std::string_view to_string(compression_type v) {
  return detail::enum_name(detail::compression_type_values, static_cast<int>(v));
}
std::string_view to_string(timestamp_type v) {
  return detail::enum_name(detail::timestamp_type_values, static_cast<int>(v));
}
std::string_view to_string(log_level v) {
  return detail::enum_name(detail::log_level_values, static_cast<int>(v));
}
std::string_view to_string(log_format v) {
  return detail::enum_name(detail::log_format_values, static_cast<int>(v));
}

const listener_config& broker_config::inter_broker() const {
  STROM_ASSERT(!listeners.empty(), "a broker_config has at least one listener");
  if (inter_broker_listener) {
    for (const auto& l : listeners) {
      if (l.name == *inter_broker_listener) {
        return l;
      }
    }
  }
  return listeners.front();
}

broker_config default_config(mode m) {
  broker_config c;
  c.mode = m;
  if (m == mode::dev) {
    c.cluster_defaults.topics.auto_create = true;
    c.cluster_defaults.topics.default_replication_factor = 1;
    c.cluster_defaults.topics.min_insync_replicas = 1;
    c.cluster_defaults.groups.initial_rebalance_delay_ms = 0;
    c.cluster_defaults.groups.offsets_topic_replication_factor = 1;
  }
  return c;
}

namespace {
spdlog::level::level_enum to_spdlog(log_level l) {
  switch (l) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::critical:
      return spdlog::level::critical;
    case log_level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}
}  // namespace

strom::logging::options logging_options(const logging_config& c) {
  strom::logging::options o;
  o.level = to_spdlog(c.level);
  o.output =
      c.format == log_format::json ? strom::logging::format::json : strom::logging::format::text;
  for (const auto& [component, level] : c.loggers) {
    o.component_levels.emplace(component, to_spdlog(level));
  }
  return o;
}

}  // namespace strom::config
