// The ACL requests of `stromctl acl`: how the command line becomes bindings and filters, what
// goes on the wire (decoded back with the protocol codec, as a broker reads it) and how answers,
// errors included, become bindings and outcomes.
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

std::string error_of(const status& s) {
  return s ? std::string() : s.error().detail();
}

template <typename T>
std::string error_of(const result<T>& r) {
  return r ? std::string() : r.error().detail();
}

/// The value, or `fallback` for an error.
template <typename T>
int value_or(const result<T>& r, int fallback) {
  return r ? static_cast<int>(*r) : fallback;
}

acl_options topic_options(std::string principal, std::vector<std::string> operations,
                          std::string topic) {
  acl_options o;
  o.principal = std::move(principal);
  o.operations = std::move(operations);
  o.topic = std::move(topic);
  return o;
}

TEST(AclNames, OperationsByKafkasNamesInAnyCase) {
  const std::vector<std::pair<std::string, int8_t>> names = {{"All", 2},
                                                             {"Read", 3},
                                                             {"Write", 4},
                                                             {"Create", 5},
                                                             {"Delete", 6},
                                                             {"Alter", 7},
                                                             {"Describe", 8},
                                                             {"ClusterAction", 9},
                                                             {"DescribeConfigs", 10},
                                                             {"AlterConfigs", 11},
                                                             {"IdempotentWrite", 12}};
  for (const auto& [name, code] : names) {
    auto r = parse_acl_operation(name);
    ASSERT_TRUE(r) << name << ": " << r.error().detail();
    EXPECT_EQ(*r, code) << name;
    EXPECT_EQ(acl_operation_label(code), name);
  }
  EXPECT_EQ(value_or(parse_acl_operation("read"), 0), 3);
  EXPECT_EQ(value_or(parse_acl_operation("WRITE"), 0), 4);
  EXPECT_EQ(value_or(parse_acl_operation("clusteraction"), 0), 9);
  EXPECT_EQ(value_or(parse_acl_operation("CLUSTER_ACTION"), 0), 9);
  EXPECT_EQ(value_or(parse_acl_operation("describe-configs"), 0), 10);
  EXPECT_EQ(value_or(parse_acl_operation("Idempotent_Write"), 0), 12);

  // Any is a filter's, not a binding's; the token operations are not Strom's.
  for (const char* bad : {"Any", "", "Reed", "CreateTokens", "Read,Write", "2"})
    EXPECT_FALSE(parse_acl_operation(bad)) << bad;
  EXPECT_EQ(error_of(parse_acl_operation("Reed")),
            "'Reed' is not an ACL operation (All, Read, Write, Create, Delete, Alter, Describe, "
            "ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite)");
}

TEST(AclNames, LabelsOfEveryCode) {
  EXPECT_EQ(acl_operation_label(1), "Any");
  EXPECT_EQ(acl_operation_label(13), "CreateTokens");
  EXPECT_EQ(acl_operation_label(0), "UNKNOWN(0)");
  EXPECT_EQ(acl_operation_label(15), "UNKNOWN(15)");
  EXPECT_EQ(acl_operation_label(-1), "UNKNOWN(-1)");
  EXPECT_EQ(acl_permission_label(1), "Any");
  EXPECT_EQ(acl_permission_label(2), "Deny");
  EXPECT_EQ(acl_permission_label(3), "Allow");
  EXPECT_EQ(acl_permission_label(4), "UNKNOWN(4)");
  EXPECT_EQ(acl_pattern_label(1), "ANY");
  EXPECT_EQ(acl_pattern_label(2), "MATCH");
  EXPECT_EQ(acl_pattern_label(3), "LITERAL");
  EXPECT_EQ(acl_pattern_label(4), "PREFIXED");
  EXPECT_EQ(acl_pattern_label(0), "UNKNOWN(0)");
  EXPECT_EQ(acl_resource_type_label(1), "Any");
  EXPECT_EQ(acl_resource_type_label(7), "User");
  EXPECT_EQ(acl_resource_type_label(8), "UNKNOWN(8)");
  EXPECT_EQ(acl_resource_label(2, "clicks"), "Topic:clicks");
  EXPECT_EQ(acl_resource_label(3, "billing"), "Group:billing");
  EXPECT_EQ(acl_resource_label(4, "kafka-cluster"), "Cluster:kafka-cluster");
  EXPECT_EQ(acl_resource_label(5, "tx-1"), "TransactionalId:tx-1");
}

