// The client quota requests of `stromctl quota`: how the command line becomes entities, changes
// and filters, what goes on the wire (decoded back with the protocol codec, as a broker reads
// it) and how answers, errors included, become quota entries and outcomes.
#include <gtest/gtest.h>

#include "ctl/wire.h"
#include "strom/kafka/protocol/codec.h"

namespace strom::ctl {
namespace {

namespace kp = ::strom::kafka::protocol;

/// Decodes a size-prefixed request frame as a broker does.
kp::request decode(const result<std::string>& encoded) {
  EXPECT_TRUE(encoded.has_value()) << (encoded ? "" : encoded.error().detail());
  if (!encoded)
    return {};
  const auto& frame = *encoded;
  EXPECT_GE(frame.size(), 4u);
  auto size = (static_cast<uint32_t>(static_cast<uint8_t>(frame[0])) << 24) |
              (static_cast<uint32_t>(static_cast<uint8_t>(frame[1])) << 16) |
              (static_cast<uint32_t>(static_cast<uint8_t>(frame[2])) << 8) |
              static_cast<uint32_t>(static_cast<uint8_t>(frame[3]));
  EXPECT_EQ(size, frame.size() - 4);
  auto r = kp::decode_request(std::as_bytes(std::span(frame).subspan(4)));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? std::move(*r) : kp::request{};
}

/// An answer frame of `version` without its size prefix.
template <typename M>
std::string answer(int32_t correlation_id, int16_t version, const M& body) {
  auto f = kp::encode_response_frame(correlation_id, version, body);
  EXPECT_TRUE(f.has_value());
  auto b = f->flatten();
  EXPECT_TRUE(b.has_value());
  return std::string(reinterpret_cast<const char*>(b->data()), b->size()).substr(4);
}

template <typename T>
std::string error_of(const result<T>& r) {
  return r ? std::string() : r.error().detail();
}

const std::string user(quota_user);
const std::string client_id(quota_client_id);
const std::string producer(quota_producer_byte_rate);
const std::string consumer(quota_consumer_byte_rate);

quota_entity_part named(const std::string& type, std::string name) {
  return {type, std::move(name)};
}

quota_entity_part by_default(const std::string& type) {
  return {type, std::nullopt};
}

quota_options alice() {
  quota_options o;
  o.user = "alice";
  return o;
}

TEST(QuotaNames, EntityLabels) {
  EXPECT_EQ(quota_entity_label({named(user, "alice")}), "user=alice");
  EXPECT_EQ(quota_entity_label({named(user, "alice"), by_default(client_id)}),
            "user=alice, client-id=<default>");
  EXPECT_EQ(quota_entity_label({by_default(user), named(client_id, "reports")}),
            "user=<default>, client-id=reports");
  EXPECT_EQ(quota_entity_label({by_default(client_id)}), "client-id=<default>");
  EXPECT_EQ(quota_entity_label({}), "");
}

TEST(QuotaNames, ValuesArePositiveNumbers) {
  auto value = [](std::string_view text) {
    auto r = parse_quota_value(text);
    return r ? *r : -1.0;
  };
  EXPECT_EQ(value("1048576"), 1048576.0);
  EXPECT_EQ(value("1.5"), 1.5);
  EXPECT_EQ(value("1e6"), 1e6);
  EXPECT_EQ(value("0.25"), 0.25);
  for (const char* bad :
       {"", "0", "-1", "+1", " 1", "1 ", "1k", "0x10", "inf", "nan", "1e400", "-0", "1,5"})
    EXPECT_FALSE(parse_quota_value(bad)) << bad;
  EXPECT_EQ(error_of(parse_quota_value("1MB")), "'1MB' is not a positive number");

  EXPECT_EQ(format_quota_value(1048576), "1048576");
  EXPECT_EQ(format_quota_value(0.5), "0.5");
  EXPECT_EQ(format_quota_value(2.5e9), "2500000000");
  EXPECT_EQ(value(format_quota_value(1.0 / 3)), 1.0 / 3);  // reads back the same
}

TEST(QuotaOptions, EntityFromTheOptionsUserFirst) {
  auto e = quota_entity_of(alice());
  ASSERT_TRUE(e) << e.error().detail();
  EXPECT_EQ(*e, (quota_entity{named(user, "alice")}));

  quota_options o;
  o.client_id = "reports";
  o.user_default = true;
  e = quota_entity_of(o);
  ASSERT_TRUE(e) << e.error().detail();
  EXPECT_EQ(*e, (quota_entity{by_default(user), named(client_id, "reports")}));

  o = {};
  o.client_id_default = true;
  e = quota_entity_of(o);
  ASSERT_TRUE(e) << e.error().detail();
  EXPECT_EQ(*e, (quota_entity{by_default(client_id)}));

  e = quota_entity_of({});
  ASSERT_TRUE(e) << e.error().detail();
  EXPECT_TRUE(e->empty());

  o = alice();
  o.user_default = true;
  EXPECT_EQ(error_of(quota_entity_of(o)), "--user and --user-default exclude each other");
  o = {};
  o.client_id = "x";
  o.client_id_default = true;
  EXPECT_EQ(error_of(quota_entity_of(o)), "--client-id and --client-id-default exclude each other");
  o = {};
  o.user = "";
  EXPECT_EQ(error_of(quota_entity_of(o)),
            "--user: the name cannot be empty (--user-default is the default)");
  o = {};
  o.client_id = "";
  EXPECT_EQ(error_of(quota_entity_of(o)),
            "--client-id: the name cannot be empty (--client-id-default is the default)");
}

TEST(QuotaOptions, SetOpsInOptionOrder) {
  auto o = alice();
  o.client_id_default = true;
  o.consumer_byte_rate = "2097152";
  o.producer_byte_rate = "1048576";
  o.quotas = {"request_percentage=50"};
  o.remove = {"controller_mutation_rate"};
  auto a = quota_set_alteration(o);
  ASSERT_TRUE(a) << a.error().detail();
  EXPECT_EQ(a->entity, (quota_entity{named(user, "alice"), by_default(client_id)}));
  EXPECT_EQ(a->ops, (std::vector<quota_op>{{producer, 1048576, false},
                                           {consumer, 2097152, false},
                                           {"request_percentage", 50, false},
                                           {"controller_mutation_rate", 0, true}}));

  // Removing alone is a change too.
  o = {};
  o.user_default = true;
  o.remove = {producer, consumer};
  a = quota_set_alteration(o);
  ASSERT_TRUE(a) << a.error().detail();
  EXPECT_EQ(a->entity, (quota_entity{by_default(user)}));
  EXPECT_EQ(a->ops, (std::vector<quota_op>{{producer, 0, true}, {consumer, 0, true}}));
}

TEST(QuotaOptions, SetRefusesWhatIsMissingOrContradicts) {
  quota_options o;
  o.producer_byte_rate = "1024";
  EXPECT_EQ(error_of(quota_set_alteration(o)),
            "give the entity: --user NAME, --user-default, --client-id ID and/or "
            "--client-id-default");
  EXPECT_EQ(error_of(quota_set_alteration(alice())),
            "give a quota to set or remove: --producer-byte-rate, --consumer-byte-rate, --quota "
            "KEY=VALUE or --remove KEY");

  o = alice();
  o.producer_byte_rate = "0";
  EXPECT_EQ(error_of(quota_set_alteration(o)),
            "--producer-byte-rate: '0' is not a positive number");
  o = alice();
  o.consumer_byte_rate = "fast";
  EXPECT_EQ(error_of(quota_set_alteration(o)),
            "--consumer-byte-rate: 'fast' is not a positive number");
  o = alice();
  o.quotas = {"request_percentage"};
  EXPECT_FALSE(quota_set_alteration(o));
  o.quotas = {"=5"};
  EXPECT_EQ(error_of(quota_set_alteration(o)), "--quota: '=5' is not key=value");
  o.quotas = {"request_percentage=-5"};
  EXPECT_EQ(error_of(quota_set_alteration(o)),
            "--quota request_percentage: '-5' is not a positive number");
  o = alice();
  o.remove = {""};
  EXPECT_EQ(error_of(quota_set_alteration(o)), "--remove: the key cannot be empty");

  o = alice();
  o.producer_byte_rate = "1024";
  o.quotas = {"producer_byte_rate=2048"};
  EXPECT_EQ(error_of(quota_set_alteration(o)), "producer_byte_rate is given twice");
  o = alice();
  o.remove = {consumer, consumer};
  EXPECT_EQ(error_of(quota_set_alteration(o)), "consumer_byte_rate is given twice");
  o = alice();
  o.consumer_byte_rate = "1024";
  o.remove = {consumer};
  EXPECT_EQ(error_of(quota_set_alteration(o)), "consumer_byte_rate is both set and removed");

  o = alice();
  o.user_default = true;
  o.producer_byte_rate = "1024";
  EXPECT_EQ(error_of(quota_set_alteration(o)), "--user and --user-default exclude each other");
}

TEST(QuotaOptions, DeleteRemovesEveryQuota) {
  auto o = alice();
  o.client_id = "reports";
  auto a = quota_delete_alteration(o);
  ASSERT_TRUE(a) << a.error().detail();
  EXPECT_EQ(a->entity, (quota_entity{named(user, "alice"), named(client_id, "reports")}));
  EXPECT_EQ(a->ops,
            (std::vector<quota_op>{
                {producer, 0, true}, {consumer, 0, true}, {"request_percentage", 0, true}}));

  o = {};
  o.client_id_default = true;
  a = quota_delete_alteration(o);
  ASSERT_TRUE(a) << a.error().detail();
  EXPECT_EQ(a->entity, (quota_entity{by_default(client_id)}));

  EXPECT_EQ(error_of(quota_delete_alteration({})),
            "give the entity: --user NAME, --user-default, --client-id ID and/or "
            "--client-id-default");
  o = alice();
  o.producer_byte_rate = "1";
  EXPECT_EQ(error_of(quota_delete_alteration(o)),
            "quota delete takes no --producer-byte-rate, --consumer-byte-rate, --quota, --remove "
            "or --dry-run");
}

TEST(QuotaOptions, ListFilterOfTheParts) {
  // No option: every entity (no component, not strict).
  auto f = quota_list_filter({});
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(*f, quota_filter{});
  EXPECT_TRUE(f->components.empty());
  EXPECT_FALSE(f->strict);

  f = quota_list_filter(alice());
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->components,
            (std::vector<quota_filter_component>{{user, quota_match_exact, "alice"}}));
  EXPECT_FALSE(f->strict);

