#include "workload.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

namespace strom::bench {
namespace {

TEST(Workload, ParsesKeysValuesCommentsAndQuotes) {
  auto w = parse_workload(
      "# a comment\n"
      "\n"
      "mode: e2e\n"
      "  message_size = 1024   # trailing comment\n"
      "topic: \"a b # c\"\n"
      "acks: 'all'\n"
      "bootstrap: 127.0.0.1:9092\n"
      "create-topic:\n");
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[0].key, "mode");
  EXPECT_EQ(w[0].value, "e2e");
  EXPECT_EQ(w[0].line, 3);
  EXPECT_EQ(w[1].key, "message-size");  // underscores become dashes
  EXPECT_EQ(w[1].value, "1024");
  EXPECT_EQ(w[2].value, "a b # c");
  EXPECT_EQ(w[3].value, "all");
  EXPECT_EQ(w[4].value, "127.0.0.1:9092");  // only the first separator splits
  EXPECT_EQ(w[5].key, "create-topic");
  EXPECT_EQ(w[5].value, "");
}

TEST(Workload, ErrorsNameTheLine) {
  auto fails_with = [](const std::string& text, const std::string& part) {
    try {
      (void)parse_workload(text, "w.yaml");
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "no error for: " << text;
  };
  fails_with("mode: e2e\nnonsense\n", "w.yaml:2: expected");
  fails_with(": 5\n", "w.yaml:1: empty key");
  fails_with("a b: 5\n", "bad key");
  fails_with("topic: \"open\n", "unterminated quote");
  fails_with("topic: \"x\" y\n", "text after");
  fails_with("rate: 1\n\nrate: 2\n", "w.yaml:3: 'rate' repeated (first on line 1)");
}

TEST(Workload, ShippedWorkloadFilesParse) {
  const std::filesystem::path dir = std::filesystem::path(STROM_WORKLOAD_DIR);
  int n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    auto w = load_workload(f.path().string());
    EXPECT_FALSE(w.empty()) << f.path();
    bool has_mode = false;
    for (const auto& e : w) {
      has_mode = has_mode || e.key == "mode";
    }
    EXPECT_TRUE(has_mode) << f.path();
    ++n;
  }
  EXPECT_GE(n, 5);
  EXPECT_THROW(load_workload((dir / "no-such-file").string()), std::runtime_error);
}

}  // namespace
}  // namespace strom::bench
