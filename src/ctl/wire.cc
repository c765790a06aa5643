#include "ctl/wire.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <tuple>

#include "strom/kafka/protocol/codec.h"

namespace strom::ctl {

namespace {

strom::error net_error(std::string message) {
  return strom::error(std::make_error_code(std::errc::connection_refused), std::move(message));
}

strom::error protocol_error(std::string message) {
  return strom::error(std::make_error_code(std::errc::protocol_error), std::move(message));
}

}  // namespace

tcp_connection::~tcp_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

result<tcp_connection> tcp_connection::connect(const std::string& host, uint16_t port,
                                               int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0)
    return net_error(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
  std::string reason = "no address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return tcp_connection(fd, timeout_ms);
    }
    if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, timeout_ms);
      int err = 0;
      socklen_t len = sizeof err;
      if (n == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        ::freeaddrinfo(res);
        return tcp_connection(fd, timeout_ms);
      }
      reason = n == 0 ? "timed out" : std::strerror(err != 0 ? err : errno);
    } else {
      reason = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return net_error(fmt::format("cannot connect to {}:{}: {}", host, port, reason));
}

status tcp_connection::wait(short events) {
  pollfd p{fd_, events, 0};
  int n = ::poll(&p, 1, timeout_ms_);
  if (n == 0)
    return net_error(fmt::format("no answer within {} ms", timeout_ms_));
  if (n < 0)
    return net_error(std::strerror(errno));
  return ok();
}

status tcp_connection::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      STROM_TRY(wait(POLLOUT));
      continue;
    }
    if (n < 0)
      return net_error(fmt::format("write failed: {}", std::strerror(errno)));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

result<std::string> tcp_connection::read_exact(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    auto r = ::recv(fd_, out.data() + got, n - got, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      STROM_TRY(wait(POLLIN));
      continue;
    }
    if (r < 0)
      return net_error(fmt::format("read failed: {}", std::strerror(errno)));
    if (r == 0)
      return net_error("the connection was closed before a whole answer arrived");
    got += static_cast<size_t>(r);
  }
  return out;
}

result<std::string> tcp_connection::read_to_end(size_t limit) {
  std::string out;
  std::array<char, 16384> buf{};
  while (true) {
    auto r = ::recv(fd_, buf.data(), buf.size(), 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      STROM_TRY(wait(POLLIN));
      continue;
    }
    if (r < 0)
      return net_error(fmt::format("read failed: {}", std::strerror(errno)));
    if (r == 0)
      return out;
    out.append(buf.data(), static_cast<size_t>(r));
    if (out.size() > limit)
      return protocol_error(fmt::format("the answer is larger than {} bytes", limit));
  }
}

result<tcp_connection> connect_any(const std::vector<host_port>& brokers, int timeout_ms) {
  std::string reasons;
  for (const auto& b : brokers) {
    auto c = tcp_connection::connect(b.host, b.port, timeout_ms);
    if (c)
      return c;
    if (!reasons.empty())
      reasons += "; ";
    reasons += c.error().detail();
  }
  return net_error(reasons);
}

// --- ApiVersions ------------------------------------------------------------------------------

namespace {

namespace kp = ::strom::kafka::protocol;

constexpr size_t max_api_versions_frame = 1 << 20;

}  // namespace

