#include "strom/model/ntp.h"

namespace strom::model {

std::optional<ntp> ntp::parse_dir_name(const std::string& name) {
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 >= name.size())
    return std::nullopt;
  int64_t p = 0;
  for (size_t i = dash + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || p > INT32_MAX / 10)
      return std::nullopt;
    p = p * 10 + (name[i] - '0');
  }
  if (p > INT32_MAX)
    return std::nullopt;
  return ntp{name.substr(0, dash), partition_id(static_cast<int32_t>(p))};
}

}  // namespace strom::model