  quota_options o;
  o.user_default = true;
  o.client_id = "reports";
  f = quota_list_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->components,
            (std::vector<quota_filter_component>{{user, quota_match_default, std::nullopt},
                                                 {client_id, quota_match_exact, "reports"}}));
  EXPECT_FALSE(f->strict);

  o = {};
  o.client_id_default = true;
  f = quota_list_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->components,
            (std::vector<quota_filter_component>{{client_id, quota_match_default, std::nullopt}}));

  o = alice();
  o.user_default = true;
  EXPECT_FALSE(quota_list_filter(o));
  o = alice();
  o.dry_run = true;
  EXPECT_FALSE(quota_list_filter(o));
  o = alice();
  o.remove = {producer};
  EXPECT_FALSE(quota_list_filter(o));
}

TEST(QuotaVersions, HighestBothSupport) {
  auto ranges = [](int16_t min, int16_t max) {
    return std::vector<api_version_range>{{18, 0, 4}, {48, min, max}, {49, min, max}};
  };
  auto version = [](const result<int16_t>& r) { return r ? static_cast<int>(*r) : -1; };
  EXPECT_EQ(version(client_quotas_api_version(ranges(0, 1), 48)), 1);
  EXPECT_EQ(version(client_quotas_api_version(ranges(0, 1), 49)), 1);
  EXPECT_EQ(version(client_quotas_api_version(ranges(0, 0), 49)), 0);
  EXPECT_EQ(version(client_quotas_api_version(ranges(0, 3), 48)), 1);
  EXPECT_EQ(version(client_quotas_api_version(ranges(1, 2), 49)), 1);
  EXPECT_EQ(error_of(client_quotas_api_version(ranges(2, 3), 48)),
            "the broker offers DescribeClientQuotas versions 2 to 3; stromctl sends version 0 "
            "to 1");
  EXPECT_EQ(error_of(client_quotas_api_version({{18, 0, 4}}, 49)),
            "the broker does not offer AlterClientQuotas (API key 49); it may not support "
            "client quotas");
}

