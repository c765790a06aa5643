// Frames with file ranges (sendfile), header version selection, the API table, error codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "strom/kafka/protocol/codec.h"
#include "support/batches.h"
#include "test_util.h"

namespace strom::kafka::protocol {
namespace {

using test::bytes_of;
using test::hex;

/// A temporary file holding `content`; the fd is shared through the keepalive.
struct temp_file {
  explicit temp_file(std::span<const std::byte> content) {
    char name[] = "/tmp/strom_kafka_protocol_XXXXXX";
    fd = ::mkstemp(name);
    ::unlink(name);
    EXPECT_EQ(::pwrite(fd, content.data(), content.size(), 0),
              static_cast<ssize_t>(content.size()));
  }
  ~temp_file() { ::close(fd); }
  int fd = -1;
};

status pread_range(const file_range& r, std::span<std::byte> out) {
  ssize_t n = ::pread(r.fd, out.data(), out.size(), static_cast<off_t>(r.offset));
  if (n != static_cast<ssize_t>(out.size())) {
    return strom::error(std::make_error_code(std::errc::io_error), "short pread");
  }
  return ok();
}

TEST(Frame, FetchResponseWithFileRangesIsChunkedForSendfile) {
  auto b1 = ::strom::test::make_batch(2, 1000, 0);
  auto b2 = ::strom::test::make_batch(3, 1000, 2);
  auto b3 = ::strom::test::make_batch(1, 1000, 5);
  // The "segment" holds some other batch, then b2.
  auto other = ::strom::test::make_batch(4);
  std::vector<std::byte> segment = other;
  segment.insert(segment.end(), b2.begin(), b2.end());
  temp_file file(segment);
  auto keepalive = std::make_shared<int>(42);

  for (int16_t version : {4, 11, 12}) {
    SCOPED_TRACE(version);
    fetch_response resp;
    auto& p = resp.responses.emplace_back().partitions.emplace_back();
    p.records.append(b1);                                                       // memory
    p.records.append(file_range{keepalive, file.fd, other.size(), b2.size()});  // file
    p.records.append(b3);                                                       // memory
    frame f = encode_response_frame(5, version, resp).value();

    // Chunks: [prefix + header + ... + b1], [file range], [b3 + rest]
    ASSERT_EQ(f.chunks().size(), 3u);
    EXPECT_TRUE(std::holds_alternative<std::vector<std::byte>>(f.chunks()[0]));
    const auto& fr = std::get<file_range>(f.chunks()[1]);
    EXPECT_EQ(fr.fd, file.fd);
    EXPECT_EQ(fr.offset, other.size());
    EXPECT_EQ(fr.length, b2.size());
    EXPECT_EQ(fr.keepalive, keepalive);
    EXPECT_TRUE(std::holds_alternative<std::vector<std::byte>>(f.chunks()[2]));

    // Without a reader the frame cannot be flattened; with pread it equals the same response
    // built from memory.
    EXPECT_FALSE(f.flatten());
    auto bytes = f.flatten(pread_range);
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(bytes->size(), f.size_bytes());

    fetch_response in_memory = resp;
    std::vector<std::byte> all = b1;
    all.insert(all.end(), b2.begin(), b2.end());
    all.insert(all.end(), b3.begin(), b3.end());
    in_memory.responses[0].partitions[0].records = records(all);
    auto expected = test::flat(encode_response_frame(5, version, in_memory));
    EXPECT_EQ(hex(*bytes), hex(expected));

    // The size prefix counts everything after it, file bytes included.
    reader r(*bytes);
    EXPECT_EQ(static_cast<uint64_t>(r.read_int32()), f.size_bytes() - 4);

    // And the client side reads the records back as one contiguous view.
    auto back =
        decode_response<fetch_response>(std::span<const std::byte>(*bytes).subspan(4), version);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(hex(back->responses[0].partitions[0].records.view()), hex(all));

    auto chunks = std::move(f).take_chunks();
    EXPECT_EQ(chunks.size(), 3u);
  }
}

TEST(Frame, VariantEncodingMatchesTheTypedOne) {
  heartbeat_response resp;
  resp.error_code = error_code::rebalance_in_progress;
  for (int16_t v = 0; v <= 4; ++v) {
    EXPECT_EQ(hex(test::flat(encode_response_frame(3, v, resp))),
              hex(test::flat(encode_response_frame(3, v, response_body(resp)))));
  }
}

TEST(Headers, VersionSelection) {
  struct row {
    api_key key;
    int16_t version;
    int16_t request;
    int16_t response;
  };
  for (auto [key, v, req, resp] : {
           row{api_key::produce, 3, 1, 0},
           row{api_key::produce, 8, 1, 0},
           row{api_key::produce, 9, 2, 1},
           row{api_key::fetch, 11, 1, 0},
           row{api_key::fetch, 12, 2, 1},
           row{api_key::metadata, 8, 1, 0},
           row{api_key::metadata, 9, 2, 1},
           row{api_key::api_versions, 2, 1, 0},
           row{api_key::api_versions, 3, 2, 0},  // response header stays v0
           row{api_key::api_versions, 4, 2, 0},
           row{api_key::api_versions, 99, 2, 0},
           row{api_key::describe_cluster, 0, 2, 1},
           row{api_key::offset_delete, 0, 1, 0},
           row{api_key::sasl_handshake, 1, 1, 0},
           row{api_key::incremental_alter_configs, 1, 2, 1},
           row{api_key::controlled_shutdown, 0, 0, 0},
           row{static_cast<api_key>(999), 5, 1, 0},
       }) {
    SCOPED_TRACE(::testing::Message() << api_name(key) << " v" << v);
    EXPECT_EQ(request_header_version(key, v), req);
    EXPECT_EQ(response_header_version(key, v), resp);
  }
}

TEST(Headers, RequestHeaderRoundTrips) {
  for (int16_t hv : {0, 1, 2}) {
    request_header h{api_key::metadata, 4, -5, hv == 0 ? std::nullopt : std::optional("cl")};
    writer w;
    encode_request_header(w, h, hv);
    reader r(w.memory());
    auto back = decode_request_header(r, hv);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, h);
    EXPECT_EQ(r.remaining(), 0u);
  }
  request_header null_client{api_key::metadata, 1, 1, std::nullopt};
  writer w;
  encode_request_header(w, null_client);
  EXPECT_EQ(hex(w.memory()), "00 03 00 01 00 00 00 01 ff ff");
}

TEST(Headers, UnknownHeaderTagsAreSkipped) {
  // Metadata v9 (header v2) with a tag 3 of two bytes in the header, then the body.
  auto b = bytes_of({0x00, 0x03, 0x00, 0x09, 0,    0,    0,    4,    0xff, 0xff,
                     0x01, 0x03, 0x02, 0xaa, 0xbb, 0x00, 0x01, 0x00, 0x00, 0x00});
  auto req = decode_request(b);
  ASSERT_TRUE(req) << req.error().message();
  EXPECT_EQ(req->header.correlation_id, 4);
  EXPECT_EQ(req->header.client_id, std::nullopt);
  EXPECT_FALSE(std::get<metadata_request>(req->body).topics.has_value());
}

TEST(Headers, ResponseHeaderV1HasOneEmptyTagByte) {
  writer w;
  encode_response_header(w, 0x01020304, 1);
  EXPECT_EQ(hex(w.memory()), "01 02 03 04 00");
  reader r(w.memory());
  EXPECT_EQ(*decode_response_header(r, 1), 0x01020304);
}

TEST(Apis, SupportedTable) {
  auto apis = supported_apis();
  EXPECT_EQ(apis.size(), 39u);
  const api_support* produce = find_supported_api(api_key::produce);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->min_version, 0);  // advertised from 0 for librdkafka (KAFKA-18659)
  EXPECT_EQ(produce->min_served_version, 3);
  EXPECT_EQ(produce->max_version, 11);
  EXPECT_FALSE(is_version_served(api_key::produce, 2));
  EXPECT_TRUE(is_version_served(api_key::produce, 3));
  EXPECT_TRUE(is_version_served(api_key::fetch, 12));
  EXPECT_TRUE(is_version_served(api_key::fetch, 13));  // topics by id
  EXPECT_FALSE(is_version_served(api_key::fetch, 14));
  EXPECT_TRUE(is_version_served(api_key::metadata, 12));
  EXPECT_FALSE(is_version_served(api_key::metadata, 13));
  EXPECT_FALSE(is_version_served(api_key::fetch, 3));
  EXPECT_TRUE(is_version_served(api_key::api_versions, 4));
  EXPECT_FALSE(is_version_served(api_key::api_versions, 5));
  EXPECT_TRUE(is_version_served(api_key::sasl_handshake, 0));  // bare tokens follow
  EXPECT_TRUE(is_version_served(api_key::sasl_handshake, 1));
  EXPECT_TRUE(is_version_served(api_key::sasl_authenticate, 2));
  EXPECT_TRUE(is_version_served(api_key::alter_user_scram_credentials, 0));
  // Not yet: transactions.
  for (api_key k : {api_key::add_partitions_to_txn, api_key::add_offsets_to_txn, api_key::end_txn,
                    api_key::txn_offset_commit}) {
    EXPECT_EQ(find_supported_api(k), nullptr) << api_name(k);
  }
  EXPECT_EQ(api_name(api_key::offset_for_leader_epoch), "OffsetForLeaderEpoch");
  EXPECT_EQ(api_name(static_cast<api_key>(999)), "Unknown");
}

