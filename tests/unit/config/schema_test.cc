#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "strom/config/loader.h"
#include "strom/config/schema.h"

namespace strom::config {
namespace {

const std::filesystem::path docs_path =
    std::filesystem::path(STROM_SOURCE_DIR) / "docs/configuration.md";
constexpr std::string_view begin_marker = "<!-- BEGIN GENERATED REFERENCE -->";
constexpr std::string_view end_marker = "<!-- END GENERATED REFERENCE -->";

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(config_schema, descriptors_are_complete) {
  std::set<std::string_view> paths;
  for (const auto& key : schema()) {
    SCOPED_TRACE(key.path);
    EXPECT_TRUE(paths.insert(key.path).second) << "duplicate path";
    EXPECT_FALSE(key.description.empty());
    EXPECT_EQ(find_key(key.path), &key);
    switch (key.kind) {
      case value_kind::integer:
      case value_kind::nullable_integer:
        EXPECT_LE(key.min, key.max);
        break;
      case value_kind::enumeration:
        EXPECT_FALSE(key.allowed.empty());
        break;
      case value_kind::level_map:
        EXPECT_FALSE(key.allowed.empty());
        EXPECT_FALSE(key.map_keys.empty());
        break;
      default:
        break;
    }
    // Keys inside list items belong to a list key that comes before them.
    std::string_view p = key.path;
    if (auto pos = p.find("[]"); pos != std::string_view::npos) {
      const auto* list = find_key(p.substr(0, pos));
      ASSERT_NE(list, nullptr);
      EXPECT_EQ(list->kind, value_kind::object_list);
      EXPECT_TRUE(paths.contains(list->path));
    }
    // Kafka names are dotted lower case, never snake_case YAML keys.
    EXPECT_EQ(std::string_view(key.kafka_name).find('_'), std::string_view::npos);
  }
  EXPECT_EQ(find_key("no.such.key"), nullptr);
}

TEST(config_schema, defaults_are_valid_values) {
  for (const auto& key : schema()) {
    SCOPED_TRACE(key.path);
    if (key.kind != value_kind::integer && key.kind != value_kind::nullable_integer) {
      continue;
    }
    auto text = value_text(default_config(mode::production), key.path);
    if (!text || *text == "null") {
      continue;
    }
    auto v = std::stoll(*text);
    EXPECT_GE(v, key.min);
    EXPECT_LE(v, key.max);
  }
}

TEST(config_schema, texts_for_docs) {
  const auto* seg = find_key("cluster_defaults.log.segment_bytes");
  ASSERT_NE(seg, nullptr);
  EXPECT_EQ(type_text(*seg), "integer");
  EXPECT_EQ(constraint_text(*seg), "1048576 .. 2^31-1");
  EXPECT_EQ(default_text(*seg), "1073741824");
  EXPECT_EQ(seg->kafka_name, "log.segment.bytes (topic: segment.bytes)");

  const auto* rf = find_key("cluster_defaults.topics.default_replication_factor");
  ASSERT_NE(rf, nullptr);
  EXPECT_EQ(default_text(*rf), "3 (dev: 1)");
  EXPECT_EQ(default_text(*find_key("node.id")), "required (dev: 0)");
  EXPECT_EQ(default_text(*find_key("listeners[].name")), "required");
  EXPECT_EQ(default_text(*find_key("listeners[].security_protocol")), "PLAINTEXT");
  EXPECT_EQ(default_text(*find_key("node.data_dirs")), "[\"./data\"]");
  EXPECT_EQ(constraint_text(*find_key("cluster_defaults.log.cleanup_policy")),
            "delete | compact | compact,delete | delete,compact");
}

TEST(config_schema, value_text_reads_a_config) {
  auto c = default_config(mode::dev);
  EXPECT_EQ(value_text(c, "cluster_defaults.log.segment_bytes"), "1073741824");
  EXPECT_EQ(value_text(c, "node.rack"), "null");
  EXPECT_EQ(value_text(c, "mode"), "dev");
  EXPECT_EQ(value_text(c, "listeners"), std::nullopt);
  EXPECT_EQ(value_text(c, "listeners[].name"), std::nullopt);
  EXPECT_EQ(value_text(c, "nope"), std::nullopt);
}

/// docs/configuration.md embeds reference_markdown() verbatim. To refresh it after changing
/// the schema: STROM_UPDATE_DOCS=1 config_test --gtest_filter=config_docs.*
TEST(config_docs, reference_tables_match_the_schema) {
  std::string doc = read(docs_path);
  auto begin = doc.find(begin_marker);
  auto end = doc.find(end_marker);
  ASSERT_NE(begin, std::string::npos) << docs_path << " has no " << begin_marker;
  ASSERT_NE(end, std::string::npos) << docs_path << " has no " << end_marker;
  ASSERT_LT(begin, end);
  begin += begin_marker.size();
  std::string generated = "\n" + reference_markdown() + "\n";
  if (doc.substr(begin, end - begin) != generated && std::getenv("STROM_UPDATE_DOCS")) {
    doc.replace(begin, end - begin, generated);
    std::ofstream(docs_path) << doc;
  }
  EXPECT_EQ(doc.substr(begin, end - begin), generated)
      << "docs/configuration.md is out of date; run STROM_UPDATE_DOCS=1 config_test "
         "--gtest_filter=config_docs.*";
}

TEST(config_docs, every_key_is_documented) {
  std::string doc = read(docs_path);
  for (const auto& key : schema()) {
    EXPECT_NE(doc.find("`" + std::string(key.path) + "`"), std::string::npos) << key.path;
  }
}

}  // namespace
}  // namespace strom::config