TEST(QuotaRequests, DescribeCarriesTheFilterInEveryVersion) {
  quota_filter every;
  quota_filter some{{{user, quota_match_exact, "alice"}, {client_id, quota_match_default, {}}},
                    false};
  quota_filter strict{{{user, quota_match_any, std::nullopt}}, true};
  for (int16_t version = 0; version <= 1; ++version) {
    for (const auto& f : {every, some, strict}) {
      auto req = decode(encode_describe_client_quotas_request(3, version, f));
      EXPECT_EQ(req.header.key, kp::api_key::describe_client_quotas);
      EXPECT_EQ(req.header.version, version);
      EXPECT_EQ(req.header.correlation_id, 3);
      EXPECT_EQ(req.header.client_id, "stromctl");
      const auto& body = std::get<kp::describe_client_quotas_request>(req.body);
      ASSERT_EQ(body.components.size(), f.components.size());
      for (size_t i = 0; i < f.components.size(); ++i) {
        EXPECT_EQ(body.components[i].entity_type, f.components[i].entity_type);
        EXPECT_EQ(body.components[i].match_type, f.components[i].match_type);
        EXPECT_EQ(body.components[i].match, f.components[i].match) << "version " << version;
      }
      EXPECT_EQ(body.strict, f.strict);
    }
  }
  // The default part of `quota list --client-id-default` goes as a null match.
  quota_options o;
  o.client_id_default = true;
  auto req = decode(encode_describe_client_quotas_request(1, 1, *quota_list_filter(o)));
  const auto& body = std::get<kp::describe_client_quotas_request>(req.body);
  ASSERT_EQ(body.components.size(), 1u);
  EXPECT_EQ(body.components[0].entity_type, "client-id");
  EXPECT_EQ(body.components[0].match_type, 1);
  EXPECT_FALSE(body.components[0].match.has_value());

  EXPECT_EQ(error_of(encode_describe_client_quotas_request(1, 2, every)),
            "DescribeClientQuotas version 2: stromctl sends version 0 to 1");
  EXPECT_FALSE(encode_describe_client_quotas_request(1, -1, every));
}