TEST(Apis, ApiVersionsResponseListsTheTable) {
  auto resp = make_api_versions_response();
  ASSERT_EQ(resp.api_keys.size(), supported_apis().size());
  for (size_t i = 0; i < resp.api_keys.size(); ++i) {
    EXPECT_EQ(resp.api_keys[i].api_key, to_int(supported_apis()[i].key));
    EXPECT_EQ(resp.api_keys[i].min_version, supported_apis()[i].min_version);
    EXPECT_EQ(resp.api_keys[i].max_version, supported_apis()[i].max_version);
  }
  EXPECT_EQ(resp.error_code, error_code::none);
}

TEST(ErrorCodes, NamesAndValues) {
  EXPECT_EQ(to_int(error_code::unknown_server_error), -1);
  EXPECT_EQ(to_int(error_code::unknown_topic_or_partition), 3);
  EXPECT_EQ(to_int(error_code::unsupported_version), 35);
  EXPECT_EQ(to_int(error_code::invalid_record), 87);
  EXPECT_EQ(to_int(error_code::transaction_abortable), 120);
  EXPECT_EQ(error_name(error_code::not_leader_or_follower), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(error_name(error_code::none), "NONE");
  EXPECT_EQ(error_name(static_cast<error_code>(9999)), "UNKNOWN");
  EXPECT_TRUE(is_retriable(error_code::not_leader_or_follower));
  EXPECT_TRUE(is_retriable(error_code::corrupt_message));
  EXPECT_FALSE(is_retriable(error_code::invalid_record));
  EXPECT_FALSE(is_retriable(error_code::none));
}

TEST(ErrorCodes, ProtocolErrcHasACategory) {
  strom::error e(errc::truncated, "x");
  EXPECT_EQ(e.message(), "truncated input: x");
  EXPECT_STREQ(e.code().category().name(), "strom.kafka.protocol");
}

}  // namespace
}  // namespace strom::kafka::protocol