std::string encode_api_versions_request(int32_t correlation_id, std::string_view client_id) {
  kp::request_header h;
  h.key = kp::api_key::api_versions;
  h.version = 0;
  h.correlation_id = correlation_id;
  h.client_id = std::string(client_id);
  auto frame = kp::encode_request_frame(h, kp::api_versions_request{});
  STROM_ASSERT(frame.has_value(), "an ApiVersions request is a few bytes");
  auto bytes = frame->flatten();
  STROM_ASSERT(bytes.has_value(), "an ApiVersions request is all in memory");
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

result<std::vector<api_version_range>> decode_api_versions_response(std::string_view frame,
                                                                    int32_t correlation_id) {
  int32_t corr = 0;
  auto r =
      kp::decode_response<kp::api_versions_response>(std::as_bytes(std::span(frame)), 0, &corr);
  if (!r)
    return protocol_error(
        fmt::format("the ApiVersions answer is malformed: {}", r.error().message()));
  if (corr != correlation_id)
    return protocol_error(
        fmt::format("the ApiVersions answer has correlation id {}, not {}", corr, correlation_id));
  // UNSUPPORTED_VERSION still lists the ranges; any other error is fatal.
  if (r->error_code != kp::error_code::none &&
      r->error_code != kp::error_code::unsupported_version) {
    return protocol_error(fmt::format("the broker answered ApiVersions with error {}",
                                      static_cast<int16_t>(r->error_code)));
  }
  std::vector<api_version_range> out;
  out.reserve(r->api_keys.size());
  for (const auto& a : r->api_keys)
    out.push_back({a.api_key, a.min_version, a.max_version});
  return out;
}

std::string_view api_name(int16_t key) {
  return kp::api_name(static_cast<kp::api_key>(key));
}

namespace {

/// Reads one size-prefixed answer of at most `limit` bytes and returns it without the prefix.
result<std::string> read_frame(tcp_connection& conn, size_t limit, std::string_view api) {
  auto size_bytes = conn.read_exact(4);
  if (!size_bytes)
    return size_bytes.error();
  auto prefix = std::as_bytes(std::span(*size_bytes)).first<4>();
  auto size = kp::decode_frame_size(prefix, limit);
  if (!size)
    return protocol_error(fmt::format("the {} answer: {}", api, size.error().message()));
  return conn.read_exact(*size);
}

/// ApiVersions over an open connection.
result<std::vector<api_version_range>> api_versions_on(tcp_connection& conn,
                                                       int32_t correlation_id) {
  STROM_TRY(conn.write_all(encode_api_versions_request(correlation_id, "stromctl")));
  auto frame = read_frame(conn, max_api_versions_frame, "ApiVersions");
  if (!frame)
    return frame.error();
  return decode_api_versions_response(*frame, correlation_id);
}

}  // namespace

result<std::vector<api_version_range>> fetch_api_versions(const std::vector<host_port>& brokers,
                                                          int timeout_ms) {
  auto conn = connect_any(brokers, timeout_ms);
  if (!conn)
    return conn.error();
  return api_versions_on(*conn, 1);
}

// --- Config requests --------------------------------------------------------------------------

namespace {

constexpr size_t max_config_frame = 16 << 20;
constexpr int8_t broker_resource = 4;

/// Sends `req` as `version` over `conn` and returns the answer frame without its size prefix.
template <typename Req>
result<std::string> send_request(tcp_connection& conn, int32_t correlation_id, int16_t version,
                                 const Req& req) {
  kp::request_header h;
  h.key = Req::api;
  h.version = version;
  h.correlation_id = correlation_id;
  h.client_id = "stromctl";
  auto frame = kp::encode_request_frame(h, req);
  if (!frame)
    return frame.error();
  auto bytes = frame->flatten();
  if (!bytes)
    return bytes.error();
  STROM_TRY(conn.write_all(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size())));
  return read_frame(conn, max_config_frame, kp::api_name(Req::api));
}

/// Sends `req` as `version` to the first reachable broker and decodes its answer.
template <typename Resp, typename Req>
result<Resp> exchange(const std::vector<host_port>& brokers, int timeout_ms, int16_t version,
                      const Req& req) {
  auto conn = connect_any(brokers, timeout_ms);
  if (!conn)
    return conn.error();
  constexpr int32_t correlation_id = 1;
  auto answer = send_request(*conn, correlation_id, version, req);
  if (!answer)
    return answer.error();
  int32_t corr = 0;
  auto r = kp::decode_response<Resp>(std::as_bytes(std::span(*answer)), version, &corr);
  if (!r || corr != correlation_id)
    return protocol_error(fmt::format("the {} answer is malformed", kp::api_name(Req::api)));
  return r;
}

}  // namespace

result<std::map<std::string, std::string>> describe_cluster_configs(
    const std::vector<host_port>& brokers, int timeout_ms) {
  kp::describe_configs_request req;
  auto& res = req.resources.emplace_back();
  res.resource_type = broker_resource;
  res.resource_name = "";
  res.configuration_keys = std::nullopt;
  auto r = exchange<kp::describe_configs_response>(brokers, timeout_ms, 1, req);
  if (!r)
    return r.error();
  if (r->results.size() != 1)
    return protocol_error("the DescribeConfigs answer names no resource");
  const auto& out = r->results.front();
  if (out.error_code != kp::error_code::none)
    return protocol_error(fmt::format("the broker refused: {} (error {})",
                                      out.error_message.value_or(""),
                                      static_cast<int16_t>(out.error_code)));
  std::map<std::string, std::string> configs;
  for (const auto& c : out.configs)
    configs[c.name] = c.value.value_or("");
  return configs;
}

