#include <gtest/gtest.h>

#include "strom/bytes/endian.h"
#include "strom/model/batch_builder.h"
#include "strom/model/compression.h"
#include "strom/model/records.h"
#include "strom/model/validated_batch.h"
#include "support/batches.h"
#include "support/raw_records.h"

namespace strom::model {
namespace {

namespace L = batch_layout;
using test::plain_records;
using test::raw_batch;
using test::raw_batch_options;
using test::raw_record;
using test::record_bytes;

validation_policy client() {
  return {};
}

/// The error code of validating `b` with `p` (the batch must fail).
std::error_code refused(std::vector<std::byte> b, validation_policy p = client()) {
  auto v = validate_for_append(b, p);
  if (v)
    return {};
  return v.error().code();
}

bool accepted(std::vector<std::byte> b, validation_policy p = client()) {
  return validate_for_append(b, p).has_value();
}

std::vector<std::byte> join(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(Validator, AcceptsProducerBatchesOfEveryCodec) {
  for (auto c : {compression::none, compression::gzip, compression::snappy, compression::lz4,
                 compression::zstd}) {
    batch_builder b(5000);
    b.codec(c);
    b.add(std::optional<std::string_view>("a"), std::optional<std::string_view>("1"), 5000);
    b.add(std::optional<std::string_view>("b"), std::nullopt, 5007);
    auto bytes = b.build();
    auto v = validate_for_append(bytes, client());
    ASSERT_TRUE(v) << static_cast<int>(c) << ": " << v.error().message();
    EXPECT_EQ(v->header().records_count, 2);
    EXPECT_EQ(v->header().max_timestamp, 5007);
    EXPECT_TRUE(v->all_keyed());
    EXPECT_EQ(v->size_bytes(), bytes.size());
  }
}

TEST(Validator, TruncatedRecordWithAValidCrcIsInvalidRecord) {
  // The record's length prefix says three bytes more than the records section holds.
  auto recs = record_bytes(raw_record{}, 3);
  EXPECT_EQ(refused(raw_batch(recs)), batch_errc::invalid_record);
  // The last record cut short.
  auto two = plain_records(2);
  two.pop_back();
  EXPECT_EQ(refused(raw_batch(two, {.records_count = 2})), batch_errc::invalid_record);
  // A record shorter than its own fields (length 2).
  auto shorter = record_bytes(raw_record{}, -5);
  EXPECT_EQ(refused(raw_batch(shorter)), batch_errc::invalid_record);
}

TEST(Validator, OffsetDeltasMustBeZeroToNMinusOneInOrder) {
  auto rec = [](int64_t delta) {
    raw_record r;
    r.offset_delta = delta;
    return record_bytes(r);
  };
  EXPECT_EQ(refused(raw_batch(join({rec(0), rec(2)}), {.records_count = 2})),
            batch_errc::invalid_record);
  EXPECT_EQ(refused(raw_batch(join({rec(1), rec(0)}), {.records_count = 2})),
            batch_errc::invalid_record);
  EXPECT_EQ(refused(raw_batch(join({rec(0), rec(0)}), {.records_count = 2})),
            batch_errc::invalid_record);
  EXPECT_EQ(refused(raw_batch(rec(-1))), batch_errc::invalid_record);
  // A forged delta far beyond the batch (what would move a key's "newest" offset).
  EXPECT_EQ(refused(raw_batch(rec(1000000))), batch_errc::invalid_record);
  EXPECT_TRUE(accepted(raw_batch(join({rec(0), rec(1)}), {.records_count = 2})));
}

TEST(Validator, CountsMustMatchTheRecordsPresent) {
  // recordsCount == lastOffsetDelta + 1 == 3, two records present.
  EXPECT_EQ(refused(raw_batch(plain_records(2), {.records_count = 3})), batch_errc::invalid_record);
  // recordsCount 1, two records present: the second is bytes left over.
  EXPECT_EQ(refused(raw_batch(plain_records(2), {.records_count = 1})), batch_errc::invalid_record);
  // recordsCount disagrees with lastOffsetDelta (Kafka: INVALID_RECORD).
  EXPECT_EQ(refused(raw_batch(plain_records(2), {.records_count = 2, .last_offset_delta = 4})),
            batch_errc::bad_count);
  EXPECT_EQ(refused(raw_batch({}, {.records_count = 0})), batch_errc::bad_count);
  // A huge announced count with one record: refused without trying to allocate.
  EXPECT_EQ(refused(raw_batch(plain_records(1), {.records_count = INT32_MAX})),
            batch_errc::invalid_record);
}

TEST(Validator, BytesLeftOverAreInvalid) {
  auto recs = plain_records(1);
  recs.push_back(std::byte{0});
  EXPECT_EQ(refused(raw_batch(recs)), batch_errc::invalid_record);
  // Bytes left inside a record (its length covers more than its fields).
  raw_record r;
  auto body = test::record_body(r);
  body.push_back(std::byte{7});
  std::vector<std::byte> one;
  test::put_varlong(one, static_cast<int64_t>(body.size()));
  one.insert(one.end(), body.begin(), body.end());
  EXPECT_EQ(refused(raw_batch(one)), batch_errc::invalid_record);
}

TEST(Validator, HeadersAreChecked) {
  raw_record ok;
  ok.headers = {{"h", "1"}, {"g", std::nullopt}};
  EXPECT_TRUE(accepted(raw_batch(record_bytes(ok))));
  // A null header key.
  raw_record null_key;
  null_key.headers = {{std::nullopt, "1"}};
  EXPECT_EQ(refused(raw_batch(record_bytes(null_key))), batch_errc::invalid_record);
  // A header count larger than the record: rewrite the count byte of a one-header record.
  raw_record one;
  one.headers = {{"h", "1"}};
  auto body = test::record_body(one);
  // body: attrs, ts, od, key(len+1), value(len+1), count at index 7.
  ASSERT_EQ(body[7], std::byte{2});  // zig-zag 1
  for (int64_t count : {int64_t{1000}, int64_t{INT32_MAX}, int64_t{-1}}) {
    std::vector<std::byte> forged(body.begin(), body.begin() + 7);
    test::put_varlong(forged, count);
    forged.insert(forged.end(), body.begin() + 8, body.end());
    std::vector<std::byte> rec;
    test::put_varlong(rec, static_cast<int64_t>(forged.size()));
    rec.insert(rec.end(), forged.begin(), forged.end());
    EXPECT_EQ(refused(raw_batch(rec)), batch_errc::invalid_record) << count;
  }
}

TEST(Validator, KeyAndValueLengthsAreChecked) {
  raw_record r;
  r.key = std::nullopt;
  auto body = test::record_body(r);
  // The key length (-1, zig-zag 1) at index 3: make it -2, then a length beyond the record.
  for (int64_t len : {int64_t{-2}, int64_t{100}, int64_t{INT32_MAX}}) {
    std::vector<std::byte> forged(body.begin(), body.begin() + 3);
    test::put_varlong(forged, len);
    forged.insert(forged.end(), body.begin() + 4, body.end());
    std::vector<std::byte> rec;
    test::put_varlong(rec, static_cast<int64_t>(forged.size()));
    rec.insert(rec.end(), forged.begin(), forged.end());
    EXPECT_EQ(refused(raw_batch(rec)), batch_errc::invalid_record) << len;
  }
}

TEST(Validator, OverlongVarintsAreInvalid) {
  // A record length of six bytes.
  std::vector<std::byte> recs = {std::byte{0x80}, std::byte{0x80}, std::byte{0x80},
                                 std::byte{0x80}, std::byte{0x80}, std::byte{0x00}};
  EXPECT_EQ(refused(raw_batch(recs)), batch_errc::invalid_record);
  // An offset delta of six bytes inside a record.
  std::vector<std::byte> body = {std::byte{0}, std::byte{0}};
  for (int i = 0; i < 5; ++i)
    body.push_back(std::byte{0x80});
  body.push_back(std::byte{0});
  body.insert(body.end(), {std::byte{1}, std::byte{1}, std::byte{0}});
  std::vector<std::byte> rec;
  test::put_varlong(rec, static_cast<int64_t>(body.size()));
  rec.insert(rec.end(), body.begin(), body.end());
  EXPECT_EQ(refused(raw_batch(rec)), batch_errc::invalid_record);
}

TEST(Validator, CompressedBatchesAreValidatedAfterDecompression) {
  auto rec = [](int64_t delta) {
    raw_record r;
    r.offset_delta = delta;
    return record_bytes(r);
  };
  for (auto c : {compression::gzip, compression::snappy, compression::lz4, compression::zstd}) {
    // A bad record hidden inside the compressed section.
    EXPECT_EQ(refused(raw_batch(join({rec(0), rec(5)}), {.records_count = 2, .codec = c})),
              batch_errc::invalid_record)
        << static_cast<int>(c);
    auto cut = record_bytes(raw_record{}, 4);
    EXPECT_EQ(refused(raw_batch(cut, {.codec = c})), batch_errc::invalid_record);
  }
  // A compressed section that is not a valid stream.
  std::vector<std::byte> junk(40, std::byte{0x5a});
  model::batch_header h;
  h.attributes = static_cast<int16_t>(compression::gzip);
  h.records_count = 1;
  h.last_offset_delta = 0;
  EXPECT_EQ(refused(encode_batch(h, junk)), batch_errc::bad_compression);
  // A bomb: 8 MiB of zeros behind one record, with a 1 MiB limit.
  std::vector<std::byte> zeros(8 << 20, std::byte{0});
  auto bomb = raw_batch(zeros, {.codec = compression::gzip});
  EXPECT_LT(bomb.size(), 64u << 10);
  auto p = client();
  p.max_decompressed_bytes = 1 << 20;
  EXPECT_EQ(refused(bomb, p), batch_errc::invalid_record);
  // Within the limit the zeros are still not one record.
  p.max_decompressed_bytes = 16 << 20;
  EXPECT_EQ(refused(bomb, p), batch_errc::invalid_record);
}

TEST(Validator, BatchLevelChecksKeepTheirCodes) {
  auto good = test::make_batch(2);
  EXPECT_EQ(refused({}), batch_errc::invalid_record);
  EXPECT_EQ(refused(std::vector<std::byte>(good.begin(), good.begin() + 30)),
            batch_errc::truncated);
  {
    auto b = good;
    b.pop_back();
    EXPECT_EQ(refused(b), batch_errc::truncated);
  }
  {
    auto b = good;
    b.back() ^= std::byte{1};
    EXPECT_EQ(refused(b), batch_errc::bad_crc);
  }
  {
    auto b = good;
    b[L::magic] = std::byte{1};
    EXPECT_EQ(refused(b), batch_errc::bad_magic);
  }
  auto two = join({good, good});
  EXPECT_EQ(refused(two), batch_errc::invalid_record);
  auto p = client();
  p.max_batch_bytes = 20;
  EXPECT_EQ(refused(good, p), batch_errc::too_large);
}

TEST(Validator, ClientOnlyChecks) {
  auto recs = plain_records(1);
  // Control batches, a base offset other than 0, a producer id without a sequence.
  auto control = raw_batch(recs, {.attributes = 0x20});
  auto offset = raw_batch(recs, {.base_offset = 7});
  auto no_seq = raw_batch(recs, {.producer_id = 5, .producer_epoch = 0, .base_sequence = -1});
  for (auto* b : {&control, &offset, &no_seq}) {
    EXPECT_EQ(refused(*b), batch_errc::invalid_record);
    validation_policy internal;
    internal.origin = append_origin::internal;
    auto copy = *b;
    EXPECT_TRUE(validate_for_append(copy, internal));
  }
}

TEST(Validator, CompactedTopicsNeedKeysAndListTheRecords) {
  raw_record keyed;
  raw_record keyless;
  keyless.key = std::nullopt;
  keyless.offset_delta = 1;
  raw_record keyless2 = keyless;
  keyless2.offset_delta = 2;
  auto b = raw_batch(join({record_bytes(keyed), record_bytes(keyless), record_bytes(keyless2)}),
                     {.records_count = 3});
  auto copy = b;
  auto plain = validate_for_append(copy, client());
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->all_keyed());
  auto p = client();
  p.compacted = true;
  std::vector<record_error> errors;
  auto v = validate_for_append(b, p, &errors);
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().is(batch_errc::missing_key));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].batch_index, 1);
  EXPECT_EQ(errors[1].batch_index, 2);
  EXPECT_NE(errors[0].message.find("without key"), std::string::npos);
}

