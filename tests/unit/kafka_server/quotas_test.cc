#include "strom/kafka/server/quotas.h"

#include <gtest/gtest.h>

namespace strom::kafka::server {
namespace {

using namespace std::chrono_literals;
using part = std::optional<std::optional<std::string>>;

cluster::security_state with_quota(cluster::quota_entity e, std::string_view key, double v) {
  cluster::security_state s;
  cluster::alter_quotas_cmd c{std::move(e), {{std::string(key), v}}, {}};
  EXPECT_TRUE(s.apply(c));
  return s;
}

TEST(quotas, precedence_follows_kafka) {
  cluster::security_state s;
  auto set = [&s](part user, part client, double v) {
    ASSERT_TRUE(
        s.apply(cluster::alter_quotas_cmd{{user, client}, {{"producer_byte_rate", v}}, {}}));
  };
  const part alice(std::string("alice")), app(std::string("app")),
      dflt(std::optional<std::string>{});
  set(std::nullopt, dflt, 8);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "app")->value, 8);
  set(std::nullopt, app, 7);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "app")->value, 7);
  set(dflt, std::nullopt, 6);
  set(dflt, dflt, 5);
  set(dflt, app, 4);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "app")->value, 4);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "other")->value, 5);
  set(alice, std::nullopt, 3);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "app")->value, 3);
  set(alice, dflt, 2);
  set(alice, app, 1);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "app")->value, 1);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "alice", "x")->value, 2);
  EXPECT_EQ(s.quota_for("producer_byte_rate", "bob", "x")->value, 5);
  EXPECT_FALSE(s.quota_for("consumer_byte_rate", "alice", "app"));
}

TEST(quotas, invalid_alterations_are_refused) {
  cluster::security_state s;
  EXPECT_FALSE(s.apply(cluster::alter_quotas_cmd{{}, {{"producer_byte_rate", 1}}, {}}));
  const part a(std::string("a"));
  EXPECT_FALSE(
      s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {{"controller_mutation_rate", 1}}, {}}));
  EXPECT_FALSE(
      s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {{"producer_byte_rate", 0}}, {}}));
  EXPECT_FALSE(
      s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {{"request_percentage", 0}}, {}}));
  EXPECT_FALSE(
      s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {{"request_percentage", -1}}, {}}));
  EXPECT_TRUE(s.quotas.empty());
  ASSERT_TRUE(
      s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {{"producer_byte_rate", 1}}, {}}));
  ASSERT_TRUE(s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {}, {"producer_byte_rate"}}));
  EXPECT_TRUE(s.quotas.empty());  // nothing left: the entity is gone
}

TEST(quotas, a_client_over_its_rate_waits_for_the_excess) {
  auto s = with_quota({std::nullopt, part(std::string("app"))}, "producer_byte_rate", 1000);
  quota_manager q(1s, 11);
  auto t0 = quota_manager::clock::time_point(100s);
  // 5,000 bytes over an eleven-second window: 500 B/s, within 1,000 B/s.
  EXPECT_EQ(q.record(quota_manager::kind::produce, "u", "app", 5000, s, t0), 0ms);
  // 20,000 more: 2,500 B/s over the window, 1.5 times over: 1.5 windows of delay, capped.
  auto d = q.record(quota_manager::kind::produce, "u", "app", 20000, s, t0 + 1ms);
  EXPECT_GT(d, 0ms);
  EXPECT_LE(d, quota_manager::max_delay);
  // Another client id, or the fetch side, is not limited.
  EXPECT_EQ(q.record(quota_manager::kind::produce, "u", "other", 1000000, s, t0), 0ms);
  EXPECT_EQ(q.record(quota_manager::kind::fetch, "u", "app", 1000000, s, t0), 0ms);
  // The window slides: after it, the old bytes no longer count.
  EXPECT_EQ(q.record(quota_manager::kind::produce, "u", "app", 100, s, t0 + 30s), 0ms);
}

TEST(quotas, a_user_quota_is_shared_by_its_clients_and_windows_expire) {
  auto s = with_quota({part(std::string("alice")), std::nullopt}, "consumer_byte_rate", 1000);
  quota_manager q(1s, 11, 4);
  auto t0 = quota_manager::clock::time_point(100s);
  EXPECT_EQ(q.record(quota_manager::kind::fetch, "alice", "a", 8000, s, t0), 0ms);
  EXPECT_GT(q.record(quota_manager::kind::fetch, "alice", "b", 8000, s, t0), 0ms);
  EXPECT_EQ(q.tracked(), 1u);
  EXPECT_EQ(q.record(quota_manager::kind::fetch, "bob", "a", 8000, s, t0), 0ms);  // no quota
  auto d = with_quota({part(std::optional<std::string>{}), std::nullopt}, "consumer_byte_rate", 1);
  for (int i = 0; i < 10; ++i)
    (void)q.record(quota_manager::kind::fetch, "user" + std::to_string(i), "c", 1, d, t0);
  EXPECT_LE(q.tracked(), 4u);  // bounded
  (void)q.record(quota_manager::kind::fetch, "late", "c", 1, d, t0 + 60s);
  EXPECT_EQ(q.tracked(), 1u);  // the idle windows expired
}

