#pragma once

#include <system_error>

namespace strom::io {

/// Errors of the file-system seam that are not plain errno values. Errno values from the
/// operating system are carried as std::generic_category codes.
enum class errc {
  short_read = 1,  ///< fewer bytes than asked were available
  injected_fault,  ///< a fault-injecting file system failed the call on purpose
  closed,          ///< the file was closed
};

const std::error_category& io_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), io_category()};
}

}  // namespace strom::io

template <>
struct std::is_error_code_enum<strom::io::errc> : std::true_type {};
