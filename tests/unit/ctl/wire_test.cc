#include "ctl/wire.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>

#include "strom/kafka/protocol/codec.h"

namespace strom::ctl {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s += static_cast<char>(v);
  return s;
}

TEST(ApiVersions, RequestIsSizeHeaderV1AndNoBody) {
  // size 16, api key 18, version 0, correlation id 7, client id "stromctl".
  EXPECT_EQ(encode_api_versions_request(7, "stromctl"),
            bytes({0, 0, 0, 18, 0, 18, 0, 0, 0, 0, 0, 7, 0, 8}) + "stromctl");
}

TEST(ApiVersions, DecodesRanges) {
  auto frame = bytes({0, 0,  0, 7, 0, 0,  0, 0, 0, 2,  // correlation 7, no error, two entries
                      0, 0,  0, 3, 0, 11,              // Produce 3..11
                      0, 18, 0, 0, 0, 4});             // ApiVersions 0..4
  auto r = decode_api_versions_response(frame, 7);
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].key, 0);
  EXPECT_EQ((*r)[0].min, 3);
  EXPECT_EQ((*r)[0].max, 11);
  EXPECT_EQ((*r)[1].key, 18);
  EXPECT_EQ(api_name((*r)[0].key), "Produce");
  EXPECT_EQ(api_name(1), "Fetch");
  EXPECT_EQ(api_name(60), "DescribeCluster");
  // Names of APIs Strom does not serve, as another broker may list them.
  EXPECT_EQ(api_name(4), "LeaderAndIsr");
  EXPECT_EQ(api_name(75), "DescribeTopicPartitions");
  EXPECT_EQ(api_name(76), "Unknown");
  EXPECT_EQ(api_name(999), "Unknown");
  EXPECT_EQ(api_name(-1), "Unknown");
}

TEST(ApiVersions, RejectsTruncatedLyingOrMismatchedAnswers) {
  EXPECT_FALSE(decode_api_versions_response(bytes({0, 0, 0, 7, 0}), 7).has_value());
  // Claims a million entries with none present.
  EXPECT_FALSE(
      decode_api_versions_response(bytes({0, 0, 0, 7, 0, 0, 0, 15, 66, 64}), 7).has_value());
  EXPECT_FALSE(decode_api_versions_response(bytes({0, 0, 0, 8, 0, 0, 0, 0, 0, 0}), 7).has_value());
  // An error other than UNSUPPORTED_VERSION.
  EXPECT_FALSE(decode_api_versions_response(bytes({0, 0, 0, 7, 0, 1, 0, 0, 0, 0}), 7).has_value());
}

TEST(Http, Urls) {
  auto u = parse_http_url("http://localhost:9644");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 9644);
  EXPECT_EQ(u->path, "");
  u = parse_http_url("http://10.1.2.3/admin/");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/admin");
  u = parse_http_url("[::1]:9644");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9644);
  EXPECT_FALSE(u->tls);
  u = parse_http_url("https://admin.example:9644/base");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "admin.example");
  EXPECT_EQ(u->port, 9644);
  EXPECT_EQ(u->path, "/base");
  u = parse_http_url("https://admin.example");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, 443);
  EXPECT_FALSE(parse_http_url("http://").has_value());
  EXPECT_FALSE(parse_http_url("https://").has_value());
}

TEST(Http, ResponsesWithLengthChunkedOrUntilClose) {
  auto r = parse_http_response(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}junk");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
  r = parse_http_response(
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\n{\"a\"\r\nb\r\n:false}    \r\n0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "{\"a\":false}    ");
  r = parse_http_response("HTTP/1.0 404 Not Found\r\n\r\nnope");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "nope");
  EXPECT_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n\r\n").has_value());
  EXPECT_FALSE(
      parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").has_value());
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\n").has_value());
}

TEST(SigpipeGuard, AWriteToAClosedConnectionFailsInsteadOfEndingTheProcess) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  {
    sigpipe_guard guard;
    // Without the guard this write raises SIGPIPE, whose default action ends the test.
    EXPECT_EQ(::write(fds[0], "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
  }
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);  // discarded, not left to strike later
  ::close(fds[0]);
}

TEST(Http, RequestsGetAndPut) {
  auto u = parse_http_url("http://broker-1:9644/admin/");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(http_request_text("GET", *u, "/v1/brokers/4/decommission"),
            "GET /admin/v1/brokers/4/decommission HTTP/1.1\r\nHost: broker-1:9644\r\n"
            "Accept: application/json\r\nUser-Agent: stromctl\r\nConnection: close\r\n\r\n");
  // A PUT without a body says so: a server must not wait for one.
  u = parse_http_url("http://[::1]:9644");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(http_request_text("PUT", *u, "/v1/brokers/4/recommission"),
            "PUT /v1/brokers/4/recommission HTTP/1.1\r\nHost: [::1]:9644\r\n"
            "Accept: application/json\r\nUser-Agent: stromctl\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n");
  // HTTP basic authentication (authorization enabled on the broker).
  EXPECT_EQ(http_request_text("GET", *u, "/v1/config", "Basic YTpi"),
            "GET /v1/config HTTP/1.1\r\nHost: [::1]:9644\r\n"
            "Accept: application/json\r\nUser-Agent: stromctl\r\n"
            "Authorization: Basic YTpi\r\nConnection: close\r\n\r\n");
}

TEST(ElectLeaders, VersionTwoWhenOfferedElseOne) {
  std::vector<api_version_range> ranges = {{0, 0, 11}, {43, 0, 2}, {18, 0, 4}};
  EXPECT_EQ(*elect_leaders_version(ranges), 2);
  ranges[1].max = 1;
  EXPECT_EQ(*elect_leaders_version(ranges), 1);
  ranges[1] = {43, 1, 5};  // a newer broker
  EXPECT_EQ(*elect_leaders_version(ranges), 2);
  ranges[1] = {43, 0, 0};  // v0 has no election type
  auto r = elect_leaders_version(ranges);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("versions 0 to 0"), std::string::npos) << r.error().detail();
  ranges.erase(ranges.begin() + 1);
  r = elect_leaders_version(ranges);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("does not offer ElectLeaders"), std::string::npos);
}

