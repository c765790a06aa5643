#include "strom/cluster/controller_stm.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "strom/bytes/cursor.h"
#include "strom/bytes/writer.h"

namespace strom::cluster {

namespace {

class controller_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "controller"; }
  std::string message(int c) const override {
    switch (static_cast<controller_errc>(c)) {
      case controller_errc::already_bootstrapped:
        return "the cluster is bootstrapped already";
      case controller_errc::unknown_broker:
        return "unknown broker";
      case controller_errc::invalid_command:
        return "invalid controller command";
      case controller_errc::corrupt:
        return "corrupt controller record";
      case controller_errc::not_controller:
        return "not the controller";
      case controller_errc::timeout:
        return "the controller did not answer in time";
      case controller_errc::shutting_down:
        return "shutting down";
      case controller_errc::not_found:
        return "not found";
    }
    return "controller error";
  }
};

constexpr int8_t command_version = 1;
/// Version 2 added the cluster-wide configs at the end, version 3 the partition leaders after
/// them, version 4 the partition moves in flight after those, version 5 the decommissioned
/// brokers and the preferred-leader elections asked for after those, version 6 the users and
/// their credentials after those, version 7 the leaders' in-sync replicas after those; a state
/// is written in the lowest version that holds it (what brokers of the versions before read).
constexpr int8_t snapshot_version = 7;
/// The most producer ids one command reserves.
constexpr int64_t max_producer_id_block = 1'000'000;
/// Strings in the controller's records: names, hosts, ids, config values.
constexpr size_t max_string = 32767;

using bytes::length_prefix;

void put_opt_string(bytes::writer& w, const std::optional<std::string>& s) {
  w.put_bool(s.has_value());
  if (s)
    w.put_string(*s);
}

std::string get_string(bytes::cursor& c) {
  auto s = c.read_string(length_prefix::int16);
  if (c.ok() && s.size() > max_string)
    c.fail(bytes::cursor_errc::invalid_length, "string");
  return std::string(s);
}

std::optional<std::string> get_opt_string(bytes::cursor& c) {
  if (c.read_int8() == 0)
    return std::nullopt;
  return get_string(c);
}

void put_registration(bytes::writer& w, const broker_registration& r) {
  w.put<int32_t>(r.id);
  w.put_string(r.host);
  w.put<int32_t>(r.port);
  w.put_string(r.internal_host);
  w.put<int32_t>(r.internal_port);
  put_opt_string(w, r.rack);
}

broker_registration get_registration(bytes::cursor& c) {
  broker_registration r;
  r.id = c.read_int32();
  r.host = get_string(c);
  r.port = c.read_int32();
  r.internal_host = get_string(c);
  r.internal_port = c.read_int32();
  r.rack = get_opt_string(c);
  return r;
}

void put_id(bytes::writer& w, const topic_uuid& id) {
  for (auto b : id)
    w.put<uint8_t>(static_cast<uint8_t>(b));
}

topic_uuid get_id(bytes::cursor& c) {
  topic_uuid id{};
  for (auto& b : id)
    b = static_cast<std::byte>(c.read_int8());
  return id;
}

void put_replicas(bytes::writer& w, const std::vector<std::vector<int32_t>>& rs) {
  w.put<int32_t>(static_cast<int32_t>(rs.size()));
  for (const auto& r : rs) {
    w.put<int32_t>(static_cast<int32_t>(r.size()));
    for (auto id : r)
      w.put<int32_t>(id);
  }
}

std::vector<std::vector<int32_t>> get_replicas(bytes::cursor& c) {
  std::vector<std::vector<int32_t>> out;
  auto n = c.read_count(length_prefix::int32, 4, "partitions");
  for (int64_t i = 0; c.ok() && i < n; ++i) {
    auto m = c.read_count(length_prefix::int32, 4, "replicas");
    std::vector<int32_t> r;
    for (int64_t j = 0; c.ok() && j < m; ++j)
      r.push_back(c.read_int32());
    out.push_back(std::move(r));
  }
  return out;
}

void put_configs(bytes::writer& w, const topic_configs& cs) {
  w.put<int32_t>(static_cast<int32_t>(cs.size()));
  for (const auto& [k, v] : cs) {
    w.put_string(k);
    w.put_string(v);
  }
}

