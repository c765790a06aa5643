#include "strom/security/audit.h"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "strom/base/json.h"
#include "strom/base/logging.h"

namespace strom::security {

namespace {
spdlog::logger& lg() {
  return logging::get("admin");
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  append_json_string(out, value);
}
}  // namespace

std::string audit_log::format(const audit_event& e, int64_t unix_ms) {
  auto secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string out =
      fmt::format("{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
  field(out, "type", e.type);
  field(out, "principal", e.principal);
  field(out, "client", e.client);
  field(out, "operation", e.operation);
  if (!e.resource.empty())
    field(out, "resource", e.resource);
  field(out, "result", e.result);
  if (!e.detail.empty())
    field(out, "detail", e.detail);
  out += "}";
  return out;
}

result<std::unique_ptr<audit_log>> audit_log::open(options o) {
  std::unique_ptr<audit_log> log(new audit_log(std::move(o)));
  std::lock_guard lock(log->mu_);
  if (auto s = log->reopen(); !s)
    return s.error();
  return log;
}

audit_log::~audit_log() {
  if (file_)
    std::fclose(file_);
}

status audit_log::reopen() {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
  std::error_code ec;
  if (opts_.path.has_parent_path())
    std::filesystem::create_directories(opts_.path.parent_path(), ec);
  file_ = std::fopen(opts_.path.c_str(), "ae");
  if (!file_) {
    return error(std::error_code(errno, std::generic_category()),
                 fmt::format("cannot open the audit log {}", opts_.path.string()));
  }
  auto size = std::filesystem::file_size(opts_.path, ec);
  size_ = ec ? 0 : size;
  return ok();
}

void audit_log::rotate() {
  std::error_code ec;
  auto name = [this](int32_t i) {
    return std::filesystem::path(opts_.path.string() + "." + std::to_string(i));
  };
  std::filesystem::remove(name(opts_.max_files), ec);
  for (int32_t i = opts_.max_files - 1; i >= 1; --i)
    std::filesystem::rename(name(i), name(i + 1), ec);
  if (opts_.max_files >= 1)
    std::filesystem::rename(opts_.path, name(1), ec);
  else
    std::filesystem::remove(opts_.path, ec);
  if (auto s = reopen(); !s)
    STROM_LOG_LIMITED(lg(), err, "{}", s.error().message());
}

void audit_log::record(const audit_event& e) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto line = format(e, now);
  line += '\n';
  std::lock_guard lock(mu_);
  if (file_ && size_ > 0 && size_ + line.size() > opts_.max_file_bytes)
    rotate();
  if (!file_ || std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fflush(file_) != 0) {
    ++failed_;
    STROM_LOG_LIMITED(lg(), err, "cannot write the audit log {}", opts_.path.string());
    return;
  }
  size_ += line.size();
}

uint64_t audit_log::failed_writes() const {
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace strom::security
