#pragma once

#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace strom::logging {

/// Components with their own logger and level. Every module logs through one of these.
inline constexpr std::string_view components[] = {"main", "config",  "storage", "net",  "kafka",
                                                  "raft", "cluster", "groups",  "admin"};

enum class format { text, json };

struct options {
  spdlog::level::level_enum level = spdlog::level::info;
  format output = format::text;
  /// Per-component overrides of `level`, keyed by component name.
  std::map<std::string, spdlog::level::level_enum> component_levels;
};

/// (Re)configures every component logger: sink (stderr), format and levels.
/// Thread-safe; may be called again at run time.
void configure(const options& opts);

/// The logger of a component (created with the current options if unknown).
/// Returned loggers live until process exit.
spdlog::logger& get(std::string_view component);

/// Changes one component's level at run time. Returns false for an unknown component.
bool set_level(std::string_view component, spdlog::level::level_enum level);

}  // namespace strom::logging
