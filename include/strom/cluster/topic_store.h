#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "strom/base/result.h"
#include "strom/cluster/security_state.h"
#include "strom/cluster/topic_table.h"
#include "strom/io/file_system.h"

namespace strom::cluster {

/// Parses the text of a topic file (`partitions=`, `replication_factor=`, `topic_id=`,
/// `replicas=` and `config.<key>=` lines). Every number is checked (digits only, in range);
/// `partitions` is required; `replicas`, when present, has one list per partition.
result<topic_metadata> parse_topic_file(std::string name, std::string_view text);
/// A topic id as 32 lowercase hex digits, and back (nullopt unless exactly that).
std::string format_topic_id(const topic_uuid& id);
std::optional<topic_uuid> parse_topic_id(std::string_view v);

/// The topics persisted by this node: one file `<dir>/<topic>.topic` per topic (key=value
/// lines, written atomically). The controller Raft group takes this over with replication.
///
/// A topic exists on disk exactly when its file does: writing or removing the file is the
/// commit point of topic creation, deletion and every other topic change
/// (docs/storage-format.md, "Topics"). The store only persists: the topics front end orders
/// the file steps around its partition work and then feeds the committed change to the
/// topic_table, which readers see.
/// Every method blocks on the file system: callers keep them off the shard threads. Writes
/// of one topic are not concurrent (the front end runs one topic change at a time).
class topic_store {
 public:
  /// The store over `dir`, created when missing.
  static result<std::unique_ptr<topic_store>> open(std::shared_ptr<io::file_system> fs,
                                                   std::filesystem::path dir);

  /// Reads every `<topic>.topic` file and removes `.tmp` leftovers of interrupted writes:
  /// the state the topic table starts from. Call at start-up, before any write. A file that
  /// cannot be parsed fails the load with an error naming it (corrupt_topic_file): skipping
  /// it would orphan the topic's partitions, which start-up then removes, so the broker
  /// refuses to start instead and the operator repairs or removes the file.
  result<topic_map> load();

  /// Writes `<dir>/<name>.topic` atomically and durably (replacing an older version).
  status write(const topic_metadata& t);
  /// Removes `<dir>/<name>.topic` durably. Succeeds when there is no such file; fails only
  /// when the file is still there (a failed directory fsync after the removal is logged).
  status erase(std::string_view name);

  /// The cluster-wide config defaults of a broker without a controller: `<dir>/cluster.configs`,
  /// `config.<broker-level name>=<value>` lines, written atomically; empty without the file.
  result<topic_configs> load_cluster_configs();
  status write_cluster_configs(const topic_configs& configs);

  /// The users of a broker without a controller: `<dir>/security.state` (binary, written
  /// atomically); none without the file. A damaged file fails the load (the broker refuses to
  /// start rather than lock every user out, or let anyone in).
  result<security_state> load_security();
  status write_security(const security_state& s);

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  topic_store(std::shared_ptr<io::file_system> fs, std::filesystem::path dir)
      : fs_(std::move(fs)), dir_(std::move(dir)) {}
  [[nodiscard]] std::filesystem::path file_of(std::string_view name) const;

  std::shared_ptr<io::file_system> fs_;
  std::filesystem::path dir_;
};

}  // namespace strom::cluster
