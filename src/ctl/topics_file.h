// Topics as YAML (`stromctl apply`, `stromctl topic export`): the file format, and the plan that
// brings a cluster's topics to what a file says. Pure: no I/O, no librdkafka; unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "strom/base/result.h"

namespace strom::ctl {

/// One topic as a file declares it.
struct topic_spec {
  std::string name;
  int32_t partitions = 0;
  /// -1: not given (the broker's default on creation; never changed otherwise).
  int16_t replication_factor = -1;
  /// Topic config overrides by Kafka's dotted names; the whole set (keys absent are removed).
  std::map<std::string, std::string> configs;
  friend bool operator==(const topic_spec&, const topic_spec&) = default;
};

/// Parses a topics file: a top-level `topics:` list whose entries hold `name`, `partitions`,
/// optionally `replication_factor` and `configs` (a map of scalars). Any other key, a missing
/// or bad value, or a topic named twice is an error naming the topic (or its position) and
/// the key.
result<std::vector<topic_spec>> parse_topics_file(std::string_view yaml);

/// `topics` in the file format, topics and configs in name order, config values quoted.
std::string format_topics_file(const std::vector<topic_spec>& topics);

/// A topic as the cluster has it.
struct live_topic {
  std::string name;
  int32_t partitions = 0;
  int16_t replication_factor = 0;
  std::map<std::string, std::string> configs;  ///< its overrides
  bool internal = false;
};

/// One change of a plan.
struct plan_step {
  enum class kind { create, add_partitions, change_replication_factor, alter_configs, remove };
  kind what;
  topic_spec spec;   ///< the wanted topic (remove: name only)
  std::string text;  ///< one line for the operator
};

/// The changes that make `have` match `want`, in file order (removals last, only with
/// `prune`; internal topics never). A partition decrease, or a replication factor above
/// `brokers`, is an error naming the topic and key.
result<std::vector<plan_step>> make_plan(const std::vector<topic_spec>& want,
                                         const std::vector<live_topic>& have, bool prune,
                                         int32_t brokers);

}  // namespace strom::ctl
