#include "strom/kafka/protocol/api.h"

#include <algorithm>
#include <array>

namespace strom::kafka::protocol {
namespace {

// Kafka's name of every API key it defines, by key (0 to 75).
constexpr std::array<std::string_view, 76> kafka_api_names = {
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
    "DescribeClientQuotas",
    "AlterClientQuotas",
    "DescribeUserScramCredentials",
    "AlterUserScramCredentials",
    "Vote",
    "BeginQuorumEpoch",
    "EndQuorumEpoch",
    "DescribeQuorum",
    "AlterPartition",
    "UpdateFeatures",
    "Envelope",
    "FetchSnapshot",
    "DescribeCluster",
    "DescribeProducers",
    "BrokerRegistration",
    "BrokerHeartbeat",
    "UnregisterBroker",
    "DescribeTransactions",
    "ListTransactions",
    "AllocateProducerIds",
    "ConsumerGroupHeartbeat",
    "ConsumerGroupDescribe",
    "ControllerRegistration",
    "GetTelemetrySubscriptions",
    "PushTelemetry",
    "AssignReplicasToDirs",
    "ListClientMetricsResources",
    "DescribeTopicPartitions",
};

struct api_facts {
  api_key key;
  int16_t first_flexible;  // -1: never flexible
};

// Every key of api_key with its first flexible version (current Kafka schemas).
constexpr std::array<api_facts, 45> all_apis = {{
    {api_key::produce, 9},
    {api_key::fetch, 12},
    {api_key::list_offsets, 6},
    {api_key::metadata, 9},
    {api_key::controlled_shutdown, 3},
    {api_key::offset_commit, 8},
    {api_key::offset_fetch, 6},
    {api_key::find_coordinator, 3},
    {api_key::join_group, 6},
    {api_key::heartbeat, 4},
    {api_key::leave_group, 4},
    {api_key::sync_group, 4},
    {api_key::describe_groups, 5},
    {api_key::list_groups, 3},
    {api_key::sasl_handshake, -1},
    {api_key::api_versions, 3},
    {api_key::create_topics, 5},
    {api_key::delete_topics, 4},
    {api_key::delete_records, 2},
    {api_key::init_producer_id, 2},
    {api_key::offset_for_leader_epoch, 4},
    {api_key::add_partitions_to_txn, 3},
    {api_key::add_offsets_to_txn, 3},
    {api_key::end_txn, 3},
    {api_key::txn_offset_commit, 3},
    {api_key::describe_acls, 2},
    {api_key::create_acls, 2},
    {api_key::delete_acls, 2},
    {api_key::describe_configs, 4},
    {api_key::alter_configs, 2},
    {api_key::describe_log_dirs, 2},
    {api_key::sasl_authenticate, 2},
    {api_key::create_partitions, 2},
    {api_key::delete_groups, 2},
    {api_key::elect_leaders, 2},
    {api_key::incremental_alter_configs, 1},
    {api_key::alter_partition_reassignments, 0},
    {api_key::list_partition_reassignments, 0},
    {api_key::offset_delete, -1},
    {api_key::describe_client_quotas, 1},
    {api_key::alter_client_quotas, 1},
    {api_key::describe_user_scram_credentials, 0},
    {api_key::alter_user_scram_credentials, 0},
    {api_key::describe_cluster, 0},
    {api_key::consumer_group_heartbeat, 0},
}};

// Kept sorted by key. Ranges: protocol reference §3.2, phase 1.
constexpr std::array<api_support, 39> served = {{
    {api_key::produce, 0, 11, 3},
    {api_key::fetch, 4, 13, 4},
    {api_key::list_offsets, 1, 7, 1},
    {api_key::metadata, 0, 12, 0},
    {api_key::offset_commit, 2, 9, 2},
    {api_key::offset_fetch, 1, 9, 1},
    {api_key::find_coordinator, 0, 5, 0},
    {api_key::join_group, 0, 9, 0},
    {api_key::heartbeat, 0, 4, 0},
    {api_key::leave_group, 0, 5, 0},
    {api_key::sync_group, 0, 5, 0},
    {api_key::describe_groups, 0, 5, 0},
    {api_key::list_groups, 0, 5, 0},
    {api_key::sasl_handshake, 0, 1, 0},
    {api_key::api_versions, 0, 4, 0},
    {api_key::create_topics, 2, 7, 2},
    {api_key::delete_topics, 1, 6, 1},
    {api_key::delete_records, 0, 2, 0},
    {api_key::init_producer_id, 0, 5, 0},
    {api_key::offset_for_leader_epoch, 2, 4, 2},
    {api_key::describe_acls, 0, 3, 0},
    {api_key::create_acls, 0, 3, 0},
    {api_key::delete_acls, 0, 3, 0},
    {api_key::describe_configs, 1, 4, 1},
    {api_key::alter_configs, 0, 2, 0},
    {api_key::describe_log_dirs, 1, 4, 1},
    {api_key::sasl_authenticate, 0, 2, 0},
    {api_key::create_partitions, 0, 3, 0},
    {api_key::delete_groups, 0, 2, 0},
    {api_key::elect_leaders, 0, 2, 0},
    {api_key::incremental_alter_configs, 0, 1, 0},
    {api_key::alter_partition_reassignments, 0, 1, 0},
    {api_key::list_partition_reassignments, 0, 0, 0},
    {api_key::offset_delete, 0, 0, 0},
    {api_key::describe_client_quotas, 0, 1, 0},
    {api_key::alter_client_quotas, 0, 1, 0},
    {api_key::describe_user_scram_credentials, 0, 0, 0},
    {api_key::alter_user_scram_credentials, 0, 0, 0},
    {api_key::describe_cluster, 0, 1, 0},
}};

static_assert(std::is_sorted(served.begin(), served.end(),
                             [](const api_support& a, const api_support& b) {
                               return to_int(a.key) < to_int(b.key);
                             }));

const api_facts* find_facts(api_key key) {
  for (const auto& f : all_apis) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

}  // namespace

std::string_view api_name(api_key key) {
  auto k = to_int(key);
  if (k < 0 || static_cast<size_t>(k) >= kafka_api_names.size())
    return "Unknown";
  return kafka_api_names[static_cast<size_t>(k)];
}

int16_t first_flexible_version(api_key key) {
  const api_facts* f = find_facts(key);
  return f ? f->first_flexible : int16_t{-1};
}

int16_t request_header_version(api_key key, int16_t version) {
  if (key == api_key::controlled_shutdown && version == 0) {
    return 0;
  }
  return is_flexible(key, version) ? 2 : 1;
}

int16_t response_header_version(api_key key, int16_t version) {
  if (key == api_key::api_versions) {
    return 0;
  }
  return is_flexible(key, version) ? 1 : 0;
}

std::span<const api_support> supported_apis() {
  return served;
}

const api_support* find_supported_api(api_key key) {
  auto it =
      std::lower_bound(served.begin(), served.end(), key,
                       [](const api_support& a, api_key k) { return to_int(a.key) < to_int(k); });
  return it != served.end() && it->key == key ? &*it : nullptr;
}

bool is_version_served(api_key key, int16_t version) {
  const api_support* s = find_supported_api(key);
  return s != nullptr && version >= s->min_served_version && version <= s->max_version;
}

}  // namespace strom::kafka::protocol