TEST(Validator, MaxTimestampIsRewrittenToTheRecordsMaximum) {
  raw_record a;
  a.timestamp_delta = 5;
  raw_record b;
  b.offset_delta = 1;
  b.timestamp_delta = 40;
  // The producer claims a max timestamp far in the future.
  auto batch = raw_batch(join({record_bytes(a), record_bytes(b)}),
                         {.records_count = 2, .base_timestamp = 1000, .max_timestamp = 1LL << 50});
  auto v = validate_for_append(batch, client());
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->header().max_timestamp, 1040);
  auto again = validate_batch(batch, 1 << 20);
  ASSERT_TRUE(again) << again.error().message();  // CRC recomputed
  EXPECT_EQ(again->max_timestamp, 1040);
}

TEST(Validator, LogAppendTimeFromAClient) {
  auto recs = plain_records(2);
  // On a LogAppendTime topic: INVALID_TIMESTAMP, every record listed.
  auto b = raw_batch(recs, {.records_count = 2, .attributes = 0x08});
  auto p = client();
  p.log_append_time = true;
  std::vector<record_error> errors;
  auto v = validate_for_append(b, p, &errors);
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().is(batch_errc::invalid_timestamp));
  EXPECT_EQ(errors.size(), 2u);
  // On a CreateTime topic without a timestamp: INVALID_TIMESTAMP too.
  auto none = raw_batch(recs, {.records_count = 2, .max_timestamp = -1, .attributes = 0x08});
  EXPECT_EQ(refused(none), batch_errc::invalid_timestamp);
  // On a CreateTime topic with one: accepted as CreateTime (the bit cleared, CRC recomputed).
  auto with = raw_batch(recs, {.records_count = 2, .attributes = 0x08});
  auto ok = validate_for_append(with, client());
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_FALSE(ok->header().log_append_time());
  EXPECT_TRUE(validate_batch(with, 1 << 20));
}