TEST(QuotaRequests, AlterCarriesEntitiesOpsAndValidateOnly) {
  auto o = alice();
  o.client_id_default = true;
  o.producer_byte_rate = "1048576";
  o.remove = {consumer};
  auto set = *quota_set_alteration(o);
  quota_options d;
  d.user_default = true;
  auto removal = *quota_delete_alteration(d);
  for (int16_t version = 0; version <= 1; ++version) {
    for (bool validate_only : {false, true}) {
      auto req =
          decode(encode_alter_client_quotas_request(5, version, {set, removal}, validate_only));
      EXPECT_EQ(req.header.key, kp::api_key::alter_client_quotas);
      EXPECT_EQ(req.header.version, version);
      EXPECT_EQ(req.header.correlation_id, 5);
      const auto& body = std::get<kp::alter_client_quotas_request>(req.body);
      EXPECT_EQ(body.validate_only, validate_only);
      ASSERT_EQ(body.entries.size(), 2u);

      const auto& first = body.entries[0];
      ASSERT_EQ(first.entity.size(), 2u);
      EXPECT_EQ(first.entity[0].entity_type, "user");
      EXPECT_EQ(first.entity[0].entity_name, "alice");
      EXPECT_EQ(first.entity[1].entity_type, "client-id");
      EXPECT_FALSE(first.entity[1].entity_name.has_value()) << "version " << version;
      ASSERT_EQ(first.ops.size(), 2u);
      EXPECT_EQ(first.ops[0].key, "producer_byte_rate");
      EXPECT_EQ(first.ops[0].value, 1048576.0);
      EXPECT_FALSE(first.ops[0].remove);
      EXPECT_EQ(first.ops[1].key, "consumer_byte_rate");
      EXPECT_TRUE(first.ops[1].remove);

      const auto& second = body.entries[1];
      ASSERT_EQ(second.entity.size(), 1u);
      EXPECT_EQ(second.entity[0].entity_type, "user");
      EXPECT_FALSE(second.entity[0].entity_name.has_value());
      ASSERT_EQ(second.ops.size(), 3u);
      EXPECT_EQ(second.ops[0].key, "producer_byte_rate");
      EXPECT_TRUE(second.ops[0].remove);
      EXPECT_EQ(second.ops[1].key, "consumer_byte_rate");
      EXPECT_TRUE(second.ops[1].remove);
      EXPECT_EQ(second.ops[2].key, "request_percentage");
      EXPECT_TRUE(second.ops[2].remove);
    }
  }
  // Keys go as given: the broker decides which it takes.
  auto any = alice();
  any.quotas = {"request_percentage=25.5"};
  auto req = decode(encode_alter_client_quotas_request(1, 1, {*quota_set_alteration(any)}, false));
  const auto& ops = std::get<kp::alter_client_quotas_request>(req.body).entries.at(0).ops;
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].key, "request_percentage");
  EXPECT_EQ(ops[0].value, 25.5);

  EXPECT_EQ(error_of(encode_alter_client_quotas_request(1, 2, {set}, false)),
            "AlterClientQuotas version 2: stromctl sends version 0 to 1");
}