topic_configs get_configs(bytes::cursor& c) {
  topic_configs out;
  auto n = c.read_count(length_prefix::int32, 4, "configs");
  for (int64_t i = 0; c.ok() && i < n; ++i) {
    auto k = get_string(c);
    out[k] = get_string(c);
  }
  return out;
}

void put_topic(bytes::writer& w, const topic_metadata& t) {
  w.put_string(t.name);
  w.put<int32_t>(t.partitions);
  w.put<int16_t>(t.replication_factor);
  put_id(w, t.id);
  put_replicas(w, t.replicas);
  put_configs(w, t.configs);
}

topic_metadata get_topic(bytes::cursor& c) {
  topic_metadata t;
  t.name = get_string(c);
  t.partitions = c.read_int32();
  t.replication_factor = c.read_int16();
  t.id = get_id(c);
  t.replicas = get_replicas(c);
  t.configs = get_configs(c);
  return t;
}

bool valid_replicas(const std::vector<std::vector<int32_t>>& rs) {
  for (const auto& r : rs) {
    if (r.empty())
      return false;
    for (size_t i = 0; i < r.size(); ++i) {
      if (r[i] < 0 || std::find(r.begin(), r.begin() + static_cast<ptrdiff_t>(i), r[i]) !=
                          r.begin() + static_cast<ptrdiff_t>(i))
        return false;
    }
  }
  return true;
}

void put_ids(bytes::writer& w, const std::vector<int32_t>& ids) {
  w.put<int32_t>(static_cast<int32_t>(ids.size()));
  for (auto id : ids)
    w.put<int32_t>(id);
}

std::vector<int32_t> get_ids(bytes::cursor& c) {
  std::vector<int32_t> out;
  auto n = c.read_count(length_prefix::int32, 4, "replicas");
  for (int64_t i = 0; c.ok() && i < n; ++i)
    out.push_back(c.read_int32());
  return out;
}

bool valid(const broker_registration& r) {
  auto port_ok = [](int32_t p) { return p > 0 && p <= 65535; };
  auto str_ok = [](const std::string& s) { return s.size() <= max_string; };
  return r.id >= 0 && !r.host.empty() && str_ok(r.host) && port_ok(r.port) &&
         !r.internal_host.empty() && str_ok(r.internal_host) && port_ok(r.internal_port) &&
         (!r.rack || str_ok(*r.rack));
}

}  // namespace

const std::error_category& controller_category() {
  static const controller_category_impl c;
  return c;
}

