#pragma once

#include <compare>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "strom/model/offsets.h"

namespace strom::model {

/// A topic partition ("topic-partition", as in Kafka's log directory names).
struct ntp {
  std::string topic;
  partition_id partition;

  auto operator<=>(const ntp&) const = default;
  /// The directory name `<topic>-<partition>`.
  [[nodiscard]] std::string dir_name() const {
    return fmt::format("{}-{}", topic, partition.value());
  }
  /// Parses a directory name; the partition is after the last '-'.
  static std::optional<ntp> parse_dir_name(const std::string& name);
};

}  // namespace strom::model
