#include "strom/base/logging.h"

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <mutex>

namespace strom::logging {
namespace {

/// "storage/2" -> ("storage", "2"); "storage" -> ("storage", "").
std::pair<std::string_view, std::string_view> split_name(std::string_view name) {
  auto slash = name.find('/');
  if (slash == std::string_view::npos)
    return {name, {}};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

/// Writes one JSON object per line: time, level, component, node (null when none), thread,
/// message.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    auto level = spdlog::level::to_string_view(msg.level);
    fmt::format_to(std::back_inserter(dest), R"({{"ts_ms":{},"level":"{}","component":")", ms,
                   std::string_view(level.data(), level.size()));
    auto [component, node] =
        split_name(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    escape(component, dest);
    fmt::format_to(std::back_inserter(dest), R"(","node":{},"thread":{},"msg":")",
                   node.empty() ? std::string_view("null") : node, msg.thread_id);
    escape(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    dest.append(std::string_view("\"}\n"));
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }

 private:
  static void escape(std::string_view s, spdlog::memory_buf_t& dest) {
    for (char c : s) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<unsigned>(c));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
};

struct registry {
  std::mutex mu;  // guards opts, sink and loggers
  options opts;
  std::shared_ptr<spdlog::sinks::sink> sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;

  /// Bumped by configure(): the threads' logger caches are stale.
  std::atomic<uint64_t> generation{1};

  void apply(spdlog::logger& l) {
    auto it = opts.component_levels.find(std::string(split_name(l.name()).first));
    l.set_level(it != opts.component_levels.end() ? it->second : opts.level);
    l.flush_on(spdlog::level::warn);
  }
  void apply_sink() {
    if (opts.output == format::json) {
      sink->set_formatter(std::make_unique<json_formatter>());
    } else {
      sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
          "%Y-%m-%dT%H:%M:%S.%e %-5l [%n] %v", spdlog::pattern_time_type::local));
    }
  }
};

registry& reg() {
  static registry* r = [] {
    auto* x = new registry();  // never destroyed: loggers may be used during exit
    x->apply_sink();
    return x;
  }();
  return *r;
}

/// The node this thread logs for, and the loggers it looked up for it (a lookup in the
/// registry takes its mutex and, with a node, formats a name).
struct thread_state {
  std::optional<int32_t> node;
  uint64_t generation = 0;
  std::map<std::string, spdlog::logger*, std::less<>> cache;
};
thread_local thread_state this_thread;

}  // namespace

void configure(const options& opts) {
  auto& r = reg();
  std::lock_guard lock(r.mu);
  r.opts = opts;
  r.apply_sink();
  for (auto& [name, l] : r.loggers)
    r.apply(*l);
  r.generation.fetch_add(1);
}

spdlog::logger& get(std::string_view component) {
  auto& r = reg();
  auto& t = this_thread;
  auto generation = r.generation.load(std::memory_order_acquire);
  if (t.generation != generation) {
    t.cache.clear();
    t.generation = generation;
  }
  if (auto it = t.cache.find(component); it != t.cache.end())
    return *it->second;
  std::lock_guard lock(r.mu);
  auto node = t.node ? t.node : r.opts.node;
  auto name = node ? fmt::format("{}/{}", component, *node) : std::string(component);
  auto it = r.loggers.find(name);
  if (it == r.loggers.end()) {
    auto l = std::make_shared<spdlog::logger>(name, r.sink);
    r.apply(*l);
    it = r.loggers.emplace(name, std::move(l)).first;
  }
  t.cache.emplace(std::string(component), it->second.get());
  return *it->second;
}

bool set_level(std::string_view component, spdlog::level::level_enum level) {
  if (std::find(std::begin(components), std::end(components), component) == std::end(components)) {
    return false;
  }
  auto& r = reg();
  std::lock_guard lock(r.mu);
  // Loggers made later (another node's) take the level too.
  r.opts.component_levels[std::string(component)] = level;
  for (auto& [name, l] : r.loggers) {
    if (split_name(name).first == component)
      l->set_level(level);
  }
  return true;
}

void set_thread_node(std::optional<int32_t> node) {
  auto& t = this_thread;
  if (t.node != node)
    t.cache.clear();
  t.node = node;
}

std::optional<int32_t> thread_node() {
  return this_thread.node;
}

std::optional<uint64_t> rate_limit::admit(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++dropped_;
    return std::nullopt;
  }
  ++in_window_;
  return std::exchange(dropped_, 0);
}

std::string dropped_suffix(uint64_t dropped) {
  return dropped == 0 ? std::string() : fmt::format(" ({} similar lines dropped)", dropped);
}

}  // namespace strom::logging