std::vector<std::byte> encode(const controller_command& cmd) {
  bytes::writer w;
  w.put<int8_t>(command_version);
  w.put<int8_t>(static_cast<int8_t>(cmd.index()));
  std::visit(
      [&w](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, bootstrap_cmd>) {
          w.put_string(c.cluster_id);
        } else if constexpr (std::is_same_v<T, register_broker_cmd>) {
          put_registration(w, c.reg);
        } else if constexpr (std::is_same_v<T, fence_broker_cmd>) {
          w.put<int32_t>(c.id);
          w.put_bool(c.fenced);
        } else if constexpr (std::is_same_v<T, allocate_producer_ids_cmd>) {
          w.put<int32_t>(c.broker);
          w.put<int64_t>(c.count);
        } else if constexpr (std::is_same_v<T, producer_id_floor_cmd>) {
          w.put<int64_t>(c.next);
        } else if constexpr (std::is_same_v<T, add_topic_cmd>) {
          put_topic(w, c.topic);
        } else if constexpr (std::is_same_v<T, remove_topic_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
        } else if constexpr (std::is_same_v<T, add_partitions_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          put_replicas(w, c.added);
        } else if constexpr (std::is_same_v<T, update_topic_configs_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          put_configs(w, c.configs);
        } else if constexpr (std::is_same_v<T, partition_leader_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          w.put<int32_t>(c.partition);
          w.put<int32_t>(c.leader);
          w.put<int64_t>(c.term);
        } else if constexpr (std::is_same_v<T, partition_isr_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          w.put<int32_t>(c.partition);
          w.put<int32_t>(c.leader);
          w.put<int64_t>(c.term);
          put_ids(w, c.isr);
        } else if constexpr (std::is_same_v<T, move_partition_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          w.put<int32_t>(c.partition);
          put_ids(w, c.target);
        } else if constexpr (std::is_same_v<T, finish_move_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          w.put<int32_t>(c.partition);
          put_ids(w, c.replicas);
        } else if constexpr (std::is_same_v<T, decommission_broker_cmd>) {
          w.put<int32_t>(c.id);
          w.put_bool(c.on);
        } else if constexpr (std::is_same_v<T, elect_preferred_cmd>) {
          w.put_string(c.name);
          put_id(w, c.id);
          put_ids(w, c.partitions);
        } else if constexpr (std::is_same_v<T, upsert_scram_cmd>) {
          w.put_string(c.user);
          put_credential(w, c.credential);
        } else if constexpr (std::is_same_v<T, delete_scram_cmd>) {
          w.put_string(c.user);
          w.put<int8_t>(c.mechanism == security::scram_mechanism::sha256 ? 1 : 2);
        } else if constexpr (std::is_same_v<T, create_acls_cmd>) {
          w.put<int32_t>(static_cast<int32_t>(c.bindings.size()));
          for (const auto& b : c.bindings)
            put_acl(w, b);
        } else if constexpr (std::is_same_v<T, delete_acls_cmd>) {
          w.put<int32_t>(static_cast<int32_t>(c.filters.size()));
          for (const auto& f : c.filters)
            put_acl_filter(w, f);
        } else if constexpr (std::is_same_v<T, alter_quotas_cmd>) {
          put_quota_entity(w, c.entity);
          put_quota_values(w, c.set);
          w.put<int32_t>(static_cast<int32_t>(c.remove.size()));
          for (const auto& k : c.remove)
            w.put_string(k);
        } else {
          static_assert(std::is_same_v<T, set_cluster_configs_cmd>);
          w.put_bool(c.replace);
          put_configs(w, c.set);
          w.put<int32_t>(static_cast<int32_t>(c.remove.size()));
          for (const auto& k : c.remove)
            w.put_string(k);
        }
      },
      cmd);
  return w.take();
}

