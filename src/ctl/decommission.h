// Broker decommissioning for stromctl (`broker decommission|recommission|status`): the admin
// API's answers, decoded, and the text stromctl shows of them. Pure: no I/O; unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "strom/base/result.h"

namespace strom::ctl {

/// A broker's decommission state as the admin API reports it: `PUT
/// /v1/brokers/{id}/decommission|recommission` answers the first two fields, `GET
/// /v1/brokers/{id}/decommission` all of them.
struct decommission_status {
  int32_t broker = 0;
  bool decommissioned = false;
  std::optional<int64_t> replicas;  ///< partitions still with a replica on the broker
  std::optional<int64_t> moving;    ///< moves in flight taking one off it
  std::optional<int64_t> stuck;     ///< partitions no other live broker can take
  std::optional<bool> done;         ///< decommissioned and no replica left
  friend bool operator==(const decommission_status&, const decommission_status&) = default;
};

/// Decodes a JSON object with `broker` and `decommissioned`, and with `with_progress` also
/// `replicas`, `moving`, `stuck` (whole numbers, not negative) and `done`; other members are
/// ignored. An error says what is missing or wrong.
result<decommission_status> parse_decommission_status(std::string_view body, bool with_progress);

/// "broker 4: 12 replica(s) left, 4 moving" (and ", 2 stuck" when some are); "-" for a number
/// the status lacks.
std::string decommission_progress_text(const decommission_status& s);

/// The message of an admin API error answer: the `error` member of its JSON object, else the
/// start of its body, else "no message"; followed by " (HTTP <status>)".
std::string admin_error_text(int status, std::string_view body);

}  // namespace strom::ctl
