#include "storage/resource_errors.h"

#include <atomic>
#include <chrono>

#include <fmt/format.h>

#include "strom/base/logging.h"
#include "strom/storage/errc.h"

namespace strom::storage {

namespace {
constexpr auto log_interval = std::chrono::seconds(10);

std::atomic<uint64_t> noted{0};
std::atomic<uint64_t> lines{0};
std::atomic<uint64_t> noted_at_last_line{0};
std::atomic<int64_t> next_line_ns{0};
}  // namespace

error note_resource_exhaustion(std::string_view what, const error& e) {
  auto n = noted.fetch_add(1) + 1;
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto due = next_line_ns.load();
  if (now >= due && next_line_ns.compare_exchange_strong(
                        due, now + std::chrono::nanoseconds(log_interval).count())) {
    auto before = noted_at_last_line.exchange(n);
    lines.fetch_add(1);
    logging::get("storage").warn(
        "{} failed: {} (out of descriptors or memory: the request fails with a retriable "
        "error, the directory stays online; {} such failure(s) since the last report)",
        what, e.message(), n - before);
  }
  return error(errc::resource_exhausted, fmt::format("{}: {}", what, e.message()));
}

uint64_t resource_exhaustions_noted() {
  return noted.load();
}

uint64_t resource_exhaustion_log_lines() {
  return lines.load();
}

}  // namespace strom::storage