result<controller_command> decode_command(std::span<const std::byte> in) {
  bytes::cursor c(in);
  auto version = c.read_int8();
  auto type = c.read_int8();
  if (c.ok() && version != command_version)
    return error(controller_errc::corrupt, fmt::format("command version {}", version));
  controller_command cmd;
  switch (type) {
    case 0:
      cmd = bootstrap_cmd{get_string(c)};
      break;
    case 1:
      cmd = register_broker_cmd{get_registration(c)};
      break;
    case 2: {
      fence_broker_cmd f;
      f.id = c.read_int32();
      f.fenced = c.read_int8() != 0;
      cmd = f;
      break;
    }
    case 3: {
      allocate_producer_ids_cmd a;
      a.broker = c.read_int32();
      a.count = c.read_int64();
      cmd = a;
      break;
    }
    case 4:
      cmd = producer_id_floor_cmd{c.read_int64()};
      break;
    case 5:
      cmd = add_topic_cmd{get_topic(c)};
      break;
    case 6: {
      remove_topic_cmd r;
      r.name = get_string(c);
      r.id = get_id(c);
      cmd = std::move(r);
      break;
    }
    case 7: {
      add_partitions_cmd a;
      a.name = get_string(c);
      a.id = get_id(c);
      a.added = get_replicas(c);
      cmd = std::move(a);
      break;
    }
    case 8: {
      update_topic_configs_cmd u;
      u.name = get_string(c);
      u.id = get_id(c);
      u.configs = get_configs(c);
      cmd = std::move(u);
      break;
    }
    case 9: {
      set_cluster_configs_cmd s;
      s.replace = c.read_int8() != 0;
      s.set = get_configs(c);
      auto n = c.read_count(length_prefix::int32, 2, "removed configs");
      for (int64_t i = 0; c.ok() && i < n; ++i)
        s.remove.push_back(get_string(c));
      cmd = std::move(s);
      break;
    }
    case 10: {
      partition_leader_cmd l;
      l.name = get_string(c);
      l.id = get_id(c);
      l.partition = c.read_int32();
      l.leader = c.read_int32();
      l.term = c.read_int64();
      cmd = std::move(l);
      break;
    }
    case 11: {
      move_partition_cmd m;
      m.name = get_string(c);
      m.id = get_id(c);
      m.partition = c.read_int32();
      m.target = get_ids(c);
      cmd = std::move(m);
      break;
    }
    case 12: {
      finish_move_cmd f;
      f.name = get_string(c);
      f.id = get_id(c);
      f.partition = c.read_int32();
      f.replicas = get_ids(c);
      cmd = std::move(f);
      break;
    }
    case 13: {
      decommission_broker_cmd d;
      d.id = c.read_int32();
      d.on = c.read_int8() != 0;
      cmd = d;
      break;
    }
    case 14: {
      elect_preferred_cmd e;
      e.name = get_string(c);
      e.id = get_id(c);
      e.partitions = get_ids(c);
      cmd = std::move(e);
      break;
    }
    case 15: {
      upsert_scram_cmd u;
      u.user = get_string(c);
      u.credential = get_credential(c);
      cmd = std::move(u);
      break;
    }
    case 16: {
      delete_scram_cmd d;
      d.user = get_string(c);
      auto m = c.read_int8();
      if (c.ok() && m != 1 && m != 2)
        return error(controller_errc::corrupt, fmt::format("SCRAM mechanism {}", m));
      d.mechanism = m == 2 ? security::scram_mechanism::sha512 : security::scram_mechanism::sha256;
      cmd = std::move(d);
      break;
    }
    case 17: {
      create_acls_cmd a;
      auto n = c.read_count(length_prefix::int32, 10, "ACLs");
      for (int64_t i = 0; c.ok() && i < n; ++i)
        a.bindings.push_back(get_acl(c));
      cmd = std::move(a);
      break;
    }
    case 18: {
      delete_acls_cmd d;
      auto n = c.read_count(length_prefix::int32, 7, "ACL filters");
      for (int64_t i = 0; c.ok() && i < n; ++i)
        d.filters.push_back(get_acl_filter(c));
      cmd = std::move(d);
      break;
    }
    case 19: {
      alter_quotas_cmd q;
      q.entity = get_quota_entity(c);
      q.set = get_quota_values(c);
      auto n = c.read_count(length_prefix::int32, 2, "quota keys");
      for (int64_t i = 0; c.ok() && i < n; ++i)
        q.remove.push_back(get_string(c));
      cmd = std::move(q);
      break;
    }
    case 20: {
      partition_isr_cmd l;
      l.name = get_string(c);
      l.id = get_id(c);
      l.partition = c.read_int32();
      l.leader = c.read_int32();
      l.term = c.read_int64();
      l.isr = get_ids(c);
      cmd = std::move(l);
      break;
    }
    default:
      if (c.ok())
        return error(controller_errc::corrupt, fmt::format("command type {}", type));
  }
  if (!c.ok())
    return error(controller_errc::corrupt, c.check().error().message());
  if (!c.at_end())
    return error(controller_errc::corrupt, "bytes after the command");
  return cmd;
}

