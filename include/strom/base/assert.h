#pragma once

#include <fmt/format.h>

#include <source_location>
#include <string>

namespace strom::detail {
/// Prints the failed assertion with its location and aborts. Never returns.
[[noreturn]] void assert_failed(const char* expr, const std::string& message,
                                std::source_location where);
}  // namespace strom::detail

/// Checks a programming invariant in every build type; aborts with a message on failure.
#define STROM_ASSERT(cond, ...)                                         \
  do {                                                                  \
    if (!(cond)) [[unlikely]] {                                         \
      ::strom::detail::assert_failed(#cond, ::fmt::format(__VA_ARGS__), \
                                     std::source_location::current());  \
    }                                                                   \
  } while (false)
