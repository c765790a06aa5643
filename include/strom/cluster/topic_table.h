#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "strom/base/result.h"
#include "strom/cluster/topic_config.h"
#include "strom/io/file_system.h"

namespace strom::cluster {

struct topic_metadata {
  std::string name;
  int32_t partitions = 1;
  int16_t replication_factor = 1;
  topic_configs configs;
  bool operator==(const topic_metadata&) const = default;
};

using topic_map = std::map<std::string, topic_metadata, std::less<>>;

enum class topic_errc {
  invalid_name = 1,
  exists,
  not_found,
  invalid_partitions,
  invalid_replication_factor,
  reserved_name,
};
const std::error_category& topic_category();
inline std::error_code make_error_code(topic_errc e) {
  return {static_cast<int>(e), topic_category()};
}

/// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
status validate_topic_name(std::string_view name);
/// Names starting with "__" are internal (e.g. __consumer_offsets).
inline bool is_internal_topic(std::string_view name) {
  return name.starts_with("__");
}

/// The topics of the cluster: names, partition counts, replication factors, config overrides.
/// Today persisted by this node in `<dir>/<topic>.topic` (key=value lines, written atomically);
/// the controller Raft group takes it over with replication.
/// Thread-safe: writers serialise on a mutex; readers take an immutable snapshot.
class topic_table {
 public:
  static result<std::unique_ptr<topic_table>> open(std::shared_ptr<io::file_system> fs,
                                                   std::filesystem::path dir);

  [[nodiscard]] std::shared_ptr<const topic_map> snapshot() const;
  status create(const topic_metadata& t);
  status update(const topic_metadata& t);
  status remove(std::string_view name);

 private:
  topic_table(std::shared_ptr<io::file_system> fs, std::filesystem::path dir)
      : fs_(std::move(fs)), dir_(std::move(dir)) {}
  status persist(const topic_metadata& t);

  std::shared_ptr<io::file_system> fs_;
  std::filesystem::path dir_;
  mutable std::mutex mu_;  // guards topics_ (the pointer)
  std::shared_ptr<const topic_map> topics_ = std::make_shared<topic_map>();
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::topic_errc> : std::true_type {};
