#pragma once

// Repeated entries in request lists. A client may name a topic, group or partition many
// times in one request; Kafka answers each once, or answers INVALID_REQUEST for repeats,
// depending on the API. Either way a response never grows with repeats beyond the request's
// own size (a 5-byte name repeated must not make 5 KB of answer each time).

#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace strom::kafka::server {

/// Hash of a (name, number) key: a topic partition, a config resource.
struct pair_hash {
  template <typename A, typename B>
  size_t operator()(const std::pair<A, B>& k) const {
    return std::hash<A>{}(k.first) * 31 + std::hash<B>{}(k.second);
  }
};

/// For each item, whether its key appeared in an earlier item.
template <typename T, typename KeyFn>
std::vector<bool> later_repeats(const std::vector<T>& items, KeyFn key) {
  using K = std::decay_t<decltype(key(items.front()))>;
  std::unordered_set<K, std::conditional_t<std::is_same_v<K, std::string>, std::hash<K>, pair_hash>>
      seen;
  std::vector<bool> out(items.size());
  for (size_t i = 0; i < items.size(); ++i)
    out[i] = !seen.insert(key(items[i])).second;
  return out;
}

/// The keys that appear more than once.
template <typename T, typename KeyFn>
auto repeated_keys(const std::vector<T>& items, KeyFn key) {
  using K = std::decay_t<decltype(key(items.front()))>;
  using H = std::conditional_t<std::is_same_v<K, std::string>, std::hash<K>, pair_hash>;
  std::unordered_map<K, int, H> count;
  for (const auto& it : items)
    ++count[key(it)];
  std::unordered_set<K, H> out;
  for (auto& [k, n] : count) {
    if (n > 1)
      out.insert(k);
  }
  return out;
}

/// Keeps the first item of each key, in order.
template <typename T, typename KeyFn>
void keep_first(std::vector<T>& items, KeyFn key) {
  auto repeat = later_repeats(items, key);
  size_t w = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!repeat[i]) {
      if (w != i)
        items[w] = std::move(items[i]);
      ++w;
    }
  }
  items.resize(w);
}

}  // namespace strom::kafka::server