result<int64_t> controller_stm::apply(int64_t index, const controller_command& cmd) {
  if (index <= applied_)
    return int64_t{0};
  applied_ = index;
  return std::visit(
      [this](const auto& c) -> result<int64_t> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, bootstrap_cmd>) {
          if (!cluster_id_.empty())
            return error(controller_errc::already_bootstrapped, cluster_id_);
          if (c.cluster_id.empty() || c.cluster_id.size() > max_string)
            return error(controller_errc::invalid_command, "cluster id");
          cluster_id_ = c.cluster_id;
          return int64_t{0};
        } else if constexpr (std::is_same_v<T, register_broker_cmd>) {
          if (!valid(c.reg))
            return error(controller_errc::invalid_command, "broker registration");
          auto& b = brokers_[c.reg.id];
          b.reg = c.reg;  // a decommissioned broker stays so when it registers again
          b.fenced = false;
          return int64_t{0};
        } else if constexpr (std::is_same_v<T, fence_broker_cmd>) {
          auto it = brokers_.find(c.id);
          if (it == brokers_.end())
            return error(controller_errc::unknown_broker, fmt::format("broker {}", c.id));
          it->second.fenced = c.fenced;
          return int64_t{0};
        } else if constexpr (std::is_same_v<T, decommission_broker_cmd>) {
          auto it = brokers_.find(c.id);
          if (it == brokers_.end())
            return error(controller_errc::unknown_broker, fmt::format("broker {}", c.id));
          it->second.decommissioned = c.on;
          return int64_t{0};
        } else if constexpr (std::is_same_v<T, upsert_scram_cmd> ||
                             std::is_same_v<T, delete_scram_cmd> ||
                             std::is_same_v<T, create_acls_cmd> ||
                             std::is_same_v<T, delete_acls_cmd> ||
                             std::is_same_v<T, alter_quotas_cmd>) {
          auto next = std::make_shared<security_state>(*security_);
          if (auto st = next->apply(c); !st)
            return st.error();
          security_ = std::move(next);
          return int64_t{0};
        } else if constexpr (std::is_same_v<T, allocate_producer_ids_cmd>) {
          if (c.count <= 0 || c.count > max_producer_id_block ||
              next_producer_id_ > INT64_MAX - c.count)
            return error(controller_errc::invalid_command, "producer id block");
          auto first = next_producer_id_;
          next_producer_id_ += c.count;
          return first;
        } else if constexpr (std::is_same_v<T, producer_id_floor_cmd>) {
          if (c.next < 0)
            return error(controller_errc::invalid_command, "producer id floor");
          next_producer_id_ = std::max(next_producer_id_, c.next);
          return int64_t{0};
        } else if constexpr (std::is_same_v<T, set_cluster_configs_cmd>) {
          // Checked by the broker that submitted it: the state machine takes any names, so
          // that brokers of different versions apply it alike.
          if (c.replace)
            cluster_configs_.clear();
          for (const auto& [k, v] : c.set)
            cluster_configs_[k] = v;
          for (const auto& k : c.remove)
            cluster_configs_.erase(k);
          return int64_t{0};
        } else {
          return apply_topic(c);
        }
      },
      cmd);
}

result<int64_t> controller_stm::apply_topic(const add_topic_cmd& c) {
  const auto& t = c.topic;
  STROM_TRY(validate_topic_name(t.name));
  if (topics_->contains(t.name))
    return error(topic_errc::exists, t.name);
  if (t.partitions < 1 || t.partitions > max_partitions_hard_limit ||
      t.replicas.size() != static_cast<size_t>(t.partitions))
    return error(topic_errc::invalid_partitions, fmt::format("{} partitions", t.partitions));
  if (t.id == topic_uuid{} || !valid_replicas(t.replicas) || t.replication_factor < 1)
    return error(controller_errc::invalid_command, "topic id or replicas");
  for (const auto& [name, other] : *topics_) {
    if (other.id == t.id)
      return error(controller_errc::invalid_command, "topic id in use");
  }
  auto next = std::make_shared<topic_map>(*topics_);
  (*next)[t.name] = t;
  topics_ = std::move(next);
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const remove_topic_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  auto next = std::make_shared<topic_map>(*topics_);
  next->erase(c.name);
  topics_ = std::move(next);
  auto first = leaders_->lower_bound({c.name, INT32_MIN});
  if (first != leaders_->end() && first->first.first == c.name) {
    auto& leaders = leaders_.write();
    auto from = leaders.lower_bound({c.name, INT32_MIN});
    auto to = leaders.upper_bound({c.name, INT32_MAX});
    auto& floor = epoch_floors_[c.name];
    for (auto l = from; l != to; ++l)
      floor = std::max(floor, l->second.term);
    leaders.erase(from, to);
  }
  prune_elections(c.name, [](int32_t) { return false; });
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const partition_leader_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  const auto& t = it->second;
  if (c.partition < 0 || c.partition >= t.partitions || c.term < 0 ||
      static_cast<size_t>(c.partition) >= t.replicas.size())
    return error(controller_errc::invalid_command, "partition or term");
  // A replica a move in flight adds may lead too (the move hands the leadership to it).
  auto r = t.all_replicas(c.partition);
  if (std::find(r.begin(), r.end(), c.leader) == r.end())
    return error(controller_errc::invalid_command,
                 fmt::format("broker {} is no replica of {}-{}", c.leader, c.name, c.partition));
  auto key = std::pair(c.name, c.partition);
  if (auto cur = leaders_->find(key); cur != leaders_->end() && cur->second.term >= c.term)
    return int64_t{0};  // an older (or the same) election: the newer one stays
  leaders_.write()[key] = partition_leader{c.leader, c.term, {}};
  // A preferred-leader election asked for is done once that replica leads.
  auto target = t.target_replicas(c.partition);
  if (!target.empty() && target.front() == c.leader && elections_->contains(key)) {
    auto e = std::make_shared<partition_set>(*elections_);
    e->erase(key);
    elections_ = std::move(e);
  }
  return int64_t{0};
}

