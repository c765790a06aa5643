#include "strom/base/logging.h"

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <mutex>

namespace strom::logging {
namespace {

/// Writes one JSON object per line: time, level, component, thread, message.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    auto level = spdlog::level::to_string_view(msg.level);
    fmt::format_to(std::back_inserter(dest), R"({{"ts_ms":{},"level":"{}","component":")", ms,
                   std::string_view(level.data(), level.size()));
    escape(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    fmt::format_to(std::back_inserter(dest), R"(","thread":{},"msg":")", msg.thread_id);
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

  void apply(spdlog::logger& l) {
    auto it = opts.component_levels.find(l.name());
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

}  // namespace

void configure(const options& opts) {
  auto& r = reg();
  std::lock_guard lock(r.mu);
  r.opts = opts;
  r.apply_sink();
  for (auto& [name, l] : r.loggers)
    r.apply(*l);
}

spdlog::logger& get(std::string_view component) {
  auto& r = reg();
  std::lock_guard lock(r.mu);
  auto it = r.loggers.find(component);
  if (it != r.loggers.end())
    return *it->second;
  auto l = std::make_shared<spdlog::logger>(std::string(component), r.sink);
  r.apply(*l);
  auto& ref = *l;
  r.loggers.emplace(std::string(component), std::move(l));
  return ref;
}

bool set_level(std::string_view component, spdlog::level::level_enum level) {
  if (std::find(std::begin(components), std::end(components), component) == std::end(components)) {
    return false;
  }
  get(component).set_level(level);
  return true;
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