TEST(DescribeLogDirs, HighestVersionBothSupport) {
  std::vector<api_version_range> ranges = {{0, 0, 11}, {35, 0, 4}, {18, 0, 4}};
  EXPECT_EQ(*describe_log_dirs_version(ranges), 4);
  ranges[1] = {35, 0, 2};
  EXPECT_EQ(*describe_log_dirs_version(ranges), 2);
  ranges[1] = {35, 1, 9};  // a newer broker
  EXPECT_EQ(*describe_log_dirs_version(ranges), 4);
  ranges[1] = {35, 0, 0};  // v0 only: stromctl's codec starts at 1
  auto r = describe_log_dirs_version(ranges);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("versions 0 to 0"), std::string::npos) << r.error().detail();
  ranges.erase(ranges.begin() + 1);
  r = describe_log_dirs_version(ranges);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("does not offer DescribeLogDirs"), std::string::npos);
}

namespace kp = ::strom::kafka::protocol;

/// An answer frame without its size prefix.
std::string log_dirs_answer(const kp::describe_log_dirs_response& resp, int16_t version,
                            int32_t correlation_id) {
  auto f = kp::encode_response_frame(correlation_id, version, resp);
  EXPECT_TRUE(f.has_value());
  auto b = f->flatten();
  EXPECT_TRUE(b.has_value());
  return std::string(reinterpret_cast<const char*>(b->data()), b->size()).substr(4);
}

TEST(DescribeLogDirs, SizesOfEveryDirectoryFutureLogsLeftOut) {
  kp::describe_log_dirs_response resp;
  auto& d1 = resp.results.emplace_back();
  d1.log_dir = "/data/a";
  auto& t = d1.topics.emplace_back();
  t.name = "clicks";
  t.partitions.push_back({0, 1000, 0, false});
  t.partitions.push_back({1, 50, 0, true});  // a copy to another directory
  auto& d2 = resp.results.emplace_back();
  d2.log_dir = "/data/b";
  d2.topics.push_back({"clicks", {{1, 700, 0, false}}});
  d2.topics.push_back({"views", {{3, 0, 0, false}}});
  for (int16_t v = 1; v <= 4; ++v) {
    SCOPED_TRACE(v);
    auto r = decode_describe_log_dirs_response(log_dirs_answer(resp, v, 9), v, 9);
    ASSERT_TRUE(r.has_value()) << r.error().detail();
    EXPECT_TRUE(r->complete);
    using key = std::pair<std::string, int32_t>;
    EXPECT_EQ(r->sizes, (std::map<key, int64_t>{
                            {{"clicks", 0}, 1000}, {{"clicks", 1}, 700}, {{"views", 3}, 0}}));
  }
}

TEST(DescribeLogDirs, OfflineDirectoryMakesItIncompleteAndErrorsFail) {
  kp::describe_log_dirs_response resp;
  resp.results.emplace_back().error_code = kp::error_code::kafka_storage_error;
  resp.results.emplace_back().topics.push_back({"clicks", {{0, 5, 0, false}}});
  auto r = decode_describe_log_dirs_response(log_dirs_answer(resp, 4, 3), 4, 3);
  ASSERT_TRUE(r.has_value()) << r.error().detail();
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(r->sizes.size(), 1u);

  EXPECT_FALSE(decode_describe_log_dirs_response(log_dirs_answer(resp, 4, 3), 4, 4));  // corr
  EXPECT_FALSE(decode_describe_log_dirs_response(bytes({0, 0}), 4, 3));
  resp.error_code = kp::error_code::cluster_authorization_failed;
  r = decode_describe_log_dirs_response(log_dirs_answer(resp, 4, 3), 4, 3);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail().find("DescribeLogDirs"), std::string::npos) << r.error().detail();
}

TEST(Tcp, RefusedConnectionIsOneLineNamingTheAddress) {
  // Port 1 on loopback: nothing listens there in a test environment.
  auto c = tcp_connection::connect("127.0.0.1", 1, 2000);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().detail().find("127.0.0.1:1"), std::string::npos) << c.error().detail();
  EXPECT_EQ(c.error().detail().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace strom::ctl