TEST(quotas, request_percentage_is_stored_fractional_and_removable) {
  cluster::security_state s;
  const part a(std::string("a"));
  ASSERT_TRUE(
      s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {{"request_percentage", 0.5}}, {}}));
  EXPECT_EQ(s.quota_for("request_percentage", "a", "any")->value, 0.5);
  EXPECT_FALSE(s.quota_for("producer_byte_rate", "a", "any"));
  ASSERT_TRUE(s.apply(cluster::alter_quotas_cmd{{a, std::nullopt}, {}, {"request_percentage"}}));
  EXPECT_TRUE(s.quotas.empty());
}

TEST(quotas, request_time_over_its_percentage_waits_for_the_excess) {
  // 10 percent of one thread: 100 ms of run time per second.
  auto s = with_quota({std::nullopt, part(std::string("app"))}, "request_percentage", 10);
  quota_manager q(1s, 11);
  auto t0 = quota_manager::clock::time_point(100s);
  constexpr int64_t ms = 1000000;  // nanoseconds
  // 500 ms of run time over the eleven-second window: 4.5 percent, within 10.
  EXPECT_EQ(q.record(quota_manager::kind::request_time, "u", "app", 500 * ms, s, t0), 0ms);
  // 1,150 ms more at the same instant: 1,650 ms over a window of 10,001 ms, 16.5 percent:
  // (16.5 - 10) / 10 of the window, 6.5 s.
  auto d = q.record(quota_manager::kind::request_time, "u", "app", 1150 * ms, s, t0);
  EXPECT_NEAR(static_cast<double>(d.count()), 6499.0, 2.0);
  // Far over: capped as the byte rates are.
  EXPECT_EQ(q.record(quota_manager::kind::request_time, "u", "app", 100000 * ms, s, t0),
            quota_manager::max_delay);
  // Another client id has no such quota; nor do the byte rates of this one.
  EXPECT_EQ(q.record(quota_manager::kind::request_time, "u", "other", 100000 * ms, s, t0), 0ms);
  EXPECT_EQ(q.record(quota_manager::kind::produce, "u", "app", 1LL << 40, s, t0), 0ms);
  // The window slides: after it, the old run time no longer counts.
  EXPECT_EQ(q.record(quota_manager::kind::request_time, "u", "app", 10 * ms, s, t0 + 30s), 0ms);
}

TEST(quotas, request_time_quota_follows_the_entities_of_the_byte_rates) {
  const part alice(std::string("alice")), dflt(std::optional<std::string>{});
  cluster::security_state s;
  // Every user gets 1 percent by default; alice 50; alice's "batch" client 0.5.
  ASSERT_TRUE(
      s.apply(cluster::alter_quotas_cmd{{dflt, std::nullopt}, {{"request_percentage", 1}}, {}}));
  ASSERT_TRUE(
      s.apply(cluster::alter_quotas_cmd{{alice, std::nullopt}, {{"request_percentage", 50}}, {}}));
  ASSERT_TRUE(s.apply(cluster::alter_quotas_cmd{
      {alice, part(std::string("batch"))}, {{"request_percentage", 0.5}}, {}}));
  // A byte-rate quota of bob's does not stand in for a request quota.
  ASSERT_TRUE(s.apply(cluster::alter_quotas_cmd{
      {part(std::string("bob")), std::nullopt}, {{"producer_byte_rate", 1}}, {}}));
  quota_manager q(1s, 11);
  auto t0 = quota_manager::clock::time_point(100s);
  const int64_t one_second = 1000000000;
  using k = quota_manager::kind;
  // One second of run time in the window: 9 percent.
  EXPECT_EQ(q.record(k::request_time, "alice", "app", one_second, s, t0), 0ms);
  EXPECT_GT(q.record(k::request_time, "alice", "batch", one_second, s, t0), 0ms);
  EXPECT_GT(q.record(k::request_time, "carol", "app", one_second, s, t0), 0ms);  // the default
  // Each user the default covers has a quota of that size of its own (Kafka's): dave is not
  // over carol's.
  EXPECT_EQ(q.record(k::request_time, "dave", "app", 1, s, t0), 0ms);
  // bob's own entity has no request_percentage, so the precedence looks on: the default user.
  EXPECT_GT(q.record(k::request_time, "bob", "x", one_second, s, t0), 0ms);
  // Without any request_percentage quota nothing is throttled, whatever the run time.
  auto bytes_only = with_quota({dflt, std::nullopt}, "consumer_byte_rate", 1);
  EXPECT_EQ(q.record(k::request_time, "carol", "app", 100 * one_second, bytes_only, t0), 0ms);
  EXPECT_EQ(
      q.record(k::request_time, "carol", "app", 100 * one_second, cluster::security_state{}, t0),
      0ms);
}

}  // namespace
}  // namespace strom::kafka::server
