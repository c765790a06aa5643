#include "strom/cluster/topic_store.h"

#include <charconv>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "strom/base/logging.h"
#include "strom/bytes/cursor.h"
#include "strom/bytes/writer.h"

namespace strom::cluster {

namespace {
constexpr const char* suffix = ".topic";
spdlog::logger& lg() {
  return logging::get("cluster");
}
constexpr size_t max_topic_file = 8 << 20;
}  // namespace

namespace {
/// A whole decimal integer in [lo, hi]: digits only (an optional '-'), nothing around them.
std::optional<int64_t> parse_int(std::string_view v, int64_t lo, int64_t hi) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || out < lo || out > hi)
    return std::nullopt;
  return out;
}

/// The next line of `text` that is not empty, taken off `text`; `line_no` counts every line.
std::optional<std::string_view> next_line(std::string_view& text, size_t& line_no) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty())
      return line;
  }
  return std::nullopt;
}
}  // namespace

std::string format_topic_id(const topic_uuid& id) {
  std::string out;
  for (auto b : id)
    out += fmt::format("{:02x}", static_cast<unsigned>(b));
  return out;
}

std::optional<topic_uuid> parse_topic_id(std::string_view v) {
  if (v.size() != 32)
    return std::nullopt;
  topic_uuid id{};
  for (size_t i = 0; i < 16; ++i) {
    unsigned byte = 0;
    auto [p, ec] = std::from_chars(v.data() + 2 * i, v.data() + 2 * i + 2, byte, 16);
    if (ec != std::errc() || p != v.data() + 2 * i + 2)
      return std::nullopt;
    id[i] = static_cast<std::byte>(byte);
  }
  return id;
}

namespace {
/// "1,2,3;2,3,1": the replicas of each partition, lists separated by ';'.
std::optional<std::vector<std::vector<int32_t>>> parse_replicas(std::string_view v) {
  std::vector<std::vector<int32_t>> out;
  while (!v.empty()) {
    auto semi = v.find(';');
    auto list = v.substr(0, semi);
    v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
    std::vector<int32_t> ids;
    while (!list.empty()) {
      auto comma = list.find(',');
      auto item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      auto n = parse_int(item, 0, INT32_MAX);
      if (!n)
        return std::nullopt;
      ids.push_back(static_cast<int32_t>(*n));
    }
    if (ids.empty())
      return std::nullopt;
    out.push_back(std::move(ids));
  }
  return out;
}
}  // namespace

result<topic_metadata> parse_topic_file(std::string name, std::string_view text) {
  topic_metadata m;
  m.name = std::move(name);
  if (auto s = validate_topic_name(m.name); !s)
    return error(topic_errc::corrupt_topic_file, s.error().detail());
  bool has_partitions = false;
  size_t line_no = 0;
  while (auto next = next_line(text, line_no)) {
    auto line = *next;
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return error(
          topic_errc::corrupt_topic_file,
          fmt::format("line {}: expected key=value, got \"{}\"", line_no, line.substr(0, 64)));
    }
    auto k = line.substr(0, eq);
    auto v = line.substr(eq + 1);
    if (k == "partitions") {
      auto n = parse_int(v, 1, max_partitions_hard_limit);
      if (!n) {
        return error(topic_errc::corrupt_topic_file,
                     fmt::format("line {}: partitions \"{}\" is not a number from 1 to {}", line_no,
                                 v.substr(0, 64), max_partitions_hard_limit));
      }
      m.partitions = static_cast<int32_t>(*n);
      has_partitions = true;
    } else if (k == "replication_factor") {
      auto n = parse_int(v, 1, INT16_MAX);
      if (!n) {
        return error(topic_errc::corrupt_topic_file,
                     fmt::format("line {}: replication_factor \"{}\" is not a number from 1 to {}",
                                 line_no, v.substr(0, 64), INT16_MAX));
      }
      m.replication_factor = static_cast<int16_t>(*n);
    } else if (k == "topic_id") {
      auto id = parse_topic_id(v);
      if (!id) {
        return error(topic_errc::corrupt_topic_file,
                     fmt::format("line {}: topic_id is not 32 hex digits", line_no));
      }
      m.id = *id;
    } else if (k == "replicas") {
      auto r = parse_replicas(v);
      if (!r) {
        return error(topic_errc::corrupt_topic_file,
                     fmt::format("line {}: replicas is not lists of node ids", line_no));
      }
      m.replicas = std::move(*r);
    } else if (k.starts_with("config.") && k.size() > 7) {
      m.configs[std::string(k.substr(7))] = std::string(v);
    }
    // Other keys are ignored: a later version may add some.
  }
  if (!has_partitions)
    return error(topic_errc::corrupt_topic_file, "no partitions line");
  if (!m.replicas.empty() && m.replicas.size() != static_cast<size_t>(m.partitions)) {
    return error(topic_errc::corrupt_topic_file, fmt::format("{} replica lists for {} partitions",
                                                             m.replicas.size(), m.partitions));
  }
  return m;
}

result<std::unique_ptr<topic_store>> topic_store::open(std::shared_ptr<io::file_system> fs,
                                                       std::filesystem::path dir) {
  STROM_TRY(fs->create_directories(dir));
  return std::unique_ptr<topic_store>(new topic_store(std::move(fs), std::move(dir)));
}

