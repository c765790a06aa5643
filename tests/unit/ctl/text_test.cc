#include "ctl/text.h"

#include <gtest/gtest.h>

namespace strom::ctl {
namespace {

TEST(Table, AlignsColumnsWithUpperCaseHeadersAndNoTrailingSpaces) {
  table t({"group", "topic", "lag"});
  t.add({"g1", "clicks", "12"});
  t.add({"a-longer-group", "t", "-"});
  EXPECT_EQ(t.render(),
            "GROUP           TOPIC   LAG\n"
            "g1              clicks  12\n"
            "a-longer-group  t       -\n");
}

TEST(Table, ShortRowsArePaddedWithDashes) {
  table t({"a", "b"});
  t.add({"x"});
  EXPECT_EQ(t.render(), "A  B\nx  -\n");
}

TEST(Fields, AlignValues) {
  EXPECT_EQ(render_fields({{"Healthy:", "true"}, {"Controller ID:", "1"}}),
            "Healthy:        true\nController ID:  1\n");
}

constexpr int64_t now = 1'800'000'000'000;

TEST(Position, NamedStartsOffsetsAndTails) {
  using k = position::kind;
  EXPECT_EQ(*parse_position("beginning", now), (position{k::beginning, 0}));
  EXPECT_EQ(*parse_position("earliest", now), (position{k::beginning, 0}));
  EXPECT_EQ(*parse_position("END", now), (position{k::end, 0}));
  EXPECT_EQ(*parse_position("latest", now), (position{k::end, 0}));
  EXPECT_EQ(*parse_position("42", now), (position{k::offset, 42}));
  EXPECT_EQ(*parse_position("0", now), (position{k::offset, 0}));
  EXPECT_EQ(*parse_position("-10", now), (position{k::from_end, 10}));
  EXPECT_EQ(*parse_position("@1700000000000", now), (position{k::timestamp, 1'700'000'000'000}));
  EXPECT_EQ(*parse_position("@-1h", now), (position{k::timestamp, now - 3'600'000}));
}

TEST(Position, RejectsWhatIsNotAPosition) {
  for (auto bad : {"", "first", "1x", "--3", "@", "@yesterday", "-"}) {
    auto p = parse_position(bad, now);
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_FALSE(p.error().detail().empty());
  }
}

TEST(Timestamp, MillisecondsIsoDatesAndRelativeTimes) {
  EXPECT_EQ(*parse_timestamp("1700000000000", now), 1'700'000'000'000);
  EXPECT_EQ(*parse_timestamp("1970-01-01", now), 0);
  EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20Z", now), 1'700'000'000'000);
  EXPECT_EQ(*parse_timestamp("2023-11-14T22:13:20", now), 1'700'000'000'000);
  EXPECT_EQ(*parse_timestamp("2023-11-14 22:13:20.250Z", now), 1'700'000'000'250);
  EXPECT_EQ(*parse_timestamp("2023-11-14T23:13:20+01:00", now), 1'700'000'000'000);
  EXPECT_EQ(*parse_timestamp("2023-11-14T21:13:20-0100", now), 1'700'000'000'000);
  EXPECT_EQ(*parse_timestamp("2024-02-29T00:00Z", now), 1'709'164'800'000);
  EXPECT_EQ(*parse_timestamp("-15m", now), now - 900'000);
  EXPECT_EQ(*parse_timestamp("-2d", now), now - 172'800'000);
  for (auto bad : {"", "-15", "2023-13-01", "2023-11-14T25:00Z", "2023-11-14T22:13:20Q", "soon"})
    EXPECT_FALSE(parse_timestamp(bad, now).has_value()) << bad;
}

TEST(Timestamp, FormatsIsoUtc) {
  EXPECT_EQ(format_timestamp(1'700'000'000'250), "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
}

TEST(Duration, Units) {
  EXPECT_EQ(*parse_duration_ms("250"), 250);
  EXPECT_EQ(*parse_duration_ms("250ms"), 250);
  EXPECT_EQ(*parse_duration_ms("10s"), 10'000);
  EXPECT_EQ(*parse_duration_ms("5m"), 300'000);
  EXPECT_EQ(*parse_duration_ms("2h"), 7'200'000);
  EXPECT_EQ(*parse_duration_ms("1d"), 86'400'000);
  EXPECT_FALSE(parse_duration_ms("10 s").has_value());
  EXPECT_FALSE(parse_duration_ms("s").has_value());
  EXPECT_FALSE(parse_duration_ms("3w").has_value());
  EXPECT_FALSE(parse_duration_ms("99999999999999999d").has_value());
}

TEST(KeyValue, SplitsAtTheFirstEquals) {
  EXPECT_EQ(*parse_key_value("retention.ms=1000"),
            (std::pair<std::string, std::string>{"retention.ms", "1000"}));
  EXPECT_EQ(parse_key_value("a=b=c")->second, "b=c");
  EXPECT_EQ(parse_key_value("a=")->second, "");
  EXPECT_FALSE(parse_key_value("=x").has_value());
  EXPECT_FALSE(parse_key_value("novalue").has_value());
}

TEST(Brokers, HostsPortsAndIpv6) {
  auto b = parse_brokers("localhost, 10.0.0.1:9093,[::1]:19092,[fe80::1]");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (std::vector<host_port>{
                    {"localhost", 9092}, {"10.0.0.1", 9093}, {"::1", 19092}, {"fe80::1", 9092}}));
  EXPECT_FALSE(parse_brokers("").has_value());
  EXPECT_FALSE(parse_brokers("host:0").has_value());
  EXPECT_FALSE(parse_brokers("host:99999").has_value());
  EXPECT_FALSE(parse_brokers("host:").has_value());
  EXPECT_FALSE(parse_brokers("[::1").has_value());
}

TEST(Template, DirectivesAndEscapes) {
  auto t = check_template("%t/%p@%o %T %k=%s (%K,%S) [%h] 100%%\\n");
  ASSERT_TRUE(t.has_value());
  record_view r;
  r.topic = "clicks";
  r.partition = 2;
  r.offset = 17;
  r.timestamp_ms = 1000;
  r.key = "k1";
  r.value = "hello";
  r.headers = {{"a", "1"}, {"b", std::nullopt}};
  std::string out;
  render_template(out, *t, r);
  EXPECT_EQ(out, "clicks/2@17 1000 k1=hello (2,5) [a=1,b=] 100%\n");

  record_view tombstone;
  tombstone.topic = "t";
  out.clear();
  render_template(out, *check_template("%k|%s|%K|%S\\t"), tombstone);
  EXPECT_EQ(out, "||-1|-1\t");
}

TEST(Template, UnknownDirectivesAreErrors) {
  auto t = check_template("%x");
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().detail().find("%x"), std::string::npos);
  EXPECT_FALSE(check_template("value %").has_value());
}

}  // namespace
}  // namespace strom::ctl
