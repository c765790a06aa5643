#include "strom/security/acl.h"

#include <gtest/gtest.h>

namespace strom::security {
namespace {

acl_binding allow(resource_type t, std::string name, acl_operation op,
                  std::string principal = "User:alice", pattern_type p = pattern_type::literal) {
  return {t, std::move(name), p, std::move(principal), "*", op, acl_permission::allow};
}

access ask(acl_operation op, resource_type t, std::string name,
           std::string principal = "User:alice", std::string host = "10.0.0.1") {
  return {std::move(principal), std::move(host), op, t, std::move(name)};
}

TEST(acl, nothing_is_allowed_without_a_binding) {
  EXPECT_FALSE(authorized({}, ask(acl_operation::read, resource_type::topic, "clicks")));
}

TEST(acl, read_but_not_write) {
  std::vector<acl_binding> acls{allow(resource_type::topic, "clicks", acl_operation::read)};
  EXPECT_TRUE(authorized(acls, ask(acl_operation::read, resource_type::topic, "clicks")));
  EXPECT_FALSE(authorized(acls, ask(acl_operation::write, resource_type::topic, "clicks")));
  EXPECT_FALSE(authorized(acls, ask(acl_operation::read, resource_type::topic, "clicks2")));
  EXPECT_FALSE(authorized(acls, ask(acl_operation::read, resource_type::group, "clicks")));
  EXPECT_FALSE(
      authorized(acls, ask(acl_operation::read, resource_type::topic, "clicks", "User:bob")));
  // READ implies DESCRIBE; nothing implies READ.
  EXPECT_TRUE(authorized(acls, ask(acl_operation::describe, resource_type::topic, "clicks")));
}

TEST(acl, implied_operations_follow_kafka) {
  for (auto op : {acl_operation::read, acl_operation::write, acl_operation::remove,
                  acl_operation::alter, acl_operation::all}) {
    std::vector<acl_binding> acls{allow(resource_type::topic, "t", op)};
    EXPECT_TRUE(authorized(acls, ask(acl_operation::describe, resource_type::topic, "t")))
        << name_of(op);
  }
  for (auto op :
       {acl_operation::create, acl_operation::describe_configs, acl_operation::idempotent_write}) {
    std::vector<acl_binding> acls{allow(resource_type::topic, "t", op)};
    EXPECT_FALSE(authorized(acls, ask(acl_operation::describe, resource_type::topic, "t")))
        << name_of(op);
  }
  std::vector<acl_binding> acls{allow(resource_type::topic, "t", acl_operation::alter_configs)};
  EXPECT_TRUE(authorized(acls, ask(acl_operation::describe_configs, resource_type::topic, "t")));
  EXPECT_FALSE(authorized(acls, ask(acl_operation::alter, resource_type::topic, "t")));
}

TEST(acl, prefixed_wildcards_and_hosts) {
  std::vector<acl_binding> acls{allow(resource_type::topic, "billing-", acl_operation::write,
                                      "User:alice", pattern_type::prefixed),
                                allow(resource_type::group, "*", acl_operation::read, "User:*")};
  EXPECT_TRUE(authorized(acls, ask(acl_operation::write, resource_type::topic, "billing-eu")));
  EXPECT_TRUE(authorized(acls, ask(acl_operation::write, resource_type::topic, "billing-")));
  EXPECT_FALSE(authorized(acls, ask(acl_operation::write, resource_type::topic, "billing")));
  EXPECT_TRUE(authorized(acls, ask(acl_operation::read, resource_type::group, "g", "User:zoe")));
  acl_binding from_host = allow(resource_type::topic, "t", acl_operation::read);
  from_host.host = "10.0.0.9";
  EXPECT_FALSE(authorized({from_host}, ask(acl_operation::read, resource_type::topic, "t")));
  EXPECT_TRUE(authorized(
      {from_host}, ask(acl_operation::read, resource_type::topic, "t", "User:alice", "10.0.0.9")));
}

TEST(acl, deny_wins_over_allow) {
  auto deny = allow(resource_type::topic, "secret", acl_operation::read, "User:*");
  deny.permission = acl_permission::deny;
  std::vector<acl_binding> acls{
      allow(resource_type::topic, "*", acl_operation::all),
      deny,
  };
  EXPECT_TRUE(authorized(acls, ask(acl_operation::read, resource_type::topic, "public")));
  EXPECT_FALSE(authorized(acls, ask(acl_operation::read, resource_type::topic, "secret")));
  EXPECT_TRUE(authorized(acls, ask(acl_operation::write, resource_type::topic, "secret")));
  // A deny of ALL denies every operation.
  deny.operation = acl_operation::all;
  acls.push_back(deny);
  EXPECT_FALSE(authorized(acls, ask(acl_operation::write, resource_type::topic, "secret")));
}

TEST(acl, write_on_some_topic_is_found_by_resource_type) {
  std::vector<acl_binding> acls{
      allow(resource_type::topic, "billing-", acl_operation::write, "User:alice",
            pattern_type::prefixed),
      allow(resource_type::topic, "clicks", acl_operation::read, "User:bob")};
  EXPECT_TRUE(authorized_on_some(acls, ask(acl_operation::write, resource_type::topic, "")));
  EXPECT_FALSE(
      authorized_on_some(acls, ask(acl_operation::write, resource_type::topic, "", "User:bob")));
  auto deny_all = allow(resource_type::topic, "*", acl_operation::write, "User:alice");
  deny_all.permission = acl_permission::deny;
  acls.push_back(deny_all);
  EXPECT_FALSE(authorized_on_some(acls, ask(acl_operation::write, resource_type::topic, "")));
}

TEST(acl, filters_select_as_kafka_does) {
  auto literal = allow(resource_type::topic, "clicks", acl_operation::read);
  auto wildcard = allow(resource_type::topic, "*", acl_operation::write);
  auto prefixed =
      allow(resource_type::topic, "cli", acl_operation::read, "User:bob", pattern_type::prefixed);
  auto group = allow(resource_type::group, "clicks", acl_operation::read);
  acl_filter everything;
  for (const auto& b : {literal, wildcard, prefixed, group})
    EXPECT_TRUE(matches(everything, b));
  acl_filter match;
  match.type = resource_type::topic;
  match.name = "clicks";
  match.pattern = pattern_type::match;
  EXPECT_TRUE(matches(match, literal));
  EXPECT_TRUE(matches(match, wildcard));
  EXPECT_TRUE(matches(match, prefixed));
  EXPECT_FALSE(matches(match, group));
  acl_filter exact = match;
  exact.pattern = pattern_type::literal;
  EXPECT_TRUE(matches(exact, literal));
  EXPECT_FALSE(matches(exact, wildcard));
  EXPECT_FALSE(matches(exact, prefixed));
  acl_filter by_principal;
  by_principal.principal = "User:bob";
  EXPECT_FALSE(matches(by_principal, literal));
  EXPECT_TRUE(matches(by_principal, prefixed));
  acl_filter writes;
  writes.operation = acl_operation::write;
  EXPECT_TRUE(matches(writes, wildcard));
  EXPECT_FALSE(matches(writes, literal));
}

TEST(acl, invalid_bindings_are_refused) {
  auto ok = allow(resource_type::topic, "t", acl_operation::read);
  EXPECT_FALSE(invalid_reason(ok));
  auto b = ok;
  b.type = resource_type::any;
  EXPECT_TRUE(invalid_reason(b));
  b = ok;
  b.pattern = pattern_type::match;
  EXPECT_TRUE(invalid_reason(b));
  b = ok;
  b.operation = acl_operation::any;
  EXPECT_TRUE(invalid_reason(b));
  b = ok;
  b.permission = acl_permission::any;
  EXPECT_TRUE(invalid_reason(b));
  b = ok;
  b.principal = "alice";
  EXPECT_TRUE(invalid_reason(b));
  b = ok;
  b.type = resource_type::cluster;
  EXPECT_TRUE(invalid_reason(b));
  b.name = std::string(cluster_resource);
  EXPECT_FALSE(invalid_reason(b));
  b = ok;
  b.operation = static_cast<acl_operation>(42);
  EXPECT_TRUE(invalid_reason(b));
  b = ok;
  b.name = std::string(1001, 'x');
  EXPECT_TRUE(invalid_reason(b));
  acl_filter f;
  f.type = static_cast<resource_type>(0);
  EXPECT_TRUE(invalid_reason(f));
}

}  // namespace
}  // namespace strom::security
