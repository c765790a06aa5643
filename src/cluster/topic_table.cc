#include "strom/cluster/topic_table.h"

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
      case topic_errc::partition_limit:
        return "partition limit reached";
      case topic_errc::corrupt_topic_file:
        return "corrupt topic file";
      case topic_errc::stale_revision:
        return "topic change already applied";
      case topic_errc::invalid_replica_assignment:
        return "invalid replica assignment";
      case topic_errc::no_reassignment:
        return "no reassignment in progress";
      case topic_errc::election_not_needed:
        return "the preferred replica leads already";
      case topic_errc::preferred_leader_unavailable:
        return "the preferred replica is not available";
      case topic_errc::unclean_election:
        return "unclean leader elections are not supported: a partition's Raft group elects "
               "only a replica that holds every committed write";
    }
    return "topic error";
  }
};
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

std::shared_ptr<const topic_map> topic_table::snapshot() const {
  std::lock_guard lock(mu_);
  return topics_;
}

topic_revision topic_table::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

bool topic_table::claims(const model::ntp& n) const {
  auto topics = snapshot();
  auto it = topics->find(n.topic);
  return it != topics->end() && n.partition.value() >= 0 &&
         n.partition.value() < it->second.partitions;
}

namespace {
status check_count(const std::string& name, int32_t partitions) {
  if (partitions < 1 || partitions > max_partitions_hard_limit) {
    return error(topic_errc::invalid_partitions,
                 fmt::format("topic {}: {} partitions; a topic has 1 to {}", name, partitions,
                             max_partitions_hard_limit));
  }
  return ok();
}
}  // namespace

result<topic_map> topic_table::next_state(const topic_map& topics, const topic_command& cmd) {
  auto next = topics;
  if (const auto* c = std::get_if<create_topic_cmd>(&cmd)) {
    if (next.contains(c->topic.name))
      return error(topic_errc::exists, c->topic.name);
    STROM_TRY(check_count(c->topic.name, c->topic.partitions));
    next.emplace(c->topic.name, c->topic);
    return next;
  }
  if (const auto* c = std::get_if<delete_topic_cmd>(&cmd)) {
    auto it = next.find(c->name);
    if (it == next.end())
      return error(topic_errc::not_found, c->name);
    next.erase(it);
    return next;
  }
  if (const auto* c = std::get_if<create_partitions_cmd>(&cmd)) {
    auto it = next.find(c->name);
    if (it == next.end())
      return error(topic_errc::not_found, c->name);
    STROM_TRY(check_count(c->name, c->partitions));
    if (c->partitions <= it->second.partitions) {
      return error(topic_errc::invalid_partitions,
                   fmt::format("topic {} has {} partitions; the new count {} must be larger",
                               c->name, it->second.partitions, c->partitions));
    }
    it->second.partitions = c->partitions;
    if (!c->replicas.empty())
      it->second.replicas = c->replicas;
    return next;
  }
  if (const auto* c = std::get_if<replace_topic_cmd>(&cmd)) {
    auto it = next.find(c->topic.name);
    if (it == next.end())
      return error(topic_errc::not_found, c->topic.name);
    STROM_TRY(check_count(c->topic.name, c->topic.partitions));
    it->second = c->topic;
    return next;
  }
  const auto& c = std::get<set_topic_configs_cmd>(cmd);
  auto it = next.find(c.name);
  if (it == next.end())
    return error(topic_errc::not_found, c.name);
  it->second.configs = c.configs;
  return next;
}

status topic_table::apply(topic_revision rev, const topic_command& cmd) {
  std::lock_guard lock(mu_);
  if (rev <= revision_) {
    return error(topic_errc::stale_revision,
                 fmt::format("revision {} is applied already (the table is at {})", rev.value(),
                             revision_.value()));
  }
  revision_ = rev;
  auto next = next_state(*topics_, cmd);
  if (!next)
    return next.error();
  topics_ = std::make_shared<const topic_map>(std::move(*next));
  return ok();
}

}  // namespace strom::cluster
