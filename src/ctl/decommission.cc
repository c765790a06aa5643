#include "ctl/decommission.h"

#include <fmt/format.h>

#include <initializer_list>
#include <utility>

#include "ctl/json.h"
#include "ctl/text.h"

namespace strom::ctl {

namespace {

std::string count_text(const std::optional<int64_t>& n) {
  return n ? std::to_string(*n) : std::string("-");
}

}  // namespace

result<decommission_status> parse_decommission_status(std::string_view body, bool with_progress) {
  std::string why;
  auto j = json::parse(body, &why);
  if (!j)
    return invalid(fmt::format("the decommission status is not JSON: {}", why));
  if (!j->is_object())
    return invalid("the decommission status is not a JSON object");
  auto whole = [&j](std::string_view name) -> result<int64_t> {
    const json* v = j->find(name);
    if (v == nullptr)
      return invalid(fmt::format("the decommission status has no '{}'", name));
    if (!v->is_int() || v->as_int() < 0)
      return invalid(fmt::format("'{}' of the decommission status is not a whole number", name));
    return v->as_int();
  };
  auto flag = [&j](std::string_view name) -> result<bool> {
    const json* v = j->find(name);
    if (v == nullptr)
      return invalid(fmt::format("the decommission status has no '{}'", name));
    if (!v->is_bool())
      return invalid(fmt::format("'{}' of the decommission status is not true or false", name));
    return v->as_bool();
  };
  decommission_status out;
  auto broker = whole("broker");
  if (!broker)
    return broker.error();
  if (*broker > INT32_MAX)
    return invalid("'broker' of the decommission status is not a broker id");
  out.broker = static_cast<int32_t>(*broker);
  auto decommissioned = flag("decommissioned");
  if (!decommissioned)
    return decommissioned.error();
  out.decommissioned = *decommissioned;
  if (!with_progress)
    return out;
  for (auto [name, field] : {std::pair{"replicas", &out.replicas}, std::pair{"moving", &out.moving},
                             std::pair{"stuck", &out.stuck}}) {
    auto n = whole(name);
    if (!n)
      return n.error();
    *field = *n;
  }
  auto done = flag("done");
  if (!done)
    return done.error();
  out.done = *done;
  return out;
}

std::string decommission_progress_text(const decommission_status& s) {
  auto text = fmt::format("broker {}: {} replica(s) left, {} moving", s.broker,
                          count_text(s.replicas), count_text(s.moving));
  if (s.stuck && *s.stuck > 0)
    text += fmt::format(", {} stuck", *s.stuck);
  return text;
}

std::string admin_error_text(int status, std::string_view body) {
  std::string message;
  if (auto j = json::parse(body); j && j->is_object()) {
    if (const json* e = j->find("error"); e != nullptr && e->is_string())
      message = e->as_string();
  }
  if (message.empty()) {
    // Not the admin API's JSON error: the first line of whatever answered, shortened.
    auto line = body.substr(0, body.find_first_of("\r\n"));
    while (!line.empty() && line.back() == ' ')
      line.remove_suffix(1);
    message = line.size() > 200 ? fmt::format("{}...", line.substr(0, 200)) : std::string(line);
  }
  if (message.empty())
    message = "no message";
  return fmt::format("{} (HTTP {})", message, status);
}

}  // namespace strom::ctl