TEST(Validator, TimestampOverflowIsInvalid) {
  raw_record r;
  r.timestamp_delta = INT64_MAX;
  EXPECT_EQ(refused(raw_batch(record_bytes(r), {.base_timestamp = 10})),
            batch_errc::invalid_record);
}

TEST(Validator, StampAndLogAppendTimeKeepTheBatchValid) {
  auto b = test::make_batch(3, 1000);
  auto v = validate_for_append(b, client());
  ASSERT_TRUE(v);
  v->set_log_append_time(77777);
  v->stamp(kafka_offset(40), leader_epoch(2));
  EXPECT_EQ(v->header().max_timestamp, 77777);
  EXPECT_TRUE(v->header().log_append_time());
  EXPECT_EQ(v->header().base_offset, 40);
  auto h = validate_batch(b, 1 << 20);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->base_offset, 40);
  EXPECT_EQ(h->partition_leader_epoch, 2);
  EXPECT_EQ(h->max_timestamp, 77777);
  EXPECT_EQ(h->crc, v->header().crc);
}

TEST(Records, IterationChecksDeltasAgainstTheHeader) {
  auto rec = [](int64_t delta) {
    raw_record r;
    r.offset_delta = delta;
    return record_bytes(r);
  };
  // Gaps (what compaction leaves) are fine; going back or beyond lastOffsetDelta is not.
  batch_header h;
  h.records_count = 2;
  h.last_offset_delta = 5;
  auto gaps = join({rec(1), rec(5)});
  auto count = [](const record_view&) { return true; };
  EXPECT_TRUE(for_each_record_in(gaps, h, count));
  auto back = join({rec(3), rec(2)});
  EXPECT_TRUE(for_each_record_in(back, h, count).error().is(batch_errc::invalid_record));
  auto beyond = join({rec(0), rec(6)});
  EXPECT_TRUE(for_each_record_in(beyond, h, count).error().is(batch_errc::invalid_record));
  EXPECT_TRUE(for_each_record_in(beyond, 2, count));
}

