#pragma once

#include <system_error>

namespace strom::kafka::protocol {

/// Why a Kafka message could not be decoded (or, for too_large_to_encode, encoded). These are codec
/// errors (malformed or unsupported input), not Kafka error codes: see error_code.h for those.
enum class errc {
  truncated = 1,        ///< the input ended before the value did
  invalid_length,       ///< a negative length (other than null) or one beyond the input
  invalid_varint,       ///< a varint longer than allowed or out of range
  unexpected_null,      ///< null in a field that is not nullable in this version
  unsupported_version,  ///< an API version the codec does not implement
  unknown_api_key,      ///< an API key the codec does not implement
  frame_too_large,      ///< a frame size prefix outside the allowed range
  /// An encoded field or frame larger than its length prefix or the writer's limit allows.
  too_large_to_encode,
};

const std::error_category& protocol_category();
inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), protocol_category()};
}

}  // namespace strom::kafka::protocol

template <>
struct std::is_error_code_enum<strom::kafka::protocol::errc> : std::true_type {};
