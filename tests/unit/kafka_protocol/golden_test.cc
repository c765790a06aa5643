// Byte-exact encodings checked by hand against the Kafka protocol reference (§1, §2, §4).
#include <gtest/gtest.h>

#include "strom/kafka/protocol/codec.h"
#include "support/batches.h"
#include "test_util.h"

namespace strom::kafka::protocol {
namespace {

using test::bytes_of;
using test::concat;
using test::flat;
using test::hex;

std::vector<std::byte> be32(uint32_t v) {
  return bytes_of({static_cast<int>(v >> 24), static_cast<int>((v >> 16) & 0xff),
                   static_cast<int>((v >> 8) & 0xff), static_cast<int>(v & 0xff)});
}

std::span<const std::byte> payload_of(const std::vector<std::byte>& frame_bytes) {
  return std::span<const std::byte>(frame_bytes).subspan(4);
}

TEST(Golden, ApiVersionsV0Request) {
  request_header h{api_key::api_versions, 0, 7, "c"};
  auto bytes = flat(encode_request_frame(h, api_versions_request{}));
  // size 11 | key 18 | version 0 | correlation 7 | client_id "c" (INT16 length) | empty body
  EXPECT_EQ(hex(bytes), "00 00 00 0b 00 12 00 00 00 00 00 07 00 01 63");
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_EQ(req->header, h);
  EXPECT_TRUE(std::holds_alternative<api_versions_request>(req->body));
}

TEST(Golden, ApiVersionsV3Request) {
  request_header h{api_key::api_versions, 3, 1, "rdkafka"};
  api_versions_request body;
  body.client_software_name = "librdkafka";
  body.client_software_version = "2.0.2";
  auto bytes = flat(encode_request_frame(h, body));
  auto expected = concat({
      bytes_of({0x00, 0x00, 0x00, 0x24}),           // size 36
      bytes_of({0x00, 0x12, 0x00, 0x03}),           // ApiVersions v3 => request header v2
      bytes_of({0x00, 0x00, 0x00, 0x01}),           // correlation id
      bytes_of({0x00, 0x07}), bytes_of("rdkafka"),  // client_id: INT16 length even in v2
      bytes_of({0x00}),                             // header tagged fields
      bytes_of({0x0b}), bytes_of("librdkafka"),     // COMPACT_STRING: length + 1
      bytes_of({0x06}), bytes_of("2.0.2"),          //
      bytes_of({0x00}),                             // body tagged fields
  });
  EXPECT_EQ(hex(bytes), hex(expected));
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_EQ(req->header, h);
  EXPECT_TRUE(std::get<api_versions_request>(req->body) == body);
}

api_versions_response one_entry_response(error_code e) {
  api_versions_response r;
  r.error_code = e;
  r.api_keys.push_back({18, 0, 4});
  return r;
}

TEST(Golden, ApiVersionsV0ResponseIsTheReferenceExample) {
  // Reference §2.2: the v0-format UNSUPPORTED_VERSION answer to correlation id 7.
  auto bytes =
      flat(encode_response_frame(7, 0, one_entry_response(error_code::unsupported_version)));
  EXPECT_EQ(hex(bytes), "00 00 00 10 00 00 00 07 00 23 00 00 00 01 00 12 00 00 00 04");
}

TEST(Golden, ApiVersionsV3ResponseKeepsResponseHeaderV0) {
  auto resp = one_entry_response(error_code::none);
  auto bytes = flat(encode_response_frame(9, 3, resp));
  // size 19 | correlation 9 (header v0: no tag byte) | error 0 | compact array of 1 |
  // {18, 0, 4, tags} | throttle 0 | tags
  EXPECT_EQ(hex(bytes), "00 00 00 13 00 00 00 09 00 00 02 00 12 00 00 00 04 00 00 00 00 00 00");
  int32_t id = 0;
  auto back = decode_response<api_versions_response>(payload_of(bytes), 3, &id);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(id, 9);
  EXPECT_TRUE(*back == resp);

  // A tagged field: FinalizedFeaturesEpoch (tag 1, INT64) once it differs from its default.
  resp.finalized_features_epoch = 5;
  auto tagged = flat(encode_response_frame(9, 3, resp));
  EXPECT_EQ(hex(tagged),
            "00 00 00 1d 00 00 00 09 00 00 02 00 12 00 00 00 04 00 00 00 00 00 "
            "01 01 08 00 00 00 00 00 00 00 05");
  auto back2 = decode_response<api_versions_response>(payload_of(tagged), 3);
  ASSERT_TRUE(back2);
  EXPECT_EQ(back2->finalized_features_epoch, 5);
}

TEST(Golden, UnsupportedApiVersionsAnswerListsEveryApi) {
  auto bytes = flat(encode_unsupported_api_versions_response(7));
  size_t n = supported_apis().size();
  ASSERT_EQ(bytes.size(), 4 + 4 + 2 + 4 + 6 * n);
  // size | correlation 7 | error 35 | INT32 count | first entry: Produce 0-11
  EXPECT_EQ(hex(std::span(bytes).first(20)),
            hex(concat({be32(static_cast<uint32_t>(bytes.size() - 4)), be32(7), bytes_of({0, 35}),
                        be32(static_cast<uint32_t>(n)), bytes_of({0, 0, 0, 0, 0, 11})})));
  auto back = decode_response<api_versions_response>(payload_of(bytes), 0);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->error_code, error_code::unsupported_version);
  bool has_api_versions = false;
  for (const auto& k : back->api_keys) {
    if (k.api_key == 18) {
      has_api_versions = true;
      EXPECT_EQ(k.min_version, 0);
      EXPECT_EQ(k.max_version, 4);
    }
  }
  EXPECT_TRUE(has_api_versions);
}

TEST(Golden, MetadataV9Request) {
  request_header h{api_key::metadata, 9, 3, "c"};
  metadata_request body;
  body.topics.emplace().emplace_back().name = "t";
  body.allow_auto_topic_creation = true;
  body.include_topic_authorized_operations = true;
  auto bytes = flat(encode_request_frame(h, body));
  EXPECT_EQ(hex(bytes),
            "00 00 00 14 "                          // size 20
            "00 03 00 09 00 00 00 03 00 01 63 00 "  // header v2
            "02 02 74 00 "                          // topics: compact array of 1 {name "t", tags}
            "01 00 01 "  // allow_auto, include_cluster_ops, include_topic_ops
            "00");       // tags
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req);
  EXPECT_TRUE(std::get<metadata_request>(req->body) == body);

