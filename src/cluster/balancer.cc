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
  // Whether the difference between brokers holding `a` and `b` bytes (a >= b) is uneven.
  auto uneven = [&](int64_t a, int64_t b) {
    auto gap = a - b;
    return gap > opts.min_bytes && gap * 100 > static_cast<int64_t>(opts.threshold_percent) * b;
  };
  // The best step from `from` to `to`: a replica given (and one taken back, for a swap).
  struct step {
    candidate give;
    candidate take;  // a swap's, when `swap`
    bool swap = false;
  };
  auto best_step = [&](int32_t from, int32_t to, bool swaps) -> std::optional<step> {
    auto gap = used[from] - used[to];
    // A step narrows the difference of the two to at most 80 % of what it was, and moves
    // at least a tenth of it.
    auto worth = [gap](int64_t moved) { return moved * 10 >= gap && moved * 10 <= gap * 9; };
    auto half = gap / 2;
    auto give = movable(view, sizes, taken, from, to);
    std::optional<step> best;
    int64_t best_off = 0;
    auto consider = [&](const candidate& g, const candidate* t) {
      auto moved = g.bytes - (t != nullptr ? t->bytes : 0);
      if (!worth(moved))
        return;
      auto off = moved > half ? moved - half : half - moved;
      if (!best || off < best_off) {
        best = step{g, t != nullptr ? *t : candidate{}, t != nullptr};
        best_off = off;
      }
    };
    if (count[from] > count[to]) {
      for (const auto& g : give)
        consider(g, nullptr);
    }
    if (swaps) {
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
            consider(g, &take[n]);
        }
      }
    }
    return best;
  };
  while (out.size() < room) {
    // Brokers from the fullest to the emptiest (ties by id).
    std::vector<int32_t> order;
    for (const auto& [id, bytes] : used)
      order.push_back(id);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return used[a] > used[b]; });
    if (!uneven(used[order.front()], used[order.back()]))
      break;
    // The fullest and the emptiest first; when racks or sizes allow no step between them,
    // the fullest and the others from the emptiest up, then the others from the fullest down
    // and the emptiest.
    std::vector<std::pair<int32_t, int32_t>> pairs;
    for (auto it = order.rbegin(); it + 1 != order.rend(); ++it)
      pairs.emplace_back(order.front(), *it);
    for (size_t i = 1; i + 1 < order.size(); ++i)
      pairs.emplace_back(order[i], order.back());
    std::optional<step> found;
    int32_t from = 0;
    int32_t to = 0;
    for (auto [f, t] : pairs) {
      if (!uneven(used[f], used[t]))
        continue;
      found = best_step(f, t, room - out.size() >= 2);
      if (found) {
        from = f;
        to = t;
        break;
      }
    }
    if (!found)
      break;
    out.push_back(move_of(found->give, from, to));
    taken.insert({found->give.topic->name, found->give.partition});
    used[from] -= found->give.bytes;
    used[to] += found->give.bytes;
    if (found->swap) {
      out.push_back(move_of(found->take, to, from));
      taken.insert({found->take.topic->name, found->take.partition});
      used[to] -= found->take.bytes;
      used[from] += found->take.bytes;
    } else {
      --count[from];
      ++count[to];
    }
  }
  return out;
}

}  // namespace strom::cluster