template <typename Keep>
void controller_stm::prune_elections(const std::string& name, Keep keep) {
  auto first = elections_->lower_bound({name, INT32_MIN});
  if (first == elections_->end() || first->first != name)
    return;
  auto e = std::make_shared<partition_set>(*elections_);
  for (auto it = e->lower_bound({name, INT32_MIN}); it != e->end() && it->first == name;) {
    if (keep(it->second))
      ++it;
    else
      it = e->erase(it);
  }
  elections_ = std::move(e);
}

result<int64_t> controller_stm::apply_topic(const partition_isr_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  auto key = std::pair(c.name, c.partition);
  auto cur = leaders_->find(key);
  if (cur == leaders_->end() || cur->second.leader != c.leader || cur->second.term != c.term)
    return int64_t{0};  // another term's, or a leadership not recorded: the report is stale
  auto isr = c.isr;
  std::sort(isr.begin(), isr.end());
  auto r = it->second.all_replicas(c.partition);
  bool valid = std::adjacent_find(isr.begin(), isr.end()) == isr.end() &&
               std::binary_search(isr.begin(), isr.end(), c.leader) &&
               std::all_of(isr.begin(), isr.end(), [&r](int32_t id) {
                 return std::find(r.begin(), r.end(), id) != r.end();
               });
  if (!valid)
    return error(controller_errc::invalid_command,
                 fmt::format("{}-{}: in-sync replicas {} are not replicas with the leader", c.name,
                             c.partition, fmt::join(c.isr, ",")));
  if (cur->second.isr == isr)
    return int64_t{0};
  leaders_.write()[key].isr = std::move(isr);
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const elect_preferred_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  const auto& t = it->second;
  for (auto p : c.partitions) {
    if (p < 0 || p >= t.partitions || static_cast<size_t>(p) >= t.replicas.size())
      return error(topic_errc::not_found, fmt::format("{} has no partition {}", c.name, p));
  }
  auto e = std::make_shared<partition_set>(*elections_);
  for (auto p : c.partitions) {
    auto l = leaders_->find({c.name, p});
    auto target = t.target_replicas(p);
    if (l != leaders_->end() && l->second.leader == target.front())
      continue;  // led by it already
    e->insert({c.name, p});
  }
  elections_ = std::move(e);
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const move_partition_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  const auto& t = it->second;
  if (c.partition < 0 || c.partition >= t.partitions ||
      static_cast<size_t>(c.partition) >= t.replicas.size())
    return error(topic_errc::not_found, fmt::format("{} has no partition {}", c.name, c.partition));
  bool moving = t.moving.contains(c.partition);
  if (c.target.empty() && !moving)
    return error(topic_errc::no_reassignment, fmt::format("{}-{}", c.name, c.partition));
  if (!c.target.empty()) {
    if (c.target.size() > static_cast<size_t>(max_replication_factor) ||
        !valid_replicas({c.target}))
      return error(topic_errc::invalid_replica_assignment,
                   fmt::format("{}-{}: replicas", c.name, c.partition));
    for (auto b : c.target) {
      if (!brokers_.contains(b))
        return error(topic_errc::invalid_replica_assignment,
                     fmt::format("{}-{}: broker {} is not registered", c.name, c.partition, b));
    }
  }
  const auto& current = t.replicas[static_cast<size_t>(c.partition)];
  bool back = c.target.empty() || c.target == current;
  if (back && !moving)
    return int64_t{0};
  auto next = std::make_shared<topic_map>(*topics_);
  auto& nt = (*next)[c.name];
  if (back)
    nt.moving.erase(c.partition);
  else
    nt.moving[c.partition] = c.target;
  topics_ = std::move(next);
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const finish_move_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  auto m = it->second.moving.find(c.partition);
  if (m == it->second.moving.end() || m->second != c.replicas)
    return error(topic_errc::no_reassignment,
                 fmt::format("{}-{}: not moving to those replicas", c.name, c.partition));
  auto next = std::make_shared<topic_map>(*topics_);
  auto& t = (*next)[c.name];
  t.replicas[static_cast<size_t>(c.partition)] = c.replicas;
  t.moving.erase(c.partition);
  // The topic's replication factor: its partitions' replica count once they all agree.
  auto n = t.replicas.front().size();
  bool same = std::all_of(t.replicas.begin(), t.replicas.end(),
                          [n](const auto& r) { return r.size() == n; });
  if (same)
    t.replication_factor = static_cast<int16_t>(n);
  topics_ = std::move(next);
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const add_partitions_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  if (c.added.empty() ||
      c.added.size() > static_cast<size_t>(max_partitions_hard_limit - it->second.partitions))
    return error(topic_errc::invalid_partitions, fmt::format("{} new partitions", c.added.size()));
  if (!valid_replicas(c.added))
    return error(controller_errc::invalid_command, "replicas");
  auto next = std::make_shared<topic_map>(*topics_);
  auto& t = (*next)[c.name];
  t.replicas.insert(t.replicas.end(), c.added.begin(), c.added.end());
  t.partitions = static_cast<int32_t>(t.replicas.size());
  topics_ = std::move(next);
  return int64_t{0};
}

