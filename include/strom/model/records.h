#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "strom/base/result.h"
#include "strom/model/record_batch.h"

namespace strom::model {

/// One record of an uncompressed batch, viewing the batch's bytes.
struct record_view {
  int64_t offset_delta = 0;
  int64_t timestamp_delta = 0;
  std::optional<std::span<const std::byte>> key;
  std::optional<std::span<const std::byte>> value;
  int32_t header_count = 0;
};

/// Calls `fn` for each record of an uncompressed batch until it returns false. Every length
/// is checked against the batch before use. Compressed batches return batch_errc::bad_attributes.
status for_each_record(std::span<const std::byte> batch, const batch_header& h,
                       const std::function<bool(const record_view&)>& fn);

}  // namespace strom::model
