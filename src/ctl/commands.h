// The stromctl command groups; each registers its subcommands (options, help with examples,
// and the callback that runs them) on the root command.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

#include "ctl/client.h"
#include "ctl/reassign.h"
#include "ctl/wire.h"

namespace strom::ctl {

void add_topic_commands(CLI::App& app, context& ctx);
/// partition move|elect-leaders, reassignments [cancel]
void add_partition_commands(CLI::App& app, context& ctx);
/// topic alter --replication-factor (registered by add_topic_commands)
void add_topic_alter_command(CLI::App& topic, context& ctx);
void add_record_commands(CLI::App& app, context& ctx);  // produce, consume
void add_group_commands(CLI::App& app, context& ctx);
void add_cluster_commands(CLI::App& app, context& ctx);  // cluster, broker
/// user create|delete|list: SCRAM credentials
void add_user_commands(CLI::App& app, context& ctx);
/// acl create|list|delete: Kafka ACLs
void add_acl_commands(CLI::App& app, context& ctx);
/// quota set|list|delete: Kafka client quotas
void add_quota_commands(CLI::App& app, context& ctx);
/// broker decommission|recommission|status (registered by add_cluster_commands)
void add_broker_decommission_commands(CLI::App& broker, context& ctx);

/// Makes `cmd` run `f` once the whole command line has been parsed and checked.
template <typename F>
void on_run(CLI::App* cmd, context& ctx, F f) {
  cmd->callback([&ctx, f] { ctx.run = f; });
}

/// Fails unless --format is text or json (every command but consume).
void require_table_format(const context& ctx);

// Partition reassignment, shared by `partition move`, `topic alter` and `apply` (partition.cc).

/// A topic's partitions with their replicas and the cluster's live brokers.
struct topic_replicas {
  /// Every partition in id order; one being moved with the replicas it moves to.
  std::vector<partition_replicas> partitions;
  std::vector<int32_t> brokers;  ///< in id order
};
/// Reads them from Metadata and ListPartitionReassignments; fails when the topic does not exist.
topic_replicas read_topic_replicas(const context& ctx, rd_kafka_t* rk, const std::string& topic);
/// The moves that give every partition of `topic` `replication_factor` replicas
/// (replicas_for_factor); an error naming the topic when it cannot.
result<std::vector<reassignment_target>> replication_factor_moves(const std::string& topic,
                                                                  const topic_replicas& now,
                                                                  int32_t replication_factor);
/// Sends one AlterPartitionReassignments request; fails when the request as a whole failed.
std::vector<reassignment_outcome> send_reassignments(
    const context& ctx, const std::vector<reassignment_target>& targets);
/// Waits (progress on stderr) until ListPartitionReassignments lists none of `parts`; fails
/// naming those still moving once `deadline_ms` (now_ms()) passed.
void wait_reassignments(const context& ctx,
                        const std::vector<std::pair<std::string, int32_t>>& parts,
                        int64_t deadline_ms);

}  // namespace strom::ctl