result<int64_t> controller_stm::apply_topic(const update_topic_configs_cmd& c) {
  auto it = topics_->find(c.name);
  if (it == topics_->end() || it->second.id != c.id)
    return error(topic_errc::not_found, c.name);
  auto next = std::make_shared<topic_map>(*topics_);
  (*next)[c.name].configs = c.configs;
  topics_ = std::move(next);
  return int64_t{0};
}

std::vector<std::byte> controller_stm::snapshot() const {
  bytes::writer w;
  // Version 1 while there are no cluster-wide configs: what brokers of the version before read.
  size_t moves = 0;
  for (const auto& [name, t] : *topics_)
    moves += t.moving.size();
  auto decommissioned = std::count_if(brokers_.begin(), brokers_.end(),
                                      [](const auto& b) { return b.second.decommissioned; });
  bool security =
      !security_->users.empty() || !security_->acls.empty() || !security_->quotas.empty();
  auto isrs = std::count_if(leaders_->begin(), leaders_->end(),
                            [](const auto& l) { return !l.second.isr.empty(); });
  int8_t version = isrs > 0                                       ? int8_t{7}
                   : security                                     ? int8_t{6}
                   : decommissioned > 0 || !elections_->empty()   ? int8_t{5}
                   : moves > 0                                    ? int8_t{4}
                   : !leaders_->empty() || !epoch_floors_.empty() ? int8_t{3}
                   : !cluster_configs_.empty()                    ? int8_t{2}
                                                                  : int8_t{1};
  w.put<int8_t>(version);
  w.put<int64_t>(applied_);
  w.put_string(cluster_id_);
  w.put<int64_t>(next_producer_id_);
  w.put<int32_t>(static_cast<int32_t>(brokers_.size()));
  for (const auto& [id, b] : brokers_) {
    put_registration(w, b.reg);
    w.put_bool(b.fenced);
  }
  w.put<int32_t>(static_cast<int32_t>(topics_->size()));
  for (const auto& [name, t] : *topics_)
    put_topic(w, t);
  if (version >= 2)
    put_configs(w, cluster_configs_);
  if (version >= 3) {
    w.put<int32_t>(static_cast<int32_t>(leaders_->size()));
    for (const auto& [key, l] : *leaders_) {
      w.put_string(key.first);
      w.put<int32_t>(key.second);
      w.put<int32_t>(l.leader);
      w.put<int64_t>(l.term);
    }
    w.put<int32_t>(static_cast<int32_t>(epoch_floors_.size()));
    for (const auto& [name, floor] : epoch_floors_) {
      w.put_string(name);
      w.put<int64_t>(floor);
    }
  }
  if (version >= 4) {
    w.put<int32_t>(static_cast<int32_t>(moves));
    for (const auto& [name, t] : *topics_) {
      for (const auto& [p, target] : t.moving) {
        w.put_string(name);
        w.put<int32_t>(p);
        put_ids(w, target);
      }
    }
  }
  if (version >= 5) {
    std::vector<int32_t> ids;
    for (const auto& [id, b] : brokers_) {
      if (b.decommissioned)
        ids.push_back(id);
    }
    put_ids(w, ids);
    w.put<int32_t>(static_cast<int32_t>(elections_->size()));
    for (const auto& [name, p] : *elections_) {
      w.put_string(name);
      w.put<int32_t>(p);
    }
  }
  if (version >= 6)
    security_->encode(w);
  if (version >= 7) {
    w.put<int32_t>(static_cast<int32_t>(isrs));
    for (const auto& [key, l] : *leaders_) {
      if (l.isr.empty())
        continue;
      w.put_string(key.first);
      w.put<int32_t>(key.second);
      put_ids(w, l.isr);
    }
  }
  return w.take();
}