TEST(AclNames, PrincipalsAreTypeColonName) {
  EXPECT_TRUE(check_acl_principal("User:alice"));
  EXPECT_TRUE(check_acl_principal("User:*"));
  EXPECT_TRUE(check_acl_principal("User:CN=alice,O=example"));
  for (const char* bad : {"alice", "", ":alice", "User:", ":"})
    EXPECT_FALSE(check_acl_principal(bad)) << bad;
  EXPECT_EQ(error_of(check_acl_principal("alice")),
            "'alice' is not TYPE:NAME (e.g. User:alice, User:*)");
}

TEST(AclOptions, CreateMakesOneBindingPerOperation) {
  auto r = acl_bindings_of(topic_options("User:alice", {"read", "Describe", "READ"}, "clicks"));
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->size(), 2u);  // the repeated operation once
  acl_binding read{acl_resource_topic,  "clicks", acl_pattern_literal, "User:alice", "*", 3,
                   acl_permission_allow};
  EXPECT_EQ((*r)[0], read);
  EXPECT_EQ((*r)[1].operation, 8);

  auto o = topic_options("User:bob", {"Write"}, "logs-");
  o.topic.reset();
  o.group = "billing-";
  o.prefixed = true;
  o.deny = true;
  o.host = "10.0.0.7";
  r = acl_bindings_of(o);
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], (acl_binding{acl_resource_group, "billing-", acl_pattern_prefixed, "User:bob",
                                  "10.0.0.7", 4, acl_permission_deny}));

  o = topic_options("User:admin", {"All", "ClusterAction"}, "");
  o.topic.reset();
  o.cluster = true;
  r = acl_bindings_of(o);
  ASSERT_TRUE(r) << r.error().detail();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].resource_type, 4);
  EXPECT_EQ((*r)[0].resource_name, "kafka-cluster");
  EXPECT_EQ((*r)[0].pattern_type, acl_pattern_literal);
  EXPECT_EQ((*r)[1].operation, 9);

  o = topic_options("User:tx", {"Write"}, "");
  o.topic.reset();
  o.transactional_id = "orders-tx";
  r = acl_bindings_of(o);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ((*r)[0].resource_type, 5);
  EXPECT_EQ((*r)[0].resource_name, "orders-tx");
}

TEST(AclOptions, CreateRefusesWhatIsMissingOrContradicts) {
  auto o = topic_options("User:alice", {"Read"}, "clicks");
  o.topic.reset();
  EXPECT_EQ(error_of(acl_bindings_of(o)),
            "a resource is required: --topic, --group, --cluster or --transactional-id");
  o = topic_options("User:alice", {"Read"}, "clicks");
  o.group = "billing";
  EXPECT_EQ(error_of(acl_bindings_of(o)),
            "give one resource: --topic, --group, --cluster or --transactional-id");
  o = topic_options("User:alice", {"Read"}, "clicks");
  o.cluster = true;
  EXPECT_FALSE(acl_bindings_of(o));
  o = topic_options("User:alice", {"All"}, "");
  o.topic.reset();
  o.cluster = true;
  o.prefixed = true;
  EXPECT_EQ(error_of(acl_bindings_of(o)),
            "--prefixed does not go with --cluster: there is one cluster resource");
  EXPECT_EQ(error_of(acl_bindings_of(topic_options("User:alice", {"Read"}, ""))),
            "the --topic name cannot be empty");
  EXPECT_EQ(error_of(acl_bindings_of(topic_options("User:alice", {"Read", "Fly"}, "clicks"))),
            "--operation: 'Fly' is not an ACL operation (All, Read, Write, Create, Delete, Alter, "
            "Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite)");
  EXPECT_EQ(error_of(acl_bindings_of(topic_options("User:alice", {}, "clicks"))),
            "--operation is required (one binding per operation)");
  EXPECT_EQ(error_of(acl_bindings_of(topic_options("alice", {"Read"}, "clicks"))),
            "--principal: 'alice' is not TYPE:NAME (e.g. User:alice, User:*)");
  o = topic_options("User:alice", {"Read"}, "clicks");
  o.principal.reset();
  EXPECT_EQ(error_of(acl_bindings_of(o)), "--principal is required (e.g. User:alice)");
  o = topic_options("User:alice", {"Read"}, "clicks");
  o.host = "";
  EXPECT_FALSE(acl_bindings_of(o));
  o = topic_options("User:alice", {"Read"}, "clicks");
  o.allow = true;
  EXPECT_FALSE(acl_bindings_of(o));
}