  // Null topics ("all topics" from v1) is the compact null 0x00.
  metadata_request all;
  all.topics.reset();
  writer w;
  all.encode(w, 9);
  EXPECT_EQ(hex(w.memory()), "00 01 00 00 00");
}

TEST(Golden, ProduceV3Request) {
  auto batch = ::strom::test::make_batch(2);
  request_header h{api_key::produce, 3, 9, "c"};
  produce_request body;
  body.acks = -1;
  body.timeout_ms = 30000;
  body.topic_data.push_back({"t", {{0, records(batch)}}});
  auto bytes = flat(encode_request_frame(h, body));
  auto expected = concat({
      be32(static_cast<uint32_t>(11 + 27 + batch.size())),
      bytes_of({0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x63}),  // header v1
      bytes_of({0xff, 0xff}),                            // transactional_id null (INT16 -1)
      bytes_of({0xff, 0xff}),                            // acks -1
      bytes_of({0x00, 0x00, 0x75, 0x30}),                // timeout 30000
      be32(1), bytes_of({0x00, 0x01, 0x74}),             // one topic "t"
      be32(1), be32(0),                                  // one partition, index 0
      be32(static_cast<uint32_t>(batch.size())), batch,  // records: INT32 length + batch
  });
  EXPECT_EQ(hex(bytes), hex(expected));
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req) << req.error().message();
  const auto& p = std::get<produce_request>(req->body).topic_data.at(0).partition_data.at(0);
  // Zero copy: the records view points at the batch inside the request buffer.
  EXPECT_EQ(p.records.view().data(), bytes.data() + bytes.size() - batch.size());
  EXPECT_EQ(p.records.size_bytes(), batch.size());
}

