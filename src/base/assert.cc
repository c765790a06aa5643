#include "strom/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace strom::detail {

void assert_failed(const char* expr, const std::string& message, std::source_location where) {
  std::fprintf(stderr, "assertion failed: %s (%s) at %s:%u in %s\n", expr, message.c_str(),
               where.file_name(), static_cast<unsigned>(where.line()), where.function_name());
  std::fflush(stderr);
  std::abort();
}

}  // namespace strom::detail
