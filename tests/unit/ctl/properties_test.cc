// Client properties files (--command-config) as the Kafka tools read them, and what error
// messages show of a setting.
#include "ctl/properties.h"

#include <gtest/gtest.h>

namespace strom::ctl {
namespace {

std::string error_of(std::string_view text) {
  auto r = parse_properties(text);
  return r ? std::string() : r.error().detail();
}

TEST(Properties, KeyValueLinesCommentsAndBlankLines) {
  auto r = parse_properties(
      "# SASL for the admin user\n"
      "security.protocol=SASL_PLAINTEXT\n"
      "\n"
      "   ! another comment\n"
      "sasl.mechanism = SCRAM-SHA-256\r\n"
      "\tsasl.username: admin\n"
      "sasl.password   s3cret=with=equals\n"
      "empty.value=\n"
      "   \t  \n"
      "last=no newline at the end");
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(*r, (client_properties{{"security.protocol", "SASL_PLAINTEXT"},
                                   {"sasl.mechanism", "SCRAM-SHA-256"},
                                   {"sasl.username", "admin"},
                                   {"sasl.password", "s3cret=with=equals"},
                                   {"empty.value", ""},
                                   {"last", "no newline at the end"}}));
  EXPECT_EQ(*parse_properties(""), client_properties{});
  EXPECT_EQ(*parse_properties("\xef\xbb\xbf"
                              "a=b\r"
                              "c=d"),
            (client_properties{{"a", "b"}, {"c", "d"}}));
}

TEST(Properties, OrderIsKeptAndTheLastSettingWins) {
  auto r = parse_properties("a=1\nb=2\na=3\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (client_properties{{"a", "1"}, {"b", "2"}, {"a", "3"}}));
  EXPECT_EQ(property(*r, "a"), "3");
  EXPECT_EQ(property(*r, "b"), "2");
  EXPECT_EQ(property(*r, "c"), std::nullopt);
}

TEST(Properties, EscapesContinuationsAndWhitespace) {
  auto r = parse_properties(
      "pass\\=word=a\\:b\\#c\\\\d\n"
      "sasl.jaas.config=one \\\n"
      "    two \\\n"
      "    three\n"
      "trailing=value   \n"
      "kept=value\\ \n"
      "tabs=\\tx\\ny\n"
      "unicode=caf\\u00e9 \\uD83D\\uDE00\n"
      "utf8=café\n"
      "comment.like=# not a comment\n"
      "last.line.continues=x\\");
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(*r, (client_properties{{"pass=word", "a:b#c\\d"},
                                   {"sasl.jaas.config", "one two three"},
                                   {"trailing", "value"},
                                   {"kept", "value "},
                                   {"tabs", "\tx\ny"},
                                   {"unicode", "caf\xc3\xa9 \xf0\x9f\x98\x80"},
                                   {"utf8", "café"},
                                   {"comment.like", "# not a comment"},
                                   {"last.line.continues", "x"}}));
  // An even number of backslashes is escaped backslashes, not a continuation.
  r = parse_properties("a=x\\\\\nb=y");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (client_properties{{"a", "x\\"}, {"b", "y"}}));
  // A comment line never continues.
  r = parse_properties("# comment \\\na=b");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (client_properties{{"a", "b"}}));
}

TEST(Properties, MistakesNameTheLine) {
  EXPECT_EQ(error_of("a=1\n\n=value"), "line 3: a value without a key");
  EXPECT_EQ(error_of("a=1\nsecurity.protocol\n"),
            "line 2: 'security.protocol' has no value (write security.protocol=VALUE)");
  EXPECT_EQ(error_of("key   \n"), "line 1: 'key' has no value (write key=VALUE)");
  EXPECT_NE(error_of("a=1\nb=\\u12x4").find("line 2: b: a \\u escape needs four hex digits"),
            std::string::npos)
      << error_of("a=1\nb=\\u12x4");
  EXPECT_NE(error_of("b=\\uD83D").find("surrogate"), std::string::npos);
  EXPECT_NE(error_of("b=\\uDE00").find("surrogate"), std::string::npos);
  // The line a continued setting starts on.
  EXPECT_EQ(error_of("a=1\\\n  2\n\\\n  =x").substr(0, 7), "line 3:");
}

TEST(Properties, SecretsAreNotShown) {
  EXPECT_TRUE(is_secret_property("sasl.password"));
  EXPECT_TRUE(is_secret_property("ssl.key.password"));
  EXPECT_TRUE(is_secret_property("ssl.keystore.password"));
  EXPECT_TRUE(is_secret_property("ssl.key.pem"));
  EXPECT_TRUE(is_secret_property("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(is_secret_property("sasl.oauthbearer.config"));
  EXPECT_FALSE(is_secret_property("sasl.username"));
  EXPECT_FALSE(is_secret_property("ssl.key.location"));
  EXPECT_EQ(describe_property("sasl.password", "s3cret"), "sasl.password=(hidden)");
  EXPECT_EQ(describe_property("sasl.mechanism", "PLAIN"), "sasl.mechanism=PLAIN");
}

}  // namespace
}  // namespace strom::ctl
