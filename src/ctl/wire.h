// The bits of networking stromctl does itself, without librdkafka: a blocking TCP connection
// with deadlines, the ApiVersions v0 exchange (librdkafka has no public call that shows a
// broker's version ranges; encoded and decoded by the kafka/protocol codec, which does no I/O)
// and a tiny HTTP/1.1 GET for the admin API.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/text.h"
#include "strom/base/result.h"

namespace strom::ctl {

/// A connected TCP socket; every operation ends by `timeout_ms` after it began.
class tcp_connection {
 public:
  /// Tries every address `host` resolves to. The error names the host, port and reason.
  static result<tcp_connection> connect(const std::string& host, uint16_t port, int timeout_ms);

  tcp_connection(tcp_connection&& o) noexcept : fd_(o.fd_), timeout_ms_(o.timeout_ms_) {
    o.fd_ = -1;
  }
  tcp_connection& operator=(tcp_connection&&) = delete;
  ~tcp_connection();

  status write_all(std::string_view bytes);
  /// Reads exactly n bytes.
  result<std::string> read_exact(size_t n);
  /// Reads until the peer closes, at most `limit` bytes.
  result<std::string> read_to_end(size_t limit);

 private:
  tcp_connection(int fd, int timeout_ms) : fd_(fd), timeout_ms_(timeout_ms) {}
  status wait(short events);
  int fd_ = -1;
  int timeout_ms_ = 0;
};

/// Connects to the first reachable address of the list, in order.
result<tcp_connection> connect_any(const std::vector<host_port>& brokers, int timeout_ms);

struct api_version_range {
  int16_t key = 0;
  int16_t min = 0;
  int16_t max = 0;
};

/// A size-prefixed ApiVersions v0 request (request header v1).
std::string encode_api_versions_request(int32_t correlation_id, std::string_view client_id);
/// Decodes a response frame without its size prefix: correlation id, error code, ranges.
result<std::vector<api_version_range>> decode_api_versions_response(std::string_view frame,
                                                                    int32_t correlation_id);
/// Kafka's name of an API key ("Produce", "Fetch", ...) or "Unknown" (kafka::protocol::api_name).
std::string_view api_name(int16_t key);

/// Asks the first reachable broker of the list for its ApiVersions.
result<std::vector<api_version_range>> fetch_api_versions(const std::vector<host_port>& brokers,
                                                          int timeout_ms);

/// The cluster-wide config defaults (DescribeConfigs v1 of the broker resource without a name,
/// which librdkafka's admin API refuses to build), asked of the first reachable broker.
result<std::map<std::string, std::string>> describe_cluster_configs(
    const std::vector<host_port>& brokers, int timeout_ms);
/// Sets and removes cluster-wide config defaults by name (IncrementalAlterConfigs v0: the
/// others stay, also when another operator changes them at the same time); a refusal is an
/// error with the broker's message.
status alter_cluster_configs(const std::vector<host_port>& brokers, int timeout_ms,
                             const std::map<std::string, std::string>& set,
                             const std::vector<std::string>& remove);

struct http_url {
  std::string host;
  uint16_t port = 80;
  std::string path;  // the base path, without a trailing '/'
};

/// "http://host[:port][/base]"; https is refused (the admin API speaks plain HTTP).
result<http_url> parse_http_url(std::string_view url);

struct http_response {
  int status = 0;
  std::string body;
};

/// Parses a whole HTTP/1.x response (status line, headers, body by Content-Length or chunked
/// transfer encoding, else until the end).
result<http_response> parse_http_response(std::string_view raw);

/// GET base + path with "Connection: close", at most 4 MiB of response.
result<http_response> http_get(const http_url& base, std::string_view path, int timeout_ms);

}  // namespace strom::ctl
