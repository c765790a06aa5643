// Record batch codecs: round trips, the other writers' framings, and hostile input.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "strom/model/batch_builder.h"
#include "strom/model/compression.h"
#include "strom/model/records.h"

namespace strom::model {
namespace {

constexpr compression all_codecs[] = {compression::gzip, compression::snappy, compression::lz4,
                                      compression::zstd};

std::vector<std::byte> text(size_t n, uint32_t seed = 1) {
  // Compressible but not trivial: words from a small vocabulary.
  static const char* words[] = {"alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta "};
  std::mt19937 rng(seed);
  std::vector<std::byte> out;
  while (out.size() < n) {
    for (const char* c = words[rng() % 6]; *c != 0 && out.size() < n; ++c)
      out.push_back(static_cast<std::byte>(*c));
  }
  return out;
}

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

class codec_test : public ::testing::TestWithParam<compression> {};

TEST_P(codec_test, RoundTripsSmallLargeAndEmptyInputs) {
  for (size_t n : {size_t{1}, size_t{100}, size_t{100'000}, size_t{1'000'000}}) {
    auto in = text(n, static_cast<uint32_t>(n));
    auto c = compress(GetParam(), in);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_LT(c->size(), n > 1000 ? n / 2 : n + 64);
    auto d = decompress(GetParam(), *c, n);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(*d, in);
  }
}

TEST_P(codec_test, OutputLargerThanTheLimitIsAnErrorNotAnAllocation) {
  std::vector<std::byte> zeros(8 << 20);  // 8 MiB of zeros compresses to almost nothing
  auto c = compress(GetParam(), zeros);
  ASSERT_TRUE(c);
  ASSERT_LT(c->size(), 1u << 20);
  auto d = decompress(GetParam(), *c, 1 << 20);
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().is(compression_errc::too_large)) << d.error().message();
  // Exactly at the limit is fine.
  auto exact = decompress(GetParam(), *c, zeros.size());
  ASSERT_TRUE(exact) << exact.error().message();
  EXPECT_EQ(exact->size(), zeros.size());
}

TEST_P(codec_test, GarbageAndTruncatedInputAreErrors) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::byte> junk(1 + rng() % 300);
    for (auto& b : junk)
      b = static_cast<std::byte>(rng());
    auto d = decompress(GetParam(), junk, 1 << 20);
    // Random bytes may by chance be a valid tiny stream; they must never crash or exceed.
    if (d) {
      EXPECT_LE(d->size(), 1u << 20);
    }
  }
  auto in = text(50'000);
  auto c = compress(GetParam(), in);
  ASSERT_TRUE(c);
  for (size_t cut : {size_t{0}, size_t{1}, c->size() / 2, c->size() - 1}) {
    auto d = decompress(GetParam(), std::span(*c).first(cut), 1 << 20);
    EXPECT_FALSE(d) << "cut at " << cut << " of " << c->size();
  }
}

std::string codec_name(const ::testing::TestParamInfo<compression>& p) {
  static const char* const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return names[static_cast<int>(p.param)];
}

INSTANTIATE_TEST_SUITE_P(Codecs, codec_test, ::testing::ValuesIn(all_codecs), codec_name);

TEST(Snappy, ReadsRawSnappyAsLibrdkafkaWritesIt) {
  // Raw snappy block: uncompressed length 11, one literal of 11 bytes.
  auto raw = from_hex("0b2868656c6c6f20776f726c64");
  auto d = decompress(compression::snappy, raw, 100);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d->data()), d->size()), "hello world");
}

TEST(Snappy, ReadsXerialFramingAsTheJavaClientWritesIt) {
  // Magic, version 1, compatible version 1, then two blocks "hello " and "world".
  auto framed = from_hex(
      "82534e4150505900"
      "0000000100000001"
      "00000008"
      "061468656c6c6f20"
      "00000007"
      "0510776f726c64");
  auto d = decompress(compression::snappy, framed, 100);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d->data()), d->size()), "hello world");
  // A block length beyond the input is corrupt, not a read past the end.
  auto bad = from_hex(
      "82534e41505059000000000100000001"
      "000000ff"
      "0510776f726c64");
  auto e = decompress(compression::snappy, bad, 100);
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().is(compression_errc::corrupt));
  // A block announcing more than the limit is refused before allocating.
  auto big = from_hex(
      "82534e41505059000000000100000001"
      "00000005"
      "ffffffff0f");
  auto f = decompress(compression::snappy, big, 100);
  ASSERT_FALSE(f);
}

TEST(Snappy, CompressWritesXerialFramingInBlocks) {
  auto in = text(100'000);
  auto c = compress(compression::snappy, in);
  ASSERT_TRUE(c);
  ASSERT_GE(c->size(), 16u);
  EXPECT_EQ(std::to_integer<int>((*c)[0]), 0x82);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c->data()) + 1, 6), "SNAPPY");
}

TEST(CompressedBatch, RecordsOfEveryCodecIterate) {
  for (auto codec : all_codecs) {
    batch_builder b(1000);
    b.codec(codec);
    for (int i = 0; i < 100; ++i)
      b.add(std::optional<std::string_view>("key" + std::to_string(i % 10)),
            std::optional<std::string_view>("value" + std::to_string(i)), 1000 + i);
    b.add(std::optional<std::string_view>("gone"), std::nullopt, 2000);
    auto batch = b.build();
    auto h = validate_batch(batch, 1 << 20);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->codec(), codec);
    auto recs = records_section(batch, *h, 1 << 20);
    ASSERT_TRUE(recs) << recs.error().message();
    int n = 0;
    bool tombstone = false;
    ASSERT_TRUE(for_each_record_in(*recs, h->records_count, [&](const record_view& r) {
      EXPECT_EQ(r.offset_delta, n);
      if (n < 100) {
        EXPECT_EQ(r.timestamp_delta, n);
        EXPECT_TRUE(r.value.has_value());
      } else {
        tombstone = !r.value.has_value();
      }
      ++n;
      return true;
    }));
    EXPECT_EQ(n, 101);
    EXPECT_TRUE(tombstone);
    // The section is bounded like any decompression.
    EXPECT_FALSE(records_section(batch, *h, 10));
  }
}

TEST(CompressedBatch, RecordReencodedWithNewTimestampDeltaKeepsKeyValueAndHeaders) {
  batch_builder b(5000);
  b.add(std::optional<std::string_view>("k"), std::optional<std::string_view>("v"), 5007);
  auto batch = b.build();
  auto h = validate_batch(batch, 1 << 20);
  ASSERT_TRUE(h);
  std::vector<std::byte> out;
  ASSERT_TRUE(for_each_record(batch, *h, [&](const record_view& r) {
    append_record(out, r.attributes, r.timestamp_delta + 100, r.offset_delta,
                  r.body.subspan(r.key_pos));
    return true;
  }));
  int seen = 0;
  ASSERT_TRUE(for_each_record_in(out, 1, [&](const record_view& r) {
    EXPECT_EQ(r.timestamp_delta, 107);
    EXPECT_TRUE(r.key && r.value);
    if (!r.key || !r.value)
      return false;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.key->data()), r.key->size()), "k");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size()), "v");
    ++seen;
    return true;
  }));
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace strom::model
