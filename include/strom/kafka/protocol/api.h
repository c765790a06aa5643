#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace strom::kafka::protocol {

/// Kafka API keys (INT16 on the wire). Lists the APIs Strom serves plus the client APIs it
/// knows about but does not serve yet (SASL, transactions, KIP-848), so that header versions
/// and names are right for them too. A decoded key may hold any other number.
enum class api_key : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  controlled_shutdown = 7,  ///< inter-broker; only here because its v0 used request header v0
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  init_producer_id = 22,
  offset_for_leader_epoch = 23,
  add_partitions_to_txn = 24,
  add_offsets_to_txn = 25,
  end_txn = 26,
  txn_offset_commit = 28,
  describe_acls = 29,
  create_acls = 30,
  delete_acls = 31,
  describe_configs = 32,
  alter_configs = 33,
  describe_log_dirs = 35,
  sasl_authenticate = 36,
  create_partitions = 37,
  delete_groups = 42,
  elect_leaders = 43,
  incremental_alter_configs = 44,
  alter_partition_reassignments = 45,
  list_partition_reassignments = 46,
  offset_delete = 47,
  describe_client_quotas = 48,
  alter_client_quotas = 49,
  describe_user_scram_credentials = 50,
  alter_user_scram_credentials = 51,
  describe_cluster = 60,
  consumer_group_heartbeat = 68,
};

[[nodiscard]] constexpr int16_t to_int(api_key k) {
  return static_cast<int16_t>(k);
}

/// "Produce", "ApiVersions", ... : Kafka's name of any key Kafka defines (0 to 75), also of
/// APIs Strom does not know otherwise (e.g. 4, "LeaderAndIsr"); "Unknown" for other numbers.
[[nodiscard]] std::string_view api_name(api_key key);

/// The first flexible version of an API (KIP-482: compact encodings and tagged fields from
/// that version on), or -1 when the API has none or is unknown.
[[nodiscard]] int16_t first_flexible_version(api_key key);
[[nodiscard]] inline bool is_flexible(api_key key, int16_t version) {
  int16_t f = first_flexible_version(key);
  return f >= 0 && version >= f;
}

/// Request header version (0, 1 or 2) for a request of `key` at `version`: 2 when the
/// version is flexible, else 1 (0 only for ControlledShutdown v0). Unknown keys get 1.
[[nodiscard]] int16_t request_header_version(api_key key, int16_t version);
/// Response header version (0 or 1): 1 when flexible, else 0. ApiVersions responses always
/// use 0, even for its flexible versions (KIP-511), so any client can read the error code.
[[nodiscard]] int16_t response_header_version(api_key key, int16_t version);

/// One API Strom advertises in ApiVersions.
struct api_support {
  api_key key;
  int16_t min_version;         ///< advertised minimum
  int16_t max_version;         ///< advertised and served maximum
  int16_t min_served_version;  ///< lowest version actually served (>= min_version)
};

/// The APIs Strom advertises, sorted by key (phase 1 of the protocol reference §3.2, the SASL,
/// SCRAM credential and ACL APIs; no transactions yet). Produce is advertised from 0 but
/// served from 3: clients need 0 in the range (KAFKA-18659); a v0-2 request gets its
/// connection closed.
[[nodiscard]] std::span<const api_support> supported_apis();
/// The entry for `key`, or nullptr when Strom does not serve the API.
[[nodiscard]] const api_support* find_supported_api(api_key key);
/// Whether Strom serves `key` at `version` (advertised and not below min_served_version).
[[nodiscard]] bool is_version_served(api_key key, int16_t version);

}  // namespace strom::kafka::protocol