result<controller_stm> controller_stm::restore(std::span<const std::byte> in) {
  bytes::cursor c(in);
  controller_stm s;
  auto version = c.read_int8();
  if (c.ok() && (version < 1 || version > snapshot_version))
    return error(controller_errc::corrupt, fmt::format("snapshot version {}", version));
  s.applied_ = c.read_int64();
  s.cluster_id_ = get_string(c);
  s.next_producer_id_ = c.read_int64();
  auto n = c.read_count(length_prefix::int32, 20, "brokers");
  for (int64_t i = 0; c.ok() && i < n; ++i) {
    broker_record b;
    b.reg = get_registration(c);
    b.fenced = c.read_int8() != 0;
    s.brokers_[b.reg.id] = std::move(b);
  }
  auto topics = std::make_shared<topic_map>();
  auto nt = c.read_count(length_prefix::int32, 30, "topics");
  for (int64_t i = 0; c.ok() && i < nt; ++i) {
    auto t = get_topic(c);
    (*topics)[t.name] = std::move(t);
  }
  s.topics_ = topics;  // the moves below still go in
  if (version >= 2)
    s.cluster_configs_ = get_configs(c);
  if (version >= 3) {
    auto& leaders = s.leaders_.write();
    auto nl = c.read_count(length_prefix::int32, 18, "partition leaders");
    for (int64_t i = 0; c.ok() && i < nl; ++i) {
      auto name = get_string(c);
      auto p = c.read_int32();
      partition_leader l;
      l.leader = c.read_int32();
      l.term = c.read_int64();
      leaders[{std::move(name), p}] = l;
    }
    auto nf = c.read_count(length_prefix::int32, 10, "epoch floors");
    for (int64_t i = 0; c.ok() && i < nf; ++i) {
      auto name = get_string(c);
      s.epoch_floors_[std::move(name)] = c.read_int64();
    }
  }
  if (version >= 4) {
    auto nm = c.read_count(length_prefix::int32, 10, "partition moves");
    for (int64_t i = 0; c.ok() && i < nm; ++i) {
      auto name = get_string(c);
      auto p = c.read_int32();
      auto target = get_ids(c);
      auto t = topics->find(name);
      if (c.ok() && t != topics->end())
        t->second.moving[p] = std::move(target);
    }
  }
  if (version >= 5) {
    for (auto id : get_ids(c)) {
      if (auto b = s.brokers_.find(id); b != s.brokers_.end())
        b->second.decommissioned = true;
    }
    auto elections = std::make_shared<partition_set>();
    auto ne = c.read_count(length_prefix::int32, 6, "elections");
    for (int64_t i = 0; c.ok() && i < ne; ++i) {
      auto name = get_string(c);
      elections->insert({std::move(name), c.read_int32()});
    }
    s.elections_ = std::move(elections);
  }
  if (version >= 6)
    s.security_ = std::make_shared<const security_state>(security_state::decode(c));
  if (version >= 7) {
    auto& leaders = s.leaders_.write();
    auto ni = c.read_count(length_prefix::int32, 10, "in-sync replica sets");
    for (int64_t i = 0; c.ok() && i < ni; ++i) {
      auto name = get_string(c);
      auto p = c.read_int32();
      auto isr = get_ids(c);
      if (auto it = leaders.find({name, p}); it != leaders.end())
        it->second.isr = std::move(isr);
    }
  }
  if (!c.ok())
    return error(controller_errc::corrupt, c.check().error().message());
  if (!c.at_end())
    return error(controller_errc::corrupt, "bytes after the snapshot");
  return s;
}

}  // namespace strom::cluster
