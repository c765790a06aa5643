#include "ctl/json.h"

#include <gtest/gtest.h>

namespace strom::ctl {
namespace {

TEST(Json, DumpsInInsertionOrderWithEscapes) {
  json j = json::make_object();
  j.set("name", "a\"b\\c\n\x01");
  j.set("n", 42);
  j.set("neg", int64_t{-7});
  j.set("ok", true);
  j.set("none", nullptr);
  json a = json::make_array();
  a.push(1);
  a.push("x");
  j.set("list", std::move(a));
  j.set("n", 43);  // replaces, keeps the position
  EXPECT_EQ(j.dump(),
            R"({"name":"a\"b\\c\n\u0001","n":43,"neg":-7,"ok":true,"none":null,"list":[1,"x"]})");
}

TEST(Json, InvalidUtf8BecomesTheReplacementCharacter) {
  EXPECT_EQ(json(std::string("ok \xc3\xa9 \xff end")).dump(), "\"ok \xc3\xa9 \\ufffd end\"");
  EXPECT_EQ(json(std::string("\xe2\x82")).dump(), "\"\\ufffd\\ufffd\"");
}

TEST(Json, ParsesWhatItDumps) {
  auto j = json::parse(R"( {"a": [1, -2.5, "x\u00e9\ud83d\ude00", true, null], "b": {"c": {}}} )");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->find("a")->as_array()[0].as_int(), 1);
  EXPECT_DOUBLE_EQ(j->find("a")->as_array()[1].as_double(), -2.5);
  EXPECT_EQ(j->find("a")->as_array()[2].as_string(), "x\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(j->find("a")->as_array()[4].is_null());
  EXPECT_TRUE(j->find("b")->find("c")->is_object());
  EXPECT_EQ(json::parse(j->dump())->dump(), j->dump());
}

TEST(Json, RejectsBrokenDocuments) {
  std::string err;
  for (auto bad : {"", "{", "[1,]", "{\"a\" 1}", "\"open", "tru", "1 2", "{\"a\":01x}"}) {
    err.clear();
    EXPECT_FALSE(json::parse(bad, &err).has_value()) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  EXPECT_FALSE(json::parse(std::string(100, '[') + std::string(100, ']')).has_value());
}

TEST(Json, TextOfScalars) {
  EXPECT_EQ(json("plain").to_text(), "plain");
  EXPECT_EQ(json(3).to_text(), "3");
  EXPECT_EQ(json().to_text(), "-");
  EXPECT_EQ(json(false).to_text(), "false");
}

}  // namespace
}  // namespace strom::ctl
