// Broker decommissioning in stromctl: the admin API's status answers, decoded, the progress
// line shown while waiting, and the message of an error answer.
#include "ctl/decommission.h"

#include <gtest/gtest.h>

namespace strom::ctl {
namespace {

std::string error_of(std::string_view body, bool with_progress = true) {
  auto r = parse_decommission_status(body, with_progress);
  return r ? std::string() : r.error().detail();
}

TEST(Decommission, StatusWithProgress) {
  auto r = parse_decommission_status(
      R"({"broker": 4, "decommissioned": true, "replicas": 12, "moving": 4, "stuck": 0,
          "done": false})",
      true);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(*r, (decommission_status{4, true, 12, 4, 0, false}));
  // Members the answer may gain later are ignored; the order does not matter.
  r = parse_decommission_status(
      R"({"done": true, "stuck": 0, "moving": 0, "replicas": 0, "decommissioned": true,
          "broker": 2, "since": "2026-12-06T02:00:00Z"})",
      true);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(*r, (decommission_status{2, true, 0, 0, 0, true}));
}

TEST(Decommission, PutAnswersHaveTheBrokerAndTheFlagOnly) {
  auto r = parse_decommission_status(R"({"broker": 4, "decommissioned": false})", false);
  ASSERT_TRUE(r) << r.error().detail();
  EXPECT_EQ(
      *r, (decommission_status{4, false, std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
  // The same answer is not a whole status.
  EXPECT_EQ(error_of(R"({"broker": 4, "decommissioned": false})"),
            "the decommission status has no 'replicas'");
}

TEST(Decommission, MalformedStatusesSayWhatIsWrong) {
  EXPECT_NE(error_of("").find("not JSON"), std::string::npos);
  EXPECT_NE(error_of("<html>").find("not JSON"), std::string::npos);
  EXPECT_EQ(error_of("[1]"), "the decommission status is not a JSON object");
  EXPECT_EQ(error_of(R"({"decommissioned": true})", false),
            "the decommission status has no 'broker'");
  EXPECT_EQ(error_of(R"({"broker": "4", "decommissioned": true})", false),
            "'broker' of the decommission status is not a whole number");
  EXPECT_EQ(error_of(R"({"broker": -1, "decommissioned": true})", false),
            "'broker' of the decommission status is not a whole number");
  EXPECT_EQ(error_of(R"({"broker": 4294967296, "decommissioned": true})", false),
            "'broker' of the decommission status is not a broker id");
  EXPECT_EQ(error_of(R"({"broker": 4, "decommissioned": 1})", false),
            "'decommissioned' of the decommission status is not true or false");
  EXPECT_EQ(error_of(R"({"broker": 4, "decommissioned": true, "replicas": 1.5, "moving": 0,
                        "stuck": 0, "done": false})"),
            "'replicas' of the decommission status is not a whole number");
  EXPECT_EQ(error_of(R"({"broker": 4, "decommissioned": true, "replicas": 1, "moving": 0,
                        "stuck": 0})"),
            "the decommission status has no 'done'");
  EXPECT_EQ(error_of(R"({"broker": 4, "decommissioned": true, "replicas": 1, "moving": -2,
                        "stuck": 0, "done": false})"),
            "'moving' of the decommission status is not a whole number");
}

TEST(Decommission, ProgressText) {
  EXPECT_EQ(decommission_progress_text({4, true, 12, 4, 0, false}),
            "broker 4: 12 replica(s) left, 4 moving");
  EXPECT_EQ(decommission_progress_text({4, true, 3, 1, 2, false}),
            "broker 4: 3 replica(s) left, 1 moving, 2 stuck");
  EXPECT_EQ(
      decommission_progress_text({4, true, std::nullopt, std::nullopt, std::nullopt, std::nullopt}),
      "broker 4: - replica(s) left, - moving");
}

TEST(Decommission, ErrorAnswers) {
  EXPECT_EQ(admin_error_text(404, R"({"error":"no broker 9 in the cluster"})"),
            "no broker 9 in the cluster (HTTP 404)");
  EXPECT_EQ(admin_error_text(503, "{\"error\":\"a single-node broker has no other broker\"}\n"),
            "a single-node broker has no other broker (HTTP 503)");
  // Not the admin API's JSON: the first line of the body, or nothing.
  EXPECT_EQ(admin_error_text(502, "Bad Gateway  \r\n<html>...</html>"), "Bad Gateway (HTTP 502)");
  EXPECT_EQ(admin_error_text(500, ""), "no message (HTTP 500)");
  EXPECT_EQ(admin_error_text(400, R"({"error": 7})"), "{\"error\": 7} (HTTP 400)");
  auto long_line = std::string(300, 'x');
  EXPECT_EQ(admin_error_text(500, long_line), std::string(200, 'x') + "... (HTTP 500)");
}

}  // namespace
}  // namespace strom::ctl