TEST(AclOptions, ListFilterMatchesWhatAppliesToTheResource) {
  auto f = acl_list_filter({});
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(*f, acl_filter{});
  EXPECT_EQ(f->resource_type, 1);
  EXPECT_EQ(f->pattern_type, 1);
  EXPECT_FALSE(f->resource_name);
  EXPECT_FALSE(f->principal);
  EXPECT_FALSE(f->host);
  EXPECT_EQ(f->operation, 1);
  EXPECT_EQ(f->permission, 1);

  acl_options o;
  o.topic = "clicks";
  o.principal = "User:alice";
  f = acl_list_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->resource_type, 2);
  EXPECT_EQ(f->resource_name, "clicks");
  EXPECT_EQ(f->pattern_type, acl_pattern_match);
  EXPECT_EQ(f->principal, "User:alice");

  o.prefixed = true;
  o.host = "*";
  f = acl_list_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->pattern_type, acl_pattern_prefixed);
  EXPECT_EQ(f->host, "*");

  // --prefixed alone: every prefixed binding.
  o = {};
  o.prefixed = true;
  f = acl_list_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->resource_type, acl_resource_any);
  EXPECT_FALSE(f->resource_name);
  EXPECT_EQ(f->pattern_type, acl_pattern_prefixed);

  o = {};
  o.cluster = true;
  f = acl_list_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->resource_type, 4);
  EXPECT_EQ(f->resource_name, "kafka-cluster");

  o = {};
  o.principal = "alice";
  EXPECT_EQ(error_of(acl_list_filter(o)),
            "--principal: 'alice' is not TYPE:NAME (e.g. User:alice, User:*)");
  o = {};
  o.group = "g";
  o.transactional_id = "t";
  EXPECT_FALSE(acl_list_filter(o));
  o = {};
  o.operations = {"Read"};
  EXPECT_FALSE(acl_list_filter(o));
}

TEST(AclOptions, DeleteFilterMatchesTheResourceExactly) {
  acl_options o;
  o.topic = "clicks";
  auto f = acl_delete_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->resource_type, 2);
  EXPECT_EQ(f->resource_name, "clicks");
  EXPECT_EQ(f->pattern_type, acl_pattern_literal);
  EXPECT_EQ(f->operation, acl_operation_any);
  EXPECT_EQ(f->permission, acl_permission_any);

  o.prefixed = true;
  o.operations = {"describe"};
  o.deny = true;
  f = acl_delete_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->pattern_type, acl_pattern_prefixed);
  EXPECT_EQ(f->operation, 8);
  EXPECT_EQ(f->permission, acl_permission_deny);

  o = {};
  o.principal = "User:bob";
  o.allow = true;
  f = acl_delete_filter(o);
  ASSERT_TRUE(f) << f.error().detail();
  EXPECT_EQ(f->resource_type, acl_resource_any);
  EXPECT_EQ(f->pattern_type, acl_pattern_any);
  EXPECT_EQ(f->principal, "User:bob");
  EXPECT_EQ(f->permission, acl_permission_allow);

  // Never every binding of the cluster.
  EXPECT_EQ(error_of(acl_delete_filter({})),
            "acl delete needs --principal or a resource (--topic, --group, --cluster, "
            "--transactional-id)");
  o = {};
  o.operations = {"Read"};
  o.prefixed = true;
  EXPECT_FALSE(acl_delete_filter(o));
  o = {};
  o.principal = "User:bob";
  o.deny = true;
  o.allow = true;
  EXPECT_FALSE(acl_delete_filter(o));
  o.allow = false;
  o.operations = {"Read", "Write"};
  EXPECT_EQ(error_of(acl_delete_filter(o)), "acl delete takes at most one --operation");
  o.operations = {"Any"};
  EXPECT_FALSE(acl_delete_filter(o));
}

