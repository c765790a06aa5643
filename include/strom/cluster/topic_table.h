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
#include "strom/model/ntp.h"

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
  /// The broker's partition limit would be exceeded (Kafka: POLICY_VIOLATION).
  partition_limit,
  /// A topic file on disk cannot be read back.
  corrupt_topic_file,
};
const std::error_category& topic_category();
inline std::error_code make_error_code(topic_errc e) {
  return {static_cast<int>(e), topic_category()};
}

/// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
status validate_topic_name(std::string_view name);
/// Kafka's longest topic name.
inline constexpr size_t max_topic_name_bytes = 249;
/// No topic ever has more partitions, whatever the configuration: the partition directory
/// `<topic>-<partition>` of a 249-character name and partition 99999 is 255 bytes, the
/// longest name a Linux file system accepts.
inline constexpr int32_t max_partitions_hard_limit = 100000;
/// Names starting with "__" are internal (e.g. __consumer_offsets).
inline bool is_internal_topic(std::string_view name) {
  return name.starts_with("__");
}

/// Parses the text of a topic file (`partitions=`, `replication_factor=` and `config.<key>=`
/// lines). Every number is checked (digits only, in range); `partitions` is required.
result<topic_metadata> parse_topic_file(std::string name, std::string_view text);

/// The topics of the cluster: names, partition counts, replication factors, config overrides.
/// Today persisted by this node in `<dir>/<topic>.topic` (key=value lines, written atomically);
/// the controller Raft group takes it over with replication.
///
/// A topic exists on disk exactly when its file does: the file is the commit point of topic
/// creation and deletion (docs/storage-format.md, "Topics"). The file and the in-memory
/// snapshot change in separate steps (write/erase, then publish/unpublish) so that the
/// controller can order them around its partition work; create/update/remove do both.
/// Thread-safe: writers serialise on a mutex; readers take an immutable snapshot. File
/// operations block: callers keep them off the shard threads.
class topic_table {
 public:
  /// Reads every `<topic>.topic` file of `dir` (created when missing) and removes `.tmp`
  /// leftovers of interrupted writes. A file that cannot be parsed fails the open with an
  /// error naming it (corrupt_topic_file): skipping it would orphan the topic's partitions,
  /// which start-up then removes, so the broker refuses to start instead and the operator
  /// repairs or removes the file.
  static result<std::unique_ptr<topic_table>> open(std::shared_ptr<io::file_system> fs,
                                                   std::filesystem::path dir);

  [[nodiscard]] std::shared_ptr<const topic_map> snapshot() const;
  /// True when `n`'s topic exists and has more than n.partition partitions.
  [[nodiscard]] bool claims(const model::ntp& n) const;

  /// Writes `<dir>/<name>.topic` atomically and durably (replacing an older version).
  status write(const topic_metadata& t);
  /// Removes `<dir>/<name>.topic` durably. Succeeds when there is no such file; fails only
  /// when the file is still there (a failed directory fsync after the removal is logged).
  status erase(std::string_view name);
  /// Adds or replaces `t` in the snapshot readers see.
  void publish(const topic_metadata& t);
  /// Removes a topic from the snapshot.
  void unpublish(std::string_view name);

  /// write + publish, refused when the topic exists.
  status create(const topic_metadata& t);
  /// write + publish, refused when the topic does not exist.
  status update(const topic_metadata& t);
  /// erase + unpublish, refused when the topic does not exist.
  status remove(std::string_view name);

 private:
  topic_table(std::shared_ptr<io::file_system> fs, std::filesystem::path dir)
      : fs_(std::move(fs)), dir_(std::move(dir)) {}
  [[nodiscard]] std::filesystem::path file_of(std::string_view name) const;

  std::shared_ptr<io::file_system> fs_;
  std::filesystem::path dir_;
  mutable std::mutex mu_;  // guards topics_ (the pointer)
  std::shared_ptr<const topic_map> topics_ = std::make_shared<topic_map>();
};

}  // namespace strom::cluster

template <>
struct std::is_error_code_enum<strom::cluster::topic_errc> : std::true_type {};
