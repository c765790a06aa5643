#include "strom/cluster/security_state.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "strom/bytes/cursor.h"
#include "strom/bytes/writer.h"
#include "strom/cluster/controller_stm.h"

namespace strom::cluster {

namespace {
/// SHA-256 and SHA-512 digest sizes: the stored and server keys are digests.
size_t key_size(security::scram_mechanism m) {
  return m == security::scram_mechanism::sha256 ? 32 : 64;
}
constexpr size_t max_salt = 1024;

bool valid(const upsert_scram_cmd& c) {
  const auto& k = c.credential;
  return !c.user.empty() && c.user.size() <= security_state::max_user_name &&
         k.iterations >= security::min_iterations && k.iterations <= security::max_iterations &&
         !k.salt.empty() && k.salt.size() <= max_salt &&
         k.stored_key.size() == key_size(k.mechanism) &&
         k.server_key.size() == key_size(k.mechanism);
}

int8_t mechanism_code(security::scram_mechanism m) {
  return m == security::scram_mechanism::sha256 ? 1 : 2;
}
}  // namespace

status security_state::apply(const upsert_scram_cmd& c) {
  if (!valid(c))
    return error(controller_errc::invalid_command, fmt::format("credential of user {}", c.user));
  auto it = users.find(c.user);
  if (it == users.end() && users.size() >= max_users)
    return error(controller_errc::invalid_command, fmt::format("more than {} users", max_users));
  users[c.user][c.credential.mechanism] = c.credential;
  return ok();
}

status security_state::apply(const delete_scram_cmd& c) {
  auto it = users.find(c.user);
  if (it == users.end() || it->second.erase(c.mechanism) == 0) {
    return error(controller_errc::not_found, fmt::format("user {} has no {} credential", c.user,
                                                         security::mechanism_name(c.mechanism)));
  }
  if (it->second.empty())
    users.erase(it);
  return ok();
}

status security_state::apply(const create_acls_cmd& c) {
  for (const auto& b : c.bindings) {
    if (auto why = security::invalid_reason(b))
      return error(controller_errc::invalid_command, *why);
  }
  auto next = acls;
  next.insert(next.end(), c.bindings.begin(), c.bindings.end());
  std::sort(next.begin(), next.end());
  next.erase(std::unique(next.begin(), next.end()), next.end());
  if (next.size() > max_acls)
    return error(controller_errc::invalid_command, fmt::format("more than {} ACLs", max_acls));
  acls = std::move(next);
  return ok();
}

status security_state::apply(const delete_acls_cmd& c) {
  for (const auto& f : c.filters) {
    if (auto why = security::invalid_reason(f))
      return error(controller_errc::invalid_command, *why);
  }
  std::erase_if(acls, [&c](const security::acl_binding& b) {
    return std::any_of(c.filters.begin(), c.filters.end(),
                       [&b](const security::acl_filter& f) { return security::matches(f, b); });
  });
  return ok();
}

status security_state::apply(const alter_quotas_cmd& c) {
  const auto& e = c.entity;
  if (!e.user && !e.client_id)
    return error(controller_errc::invalid_command, "a quota entity names a user or a client id");
  for (const auto* part : {&e.user, &e.client_id}) {
    if (*part && **part && (***part).size() > max_user_name)
      return error(controller_errc::invalid_command, "a quota entity name is too long");
  }
  for (const auto& [k, v] : c.set) {
    if (k != producer_byte_rate && k != consumer_byte_rate && k != request_percentage)
      return error(controller_errc::invalid_command, fmt::format("unknown quota key {}", k));
    if (!std::isfinite(v) || v <= 0)
      return error(controller_errc::invalid_command,
                   fmt::format("quota {} must be above 0, got {}", k, v));
  }
  auto it = quotas.find(e);
  if (it == quotas.end() && !c.set.empty() && quotas.size() >= max_quota_entities)
    return error(controller_errc::invalid_command,
                 fmt::format("more than {} quota entities", max_quota_entities));
  auto values = it == quotas.end() ? std::map<std::string, double>{} : it->second;
  for (const auto& k : c.remove)
    values.erase(k);
  for (const auto& [k, v] : c.set)
    values[k] = v;
  if (values.empty())
    quotas.erase(e);
  else
    quotas[e] = std::move(values);
  return ok();
}

std::optional<security_state::applicable_quota> security_state::quota_for(
    std::string_view key, const std::string& user, const std::string& client_id) const {
  if (quotas.empty())
    return std::nullopt;
  using part = std::optional<std::optional<std::string>>;
  const part u(user), du(std::optional<std::string>{}), none;
  const part cl(client_id), dc(std::optional<std::string>{});
  const quota_entity order[] = {{u, cl},  {u, dc},    {u, none},  {du, cl},
                                {du, dc}, {du, none}, {none, cl}, {none, dc}};
  for (const auto& e : order) {
    auto it = quotas.find(e);
    if (it == quotas.end())
      continue;
    auto v = it->second.find(std::string(key));
    if (v != it->second.end())
      return applicable_quota{e, v->second};
  }
  return std::nullopt;
}

const security::scram_credential* security_state::credential(const std::string& user,
                                                             security::scram_mechanism m) const {
  auto it = users.find(user);
  if (it == users.end())
    return nullptr;
  auto c = it->second.find(m);
  return c == it->second.end() ? nullptr : &c->second;
}

void put_credential(bytes::writer& w, const security::scram_credential& c) {
  w.put<int8_t>(mechanism_code(c.mechanism));
  w.put_string(c.salt);
  w.put<int32_t>(c.iterations);
  w.put_string(c.stored_key);
  w.put_string(c.server_key);
}

security::scram_credential get_credential(bytes::cursor& c) {
  security::scram_credential k;
  auto m = c.read_int8();
  if (c.ok() && m != 1 && m != 2)
    c.fail(bytes::cursor_errc::invalid_length, "SCRAM mechanism");
  k.mechanism = m == 2 ? security::scram_mechanism::sha512 : security::scram_mechanism::sha256;
  auto salt = c.read_string(bytes::length_prefix::int16);
  k.salt = std::string(salt);
  k.iterations = c.read_int32();
  k.stored_key = std::string(c.read_string(bytes::length_prefix::int16));
  k.server_key = std::string(c.read_string(bytes::length_prefix::int16));
  return k;
}

void put_acl(bytes::writer& w, const security::acl_binding& b) {
  w.put<int8_t>(static_cast<int8_t>(b.type));
  w.put_string(b.name);
  w.put<int8_t>(static_cast<int8_t>(b.pattern));
  w.put_string(b.principal);
  w.put_string(b.host);
  w.put<int8_t>(static_cast<int8_t>(b.operation));
  w.put<int8_t>(static_cast<int8_t>(b.permission));
}

security::acl_binding get_acl(bytes::cursor& c) {
  security::acl_binding b;
  b.type = static_cast<security::resource_type>(c.read_int8());
  b.name = std::string(c.read_string(bytes::length_prefix::int16));
  b.pattern = static_cast<security::pattern_type>(c.read_int8());
  b.principal = std::string(c.read_string(bytes::length_prefix::int16));
  b.host = std::string(c.read_string(bytes::length_prefix::int16));
  b.operation = static_cast<security::acl_operation>(c.read_int8());
  b.permission = static_cast<security::acl_permission>(c.read_int8());
  return b;
}

namespace {
void put_opt(bytes::writer& w, const std::optional<std::string>& s) {
  w.put_bool(s.has_value());
  if (s)
    w.put_string(*s);
}
std::optional<std::string> get_opt(bytes::cursor& c) {
  if (c.read_int8() == 0)
    return std::nullopt;
  return std::string(c.read_string(bytes::length_prefix::int16));
}
}  // namespace

void put_acl_filter(bytes::writer& w, const security::acl_filter& f) {
  w.put<int8_t>(static_cast<int8_t>(f.type));
  put_opt(w, f.name);
  w.put<int8_t>(static_cast<int8_t>(f.pattern));
  put_opt(w, f.principal);
  put_opt(w, f.host);
  w.put<int8_t>(static_cast<int8_t>(f.operation));
  w.put<int8_t>(static_cast<int8_t>(f.permission));
}

security::acl_filter get_acl_filter(bytes::cursor& c) {
  security::acl_filter f;
  f.type = static_cast<security::resource_type>(c.read_int8());
  f.name = get_opt(c);
  f.pattern = static_cast<security::pattern_type>(c.read_int8());
  f.principal = get_opt(c);
  f.host = get_opt(c);
  f.operation = static_cast<security::acl_operation>(c.read_int8());
  f.permission = static_cast<security::acl_permission>(c.read_int8());
  return f;
}

namespace {
/// Flags of an entity: 1 has a user, 2 the user is named, 4 has a client id, 8 it is named.
void put_part(bytes::writer& w, const std::optional<std::optional<std::string>>& p) {
  if (p && *p)
    w.put_string(**p);
}
}  // namespace

void put_quota_entity(bytes::writer& w, const quota_entity& e) {
  int8_t flags = static_cast<int8_t>((e.user ? 1 : 0) | (e.user && *e.user ? 2 : 0) |
                                     (e.client_id ? 4 : 0) | (e.client_id && *e.client_id ? 8 : 0));
  w.put<int8_t>(flags);
  put_part(w, e.user);
  put_part(w, e.client_id);
}

quota_entity get_quota_entity(bytes::cursor& c) {
  quota_entity e;
  auto flags = c.read_int8();
  if (flags & 1)
    e.user =
        (flags & 2)
            ? std::optional<std::string>(std::string(c.read_string(bytes::length_prefix::int16)))
            : std::optional<std::string>();
  if (flags & 4)
    e.client_id =
        (flags & 8)
            ? std::optional<std::string>(std::string(c.read_string(bytes::length_prefix::int16)))
            : std::optional<std::string>();
  return e;
}

void put_quota_values(bytes::writer& w, const std::map<std::string, double>& values) {
  w.put<int32_t>(static_cast<int32_t>(values.size()));
  for (const auto& [k, v] : values) {
    w.put_string(k);
    w.put<int64_t>(std::bit_cast<int64_t>(v));
  }
}

std::map<std::string, double> get_quota_values(bytes::cursor& c) {
  std::map<std::string, double> out;
  auto n = c.read_count(bytes::length_prefix::int32, 10, "quota values");
  for (int64_t i = 0; c.ok() && i < n; ++i) {
    auto k = std::string(c.read_string(bytes::length_prefix::int16));
    out[k] = std::bit_cast<double>(c.read_int64());
  }
  return out;
}

void security_state::encode(bytes::writer& w) const {
  w.put<int32_t>(static_cast<int32_t>(users.size()));
  for (const auto& [name, creds] : users) {
    w.put_string(name);
    w.put<int32_t>(static_cast<int32_t>(creds.size()));
    for (const auto& [m, k] : creds)
      put_credential(w, k);
  }
  w.put<int32_t>(static_cast<int32_t>(acls.size()));
  for (const auto& b : acls)
    put_acl(w, b);
  w.put<int32_t>(static_cast<int32_t>(quotas.size()));
  for (const auto& [e, values] : quotas) {
    put_quota_entity(w, e);
    put_quota_values(w, values);
  }
}

security_state security_state::decode(bytes::cursor& c) {
  security_state s;
  auto n = c.read_count(bytes::length_prefix::int32, 6, "users");
  for (int64_t i = 0; c.ok() && i < n; ++i) {
    auto name = std::string(c.read_string(bytes::length_prefix::int16));
    auto m = c.read_count(bytes::length_prefix::int32, 15, "credentials");
    auto& creds = s.users[name];
    for (int64_t j = 0; c.ok() && j < m; ++j) {
      auto k = get_credential(c);
      creds[k.mechanism] = std::move(k);
    }
  }
  auto n_acls = c.read_count(bytes::length_prefix::int32, 10, "ACLs");
  for (int64_t i = 0; c.ok() && i < n_acls; ++i)
    s.acls.push_back(get_acl(c));
  auto n_quotas = c.read_count(bytes::length_prefix::int32, 5, "quota entities");
  for (int64_t i = 0; c.ok() && i < n_quotas; ++i) {
    auto e = get_quota_entity(c);
    s.quotas[e] = get_quota_values(c);
  }
  return s;
}

}  // namespace strom::cluster