TEST(AclVersions, HighestBothSupportFromOne) {
  auto ranges = [](int16_t min, int16_t max) {
    return std::vector<api_version_range>{{18, 0, 4}, {30, min, max}};
  };
  EXPECT_EQ(value_or(acl_api_version(ranges(0, 3), 30), -1), 3);
  EXPECT_EQ(value_or(acl_api_version(ranges(0, 1), 30), -1), 1);
  EXPECT_EQ(value_or(acl_api_version(ranges(0, 2), 30), -1), 2);
  EXPECT_EQ(value_or(acl_api_version(ranges(1, 9), 30), -1), 3);
  EXPECT_EQ(error_of(acl_api_version(ranges(0, 0), 30)),
            "the broker offers CreateAcls versions 0 to 0; stromctl sends version 1 to 3");
  EXPECT_EQ(error_of(acl_api_version(ranges(4, 5), 30)),
            "the broker offers CreateAcls versions 4 to 5; stromctl sends version 1 to 3");
  EXPECT_EQ(error_of(acl_api_version(ranges(0, 3), 29)),
            "the broker does not offer DescribeAcls (API key 29); it may not support ACLs");
}

TEST(AclRequests, CreateCarriesEveryBindingInEveryVersion) {
  std::vector<acl_binding> bindings = {{acl_resource_topic, "clicks", acl_pattern_literal,
                                        "User:alice", "*", 3, acl_permission_allow},
                                       {acl_resource_group, "billing-", acl_pattern_prefixed,
                                        "User:bob", "10.0.0.7", 4, acl_permission_deny}};
  for (int16_t version = 1; version <= 3; ++version) {
    auto req = decode(encode_create_acls_request(7, version, bindings));
    EXPECT_EQ(req.header.key, kp::api_key::create_acls);
    EXPECT_EQ(req.header.version, version);
    EXPECT_EQ(req.header.correlation_id, 7);
    EXPECT_EQ(req.header.client_id, "stromctl");
    const auto& body = std::get<kp::create_acls_request>(req.body);
    ASSERT_EQ(body.creations.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const auto& c = body.creations[i];
      const auto& b = bindings[i];
      EXPECT_EQ(c.resource_type, b.resource_type);
      EXPECT_EQ(c.resource_name, b.resource_name);
      EXPECT_EQ(c.resource_pattern_type, b.pattern_type) << "version " << version;
      EXPECT_EQ(c.principal, b.principal);
      EXPECT_EQ(c.host, b.host);
      EXPECT_EQ(c.operation, b.operation);
      EXPECT_EQ(c.permission_type, b.permission);
    }
  }
  EXPECT_EQ(error_of(encode_create_acls_request(7, 0, bindings)),
            "CreateAcls version 0: stromctl sends version 1 to 3");
  EXPECT_FALSE(encode_create_acls_request(7, 4, bindings));
}