TEST(Golden, ProduceV9Request) {
  auto batch = ::strom::test::make_batch(1);
  request_header h{api_key::produce, 9, 9, "c"};
  produce_request body;
  body.acks = 1;
  body.timeout_ms = 30000;
  body.topic_data.push_back({"t", {{0, records(batch)}}});
  auto bytes = flat(encode_request_frame(h, body));
  ASSERT_LT(batch.size() + 1, 128u);  // one-byte varint length below
  auto expected = concat({
      be32(static_cast<uint32_t>(12 + 19 + batch.size())),
      bytes_of({0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x09, 0x00, 0x01, 0x63, 0x00}),  // v2
      bytes_of({0x00}),                    // transactional_id: compact null
      bytes_of({0x00, 0x01}),              // acks 1
      bytes_of({0x00, 0x00, 0x75, 0x30}),  // timeout
      bytes_of({0x02, 0x02, 0x74}),        // compact array of 1, compact string "t"
      bytes_of({0x02}), be32(0),           // compact array of 1 partition, index 0
      bytes_of({static_cast<int>(batch.size() + 1)}), batch,  // COMPACT_NULLABLE_BYTES
      bytes_of({0x00, 0x00, 0x00}),                           // tags: partition, topic, request
  });
  EXPECT_EQ(hex(bytes), hex(expected));
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_TRUE(std::get<produce_request>(req->body) == body);
}

fetch_response one_batch_fetch_response(const std::vector<std::byte>& batch) {
  fetch_response resp;
  auto& topic = resp.responses.emplace_back();
  topic.topic = "t";
  auto& p = topic.partitions.emplace_back();
  p.partition_index = 0;
  p.high_watermark = 5;
  p.last_stable_offset = 5;
  p.aborted_transactions.reset();  // null for read_uncommitted, as Kafka sends
  p.records = records(batch);
  return resp;
}

TEST(Golden, FetchV4ResponseWithOneBatch) {
  auto batch = ::strom::test::make_batch(3);
  auto bytes = flat(encode_response_frame(11, 4, one_batch_fetch_response(batch)));
  auto expected = concat({
      be32(static_cast<uint32_t>(4 + 45 + batch.size())),
      be32(11),  // correlation id (response header v0)
      be32(0),   // throttle_time_ms
      be32(1),
      bytes_of({0x00, 0x01, 0x74}),  // one topic "t"
      be32(1),
      be32(0),                             // one partition, index 0
      bytes_of({0x00, 0x00}),              // error_code
      bytes_of({0, 0, 0, 0, 0, 0, 0, 5}),  // high_watermark
      bytes_of({0, 0, 0, 0, 0, 0, 0, 5}),  // last_stable_offset
      bytes_of({0xff, 0xff, 0xff, 0xff}),  // aborted_transactions: null
      be32(static_cast<uint32_t>(batch.size())),
      batch,
  });
  EXPECT_EQ(hex(bytes), hex(expected));
  auto back = decode_response<fetch_response>(payload_of(bytes), 4);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(*back == one_batch_fetch_response(batch));
}

TEST(Golden, FetchV12ResponseTaggedStructField) {
  fetch_response resp;
  auto& p = resp.responses.emplace_back().partitions.emplace_back();
  p.current_leader = {1, 2};  // tag 1
  p.aborted_transactions.reset();
  writer w;
  resp.encode(w, 12);
  EXPECT_EQ(hex(w.memory()),
            "00 00 00 00 00 00 00 00 00 00 "                    // throttle, error_code, session_id
            "02 01 02 "                                         // one topic, name "", one partition
            "00 00 00 00 00 00 "                                // index, error
            "00 00 00 00 00 00 00 00 "                          // high_watermark
            "ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff "  // LSO -1, log_start -1
            "00 ff ff ff ff 01 "  // aborted null, preferred replica -1, records ""
            "01 01 09 00 00 00 01 00 00 00 02 00 "  // tags: 1 field, tag 1, 9 bytes
            "00 00");                               // topic tags, response tags
}

