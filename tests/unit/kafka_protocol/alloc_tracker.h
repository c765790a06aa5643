#pragma once

#include <cstddef>

namespace strom::kafka::protocol::test {

/// The largest single operator-new allocation on this thread since the last reset (the test
/// binary replaces the global operator new in alloc_tracker.cc).
size_t largest_allocation();
void reset_largest_allocation();

}  // namespace strom::kafka::protocol::test