namespace strom::kafka::protocol {
namespace {

// A response too large for its length prefixes, or for the writer's limit, is an error the
// caller maps to a Kafka error: encoding never aborts and never grows past the limit.
TEST(FrameLimits, RecordsBeyondInt32AreAnErrorNotAnAbort) {
  fetch_response resp;
  auto& p = resp.responses.emplace_back().partitions.emplace_back();
  // File ranges cost no memory: 3 GiB of "records" in two pieces.
  auto keepalive = std::make_shared<int>(0);
  p.records.append(file_range{keepalive, 3, 0, uint64_t{1} << 30});
  p.records.append(file_range{keepalive, 3, 0, uint64_t{2} << 30});
  auto f = encode_response_frame(1, 12, resp);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), errc::too_large_to_encode);
}

TEST(FrameLimits, FramesOverTheLimitAreRefusedWhateverTheirPieces) {
  // 1.5 GiB + 1.5 GiB of ranges: each field fits an INT32, the frame does not.
  fetch_response resp;
  auto keepalive = std::make_shared<int>(0);
  for (int i = 0; i < 2; ++i) {
    auto& p = resp.responses.emplace_back().partitions.emplace_back();
    p.records.append(file_range{keepalive, 3, 0, uint64_t{3} << 29});
  }
  auto f = encode_response_frame(1, 4, resp);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), errc::too_large_to_encode);
}

TEST(FrameLimits, AWriterStopsGrowingAtItsLimit) {
  metadata_response resp;
  for (int i = 0; i < 1000; ++i)
    resp.topics.emplace_back().name = std::string(100, 'x');
  auto small = encode_response_frame(1, 9, resp, 4096);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code(), errc::too_large_to_encode);
  auto whole = encode_response_frame(1, 9, resp);
  ASSERT_TRUE(whole);
  EXPECT_GT(whole->size_bytes(), 100000u);

  writer w = writer::for_frame(64);
  w.write_bytes(std::vector<std::byte>(100), false);
  EXPECT_TRUE(w.failed());
  EXPECT_LE(w.size(), 64u);
  w.write_int64(1);  // dropped once failed
  EXPECT_LE(w.size(), 64u);
  EXPECT_FALSE(std::move(w).finish_frame());
}

TEST(FrameLimits, ArraysBeyondInt32AreAnError) {
  writer w = writer::for_frame();
  w.write_array_length(size_t{1} << 31, false);
  EXPECT_TRUE(w.failed());
  EXPECT_FALSE(std::move(w).finish_frame());
}

}  // namespace
}  // namespace strom::kafka::protocol
