#include <fmt/format.h>

#include "strom/raft/errc.h"
#include "strom/raft/message.h"
#include "strom/raft/node.h"
#include "strom/raft/types.h"

namespace strom::raft {

std::string_view to_string(entry_kind k) {
  switch (k) {
    case entry_kind::data:
      return "data";
    case entry_kind::term_start:
      return "term_start";
    case entry_kind::configuration:
      return "configuration";
    case entry_kind::log_start:
      return "log_start";
  }
  return "?";
}

std::vector<node_id> configuration::members() const {
  std::vector<node_id> out(voters.begin(), voters.end());
  out.insert(out.end(), learners.begin(), learners.end());
  return out;
}

std::string to_string(const configuration& c) {
  std::string s = "voters {";
  for (auto v : c.voters) {
    s += fmt::format(" {}", v);
  }
  s += " } learners {";
  for (auto v : c.learners) {
    s += fmt::format(" {}", v);
  }
  return s + " }";
}

std::string_view to_string(message_type t) {
  switch (t) {
    case message_type::vote_request:
      return "vote_request";
    case message_type::vote_response:
      return "vote_response";
    case message_type::append:
      return "append";
    case message_type::append_response:
      return "append_response";
    case message_type::heartbeat:
      return "heartbeat";
    case message_type::heartbeat_response:
      return "heartbeat_response";
    case message_type::install_snapshot:
      return "install_snapshot";
    case message_type::timeout_now:
      return "timeout_now";
  }
  return "?";
}

std::string_view to_string(role r) {
  switch (r) {
    case role::follower:
      return "follower";
    case role::pre_candidate:
      return "pre_candidate";
    case role::candidate:
      return "candidate";
    case role::leader:
      return "leader";
  }
  return "?";
}

namespace {
class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.raft"; }
  [[nodiscard]] std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::not_leader:
        return "not the leader";
      case errc::leader_not_ready:
        return "leader not ready (term-start entry not committed)";
      case errc::backpressure:
        return "too many uncommitted entries";
      case errc::transfer_in_progress:
        return "leadership transfer in progress";
      case errc::config_change_pending:
        return "a configuration change is pending";
      case errc::invalid_config_change:
        return "invalid configuration change";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::snapshot_out_of_range:
        return "snapshot point out of range";
    }
    return "unknown raft error";
  }
};
}  // namespace

const std::error_category& raft_category() {
  static const category c;
  return c;
}

}  // namespace strom::raft