kp::describe_client_quotas_response::quota_entity answer_part(std::string type,
                                                              std::optional<std::string> name) {
  return {std::move(type), std::move(name)};
}

TEST(QuotaAnswers, DescribeSortsEntitiesAndValues) {
  using resp_t = kp::describe_client_quotas_response;
  resp_t resp;
  resp.entries.emplace();
  auto& e = *resp.entries;
  // alice with a client id, parts in the broker's order (client id first).
  e.push_back({{answer_part("client-id", "reports"), answer_part("user", "alice")},
               {{"producer_byte_rate", 524288}}});
  e.push_back({{answer_part("user", "alice")},
               {{"producer_byte_rate", 1048576}, {"consumer_byte_rate", 2097152}}});
  e.push_back({{answer_part("user", std::nullopt)}, {{"consumer_byte_rate", 0.5}}});
  e.push_back({{answer_part("client-id", std::nullopt)}, {{"producer_byte_rate", 4096}}});
  for (int16_t version = 0; version <= 1; ++version) {
    auto r = decode_describe_client_quotas_response(answer(2, version, resp), version, 2);
    ASSERT_TRUE(r) << r.error().detail();
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0], (quota_entry{{by_default(user)}, {{consumer, 0.5}}}));
    EXPECT_EQ((*r)[1],
              (quota_entry{{named(user, "alice")}, {{consumer, 2097152}, {producer, 1048576}}}));
    EXPECT_EQ((*r)[2], (quota_entry{{named(user, "alice"), named(client_id, "reports")},
                                    {{producer, 524288}}}));
    EXPECT_EQ((*r)[3], (quota_entry{{by_default(client_id)}, {{producer, 4096}}}));
    EXPECT_EQ(quota_entity_label((*r)[2].entity), "user=alice, client-id=reports");
  }

  // Null entries and no entries: none.
  resp_t none;
  none.entries.reset();
  auto r = decode_describe_client_quotas_response(answer(2, 1, none), 1, 2);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_TRUE(r->empty());
  none.entries.emplace();
  r = decode_describe_client_quotas_response(answer(2, 0, none), 0, 2);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_TRUE(r->empty());
}

