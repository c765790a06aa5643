// Replaces the global operator new/delete of the test binary to record the largest single
// allocation, so tests can check that hostile lengths never turn into big allocations. Kept
// in its own file so the compiler never sees new and delete inline together.
#include "alloc_tracker.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace {
thread_local size_t largest = 0;
}  // namespace

void* operator new(size_t n) {
  largest = std::max(largest, n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace strom::kafka::protocol::test {

size_t largest_allocation() {
  return largest;
}

void reset_largest_allocation() {
  largest = 0;
}

}  // namespace strom::kafka::protocol::test