status alter_cluster_configs(const std::vector<host_port>& brokers, int timeout_ms,
                             const std::map<std::string, std::string>& set,
                             const std::vector<std::string>& remove) {
  constexpr int8_t op_set = 0;
  constexpr int8_t op_delete = 1;
  kp::incremental_alter_configs_request req;
  auto& res = req.resources.emplace_back();
  res.resource_type = broker_resource;
  res.resource_name = "";
  for (const auto& [k, v] : set)
    res.configs.push_back({k, op_set, v});
  for (const auto& k : remove)
    res.configs.push_back({k, op_delete, std::nullopt});
  auto r = exchange<kp::incremental_alter_configs_response>(brokers, timeout_ms, 0, req);
  if (!r)
    return r.error();
  if (r->responses.size() != 1)
    return protocol_error("the IncrementalAlterConfigs answer names no resource");
  const auto& out = r->responses.front();
  if (out.error_code != kp::error_code::none)
    return invalid(fmt::format("{} (error {})", out.error_message.value_or("refused"),
                               static_cast<int16_t>(out.error_code)));
  return {};
}

// --- Partition reassignment -------------------------------------------------------------------

namespace {

std::string broker_refusal(std::string_view api, kp::error_code code,
                           const std::optional<std::string>& message) {
  return fmt::format("the broker refused {}: {}{}{}", api, kp::error_name(code),
                     message && !message->empty() ? ": " : "", message.value_or(""));
}

}  // namespace

result<std::vector<reassignment_outcome>> alter_partition_reassignments(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::vector<reassignment_target>& targets) {
  kp::alter_partition_reassignments_request req;
  req.timeout_ms = timeout_ms;
  for (const auto& t : targets) {
    if (req.topics.empty() || req.topics.back().name != t.topic)
      req.topics.emplace_back().name = t.topic;
    req.topics.back().partitions.push_back({t.partition, t.replicas});
  }
  auto r = exchange<kp::alter_partition_reassignments_response>(brokers, timeout_ms, 0, req);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return protocol_error(
        broker_refusal("AlterPartitionReassignments", r->error_code, r->error_message));
  std::vector<reassignment_outcome> out;
  for (const auto& t : r->responses) {
    for (const auto& p : t.partitions) {
      reassignment_outcome o;
      o.topic = t.name;
      o.partition = p.partition_index;
      o.error_code = static_cast<int16_t>(p.error_code);
      o.error_name = std::string(kp::error_name(p.error_code));
      o.message = p.error_message.value_or("");
      out.push_back(std::move(o));
    }
  }
  return out;
}

