#pragma once

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

#include "strom/base/result.h"
#include "strom/model/record_batch.h"

namespace strom::model {

/// Errors of the record batch codecs.
enum class compression_errc {
  unsupported = 1,  ///< not a codec of record batch v2
  corrupt,          ///< the compressed bytes are not a valid stream of the codec
  too_large,        ///< the decompressed size would exceed the caller's limit
};
const std::error_category& compression_category();
inline std::error_code make_error_code(compression_errc e) {
  return {static_cast<int>(e), compression_category()};
}

/// The records section of a batch in Kafka's wire formats: gzip = a gzip stream; snappy = raw
/// snappy (librdkafka) or xerial framing (the Java client: magic "\x82SNAPPY\0", two version
/// ints, then length-prefixed raw snappy blocks); lz4 = an LZ4 frame; zstd = a zstd frame.
///
/// Decompresses `in`, producing at most `max_out` bytes. Sizes announced inside the stream are
/// never trusted for allocation: output grows as bytes are actually produced, and a stream that
/// would exceed `max_out` (a decompression bomb) fails with compression_errc::too_large.
/// `compression::none` returns a copy. Stateless and thread-safe.
[[nodiscard]] result<std::vector<std::byte>> decompress(compression codec,
                                                        std::span<const std::byte> in,
                                                        size_t max_out);

/// Compresses `in` in the wire format of `codec` (snappy with xerial framing, which every
/// Kafka client reads). Stateless and thread-safe.
[[nodiscard]] result<std::vector<std::byte>> compress(compression codec,
                                                      std::span<const std::byte> in);

}  // namespace strom::model

template <>
struct std::is_error_code_enum<strom::model::compression_errc> : std::true_type {};
