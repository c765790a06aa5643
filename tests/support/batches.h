#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "strom/model/batch_builder.h"
#include "strom/model/record_batch.h"

namespace strom::test {

/// A producer-style batch of `records` records with values "v<first>".."v<first+records-1>"
/// of at least `value_bytes` bytes, all with timestamp `ts`.
inline std::vector<std::byte> make_batch(int records, timestamp_ms ts = 1000, int first = 0,
                                         size_t value_bytes = 0) {
  model::batch_builder b(ts);
  for (int i = 0; i < records; ++i) {
    auto v = fmt::format("v{}", first + i);
    if (v.size() < value_bytes)
      v.resize(value_bytes, 'x');
    b.add(std::optional<std::string_view>(fmt::format("k{}", first + i)),
          std::optional<std::string_view>(v), ts);
  }
  return b.build();
}

}  // namespace strom::test