result<std::vector<ongoing_reassignment>> list_partition_reassignments(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<std::pair<std::string, int32_t>>>& only) {
  kp::list_partition_reassignments_request req;
  req.timeout_ms = timeout_ms;
  if (only) {
    req.topics.emplace();
    for (const auto& [topic, partition] : *only) {
      auto it = std::find_if(req.topics->begin(), req.topics->end(),
                             [&](const auto& t) { return t.name == topic; });
      if (it == req.topics->end()) {
        it = req.topics->emplace(req.topics->end());
        it->name = topic;
      }
      it->partition_indexes.push_back(partition);
    }
  }
  auto r = exchange<kp::list_partition_reassignments_response>(brokers, timeout_ms, 0, req);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return protocol_error(
        broker_refusal("ListPartitionReassignments", r->error_code, r->error_message));
  std::vector<ongoing_reassignment> out;
  for (const auto& t : r->topics) {
    for (const auto& p : t.partitions)
      out.push_back(
          {t.name, p.partition_index, p.replicas, p.adding_replicas, p.removing_replicas});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

// --- Leader elections -------------------------------------------------------------------------

result<int16_t> elect_leaders_version(const std::vector<api_version_range>& ranges) {
  constexpr auto key = static_cast<int16_t>(kp::api_key::elect_leaders);
  auto it = std::find_if(ranges.begin(), ranges.end(),
                         [](const api_version_range& r) { return r.key == key; });
  if (it == ranges.end())
    return protocol_error("the broker does not offer ElectLeaders (API key 43)");
  for (int16_t v : {int16_t{2}, int16_t{1}}) {
    if (it->min <= v && v <= it->max)
      return v;
  }
  return protocol_error(
      fmt::format("the broker offers ElectLeaders versions {} to {}; stromctl sends version 1 or 2",
                  it->min, it->max));
}

result<std::vector<election_outcome>> elect_leaders(
    const std::vector<host_port>& brokers, int timeout_ms,
    const std::optional<std::vector<topic_partitions>>& partitions) {
  auto ranges = fetch_api_versions(brokers, timeout_ms);
  if (!ranges)
    return ranges.error();
  auto version = elect_leaders_version(*ranges);
  if (!version)
    return version.error();
  constexpr int8_t preferred = 0;
  kp::elect_leaders_request req;
  req.election_type = preferred;
  req.timeout_ms = timeout_ms;
  if (partitions) {
    req.topic_partitions.emplace();
    for (const auto& t : *partitions) {
      auto& out = req.topic_partitions->emplace_back();
      out.topic = t.topic;
      out.partitions = t.partitions;
    }
  }
  // The broker may take the whole timeout for the elections: the answer gets a second more.
  auto r = exchange<kp::elect_leaders_response>(brokers, timeout_ms + 1000, *version, req);
  if (!r)
    return r.error();
  if (r->error_code != kp::error_code::none)
    return protocol_error(broker_refusal("ElectLeaders", r->error_code, std::nullopt));
  std::vector<election_outcome> out;
  for (const auto& t : r->replica_election_results) {
    for (const auto& p : t.partition_result) {
      election_outcome o;
      o.topic = t.topic;
      o.partition = p.partition_id;
      o.error_code = static_cast<int16_t>(p.error_code);
      o.error_name = std::string(kp::error_name(p.error_code));
      o.message = p.error_message.value_or("");
      out.push_back(std::move(o));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

// --- Log directory sizes ----------------------------------------------------------------------

result<int16_t> describe_log_dirs_version(const std::vector<api_version_range>& ranges) {
  constexpr auto key = static_cast<int16_t>(kp::api_key::describe_log_dirs);
  auto it = std::find_if(ranges.begin(), ranges.end(),
                         [](const api_version_range& r) { return r.key == key; });
  if (it == ranges.end())
    return protocol_error("the broker does not offer DescribeLogDirs (API key 35)");
  auto low = std::max(it->min, kp::describe_log_dirs_request::min_version);
  auto high = std::min(it->max, kp::describe_log_dirs_request::max_version);
  if (low > high) {
    return protocol_error(fmt::format(
        "the broker offers DescribeLogDirs versions {} to {}; stromctl sends version {} to {}",
        it->min, it->max, kp::describe_log_dirs_request::min_version,
        kp::describe_log_dirs_request::max_version));
  }
  return high;
}

result<broker_log_sizes> decode_describe_log_dirs_response(std::string_view frame, int16_t version,
                                                           int32_t correlation_id) {
  int32_t corr = 0;
  auto r = kp::decode_response<kp::describe_log_dirs_response>(std::as_bytes(std::span(frame)),
                                                               version, &corr);
  if (!r || corr != correlation_id)
    return protocol_error("the DescribeLogDirs answer is malformed");
  if (r->error_code != kp::error_code::none)
    return protocol_error(broker_refusal("DescribeLogDirs", r->error_code, std::nullopt));
  broker_log_sizes out;
  for (const auto& dir : r->results) {
    if (dir.error_code != kp::error_code::none) {
      out.complete = false;
      continue;
    }
    for (const auto& t : dir.topics) {
      for (const auto& p : t.partitions) {
        if (!p.is_future_key)  // a copy to another directory of the broker, not yet in use
          out.sizes[{t.name, p.partition_index}] = p.partition_size;
      }
    }
  }
  return out;
}

result<broker_log_sizes> describe_log_dir_sizes(const host_port& broker, int timeout_ms,
                                                const std::vector<topic_partitions>& only) {
  auto conn = tcp_connection::connect(broker.host, broker.port, timeout_ms);
  if (!conn)
    return conn.error();
  auto ranges = api_versions_on(*conn, 1);
  if (!ranges)
    return ranges.error();
  auto version = describe_log_dirs_version(*ranges);
  if (!version)
    return version.error();
  kp::describe_log_dirs_request req;
  req.topics.emplace();
  for (const auto& t : only)
    req.topics->push_back({t.topic, t.partitions});
  constexpr int32_t correlation_id = 2;
  auto answer = send_request(*conn, correlation_id, *version, req);
  if (!answer)
    return answer.error();
  return decode_describe_log_dirs_response(*answer, *version, correlation_id);
}

// --- HTTP -------------------------------------------------------------------------------------

result<http_url> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.starts_with("https://"))
    return invalid(fmt::format("'{}': the admin API speaks plain http", url));
  if (url.starts_with(scheme))
    url.remove_prefix(scheme.size());
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  http_url out;
  if (slash != std::string_view::npos)
    out.path = std::string(url.substr(slash));
  while (!out.path.empty() && out.path.back() == '/')
    out.path.pop_back();
  auto hosts = parse_brokers(authority);
  if (!hosts || hosts->size() != 1)
    return invalid(fmt::format("'{}' is not an http://host:port URL", url));
  out.host = hosts->front().host;
  bool explicit_port = authority.find(':') != std::string_view::npos &&
                       (authority.front() != '[' || authority.find("]:") != std::string_view::npos);
  out.port = explicit_port ? hosts->front().port : 80;
  return out;
}

namespace {

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

result<http_response> parse_http_response(std::string_view raw) {
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos)
    return protocol_error("the HTTP answer has no end of headers");
  auto head = raw.substr(0, head_end);
  auto body = raw.substr(head_end + 4);
  auto line_end = head.find("\r\n");
  auto status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
    return protocol_error(fmt::format("not an HTTP answer: '{}'", status_line.substr(0, 40)));
  http_response out;
  for (size_t i = 9; i < 12; ++i) {
    char c = status_line[i];
    if (c < '0' || c > '9')
      return protocol_error(fmt::format("bad HTTP status line: '{}'", status_line));
    out.status = out.status * 10 + (c - '0');
  }
  bool chunked = false;
  std::optional<size_t> length;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    auto line = head.substr(pos, e == std::string_view::npos ? head.npos : e - pos);
    pos = e == std::string_view::npos ? head.size() : e + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    auto name = lower_ascii(line.substr(0, colon));
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    if (name == "transfer-encoding" && lower_ascii(value).find("chunked") != std::string::npos)
      chunked = true;
    if (name == "content-length") {
      size_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9')
          break;
        n = n * 10 + static_cast<size_t>(c - '0');
      }
      length = n;
    }
  }
  if (chunked) {
    std::string decoded;
    while (true) {
      auto e = body.find("\r\n");
      if (e == std::string_view::npos)
        return protocol_error("truncated chunked HTTP body");
      size_t n = 0;
      size_t digits = 0;
      for (char c : body.substr(0, e)) {
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
          break;
        if (++digits > 8)
          return protocol_error("bad HTTP chunk size");
        n = n * 16 + static_cast<size_t>(d);
      }
      body.remove_prefix(e + 2);
      if (n == 0)
        break;
      if (body.size() < n)
        return protocol_error("truncated chunked HTTP body");
      decoded.append(body.substr(0, n));
      body.remove_prefix(std::min(body.size(), n + 2));
    }
    out.body = std::move(decoded);
  } else if (length) {
    if (body.size() < *length)
      return protocol_error("the HTTP body is shorter than its Content-Length");
    out.body = std::string(body.substr(0, *length));
  } else {
    out.body = std::string(body);
  }
  return out;
}

std::string http_request_text(std::string_view method, const http_url& base,
                              std::string_view path) {
  bool v6 = base.host.find(':') != std::string::npos;
  return fmt::format(
      "{} {}{} HTTP/1.1\r\nHost: {}{}{}:{}\r\nAccept: application/json\r\nUser-Agent: "
      "stromctl\r\n{}Connection: close\r\n\r\n",
      method, base.path, path, v6 ? "[" : "", base.host, v6 ? "]" : "", base.port,
      method == "GET" ? "" : "Content-Length: 0\r\n");
}

namespace {

result<http_response> http_exchange(std::string_view method, const http_url& base,
                                    std::string_view path, int timeout_ms) {
  auto conn = tcp_connection::connect(base.host, base.port, timeout_ms);
  if (!conn)
    return conn.error();
  STROM_TRY(conn->write_all(http_request_text(method, base, path)));
  auto raw = conn->read_to_end(4 << 20);
  if (!raw)
    return raw.error();
  return parse_http_response(*raw);
}

}  // namespace

result<http_response> http_get(const http_url& base, std::string_view path, int timeout_ms) {
  return http_exchange("GET", base, path, timeout_ms);
}

result<http_response> http_put(const http_url& base, std::string_view path, int timeout_ms) {
  return http_exchange("PUT", base, path, timeout_ms);
}

}  // namespace strom::ctl
