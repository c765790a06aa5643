#include "strom/cluster/balancer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace strom::cluster {

bool keeps_racks_apart(const cluster_view& view, const std::vector<int32_t>& target, int32_t from,
                       int32_t to) {
  auto rack_of = [&](int32_t id) -> std::optional<std::string> {
    auto b = view.brokers.find(id);
    return b == view.brokers.end() ? std::nullopt : b->second.reg.rack;
  };
  auto to_rack = rack_of(to);
  if (!to_rack || to_rack == rack_of(from))
    return true;
  return std::none_of(target.begin(), target.end(),
                      [&](int32_t r) { return r != from && rack_of(r) == to_rack; });
}

namespace {

using partition_key = std::pair<std::string, int32_t>;

/// A replica that may leave its broker for another: its partition and size.
struct candidate {
  const topic_metadata* topic = nullptr;
  int32_t partition = 0;
  int64_t bytes = 0;
};

/// The replicas on `from` that may move to `to`, smallest first.
std::vector<candidate> movable(const cluster_view& view, const partition_usage_map& sizes,
                               const std::set<partition_key>& taken, int32_t from, int32_t to) {
  std::vector<candidate> out;
  for (const auto& [name, t] : *view.topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      if (t.replicas.empty() || t.moving.contains(p) || taken.contains({name, p}))
        continue;
      auto size = sizes.find({name, p});
      if (size == sizes.end() || size->second <= 0)
        continue;
      auto target = t.target_replicas(p);
      if (std::find(target.begin(), target.end(), from) == target.end() ||
          std::find(target.begin(), target.end(), to) != target.end() ||
          !keeps_racks_apart(view, target, from, to))
        continue;
      out.push_back({&t, p, size->second});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
  return out;
}

move_partition_cmd move_of(const candidate& c, int32_t from, int32_t to) {
  auto target = c.topic->target_replicas(c.partition);
  std::replace(target.begin(), target.end(), from, to);
  return move_partition_cmd{c.topic->name, c.topic->id, c.partition, std::move(target)};
}

}  // namespace

std::vector<move_partition_cmd> disk_balancing_moves(const cluster_view& view,
                                                     const partition_usage_map& sizes,
                                                     const disk_balancing& opts, size_t room) {
  std::vector<move_partition_cmd> out;
  std::map<int32_t, int64_t> used;
  std::map<int32_t, int64_t> count;
  for (const auto& b : view.placeable_brokers()) {
    used[b.id] = 0;
    count[b.id] = 0;
  }
  if (used.size() < 2)
    return out;
  for (const auto& [name, t] : *view.topics) {
    for (int32_t p = 0; p < t.partitions; ++p) {
      auto size = sizes.find({name, p});
      for (auto b : t.target_replicas(p)) {
        if (!used.contains(b))
          continue;
        ++count[b];
        if (size != sizes.end() && size->second > 0)
          used[b] += size->second;
      }
    }
  }
  std::set<partition_key> taken;
  while (out.size() < room) {
    auto [lo, hi] = std::minmax_element(used.begin(), used.end(), [](auto& a, auto& b) {
      return a.second < b.second || (a.second == b.second && a.first < b.first);
    });
    auto from = hi->first;
    auto to = lo->first;
    auto gap = hi->second - lo->second;
    if (gap <= opts.min_bytes ||
        gap * 100 <= static_cast<int64_t>(opts.threshold_percent) * lo->second)
      break;
    // A step narrows the difference of the two to at most 80 % of what it was, and moves
    // at least a tenth of it.
    auto worth = [gap](int64_t moved) { return moved * 10 >= gap && moved * 10 <= gap * 9; };
    auto half = gap / 2;
    auto give = movable(view, sizes, taken, from, to);
    std::optional<candidate> best_give;
    std::optional<candidate> best_take;
    int64_t best_off = 0;
    auto consider = [&](const candidate& g, const std::optional<candidate>& t) {
      auto moved = g.bytes - (t ? t->bytes : 0);
      if (!worth(moved))
        return;
      auto off = moved > half ? moved - half : half - moved;
      if (!best_give || off < best_off) {
        best_give = g;
        best_take = t;
        best_off = off;
      }
    };
    if (count[from] > count[to]) {
      for (const auto& g : give)
        consider(g, std::nullopt);
    }
    if (room - out.size() >= 2) {
      auto take = movable(view, sizes, taken, to, from);
      for (const auto& g : give) {
        // The partners either side of moving exactly half the difference (no replica is in
        // both lists: one holds `from` and not `to`, the other the reverse).
        auto want = g.bytes - half;
        auto at = static_cast<size_t>(
            std::lower_bound(take.begin(), take.end(), want,
                             [](const candidate& c, int64_t v) { return c.bytes < v; }) -
            take.begin());
        for (auto n : {at - 1, at}) {
          // (at - 1 wraps around to a value past the end when at is 0)
          if (n < take.size())
            consider(g, take[n]);
        }
      }
    }
    if (!best_give)
      break;
    out.push_back(move_of(*best_give, from, to));
    taken.insert({best_give->topic->name, best_give->partition});
    used[from] -= best_give->bytes;
    used[to] += best_give->bytes;
    if (best_take) {
      out.push_back(move_of(*best_take, to, from));
      taken.insert({best_take->topic->name, best_take->partition});
      used[to] -= best_take->bytes;
      used[from] += best_take->bytes;
    } else {
      --count[from];
      ++count[to];
    }
  }
  return out;
}

}  // namespace strom::cluster