TEST(AclRequests, DescribeAndDeleteCarryTheFilter) {
  acl_filter any;
  acl_filter some{acl_resource_topic,  "clicks", acl_pattern_match, "User:alice", "*", 3,
                  acl_permission_allow};
  for (int16_t version = 1; version <= 3; ++version) {
    for (const auto& f : {any, some}) {
      auto req = decode(encode_describe_acls_request(4, version, f));
      EXPECT_EQ(req.header.key, kp::api_key::describe_acls);
      EXPECT_EQ(req.header.version, version);
      EXPECT_EQ(req.header.correlation_id, 4);
      const auto& d = std::get<kp::describe_acls_request>(req.body);
      EXPECT_EQ(d.resource_type_filter, f.resource_type);
      EXPECT_EQ(d.resource_name_filter, f.resource_name);
      EXPECT_EQ(d.pattern_type_filter, f.pattern_type);
      EXPECT_EQ(d.principal_filter, f.principal);
      EXPECT_EQ(d.host_filter, f.host);
      EXPECT_EQ(d.operation, f.operation);
      EXPECT_EQ(d.permission_type, f.permission);

      req = decode(encode_delete_acls_request(5, version, f));
      EXPECT_EQ(req.header.key, kp::api_key::delete_acls);
      EXPECT_EQ(req.header.version, version);
      EXPECT_EQ(req.header.correlation_id, 5);
      const auto& filters = std::get<kp::delete_acls_request>(req.body).filters;
      ASSERT_EQ(filters.size(), 1u);
      const auto& x = filters[0];
      EXPECT_EQ(x.resource_type_filter, f.resource_type);
      EXPECT_EQ(x.resource_name_filter, f.resource_name);
      EXPECT_EQ(x.pattern_type_filter, f.pattern_type);
      EXPECT_EQ(x.principal_filter, f.principal);
      EXPECT_EQ(x.host_filter, f.host);
      EXPECT_EQ(x.operation, f.operation);
      EXPECT_EQ(x.permission_type, f.permission);
    }
  }
  // The filter `acl list` makes of no option is null names, ANY codes.
  auto req = decode(encode_describe_acls_request(1, 3, *acl_list_filter({})));
  const auto& d = std::get<kp::describe_acls_request>(req.body);
  EXPECT_EQ(d.resource_type_filter, 1);
  EXPECT_EQ(d.pattern_type_filter, 1);
  EXPECT_FALSE(d.resource_name_filter.has_value());
  EXPECT_FALSE(d.principal_filter.has_value());
  EXPECT_FALSE(d.host_filter.has_value());
  EXPECT_FALSE(encode_describe_acls_request(1, 0, any));
  EXPECT_FALSE(encode_delete_acls_request(1, 0, any));
}

TEST(AclAnswers, CreateOutcomePerBindingInOrder) {
  std::vector<acl_binding> bindings = {{acl_resource_topic, "clicks", acl_pattern_literal,
                                        "User:alice", "*", 3, acl_permission_allow},
                                       {acl_resource_topic, "clicks", acl_pattern_literal,
                                        "User:alice", "*", 8, acl_permission_allow}};
  kp::create_acls_response resp;
  resp.results.push_back({kp::error_code::none, std::nullopt});
  resp.results.push_back({kp::error_code::invalid_request, "Invalid principal"});
  for (int16_t version = 1; version <= 3; ++version) {
    auto r = decode_create_acls_response(answer(2, version, resp), version, 2, bindings);
    ASSERT_TRUE(r) << r.error().detail();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_TRUE((*r)[0].ok());
    EXPECT_EQ((*r)[0].binding, bindings[0]);
    EXPECT_FALSE((*r)[1].ok());
    EXPECT_EQ((*r)[1].binding, bindings[1]);
    EXPECT_EQ((*r)[1].error_code, 42);
    EXPECT_EQ((*r)[1].error_name, "INVALID_REQUEST");
    EXPECT_EQ((*r)[1].reason(), "INVALID_REQUEST: Invalid principal");
  }

  // A broker without an authorizer refuses each binding.
  kp::create_acls_response disabled;
  disabled.results.assign(2, {kp::error_code::security_disabled, std::nullopt});
  auto r = decode_create_acls_response(answer(2, 3, disabled), 3, 2, bindings);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ((*r)[0].reason(), "SECURITY_DISABLED");

  EXPECT_EQ(error_of(decode_create_acls_response(answer(2, 3, resp), 3, 2, {bindings[0]})),
            "the CreateAcls answer has 2 results for 1 bindings");
  EXPECT_EQ(error_of(decode_create_acls_response(answer(2, 3, resp), 3, 3, bindings)),
            "the CreateAcls answer is malformed");
  EXPECT_FALSE(decode_create_acls_response("\x01", 3, 2, bindings));
}

