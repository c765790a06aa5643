#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace strom::logging {

/// Components with their own logger and level. Every module logs through one of these.
inline constexpr std::string_view components[] = {"main", "config", "storage", "net",    "kafka",
                                                  "raft", "rpc",    "cluster", "groups", "admin"};

enum class format { text, json };

struct options {
  spdlog::level::level_enum level = spdlog::level::info;
  format output = format::text;
  /// Per-component overrides of `level`, keyed by component name.
  std::map<std::string, spdlog::level::level_enum> component_levels;
  /// The node id lines carry when the logging thread names none (set_thread_node): a
  /// process that runs one broker sets it to `node.id`.
  std::optional<int32_t> node;
};

/// (Re)configures every component logger: sink (stderr), format and levels.
/// Thread-safe; may be called again at run time.
void configure(const options& opts);

/// The logger of a component for the node the calling thread works for (set_thread_node,
/// else options::node), created with the current options if unknown. A node's loggers are
/// named `<component>/<node id>` (text lines show `[storage/2]`, JSON lines a "node" field),
/// so that several brokers in one process (tests) can be told apart; without a node the name
/// is the component. Returned loggers live until process exit.
spdlog::logger& get(std::string_view component);

/// Changes one component's level at run time, for every node (the levels, like the sink,
/// belong to the process). Returns false for an unknown component.
bool set_level(std::string_view component, spdlog::level::level_enum level);

/// The node the calling thread logs for (nullopt: options::node). Every thread a broker
/// starts (shards, pools, admin, timers) names its node; so does the thread that builds it,
/// while it does (node_scope).
void set_thread_node(std::optional<int32_t> node);
std::optional<int32_t> thread_node();

/// Names the calling thread's node for the scope's lifetime, then restores the previous one.
class node_scope {
 public:
  explicit node_scope(std::optional<int32_t> node) : previous_(thread_node()) {
    set_thread_node(node);
  }
  ~node_scope() { set_thread_node(previous_); }
  node_scope(const node_scope&) = delete;
  node_scope& operator=(const node_scope&) = delete;

 private:
  std::optional<int32_t> previous_;
};

/// Lets through at most `burst` lines per `period` from one call site, so that a condition
/// that repeats (a client sending garbage in a loop, accept failing for want of descriptors)
/// cannot flood the log. The first line let through after a quiet spell says how many were
/// dropped. Thread-safe.
class rate_limit {
 public:
  explicit rate_limit(std::chrono::milliseconds period = std::chrono::seconds(10),
                      uint32_t burst = 5)
      : period_(period), burst_(burst) {}

  /// nullopt: drop this line. Otherwise the number of lines dropped since the last one let
  /// through.
  std::optional<uint64_t> admit(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  std::mutex mu_;  // guards the fields below
  std::chrono::milliseconds period_;
  uint32_t burst_;
  std::chrono::steady_clock::time_point window_start_{};
  uint32_t in_window_ = 0;
  uint64_t dropped_ = 0;
};

/// Formats the " (N similar lines dropped)" suffix, empty when none were.
std::string dropped_suffix(uint64_t dropped);

}  // namespace strom::logging

/// Logs like `logger.level(fmt, args...)`, rate-limited per call site (logging::rate_limit).
#define STROM_LOG_LIMITED(logger, lvl, fmt_str, ...)                              \
  do {                                                                            \
    static ::strom::logging::rate_limit strom_rate_limit_;                        \
    if ((logger).should_log(spdlog::level::lvl)) {                                \
      if (auto strom_dropped_ = strom_rate_limit_.admit()) {                      \
        (logger).log(spdlog::level::lvl, fmt_str "{}" __VA_OPT__(, ) __VA_ARGS__, \
                     ::strom::logging::dropped_suffix(*strom_dropped_));          \
      }                                                                           \
    }                                                                             \
  } while (false)
