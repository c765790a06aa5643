#pragma once

#include <string>

namespace strom {

/// Names the calling thread, as `top -H`, `ps -L`, `perf` and debuggers show it: "strom-"
/// followed by `name`, cut to the 15 characters Linux keeps.
void set_thread_name(const std::string& name);

}  // namespace strom
