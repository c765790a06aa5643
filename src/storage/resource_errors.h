#pragma once

#include <cstdint>
#include <string_view>

#include "strom/base/result.h"

namespace strom::storage {

/// Running out of descriptors or memory is not a disk failure (docs/architecture.md,
/// "Resource errors"): the operation fails with errc::resource_exhausted, is retried later,
/// and the directory stays online. Such failures come in storms (every partition, every
/// tick), so they are logged at most once per interval for the whole process, with the
/// number of failures in between. Thread-safe.

/// Logs (rate-limited) that `what` failed for lack of a resource and returns the error to
/// hand on: errc::resource_exhausted with `e`'s message as detail.
error note_resource_exhaustion(std::string_view what, const error& e);

/// Failures noted so far, and lines actually written (for tests).
uint64_t resource_exhaustions_noted();
uint64_t resource_exhaustion_log_lines();

}  // namespace strom::storage