// AlterPartitionReassignmentsRequest.json: flexible from v0, so request header v2 and compact
// encodings; replicas is a nullable []int32 (null = cancel the partition's move).
TEST(Golden, AlterPartitionReassignmentsV0Request) {
  request_header h{api_key::alter_partition_reassignments, 0, 5, "c"};
  alter_partition_reassignments_request body;
  body.timeout_ms = 30000;
  auto& t = body.topics.emplace_back();
  t.name = "t";
  t.partitions.push_back({0, std::vector<int32_t>{1, 2}});
  t.partitions.push_back({1, std::nullopt});
  auto bytes = flat(encode_request_frame(h, body));
  EXPECT_EQ(hex(bytes),
            "00 00 00 2a "                                // size 42
            "00 2d 00 00 00 00 00 05 00 01 63 00 "        // key 45, v0, correlation 5, "c", tags
            "00 00 75 30 "                                // timeout_ms 30000
            "02 02 74 "                                   // one topic, name "t"
            "03 "                                         // two partitions
            "00 00 00 00 03 00 00 00 01 00 00 00 02 00 "  // 0: replicas [1, 2], tags
            "00 00 00 01 00 00 "                          // 1: replicas null, tags
            "00 "                                         // topic tags
            "00");                                        // body tags
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_EQ(req->header, h);
  const auto& back = std::get<alter_partition_reassignments_request>(req->body);
  EXPECT_TRUE(back == body);
  EXPECT_TRUE(back.allow_replication_factor_change);  // v0 has no flag: allowed
  ASSERT_TRUE(back.topics[0].partitions[0].replicas.has_value());
  EXPECT_FALSE(back.topics[0].partitions[1].replicas.has_value());
}

// v1 (KIP-860) adds AllowReplicationFactorChange after TimeoutMs, in the request and after
// ThrottleTimeMs in the response.
TEST(Golden, AlterPartitionReassignmentsV1RequestAndResponse) {
  alter_partition_reassignments_request body;
  body.allow_replication_factor_change = false;
  writer w;
  body.encode(w, 1);
  EXPECT_EQ(hex(w.memory()), "00 00 ea 60 00 01 00");  // timeout 60000, false, no topic, tags

  alter_partition_reassignments_response resp;
  resp.allow_replication_factor_change = false;
  auto& p = resp.responses.emplace_back();
  p.name = "t";
  p.partitions.push_back({3, error_code::invalid_replication_factor, "m"});
  writer rw;
  resp.encode(rw, 1);
  EXPECT_EQ(hex(rw.memory()),
            "00 00 00 00 00 "              // throttle, allow false
            "00 00 00 "                    // error_code, error_message null
            "02 02 74 02 "                 // one topic "t", one partition
            "00 00 00 03 00 26 02 6d 00 "  // 3, INVALID_REPLICATION_FACTOR (38), "m", tags
            "00 00");                      // topic tags, body tags
  reader r(rw.memory());
  alter_partition_reassignments_response back;
  ASSERT_TRUE(back.decode(r, 1));
  EXPECT_TRUE(back == resp);
}

TEST(Golden, ListPartitionReassignmentsV0) {
  request_header h{api_key::list_partition_reassignments, 0, 7, "c"};
  list_partition_reassignments_request all;  // topics null: every move in flight
  EXPECT_FALSE(all.topics.has_value());
  auto bytes = flat(encode_request_frame(h, all));
  EXPECT_EQ(hex(bytes),
            "00 00 00 12 "                          // size 18
            "00 2e 00 00 00 00 00 07 00 01 63 00 "  // key 46, v0, correlation 7, "c", tags
            "00 00 ea 60 00 00");                   // timeout 60000, topics null, tags
  auto req = decode_request(payload_of(bytes));
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_TRUE(std::get<list_partition_reassignments_request>(req->body) == all);

  list_partition_reassignments_request some;
  some.topics.emplace().push_back({"t", {0, 2}});
  writer w;
  some.encode(w, 0);
  EXPECT_EQ(hex(w.memory()), "00 00 ea 60 02 02 74 03 00 00 00 00 00 00 00 02 00 00");

  list_partition_reassignments_response resp;
  auto& t = resp.topics.emplace_back();
  t.name = "t";
  t.partitions.push_back({0, {2, 3, 1}, {3}, {1}});
  auto rbytes = flat(encode_response_frame(9, 0, resp));
  EXPECT_EQ(hex(rbytes),
            "00 00 00 2e "                             // size 46
            "00 00 00 09 00 "                          // correlation 9, response header v1 tags
            "00 00 00 00 00 00 00 "                    // throttle, error_code, error_message null
            "02 02 74 02 00 00 00 00 "                 // one topic "t", one partition: 0
            "04 00 00 00 02 00 00 00 03 00 00 00 01 "  // replicas [2, 3, 1]
            "02 00 00 00 03 "                          // adding [3]
            "02 00 00 00 01 "                          // removing [1]
            "00 00 00");                               // partition, topic, body tags
  auto back = decode_response<list_partition_reassignments_response>(payload_of(rbytes), 0);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(*back == resp);
}

}  // namespace
}  // namespace strom::kafka::protocol
