#include "strom/cluster/topic_table.h"

#include <charconv>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

namespace strom::cluster {

namespace {
class topic_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.topic"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<topic_errc>(c)) {
      case topic_errc::invalid_name:
        return "invalid topic name";
      case topic_errc::exists:
        return "topic already exists";
      case topic_errc::not_found:
        return "unknown topic";
      case topic_errc::invalid_partitions:
        return "invalid number of partitions";
      case topic_errc::invalid_replication_factor:
        return "invalid replication factor";
      case topic_errc::reserved_name:
        return "reserved topic name";
    }
    return "topic error";
  }
};
constexpr const char* suffix = ".topic";
constexpr size_t max_topic_file = 1 << 20;
}  // namespace

const std::error_category& topic_category() {
  static topic_category_impl c;
  return c;
}

status validate_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249) {
    return error(topic_errc::invalid_name,
                 fmt::format("topic name must have 1 to 249 characters, not {}", name.size()));
  }
  if (name == "." || name == "..") {
    return error(topic_errc::invalid_name, "topic name cannot be '.' or '..'");
  }
  for (char c : name) {
    bool ok_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
    if (!ok_char) {
      return error(topic_errc::invalid_name,
                   fmt::format("'{}' has a character outside [a-zA-Z0-9._-]", name));
    }
  }
  return ok();
}

result<std::unique_ptr<topic_table>> topic_table::open(std::shared_ptr<io::file_system> fs,
                                                       std::filesystem::path dir) {
  std::unique_ptr<topic_table> t(new topic_table(fs, dir));
  STROM_TRY(fs->create_directories(dir));
  auto names = fs->list(dir);
  if (!names)
    return names.error();
  auto topics = std::make_shared<topic_map>();
  for (const auto& n : *names) {
    if (!n.ends_with(suffix))
      continue;
    auto text = fs->read_small_file(dir / n, max_topic_file);
    if (!text)
      return text.error();
    topic_metadata m;
    m.name = n.substr(0, n.size() - std::strlen(suffix));
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq == std::string::npos)
        continue;
      auto k = line.substr(0, eq);
      auto v = line.substr(eq + 1);
      if (k == "partitions") {
        m.partitions = std::stoi(v);
      } else if (k == "replication_factor") {
        m.replication_factor = static_cast<int16_t>(std::stoi(v));
      } else if (k.starts_with("config.")) {
        m.configs[k.substr(7)] = v;
      }
    }
    if (!validate_topic_name(m.name) || m.partitions < 1) {
      return error(topic_errc::invalid_name, fmt::format("bad topic file {}", (dir / n).string()));
    }
    (*topics)[m.name] = std::move(m);
  }
  t->topics_ = std::move(topics);
  return t;
}

std::shared_ptr<const topic_map> topic_table::snapshot() const {
  std::lock_guard lock(mu_);
  return topics_;
}

status topic_table::persist(const topic_metadata& t) {
  std::string text =
      fmt::format("partitions={}\nreplication_factor={}\n", t.partitions, t.replication_factor);
  for (const auto& [k, v] : t.configs)
    text += fmt::format("config.{}={}\n", k, v);
  return fs_->write_file_atomic(dir_ / (t.name + suffix), std::as_bytes(std::span(text)));
}

status topic_table::create(const topic_metadata& t) {
  std::lock_guard lock(mu_);
  if (topics_->contains(t.name))
    return error(topic_errc::exists, t.name);
  STROM_TRY(persist(t));
  auto next = std::make_shared<topic_map>(*topics_);
  (*next)[t.name] = t;
  topics_ = std::move(next);
  return ok();
}

status topic_table::update(const topic_metadata& t) {
  std::lock_guard lock(mu_);
  if (!topics_->contains(t.name))
    return error(topic_errc::not_found, t.name);
  STROM_TRY(persist(t));
  auto next = std::make_shared<topic_map>(*topics_);
  (*next)[t.name] = t;
  topics_ = std::move(next);
  return ok();
}

status topic_table::remove(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = topics_->find(name);
  if (it == topics_->end())
    return error(topic_errc::not_found, std::string(name));
  STROM_TRY(fs_->remove(dir_ / (std::string(name) + suffix)));
  STROM_TRY(fs_->sync_directory(dir_));
  auto next = std::make_shared<topic_map>(*topics_);
  next->erase(std::string(name));
  topics_ = std::move(next);
  return ok();
}

}  // namespace strom::cluster