TEST(QuotaAnswers, DescribeErrorsCarryTheBrokersNameAndMessage) {
  kp::describe_client_quotas_response refused;
  refused.error_code = kp::error_code::invalid_request;
  refused.error_message = "Custom entity type 'ip' not supported";
  refused.entries.reset();
  for (int16_t version = 0; version <= 1; ++version) {
    EXPECT_EQ(
        error_of(decode_describe_client_quotas_response(answer(2, version, refused), version, 2)),
        "INVALID_REQUEST: Custom entity type 'ip' not supported");
  }
  refused.error_code = kp::error_code::cluster_authorization_failed;
  refused.error_message.reset();
  EXPECT_EQ(error_of(decode_describe_client_quotas_response(answer(2, 1, refused), 1, 2)),
            "CLUSTER_AUTHORIZATION_FAILED");

  kp::describe_client_quotas_response fine;
  EXPECT_EQ(error_of(decode_describe_client_quotas_response(answer(2, 1, fine), 1, 3)),
            "the DescribeClientQuotas answer is malformed");
  EXPECT_FALSE(decode_describe_client_quotas_response("\x01", 1, 2));
}

TEST(QuotaAnswers, AlterOutcomePerEntity) {
  using resp_t = kp::alter_client_quotas_response;
  resp_t resp;
  auto& done = resp.entries.emplace_back();
  done.error_code = kp::error_code::none;
  done.error_message.reset();
  done.entity = {{"client-id", std::nullopt}, {"user", "alice"}};
  auto& refused = resp.entries.emplace_back();
  refused.error_code = kp::error_code::invalid_request;
  refused.error_message = "unknown quota key controller_mutation_rate";
  refused.entity = {{"user", "bob"}};
  for (int16_t version = 0; version <= 1; ++version) {
    auto r = decode_alter_client_quotas_response(answer(2, version, resp), version, 2, 2);
    ASSERT_TRUE(r) << r.error().detail();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_TRUE((*r)[0].ok());
    EXPECT_EQ((*r)[0].entity, (quota_entity{named(user, "alice"), by_default(client_id)}));
    EXPECT_EQ((*r)[0].reason(), "NONE");
    EXPECT_FALSE((*r)[1].ok());
    EXPECT_EQ((*r)[1].entity, (quota_entity{named(user, "bob")}));
    EXPECT_EQ((*r)[1].error_code, 42);
    EXPECT_EQ((*r)[1].error_name, "INVALID_REQUEST");
    EXPECT_EQ((*r)[1].reason(), "INVALID_REQUEST: unknown quota key controller_mutation_rate");
  }

  resp_t bare;
  auto& b = bare.entries.emplace_back();
  b.error_code = kp::error_code::cluster_authorization_failed;
  b.error_message.reset();
  b.entity = {{"user", "alice"}};
  auto r = decode_alter_client_quotas_response(answer(2, 1, bare), 1, 2, 1);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ((*r)[0].reason(), "CLUSTER_AUTHORIZATION_FAILED");

  EXPECT_EQ(error_of(decode_alter_client_quotas_response(answer(2, 1, resp), 1, 2, 1)),
            "the AlterClientQuotas answer has 2 results for 1 entities");
  EXPECT_EQ(error_of(decode_alter_client_quotas_response(answer(2, 1, resp), 1, 9, 2)),
            "the AlterClientQuotas answer is malformed");
}

}  // namespace
}  // namespace strom::ctl
