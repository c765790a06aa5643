#include <gtest/gtest.h>

#include "strom/bytes/endian.h"
#include "strom/model/batch_builder.h"
#include "strom/model/ntp.h"
#include "strom/model/record_batch.h"
#include "strom/model/records.h"
#include "support/batches.h"

namespace strom::model {
namespace {

namespace L = batch_layout;

TEST(RecordBatch, BuiltBatchValidates) {
  auto b = test::make_batch(3, 5000);
  auto h = validate_batch(b, 1 << 20);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->records_count, 3);
  EXPECT_EQ(h->last_offset_delta, 2);
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->max_timestamp, 5000);
  EXPECT_EQ(h->size_bytes(), b.size());
}

TEST(RecordBatch, StampDoesNotBreakCrc) {
  auto b = test::make_batch(2);
  stamp_batch(b, kafka_offset(42), leader_epoch(7));
  auto h = validate_batch(b, 1 << 20);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, 42);
  EXPECT_EQ(h->partition_leader_epoch, 7);
  EXPECT_EQ(h->last_offset().value(), 43);
  EXPECT_EQ(h->next_offset().value(), 44);
}

TEST(RecordBatch, RejectsEachKindOfDamage) {
  auto good = test::make_batch(2);
  {
    auto b = good;
    b[b.size() - 1] ^= std::byte{1};
    EXPECT_TRUE(validate_batch(b, 1 << 20).error().is(batch_errc::bad_crc));
  }
  {
    auto b = good;
    b[L::magic] = std::byte{1};
    EXPECT_TRUE(validate_batch(b, 1 << 20).error().is(batch_errc::bad_magic));
  }
  {
    auto b = good;
    b.pop_back();
    EXPECT_TRUE(validate_batch(b, 1 << 20).error().is(batch_errc::truncated));
  }
  {
    auto b = good;
    bytes::write_be<int32_t>(b.data() + L::batch_length, 3);
    EXPECT_TRUE(validate_batch(b, 1 << 20).error().is(batch_errc::bad_length));
  }
  { EXPECT_TRUE(validate_batch(good, 10).error().is(batch_errc::too_large)); }
  {
    auto b = good;  // records count 5 with lastOffsetDelta 1 (CRC recomputed to isolate)
    bytes::write_be<int32_t>(b.data() + L::records_count, 5);
    EXPECT_FALSE(validate_batch(b, 1 << 20));
  }
  EXPECT_TRUE(validate_batch(std::span(good).first(30), 1 << 20).error().is(batch_errc::truncated));
}

TEST(RecordBatch, InternalEntryIsValidAndTakesNoOffset) {
  std::byte payload[] = {std::byte{1}, std::byte{2}};
  auto e = make_internal_entry(internal_kind::term_start, kafka_next_offset(10), leader_epoch(3),
                               1234, payload);
  auto h = validate_batch(e, 1 << 20);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_TRUE(h->is_internal());
  EXPECT_EQ(h->offset_count(), 0);
  EXPECT_EQ(h->next_offset().value(), 10);
  EXPECT_EQ(h->kind(), internal_kind::term_start);
}

TEST(Records, IteratesKeysValuesAndTimestamps) {
  batch_builder b(100);
  b.add(std::optional<std::string_view>("a"), std::optional<std::string_view>("1"), 100);
  b.add(std::nullopt, std::nullopt, 150);
  auto bytes = b.build();
  auto h = validate_batch(bytes, 1 << 20);
  ASSERT_TRUE(h);
  std::vector<record_view> seen;
  ASSERT_TRUE(for_each_record(bytes, *h, [&](const record_view& r) {
    seen.push_back(r);
    return true;
  }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].key->size(), 1u);
  EXPECT_EQ(seen[1].offset_delta, 1);
  EXPECT_EQ(seen[1].timestamp_delta, 50);
  EXPECT_FALSE(seen[1].key.has_value());
  EXPECT_FALSE(seen[1].value.has_value());
}

TEST(Ntp, DirNameRoundTrip) {
  ntp n{"my-topic", partition_id(12)};
  EXPECT_EQ(n.dir_name(), "my-topic-12");
  auto p = ntp::parse_dir_name("my-topic-12");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, n);
  EXPECT_FALSE(ntp::parse_dir_name("nodash"));
  EXPECT_FALSE(ntp::parse_dir_name("topic-x"));
  EXPECT_FALSE(ntp::parse_dir_name("-1"));
}

}  // namespace
}  // namespace strom::model