/// A batch as compaction leaves it: the records with these offset deltas (and keys), the
/// batch spanning `span` offsets.
std::vector<std::byte> compacted_batch(std::vector<int64_t> deltas, int32_t span,
                                       std::optional<std::string> key = "k") {
  std::vector<std::byte> recs;
  for (auto d : deltas) {
    raw_record r;
    r.offset_delta = d;
    r.key = key;
    auto b = record_bytes(r);
    recs.insert(recs.end(), b.begin(), b.end());
  }
  raw_batch_options o;
  o.records_count = static_cast<int32_t>(deltas.size());
  o.last_offset_delta = span - 1;
  return raw_batch(recs, o);
}

TEST(Validator, AReplicaTakesTheCompactedShapeItsLeaderStoredAndNothingElse) {
  validation_policy replica;
  replica.origin = append_origin::replica;
  replica.compacted = true;
  // Fewer records than offsets, deltas increasing, none at all: what compaction leaves.
  EXPECT_TRUE(accepted(compacted_batch({0, 3}, 5), replica));
  EXPECT_TRUE(accepted(compacted_batch({4}, 5), replica));
  EXPECT_TRUE(accepted(compacted_batch({}, 5), replica));
  // A record without a key, written before the topic was compacted: the leader has it.
  EXPECT_TRUE(accepted(compacted_batch({1}, 2, std::nullopt), replica));
  // A client or the broker's own writers get one record per offset, as always.
  for (auto origin : {append_origin::client, append_origin::internal}) {
    validation_policy p = replica;
    p.origin = origin;
    EXPECT_EQ(refused(compacted_batch({0, 3}, 5), p), batch_errc::bad_count);
    EXPECT_EQ(refused(compacted_batch({}, 5), p), batch_errc::bad_count);
  }
  // Still a batch: more records than offsets, deltas out of order or past the batch's end.
  EXPECT_EQ(refused(compacted_batch({0, 1, 2}, 2), replica), batch_errc::bad_count);
  EXPECT_EQ(refused(compacted_batch({3, 1}, 5), replica), batch_errc::invalid_record);
  EXPECT_EQ(refused(compacted_batch({2, 2}, 5), replica), batch_errc::invalid_record);
  EXPECT_EQ(refused(compacted_batch({5}, 5), replica), batch_errc::invalid_record);
  auto h = validate_batch(compacted_batch({}, 3), 1 << 20, batch_shape::compacted);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->records_count, 0);
  EXPECT_FALSE(validate_batch(compacted_batch({}, 3), 1 << 20));
}

TEST(Validator, AReplicaKeepsItsLeadersBatchByteForByte) {
  // A LogAppendTime batch as the leader stamped it, and one whose maxTimestamp is not its
  // records' largest (compaction removed that record): an internal append rewrites both.
  batch_builder b(5000);
  b.add(std::optional<std::string_view>("a"), std::optional<std::string_view>("1"), 5000);
  auto lat = b.build();
  set_log_append_time(lat, 9000);
  raw_batch_options o;
  o.max_timestamp = 7000;
  auto stale_max = raw_batch(plain_records(1), o);
  for (const auto& original : {lat, stale_max}) {
    validation_policy replica;
    replica.origin = append_origin::replica;
    auto bytes = original;
    auto v = validate_for_append(bytes, replica);
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(bytes, original);
    validation_policy internal = replica;
    internal.origin = append_origin::internal;
    auto rewritten = original;
    ASSERT_TRUE(validate_for_append(rewritten, internal));
    EXPECT_NE(rewritten, original);
  }
}

}  // namespace
}  // namespace strom::model
