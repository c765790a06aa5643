#include "strom/base/thread_name.h"

#include <pthread.h>

#include <algorithm>

namespace strom {

void set_thread_name(const std::string& name) {
  std::string full = "strom-" + name;
  full.resize(std::min<size_t>(full.size(), 15));
  // Best effort: a name is for people looking at the process; nothing depends on it.
  (void)pthread_setname_np(pthread_self(), full.c_str());
}

}  // namespace strom
