#pragma once

// Helpers for the generated message codecs (private to the module).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strom/kafka/protocol/errc.h"
#include "strom/kafka/protocol/reader.h"
#include "strom/kafka/protocol/writer.h"

namespace strom::kafka::protocol::detail {

/// Capacity reserved up front for an array; larger arrays grow as their elements decode, so
/// memory follows the bytes actually consumed.
inline constexpr int64_t max_reserve = 1024;

template <typename T, typename F>
void read_array(reader& r, bool flex, size_t min_element_size, std::vector<T>& out, F&& elem) {
  int64_t n = r.read_array_length(flex, min_element_size);
  if (n < 0) {
    if (r.ok()) {
      r.fail(errc::unexpected_null, "array");
    }
    return;
  }
  out.clear();
  out.reserve(static_cast<size_t>(std::min(n, max_reserve)));
  for (int64_t i = 0; i < n && r.ok(); ++i) {
    elem(out.emplace_back());
  }
}

template <typename T, typename F>
void read_array(reader& r, bool flex, bool nullable, size_t min_element_size,
                std::optional<std::vector<T>>& out, F&& elem) {
  int64_t n = r.read_array_length(flex, min_element_size);
  if (n < 0) {
    if (!r.ok()) {
      return;
    }
    if (nullable) {
      out.reset();
    } else {
      r.fail(errc::unexpected_null, "array");
    }
    return;
  }
  auto& v = out.emplace();
  v.reserve(static_cast<size_t>(std::min(n, max_reserve)));
  for (int64_t i = 0; i < n && r.ok(); ++i) {
    elem(v.emplace_back());
  }
}

inline void read_string_field(reader& r, bool flex, bool nullable,
                              std::optional<std::string>& out) {
  if (nullable) {
    out = r.read_nullable_string(flex);
  } else {
    out = r.read_string(flex);
  }
}

inline void read_bytes_field(reader& r, bool flex, bool nullable,
                             std::optional<std::vector<std::byte>>& out) {
  if (nullable) {
    out = r.read_nullable_bytes(flex);
  } else {
    out = r.read_bytes(flex);
  }
}

template <typename T, typename F>
void write_array(writer& w, bool flex, const std::vector<T>& v, F&& elem) {
  w.write_array_length(v.size(), flex);
  for (const T& e : v) {
    elem(e);
  }
}

/// Null where the version cannot carry null is written as an empty array.
template <typename T, typename F>
void write_array(writer& w, bool flex, bool nullable, const std::optional<std::vector<T>>& v,
                 F&& elem) {
  if (!v) {
    if (nullable) {
      w.write_null_array(flex);
    } else {
      w.write_array_length(0, flex);
    }
    return;
  }
  write_array(w, flex, *v, elem);
}

/// Null where the version cannot carry null is written as an empty string.
inline void write_string_field(writer& w, bool flex, bool nullable,
                               const std::optional<std::string>& v) {
  if (v) {
    w.write_string(*v, flex);
  } else if (nullable) {
    w.write_null_string(flex);
  } else {
    w.write_string({}, flex);
  }
}

inline void write_bytes_field(writer& w, bool flex, bool nullable,
                              const std::optional<std::vector<std::byte>>& v) {
  if (v) {
    w.write_bytes(*v, flex);
  } else if (nullable) {
    w.write_null_bytes(flex);
  } else {
    w.write_bytes({}, flex);
  }
}

inline void write_records_field(writer& w, bool flex, bool nullable, const records& v) {
  if (v.is_null() && !nullable) {
    w.write_records(records(), flex);
  } else {
    w.write_records(v, flex);
  }
}

}  // namespace strom::kafka::protocol::detail
