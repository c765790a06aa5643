#include "ctl/topics_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace strom::ctl {

namespace {

strom::error bad_file(std::string message) {
  return strom::error(std::make_error_code(std::errc::invalid_argument), std::move(message));
}

/// A whole decimal integer in [lo, hi].
std::optional<int64_t> to_int(const std::string& v, int64_t lo, int64_t hi) {
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || out < lo || out > hi)
    return std::nullopt;
  return out;
}

bool legal_topic_name(std::string_view n) {
  if (n.empty() || n.size() > 249 || n == "." || n == "..")
    return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

result<std::vector<topic_spec>> parse_topics(std::string_view yaml);

}  // namespace

result<std::vector<topic_spec>> parse_topics_file(std::string_view yaml) {
  try {
    return parse_topics(yaml);
  } catch (const YAML::Exception& e) {
    // A key or value of the wrong kind (a list as a key, ...).
    return bad_file(fmt::format("not a topics file: {}", e.what()));
  }
}

namespace {
result<std::vector<topic_spec>> parse_topics(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return bad_file(fmt::format("not YAML: {}", e.what()));
  }
  if (!root.IsMap())
    return bad_file("the file must be a mapping with a 'topics' list");
  for (const auto& kv : root) {
    auto key = kv.first.as<std::string>();
    if (key != "topics")
      return bad_file(fmt::format("unknown key '{}' at the top level (only 'topics')", key));
  }
  auto list = root["topics"];
  if (!list || !list.IsSequence())
    return bad_file("'topics' must be a list");
  std::vector<topic_spec> out;
  std::set<std::string> seen;
  size_t pos = 0;
  for (const auto& t : list) {
    ++pos;
    if (!t.IsMap())
      return bad_file(fmt::format("topics[{}] must be a mapping", pos - 1));
    topic_spec s;
    auto name = t["name"];
    if (!name || !name.IsScalar())
      return bad_file(fmt::format("topics[{}]: 'name' is required", pos - 1));
    s.name = name.as<std::string>();
    auto where = fmt::format("topic {}", s.name);
    if (!legal_topic_name(s.name)) {
      return bad_file(
          fmt::format("topics[{}]: '{}' is not a legal topic name (1 to 249 of "
                      "a-z A-Z 0-9 . _ -)",
                      pos - 1, s.name));
    }
    if (!seen.insert(s.name).second)
      return bad_file(fmt::format("{}: named twice", where));
    for (const auto& kv : t) {
      auto key = kv.first.as<std::string>();
      if (key != "name" && key != "partitions" && key != "replication_factor" && key != "configs") {
        return bad_file(fmt::format(
            "{}: unknown key '{}' (name, partitions, replication_factor, configs)", where, key));
      }
    }
    auto parts = t["partitions"];
    auto p = parts && parts.IsScalar() ? to_int(parts.as<std::string>(), 1, 100000) : std::nullopt;
    if (!p) {
      return bad_file(
          fmt::format("{}: 'partitions' must be a whole number from 1 to 100000", where));
    }
    s.partitions = static_cast<int32_t>(*p);
    if (auto rf = t["replication_factor"]) {
      auto r = rf.IsScalar() ? to_int(rf.as<std::string>(), 1, INT16_MAX) : std::nullopt;
      if (!r) {
        return bad_file(fmt::format("{}: 'replication_factor' must be a whole number from 1 to {}",
                                    where, INT16_MAX));
      }
      s.replication_factor = static_cast<int16_t>(*r);
    }
    if (auto cs = t["configs"]) {
      if (!cs.IsMap() && !cs.IsNull())
        return bad_file(fmt::format("{}: 'configs' must be a mapping of names to values", where));
      for (const auto& kv : cs) {
        auto key = kv.first.as<std::string>();
        if (!kv.second.IsScalar())
          return bad_file(fmt::format("{}: configs.{} must be a single value", where, key));
        s.configs[key] = kv.second.as<std::string>();
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}
}  // namespace

std::string format_topics_file(const std::vector<topic_spec>& topics) {
  auto sorted = topics;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.name < b.name; });
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "topics" << YAML::Value << YAML::BeginSeq;
  for (const auto& t : sorted) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << t.name;
    e << YAML::Key << "partitions" << YAML::Value << t.partitions;
    if (t.replication_factor > 0)
      e << YAML::Key << "replication_factor" << YAML::Value << t.replication_factor;
    if (!t.configs.empty()) {
      e << YAML::Key << "configs" << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : t.configs)
        e << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

result<std::vector<plan_step>> make_plan(const std::vector<topic_spec>& want,
                                         const std::vector<live_topic>& have, bool prune,
                                         int32_t brokers) {
  std::map<std::string, const live_topic*> live;
  for (const auto& h : have)
    live[h.name] = &h;
  std::vector<plan_step> plan;
  for (const auto& w : want) {
    auto it = live.find(w.name);
    // Checked against the live brokers only where replicas are placed: a broker down does
    // not make an existing topic's file wrong.
    if (it == live.end() && w.replication_factor > brokers) {
      return bad_file(fmt::format(
          "topic {}: replication_factor {} is more than the {} broker(s) of the cluster", w.name,
          w.replication_factor, brokers));
    }
    if (it == live.end()) {
      plan.push_back({plan_step::kind::create, w,
                      fmt::format("create {}: {} partition(s), replication factor {}, {} config(s)",
                                  w.name, w.partitions,
                                  w.replication_factor > 0 ? std::to_string(w.replication_factor)
                                                           : std::string("the broker's default"),
                                  w.configs.size())});
      continue;
    }
    const auto& h = *it->second;
    if (w.partitions < h.partitions) {
      return bad_file(fmt::format(
          "topic {}: partitions {} is fewer than the {} it has; Kafka topics cannot lose "
          "partitions (create a new topic instead)",
          w.name, w.partitions, h.partitions));
    }
    if (w.partitions > h.partitions) {
      plan.push_back(
          {plan_step::kind::add_partitions, w,
           fmt::format("add partitions to {}: {} -> {}", w.name, h.partitions, w.partitions)});
    }
    if (w.replication_factor > 0 && w.replication_factor != h.replication_factor) {
      plan.push_back({plan_step::kind::change_replication_factor, w,
                      fmt::format("change the replication factor of {}: {} -> {}", w.name,
                                  h.replication_factor, w.replication_factor)});
    }
    if (w.configs != h.configs) {
      std::vector<std::string> changes;
      for (const auto& [k, v] : w.configs) {
        auto c = h.configs.find(k);
        if (c == h.configs.end())
          changes.push_back(fmt::format("+{}={}", k, v));
        else if (c->second != v)
          changes.push_back(fmt::format("{}: {} -> {}", k, c->second, v));
      }
      for (const auto& [k, v] : h.configs) {
        if (!w.configs.contains(k))
          changes.push_back(fmt::format("-{}", k));
      }
      plan.push_back({plan_step::kind::alter_configs, w,
                      fmt::format("alter configs of {}: {}", w.name, fmt::join(changes, ", "))});
    }
  }
  if (prune) {
    std::set<std::string> wanted;
    for (const auto& w : want)
      wanted.insert(w.name);
    for (const auto& h : have) {
      if (h.internal || wanted.contains(h.name))
        continue;
      topic_spec s;
      s.name = h.name;
      plan.push_back(
          {plan_step::kind::remove, s, fmt::format("delete {} (not in the file)", h.name)});
    }
  }
  return plan;
}

}  // namespace strom::ctl