TEST(AclAnswers, DescribeFlattensAndSortsTheBindings) {
  kp::describe_acls_response resp;
  auto& group = resp.resources.emplace_back();
  group.resource_type = acl_resource_group;
  group.resource_name = "billing-";
  group.pattern_type = acl_pattern_prefixed;
  group.acls.push_back({"User:bob", "*", 3, acl_permission_allow});
  auto& topic = resp.resources.emplace_back();
  topic.resource_type = acl_resource_topic;
  topic.resource_name = "clicks";
  topic.pattern_type = acl_pattern_literal;
  topic.acls.push_back({"User:alice", "*", 8, acl_permission_allow});
  topic.acls.push_back({"User:alice", "*", 3, acl_permission_allow});
  auto& empty = resp.resources.emplace_back();
  empty.resource_type = acl_resource_topic;
  empty.resource_name = "unused";
  for (int16_t version = 1; version <= 3; ++version) {
    auto r = decode_describe_acls_response(answer(6, version, resp), version, 6);
    ASSERT_TRUE(r) << r.error().detail();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0], (acl_binding{acl_resource_topic, "clicks", acl_pattern_literal, "User:alice",
                                    "*", 3, acl_permission_allow}));
    EXPECT_EQ((*r)[1].operation, 8);
    EXPECT_EQ((*r)[2], (acl_binding{acl_resource_group, "billing-", acl_pattern_prefixed,
                                    "User:bob", "*", 3, acl_permission_allow}));
  }

  kp::describe_acls_response disabled;
  disabled.error_code = kp::error_code::security_disabled;
  disabled.error_message = "No Authorizer is configured on the broker";
  EXPECT_EQ(error_of(decode_describe_acls_response(answer(6, 3, disabled), 3, 6)),
            "SECURITY_DISABLED: No Authorizer is configured on the broker");
  disabled.error_message.reset();
  EXPECT_EQ(error_of(decode_describe_acls_response(answer(6, 3, disabled), 3, 6)),
            "SECURITY_DISABLED");
  EXPECT_EQ(error_of(decode_describe_acls_response(answer(6, 3, resp), 3, 7)),
            "the DescribeAcls answer is malformed");
}

TEST(AclAnswers, DeleteListsTheMatchedBindingsWithTheirOutcomes) {
  kp::delete_acls_response resp;
  auto& fr = resp.filter_results.emplace_back();
  auto& gone = fr.matching_acls.emplace_back();
  gone.resource_type = acl_resource_topic;
  gone.resource_name = "clicks";
  gone.pattern_type = acl_pattern_literal;
  gone.principal = "User:alice";
  gone.host = "*";
  gone.operation = 3;
  gone.permission_type = acl_permission_allow;
  auto kept = gone;
  kept.operation = 4;
  kept.error_code = kp::error_code::cluster_authorization_failed;
  kept.error_message = "not allowed";
  fr.matching_acls.push_back(kept);
  for (int16_t version = 1; version <= 3; ++version) {
    auto r = decode_delete_acls_response(answer(9, version, resp), version, 9);
    ASSERT_TRUE(r) << r.error().detail();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_TRUE((*r)[0].ok());
    EXPECT_EQ((*r)[0].binding, (acl_binding{acl_resource_topic, "clicks", acl_pattern_literal,
                                            "User:alice", "*", 3, acl_permission_allow}));
    EXPECT_FALSE((*r)[1].ok());
    EXPECT_EQ((*r)[1].binding.operation, 4);
    EXPECT_EQ((*r)[1].reason(), "CLUSTER_AUTHORIZATION_FAILED: not allowed");
  }

  kp::delete_acls_response none;
  none.filter_results.emplace_back();
  auto r = decode_delete_acls_response(answer(9, 2, none), 2, 9);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_TRUE(r->empty());

  kp::delete_acls_response disabled;
  auto& d = disabled.filter_results.emplace_back();
  d.error_code = kp::error_code::security_disabled;
  d.error_message = "No Authorizer is configured on the broker";
  EXPECT_EQ(error_of(decode_delete_acls_response(answer(9, 2, disabled), 2, 9)),
            "SECURITY_DISABLED: No Authorizer is configured on the broker");
  EXPECT_EQ(error_of(decode_delete_acls_response(answer(9, 2, kp::delete_acls_response{}), 2, 9)),
            "the DeleteAcls answer has 0 results for one filter");
  EXPECT_EQ(error_of(decode_delete_acls_response(answer(9, 2, resp), 2, 8)),
            "the DeleteAcls answer is malformed");
}

}  // namespace
}  // namespace strom::ctl