result<topic_map> topic_store::load() {
  auto names = fs_->list(dir_);
  if (!names)
    return names.error();
  topic_map topics;
  bool removed = false;
  for (const auto& n : *names) {
    if (n.ends_with(".tmp")) {
      STROM_TRY(fs_->remove(dir_ / n));  // an interrupted atomic write
      removed = true;
      continue;
    }
    if (!n.ends_with(suffix))
      continue;
    auto path = dir_ / n;
    auto text = fs_->read_small_file(path, max_topic_file);
    if (!text) {
      return error(text.error().code(),
                   fmt::format("reading topic file {}: {}", path.string(), text.error().message()));
    }
    auto m = parse_topic_file(n.substr(0, n.size() - std::strlen(suffix)), *text);
    if (!m) {
      return error(topic_errc::corrupt_topic_file,
                   fmt::format("{}: {}; repair or remove the file (removing it deletes the "
                               "topic's partitions at the next start)",
                               path.string(), m.error().detail()));
    }
    topics[m->name] = std::move(*m);
  }
  if (removed)
    STROM_TRY(fs_->sync_directory(dir_));
  return topics;
}

std::filesystem::path topic_store::file_of(std::string_view name) const {
  return dir_ / (std::string(name) + suffix);
}

status topic_store::write(const topic_metadata& t) {
  std::string text =
      fmt::format("partitions={}\nreplication_factor={}\n", t.partitions, t.replication_factor);
  if (t.id != topic_uuid{})
    text += fmt::format("topic_id={}\n", format_topic_id(t.id));
  if (!t.replicas.empty()) {
    text += "replicas=";
    for (size_t p = 0; p < t.replicas.size(); ++p)
      text += fmt::format("{}{}", p == 0 ? "" : ";", fmt::join(t.replicas[p], ","));
    text += "\n";
  }
  for (const auto& [k, v] : t.configs)
    text += fmt::format("config.{}={}\n", k, v);
  return fs_->write_file_atomic(file_of(t.name), std::as_bytes(std::span(text)));
}

result<topic_configs> topic_store::load_cluster_configs() {
  auto path = dir_ / "cluster.configs";
  auto exists = fs_->exists(path);
  if (!exists)
    return exists.error();
  topic_configs out;
  if (!*exists)
    return out;
  auto text = fs_->read_small_file(path, max_topic_file);
  if (!text)
    return error(text.error().code(),
                 fmt::format("reading {}: {}", path.string(), text.error().message()));
  std::string_view rest(*text);
  size_t line_no = 0;
  while (auto next = next_line(rest, line_no)) {
    auto line = *next;
    auto eq = line.find('=');
    if (eq == std::string_view::npos || !line.starts_with("config.") || eq <= 7) {
      return error(topic_errc::corrupt_topic_file,
                   fmt::format("{} line {}: expected config.<name>=<value>; repair or remove the "
                               "file (removing it drops the cluster-wide configs)",
                               path.string(), line_no));
    }
    out[std::string(line.substr(7, eq - 7))] = std::string(line.substr(eq + 1));
  }
  return out;
}

status topic_store::write_cluster_configs(const topic_configs& configs) {
  std::string text;
  for (const auto& [k, v] : configs)
    text += fmt::format("config.{}={}\n", k, v);
  return fs_->write_file_atomic(dir_ / "cluster.configs", std::as_bytes(std::span(text)));
}

namespace {
constexpr int8_t security_file_version = 1;
}

result<security_state> topic_store::load_security() {
  auto path = dir_ / "security.state";
  auto exists = fs_->exists(path);
  if (!exists)
    return exists.error();
  if (!*exists)
    return security_state{};
  auto data = fs_->read_small_file(path, max_topic_file);
  if (!data)
    return error(data.error().code(),
                 fmt::format("reading {}: {}", path.string(), data.error().message()));
  bytes::cursor c(std::as_bytes(std::span(*data)));
  auto version = c.read_int8();
  auto s = security_state::decode(c);
  if (!c.ok() || version != security_file_version || !c.at_end()) {
    return error(topic_errc::corrupt_topic_file,
                 fmt::format("{} is damaged; restore it from a backup, or remove it (which "
                             "removes every user)",
                             path.string()));
  }
  return s;
}

status topic_store::write_security(const security_state& s) {
  bytes::writer w;
  w.put<int8_t>(security_file_version);
  s.encode(w);
  auto data = w.take();
  return fs_->write_file_atomic(dir_ / "security.state", data);
}

status topic_store::erase(std::string_view name) {
  auto path = file_of(name);
  auto exists = fs_->exists(path);
  if (!exists)
    return exists.error();
  if (!*exists)
    return ok();
  STROM_TRY(fs_->remove(path));
  if (auto s = fs_->sync_directory(dir_); !s) {
    // The file is gone for this process; a crash may bring it back, with the partitions its
    // deletion removed meanwhile recreated empty at the next start.
    lg().error("removed {} but the directory fsync failed: {}", path.string(), s.error().message());
  }
  return ok();
}

}  // namespace strom::cluster
